//! The crypto venue's settings: the names of its policy keys, its block of `.env.example`, and
//! the options to reach the exchange through ccxt, read from the environment.

use std::time::Duration;

pub use trading_core::config::Secret;

use crate::exchanges::{self, Facts};
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
            "binance, binanceus, coinbase, kraken, okx or bybit (README: each one's set-up and limits). Each is
a cargo feature of crypto-mcp, all on by default.",
        )
        .one_of(&["binance", "binanceus", "coinbase", "kraken", "okx", "bybit"]),
        Setting::secret(
            "CRYPTO_API_KEY",
            "API credentials (secrets: never logged or shown). Testnet keys: https://testnet.binance.vision
(binance), https://testnet.bybit.com (bybit), OKX demo trading (okx).",
        ),
        Setting::secret("CRYPTO_API_SECRET", ""),
        Setting::secret("CRYPTO_API_PASSWORD", "The key's passphrase, on exchanges that have one (okx)."),
        Setting::new(
            "CRYPTO_ALLOW_WITHDRAW_KEYS",
            "false",
            "crypto-mcp refuses to start with keys the exchange reports can withdraw (binance) unless this is
true. Trading never needs that permission.",
        )
        .boolean(),
        Setting::new(
            "CRYPTO_API_BASE_URL",
            "",
            "Point every REST base of the exchange here (a testnet, a proxy, the exchange-fake). Empty: the
exchange's own URLs (its testnet in sandbox mode).",
        ),
        Setting::new(
            "CRYPTO_TRADING_MODE",
            "sandbox",
            "sandbox (the exchange's testnet, the default) or live. A label: the exchange cannot confirm it.
binanceus, coinbase and kraken have no spot testnet: in sandbox they only dry-run.",
        )
        .one_of(&["sandbox", "live"]),
        Setting::new(
            "CRYPTO_ALLOW_LIVE",
            "false",
            "The crypto real-money arm, independent of TRADING_ALLOW_LIVE. Also needed for any real order in
sandbox, because the exchange cannot prove the keys are testnet keys.",
        )
        .boolean(),
        Setting::new(
            "CRYPTO_APPROVAL",
            "",
            "Who says yes to an order: none, elicit, web, push or auto, as TRADING_APPROVAL. Empty: auto on live,
none on sandbox. none is refused on live.",
        )
        .one_of(&["none", "elicit", "web", "push", "auto"]),
        Setting::new(
            "CRYPTO_APPROVAL_LIVE",
            "",
            "web or push: the channel live orders must use, as TRADING_APPROVAL_LIVE.",
        )
        .one_of(&["web", "push"]),
        Setting::new(
            "CRYPTO_DRY_RUN",
            "true",
            "true: validate and journal crypto orders, send nothing (independent of TRADING_DRY_RUN).",
        )
        .boolean(),
        Setting::new(
            "CRYPTO_ACCOUNT_ID",
            "",
            "When set, orders are refused unless session_status's account is this (e.g. binance-sandbox).",
        ),
        Setting::new(
            "CRYPTO_QUOTE_CCY",
            "",
            "The quote currency: \"BTC\" means BTC/USDT. Every cap above is in this currency on crypto-mcp.
Empty: the exchange's own (USDT on binance, okx, bybit and the simulator; USD on binanceus,
coinbase, kraken).",
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
        )
        .number(),
    ],
};

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::new(key, message)
}

/// How to reach the exchange.
#[derive(Clone, Debug)]
pub struct ExchangeOptions {
    /// The ccxt exchange id ("binance").
    pub id: String,
    /// Keys the exchange reports can withdraw are accepted (CRYPTO_ALLOW_WITHDRAW_KEYS).
    pub allow_withdraw_keys: bool,
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
        let facts = exchange_facts(s)?;
        let id = facts.id.to_string();
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
        let sandbox = policy.mode == TradingMode::Paper;
        if !facts.sends_orders(sandbox, base_url.is_some()) && !policy.dry_run {
            return Err(bad(
                "CRYPTO_TRADING_MODE",
                format!("sandbox with CRYPTO_DRY_RUN=false: {}", facts.no_testnet()),
            ));
        }
        if facts.passphrase && s.get("CRYPTO_API_KEY").is_some() && s.get("CRYPTO_API_PASSWORD").is_none() {
            return Err(bad(
                "CRYPTO_API_PASSWORD",
                format!("{} keys have a passphrase: set it (the API key is set)", facts.name),
            ));
        }
        Ok(ExchangeOptions {
            id,
            allow_withdraw_keys: s.bool("CRYPTO_ALLOW_WITHDRAW_KEYS", false)?,
            api_key: secret("CRYPTO_API_KEY"),
            secret: secret("CRYPTO_API_SECRET"),
            password: secret("CRYPTO_API_PASSWORD"),
            sandbox,
            // A local base URL is a fake or a recorder: no need to pace it. Anything else is paced.
            rate_limit: !base_url.as_deref().is_some_and(is_loopback_url),
            base_url,
            quote: quote.to_string(),
            timeout: Duration::from_secs(timeout),
        })
    }
}

/// The exchange CRYPTO_EXCHANGE names, supported and compiled into this build.
pub fn exchange_facts(s: &Settings<'_>) -> Result<&'static Facts, ConfigError> {
    let id = s.get("CRYPTO_EXCHANGE").unwrap_or("binance").to_ascii_lowercase();
    exchanges::compiled_facts(&id).map_err(|why| bad("CRYPTO_EXCHANGE", why))
}

fn is_loopback_url(u: &str) -> bool {
    url::Url::parse(u).ok().and_then(|u| u.host_str().map(str::to_string)).is_some_and(|h| {
        h == "localhost" || h.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    })
}
