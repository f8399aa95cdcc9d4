use super::*;

#[test]
fn classification_walks_the_hierarchy() {
    let e = |kind: &str| ExchangeError { kind: kind.into(), message: "m".into() };
    assert_eq!(CcxtError::classify(&e("InsufficientFunds")), CcxtError::InsufficientFunds("m".into()));
    assert_eq!(CcxtError::classify(&e("OrderNotFound")), CcxtError::OrderNotFound("m".into()));
    assert_eq!(CcxtError::classify(&e("DDoSProtection")), CcxtError::RateLimited("m".into()));
    assert_eq!(CcxtError::classify(&e("RequestTimeout")), CcxtError::Network("m".into()));
    assert_eq!(CcxtError::classify(&e("ExchangeNotAvailable")), CcxtError::Network("m".into()));
    assert_eq!(CcxtError::classify(&e("PermissionDenied")), CcxtError::Auth("m".into()));
    // kraken's own texts, which ccxt's kraken table leaves too general.
    let kraken = |kind: &str, text: &str| ExchangeError {
        kind: kind.into(),
        message: format!("kraken {{\"error\":[\"{text}\"]}}"),
    };
    assert!(matches!(
        CcxtError::classify(&kraken("InvalidOrder", "EOrder:Unknown order")),
        CcxtError::OrderNotFound(_)
    ));
    assert!(matches!(CcxtError::classify(&kraken("ExchangeError", "EAPI:Invalid signature")), CcxtError::Auth(_)));
    assert!(!CcxtError::Network("x".into()).is_definitive_refusal());
    assert!(CcxtError::InvalidOrder("x".into()).is_definitive_refusal());
}

#[test]
fn signatures_are_scrubbed_from_messages() {
    let m = scrub("GET http://x/api/v3/order?symbol=BTCUSDT&timestamp=1&signature=abcdef0123 failed");
    assert!(!m.contains("abcdef0123"), "{m}");
    assert!(m.contains("symbol=BTCUSDT"));
}
