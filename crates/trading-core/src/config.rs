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

impl ConfigError {
    pub fn new(key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError { key: key.to_string(), message: message.into() }
    }
}

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::new(key, message)
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
    /// The arm that allows opening shorts; none where the venue cannot short (spot).
    pub allow_short: Option<&'static str>,
    pub allowlist: &'static str,
    pub denylist: &'static str,
    /// How orders are approved by a person, and the channel forced on live accounts.
    pub approval: &'static str,
    pub approval_live: &'static str,
    /// The journal's day boundary (spend caps reset at midnight here).
    pub journal_tz: Tz,
}

impl PolicyKeys {
    /// The unprefixed names: a venue overrides what it names its own way (IBKR_TRADING_MODE,
    /// CRYPTO_ALLOW_LIVE, ...). The core's and the simulator's tests use them as they are.
    pub const GENERIC: PolicyKeys = PolicyKeys {
        venue: "the venue",
        server: "the server",
        allow_live: "TRADING_ALLOW_LIVE",
        dry_run: "TRADING_DRY_RUN",
        trading_mode: "TRADING_MODE",
        paper_label: "paper",
        account_id: "ACCOUNT_ID",
        allow_short: Some("TRADING_ALLOW_SHORT"),
        allowlist: "SYMBOL_ALLOWLIST",
        denylist: "SYMBOL_DENYLIST",
        approval: "TRADING_APPROVAL",
        approval_live: "TRADING_APPROVAL_LIVE",
        journal_tz: chrono_tz::America::New_York,
    };
}

/// One setting as a user sees it: the key, the default written in `.env.example` (blank when
/// the default is computed, and then the meaning says how), the comment above it, whether its
/// value is a secret (never logged, shown or echoed), and what its values look like (the
/// registry's `server.json` and the bundle's `user_config` say it to installers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting {
    pub key: &'static str,
    pub default: &'static str,
    /// The comment lines above the key; empty when it shares the comment of the key before it.
    pub meaning: &'static str,
    pub secret: bool,
    pub format: Format,
    /// The only values the parser accepts (besides blank, "the default"); empty when open.
    pub choices: &'static [&'static str],
}

/// The shape of a setting's value, in the MCP registry's terms (`Input.format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    String,
    /// true or false (the parser also takes 1/0, yes/no, on/off).
    Boolean,
    /// A decimal number.
    Number,
    /// A file on the user's machine.
    Filepath,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::String => "string",
            Format::Boolean => "boolean",
            Format::Number => "number",
            Format::Filepath => "filepath",
        }
    }
}

impl Setting {
    pub const fn new(key: &'static str, default: &'static str, meaning: &'static str) -> Setting {
        Setting { key, default, meaning, secret: false, format: Format::String, choices: &[] }
    }

    pub const fn secret(key: &'static str, meaning: &'static str) -> Setting {
        Setting { secret: true, ..Setting::new(key, "", meaning) }
    }

    pub const fn boolean(self) -> Setting {
        Setting { format: Format::Boolean, ..self }
    }

    pub const fn number(self) -> Setting {
        Setting { format: Format::Number, ..self }
    }

    pub const fn path(self) -> Setting {
        Setting { format: Format::Filepath, ..self }
    }

    pub const fn one_of(self, choices: &'static [&'static str]) -> Setting {
        Setting { choices, ..self }
    }
}

/// A titled block of settings: one block of `.env.example`, owned by the crate that reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Section {
    pub title: &'static str,
    pub settings: &'static [Setting],
}

impl Section {
    /// The block as `.env.example` writes it: a title rule, then each setting's comment and
    /// `KEY=default` line.
    pub fn render(&self) -> String {
        let rule = format!("# ── {} ", self.title);
        let pad = 80usize.saturating_sub(rule.chars().count());
        let mut out = format!("{rule}{}\n", "─".repeat(pad));
        for s in self.settings {
            for line in s.meaning.lines() {
                match line {
                    "" => out.push_str("#\n"),
                    l => out.push_str(&format!("# {l}\n")),
                }
            }
            out.push_str(&format!("{}={}\n", s.key, s.default));
        }
        out
    }
}

