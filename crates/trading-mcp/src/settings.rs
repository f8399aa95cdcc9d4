//! The settings every server reads the same way: the sections of `.env.example` this crate
//! owns (simulator, analytics, remote MCP, server), and [`Common`], parsed once from them, the
//! guard policy and the journal, whatever the venue.

use std::{
    collections::{BTreeSet, HashMap},
    path::PathBuf,
    time::Duration,
};

use rust_decimal::Decimal;
use trading_core::config::{ConfigError, POLICY_SECTION, Policy, PolicyKeys, Section, Setting, Settings};

/// Both simulators' settings.
pub const SIMULATOR_SECTION: Section = Section {
    title: "Simulators (IBKR_BACKEND=sim, CRYPTO_BACKEND=sim)",
    settings: &[
        Setting::new("SIM_SEED", "42", "Same seed and same calls, same run.").number(),
        Setting::new("SIM_STARTING_CASH", "100000", "The simulated account's cash at start (in its quote currency).")
            .number(),
        Setting::new(
            "SIM_ACCOUNT_TYPE",
            "paper",
            "paper, or live: the simulator poses as a LIVE (real-money) account, so the live lock
(TRADING_ALLOW_LIVE, the trading-mode label) can be tried without a broker. No real money moves.",
        )
        .one_of(&["paper", "live"]),
    ],
};

pub const ANALYTICS_SECTION: Section = Section {
    title: "Analytics",
    settings: &[Setting::new(
        "EQUITY_SAMPLE_SECONDS",
        "300",
        "How often the background sampler records net liquidation (seconds, at least 10); 0 turns it off.",
    )
    .number()],
};

pub const REMOTE_SECTION: Section = Section {
    title: "Remote MCP (streamable HTTP)",
    settings: &[
        Setting::new(
            "MCP_TRANSPORT",
            "stdio",
            "stdio (default: the client starts the server) or http (same as --transport http).",
        )
        .one_of(&["stdio", "http"]),
        Setting::new(
            "MCP_BIND",
            "127.0.0.1:8000",
            "Address to listen on with http (same as --bind). Anything but loopback needs AUTH_MODE.",
        ),
        Setting::new(
            "AUTH_MODE",
            "",
            "Authentication for http: empty or none (loopback only), oauth (OAuth 2.1 for claude.ai and other
remote clients), bearer (one static token), or both (oauth and the static token).",
        )
        .one_of(&["none", "oauth", "bearer", "both"]),
        Setting::secret(
            "STATIC_BEARER_TOKEN",
            "The bearer token for AUTH_MODE=bearer or both (at least 24 characters; a secret, never logged).",
        ),
        Setting::secret(
            "LOGIN_PASSWORD",
            "The owner's password for approving OAuth clients (at least 12 characters; a secret).",
        ),
        Setting::new(
            "OAUTH_DB_PATH",
            "",
            "OAuth clients and (hashed) tokens. Default: ibkr-mcp-oauth.sqlite / crypto-mcp-oauth.sqlite in
$XDG_STATE_HOME/tradegate. List and revoke: `ibkr-mcp auth clients`, `ibkr-mcp auth revoke-client ID`.",
        )
        .path(),
        Setting::new(
            "OAUTH_ACCESS_TOKEN_TTL_SECONDS",
            "3600",
            "Access token lifetime (60..86400 seconds) and refresh token lifetime (1..365 days).",
        )
        .number(),
        Setting::new("OAUTH_REFRESH_TOKEN_TTL_DAYS", "30", "").number(),
        Setting::new(
            "OAUTH_ADVERTISE_ADMIN",
            "false",
            "Offer the admin scope (revoking other clients over HTTP) at all; off, no client can ask for it.",
        )
        .boolean(),
        Setting::new(
            "MCP_ALLOWED_HOSTS",
            "",
            "Extra Host header values to accept besides localhost, 127.0.0.1 and ::1 (comma-separated).",
        ),
        Setting::new(
            "MCP_ALLOWED_ORIGINS",
            "",
            "Browser origins to accept (comma-separated, with scheme, e.g. https://claude.ai).",
        ),
        Setting::new(
            "PUBLIC_BASE_URL",
            "",
            "The public https URL in front of the server (behind a TLS proxy); its host is accepted.",
        ),
    ],
};

