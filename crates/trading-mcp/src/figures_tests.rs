use super::*;

#[test]
fn each_kind_has_its_rule() {
    assert_eq!(percent(-1.2549999).as_deref(), Some("-1.25"));
    assert_eq!(ratio(0.873_149_999_9).as_deref(), Some("0.8731"));
    assert_eq!(index(54.1).as_deref(), Some("54.10"));
    assert_eq!(price(187.345_123_456_7).as_deref(), Some("187.34512"));
    assert_eq!(price(0.000_012_345_678_9).as_deref(), Some("0.000012345679"));
    assert_eq!(price(f64::NAN), None, "not a number is absent, never \"NaN\"");
}
