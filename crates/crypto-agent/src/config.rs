//! The crypto-mcp server's settings: the guard policy under the crypto keys, the exchange and
//! its credentials, and the simulator backend.

use std::{collections::HashMap, path::PathBuf, time::Duration};

use rust_decimal::Decimal;
use sim_venue::{SimConfig, SimProfile};
use trading_core::{
    account::MarketHoursModel,
    config::{CRYPTO_KEYS, ConfigError, Policy, Settings, TradingMode},
};
use trading_mcp::launch::{self, Transport, state_dir, transport};

/// Every key this server reads (typos of them are warned about at start).
pub const CRYPTO_SERVER_KEYS: &[&str] = &[
    "CRYPTO_BACKEND",
    "CRYPTO_EXCHANGE",
    "CRYPTO_API_KEY",
    "CRYPTO_API_SECRET",
    "CRYPTO_API_PASSWORD",
    "CRYPTO_API_BASE_URL",
    "CRYPTO_TRADING_MODE",
    "CRYPTO_ALLOW_LIVE",
    "CRYPTO_DRY_RUN",
    "CRYPTO_ALLOW_SHORT",
    "CRYPTO_ACCOUNT_ID",
    "CRYPTO_QUOTE_CCY",
    "CRYPTO_SYMBOL_ALLOWLIST",
    "CRYPTO_SYMBOL_DENYLIST",
    "CRYPTO_TRADE_JOURNAL_PATH",
    "CRYPTO_TIMEOUT_SECONDS",
    "CRYPTO_SIM_PRICES",
    "CRYPTO_EQUITY_HISTORY_PATH",
    "SIM_SEED",
    "SIM_STARTING_CASH",
    "EQUITY_SAMPLE_SECONDS",
    "WAIT_POLL_MILLISECONDS",
    "MCP_TRANSPORT",
    "MCP_BIND",
    "AUTH_MODE",
    "STATIC_BEARER_TOKEN",
    "MCP_ALLOWED_HOSTS",
    "MCP_ALLOWED_ORIGINS",
    "PUBLIC_BASE_URL",
    "LOGIN_PASSWORD",
    "OAUTH_DB_PATH",
    "OAUTH_ACCESS_TOKEN_TTL_SECONDS",
    "OAUTH_ADVERTISE_ADMIN",
    "OAUTH_REFRESH_TOKEN_TTL_DAYS",
    "LOG_LEVEL",
];

/// The crypto server warns only about its own prefix (the IBKR keys may share the .env).
pub const WATCHED_PREFIXES: &[&str] = &["CRYPTO_"];

/// The exchanges compiled into this build (ADR-026: each one costs build time and memory).
pub const COMPILED_EXCHANGES: &[&str] = &["binance"];

/// Starting prices of the simulator's pairs, in the quote currency.
pub const SIM_PAIRS: &[(&str, i64)] = &[("BTC", 65_000), ("ETH", 3_200), ("SOL", 150), ("XRP", 1), ("DOGE", 0)];

/// Which venue backend serves the tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sim,
    Exchange,
}

/// A credential: never printed, not even in Debug output.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "<unset>" } else { "<redacted>" })
    }
}

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

/// Everything the binary needs, validated.
#[derive(Debug)]
pub struct CryptoConfig {
    pub backend: Backend,
    pub policy: Policy,
    pub exchange: ExchangeOptions,
    pub sim: SimConfig,
    pub journal_path: PathBuf,
    pub read_only: bool,
    pub poll_interval: Duration,
    pub equity_history: Option<(PathBuf, Duration)>,
    pub transport: Transport,
    pub warnings: Vec<String>,
}

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { key: key.into(), message: message.into() }
}

fn sim_prices(s: &Settings<'_>, quote: &str) -> Result<HashMap<String, Decimal>, ConfigError> {
    let mut prices: HashMap<String, Decimal> = SIM_PAIRS
        .iter()
        .map(|(b, p)| {
            let px = if *p == 0 { Decimal::new(15, 2) } else { Decimal::from(*p) };
            (format!("{b}/{quote}"), px)
        })
        .collect();
    for item in s.list("CRYPTO_SIM_PRICES") {
        let Some((sym, px)) = item.split_once(':') else {
            return Err(bad("CRYPTO_SIM_PRICES", format!("'{item}' is not BASE:PRICE")));
        };
        let sym = if sym.contains('/') { sym.trim().to_string() } else { format!("{}/{quote}", sym.trim()) };
        match px.trim().parse::<Decimal>() {
            Ok(p) if p > Decimal::ZERO => prices.insert(sym, p),
            _ => return Err(bad("CRYPTO_SIM_PRICES", format!("'{item}' has no positive price"))),
        };
    }
    Ok(prices)
}

