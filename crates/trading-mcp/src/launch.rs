//! What every server binary does the same way: its command line and subcommands, logging to
//! stderr, and serving over stdio or HTTP until told to stop.

use std::{collections::HashMap, future::Future, path::PathBuf, process::ExitCode, sync::Arc};

use rmcp::{ServiceExt, handler::server::router::tool::ToolRouter};
use trading_core::{
    broker::GuardedBroker,
    config::ConfigError,
    journal::Journal,
    ports::{Clock, Venue},
};

use crate::{
    ServerSettings, TradingServer,
    equity::{self, EquityError, EquityStore},
    settings::{Common, ServerSpec, Toolset, Transport, environment},
};

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::new(key, message)
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

/// `<server> manifest server.json [--mcpb FILE]` or `<server> manifest mcpb [--platform P]`:
/// prints the registry's `server.json` (with the released bundle FILE as an `mcpb` package,
/// its SHA-256 computed) or the bundle's `manifest.json` (for platform P: darwin, linux or
/// win32), made from the settings table. `packaging/build-mcpb` uses both.
pub fn manifest_subcommand(spec: &ServerSpec, args: &[String]) -> ExitCode {
    use crate::manifest::{Release, add_mcpb_package, mcpb_manifest, server_json};
    let name = spec.name;
    let usage = || {
        eprintln!(
            "usage: {name} manifest server.json [--mcpb FILE] | {name} manifest mcpb [--platform darwin|linux|win32]"
        );
        ExitCode::from(2)
    };
    let made = match args {
        [what] if what == "server.json" => server_json(spec, Release::THIS).map_err(|e| e.to_string()),
        [what, flag, file] if what == "server.json" && flag == "--mcpb" => {
            let path = std::path::Path::new(file);
            match (std::fs::read(path), path.file_name().and_then(|n| n.to_str())) {
                (Ok(bytes), Some(file_name)) => server_json(spec, Release::THIS)
                    .map(|mut v| {
                        add_mcpb_package(&mut v, Release::THIS, file_name, &bytes);
                        v
                    })
                    .map_err(|e| e.to_string()),
                (Err(e), _) => Err(format!("--mcpb {file}: {e}")),
                (_, None) => Err(format!("--mcpb {file}: not a file name")),
            }
        }
        [what] if what == "mcpb" => mcpb_manifest(spec, Release::THIS, None).map_err(|e| e.to_string()),
        [what, flag, p] if what == "mcpb" && flag == "--platform" => match p.as_str() {
            "darwin" | "linux" | "win32" => mcpb_manifest(spec, Release::THIS, Some(p)).map_err(|e| e.to_string()),
            _ => Err(format!("--platform {p}: use darwin, linux or win32 (the bundle's platform names)")),
        },
        _ => return usage(),
    };
    match made {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name} manifest: {e}");
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
/// refused as any CLI refuses it. (`auth`, `journal` and `manifest` are subcommands handled before.)
#[derive(clap::Parser, Debug)]
#[command(
    version = VERSION,
    about = "tradegate MCP server: stdio by default; settings come from the environment (see .env.example)",
    after_help = "Also:
  auth [--db PATH] clients|tokens|revoke-client ID|revoke-token ID   the OAuth clients of --transport http
  journal check|acknowledge                                         the trade journal's integrity
  manifest server.json [--mcpb FILE] | mcpb [--platform P]         what installers read (MCP registry, bundle)"
)]
struct Cli {
    /// stdio (default) or http (MCP_TRANSPORT).
    #[arg(long, value_name = "stdio|http")]
    transport: Option<String>,
    /// The address to listen on with --transport http (MCP_BIND), e.g. 127.0.0.1:8000.
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
}

