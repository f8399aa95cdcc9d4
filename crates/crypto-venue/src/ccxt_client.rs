//! The raw exchange client: one ccxt instance behind a lock, every call run to completion.
//!
//! ccxt methods take `&mut self`, so calls are serialised on one instance. A ccxt future
//! dropped mid-flight can break the instance for good (ccxt-notes §4.2), so each call runs in
//! its own spawned task: if the MCP request that asked for it is cancelled, the call still
//! finishes. ccxt's own timeout bounds every call; nothing here wraps one in a timeout.

use std::{future::Future, pin::Pin, sync::Arc};

use ccxt::{ExchangeError, TypedExchange, Value};
use serde_json::json;

use crate::{
    exchanges::{self, Facts},
    settings::ExchangeOptions,
};

/// A ccxt failure, classified most specific first (ccxt errors are strings in a hierarchy).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CcxtError {
    #[error("insufficient funds: {0}")]
    InsufficientFunds(String),
    #[error("order not found: {0}")]
    OrderNotFound(String),
    #[error("order refused by the exchange: {0}")]
    InvalidOrder(String),
    #[error("unknown symbol: {0}")]
    BadSymbol(String),
    #[error("authentication failed (check CRYPTO_API_KEY / CRYPTO_API_SECRET): {0}")]
    Auth(String),
    #[error("rate limited by the exchange: {0}")]
    RateLimited(String),
    /// The exchange refused the request's timestamp (binance -1021): this machine's clock is
    /// off; the request was not considered.
    #[error(
        "the exchange refused the request's timestamp: this machine's clock is off by more than the exchange allows (sync it, e.g. with NTP), nothing was placed: {0}"
    )]
    ClockSkew(String),
    #[error("network error or exchange unavailable: {0}")]
    Network(String),
    #[error("not supported by the exchange: {0}")]
    NotSupported(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("exchange error: {0}")]
    Other(String),
    /// CRYPTO_EXCHANGE names an exchange this build does not have.
    #[error("{0}")]
    NotCompiled(String),
    /// The call died inside ccxt (a real panic, not an exchange error).
    #[error("the exchange client failed: {0}")]
    Crashed(String),
}

impl CcxtError {
    fn classify(e: &ExchangeError) -> CcxtError {
        let m = scrub(&e.message);
        if e.is("InsufficientFunds") {
            CcxtError::InsufficientFunds(m)
        } else if e.is("OrderNotFound") || m.contains("EOrder:Unknown order") {
            // kraken's "no such order", which ccxt's kraken table files under InvalidOrder.
            CcxtError::OrderNotFound(m)
        } else if e.is("InvalidOrder") {
            CcxtError::InvalidOrder(m)
        } else if e.is("BadSymbol") {
            CcxtError::BadSymbol(m)
        } else if e.is("AuthenticationError") || m.contains("EAPI:Invalid signature") {
            // kraken answers a wrong secret with EAPI:Invalid signature, which ccxt's kraken
            // table leaves a plain ExchangeError.
            CcxtError::Auth(m)
        } else if e.is("InvalidNonce") || m.contains("-1021") {
            CcxtError::ClockSkew(m)
        } else if e.is("RateLimitExceeded") || e.is("DDoSProtection") {
            CcxtError::RateLimited(m)
        } else if e.is("NetworkError") {
            CcxtError::Network(m)
        } else if e.is("NotSupported") {
            CcxtError::NotSupported(m)
        } else if e.is("BadRequest") || e.is("ArgumentsRequired") {
            CcxtError::BadRequest(m)
        } else {
            CcxtError::Other(m)
        }
    }

    /// Whether the exchange answered and refused: nothing was placed.
    pub fn is_definitive_refusal(&self) -> bool {
        matches!(
            self,
            CcxtError::InsufficientFunds(_)
                | CcxtError::InvalidOrder(_)
                | CcxtError::BadSymbol(_)
                | CcxtError::Auth(_)
                | CcxtError::NotSupported(_)
                | CcxtError::BadRequest(_)
                | CcxtError::RateLimited(_)
                | CcxtError::ClockSkew(_)
        )
    }
}

/// Exchange messages can echo a signed URL; its signature and key are cut out.
fn scrub(message: &str) -> String {
    let mut out = message.to_string();
    for key in ["signature=", "apiKey=", "X-MBX-APIKEY"] {
        while let Some(i) = out.find(key) {
            let end = out[i..].find(['&', ' ', '"', '\'']).map_or(out.len(), |e| i + e);
            out.replace_range(i..end, "<redacted>");
        }
    }
    out
}

/// What the exchange says it can do (ccxt's `has` flags that matter to us).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Has {
    pub market_buy_with_cost: bool,
    pub stop_market: bool,
    pub stop_limit: bool,
    pub ohlcv: bool,
    pub tickers: bool,
    pub my_trades: bool,
    pub closed_orders: bool,
}

/// A boxed ccxt call borrowing the instance.
pub type Call<'a, T> = Pin<Box<dyn Future<Output = ccxt::Result<T>> + Send + 'a>>;

/// One exchange instance, shared and serialised.
#[derive(Clone)]
pub struct CcxtClient {
    inner: Arc<tokio::sync::Mutex<Box<dyn TypedExchange>>>,
    pub id: String,
    pub sandbox: bool,
    /// Orders may be sent: live, or a sandbox the exchange really has (or a base URL that
    /// replaces the exchange). False for sandbox mode on an exchange without a testnet.
    pub can_trade: bool,
    pub has: Has,
    pub facts: &'static Facts,
    /// The candle timeframes the exchange has, in ccxt's spelling.
    pub timeframes: Vec<String>,
}

