//! A fake Binance spot REST API for offline tests of the ccxt adapter: the endpoints ccxt
//! calls for markets, tickers, candles, balances, orders and trades, with binance's JSON
//! shapes and error bodies, HMAC-SHA256 signatures checked for one dummy key, a small
//! matching engine (market fills at the touch, resting limits and stop-limits fill as the
//! price moves), and fault injection. Control endpoints live under `/__fake/`.
#![forbid(unsafe_code)]

mod engine;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

pub use engine::{Book, Pair};

/// The fake's credentials and starting state.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    pub api_key: String,
    pub secret: String,
    pub pairs: Vec<Pair>,
    /// Starting balances: asset → free amount.
    pub balances: Vec<(String, String)>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            api_key: "dummykey".into(),
            secret: "dummysecret".into(),
            pairs: engine::default_pairs(),
            balances: vec![("USDT".into(), "10000".into()), ("BTC".into(), "0.05".into())],
        }
    }
}

/// Faults to inject, armed through `/__fake/fault` or [`FakeExchange::fault`].
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Faults {
    /// The next N requests (any endpoint but exchangeInfo) answer with this HTTP status.
    pub fail_next: u32,
    pub fail_status: u16,
    /// The next N requests are answered this many milliseconds late.
    pub slow_next: u32,
    pub slow_ms: u64,
    /// The next order post is executed, then answered with a 503 (the outcome is lost).
    pub lose_next_order_response: bool,
    /// The next N order posts answer 503 without executing.
    pub fail_order_posts: u32,
    /// The next N requests answer 429 with binance's -1003 body.
    pub rate_limit_next: u32,
    /// The next N order posts are refused with binance's -1021 (timestamp outside recvWindow:
    /// the client's clock is off), as binance answers when the request is not considered.
    pub clock_skew_order_posts: u32,
}

/// One request as the fake saw it (signature removed).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub params: String,
    pub signed: bool,
}

#[derive(Debug)]
struct Inner {
    cfg: FakeConfig,
    book: Book,
    faults: Faults,
    seen: Vec<Seen>,
}

/// A running fake exchange.
#[derive(Clone, Debug)]
pub struct FakeExchange {
    inner: Arc<Mutex<Inner>>,
    pub addr: SocketAddr,
}

fn err(status: StatusCode, code: i64, msg: &str) -> Response {
    (status, axum::Json(json!({ "code": code, "msg": msg }))).into_response()
}

fn parse_params(s: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(s.as_bytes()).into_owned().collect()
}

impl FakeExchange {
    /// Starts the fake on 127.0.0.1 (port 0 picks a free one).
    pub async fn start(cfg: FakeConfig, port: u16) -> std::io::Result<FakeExchange> {
        let book = Book::new(&cfg.pairs, &cfg.balances);
        let inner = Arc::new(Mutex::new(Inner { cfg, book, faults: Faults::default(), seen: vec![] }));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let app = Router::new().fallback(handle).with_state(inner.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("exchange fake stopped: {e}");
            }
        });
        Ok(FakeExchange { inner, addr })
    }

    /// The base URL to give CRYPTO_API_BASE_URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn fault(&self, f: Faults) {
        self.lock().faults = f;
    }

    /// Moves a pair's price (resting orders that it reaches fill).
    pub fn set_price(&self, symbol_id: &str, price: rust_decimal::Decimal) {
        self.lock().book.set_price(symbol_id, price);
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// A balance's free amount.
    pub fn free(&self, asset: &str) -> rust_decimal::Decimal {
        self.lock().book.free(asset)
    }

    /// Orders whose response was lost (for tests of reconciliation).
    pub fn order_by_client_id(&self, coid: &str) -> Option<Value> {
        let g = self.lock();
        g.book.find_by_client_id(coid).map(|o| g.book.order_json(o, false))
    }
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let body = String::from_utf8_lossy(&body).to_string();
    if let Some(ctl) = path.strip_prefix("/__fake/") {
        return control(&inner, &method, ctl, &body);
    }
    let payload = if method == Method::POST && !body.is_empty() { body.clone() } else { query.clone() };
    // Faults and slowness first (outside the lock for the sleep).
    let (delay, failure, lose) = {
        let mut g = inner.lock().unwrap_or_else(|p| p.into_inner());
        let f = &mut g.faults;
        let delay = (f.slow_next > 0).then(|| {
            f.slow_next -= 1;
            Duration::from_millis(f.slow_ms)
        });
        let failure = if path.ends_with("/exchangeInfo") {
            None
        } else if f.rate_limit_next > 0 {
            f.rate_limit_next -= 1;
            Some(err(
                StatusCode::TOO_MANY_REQUESTS,
                -1003,
                "Too many requests; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
            ))
        } else if f.fail_next > 0 {
            f.fail_next -= 1;
            let status = StatusCode::from_u16(f.fail_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            Some(err(status, -1001, "Internal error; unable to process your request. Please try again."))
        } else {
            None
        };
        let order_post = method == Method::POST && path == "/api/v3/order";
        let failure = match failure {
            None if order_post && f.clock_skew_order_posts > 0 => {
                f.clock_skew_order_posts -= 1;
                Some(err(StatusCode::BAD_REQUEST, -1021, "Timestamp for this request is outside of the recvWindow."))
            }
            None if order_post && f.fail_order_posts > 0 => {
                f.fail_order_posts -= 1;
                Some(err(
                    StatusCode::SERVICE_UNAVAILABLE,
                    -1001,
                    "Internal error; unable to process your request. Please try again.",
                ))
            }
            other => other,
        };
        let lose = order_post && failure.is_none() && std::mem::take(&mut f.lose_next_order_response);
        (delay, failure, lose)
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let mut g = inner.lock().unwrap_or_else(|p| p.into_inner());
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
        matches!(path.as_str(), "/api/v3/account" | "/api/v3/order" | "/api/v3/openOrders" | "/api/v3/myTrades");
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
    let reply = route(&mut g, &method, &path, &params);
    if lose {
        // The order was executed; its answer never arrives.
        return err(
            StatusCode::SERVICE_UNAVAILABLE,
            -1001,
            "Internal error; unable to process your request. Please try again.",
        );
    }
    reply
}

fn route(g: &mut Inner, method: &Method, path: &str, p: &HashMap<String, String>) -> Response {
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

fn control(inner: &Arc<Mutex<Inner>>, method: &Method, what: &str, body: &str) -> Response {
    let mut g = inner.lock().unwrap_or_else(|p| p.into_inner());
    match (method.as_str(), what) {
        ("POST", "fault") => match serde_json::from_str::<Faults>(body) {
            Ok(f) => {
                g.faults = f;
                StatusCode::NO_CONTENT.into_response()
            }
            Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        },
        ("POST", "price") => {
            let v: Value = serde_json::from_str(body).unwrap_or_default();
            match (v["symbol"].as_str(), v["price"].as_str().and_then(|p| p.parse().ok())) {
                (Some(s), Some(px)) => {
                    g.book.set_price(s, px);
                    StatusCode::NO_CONTENT.into_response()
                }
                _ => (StatusCode::BAD_REQUEST, "want {\"symbol\":\"BTCUSDT\",\"price\":\"65000\"}").into_response(),
            }
        }
        ("GET", "requests") => axum::Json(json!(g.seen)).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
