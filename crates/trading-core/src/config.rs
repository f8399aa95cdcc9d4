//! Policy configuration: the guard settings, read from an environment map and validated.
//!
//! Parsing takes a map rather than reading the process environment, so it is pure and
//! testable; binaries pass `std::env::vars()`. A bad value is an error naming the key.

use std::{
    collections::{BTreeSet, HashMap},
    path::PathBuf,
    str::FromStr,
};

use chrono::NaiveDate;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::calendar::NyseCalendar;

/// A setting that could not be used, naming the key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("setting {key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { key: key.to_string(), message: message.into() }
}

/// The names of a venue's own settings, so refusals name the key the user must change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyKeys {
    /// Short venue name used in messages ("IBKR").
    pub venue: &'static str,
    /// The server binary, for commands a message names ("ibkr-mcp journal acknowledge").
    pub server: &'static str,
    pub allow_live: &'static str,
    pub dry_run: &'static str,
    pub trading_mode: &'static str,
    /// The value of `trading_mode` that means paper money ("paper"; "sandbox" on crypto).
    pub paper_label: &'static str,
    pub account_id: &'static str,
    pub allow_short: &'static str,
    pub allowlist: &'static str,
    pub denylist: &'static str,
    /// The journal's day boundary (spend caps reset at midnight here).
    pub journal_tz: Tz,
}

/// The IBKR server's keys, named as the reference names them.
pub const IBKR_KEYS: PolicyKeys = PolicyKeys {
    venue: "IBKR",
    server: "ibkr-mcp",
    allow_live: "TRADING_ALLOW_LIVE",
    dry_run: "TRADING_DRY_RUN",
    trading_mode: "IBKR_TRADING_MODE",
    paper_label: "paper",
    account_id: "IBKR_ACCOUNT_ID",
    allow_short: "TRADING_ALLOW_SHORT",
    allowlist: "SYMBOL_ALLOWLIST",
    denylist: "SYMBOL_DENYLIST",
    journal_tz: chrono_tz::America::New_York,
};

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
    allow_short: "CRYPTO_ALLOW_SHORT",
    allowlist: "CRYPTO_SYMBOL_ALLOWLIST",
    denylist: "CRYPTO_SYMBOL_DENYLIST",
    journal_tz: chrono_tz::UTC,
};

/// Settings every venue shares (their names never change per venue).
pub const SHARED_KEYS: &[&str] = &[
    "MAX_ORDER_VALUE",
    "MAX_ORDER_QUANTITY",
    "MAX_POSITION_VALUE",
    "MAX_DAILY_VALUE",
    "MAX_DAILY_ORDERS",
    "DUPLICATE_WINDOW_SECONDS",
    "TRADING_HALTED",
    "TRADING_HALT_FILE",
    "ENFORCE_MARKET_HOURS",
    "MARKET_EXTRA_CLOSURES",
    "MARKET_EXTRA_EARLY_CLOSES",
    "ORDER_CONFIRMATION",
    "CONFIRMATION_TTL_SECONDS",
    "CLOSE_COOLDOWN_SECONDS",
    "READ_ONLY",
];

/// What the configuration says the account is. Only a label: the venue decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TradingMode {
    Paper,
    Live,
}

impl TradingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TradingMode::Paper => "paper",
            TradingMode::Live => "live",
        }
    }
}

/// Whether orders need a token from `preview_order`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfirmationMode {
    Required,
    Off,
}

/// Every guard setting, validated.
#[derive(Clone, Debug)]
pub struct Policy {
    pub keys: PolicyKeys,
    pub expected_account: Option<String>,
    pub mode: TradingMode,
    pub allow_live: bool,
    pub dry_run: bool,
    pub allow_short: bool,
    pub halted: bool,
    pub halt_file: Option<PathBuf>,
    pub allowlist: BTreeSet<String>,
    pub denylist: BTreeSet<String>,
    pub enforce_market_hours: bool,
    pub calendar: NyseCalendar,
    pub max_order_value: Option<Decimal>,
    pub max_order_quantity: Option<Decimal>,
    pub max_position_value: Option<Decimal>,
    pub max_daily_value: Option<Decimal>,
    pub max_daily_orders: Option<u32>,
    pub duplicate_window_secs: u64,
    pub close_cooldown_secs: u64,
    pub confirmation: ConfirmationMode,
    pub confirmation_ttl_secs: u64,
}

