#![allow(clippy::unwrap_used)]
//! ccxt turns on rust_decimal's `serde-str` feature for every crate in the build, so a plain
//! `Decimal` field stops taking JSON numbers. This test links ccxt (it is in this crate's
//! build) and proves our money types and the MCP tool arguments still take both forms.

use rust_decimal_macros::dec;
use trading_core::money::{Money, Price, Qty};
use trading_mcp::params::PreviewParams;

#[test]
fn prices_and_tool_arguments_parse_from_numbers_and_strings() {
    // The trap is real in this build: a plain Decimal refuses a JSON number.
    assert!(serde_json::from_str::<rust_decimal::Decimal>("65000.5").is_err(), "serde-str is not on: the trap moved");
    let _ = ccxt::Params::none(); // ccxt is linked into this test
    assert_eq!(serde_json::from_str::<Price>("65000.5").unwrap().0, dec!(65000.5));
    assert_eq!(serde_json::from_str::<Price>("\"65000.5\"").unwrap().0, dec!(65000.5));
    assert_eq!(serde_json::from_str::<Qty>("0.00012").unwrap().0, dec!(0.00012));
    assert_eq!(serde_json::from_str::<Money>("50").unwrap().0, dec!(50));
    let p: PreviewParams =
        serde_json::from_value(serde_json::json!({"symbol": "BTC", "quantity": 0.01, "limit_price": 90000.5})).unwrap();
    assert_eq!((p.quantity.unwrap().0, p.limit_price.unwrap().0), (dec!(0.01), dec!(90000.5)));
    // Prices go out as strings, exactly.
    assert_eq!(serde_json::to_string(&Price(dec!(0.1))).unwrap(), "\"0.1\"");
}