/// The command line of a helper binary (healthcheck, keep-alive, demo): `--help` and
/// `--version` as any CLI answers them, anything else refused. `Some(code)` when the process
/// should exit now.
pub fn helper_cli(name: &'static str, about: &'static str) -> Option<ExitCode> {
    let cmd = clap::Command::new(name).version(VERSION).about(about);
    match cmd.try_get_matches_from(std::env::args()) {
        Ok(_) => None,
        Err(e) => {
            let _ = e.print();
            Some(if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS })
        }
    }
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
            let pipes = crate::stdio::fronted_stdio();
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
    pub spec: &'static ServerSpec,
    /// What session_status reports as the backend ("sim", "gateway", "binance").
    pub backend: String,
    pub venue: Arc<dyn Venue>,
    pub common: Common,
    pub journal: Journal,
    pub clock: Arc<dyn Clock>,
    /// The server's instructions to the model (the venue's words).
    pub instructions: &'static str,
    /// Tools only this venue serves, each in its toolset.
    pub venue_tools: Vec<(Toolset, ToolRouter<TradingServer>)>,
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
    let name = l.spec.name;
    for w in &l.common.warnings {
        tracing::warn!("{w}");
    }
    tracing::info!(
        backend = %l.backend,
        venue = %l.venue.name(),
        journal = %l.journal.path().display(),
        dry_run = l.common.policy.dry_run,
        read_only = l.common.read_only,
        "{name} starting"
    );
    let equity = match &l.common.equity_history {
        Some((path, every)) => {
            let store = Arc::new(EquityStore::open(path)?);
            equity::spawn_sampler(l.venue.clone(), store.clone(), l.clock.clone(), *every);
            Some(store)
        }
        None => None,
    };
    let broker = Arc::new(GuardedBroker::new(l.venue, l.common.policy, Arc::new(l.journal), l.clock));
    let settings = ServerSettings {
        name: name.into(),
        backend: l.backend,
        read_only: l.common.read_only,
        toolsets: l.common.toolsets,
        poll_interval: l.common.poll_interval,
        equity,
        instructions: l.instructions,
        approval: l.common.approval,
    };
    let server = TradingServer::with_venue_tools(broker, settings, l.venue_tools);
    let desk = server.desk().clone();
    if let Transport::Stdio = l.common.transport {
        let console = crate::console::router(server.clone());
        match crate::approval::page::serve_loopback(desk.clone(), desk.settings.bind, console).await {
            Ok(addr) => tracing::info!("console and approval page on http://{addr}/console"),
            Err(e) => tracing::warn!(
                "the console could not listen on {} ({e}): no console, no web approval",
                desk.settings.bind
            ),
        }
    }
    desk.start_push_listener();
    serve(server, l.common.transport, name).await?;
    Ok(())
}

/// Runs `fut` on a current-thread Tokio runtime (one client, sequential calls: no cross-thread
/// wake-ups on the hot path); `None`, said on stderr, when the runtime cannot start.
pub fn block_on<F: Future>(name: &str, fut: F) -> Option<F::Output> {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => Some(rt.block_on(fut)),
        Err(e) => {
            eprintln!("{name}: cannot start the runtime: {e}");
            None
        }
    }
}

/// A server binary's `main`: its settings read once (`.env` included), then the `auth` or
/// `journal` subcommand (`journal_path` resolves the journal the server would open), or the
/// command line checked, logging started and `run` served, with any error printed on one line
/// and a failure exit code.
pub fn main<E, F>(
    spec: &'static ServerSpec,
    journal_path: impl FnOnce(&HashMap<String, String>) -> Result<PathBuf, ConfigError>,
    run: impl FnOnce(HashMap<String, String>, Vec<String>) -> F,
) -> ExitCode
where
    E: std::fmt::Display,
    F: Future<Output = Result<(), E>>,
{
    let name = spec.name;
    let env = environment();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("auth") => return auth_subcommand(&args, &env, name).unwrap_or(ExitCode::FAILURE),
        Some("journal") => {
            return match journal_path(&env) {
                Ok(path) => journal_subcommand(&args[1..], &path, spec.policy_keys.journal_tz, name),
                Err(e) => {
                    eprintln!("{name} journal: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Some("manifest") => return manifest_subcommand(spec, &args[1..]),
        _ => {}
    }
    use clap::{CommandFactory, FromArgMatches};
    let parsed = Cli::command()
        .name(name)
        .try_get_matches_from(std::iter::once(name.to_string()).chain(args.iter().cloned()))
        .and_then(|m| Cli::from_arg_matches(&m));
    if let Err(e) = parsed {
        let _ = e.print();
        return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
    }
    if let Err(e) = init_logging(&env) {
        eprintln!("{name} cannot start: {e}");
        return ExitCode::FAILURE;
    }
    match block_on(name, run(env, args)) {
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(e)) => {
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}