/// The opening comment of `.env.example`.
pub const ENV_EXAMPLE_HEADER: &str = "# tradegate settings. Every key, its default and one line of meaning.
# Environment variables win; a .env in the server's working directory is read if present.
# A blank value means \"the default\". A bad value stops the server at start, naming the key.
# This file is checked against the settings tables in the code (each server's `settings` tests).
";

/// The blocks of an `.env.example` text by title, each as [`Section::render`] writes it.
pub fn env_example_blocks(example: &str) -> Vec<(String, String)> {
    let mut blocks: Vec<(String, String)> = vec![];
    for line in example.lines() {
        if let Some(rest) = line.strip_prefix("# ── ") {
            let title = rest.trim_end_matches(['─', ' ']).to_string();
            blocks.push((title, String::new()));
        }
        if let Some((_, body)) = blocks.last_mut()
            && !line.trim().is_empty()
        {
            body.push_str(line);
            body.push('\n');
        }
    }
    blocks
}

/// The guard policy's settings every venue shares (their names never change per venue).
pub const POLICY_SECTION: Section = Section {
    title: "Shared guard policy (amounts in the venue's quote currency)",
    settings: &[
        Setting::new(
            "MAX_ORDER_VALUE",
            "100",
            "Per-order value cap for entries (worst case of last, ask, limit, stop). \"off\" disables.",
        ),
        Setting::new("MAX_ORDER_QUANTITY", "1000", "Per-order quantity cap for entries. \"off\" disables."),
        Setting::new(
            "MAX_POSITION_VALUE",
            "1000",
            "Cap on the value of the position an entry would leave. \"off\" disables.",
        ),
        Setting::new(
            "MAX_DAILY_VALUE",
            "500",
            "Money committed to BUYs per day (journal day: New York for IBKR, UTC for crypto). \"off\" disables.",
        ),
        Setting::new(
            "MAX_DAILY_ORDERS",
            "50",
            "Orders sent per day (entries are refused past it; exits never). \"off\" disables.",
        ),
        Setting::new(
            "DUPLICATE_WINDOW_SECONDS",
            "5",
            "An identical order within this many seconds is refused. 0 disables.",
        )
        .number(),
        Setting::new(
            "CLOSE_COOLDOWN_SECONDS",
            "45",
            "A second close_position of a symbol within this many seconds is refused (positions lag).",
        )
        .number(),
        Setting::new(
            "TRADING_HALTED",
            "false",
            "Kill switch: true refuses every new entry; exits and cancels still work.",
        )
        .boolean(),
        Setting::new(
            "TRADING_HALT_FILE",
            "",
            "Kill switch by file: while this file exists, new entries are refused; the console's kill switch
writes it. Empty: next to the journal (trades.jsonl -> trades.halt).",
        )
        .path(),
        Setting::new(
            "ENFORCE_MARKET_HOURS",
            "true",
            "Refuse market entries outside NYSE regular hours (resting orders and exits are never trapped).",
        )
        .boolean(),
        Setting::new(
            "MARKET_EXTRA_CLOSURES",
            "",
            "Extra NYSE closures / 13:00 early closes, YYYY-MM-DD, comma-separated (no release needed).",
        ),
        Setting::new("MARKET_EXTRA_EARLY_CLOSES", "", ""),
        Setting::new(
            "ORDER_CONFIRMATION",
            "required",
            "required: every order tool needs the single-use token from preview_order. off: no token.",
        )
        .one_of(&["required", "off"]),
        Setting::new("CONFIRMATION_TTL_SECONDS", "120", "How long a preview's token stays valid (1..3600 seconds).")
            .number(),
        Setting::new(
            "READ_ONLY",
            "false",
            "true: register only read tools (no preview, order, cancel or reconcile tool exists).",
        )
        .boolean(),
    ],
};

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
    pub approval: crate::approval::ApprovalPolicy,
}

/// A credential (a secret setting's value): never printed, not even in Debug output.
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
            allow_short: match keys.allow_short {
                Some(k) => s.bool(k, false)?,
                None => false,
            },
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
            approval: crate::approval::ApprovalPolicy::from_env(&s, &keys, mode)?,
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
