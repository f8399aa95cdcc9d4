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
use trading_mcp::settings::{Common, SHARED_SECTIONS, ServerSpec};

/// The server's own settings.
pub const SECTION: Section = Section {
    title: "crypto-mcp: backend, journal and simulator",
    settings: &[
        Setting::new(
            "CRYPTO_BACKEND",
            "sim",
            "sim (offline spot simulator, the default) or exchange (a real exchange through ccxt).",
        ),
        Setting::new(
            "CRYPTO_TRADE_JOURNAL_PATH",
            "",
            "The crypto journal (its trading day is UTC). Default: $XDG_STATE_HOME/tradegate/
crypto-sim-trades.jsonl (sim) or crypto-binance-trades.jsonl (exchange).",
        ),
        Setting::new(
            "CRYPTO_EQUITY_HISTORY_PATH",
            "",
            "Equity history of crypto-mcp for drawdown_tracker. Default: crypto-sim-equity.sqlite or
crypto-binance-equity.sqlite in $XDG_STATE_HOME/tradegate.",
        ),
        Setting::new(
            "CRYPTO_SIM_PRICES",
            "",
            "Simulator starting prices BASE:PRICE (in the quote currency), on top of BTC, ETH, SOL, XRP, DOGE.",
        ),
    ],
};

/// Everything crypto-mcp reads, in `.env.example` order.
pub const SECTIONS: [&Section; 7] = [
    SHARED_SECTIONS[0],
    SHARED_SECTIONS[1],
    &SECTION,
    &crypto_venue::settings::SECTION,
    SHARED_SECTIONS[2],
    SHARED_SECTIONS[3],
    SHARED_SECTIONS[4],
];

/// The crypto server warns only about its own prefix (the IBKR keys may share the .env).
pub static SPEC: ServerSpec = ServerSpec {
    name: "crypto-mcp",
    sections: &SECTIONS,
    watched_prefixes: &["CRYPTO_"],
    policy_keys: CRYPTO_KEYS,
    journal_key: "CRYPTO_TRADE_JOURNAL_PATH",
    equity_key: "CRYPTO_EQUITY_HISTORY_PATH",
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
        let quote = s.get("CRYPTO_QUOTE_CCY").unwrap_or("USDT").to_ascii_uppercase();
        if quote.is_empty() || quote.len() > 10 || !quote.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad("CRYPTO_QUOTE_CCY", format!("'{quote}' is not an asset code like USDT")));
        }
        let policy = trading_core::config::Policy::from_env(env, CRYPTO_KEYS)?;
        let exchange = ExchangeOptions::from_env(&s, &policy, &quote)?;
        let mut common = match backend {
            Backend::Sim => Common::from_env(env, args, &SPEC, "crypto-sim", 500)?,
            Backend::Exchange => Common::from_env(env, args, &SPEC, &format!("crypto-{}", exchange.id), 500)?,
        };
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
        };
        Ok(CryptoConfig { backend, common, exchange, sim })
    }

    /// The journal the server opens.
    pub fn journal_path(env: &HashMap<String, String>) -> Result<PathBuf, ConfigError> {
        Self::from_env(env).map(|c| c.common.journal_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_the_safe_simulator() {
        let c = CryptoConfig::from_env(&env(&[("HOME", "/h")])).unwrap();
        assert_eq!(c.backend, Backend::Sim);
        assert!(c.common.policy.dry_run && !c.common.policy.allow_live);
        assert!(c.exchange.sandbox, "sandbox unless CRYPTO_TRADING_MODE=live");
        assert_eq!(c.exchange.quote, "USDT");
        assert_eq!(c.sim.prices.get("BTC/USDT"), Some(&Decimal::from(65_000)));
        assert_eq!(c.common.journal_path, PathBuf::from("/h/.local/state/tradegate/crypto-sim-trades.jsonl"));
    }

    #[test]
    fn arms_are_the_crypto_ones() {
        let c = CryptoConfig::from_env(&env(&[("TRADING_ALLOW_LIVE", "true"), ("TRADING_DRY_RUN", "false")])).unwrap();
        assert!(!c.common.policy.allow_live && c.common.policy.dry_run, "arming IBKR never arms crypto");
        let c =
            CryptoConfig::from_env(&env(&[("CRYPTO_ALLOW_LIVE", "true"), ("CRYPTO_TRADING_MODE", "live")])).unwrap();
        assert!(c.common.policy.allow_live && !c.exchange.sandbox);
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
    fn env_example_is_the_settings_table() {
        let example = include_str!("../../../.env.example");
        trading_mcp::settings::check_env_example(example, &SPEC).unwrap();
    }

    #[test]
    fn lists_are_per_venue() {
        let c =
            CryptoConfig::from_env(&env(&[("SYMBOL_ALLOWLIST", "AAPL"), ("CRYPTO_SYMBOL_DENYLIST", "btc")])).unwrap();
        assert!(c.common.policy.allowlist.is_empty(), "the IBKR allowlist does not apply to crypto (W-7)");
        assert!(c.common.policy.denylist.contains("BTC"));
    }
}
