//! What every server binary does the same way: settings for the transport, where state lives,
//! logging to stderr, and serving over stdio or HTTP until told to stop.

use std::{collections::HashMap, future::Future, path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use rmcp::ServiceExt;
use trading_core::{
    broker::GuardedBroker,
    config::{ConfigError, Policy, Settings},
    journal::Journal,
    ports::{Clock, Venue},
};

use crate::{
    ServerSettings, TradingServer,
    equity::{self, EquityError, EquityStore},
};

/// How MCP clients reach the server.
#[derive(Clone, Debug)]
pub enum Transport {
    Stdio,
    Http(Box<crate::http::HttpOptions>),
}

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { key: key.into(), message: message.into() }
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
    match kind.to_ascii_lowercase().as_str() {
        "stdio" => return Ok(Transport::Stdio),
        "http" => {}
        other => return Err(bad("MCP_TRANSPORT", format!("'{other}' is not stdio or http (--transport)"))),
    }
    let bind_raw = flag("--bind").or(s.get("MCP_BIND").map(str::to_string)).unwrap_or_else(|| "127.0.0.1:8000".into());
    let bind: std::net::SocketAddr = bind_raw
        .parse()
        .map_err(|_| bad("MCP_BIND", format!("'{bind_raw}' is not an address like 127.0.0.1:8000 (--bind)")))?;
    let auth = auth(s, server)?;
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

/// AUTH_MODE and its settings, strictly: a mode never runs without what it needs.
fn auth(s: &Settings<'_>, server: &str) -> Result<crate::http::HttpAuth, ConfigError> {
    let mode = s.get("AUTH_MODE").map(str::to_ascii_lowercase);
    let (bearer, oauth) = match mode.as_deref() {
        None | Some("none") => (false, false),
        Some("bearer") => (true, false),
        Some("oauth") => (false, true),
        Some("both") => (true, true),
        Some(v) => return Err(bad("AUTH_MODE", format!("'{v}' is not oauth, bearer or both"))),
    };
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
        let access: u64 = s.parse("OAUTH_ACCESS_TOKEN_TTL_SECONDS", 3600, "a whole number of seconds")?;
        if !(60..=86_400).contains(&access) {
            return Err(bad("OAUTH_ACCESS_TOKEN_TTL_SECONDS", "must be between 60 and 86400"));
        }
        let refresh: u64 = s.parse("OAUTH_REFRESH_TOKEN_TTL_DAYS", 30, "a whole number of days")?;
        if !(1..=365).contains(&refresh) {
            return Err(bad("OAUTH_REFRESH_TOKEN_TTL_DAYS", "must be between 1 and 365"));
        }
        Some(crate::oauth::OAuthConfig {
            db_path: oauth_db_path(s, server),
            password_sha256: <sha2::Sha256 as sha2::Digest>::digest(password.as_bytes()).into(),
            access_ttl: std::time::Duration::from_secs(access),
            refresh_ttl: std::time::Duration::from_secs(refresh * 86_400),
            advertise_admin: s.bool("OAUTH_ADVERTISE_ADMIN", false)?,
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

/// Keys the server does not know under its watched prefixes (likely typos), then the
/// policy's own warnings.
pub fn startup_warnings(
    env: &HashMap<String, String>,
    known: &[&str],
    prefixes: &[&str],
    policy: &Policy,
) -> Vec<String> {
    let mut all: Vec<&str> = known.to_vec();
    all.extend_from_slice(trading_core::config::SHARED_KEYS);
    let mut w: Vec<String> = trading_core::config::unknown_keys(env, &all, prefixes)
        .into_iter()
        .map(|k| format!("unknown setting {k} ignored (a typo? every setting is listed in .env.example)"))
        .collect();
    w.extend(policy.warnings());
    w
}

/// The equity history for drawdown_tracker: `path_key` or `default_file` in the state
/// directory, sampled every EQUITY_SAMPLE_SECONDS (0 turns it off).
pub fn equity_history(
    s: &Settings<'_>,
    path_key: &str,
    default_file: &str,
) -> Result<Option<(PathBuf, Duration)>, ConfigError> {
    let every: u64 = s.parse("EQUITY_SAMPLE_SECONDS", 300, "a whole number of seconds (0 turns sampling off)")?;
    Ok((every > 0).then(|| {
        let path = s.get(path_key).map(PathBuf::from).unwrap_or_else(|| state_dir(s.0).join(default_file));
        (path, Duration::from_secs(every.max(10)))
    }))
}

/// `<server> auth ...`: the OAuth administration subcommand. `None` when `args` is not one.
pub fn auth_subcommand(args: &[String], env: &HashMap<String, String>, server: &str) -> Option<std::process::ExitCode> {
    if args.first().map(String::as_str) != Some("auth") {
        return None;
    }
    Some(match crate::oauth::cli::run(&args[1..], env, server) {
        Ok(out) => {
            print!("{out}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{server} auth: {e}");
            std::process::ExitCode::FAILURE
        }
    })
}

/// `<server> journal ...` when `args` is one: `journal_path` resolves the journal the server
/// would open, from the same settings (.env included).
pub fn journal_command(
    server: &str,
    tz: chrono_tz::Tz,
    journal_path: impl FnOnce(&HashMap<String, String>) -> Result<PathBuf, ConfigError>,
) -> Option<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("journal") {
        return None;
    }
    let _ = dotenvy::dotenv();
    let env: HashMap<String, String> = std::env::vars().collect();
    Some(match journal_path(&env) {
        Ok(path) => journal_subcommand(&args[1..], &path, tz, server),
        Err(e) => {
            eprintln!("{server} journal: {e}");
            ExitCode::FAILURE
        }
    })
}

/// `<server> journal check|acknowledge`: a person inspects the journal's integrity and, once
/// satisfied, records an acknowledgement so new entries resume (the server must be stopped:
/// the journal has one writer). `check` exits non-zero while damage is unacknowledged.
pub fn journal_subcommand(args: &[String], path: &std::path::Path, tz: chrono_tz::Tz, server: &str) -> ExitCode {
    let journal = match trading_core::journal::Journal::open(path, tz) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("{server} journal: {e}");
            return ExitCode::FAILURE;
        }
    };
    let i = journal.integrity();
    let report = format!(
        "journal {}\n  lines: {}\n  corrupt lines: {:?}\n  chain breaks: {:?}\n  unacknowledged: {:?}\n",
        path.display(),
        i.lines,
        i.corrupt_lines,
        i.chain_breaks,
        i.unacknowledged
    );
    match args.first().map(String::as_str) {
        Some("check") => {
            print!("{report}");
            if i.unacknowledged.is_empty() {
                println!("OK: new entries are allowed");
                ExitCode::SUCCESS
            } else {
                println!("DAMAGED: new entries are refused until `{server} journal acknowledge`");
                ExitCode::FAILURE
            }
        }
        Some("acknowledge") => {
            let who = std::env::var("USER").unwrap_or_else(|_| "operator".into());
            match journal.acknowledge(chrono::Utc::now(), &who) {
                Ok(_) => {
                    print!("{report}");
                    println!("acknowledged by {who}: new entries are allowed again");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{server} journal acknowledge: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("usage: {server} journal check|acknowledge");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (stdout carries the MCP protocol), filtered by LOG_LEVEL. A LOG_LEVEL
/// that is not a filter is a start-up error: silencing every log (typo warnings included)
/// would hide the very mistake.
pub fn init_logging(env: &HashMap<String, String>) -> Result<(), ConfigError> {
    let level = env.get("LOG_LEVEL").map(String::as_str).unwrap_or("info,rmcp=warn");
    let filter = tracing_subscriber::EnvFilter::builder().with_regex(false).parse(level).map_err(|e| {
        bad("LOG_LEVEL", format!("'{level}' is not a log filter ({e}); use e.g. info, debug, warn or info,rmcp=warn"))
    })?;
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).init();
    Ok(())
}

/// The version line of `--version` and `session_status`: the crate version and the commit it
/// was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("TRADEGATE_COMMIT"), ")");

/// The server's command line: `--transport`, `--bind`, `--help`, `--version`; anything else is
/// refused as any CLI refuses it. (`auth` and `journal` are subcommands handled before.)
#[derive(clap::Parser, Debug)]
#[command(version = VERSION, about = "tradegate MCP server: stdio by default; settings come from the environment (see .env.example)")]
struct Cli {
    /// stdio (default) or http (MCP_TRANSPORT).
    #[arg(long, value_name = "stdio|http")]
    transport: Option<String>,
    /// The address to listen on with --transport http (MCP_BIND), e.g. 127.0.0.1:8000.
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
}

/// A failure of the transport itself.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("MCP over stdio failed: {0}")]
    Stdio(String),
    #[error("MCP over HTTP failed: {0}")]
    Http(#[from] crate::http::HttpError),
}

/// Serves `server` until stdin closes (stdio) or SIGTERM / Ctrl-C (HTTP).
pub async fn serve(server: TradingServer, transport: Transport, name: &'static str) -> Result<(), ServeError> {
    match transport {
        Transport::Stdio => {
            let pipes = crate::stdio::fronted(tokio::io::stdin(), tokio::io::stdout());
            let service = server.serve(pipes).await.map_err(|e| ServeError::Stdio(e.to_string()))?;
            service.waiting().await.map_err(|e| ServeError::Stdio(e.to_string()))?;
        }
        Transport::Http(opts) => {
            let shutdown = async move {
                let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => return std::future::pending().await,
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                tracing::info!("{name} shutting down");
            };
            crate::http::serve(server, *opts, |addr| tracing::info!("{name} listening on http://{addr}/mcp"), shutdown)
                .await?;
        }
    }
    Ok(())
}

/// Everything a server needs once its venue exists.
pub struct Launch {
    /// "ibkr-mcp" or "crypto-mcp".
    pub name: &'static str,
    /// What session_status reports as the backend ("sim", "gateway", "binance").
    pub backend: String,
    pub venue: Arc<dyn Venue>,
    pub policy: Policy,
    pub journal: Journal,
    pub clock: Arc<dyn Clock>,
    pub read_only: bool,
    pub poll_interval: Duration,
    pub equity_history: Option<(PathBuf, Duration)>,
    pub transport: Transport,
}

/// Why a server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Equity(#[from] EquityError),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Starts the equity sampler, the guarded broker and the tool server, and serves it.
pub async fn run(l: Launch) -> Result<(), LaunchError> {
    tracing::info!(
        backend = %l.backend,
        venue = %l.venue.name(),
        journal = %l.journal.path().display(),
        dry_run = l.policy.dry_run,
        read_only = l.read_only,
        "{} starting",
        l.name
    );
    let equity = match &l.equity_history {
        Some((path, every)) => {
            let store = Arc::new(EquityStore::open(path)?);
            equity::spawn_sampler(l.venue.clone(), store.clone(), l.clock.clone(), *every);
            Some(store)
        }
        None => None,
    };
    let broker = Arc::new(GuardedBroker::new(l.venue, l.policy, Arc::new(l.journal), l.clock));
    let settings = ServerSettings {
        name: l.name.into(),
        backend: l.backend,
        read_only: l.read_only,
        poll_interval: l.poll_interval,
        equity,
    };
    serve(TradingServer::new(broker, settings), l.transport, l.name).await?;
    Ok(())
}

/// A server binary's `main`: the `auth` subcommand, or `run` on a current-thread Tokio
/// runtime (one client, sequential calls: no cross-thread wake-ups on the hot path), with any
/// error printed on one line and a failure exit code.
pub fn main<E, F>(name: &'static str, run: impl FnOnce() -> F) -> ExitCode
where
    E: std::fmt::Display,
    F: Future<Output = Result<(), E>>,
{
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !matches!(args.first().map(String::as_str), Some("auth" | "journal")) {
        use clap::{CommandFactory, FromArgMatches};
        let parsed = Cli::command()
            .name(name)
            .try_get_matches_from(std::iter::once(name.to_string()).chain(args.iter().cloned()))
            .and_then(|m| Cli::from_arg_matches(&m));
        if let Err(e) = parsed {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    }
    if args.first().map(String::as_str) == Some("auth") {
        // A .env in the working directory is read as the server reads it.
        let _ = dotenvy::dotenv();
        let env: HashMap<String, String> = std::env::vars().collect();
        if let Some(code) = auth_subcommand(&args, &env, name) {
            return code;
        }
    }
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{name}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}