/// Read access to an environment map with typed, key-naming parsers.
#[derive(Clone, Copy, Debug)]
pub struct Settings<'a>(pub &'a HashMap<String, String>);

impl Settings<'_> {
    /// The trimmed value, or `None` when unset or blank (blank means "the default").
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    pub fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(v) => Err(bad(key, format!("'{v}' is not true or false"))),
        }
    }

    pub fn parse<T: FromStr>(&self, key: &str, default: T, what: &str) -> Result<T, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| bad(key, format!("'{v}' is not {what}"))),
        }
    }

    /// A positive decimal cap: unset or blank gives the default, "off" or "none" no cap.
    pub fn cap(&self, key: &str, default: Option<Decimal>) -> Result<Option<Decimal>, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("off") || v.eq_ignore_ascii_case("none") => Ok(None),
            Some(v) => match Decimal::from_str(v) {
                Ok(d) if d > Decimal::ZERO => Ok(Some(d)),
                _ => Err(bad(key, format!("'{v}' is not a positive number (or 'off')"))),
            },
        }
    }

    /// A comma-separated list, uppercased, blanks dropped.
    pub fn list(&self, key: &str) -> BTreeSet<String> {
        self.get(key)
            .map(|v| v.split(',').map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }

    fn dates(&self, key: &str) -> Result<Vec<NaiveDate>, ConfigError> {
        self.list(key)
            .iter()
            .map(|s| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| bad(key, format!("'{s}' is not a date YYYY-MM-DD")))
            })
            .collect()
    }
}

/// Defaults that are safe: paper, dry-run on, live off, shorting off, caps set.
pub mod defaults {
    use rust_decimal::Decimal;
    pub const MAX_ORDER_VALUE: Decimal = Decimal::from_parts(100, 0, 0, false, 0);
    pub const MAX_ORDER_QUANTITY: Decimal = Decimal::from_parts(1000, 0, 0, false, 0);
    pub const MAX_POSITION_VALUE: Decimal = Decimal::from_parts(1000, 0, 0, false, 0);
    pub const MAX_DAILY_VALUE: Decimal = Decimal::from_parts(500, 0, 0, false, 0);
    pub const MAX_DAILY_ORDERS: u32 = 50;
    pub const DUPLICATE_WINDOW_SECONDS: u64 = 5;
    pub const CLOSE_COOLDOWN_SECONDS: u64 = 45;
    pub const CONFIRMATION_TTL_SECONDS: u64 = 120;
}

