//! The exchanges this build can reach and what differs between them, as data: one adapter
//! reads these facts instead of branching on an exchange's name.

use ccxt::{ExchangeError, TypedExchange, Value};

/// How an order is found by our client order id after a post whose answer was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoidLookup {
    /// `fetchOrder` takes the id as a parameter (binance `origClientOrderId`, okx `clOrdId`).
    FetchOrderParam,
    /// The exchange has no lookup by client id: its open and recent closed orders are read and
    /// matched on the id they carry (kraken `cl_ord_id`, coinbase `client_order_id`).
    RecentOrders,
}

/// The ccxt parameter that makes an order a stop (its trigger price).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopParam {
    /// ccxt's unified `triggerPrice`.
    TriggerPrice,
    /// kraken's ccxt class reads `stopLossPrice` (ordertype `stop-loss` / `stop-loss-limit`);
    /// a `triggerPrice` would be passed through to kraken unread.
    StopLossPrice,
}

impl StopParam {
    pub fn name(self) -> &'static str {
        match self {
            StopParam::TriggerPrice => "triggerPrice",
            StopParam::StopLossPrice => "stopLossPrice",
        }
    }
}

/// A signed request that tells whether the API key may withdraw.
#[derive(Clone, Copy, Debug)]
pub struct PermissionProbe {
    /// ccxt's `request(path, api, method)`.
    pub path: &'static str,
    pub api: &'static str,
    pub method: &'static str,
    /// The field of the answer that says withdrawals are enabled.
    pub withdraw_field: &'static str,
}

/// One exchange's facts.
#[derive(Clone, Copy, Debug)]
pub struct Facts {
    /// ccxt's id, the value of CRYPTO_EXCHANGE and the cargo feature.
    pub id: &'static str,
    pub name: &'static str,
    /// The quote currency when CRYPTO_QUOTE_CCY is empty.
    pub default_quote: &'static str,
    /// The exchange's own name for the client order id (ccxt's `clientOrderId` becomes it).
    pub client_order_id_param: &'static str,
    pub lookup: CoidLookup,
    pub stop_param: StopParam,
    /// The spot testnet `CRYPTO_TRADING_MODE=sandbox` trades on (ccxt's `urls.test`); `None`:
    /// the exchange has none, and sandbox mode sends no order.
    pub testnet: Option<&'static str>,
    /// Where keys are made.
    pub keys_page: &'static str,
    /// The key needs CRYPTO_API_PASSWORD (ccxt's `requiredCredentials.password`).
    pub passphrase: bool,
    pub permissions: Option<PermissionProbe>,
    /// What it cannot do, beyond what ccxt's `has` flags say.
    pub notes: &'static str,
}

impl Facts {
    /// Whether orders reach the exchange: always when live; in sandbox mode only where it has
    /// a testnet, or when a base URL replaces every host (a fake, a recorder).
    pub fn sends_orders(&self, sandbox: bool, base_url: bool) -> bool {
        !sandbox || base_url || self.testnet.is_some()
    }

    /// Why sandbox mode sends no order here, and what to do instead.
    pub fn no_testnet(&self) -> String {
        format!(
            "{} has no spot testnet, so sandbox mode sends no order (it would be real money): rehearse with CRYPTO_DRY_RUN=true, or trade with CRYPTO_TRADING_MODE=live and CRYPTO_ALLOW_LIVE=true",
            self.name
        )
    }
}

/// Every exchange tradegate supports, compiled in or not.
pub const EXCHANGES: &[Facts] = &[
    Facts {
        id: "binance",
        name: "Binance",
        default_quote: "USDT",
        client_order_id_param: "newClientOrderId",
        lookup: CoidLookup::FetchOrderParam,
        stop_param: StopParam::TriggerPrice,
        testnet: Some("https://testnet.binance.vision"),
        keys_page: "https://www.binance.com/en/my/settings/api-management",
        passphrase: false,
        // GET /sapi/v1/account/apiRestrictions (Binance spot API, "Get API Key Permission").
        permissions: Some(PermissionProbe {
            path: "account/apiRestrictions",
            api: "sapi",
            method: "GET",
            withdraw_field: "enableWithdrawals",
        }),
        notes: "Not for US residents (use binanceus).",
    },
    Facts {
        id: "binanceus",
        name: "Binance.US",
        default_quote: "USD",
        client_order_id_param: "newClientOrderId",
        lookup: CoidLookup::FetchOrderParam,
        stop_param: StopParam::TriggerPrice,
        testnet: None,
        keys_page: "https://www.binance.us/settings/api-management",
        passphrase: false,
        permissions: None,
        notes: "No testnet: sandbox mode sends no order.",
    },
    Facts {
        id: "coinbase",
        name: "Coinbase Advanced Trade",
        default_quote: "USD",
        client_order_id_param: "client_order_id",
        lookup: CoidLookup::RecentOrders,
        stop_param: StopParam::TriggerPrice,
        testnet: None,
        keys_page: "https://portal.cdp.coinbase.com/access/api",
        passphrase: false,
        permissions: None,
        notes: "No spot sandbox: sandbox mode sends no order. CDP keys: CRYPTO_API_KEY is the key name (organizations/.../apiKeys/...), CRYPTO_API_SECRET its EC private key (PEM); no passphrase.",
    },
    Facts {
        id: "kraken",
        name: "Kraken",
        default_quote: "USD",
        client_order_id_param: "cl_ord_id",
        lookup: CoidLookup::RecentOrders,
        stop_param: StopParam::StopLossPrice,
        testnet: None,
        keys_page: "https://www.kraken.com/u/security/api",
        passphrase: false,
        permissions: None,
        notes: "No spot testnet: sandbox mode sends no order. Kraken does not report a key's permissions: create it without \"Withdraw Funds\".",
    },
    Facts {
        id: "okx",
        name: "OKX",
        default_quote: "USDT",
        client_order_id_param: "clOrdId",
        lookup: CoidLookup::FetchOrderParam,
        stop_param: StopParam::TriggerPrice,
        testnet: Some("OKX demo trading (keys made under Demo Trading)"),
        keys_page: "https://www.okx.com/account/my-api",
        passphrase: true,
        permissions: None,
        notes: "The key's passphrase goes in CRYPTO_API_PASSWORD.",
    },
    Facts {
        id: "bybit",
        name: "Bybit",
        default_quote: "USDT",
        client_order_id_param: "orderLinkId",
        lookup: CoidLookup::RecentOrders,
        stop_param: StopParam::TriggerPrice,
        testnet: Some("https://testnet.bybit.com"),
        keys_page: "https://www.bybit.com/app/user/api-management",
        passphrase: false,
        permissions: None,
        notes: "Spot of the unified trading account only.",
    },
];

