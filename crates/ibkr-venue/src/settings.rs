//! The IBKR venue's settings: the names of its policy keys, its block of `.env.example`, and
//! the options to reach and keep the Client Portal Gateway, read from the environment.

use std::time::Duration;

use trading_core::config::{ConfigError, PolicyKeys, Section, Setting, Settings};

use crate::{
    cpapi::{TlsMode, http::normalize_fingerprint},
    gateway::{DEFAULT_CONFIRM_ALLOWLIST, GatewaySettings},
    session::WebhookFormat,
};

/// IBKR's policy keys, named as the reference names them.
pub const IBKR_KEYS: PolicyKeys = PolicyKeys {
    venue: "IBKR",
    server: "ibkr-mcp",
    trading_mode: "IBKR_TRADING_MODE",
    account_id: "IBKR_ACCOUNT_ID",
    ..PolicyKeys::GENERIC
};

/// The gateway's and the account's settings.
pub const SECTION: Section = Section {
    title: "ibkr-mcp: the Client Portal Gateway and the account",
    settings: &[
        Setting::new(
            "IBKR_API_BASE_URL",
            "https://localhost:5000/v1/api",
            "CPAPI base URL of the Client Portal Gateway. Must be loopback (localhost, 127.0.0.1, ::1).",
        ),
        Setting::new(
            "IBKR_GATEWAY_CERT_SHA256",
            "",
            "Pin the gateway's self-signed certificate by SHA-256 (64 hex digits, colons allowed). Empty:
accepted unverified, on loopback only, with a warning at start.",
        ),
        Setting::new(
            "IBKR_CONFIRM_ALLOWLIST",
            "o354,o163,o10152,o10164,o10223,o10151,o10153,o10331",
            "IBKR confirmation questions answered \"yes\" (comma-separated message ids); any other question
declines the order and is reported. o10331 is IBKR's stop-order notice (without it every stop
is declined). o2137 (oversell) is left out on purpose.",
        ),
        Setting::new("REQUEST_TIMEOUT_SECONDS", "15", "Seconds before a gateway request times out (1..300).").number(),
        Setting::new(
            "TICKLE_INTERVAL_SECONDS",
            "60",
            "Keep-alive period of the session keeper (/tickle), 5..290 seconds.",
        ).number(),
        Setting::secret(
            "REAUTH_WEBHOOK_URL",
            "Where to send \"log in again\" alerts (a secret: never logged). Empty: log lines only.",
        ),
        Setting::new(
            "REAUTH_WEBHOOK_FORMAT",
            "slack",
            "Body shape for the webhook: slack ({\"text\"}), discord ({\"content\"}), ntfy (plain text), json.",
        ).one_of(&["slack", "discord", "ntfy", "json"]),
        Setting::new(
            "REAUTH_REALERT_CYCLES",
            "10",
            "While the session stays down, repeat the alert every N keeper cycles.",
        ).number(),
        Setting::new(
            "IBKR_ACCOUNT_ID",
            "",
            "The account you mean to trade. When set, an order is refused if the venue is logged in to another.",
        ),
        Setting::new(
            "IBKR_TRADING_MODE",
            "paper",
            "A label only (paper or live): it must agree with what the venue reports, or orders are refused.",
        ).one_of(&["paper", "live"]),
        Setting::new("TRADING_ALLOW_LIVE", "false", "Arms real money. Without it a LIVE account refuses every order.").boolean(),
        Setting::new("TRADING_DRY_RUN", "true", "true: validate and journal orders, send nothing.").boolean(),
        Setting::new(
            "TRADING_APPROVAL",
            "",
            "Who says yes to an order: none, elicit (the client asks you), web (the approval page), push
(your phone) or auto (elicit, else web, else push). Empty: auto on a LIVE account, none otherwise.
none is refused on a LIVE account. See README \"Human approval\".",
        ).one_of(&["none", "elicit", "web", "push", "auto"]),
        Setting::new(
            "TRADING_APPROVAL_LIVE",
            "",
            "web or push: the channel live orders must use even when the client can elicit (the agent cannot answer it).",
        ).one_of(&["web", "push"]),
        Setting::new("TRADING_ALLOW_SHORT", "false", "Allow a SELL larger than the long holding (opening a short).").boolean(),
        Setting::new(
            "SYMBOL_ALLOWLIST",
            "",
            "Comma-separated symbols. Allow-list empty = all symbols allowed. Exits are never blocked by a list.",
        ),
        Setting::new("SYMBOL_DENYLIST", "", ""),
    ],
};

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::new(key, message)
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

impl GatewayOptions {
    /// The gateway options from the environment; `account_id` is the account the policy expects.
    pub fn from_env(s: &Settings<'_>, account_id: Option<String>) -> Result<GatewayOptions, ConfigError> {
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
}
