//! Fake spot REST APIs for offline tests of the ccxt adapter, in two dialects: Binance's
//! (`binance.rs`) and Kraken's (`kraken.rs`). Each serves the endpoints ccxt calls for markets,
//! tickers, candles, balances, orders and trades in the exchange's own JSON shapes and error
//! bodies, and checks its signatures for one dummy key. Both share a small matching engine
//! (market fills at the touch, resting limits and stops fill as the price moves, partial fills
//! on demand) and fault injection. Control endpoints live under `/__fake/`.
#![forbid(unsafe_code)]

mod binance;
mod engine;
mod kraken;

use std::{
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
use rust_decimal::Decimal;
use serde_json::{Value, json};

pub use engine::{Book, FeeModel, Pair};

/// Which exchange's REST API the fake speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Binance,
    Kraken,
}

impl Dialect {
    /// The ccxt id of the exchange.
    pub fn exchange_id(self) -> &'static str {
        match self {
            Dialect::Binance => "binance",
            Dialect::Kraken => "kraken",
        }
    }

    /// The markets request (never failed by the faults: it is loaded once, at the start).
    fn markets_path(self) -> &'static str {
        match self {
            Dialect::Binance => "/api/v3/exchangeInfo",
            Dialect::Kraken => "/0/public/AssetPairs",
        }
    }

    /// The endpoint orders are posted to.
    pub fn order_path(self) -> &'static str {
        match self {
            Dialect::Binance => "/api/v3/order",
            Dialect::Kraken => "/0/private/AddOrder",
        }
    }
}

/// The fake's credentials and starting state.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    pub dialect: Dialect,
    pub api_key: String,
    pub secret: String,
    pub pairs: Vec<Pair>,
    /// Starting balances: asset → free amount.
    pub balances: Vec<(String, String)>,
    pub fees: FeeModel,
    /// What the exchange reports of the key's withdrawal permission (binance).
    pub withdrawals_enabled: bool,
}

impl Default for FakeConfig {
    /// The Binance fake: key `dummykey`, secret `dummysecret`, 10,000 USDT and 0.05 BTC.
    fn default() -> Self {
        Self {
            dialect: Dialect::Binance,
            api_key: "dummykey".into(),
            secret: "dummysecret".into(),
            pairs: engine::default_pairs(),
            balances: vec![("USDT".into(), "10000".into()), ("BTC".into(), "0.05".into())],
            // binance's base taker fee, 0.1%, paid in what is received.
            fees: FeeModel { rate: Decimal::new(1, 3), in_quote: false },
            withdrawals_enabled: false,
        }
    }
}

impl FakeConfig {
    /// The Kraken fake: 10,000 USD and 0.05 BTC, Kraken's pair ids, precisions and minimums.
    pub fn kraken() -> Self {
        Self {
            dialect: Dialect::Kraken,
            api_key: kraken::API_KEY.into(),
            secret: kraken::API_SECRET.into(),
            pairs: kraken::default_pairs(),
            balances: vec![("USD".into(), "10000".into()), ("BTC".into(), "0.05".into())],
            // Kraken Pro's first taker tier, 0.40%, charged in the quote currency.
            fees: FeeModel { rate: Decimal::new(4, 3), in_quote: true },
            withdrawals_enabled: false,
        }
    }

