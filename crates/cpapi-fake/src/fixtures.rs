//! Recorded real CPAPI responses, served verbatim by the fake so the adapter is tested against
//! IBKR's own shapes, not only the fake's.

use serde_json::Value;

/// The recordings shipped with the fake: name → WireMock-style `{Request, Response}` JSON.
pub const RECORDED: &[(&str, &str)] = &[
    ("Accounts/GET-iserver-accounts.json", include_str!("../fixtures/Accounts/GET-iserver-accounts.json")),
    ("Session/GET-auth-status.json", include_str!("../fixtures/Session/GET-auth-status.json")),
    ("Session/POST-tickle.json", include_str!("../fixtures/Session/POST-tickle.json")),
    ("MarketData/GET-snapshot.json", include_str!("../fixtures/MarketData/GET-snapshot.json")),
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
];

/// A recording as (method, path after `/v1/api`, body).
pub fn recorded(name: &str) -> Option<(String, String, Value)> {
    let (_, text) = RECORDED.iter().find(|(n, _)| *n == name)?;
    let v: Value = serde_json::from_str(text).ok()?;
    let method = v["Request"]["Methods"][0].as_str()?.to_string();
    let path = v["Request"]["Path"].as_str()?.strip_prefix("/v1/api")?.to_string();
    Some((method, path, v["Response"]["Body"].clone()))
}
