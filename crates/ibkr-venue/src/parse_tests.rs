use rust_decimal_macros::dec;
use serde_json::json;

use super::*;

#[test]
fn numbers_come_in_many_shapes() {
    assert_eq!(dec(&json!(647.09)), Some(dec!(647.09)));
    assert_eq!(dec(&json!("1,300")), Some(dec!(1300)));
    assert_eq!(dec(&json!("0.0066")), Some(dec!(0.0066)));
    assert_eq!(dec(&json!(null)), None);
    assert_eq!(int(&json!("265598")), Some(265598));
}

#[test]
fn is_paper_coercions() {
    for (v, want) in [
        (json!(true), Some(true)),
        (json!("false"), Some(false)),
        (json!(1), Some(true)),
        (json!("yes"), Some(true)),
        (json!(0), Some(false)),
        (json!("maybe"), None),
        (json!(null), None),
    ] {
        assert_eq!(is_paper(&v), want, "{v}");
    }
}

#[test]
fn statuses_and_sides() {
    assert_eq!(status("PreSubmitted"), OrderStatus::Pending);
    assert_eq!(status("Api Cancelled"), OrderStatus::Cancelled);
    assert_eq!(status("Filled"), OrderStatus::Filled);
    assert_eq!(status("Weird"), OrderStatus::Unknown);
    assert_eq!(side("B"), Some(Side::Buy));
    assert_eq!(side("SLD"), Some(Side::Sell));
    assert_eq!(side(""), None, "an unknown side is unknown, not SELL");
    assert_eq!(order_type("Stop Limit"), Some(OrderType::StopLimit));
}

#[test]
fn last_price_prefixes() {
    assert_eq!(
        last_price(&json!("C195.50")),
        (Some(dec!(195.50)), Some("last is the previous close (no trade yet today)"))
    );
    assert_eq!(last_price(&json!("H12.01")).1, Some("trading is halted"));
    assert_eq!(last_price(&json!("655.89")), (Some(dec!(655.89)), None));
    assert_eq!(last_price(&json!("NaN")).0, None);
}

#[test]
fn whatif_amounts_and_warnings() {
    assert_eq!(first_number("1,977.60 USD (10 Shares)"), Some(dec!(1977.60)));
    assert_eq!(shares("2 USD (0.0067 Shares)"), Some(dec!(0.0067)));
    assert_eq!(first_number("NA"), None);
    assert_eq!(
        clean_warning(
            "21/You are trying to submit an order without having market data.\nIB strongly recommends against <b>blind&nbsp;trading</b> &amp; more"
        ),
        "You are trying to submit an order without having market data. IB strongly recommends against blind trading & more"
    );
}
