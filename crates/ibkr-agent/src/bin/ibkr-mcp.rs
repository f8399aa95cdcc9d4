//! `ibkr-mcp`: tradegate's MCP server for Interactive Brokers, over stdio.

use std::{collections::HashMap, sync::Arc};

use anyhow::Context;
use ibkr_agent::config::{Backend, ServerConfig};
use sim_venue::SimVenue;
use trading_core::{
    broker::GuardedBroker,
    config::IBKR_KEYS,
    journal::Journal,
    ports::{Clock, SystemClock, Venue},
};
use trading_mcp::{
    ServerSettings, TradingServer,
    equity::{self, EquityStore},
};

async fn run() -> anyhow::Result<()> {
    // A .env in the working directory is a convenience, never required.
    let _ = dotenvy::dotenv();
    let env: HashMap<String, String> = std::env::vars().collect();
    trading_mcp::launch::init_logging(&env);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = ServerConfig::from_env_and_args(&env, &args).context("ibkr-mcp cannot start")?;
    for w in &cfg.warnings {
        tracing::warn!("{w}");
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let venue: Arc<dyn Venue> = match cfg.backend {
        Backend::Sim => Arc::new(SimVenue::new(cfg.sim.clone(), clock.clone())),
        Backend::Gateway => {
            let (venue, keeper) = ibkr_agent::connect_gateway(&cfg.gateway).context("ibkr-mcp cannot start")?;
            // Keep the session alive for as long as the server runs.
            keeper.spawn(cfg.gateway.tickle_interval);
            venue
        }
    };
    let journal = Journal::open(&cfg.journal_path, IBKR_KEYS.journal_tz).context("ibkr-mcp cannot start")?;
    tracing::info!(journal = %cfg.journal_path.display(), backend = ?cfg.backend, dry_run = cfg.policy.dry_run, read_only = cfg.read_only, "ibkr-mcp starting");
    let equity = match &cfg.equity_history {
        Some((path, every)) => {
            let store = Arc::new(EquityStore::open(path).context("ibkr-mcp cannot start")?);
            equity::spawn_sampler(venue.clone(), store.clone(), clock.clone(), *every);
            Some(store)
        }
        None => None,
    };
    let broker = Arc::new(GuardedBroker::new(venue, cfg.policy, Arc::new(journal), clock));
    let settings = ServerSettings {
        name: "ibkr-mcp".into(),
        backend: match cfg.backend {
            Backend::Sim => "sim".into(),
            Backend::Gateway => "gateway".into(),
        },
        read_only: cfg.read_only,
        poll_interval: cfg.poll_interval,
        equity,
    };
    let server = TradingServer::new(broker, settings);
    trading_mcp::launch::serve(server, cfg.transport, "ibkr-mcp").await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("auth") {
        let _ = dotenvy::dotenv();
        let env: HashMap<String, String> = std::env::vars().collect();
        if let Some(code) = trading_mcp::launch::auth_subcommand(&args, &env, "ibkr-mcp") {
            return code;
        }
    }
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ibkr-mcp: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ibkr-mcp: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
