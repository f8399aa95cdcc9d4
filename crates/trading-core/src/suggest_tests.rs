use super::*;

#[test]
fn typos_find_what_was_meant() {
    assert_eq!(distance("appl", "aapl"), 1, "a swap is one edit");
    assert_eq!(nearest("APPL", &["AAPL", "AMZN", "KO"]), ["AAPL"]);
    assert_eq!(nearest("limit", &["limit_price", "quantity", "stop_price"]), ["limit_price"]);
    assert_eq!(nearest("price", &["limit_price", "stop_price"]), ["limit_price", "stop_price"]);
    assert_eq!(nearest("BTC", &["BTC/USDT", "ETH/USDT"]), ["BTC/USDT"]);
    assert!(nearest("zzzz", &["AAPL"]).is_empty());
}