pub const SERVER_SECTION: Section = Section {
    title: "Server",
    settings: &[
        Setting::new(
            "TOOLSETS",
            "all",
            "Which tools the server offers: all, or a comma-separated list of trading, account, research,
analytics (session_status and market_status are always there). Fewer tools, fewer tokens.",
        ),
        Setting::new(
            "WAIT_POLL_MILLISECONDS",
            "",
            "wait_for_fill polling period (default 100 on the simulator, 2000 on the gateway, 500 on an exchange).",
        )
        .number(),
        Setting::new(
            "LOG_LEVEL",
            "info,rmcp=warn",
            "tracing filter for the logs on stderr (stdout carries the MCP protocol).",
        ),
    ],
};

/// What a server is, for the settings every server reads: its name, its sections in
/// `.env.example` order, and the keys its policy and files go by.
#[derive(Clone, Debug)]
pub struct ServerSpec {
    /// "ibkr-mcp" or "crypto-mcp".
    pub name: &'static str,
    /// Every section the server reads (the shared ones included).
    pub sections: &'static [&'static Section],
    /// Prefixes whose unknown keys are probably typos of this server's.
    pub watched_prefixes: &'static [&'static str],
    pub policy_keys: PolicyKeys,
    /// The key of the journal's path, and of the equity history's.
    pub journal_key: &'static str,
    pub equity_key: &'static str,
    /// How the registry and the bundle present the server.
    pub listing: crate::manifest::Listing,
}

impl ServerSpec {
    /// Every key the server reads.
    pub fn keys(&self) -> impl Iterator<Item = &'static Setting> {
        self.sections.iter().flat_map(|s| s.settings.iter())
    }
}

/// The sections every server reads, in `.env.example` order after its own.
pub const SHARED_SECTIONS: [&Section; 6] = [
    &POLICY_SECTION,
    &crate::approval::APPROVAL_SECTION,
    &SIMULATOR_SECTION,
    &ANALYTICS_SECTION,
    &REMOTE_SECTION,
    &SERVER_SECTION,
];

/// A group of tools a user may leave out (TOOLSETS) to shorten tools/list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Toolset {
    /// Previews, orders, cancels, fills and reconciliation.
    Trading,
    /// Balances, positions, portfolio, open orders and the trade history.
    Account,
    /// Quotes, contracts, price history, schedules and the venue's scanners.
    Research,
    /// Risk, stress, exposure, rebalancing, technicals, drawdown and the briefing.
    Analytics,
}

impl Toolset {
    pub const ALL: [Toolset; 4] = [Toolset::Trading, Toolset::Account, Toolset::Research, Toolset::Analytics];

    pub fn name(self) -> &'static str {
        match self {
            Toolset::Trading => "trading",
            Toolset::Account => "account",
            Toolset::Research => "research",
            Toolset::Analytics => "analytics",
        }
    }
}

fn toolsets(s: &Settings<'_>) -> Result<BTreeSet<Toolset>, ConfigError> {
    let Some(raw) = s.get("TOOLSETS") else { return Ok(Toolset::ALL.into()) };
    let mut out = BTreeSet::new();
    for item in raw.split(',').map(|x| x.trim().to_ascii_lowercase()).filter(|x| !x.is_empty()) {
        if item == "all" {
            out.extend(Toolset::ALL);
            continue;
        }
        match Toolset::ALL.iter().find(|t| t.name() == item) {
            Some(t) => out.insert(*t),
            None => {
                return Err(bad(
                    "TOOLSETS",
                    format!("'{item}' is not a toolset (all, trading, account, research, analytics)"),
                ));
            }
        };
    }
    Ok(out)
}

/// What every server reads the same way, validated.
#[derive(Debug)]
pub struct Common {
    pub policy: Policy,
    pub journal_path: PathBuf,
    pub read_only: bool,
    pub toolsets: BTreeSet<Toolset>,
    /// How often wait_for_fill polls.
    pub poll_interval: Duration,
    /// Equity history for drawdown_tracker and how often it is sampled; none when off.
    pub equity_history: Option<(PathBuf, Duration)>,
    pub transport: Transport,
    pub sim_seed: u64,
    pub sim_starting_cash: Decimal,
    /// The simulator poses as a LIVE account (SIM_ACCOUNT_TYPE=live).
    pub sim_live: bool,
    /// The approval channels (page, push).
    pub approval: crate::approval::ApprovalSettings,
    /// Unknown keys under the server's prefixes (typos?) and the policy's own warnings.
    pub warnings: Vec<String>,
}

