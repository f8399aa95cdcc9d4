//! Recorded real CPAPI responses, served verbatim by the fake so the adapter is tested against
//! IBKR's own shapes, not only the fake's.

use serde_json::Value;

/// The recordings shipped with the fake: name → WireMock-style `{Request, Response}` JSON.
pub const RECORDED: &[(&str, &str)] = &[
    ("Accounts/GET-iserver-accounts.json", include_str!("../fixtures/Accounts/GET-iserver-accounts.json")),
    ("Session/GET-auth-status.json", include_str!("../fixtures/Session/GET-auth-status.json")),
    ("Session/POST-tickle.json", include_str!("../fixtures/Session/POST-tickle.json")),
    ("MarketData/GET-snapshot.json", include_str!("../fixtures/MarketData/GET-snapshot.json")),
    ("MarketData/GET-history.json", include_str!("../fixtures/MarketData/GET-history.json")),
    ("Contracts/GET-trsrv-stocks.json", include_str!("../fixtures/Contracts/GET-trsrv-stocks.json")),
    (
        "Orders/POST-place-order-confirmation.json",
        include_str!("../fixtures/Orders/POST-place-order-confirmation.json"),
    ),
    ("Orders/POST-place-order-submitted.json", include_str!("../fixtures/Orders/POST-place-order-submitted.json")),
    ("Orders/POST-reply-submitted.json", include_str!("../fixtures/Orders/POST-reply-submitted.json")),
    ("Orders/POST-whatif-order.json", include_str!("../fixtures/Orders/POST-whatif-order.json")),
    ("Orders/GET-order-status.json", include_str!("../fixtures/Orders/GET-order-status.json")),
    ("Orders/GET-live-orders.json", include_str!("../fixtures/Orders/GET-live-orders.json")),
    ("Orders/GET-trades.json", include_str!("../fixtures/Orders/GET-trades.json")),
    ("Orders/DELETE-cancel-order.json", include_str!("../fixtures/Orders/DELETE-cancel-order.json")),
    (
        "Portfolio/GET-portfolio-positions-page0.json",
        include_str!("../fixtures/Portfolio/GET-portfolio-positions-page0.json"),
    ),
    ("Portfolio/GET-portfolio-summary.json", include_str!("../fixtures/Portfolio/GET-portfolio-summary.json")),
    ("Portfolio/GET-portfolio-accounts.json", include_str!("../fixtures/Portfolio/GET-portfolio-accounts.json")),
    ("Portfolio/GET-portfolio-ledger.json", include_str!("../fixtures/Portfolio/GET-portfolio-ledger.json")),
    (
        "Portfolio/GET-iserver-account-pnl-partitioned.json",
        include_str!("../fixtures/Portfolio/GET-iserver-account-pnl-partitioned.json"),
    ),
    ("Orders/POST-modify-order-submitted.json", include_str!("../fixtures/Orders/POST-modify-order-submitted.json")),
    ("Contracts/GET-trading-schedule.json", include_str!("../fixtures/Contracts/GET-trading-schedule.json")),
    ("Contracts/GET-secdef-search.json", include_str!("../fixtures/Contracts/GET-secdef-search.json")),
    ("Contracts/GET-contract-info.json", include_str!("../fixtures/Contracts/GET-contract-info.json")),
];

const SPEC_POSITIONS: &str = include_str!("../fixtures/spec/GET-portfolio-positions-example.json");

/// Examples from IBKR's OpenAPI 2.28.0, verbatim, for endpoints no recording covers populated:
/// (method and path after `/v1/api`, file).
pub const SPEC_EXAMPLES: &[(&str, &str)] = &[
    (
        "GET /iserver/account/pnl/partitioned",
        include_str!("../fixtures/spec/GET-iserver-account-pnl-partitioned-example.json"),
    ),
    ("GET /iserver/exchangerate", include_str!("../fixtures/spec/GET-iserver-exchangerate-example.json")),
    ("POST /pa/performance", include_str!("../fixtures/spec/POST-pa-performance-example.json")),
    ("POST /pa/transactions", include_str!("../fixtures/spec/POST-pa-transactions-example.json")),
    ("GET /iserver/secdef/strikes", include_str!("../fixtures/spec/GET-iserver-secdef-strikes-example.json")),
];

/// The body of the spec example for `"METHOD /path"`.
pub fn spec_example(route: &str) -> Option<Value> {
    let (_, text) = SPEC_EXAMPLES.iter().find(|(r, _)| *r == route)?;
    serde_json::from_str::<Value>(text).ok().map(|v| v["Body"].clone())
}

/// The rows of IBKR's OpenAPI positions example (a CRYPTO row with ticker BTC, an OPT row with
/// ticker SPY, a STK row), verbatim.
pub fn spec_position_rows() -> Vec<Value> {
    serde_json::from_str::<Value>(SPEC_POSITIONS).ok().and_then(|v| v["Body"].as_array().cloned()).unwrap_or_default()
}

/// ibind's captured CP Gateway responses by key (`order_status`, `live_orders`, `positions`, ...).
pub fn ibind(key: &str) -> Option<Value> {
    let v: Value = serde_json::from_str(include_str!("../fixtures/ibind/ibkr_responses.json")).ok()?;
    v.get(key).cloned()
}

/// A recording as (method, path after `/v1/api`, body).
pub fn recorded(name: &str) -> Option<(String, String, Value)> {
    let (_, text) = RECORDED.iter().find(|(n, _)| *n == name)?;
    let v: Value = serde_json::from_str(text).ok()?;
    let method = v["Request"]["Methods"][0].as_str()?.to_string();
    let path = v["Request"]["Path"].as_str()?.strip_prefix("/v1/api")?.to_string();
    Some((method, path, v["Response"]["Body"].clone()))
}