/// The facts of a supported exchange (compiled in or not).
pub fn facts(id: &str) -> Option<&'static Facts> {
    EXCHANGES.iter().find(|f| f.id == id)
}

/// The exchange `id` names when tradegate supports it and this build has it; otherwise what
/// is wrong and the fix (for CRYPTO_EXCHANGE).
pub fn compiled_facts(id: &str) -> Result<&'static Facts, String> {
    let Some(f) = facts(id) else {
        let supported: Vec<&str> = EXCHANGES.iter().map(|f| f.id).collect();
        return Err(format!("'{id}' is not an exchange tradegate supports ({})", supported.join(", ")));
    };
    if !compiled().contains(&f.id) {
        return Err(format!(
            "{id} is not compiled into this build (it has: {}): build crypto-mcp with --features {id}",
            compiled().join(", ")
        ));
    }
    Ok(f)
}

/// The exchanges compiled into this build, in [`EXCHANGES`] order.
pub fn compiled() -> Vec<&'static str> {
    let built: &[&str] = &[
        #[cfg(feature = "binance")]
        "binance",
        #[cfg(feature = "binanceus")]
        "binanceus",
        #[cfg(feature = "coinbase")]
        "coinbase",
        #[cfg(feature = "kraken")]
        "kraken",
        #[cfg(feature = "okx")]
        "okx",
        #[cfg(feature = "bybit")]
        "bybit",
    ];
    EXCHANGES.iter().map(|f| f.id).filter(|id| built.contains(id)).collect()
}

/// A constructed ccxt instance and what it says of itself.
pub(crate) struct Built {
    pub ex: Box<dyn TypedExchange>,
    /// ccxt's `has` flags.
    pub has: serde_json::Value,
    /// ccxt's REST bases (`urls.api`) and testnet bases (`urls.test`).
    pub urls: serde_json::Value,
    /// ccxt's candle timeframes for the exchange (`1m`, `1h`, ...).
    pub timeframes: Vec<String>,
    #[cfg_attr(not(test), allow(dead_code))] // read by the facts test, against ccxt
    pub needs_password: bool,
}

/// Builds the exchange `id` from a ccxt config; `None` when it is not compiled in.
pub(crate) fn construct(id: &str, cfg: &serde_json::Value, sandbox: bool) -> Option<Result<Built, ExchangeError>> {
    macro_rules! build {
        ($ty:ty) => {{
            let mut ex = <$ty>::new(Some(Value::from_json(cfg)));
            let on = if sandbox { ex.set_sandbox_mode(true) } else { Ok(()) };
            on.map(|()| Built {
                has: ex.has.to_json(),
                urls: ex.urls.to_json(),
                timeframes: ex
                    .timeframes
                    .to_json()
                    .as_object()
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default(),
                needs_password: ccxt::safe_bool(&ex.requiredCredentials, "password", None).unwrap_or(false),
                ex: Box::new(ex),
            })
        }};
    }
    match id {
        #[cfg(feature = "binance")]
        "binance" => Some(build!(ccxt::Binance)),
        #[cfg(feature = "binanceus")]
        "binanceus" => Some(build!(ccxt::Binanceus)),
        #[cfg(feature = "coinbase")]
        "coinbase" => Some(build!(ccxt::Coinbase)),
        #[cfg(feature = "kraken")]
        "kraken" => Some(build!(ccxt::Kraken)),
        #[cfg(feature = "okx")]
        "okx" => Some(build!(ccxt::Okx)),
        #[cfg(feature = "bybit")]
        "bybit" => Some(build!(ccxt::Bybit)),
        _ => None,
    }
}

/// Every REST base of an exchange's `urls.api` (or `urls.test`) moved to `base`, keeping each
/// one's path: `https://api.binance.com/api/v3` becomes `{base}/api/v3`, bybit's
/// `https://api.{hostname}` becomes `{base}`.
pub(crate) fn rebase(urls: &serde_json::Value, base: &str) -> serde_json::Value {
    match urls {
        serde_json::Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), rebase(v, base))).collect(),
        serde_json::Value::String(u) => {
            let path = url::Url::parse(&u.replace("{hostname}", "example.com"))
                .map(|u| u.path().trim_end_matches('/').to_string())
                .unwrap_or_default();
            serde_json::Value::String(format!("{base}{path}"))
        }
        other => other.clone(),
    }
}

#[cfg(test)]
#[path = "exchanges_tests.rs"]
mod tests;
