//! The ibkr-mcp server's settings: the guard policy plus backend, journal and simulator keys.

use std::{collections::HashMap, path::PathBuf, time::Duration};

use rust_decimal::Decimal;
use sim_venue::SimConfig;
use trading_core::{
    account::MarketHoursModel,
    config::{ConfigError, IBKR_KEYS, Policy, SHARED_KEYS, Settings, unknown_keys},
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

/// Everything the binary needs, validated.
#[derive(Debug)]
pub struct ServerConfig {
    pub backend: Backend,
    pub policy: Policy,
    pub journal_path: PathBuf,
    pub read_only: bool,
    pub sim: SimConfig,
    pub poll_interval: Duration,
    pub warnings: Vec<String>,
}

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { key: key.into(), message: message.into() }
}

/// `$XDG_STATE_HOME/tradegate` or `~/.local/state/tradegate`: a stable place whatever the
/// working directory an MCP client starts us in.
fn state_dir(env: &HashMap<String, String>) -> PathBuf {
    let s = Settings(env);
    if let Some(x) = s.get("XDG_STATE_HOME") {
        return PathBuf::from(x).join("tradegate");
    }
    match s.get("HOME") {
        Some(h) => PathBuf::from(h).join(".local/state/tradegate"),
        None => PathBuf::from("logs"),
    }
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

impl ServerConfig {
    pub fn from_env(env: &HashMap<String, String>) -> Result<ServerConfig, ConfigError> {
        let s = Settings(env);
        let backend = match s.get("IBKR_BACKEND").map(str::to_ascii_lowercase).as_deref() {
            None | Some("sim") => Backend::Sim,
            Some("gateway") => Backend::Gateway,
            Some(v) => return Err(bad("IBKR_BACKEND", format!("'{v}' is not sim or gateway"))),
        };
        let policy = Policy::from_env(env, IBKR_KEYS)?;
        let default_journal = state_dir(env).join(match backend {
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
        let mut known: Vec<&str> = IBKR_SERVER_KEYS.to_vec();
        known.extend_from_slice(SHARED_KEYS);
        let mut warnings: Vec<String> = unknown_keys(env, &known, WATCHED_PREFIXES)
            .into_iter()
            .map(|k| format!("unknown setting {k} ignored (a typo? every setting is listed in .env.example)"))
            .collect();
        warnings.extend(policy.warnings());
        Ok(ServerConfig {
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
