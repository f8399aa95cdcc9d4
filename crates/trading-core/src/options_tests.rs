#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use rust_decimal_macros::dec;

use super::*;

#[test]
fn the_readable_name_round_trips_and_matches_positions() {
    let o = OptionSymbol::parse("spy 2026-12-18 600 c").unwrap();
    assert_eq!((o.underlying.as_str(), o.strike, o.right), ("SPY", dec!(600), Right::Call));
    assert_eq!(o.to_string(), "SPY 2026-12-18 600 C");
    assert_eq!(o.month_code(), "DEC26", "IBKR's secdef month");
    assert_eq!(OptionSymbol::parse("AAPL 2027-01-15 187.5 PUT").unwrap().to_string(), "AAPL 2027-01-15 187.5 P");
    for not_an_option in ["SPY", "SPY 600 C", "SPY 2026-12-18 600", "SPY 18-12-2026 600 C", "SPY 2026-12-18 -5 C"] {
        assert!(OptionSymbol::parse(not_an_option).is_none(), "{not_an_option}");
    }
}

#[test]
fn strikes_around_the_money_take_n_each_side() {
    let all: Vec<Decimal> = (80..=120).step_by(5).map(Decimal::from).collect();
    assert_eq!(strikes_around(&all, dec!(101), 2), vec![dec!(95), dec!(100), dec!(105), dec!(110)]);
    assert_eq!(strikes_around(&all, dec!(50), 2), vec![dec!(80), dec!(85)], "nothing below: only the side there is");
}

#[test]
fn chain_requests_name_a_bad_parameter() {
    assert!(chain_request("spy", Some("next friday"), None, None).unwrap_err().message.starts_with("expiry:"));
    assert!(chain_request("spy", None, Some(0), None).unwrap_err().message.starts_with("strikes_around_money:"));
    assert!(chain_request("spy", None, None, Some("both")).unwrap_err().message.starts_with("right:"));
    let r = chain_request("spy", Some("2026-12-18"), None, Some("put")).unwrap();
    assert_eq!((r.underlying.as_str(), r.strikes_around_money, r.right), ("SPY", 10, Some(Right::Put)));
}
