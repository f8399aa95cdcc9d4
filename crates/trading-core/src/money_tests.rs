use rust_decimal_macros::dec;

use super::*;

#[derive(Debug, serde::Deserialize)]
struct Holder {
    p: Price,
    q: Option<Qty>,
}

#[test]
fn numbers_and_strings_both_parse_exactly() {
    let h: Holder = serde_json::from_str(r#"{"p": 123.45, "q": 10}"#).unwrap();
    assert_eq!(h.p.0, dec!(123.45));
    assert_eq!(h.q.unwrap().0, dec!(10));
    let h: Holder = serde_json::from_str(r#"{"p": "0.1", "q": " 2.50 "}"#).unwrap();
    assert_eq!(h.p.0, dec!(0.1));
    assert_eq!(h.q.unwrap().0, dec!(2.5));
    let h: Holder = serde_json::from_str(r#"{"p": 0.1}"#).unwrap();
    assert_eq!(h.p.0, dec!(0.1), "f64 0.1 must not become 0.1000000000000000055");
    assert!(h.q.is_none());
    let h: Holder = serde_json::from_str(r#"{"p": "1e-3"}"#).unwrap();
    assert_eq!(h.p.0, dec!(0.001));
}

#[test]
fn garbage_is_refused_with_a_reason() {
    let e = serde_json::from_str::<Holder>(r#"{"p": "abc"}"#).unwrap_err();
    assert!(e.to_string().contains("'abc' is not a decimal number"), "{e}");
    let e = serde_json::from_str::<Holder>(r#"{"p": true}"#).unwrap_err();
    assert!(e.to_string().contains("decimal number"), "{e}");
}

#[test]
fn serializes_as_canonical_string() {
    assert_eq!(serde_json::to_string(&Qty(dec!(100.0))).unwrap(), "\"100\"");
    assert_eq!(serde_json::to_string(&Price(dec!(1.50))).unwrap(), "\"1.5\"");
    assert_eq!(Qty(dec!(100)).canonical(), Qty(dec!(100.000)).canonical());
}

#[test]
fn money_labels_follow_the_currency() {
    assert_eq!(fmt_money(dec!(50.0), "USD"), "US$50");
    assert_eq!(fmt_money(dec!(1234.567), "USDT"), "1234.57 USDT");
}
