//! Binance's spot REST API (api/v3): JSON bodies `{"code", "msg"}` for errors, HMAC-SHA256
//! of the query or form body in `signature`, the key in `X-MBX-APIKEY`. Shapes follow
//! Binance's spot API documentation and ccxt-notes §2.

use std::collections::HashMap;

use axum::{
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{Fault, Inner, Refuse, Request, Seen, engine};

fn err(status: StatusCode, code: i64, msg: &str) -> Response {
    (status, axum::Json(json!({ "code": code, "msg": msg }))).into_response()
}

pub(crate) fn parse_params(s: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(s.as_bytes()).into_owned().collect()
}

const INTERNAL: &str = "Internal error; unable to process your request. Please try again.";

pub(crate) fn handle(g: &mut Inner, req: Request, fault: Fault) -> Response {
    let Request { method, path, query, headers, body } = req;
    let payload = if method == Method::POST && !body.is_empty() { body } else { query };
    let failure = fault.refuse.map(|r| match r {
        Refuse::RateLimited => err(
            StatusCode::TOO_MANY_REQUESTS,
            -1003,
            "Too many requests; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
        ),
        Refuse::Failed(status) => err(status, -1001, INTERNAL),
        Refuse::ClockSkew => {
            err(StatusCode::BAD_REQUEST, -1021, "Timestamp for this request is outside of the recvWindow.")
        }
        Refuse::OrderPostFailed => err(StatusCode::SERVICE_UNAVAILABLE, -1001, INTERNAL),
    });
    let lose = fault.lose;
    let (unsigned, signature) = match payload.rsplit_once("&signature=") {
        Some((u, s)) => (u.to_string(), Some(s.to_string())),
        None => (payload.clone(), None),
    };
    g.seen.push(Seen {
        method: method.to_string(),
        path: path.clone(),
        params: unsigned.clone(),
        signed: signature.is_some(),
    });
    if let Some(f) = failure {
        return f;
    }
    let params = parse_params(&unsigned);
    let private =
        matches!(path.as_str(), "/api/v3/account" | "/api/v3/order" | "/api/v3/openOrders" | "/api/v3/myTrades")
            || path.starts_with("/sapi/");
    if private {
        let key = headers.get("X-MBX-APIKEY").and_then(|v| v.to_str().ok()).unwrap_or("");
        if key != g.cfg.api_key {
            return err(StatusCode::UNAUTHORIZED, -2015, "Invalid API-key, IP, or permissions for action.");
        }
        let Some(sig) = signature else {
            return err(
                StatusCode::BAD_REQUEST,
                -1102,
                "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
            );
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(g.cfg.secret.as_bytes()) else {
            return err(StatusCode::INTERNAL_SERVER_ERROR, -1000, "fake: bad secret");
        };
        mac.update(unsigned.as_bytes());
        if hex::encode(mac.finalize().into_bytes()) != sig {
            return err(StatusCode::BAD_REQUEST, -1022, "Signature for this request is not valid.");
        }
    }
    let reply = route(g, &method, &path, &params);
    if lose {
        // The order was executed; its answer never arrives.
        return err(StatusCode::SERVICE_UNAVAILABLE, -1001, INTERNAL);
    }
    reply
}

fn route(g: &mut Inner, method: &Method, path: &str, p: &HashMap<String, String>) -> Response {
    let withdrawals = g.cfg.withdrawals_enabled;
    let book = &mut g.book;
    let ok = |v: Value| (StatusCode::OK, axum::Json(v)).into_response();
    match (method.as_str(), path) {
        ("GET", "/api/v3/exchangeInfo") => ok(book.exchange_info()),
        ("GET", "/fapi/v1/exchangeInfo" | "/dapi/v1/exchangeInfo") => ok(json!({ "symbols": [] })),
        ("GET", "/api/v3/ping") => ok(json!({})),
        ("GET", "/api/v3/time") => ok(json!({ "serverTime": engine::now_ms() })),
        ("GET", "/api/v3/ticker/24hr") => {
            if let Some(s) = p.get("symbol") {
                match book.ticker(s) {
                    Some(t) => ok(t),
                    None => err(StatusCode::BAD_REQUEST, -1121, "Invalid symbol."),
                }
            } else {
                let wanted: Option<Vec<String>> = p.get("symbols").and_then(|s| serde_json::from_str(s).ok());
                ok(Value::Array(book.tickers(wanted.as_deref())))
            }
        }
        ("GET", "/api/v3/klines") => {
            let symbol = p.get("symbol").map(String::as_str).unwrap_or_default();
            book.klines(symbol, p.get("interval"), p.get("limit"))
                .map_or_else(|(c, m)| err(StatusCode::BAD_REQUEST, c, &m), ok)
        }
        ("GET", "/api/v3/account") => ok(book.account()),
        // "Get API Key Permission" (GET /sapi/v1/account/apiRestrictions), Binance's example.
        ("GET", "/sapi/v1/account/apiRestrictions") => ok(json!({
            "ipRestrict": false, "createTime": 1698645219000i64, "enableReading": true,
            "enableWithdrawals": withdrawals, "enableInternalTransfer": false, "enableMargin": false,
            "enableFutures": false, "permitsUniversalTransfer": false, "enableVanillaOptions": false,
            "enableFixApiTrade": false, "enableFixReadOnly": false, "enableSpotAndMarginTrading": true,
            "enablePortfolioMarginTrading": false
        })),
        ("POST", "/api/v3/order") => book.place(p).map_or_else(|(c, m)| err(StatusCode::BAD_REQUEST, c, &m), ok),
        ("GET", "/api/v3/order") => match book.lookup(p) {
            Some(o) => ok(book.order_json(o, false)),
            None => err(StatusCode::BAD_REQUEST, -2013, "Order does not exist."),
        },
        ("DELETE", "/api/v3/order") => book.cancel(p).map_or_else(|(c, m)| err(StatusCode::BAD_REQUEST, c, &m), ok),
        ("GET", "/api/v3/openOrders") => ok(book.open_orders(p.get("symbol").map(String::as_str))),
        ("GET", "/api/v3/myTrades") => match p.get("symbol") {
            Some(s) => ok(book.my_trades(s)),
            None => err(
                StatusCode::BAD_REQUEST,
                -1102,
                "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
            ),
        },
        _ => err(StatusCode::NOT_FOUND, -1, &format!("fake: no route {method} {path}")),
    }
}
