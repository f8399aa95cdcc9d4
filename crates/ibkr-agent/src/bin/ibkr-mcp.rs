//! `ibkr-mcp`: tradegate's MCP server for Interactive Brokers (stdio, or HTTP with
//! `--transport http`). `ibkr-mcp auth ...` administers its OAuth clients.

use std::{collections::HashMap, sync::Arc};

use anyhow::Context;
use ibkr_agent::config::{Backend, ServerConfig};
use sim_venue::SimVenue;
use trading_core::{
    config::IBKR_KEYS,
    journal::Journal,
    ports::{Clock, SystemClock, Venue},
};
use trading_mcp::launch::{self, Launch};

async fn run() -> anyhow::Result<()> {
    // A .env in the working directory is a convenience, never required.
    let _ = dotenvy::dotenv();
    let env: HashMap<String, String> = std::env::vars().collect();
    launch::init_logging(&env)?;
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
    launch::run(Launch {
        name: "ibkr-mcp",
        backend: match cfg.backend {
            Backend::Sim => "sim".into(),
            Backend::Gateway => "gateway".into(),
        },
        venue,
        policy: cfg.policy,
        journal,
        clock,
        read_only: cfg.read_only,
        poll_interval: cfg.poll_interval,
        equity_history: cfg.equity_history,
        transport: cfg.transport,
    })
    .await
    .context("ibkr-mcp stopped")
}

fn main() -> std::process::ExitCode {
    let journal = |env: &HashMap<String, String>| ServerConfig::from_env_and_args(env, &[]).map(|c| c.journal_path);
    if let Some(code) = launch::journal_command("ibkr-mcp", IBKR_KEYS.journal_tz, journal) {
        return code;
    }
    launch::main("ibkr-mcp", run)
}