fn exchange_options(s: &Settings<'_>, policy: &Policy, quote: &str) -> Result<ExchangeOptions, ConfigError> {
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

fn is_loopback_url(u: &str) -> bool {
    url::Url::parse(u).ok().and_then(|u| u.host_str().map(str::to_string)).is_some_and(|h| {
        h == "localhost" || h.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    })
}

impl CryptoConfig {
    pub fn from_env(env: &HashMap<String, String>) -> Result<CryptoConfig, ConfigError> {
        Self::from_env_and_args(env, &[])
    }

    /// Settings from the environment, with `--transport` and `--bind` from `args`.
    pub fn from_env_and_args(env: &HashMap<String, String>, args: &[String]) -> Result<CryptoConfig, ConfigError> {
        let s = Settings(env);
        let backend = match s.get("CRYPTO_BACKEND").map(str::to_ascii_lowercase).as_deref() {
            None | Some("sim") => Backend::Sim,
            Some("exchange") => Backend::Exchange,
            Some(v) => return Err(bad("CRYPTO_BACKEND", format!("'{v}' is not sim or exchange"))),
        };
        let policy = Policy::from_env(env, CRYPTO_KEYS)?;
        let quote = s.get("CRYPTO_QUOTE_CCY").unwrap_or("USDT").to_ascii_uppercase();
        if quote.is_empty() || quote.len() > 10 || !quote.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad("CRYPTO_QUOTE_CCY", format!("'{quote}' is not an asset code like USDT")));
        }
        let exchange = exchange_options(&s, &policy, &quote)?;
        let default_journal = state_dir(env).join(match backend {
            Backend::Sim => "crypto-sim-trades.jsonl".to_string(),
            Backend::Exchange => format!("crypto-{}-trades.jsonl", exchange.id),
        });
        let journal_path = s.get("CRYPTO_TRADE_JOURNAL_PATH").map(PathBuf::from).unwrap_or(default_journal);
        let starting_cash = s.cap("SIM_STARTING_CASH", Some(Decimal::from(100_000)))?.unwrap_or(Decimal::from(100_000));
        let sim = SimConfig {
            seed: s.parse("SIM_SEED", 42u64, "a whole number")?,
            starting_cash,
            prices: sim_prices(&s, &quote)?,
            market_hours: MarketHoursModel::AlwaysOpen,
            account_id: "SIM-SPOT".into(),
            partial_fills: false,
            profile: SimProfile::Spot { quote: quote.clone() },
        };
        let poll_ms: u64 = s.parse("WAIT_POLL_MILLISECONDS", 500, "a whole number of milliseconds")?;
        if poll_ms == 0 {
            return Err(bad("WAIT_POLL_MILLISECONDS", "must be at least 1"));
        }
        let mut warnings = launch::startup_warnings(env, CRYPTO_SERVER_KEYS, WATCHED_PREFIXES, &policy);
        if backend == Backend::Exchange && (exchange.api_key.is_empty() || exchange.secret.is_empty()) {
            warnings.push(
                "CRYPTO_API_KEY / CRYPTO_API_SECRET are not set: quotes work, balances and orders will fail".into(),
            );
        }
        let equity_history = launch::equity_history(
            &s,
            "CRYPTO_EQUITY_HISTORY_PATH",
            &match backend {
                Backend::Sim => "crypto-sim-equity.sqlite".to_string(),
                Backend::Exchange => format!("crypto-{}-equity.sqlite", exchange.id),
            },
        )?;
        Ok(CryptoConfig {
            transport: transport(&s, args, "crypto-mcp")?,
            backend,
            read_only: s.bool("READ_ONLY", false)?,
            policy,
            exchange,
            sim,
            journal_path,
            poll_interval: Duration::from_millis(poll_ms),
            equity_history,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use trading_core::config::SHARED_KEYS;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_the_safe_simulator() {
        let c = CryptoConfig::from_env(&env(&[("HOME", "/h")])).unwrap();
        assert_eq!(c.backend, Backend::Sim);
        assert!(c.policy.dry_run && !c.policy.allow_live);
        assert!(c.exchange.sandbox, "sandbox unless CRYPTO_TRADING_MODE=live");
        assert_eq!(c.exchange.quote, "USDT");
        assert_eq!(c.sim.prices.get("BTC/USDT"), Some(&Decimal::from(65_000)));
        assert_eq!(c.journal_path, PathBuf::from("/h/.local/state/tradegate/crypto-sim-trades.jsonl"));
    }

    #[test]
    fn arms_are_the_crypto_ones() {
        let c = CryptoConfig::from_env(&env(&[("TRADING_ALLOW_LIVE", "true"), ("TRADING_DRY_RUN", "false")])).unwrap();
        assert!(!c.policy.allow_live && c.policy.dry_run, "arming IBKR never arms crypto");
        let c =
            CryptoConfig::from_env(&env(&[("CRYPTO_ALLOW_LIVE", "true"), ("CRYPTO_TRADING_MODE", "live")])).unwrap();
        assert!(c.policy.allow_live && !c.exchange.sandbox);
        let e = CryptoConfig::from_env(&env(&[("CRYPTO_TRADING_MODE", "paper")])).unwrap_err();
        assert_eq!(e.key, "CRYPTO_TRADING_MODE");
        assert!(e.message.contains("sandbox or live"), "{e}");
    }

    #[test]
    fn bad_settings_name_their_key_and_never_echo_secrets() {
        let e = CryptoConfig::from_env(&env(&[("CRYPTO_EXCHANGE", "kraken")])).unwrap_err();
        assert_eq!(e.key, "CRYPTO_EXCHANGE");
        assert!(e.message.contains("binance"), "{e}");
        let e = CryptoConfig::from_env(&env(&[("CRYPTO_API_BASE_URL", "ftp://x")])).unwrap_err();
        assert_eq!(e.key, "CRYPTO_API_BASE_URL");
        let e = CryptoConfig::from_env(&env(&[("CRYPTO_SIM_PRICES", "BTC:-1")])).unwrap_err();
        assert_eq!(e.key, "CRYPTO_SIM_PRICES");
        let c =
            CryptoConfig::from_env(&env(&[("CRYPTO_API_SECRET", "s3cr3t-value"), ("CRYPTO_API_KEY", "k3y")])).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cr3t-value") && !dbg.contains("k3y"), "secrets leak into Debug output");
    }

    #[test]
    fn a_local_base_url_turns_the_rate_limiter_off_only_there() {
        let c = CryptoConfig::from_env(&env(&[("CRYPTO_API_BASE_URL", "http://127.0.0.1:9/")])).unwrap();
        assert_eq!(c.exchange.base_url.as_deref(), Some("http://127.0.0.1:9"));
        assert!(!c.exchange.rate_limit);
        let c = CryptoConfig::from_env(&env(&[("CRYPTO_API_BASE_URL", "https://testnet.binance.vision")])).unwrap();
        assert!(c.exchange.rate_limit);
    }

    #[test]
    fn every_setting_is_documented_in_env_example() {
        let example = include_str!("../../../.env.example");
        let documented = trading_core::config::documented_keys(example);
        for key in CRYPTO_SERVER_KEYS.iter().chain(SHARED_KEYS) {
            assert!(documented.contains(key), "{key} is read by crypto-mcp but missing from .env.example");
        }
        for key in documented.iter().filter(|k| k.starts_with("CRYPTO_")) {
            assert!(CRYPTO_SERVER_KEYS.contains(key), "{key} is in .env.example but crypto-mcp does not read it");
        }
    }

    #[test]
    fn lists_are_per_venue() {
        let c =
            CryptoConfig::from_env(&env(&[("SYMBOL_ALLOWLIST", "AAPL"), ("CRYPTO_SYMBOL_DENYLIST", "btc")])).unwrap();
        assert!(c.policy.allowlist.is_empty(), "the IBKR allowlist does not apply to crypto (W-7)");
        assert!(c.policy.denylist.contains("BTC"));
    }
}