impl Policy {
    /// Reads and validates the policy for a venue.
    pub fn from_env(env: &HashMap<String, String>, keys: PolicyKeys) -> Result<Policy, ConfigError> {
        let s = Settings(env);
        let mode = match s.get(keys.trading_mode).map(str::to_ascii_lowercase) {
            None => TradingMode::Paper,
            Some(v) if v == keys.paper_label => TradingMode::Paper,
            Some(v) if v == "live" => TradingMode::Live,
            Some(v) => return Err(bad(keys.trading_mode, format!("'{v}' is not {} or live", keys.paper_label))),
        };
        let confirmation = match s.get("ORDER_CONFIRMATION").map(str::to_ascii_lowercase).as_deref() {
            None | Some("required") => ConfirmationMode::Required,
            Some("off") => ConfirmationMode::Off,
            Some(v) => return Err(bad("ORDER_CONFIRMATION", format!("'{v}' is not required or off"))),
        };
        let ttl =
            s.parse("CONFIRMATION_TTL_SECONDS", defaults::CONFIRMATION_TTL_SECONDS, "a whole number of seconds")?;
        if ttl == 0 || ttl > 3600 {
            return Err(bad("CONFIRMATION_TTL_SECONDS", "must be between 1 and 3600"));
        }
        let max_daily_orders = match s.get("MAX_DAILY_ORDERS") {
            Some(v) if v.eq_ignore_ascii_case("off") || v.eq_ignore_ascii_case("none") => None,
            _ => match s.parse("MAX_DAILY_ORDERS", defaults::MAX_DAILY_ORDERS, "a whole number")? {
                0 => return Err(bad("MAX_DAILY_ORDERS", "must be at least 1 (or 'off')")),
                n => Some(n),
            },
        };
        Ok(Policy {
            expected_account: s.get(keys.account_id).map(str::to_string),
            mode,
            allow_live: s.bool(keys.allow_live, false)?,
            dry_run: s.bool(keys.dry_run, true)?,
            allow_short: s.bool(keys.allow_short, false)?,
            halted: s.bool("TRADING_HALTED", false)?,
            halt_file: s.get("TRADING_HALT_FILE").map(PathBuf::from),
            allowlist: s.list(keys.allowlist),
            denylist: s.list(keys.denylist),
            enforce_market_hours: s.bool("ENFORCE_MARKET_HOURS", true)?,
            calendar: NyseCalendar::with_extras(
                s.dates("MARKET_EXTRA_CLOSURES")?,
                s.dates("MARKET_EXTRA_EARLY_CLOSES")?,
            ),
            max_order_value: s.cap("MAX_ORDER_VALUE", Some(defaults::MAX_ORDER_VALUE))?,
            max_order_quantity: s.cap("MAX_ORDER_QUANTITY", Some(defaults::MAX_ORDER_QUANTITY))?,
            max_position_value: s.cap("MAX_POSITION_VALUE", Some(defaults::MAX_POSITION_VALUE))?,
            max_daily_value: s.cap("MAX_DAILY_VALUE", Some(defaults::MAX_DAILY_VALUE))?,
            max_daily_orders,
            duplicate_window_secs: s.parse(
                "DUPLICATE_WINDOW_SECONDS",
                defaults::DUPLICATE_WINDOW_SECONDS,
                "a whole number of seconds",
            )?,
            close_cooldown_secs: s.parse(
                "CLOSE_COOLDOWN_SECONDS",
                defaults::CLOSE_COOLDOWN_SECONDS,
                "a whole number of seconds",
            )?,
            confirmation,
            confirmation_ttl_secs: ttl,
            keys,
        })
    }

    /// Start-up warnings that are not errors (the reference's daily-cap warning among them).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = vec![];
        if self.max_daily_value.is_none() && self.allow_live {
            w.push("No daily spend cap set (MAX_DAILY_VALUE unset) while live trading is enabled - only the per-order cap (MAX_ORDER_VALUE) applies; set MAX_DAILY_VALUE to bound cumulative daily spend.".to_string());
        }
        if self.confirmation == ConfirmationMode::Off && self.allow_live {
            w.push(
                "ORDER_CONFIRMATION=off while live trading is enabled: orders go out without a preview token."
                    .to_string(),
            );
        }
        w
    }
}

/// The keys an `.env.example` text sets (`KEY=value` lines, comments skipped), for the tests
/// that keep it and the settings in step.
pub fn documented_keys(example: &str) -> Vec<&str> {
    example.lines().filter_map(|l| l.split_once('=').map(|(k, _)| k.trim())).filter(|k| !k.starts_with('#')).collect()
}

/// Keys in `env` that start with one of `prefixes` but are not in `known`: likely typos.
pub fn unknown_keys(env: &HashMap<String, String>, known: &[&str], prefixes: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = env
        .keys()
        .filter(|k| prefixes.iter().any(|p| k.starts_with(p)) && !known.contains(&k.as_str()))
        .cloned()
        .collect();
    out.sort();
    out
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