impl std::fmt::Debug for CcxtClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CcxtClient")
            .field("id", &self.id)
            .field("sandbox", &self.sandbox)
            .field("can_trade", &self.can_trade)
            .finish()
    }
}

/// ccxt reports exchange errors as panics it catches; without this hook each one prints a
/// panic message (and a backtrace under RUST_BACKTRACE) to stderr. Real panics still print.
fn silence_ccxt_error_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let from_ccxt = info.location().is_some_and(|l| {
                let f = l.file();
                f.contains("/ccxt-base-") || f.contains("/ccxt-common-") || f.contains("/ccxt-4.")
            });
            let msg = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or("");
            if from_ccxt && msg.starts_with('[') {
                return;
            }
            default(info);
        }));
    });
}

impl CcxtClient {
    /// Builds the instance (no request is made until the first call).
    pub fn new(opts: &ExchangeOptions) -> Result<CcxtClient, CcxtError> {
        silence_ccxt_error_panics();
        let facts = exchanges::compiled_facts(&opts.id).map_err(CcxtError::NotCompiled)?;
        let not_compiled = || CcxtError::NotCompiled(format!("ccxt has no {} class in this build", opts.id));
        let mut cfg = json!({
            "enableRateLimit": opts.rate_limit,
            "timeout": i64::try_from(opts.timeout.as_millis()).unwrap_or(10_000),
            // Spot only: one markets request, no futures, margin or currency endpoints, and
            // open orders across all symbols allowed (W-6).
            "options": {
                "fetchMarkets": { "types": ["spot"] },
                "fetchCurrencies": false,
                "fetchMargins": false,
                "fetchOpenOrders": { "warnWithoutSymbol": false },
                "defaultType": "spot",
            },
            "has": { "fetchCurrencies": false },
        });
        for (k, v) in [("apiKey", &opts.api_key), ("secret", &opts.secret), ("password", &opts.password)] {
            if !v.is_empty() {
                cfg[k] = json!(v.expose());
            }
        }
        // A testnet is used only where the exchange has one; a base URL replaces every host.
        let testnet = opts.sandbox && opts.base_url.is_none() && facts.testnet.is_some();
        let can_trade = facts.sends_orders(opts.sandbox, opts.base_url.is_some());
        if let Some(base) = &opts.base_url {
            let plain = exchanges::construct(&opts.id, &cfg, false).ok_or_else(not_compiled)?;
            let urls = plain.map_err(|e| CcxtError::classify(&e))?.urls;
            let api = exchanges::rebase(&urls["api"], base);
            cfg["urls"] = json!({ "test": api.clone(), "api": api });
        }
        let built = exchanges::construct(&opts.id, &cfg, testnet).ok_or_else(not_compiled)?;
        let built = built.map_err(|e| CcxtError::classify(&e))?;
        let flag = |k: &str| built.has.get(k).and_then(serde_json::Value::as_bool).unwrap_or(false);
        let has = Has {
            market_buy_with_cost: flag("createMarketBuyOrderWithCost"),
            stop_market: flag("createStopMarketOrder"),
            stop_limit: flag("createStopLimitOrder") || flag("createStopOrder") || flag("createTriggerOrder"),
            ohlcv: flag("fetchOHLCV"),
            tickers: flag("fetchTickers"),
            my_trades: flag("fetchMyTrades"),
            closed_orders: flag("fetchClosedOrders"),
        };
        Ok(CcxtClient {
            inner: Arc::new(tokio::sync::Mutex::new(built.ex)),
            id: opts.id.clone(),
            sandbox: opts.sandbox,
            can_trade,
            has,
            facts,
            timeframes: built.timeframes,
        })
    }

    /// Runs one ccxt call to completion in its own task, whatever happens to the caller.
    pub(crate) async fn run<T, F>(&self, call: F) -> Result<T, CcxtError>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut dyn TypedExchange) -> Call<'a, T> + Send + 'static,
    {
        let inner = self.inner.clone();
        let task = tokio::spawn(async move {
            let mut ex = inner.lock().await;
            call(ex.as_mut()).await
        });
        match task.await {
            Ok(r) => r.map_err(|e| CcxtError::classify(&e)),
            Err(e) => Err(CcxtError::Crashed(if e.is_panic() { "panicked".into() } else { e.to_string() })),
        }
    }

    /// Loaded markets (the first call loads them: one markets request). `load_markets`
    /// through `call_raw` returns its error; the typed one would panic (ccxt-notes §4.1).
    pub async fn markets(&self) -> Result<Vec<ccxt::types::Market>, CcxtError> {
        self.run(|ex| {
            Box::pin(async move {
                ex.call_raw("load_markets", vec![Value::Bool(false)]).await?;
                Ok(ex.markets())
            })
        })
        .await
    }

    /// Whether the key may withdraw, where the exchange says (`None`: it does not).
    pub async fn can_withdraw(&self) -> Result<Option<bool>, CcxtError> {
        let Some(p) = self.facts.permissions else { return Ok(None) };
        let answer = self
            .run(move |ex| {
                Box::pin(async move {
                    // ccxt's request(path, [api], method, params).
                    let args = vec![
                        Value::from(p.path),
                        Value::from_json(&json!([p.api])),
                        Value::from(p.method),
                        Value::from_json(&json!({})),
                    ];
                    ex.call_raw("request", args).await
                })
            })
            .await?;
        Ok(answer.to_json().get(p.withdraw_field).and_then(serde_json::Value::as_bool))
    }
}

#[cfg(test)]
#[path = "ccxt_client_tests.rs"]
mod tests;