impl Common {
    /// Reads the shared settings of `spec`'s server, with `--transport`/`--bind` from `args`.
    /// `state_name` names the default files in the state directory (`<state_name>-trades.jsonl`,
    /// `<state_name>-equity.sqlite`), e.g. "ibkr-sim"; `poll_ms` is the backend's default poll.
    pub fn from_env(
        env: &HashMap<String, String>,
        args: &[String],
        spec: &ServerSpec,
        state_name: &str,
        poll_ms: u64,
    ) -> Result<Common, ConfigError> {
        let s = Settings(env);
        let mut policy = Policy::from_env(env, spec.policy_keys.clone())?;
        let journal_path = s
            .get(spec.journal_key)
            .map(PathBuf::from)
            .unwrap_or_else(|| state_dir(env).join(format!("{state_name}-trades.jsonl")));
        // The console's kill switch writes a halt file; unset, it sits next to the journal.
        policy.halt_file.get_or_insert_with(|| journal_path.with_extension("halt"));
        let poll_ms: u64 = s.parse("WAIT_POLL_MILLISECONDS", poll_ms, "a whole number of milliseconds")?;
        if poll_ms == 0 {
            return Err(bad("WAIT_POLL_MILLISECONDS", "must be at least 1"));
        }
        let every: u64 = s.parse("EQUITY_SAMPLE_SECONDS", 300, "a whole number of seconds (0 turns sampling off)")?;
        let equity_history = (every > 0).then(|| {
            let path = s
                .get(spec.equity_key)
                .map(PathBuf::from)
                .unwrap_or_else(|| state_dir(env).join(format!("{state_name}-equity.sqlite")));
            (path, Duration::from_secs(every.max(10)))
        });
        let known: Vec<&str> = spec.keys().map(|k| k.key).collect();
        let mut warnings: Vec<String> = trading_core::config::unknown_keys(env, &known, spec.watched_prefixes)
            .into_iter()
            .map(|k| format!("unknown setting {k} ignored (a typo? every setting is listed in .env.example)"))
            .collect();
        warnings.extend(policy.warnings());
        Ok(Common {
            transport: transport(&s, args, spec.name)?,
            read_only: s.bool("READ_ONLY", false)?,
            toolsets: toolsets(&s)?,
            sim_seed: s.parse("SIM_SEED", 42u64, "a whole number")?,
            sim_live: match s.get("SIM_ACCOUNT_TYPE").map(str::to_ascii_lowercase).as_deref() {
                None | Some("paper") => false,
                Some("live") => true,
                Some(v) => return Err(bad("SIM_ACCOUNT_TYPE", format!("'{v}' is not paper or live"))),
            },
            sim_starting_cash: s
                .cap("SIM_STARTING_CASH", Some(Decimal::from(100_000)))?
                .unwrap_or(Decimal::from(100_000)),
            approval: crate::approval::ApprovalSettings::from_env(&s)?,
            policy,
            journal_path,
            poll_interval: Duration::from_millis(poll_ms),
            equity_history,
            warnings,
        })
    }
}

/// The process environment with a `.env` of the working directory under it (a convenience,
/// never required; the environment wins). Every binary reads its settings through this, once.
pub fn environment() -> HashMap<String, String> {
    let _ = dotenvy::dotenv();
    std::env::vars().collect()
}

/// How MCP clients reach the server.
#[derive(Clone, Debug)]
pub enum Transport {
    Stdio,
    Http(Box<crate::http::HttpOptions>),
}

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::new(key, message)
}

/// `$XDG_STATE_HOME/tradegate` or `~/.local/state/tradegate`: a stable place whatever the
/// working directory an MCP client starts us in.
pub fn state_dir(env: &HashMap<String, String>) -> PathBuf {
    let s = Settings(env);
    if let Some(x) = s.get("XDG_STATE_HOME") {
        return PathBuf::from(x).join("tradegate");
    }
    match s.get("HOME") {
        Some(h) => PathBuf::from(h).join(".local/state/tradegate"),
        None => PathBuf::from("logs"),
    }
}

