use super::*;

/// The facts agree with ccxt's own description of each compiled exchange: a passphrase where
/// ccxt requires one, a testnet only where ccxt has one, and the calls the adapter relies on.
#[test]
fn the_facts_agree_with_ccxt() {
    assert!(!compiled().is_empty());
    for id in compiled() {
        let f = facts(id).unwrap();
        let built = construct(id, &serde_json::json!({}), false).unwrap().unwrap();
        assert_eq!(f.passphrase, built.needs_password, "{id}: passphrase");
        let has = |k: &str| built.has.get(k).and_then(serde_json::Value::as_bool) == Some(true);
        for needed in ["fetchTicker", "fetchBalance", "createOrder", "cancelOrder", "fetchOrder", "fetchOpenOrders"] {
            assert!(has(needed), "{id} lacks {needed}");
        }
        if f.lookup == CoidLookup::RecentOrders {
            assert!(has("fetchClosedOrders"), "{id}: the lost-order lookup reads closed orders");
        }
        let test = built.urls.get("test").filter(|t| !t.is_null());
        match f.testnet {
            Some(_) => assert!(test.is_some(), "{id}: ccxt has no urls.test"),
            // binanceus inherits binance's urls.test: Binance's testnet, where binance.us keys
            // do not work, so it counts as none.
            None if id == "binanceus" => {
                assert!(test.unwrap().to_string().contains("binance.vision"), "{test:?}");
            }
            None => {
                assert!(test.is_none(), "{id} has a ccxt testnet: {test:?}");
                assert!(construct(id, &serde_json::json!({}), true).unwrap().is_err(), "{id}: sandbox refused");
            }
        }
    }
}

#[test]
fn every_rest_base_moves_to_the_base_url_keeping_its_path() {
    let urls = serde_json::json!({
        "public": "https://api.binance.com/api/v3",
        "spot": "https://api.{hostname}",
        "nested": { "v2": "https://api.coinbase.com/v2/" },
    });
    let r = rebase(&urls, "http://127.0.0.1:9");
    assert_eq!(r["public"], "http://127.0.0.1:9/api/v3");
    assert_eq!(r["spot"], "http://127.0.0.1:9");
    assert_eq!(r["nested"]["v2"], "http://127.0.0.1:9/v2");
}

#[test]
fn every_supported_exchange_is_named_once() {
    let mut ids: Vec<&str> = EXCHANGES.iter().map(|f| f.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids, ["binance", "binanceus", "bybit", "coinbase", "kraken", "okx"]);
}
