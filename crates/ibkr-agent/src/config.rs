//! The ibkr-mcp server's settings: the guard policy plus backend, journal and simulator keys.

use std::{collections::HashMap, path::PathBuf, time::Duration};

use crate::{
    cpapi::{TlsMode, http::normalize_fingerprint},
    gateway::{DEFAULT_CONFIRM_ALLOWLIST, GatewaySettings},
    session::WebhookFormat,
};
use rust_decimal::Decimal;
use sim_venue::SimConfig;
use trading_core::{
    account::MarketHoursModel,
    config::{ConfigError, IBKR_KEYS, Policy, Settings},
};

/// Every key this server reads (typos of them are warned about at start).
pub const IBKR_SERVER_KEYS: &[&str] = &[
    "IBKR_BACKEND",
    "IBKR_API_BASE_URL",
    "IBKR_ACCOUNT_ID",
    "IBKR_TRADING_MODE",
    "TRADING_ALLOW_LIVE",
    "TRADING_DRY_RUN",
    "TRADING_ALLOW_SHORT",
    "SYMBOL_ALLOWLIST",
    "SYMBOL_DENYLIST",
    "TRADE_JOURNAL_PATH",
    "SIM_SEED",
    "SIM_STARTING_CASH",
    "SIM_SYMBOLS",
    "SIM_MARKET_HOURS",
    "IBKR_GATEWAY_CERT_SHA256",
    "IBKR_CONFIRM_ALLOWLIST",
    "REQUEST_TIMEOUT_SECONDS",
    "TICKLE_INTERVAL_SECONDS",
    "REAUTH_WEBHOOK_URL",
    "REAUTH_WEBHOOK_FORMAT",
    "REAUTH_REALERT_CYCLES",
    "EQUITY_HISTORY_PATH",
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
    "EQUITY_SAMPLE_SECONDS",
    "WAIT_POLL_MILLISECONDS",
    "LOG_LEVEL",
];

/// Prefixes whose unknown keys are probably typos of ours.
pub const WATCHED_PREFIXES: &[&str] = &[
    "TRADING_",
    "MAX_",
    "SYMBOL_",
    "IBKR_",
    "DUPLICATE_",
    "MARKET_",
    "SIM_",
    "ORDER_",
    "CONFIRMATION_",
    "CLOSE_",
    "ENFORCE_",
];

/// Which venue backend serves the tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sim,
    Gateway,
}

/// How to reach and keep the Client Portal Gateway.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    pub base_url: String,
    pub tls: TlsMode,
    pub timeout: Duration,
    pub tickle_interval: Duration,
    /// Where to send re-login alerts (the URL may hold a token: never log it).
    pub webhook: Option<(String, WebhookFormat)>,
    pub realert_cycles: u32,
    pub settings: GatewaySettings,
}

/// Everything the binary needs, validated.
#[derive(Debug)]
pub struct ServerConfig {
    pub backend: Backend,
    pub policy: Policy,
    pub journal_path: PathBuf,
    pub read_only: bool,
    pub sim: SimConfig,
    pub poll_interval: Duration,
    pub gateway: GatewayOptions,
    /// Equity history for drawdown_tracker; none when sampling is off.
    pub equity_history: Option<(PathBuf, Duration)>,
    pub transport: trading_mcp::launch::Transport,
    pub warnings: Vec<String>,
}

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { key: key.into(), message: message.into() }
}

fn sim_prices(s: &Settings<'_>) -> Result<HashMap<String, Decimal>, ConfigError> {
    s.list("SIM_SYMBOLS")
        .into_iter()
        .filter_map(|item| {
            let (sym, px) = item.split_once(':')?;
            Some(match px.trim().parse::<Decimal>() {
                Ok(p) if p > Decimal::ZERO => Ok((sym.trim().to_string(), p)),
                _ => Err(bad("SIM_SYMBOLS", format!("'{item}' is not SYMBOL:PRICE with a positive price"))),
            })
        })
        .collect()
}