/// Reads the transport from `--transport`/`--bind` (in `args`) or MCP_TRANSPORT/MCP_BIND.
/// `server` names the default OAuth database (`<server>-oauth.sqlite` in the state directory).
pub fn transport(s: &Settings<'_>, args: &[String], server: &str) -> Result<Transport, ConfigError> {
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let kind = flag("--transport").or(s.get("MCP_TRANSPORT").map(str::to_string)).unwrap_or_else(|| "stdio".into());
    // Every value is checked whatever the transport (a typo stops the server at start, as
    // .env.example promises); what a mode needs besides is asked only where it is used.
    let values = auth_values(s)?;
    match kind.to_ascii_lowercase().as_str() {
        "stdio" => return Ok(Transport::Stdio),
        "http" => {}
        other => return Err(bad("MCP_TRANSPORT", format!("'{other}' is not stdio or http (--transport)"))),
    }
    let bind_raw = flag("--bind").or(s.get("MCP_BIND").map(str::to_string)).unwrap_or_else(|| "127.0.0.1:8000".into());
    let bind: std::net::SocketAddr = bind_raw
        .parse()
        .map_err(|_| bad("MCP_BIND", format!("'{bind_raw}' is not an address like 127.0.0.1:8000 (--bind)")))?;
    let auth = auth(s, values, server)?;
    if auth.is_none() && !bind.ip().is_loopback() {
        return Err(bad(
            "AUTH_MODE",
            format!(
                "binding {bind} without authentication is refused: set AUTH_MODE=oauth (with LOGIN_PASSWORD) or AUTH_MODE=bearer (with STATIC_BEARER_TOKEN), or bind 127.0.0.1"
            ),
        ));
    }
    let mut allowed_hosts: Vec<String> =
        s.list("MCP_ALLOWED_HOSTS").into_iter().map(|h| h.to_ascii_lowercase()).collect();
    let mut public_base_url = None;
    if let Some(public) = s.get("PUBLIC_BASE_URL") {
        let u = url::Url::parse(public)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some())
            .ok_or_else(|| bad("PUBLIC_BASE_URL", format!("'{public}' is not an http(s) URL")))?;
        if u.path() != "/" || u.query().is_some() {
            return Err(bad("PUBLIC_BASE_URL", "give the origin only, e.g. https://mcp.example.com (no path)"));
        }
        if let Some(h) = u.host_str() {
            allowed_hosts.push(h.to_string());
        }
        public_base_url = Some(public.trim_end_matches('/').to_string());
    }
    let allowed_origins = s
        .get("MCP_ALLOWED_ORIGINS")
        .map(|v| v.split(',').map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect())
        .unwrap_or_default();
    Ok(Transport::Http(Box::new(crate::http::HttpOptions {
        bind,
        auth,
        allowed_hosts,
        allowed_origins,
        max_body_bytes: 1 << 20,
        public_base_url,
    })))
}

/// The values of AUTH_MODE and the OAuth settings, each checked on its own.
#[derive(Clone, Copy)]
struct AuthValues {
    bearer: bool,
    oauth: bool,
    access_ttl_secs: u64,
    refresh_ttl_days: u64,
    advertise_admin: bool,
}

fn auth_values(s: &Settings<'_>) -> Result<AuthValues, ConfigError> {
    let (bearer, oauth) = match s.get("AUTH_MODE").map(str::to_ascii_lowercase).as_deref() {
        None | Some("none") => (false, false),
        Some("bearer") => (true, false),
        Some("oauth") => (false, true),
        Some("both") => (true, true),
        Some(v) => return Err(bad("AUTH_MODE", format!("'{v}' is not none, oauth, bearer or both"))),
    };
    let access_ttl_secs: u64 = s.parse("OAUTH_ACCESS_TOKEN_TTL_SECONDS", 3600, "a whole number of seconds")?;
    if !(60..=86_400).contains(&access_ttl_secs) {
        return Err(bad("OAUTH_ACCESS_TOKEN_TTL_SECONDS", "must be between 60 and 86400"));
    }
    let refresh_ttl_days: u64 = s.parse("OAUTH_REFRESH_TOKEN_TTL_DAYS", 30, "a whole number of days")?;
    if !(1..=365).contains(&refresh_ttl_days) {
        return Err(bad("OAUTH_REFRESH_TOKEN_TTL_DAYS", "must be between 1 and 365"));
    }
    let advertise_admin = s.bool("OAUTH_ADVERTISE_ADMIN", false)?;
    Ok(AuthValues { bearer, oauth, access_ttl_secs, refresh_ttl_days, advertise_admin })
}

/// AUTH_MODE and its settings, strictly: a mode never runs without what it needs.
fn auth(s: &Settings<'_>, values: AuthValues, server: &str) -> Result<crate::http::HttpAuth, ConfigError> {
    let AuthValues { bearer, oauth, access_ttl_secs, refresh_ttl_days, advertise_admin } = values;
    let bearer = if bearer {
        match s.get("STATIC_BEARER_TOKEN") {
            // The token is a secret: messages never echo it.
            Some(t) if t.len() >= 24 => Some(crate::http::StaticBearer::new(t)),
            Some(_) => {
                return Err(bad(
                    "STATIC_BEARER_TOKEN",
                    "is too short: use at least 24 random characters (e.g. `openssl rand -hex 32`)",
                ));
            }
            None => return Err(bad("STATIC_BEARER_TOKEN", "is required with AUTH_MODE=bearer or both")),
        }
    } else {
        None
    };
    let oauth = if oauth {
        let password = match s.get("LOGIN_PASSWORD") {
            Some(p) if p.chars().count() >= 12 => p,
            Some(_) => return Err(bad("LOGIN_PASSWORD", "is too short: use at least 12 characters")),
            None => {
                return Err(bad(
                    "LOGIN_PASSWORD",
                    "is required with AUTH_MODE=oauth or both (the owner logs in with it to approve clients)",
                ));
            }
        };
        Some(crate::oauth::OAuthConfig {
            db_path: oauth_db_path(s, server),
            password_sha256: <sha2::Sha256 as sha2::Digest>::digest(password.as_bytes()).into(),
            access_ttl: std::time::Duration::from_secs(access_ttl_secs),
            refresh_ttl: std::time::Duration::from_secs(refresh_ttl_days * 86_400),
            advertise_admin,
        })
    } else {
        None
    };
    Ok(crate::http::HttpAuth { bearer, oauth })
}

