//! ibkr-mcp's settings: its own block of `.env.example` (backend, journal, simulator), the
//! IBKR venue's block, and the blocks every server shares, read once into [`ServerConfig`].

use std::{collections::HashMap, path::PathBuf};

use ibkr_venue::settings::{GatewayOptions, IBKR_KEYS};
use rust_decimal::Decimal;
use sim_venue::SimConfig;
use trading_core::{
    account::MarketHoursModel,
    config::{ConfigError, Section, Setting, Settings},
};
use trading_mcp::{
    manifest::Listing,
    settings::{Common, SHARED_SECTIONS, ServerSpec},
};

/// The server's own settings.
pub const SECTION: Section = Section {
    title: "ibkr-mcp: backend, journal and simulator",
    settings: &[
        Setting::new(
            "IBKR_BACKEND",
            "sim",
            "sim (offline simulator, the default) or gateway (the IBKR Client Portal Gateway).",
        )
        .one_of(&["sim", "gateway"]),
        Setting::new(
            "TRADE_JOURNAL_PATH",
            "",
            "The JSONL trade journal. Default: $XDG_STATE_HOME/tradegate/ibkr-sim-trades.jsonl (sim) or
.../ibkr-trades.jsonl (gateway), with ~/.local/state when XDG_STATE_HOME is unset.",
        )
        .path(),
        Setting::new(
            "EQUITY_HISTORY_PATH",
            "",
            "Equity history for drawdown_tracker (SQLite). Default: next to the journal's default,
ibkr-sim-equity.sqlite or ibkr-equity.sqlite in $XDG_STATE_HOME/tradegate.",
        )
        .path(),
        Setting::new(
            "SIM_SYMBOLS",
            "",
            "Simulator: extra symbols and their starting prices, SYMBOL:PRICE, comma-separated. A symbol
outside the simulator's universe and this list is NOT_FOUND.",
        ),
        Setting::new(
            "SIM_MARKET_HOURS",
            "always",
            "Simulator: always (fills at any hour, the default) or nyse (market orders wait for NYSE hours).",
        )
        .one_of(&["always", "nyse"]),
    ],
};

/// Everything ibkr-mcp reads, in `.env.example` order.
pub const SECTIONS: [&Section; 8] = [
    &SECTION,
    &ibkr_venue::settings::SECTION,
    SHARED_SECTIONS[0],
    SHARED_SECTIONS[1],
    SHARED_SECTIONS[2],
    SHARED_SECTIONS[3],
    SHARED_SECTIONS[4],
    SHARED_SECTIONS[5],
];

pub static SPEC: ServerSpec = ServerSpec {
    name: "ibkr-mcp",
    sections: &SECTIONS,
    watched_prefixes: &[
        "TRADING_",
        "MAX_",
        "SYMBOL_",
        "IBKR_",
        "APPROVAL_",
        "DUPLICATE_",
        "MARKET_",
        "SIM_",
        "ORDER_",
        "CONFIRMATION_",
        "CLOSE_",
        "ENFORCE_",
        "TOOLSETS",
    ],
    policy_keys: IBKR_KEYS,
    journal_key: "TRADE_JOURNAL_PATH",
    equity_key: "EQUITY_HISTORY_PATH",
    listing: Listing {
        registry_id: "tradegate-ibkr",
        title: "tradegate (Interactive Brokers)",
        description: "Guarded Interactive Brokers trading: quotes, portfolio, risk, research, preview, approve, order",
        long_description: "An MCP server that lets an AI agent read and trade an Interactive Brokers account \
(through IBKR's Client Portal Gateway) behind guards it cannot talk its way around: every order is previewed, \
confirmed with a single-use token, checked against your caps, journaled before it leaves, and (on a live account) \
approved by you, not the agent. It starts on an offline simulator in dry-run mode; set the backend to gateway to \
use your account.",
        keywords: &["trading", "interactive-brokers", "ibkr", "stocks", "options", "portfolio", "guardrails"],
        user_config: &[
            ("IBKR_BACKEND", "Backend"),
            ("IBKR_API_BASE_URL", "Gateway URL"),
            ("IBKR_GATEWAY_CERT_SHA256", "Gateway certificate SHA-256"),
            ("IBKR_ACCOUNT_ID", "Account"),
            ("IBKR_TRADING_MODE", "Trading mode"),
        ],
    },
};

/// Which venue backend serves the tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sim,
    Gateway,
}

/// Everything the binaries need, validated.
#[derive(Debug)]
pub struct ServerConfig {
    pub backend: Backend,
    pub common: Common,
    pub sim: SimConfig,
    pub gateway: GatewayOptions,
}

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::new(key, message)
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
        let common = match backend {
            Backend::Sim => Common::from_env(env, args, &SPEC, "ibkr-sim", 100)?,
            Backend::Gateway => Common::from_env(env, args, &SPEC, "ibkr", 2000)?,
        };
        let market_hours = match s.get("SIM_MARKET_HOURS").map(str::to_ascii_lowercase).as_deref() {
            None | Some("always") => MarketHoursModel::AlwaysOpen,
            Some("nyse") => MarketHoursModel::Nyse,
            Some(v) => return Err(bad("SIM_MARKET_HOURS", format!("'{v}' is not always or nyse"))),
        };
        let sim = SimConfig {
            seed: common.sim_seed,
            starting_cash: common.sim_starting_cash,
            prices: sim_prices(&s)?,
            market_hours,
            live: common.sim_live,
            // IBKR's paper accounts start with DU, live ones with U.
            account_id: if common.sim_live { "USIM0001".into() } else { SimConfig::default().account_id },
            ..SimConfig::default()
        };
        let gateway = GatewayOptions::from_env(&s, common.policy.expected_account.clone())?;
        Ok(ServerConfig { backend, common, sim, gateway })
    }

    /// The journal the server opens.
    pub fn journal_path(env: &HashMap<String, String>) -> Result<PathBuf, ConfigError> {
        Self::from_env(env).map(|c| c.common.journal_path)
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
