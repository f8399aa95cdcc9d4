//! crypto-mcp's settings: its own block of `.env.example` (backend, journal, simulator), the
//! crypto venue's block, and the blocks every server shares, read once into [`CryptoConfig`].

use std::{collections::HashMap, path::PathBuf};

use crypto_venue::settings::{CRYPTO_KEYS, ExchangeOptions};
use rust_decimal::Decimal;
use sim_venue::{SimConfig, SimProfile};
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
    title: "crypto-mcp: backend, journal and simulator",
    settings: &[
        Setting::new(
            "CRYPTO_BACKEND",
            "sim",
            "sim (offline spot simulator, the default) or exchange (a real exchange through ccxt).",
        )
        .one_of(&["sim", "exchange"]),
        Setting::new(
            "CRYPTO_TRADE_JOURNAL_PATH",
            "",
            "The crypto journal (its trading day is UTC). Default: $XDG_STATE_HOME/tradegate/
crypto-sim-trades.jsonl (sim) or crypto-<exchange>-trades.jsonl, e.g. crypto-kraken-trades.jsonl.",
        )
        .path(),
        Setting::new(
            "CRYPTO_EQUITY_HISTORY_PATH",
            "",
            "Equity history of crypto-mcp for drawdown_tracker. Default: crypto-sim-equity.sqlite or
crypto-<exchange>-equity.sqlite in $XDG_STATE_HOME/tradegate.",
        )
        .path(),
        Setting::new(
            "CRYPTO_SIM_PRICES",
            "",
            "Simulator starting prices BASE:PRICE (in the quote currency), on top of BTC, ETH, SOL, XRP, DOGE.",
        ),
    ],
};

/// Everything crypto-mcp reads, in `.env.example` order.
pub const SECTIONS: [&Section; 8] = [
    SHARED_SECTIONS[0],
    SHARED_SECTIONS[1],
    &SECTION,
    &crypto_venue::settings::SECTION,
    SHARED_SECTIONS[2],
    SHARED_SECTIONS[3],
    SHARED_SECTIONS[4],
    SHARED_SECTIONS[5],
];

/// The crypto server warns only about its own prefix (the IBKR keys may share the .env).
pub static SPEC: ServerSpec = ServerSpec {
    name: "crypto-mcp",
    sections: &SECTIONS,
    watched_prefixes: &["CRYPTO_"],
    policy_keys: CRYPTO_KEYS,
    journal_key: "CRYPTO_TRADE_JOURNAL_PATH",
    equity_key: "CRYPTO_EQUITY_HISTORY_PATH",
    listing: Listing {
        registry_id: "tradegate-crypto",
        title: "tradegate (crypto)",
        description: "Guarded spot crypto trading (Binance, Coinbase, Kraken, OKX, Bybit): preview, approve, order",
        long_description: "An MCP server that lets an AI agent read and trade a spot crypto account behind guards it \
cannot talk its way around: every order is previewed, confirmed with a single-use token, checked against your caps, \
journaled before it leaves, and (on live keys) approved by you, not the agent. It starts on an offline simulator in \
dry-run mode; set the exchange, the keys and the mode to trade.",
        keywords: &["trading", "crypto", "ccxt", "binance", "kraken", "coinbase", "guardrails"],
        user_config: &[
            ("CRYPTO_BACKEND", "Backend"),
            ("CRYPTO_EXCHANGE", "Exchange"),
            ("CRYPTO_API_KEY", "API key"),
            ("CRYPTO_API_SECRET", "API secret"),
            ("CRYPTO_API_PASSWORD", "API passphrase"),
            ("CRYPTO_TRADING_MODE", "Trading mode"),
            ("CRYPTO_ACCOUNT_ID", "Account"),
        ],
    },
};

/// Starting prices of the simulator's pairs, in the quote currency.
pub const SIM_PAIRS: &[(&str, i64)] = &[("BTC", 65_000), ("ETH", 3_200), ("SOL", 150), ("XRP", 1), ("DOGE", 0)];

/// Which venue backend serves the tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sim,
    Exchange,
}

/// Everything the binaries need, validated.
#[derive(Debug)]
pub struct CryptoConfig {
    pub backend: Backend,
    pub common: Common,
    pub exchange: ExchangeOptions,
    pub sim: SimConfig,
}

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::new(key, message)
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
        let facts = match backend {
            Backend::Sim => None,
            Backend::Exchange => Some(crypto_venue::settings::exchange_facts(&s)?),
        };
        // The exchange's own quote currency unless set; the simulator's is USDT.
        let default_quote = facts.map_or("USDT", |f| f.default_quote);
        let quote = s.get("CRYPTO_QUOTE_CCY").unwrap_or(default_quote).to_ascii_uppercase();
        if quote.is_empty() || quote.len() > 10 || !quote.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad("CRYPTO_QUOTE_CCY", format!("'{quote}' is not an asset code like USDT")));
        }
        // The default files are named after the exchange (crypto-kraken-trades.jsonl).
        let state_name = facts.map_or_else(|| "crypto-sim".to_string(), |f| format!("crypto-{}", f.id));
        let mut common = Common::from_env(env, args, &SPEC, &state_name, 500)?;
        let exchange = ExchangeOptions::from_env(&s, &common.policy, &quote)?;
        if backend == Backend::Exchange && (exchange.api_key.is_empty() || exchange.secret.is_empty()) {
            common.warnings.push(
                "CRYPTO_API_KEY / CRYPTO_API_SECRET are not set: quotes work, balances and orders will fail".into(),
            );
        }
        let sim = SimConfig {
            seed: common.sim_seed,
            starting_cash: common.sim_starting_cash,
            prices: sim_prices(&s, &quote)?,
            market_hours: MarketHoursModel::AlwaysOpen,
            account_id: "SIM-SPOT".into(),
            partial_fills: false,
            profile: SimProfile::Spot { quote },
            live: common.sim_live,
        };
        Ok(CryptoConfig { backend, common, exchange, sim })
    }

    /// The journal the server opens.
    pub fn journal_path(env: &HashMap<String, String>) -> Result<PathBuf, ConfigError> {
        Self::from_env(env).map(|c| c.common.journal_path)
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