    /// The fake for `dialect`.
    pub fn of(dialect: Dialect) -> Self {
        match dialect {
            Dialect::Binance => Self::default(),
            Dialect::Kraken => Self::kraken(),
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
    /// The next N requests are refused for the request rate (binance: HTTP 429 with -1003;
    /// kraken: "EAPI:Rate limit exceeded").
    pub rate_limit_next: u32,
    /// The next N order posts are refused with binance's -1021 (timestamp outside recvWindow:
    /// the client's clock is off), as binance answers when the request is not considered.
    pub clock_skew_order_posts: u32,
    /// The next N orders that cross the book fill half (see `Book::partial_next`).
    pub partial_next: u32,
}

/// One request to a dialect, its body as text.
struct Request {
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: String,
}

/// What the faults decided for one request.
struct Fault {
    delay: Option<Duration>,
    refuse: Option<Refuse>,
    /// Execute the order post, then lose its answer.
    lose: bool,
}

/// A refusal the faults inject; each dialect renders it in its own error shape.
enum Refuse {
    RateLimited,
    Failed(StatusCode),
    ClockSkew,
    OrderPostFailed,
}

impl Inner {
    /// Steps the armed faults for one request (`markets`: the markets request, never failed).
    fn take_fault(&mut self, markets: bool, order_post: bool) -> Fault {
        let f = &mut self.faults;
        if f.partial_next > 0 {
            self.book.partial_next += std::mem::take(&mut f.partial_next);
        }
        let delay = (f.slow_next > 0).then(|| {
            f.slow_next -= 1;
            Duration::from_millis(f.slow_ms)
        });
        let refuse = if markets {
            None
        } else if f.rate_limit_next > 0 {
            f.rate_limit_next -= 1;
            Some(Refuse::RateLimited)
        } else if f.fail_next > 0 {
            f.fail_next -= 1;
            Some(Refuse::Failed(StatusCode::from_u16(f.fail_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)))
        } else if order_post && f.clock_skew_order_posts > 0 {
            f.clock_skew_order_posts -= 1;
            Some(Refuse::ClockSkew)
        } else if order_post && f.fail_order_posts > 0 {
            f.fail_order_posts -= 1;
            Some(Refuse::OrderPostFailed)
        } else {
            None
        };
        let lose = order_post && refuse.is_none() && std::mem::take(&mut f.lose_next_order_response);
        Fault { delay, refuse, lose }
    }
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
    /// kraken: nonces must grow per key.
    last_nonce: u64,
}

/// A running fake exchange.
#[derive(Clone, Debug)]
pub struct FakeExchange {
    inner: Arc<Mutex<Inner>>,
    pub addr: SocketAddr,
}

impl FakeExchange {
    /// Starts the fake on 127.0.0.1 (port 0 picks a free one).
    pub async fn start(cfg: FakeConfig, port: u16) -> std::io::Result<FakeExchange> {
        let book = Book::new(&cfg.pairs, &cfg.balances, cfg.fees);
        let inner = Arc::new(Mutex::new(Inner { cfg, book, faults: Faults::default(), seen: vec![], last_nonce: 0 }));
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

    /// Moves a pair's price (resting orders that it reaches fill); the pair by its id
    /// (`BTCUSDT`, `XXBTZUSD`) or its base asset (`BTC`).
    pub fn set_price(&self, pair: &str, price: rust_decimal::Decimal) {
        let mut g = self.lock();
        if let Some(id) = g.book.pair(pair).map(|p| p.id.clone()) {
            g.book.set_price(&id, price);
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.lock().cfg.dialect
    }

    /// A pair by its id or base asset, as configured.
    pub fn pair(&self, pair: &str) -> Option<Pair> {
        self.lock().book.pair(pair).cloned()
    }

    /// The request parameters of every order post so far.
    pub fn order_posts(&self) -> Vec<String> {
        let path = self.dialect().order_path();
        self.requests().into_iter().filter(|r| r.method == "POST" && r.path == path).map(|r| r.params).collect()
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// A balance's held (locked) amount.
    pub fn locked(&self, asset: &str) -> rust_decimal::Decimal {
        self.lock().book.locked(asset)
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
    let body = String::from_utf8_lossy(&body).to_string();
    if let Some(ctl) = path.strip_prefix("/__fake/") {
        return control(&inner, &method, ctl, &body);
    }
    let dialect = inner.lock().unwrap_or_else(|p| p.into_inner()).cfg.dialect;
    let order_post = method == Method::POST && path == dialect.order_path();
    let fault = inner.lock().unwrap_or_else(|p| p.into_inner()).take_fault(path == dialect.markets_path(), order_post);
    // Outside the lock: other requests go on meanwhile.
    if let Some(d) = fault.delay {
        tokio::time::sleep(d).await;
    }
    let req = Request { method, path, query: uri.query().unwrap_or("").to_string(), headers, body };
    let mut g = inner.lock().unwrap_or_else(|p| p.into_inner());
    match dialect {
        Dialect::Binance => binance::handle(&mut g, req, fault),
        Dialect::Kraken => kraken::handle(&mut g, req, fault),
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
            let id = v["symbol"].as_str().and_then(|s| g.book.pair(s)).map(|p| p.id.clone());
            match (id, v["price"].as_str().and_then(|p| p.parse().ok())) {
                (Some(s), Some(px)) => {
                    g.book.set_price(&s, px);
                    StatusCode::NO_CONTENT.into_response()
                }
                _ => (StatusCode::BAD_REQUEST, "want {\"symbol\":\"BTCUSDT\",\"price\":\"65000\"}").into_response(),
            }
        }
        ("GET", "requests") => axum::Json(json!(g.seen)).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
