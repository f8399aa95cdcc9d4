//! `crypto-mcp`: tradegate's MCP server for crypto exchanges (spot, through ccxt).

use std::{collections::HashMap, sync::Arc};

use anyhow::Context;
use crypto_agent::config::{Backend, CryptoConfig};
use sim_venue::SimVenue;
use trading_core::{
    broker::GuardedBroker,
    config::CRYPTO_KEYS,
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
    let cfg = CryptoConfig::from_env_and_args(&env, &args).context("crypto-mcp cannot start")?;
    for w in &cfg.warnings {
        tracing::warn!("{w}");
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let journal = Journal::open(&cfg.journal_path, CRYPTO_KEYS.journal_tz).context("crypto-mcp cannot start")?;
    let venue: Arc<dyn Venue> = match cfg.backend {
        Backend::Sim => Arc::new(SimVenue::new(cfg.sim.clone(), clock.clone())),
        Backend::Exchange => {
            let symbols = journal.with_index(|i| i.symbols());
            Arc::new(crypto_agent::connect_exchange(&cfg.exchange, symbols).context("crypto-mcp cannot start")?)
        }
    };
    tracing::info!(
        journal = %cfg.journal_path.display(),
        backend = ?cfg.backend,
        exchange = %cfg.exchange.id,
        sandbox = cfg.exchange.sandbox,
        dry_run = cfg.policy.dry_run,
        read_only = cfg.read_only,
        "crypto-mcp starting"
    );
    let equity = match &cfg.equity_history {
        Some((path, every)) => {
            let store = Arc::new(EquityStore::open(path).context("crypto-mcp cannot start")?);
            equity::spawn_sampler(venue.clone(), store.clone(), clock.clone(), *every);
            Some(store)
        }
        None => None,
    };
    let broker = Arc::new(GuardedBroker::new(venue, cfg.policy, Arc::new(journal), clock));
    let settings = ServerSettings {
        name: "crypto-mcp".into(),
        backend: match cfg.backend {
            Backend::Sim => "sim".into(),
            Backend::Exchange => cfg.exchange.id.clone(),
        },
        read_only: cfg.read_only,
        poll_interval: cfg.poll_interval,
        equity,
    };
    trading_mcp::launch::serve(TradingServer::new(broker, settings), cfg.transport, "crypto-mcp").await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("auth") {
        let _ = dotenvy::dotenv();
        let env: HashMap<String, String> = std::env::vars().collect();
        if let Some(code) = trading_mcp::launch::auth_subcommand(&args, &env, "crypto-mcp") {
            return code;
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("crypto-mcp: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crypto-mcp: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