/// OAUTH_DB_PATH, or `<server>-oauth.sqlite` in the state directory.
pub fn oauth_db_path(s: &Settings<'_>, server: &str) -> PathBuf {
    s.get("OAUTH_DB_PATH").map(PathBuf::from).unwrap_or_else(|| state_dir(s.0).join(format!("{server}-oauth.sqlite")))
}

/// Why `.env.example` and a server's settings tables disagree.
#[derive(Debug, thiserror::Error)]
pub enum EnvExampleError {
    #[error("`.env.example` has no block \"{0}\" (render it from the table: Section::render)")]
    Missing(&'static str),
    #[error("`.env.example`'s block \"{title}\" differs from the table; it should read:\n{expected}")]
    Differs { title: String, expected: String },
    #[error("`.env.example` has a block \"{0}\" that no server reads")]
    Unknown(String),
    #[error("`.env.example` should open with the header in trading_core::config::ENV_EXAMPLE_HEADER")]
    Header,
}

/// Checks `example` against `spec`'s settings: each of its sections appears exactly as the
/// table renders it, and every other block belongs to another server (a title naming one).
pub fn check_env_example(example: &str, spec: &ServerSpec) -> Result<(), EnvExampleError> {
    if !example.starts_with(trading_core::config::ENV_EXAMPLE_HEADER) {
        return Err(EnvExampleError::Header);
    }
    let blocks = trading_core::config::env_example_blocks(example);
    for section in spec.sections {
        match blocks.iter().find(|(t, _)| t == section.title) {
            None => return Err(EnvExampleError::Missing(section.title)),
            Some((title, body)) if *body != section.render() => {
                return Err(EnvExampleError::Differs { title: title.clone(), expected: section.render() });
            }
            Some(_) => {}
        }
    }
    let other_server = |t: &str| t.split_once(':').is_some_and(|(who, _)| who.ends_with("-mcp") && who != spec.name);
    match blocks.iter().find(|(t, _)| !spec.sections.iter().any(|s| s.title == t) && !other_server(t)) {
        Some((t, _)) => Err(EnvExampleError::Unknown(t.clone())),
        None => Ok(()),
    }
}

/// What the settings table says of `spec`'s values, checked against `parse` (the server's own
/// reading of its environment): every default, every choice, true and false for a boolean are
/// taken without an error naming the key, and a value outside what the table declares is
/// refused naming it. The registry and the bundle offer these choices to people, so a choice
/// the server refuses, or a check the server does not make, is a problem. Returns the problems.
pub fn check_declared_values(
    spec: &ServerSpec,
    parse: impl Fn(&HashMap<String, String>) -> Result<(), ConfigError>,
) -> Vec<String> {
    use trading_core::config::Format;
    let with = |key: &str, value: &str| parse(&HashMap::from([(key.to_string(), value.to_string())]));
    let mut problems = vec![];
    for s in spec.keys() {
        let mut good: Vec<&str> = s.choices.to_vec();
        if s.format == Format::Boolean {
            good.extend(["true", "false"]);
        }
        if !s.default.is_empty() {
            good.push(s.default);
        }
        for v in good {
            if let Err(e) = with(s.key, v)
                && e.key == s.key
            {
                problems.push(format!("{}={v} is declared but refused: {e}", s.key));
            }
        }
        let bad = match s.format {
            _ if !s.choices.is_empty() => "not-a-choice",
            Format::Boolean => "maybe",
            Format::Number => "abc",
            Format::String | Format::Filepath => continue,
        };
        match with(s.key, bad) {
            Err(e) if e.key == s.key => {}
            other => problems.push(format!("{}={bad} is outside what the table declares but {other:?}", s.key)),
        }
    }
    problems
}
