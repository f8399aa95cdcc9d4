//! The crypto venue's settings: the names of its policy keys, its block of `.env.example`, and
//! the options to reach the exchange through ccxt, read from the environment.

use std::time::Duration;

pub use trading_core::config::Secret;
use trading_core::config::{ConfigError, Policy, PolicyKeys, Section, Setting, Settings, TradingMode};

/// The crypto server's keys: its own arms and symbol lists, so arming one venue never arms
/// the other and a stock list never blocks a pair (W-7). Its trading day is UTC.
pub const CRYPTO_KEYS: PolicyKeys = PolicyKeys {
    venue: "the exchange",
    server: "crypto-mcp",
    allow_live: "CRYPTO_ALLOW_LIVE",
    dry_run: "CRYPTO_DRY_RUN",
    trading_mode: "CRYPTO_TRADING_MODE",
    paper_label: "sandbox",
    account_id: "CRYPTO_ACCOUNT_ID",
    // Spot cannot short: there is no arm to set.
    allow_short: None,
    allowlist: "CRYPTO_SYMBOL_ALLOWLIST",
    denylist: "CRYPTO_SYMBOL_DENYLIST",
    approval: "CRYPTO_APPROVAL",
    approval_live: "CRYPTO_APPROVAL_LIVE",
    journal_tz: chrono_tz::UTC,
};

/// The exchange's and the account's settings.
pub const SECTION: Section = Section {
    title: "crypto-mcp: the exchange and the account",
    settings: &[
        Setting::new(
            "CRYPTO_EXCHANGE",
            "binance",
            "The ccxt exchange id. This build compiles binance only (see DECISIONS.md ADR-026).",
        ),
        Setting::secret(
            "CRYPTO_API_KEY",
            "API credentials (secrets: never logged or shown). Testnet keys: https://testnet.binance.vision",
        ),
        Setting { key: "CRYPTO_API_SECRET", default: "", meaning: "", secret: true },
        Setting::secret("CRYPTO_API_PASSWORD", "Only exchanges that use a passphrase (okx, kucoin) need it."),
        Setting::new(
            "CRYPTO_API_BASE_URL",
            "",
            "Point every REST base of the exchange here (a testnet, a proxy, the exchange-fake). Empty: the
exchange's own URLs (its testnet in sandbox mode).",
        ),
        Setting::new(
            "CRYPTO_TRADING_MODE",
            "sandbox",
            "sandbox (the exchange's testnet, the default) or live. A label: the exchange cannot confirm it.",
        ),
        Setting::new(
            "CRYPTO_ALLOW_LIVE",
            "false",
            "The crypto real-money arm, independent of TRADING_ALLOW_LIVE. Also needed for any real order in
sandbox, because the exchange cannot prove the keys are testnet keys.",
        ),
        Setting::new(
            "CRYPTO_APPROVAL",
            "",
            "Who says yes to an order: none, elicit, web, push or auto, as TRADING_APPROVAL. Empty: auto on live,
none on sandbox. none is refused on live.",
        ),
        Setting::new(
            "CRYPTO_APPROVAL_LIVE",
            "",
            "web or push: the channel live orders must use, as TRADING_APPROVAL_LIVE.",
        ),
        Setting::new(
            "CRYPTO_DRY_RUN",
            "true",
            "true: validate and journal crypto orders, send nothing (independent of TRADING_DRY_RUN).",
        ),
        Setting::new(
            "CRYPTO_ACCOUNT_ID",
            "",
            "When set, orders are refused unless session_status's account is this (e.g. binance-sandbox).",
        ),
        Setting::new(
            "CRYPTO_QUOTE_CCY",
            "USDT",
            "The quote currency: \"BTC\" means BTC/USDT. Every cap above is in this currency on crypto-mcp.",
        ),
        Setting::new(
            "CRYPTO_SYMBOL_ALLOWLIST",
            "",
            "Per-venue lists, matched on the pair and its base: a deny of BTC blocks BTC/USDT.",
        ),
        Setting::new("CRYPTO_SYMBOL_DENYLIST", "", ""),
        Setting::new(
            "CRYPTO_TIMEOUT_SECONDS",
            "10",
            "Seconds before an exchange request times out (1..120; ccxt's own timeout).",
        ),
    ],
};

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::new(key, message)
}

/// The exchanges compiled into this build (ADR-026: each one costs build time and memory).
pub const COMPILED_EXCHANGES: &[&str] = &["binance"];

/// How to reach the exchange.
#[derive(Clone, Debug)]
pub struct ExchangeOptions {
    /// The ccxt exchange id ("binance").
    pub id: String,
    pub api_key: Secret,
    pub secret: Secret,
    pub password: Secret,
    /// Sandbox (testnet) unless CRYPTO_TRADING_MODE=live.
    pub sandbox: bool,
    /// Every REST base of the exchange points here (a testnet, a proxy, a fake).
    pub base_url: Option<String>,
    pub quote: String,
    pub timeout: Duration,
    /// ccxt's per-instance rate limiter; always on against a real exchange.
    pub rate_limit: bool,
}

impl ExchangeOptions {
    /// The exchange options from the environment, under `policy` (sandbox unless live) and in
    /// the `quote` currency.
    pub fn from_env(s: &Settings<'_>, policy: &Policy, quote: &str) -> Result<ExchangeOptions, ConfigError> {
        let id = s.get("CRYPTO_EXCHANGE").unwrap_or("binance").to_ascii_lowercase();
        if !COMPILED_EXCHANGES.contains(&id.as_str()) {
            return Err(bad(
                "CRYPTO_EXCHANGE",
                format!("'{id}' is not compiled into this build (available: {})", COMPILED_EXCHANGES.join(", ")),
            ));
        }
        let base_url = match s.get("CRYPTO_API_BASE_URL") {
            None => None,
            Some(u) => match url::Url::parse(u) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
                    Some(u.trim_end_matches('/').to_string())
                }
                _ => return Err(bad("CRYPTO_API_BASE_URL", format!("'{u}' is not an http(s) URL"))),
            },
        };
        let timeout: u64 = s.parse("CRYPTO_TIMEOUT_SECONDS", 10, "a whole number of seconds")?;
        if !(1..=120).contains(&timeout) {
            return Err(bad("CRYPTO_TIMEOUT_SECONDS", "must be between 1 and 120"));
        }
        let secret = |k: &str| Secret::new(s.get(k).unwrap_or_default());
        Ok(ExchangeOptions {
            id,
            api_key: secret("CRYPTO_API_KEY"),
            secret: secret("CRYPTO_API_SECRET"),
            password: secret("CRYPTO_API_PASSWORD"),
            sandbox: policy.mode == TradingMode::Paper,
            // A local base URL is a fake or a recorder: no need to pace it. Anything else is paced.
            rate_limit: !base_url.as_deref().is_some_and(is_loopback_url),
            base_url,
            quote: quote.to_string(),
            timeout: Duration::from_secs(timeout),
        })
    }
}

fn is_loopback_url(u: &str) -> bool {
    url::Url::parse(u).ok().and_then(|u| u.host_str().map(str::to_string)).is_some_and(|h| {
        h == "localhost" || h.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    })
}