fn gateway_options(s: &Settings<'_>, account_id: Option<String>) -> Result<GatewayOptions, ConfigError> {
    let base_url = s.get("IBKR_API_BASE_URL").unwrap_or("https://localhost:5000/v1/api").to_string();
    crate::cpapi::http::loopback_base(&base_url).map_err(|e| bad("IBKR_API_BASE_URL", e.to_string()))?;
    let tls = match s.get("IBKR_GATEWAY_CERT_SHA256") {
        None => TlsMode::InsecureLoopback,
        Some(raw) => TlsMode::Pinned(normalize_fingerprint(raw).ok_or_else(|| {
            bad("IBKR_GATEWAY_CERT_SHA256", "not a SHA-256 fingerprint (64 hex digits, colons allowed)")
        })?),
    };
    let timeout: u64 = s.parse("REQUEST_TIMEOUT_SECONDS", 15, "a whole number of seconds")?;
    let tickle: u64 = s.parse("TICKLE_INTERVAL_SECONDS", 60, "a whole number of seconds")?;
    if !(1..=300).contains(&timeout) {
        return Err(bad("REQUEST_TIMEOUT_SECONDS", "must be between 1 and 300"));
    }
    if !(5..=290).contains(&tickle) {
        return Err(bad(
            "TICKLE_INTERVAL_SECONDS",
            "must be between 5 and 290 (the gateway drops an idle session after about 5 minutes)",
        ));
    }
    let format: WebhookFormat =
        s.parse("REAUTH_WEBHOOK_FORMAT", WebhookFormat::Slack, "slack, discord, ntfy or json")?;
    let webhook = match s.get("REAUTH_WEBHOOK_URL") {
        None => None,
        // The URL is a secret (it often embeds a token): errors never echo it.
        Some(u) => match url::Url::parse(u) {
            Ok(url) if matches!(url.scheme(), "https" | "http") => Some((u.to_string(), format)),
            _ => return Err(bad("REAUTH_WEBHOOK_URL", "is not an http(s) URL")),
        },
    };
    let realert_cycles: u32 = s.parse("REAUTH_REALERT_CYCLES", 10, "a whole number")?;
    let confirm_allowlist = match s.get("IBKR_CONFIRM_ALLOWLIST") {
        None => DEFAULT_CONFIRM_ALLOWLIST.iter().map(|x| x.to_string()).collect(),
        Some(_) => s.list("IBKR_CONFIRM_ALLOWLIST").into_iter().map(|x| x.to_ascii_lowercase()).collect(),
    };
    Ok(GatewayOptions {
        base_url,
        tls,
        timeout: Duration::from_secs(timeout),
        tickle_interval: Duration::from_secs(tickle),
        webhook,
        realert_cycles: realert_cycles.max(1),
        settings: GatewaySettings { account_id, confirm_allowlist, ..GatewaySettings::default() },
    })
}

impl ServerConfig {
    pub fn from_env(env: &HashMap<String, String>) -> Result<ServerConfig, ConfigError> {
        Self::from_env_and_args(env, &[])
    }

    /// Settings from the environment, with `--transport` and `--bind` from `args`.
    pub fn from_env_and_args(env: &HashMap<String, String>, args: &[String]) -> Result<ServerConfig, ConfigError> {
        let s = Settings(env);
        let backend = match s.get("IBKR_BACKEND").map(str::to_ascii_lowercase).as_deref() {
            None | Some("sim") => Backend::Sim,
            Some("gateway") => Backend::Gateway,
            Some(v) => return Err(bad("IBKR_BACKEND", format!("'{v}' is not sim or gateway"))),
        };
        let policy = Policy::from_env(env, IBKR_KEYS)?;
        let default_journal = trading_mcp::launch::state_dir(env).join(match backend {
            Backend::Sim => "ibkr-sim-trades.jsonl",
            Backend::Gateway => "ibkr-trades.jsonl",
        });
        let journal_path = s.get("TRADE_JOURNAL_PATH").map(PathBuf::from).unwrap_or(default_journal);
        let market_hours = match s.get("SIM_MARKET_HOURS").map(str::to_ascii_lowercase).as_deref() {
            None | Some("always") => MarketHoursModel::AlwaysOpen,
            Some("nyse") => MarketHoursModel::Nyse,
            Some(v) => return Err(bad("SIM_MARKET_HOURS", format!("'{v}' is not always or nyse"))),
        };
        let starting_cash = s.cap("SIM_STARTING_CASH", Some(Decimal::from(100_000)))?.unwrap_or(Decimal::from(100_000));
        let sim = SimConfig {
            seed: s.parse("SIM_SEED", 42u64, "a whole number")?,
            starting_cash,
            prices: sim_prices(&s)?,
            market_hours,
            ..SimConfig::default()
        };
        let poll_ms: u64 = s.parse(
            "WAIT_POLL_MILLISECONDS",
            if backend == Backend::Sim { 100 } else { 2000 },
            "a whole number of milliseconds",
        )?;
        if poll_ms == 0 {
            return Err(bad("WAIT_POLL_MILLISECONDS", "must be at least 1"));
        }
        let warnings = trading_mcp::launch::startup_warnings(env, IBKR_SERVER_KEYS, WATCHED_PREFIXES, &policy);
        let gateway = gateway_options(&s, policy.expected_account.clone())?;
        let equity_history = trading_mcp::launch::equity_history(
            &s,
            "EQUITY_HISTORY_PATH",
            match backend {
                Backend::Sim => "ibkr-sim-equity.sqlite",
                Backend::Gateway => "ibkr-equity.sqlite",
            },
        )?;
        let transport = trading_mcp::launch::transport(&s, args, "ibkr-mcp")?;
        Ok(ServerConfig {
            transport,
            gateway,
            equity_history,
            backend,
            read_only: s.bool("READ_ONLY", false)?,
            policy,
            journal_path,
            sim,
            poll_interval: Duration::from_millis(poll_ms),
            warnings,
        })
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
