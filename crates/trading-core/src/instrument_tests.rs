use std::collections::BTreeSet;

use super::*;

#[test]
fn keys_are_canonical() {
    assert_eq!(Instrument::parse(" aapl ", None).unwrap().key, "AAPL");
    assert_eq!(Instrument::parse("btc", Some("usdt")).unwrap().key, "BTC/USDT");
    let p = Instrument::parse("eth/btc", Some("USDT")).unwrap();
    assert_eq!((p.key.as_str(), p.base.as_deref(), p.quote.as_deref()), ("ETH/BTC", Some("ETH"), Some("BTC")));
    assert!(Instrument::parse("/USDT", None).is_err());
    assert!(Instrument::parse("A/B/C", None).is_err());
}

#[test]
fn lists_match_key_or_base() {
    let list: BTreeSet<String> = ["BTC".to_string(), "MSFT".to_string()].into();
    assert!(Instrument::parse("BTC", Some("USDT")).unwrap().is_listed(&list));
    assert!(Instrument::parse("msft", None).unwrap().is_listed(&list));
    assert!(!Instrument::parse("ETH/BTC", None).unwrap().is_listed(&list), "BTC as quote is not listed");
}
