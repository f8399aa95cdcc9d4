//! `ibkr-mcp`: tradegate's MCP server for Interactive Brokers (stdio, or HTTP with
//! `--transport http`). `ibkr-mcp auth ...` administers its OAuth clients, `ibkr-mcp journal
//! ...` checks and acknowledges its journal.

use std::{collections::HashMap, sync::Arc};

use anyhow::Context;
use ibkr_mcp::config::{Backend, SPEC, ServerConfig};
use sim_venue::SimVenue;
use trading_core::{
    journal::Journal,
    ports::{Clock, SystemClock, Venue},
};
use trading_mcp::{
    launch::{self, Launch},
    settings::Toolset,
};

async fn run(env: HashMap<String, String>, args: Vec<String>) -> anyhow::Result<()> {
    let cfg = ServerConfig::from_env_and_args(&env, &args).context("ibkr-mcp cannot start")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let venue: Arc<dyn Venue> = match cfg.backend {
        Backend::Sim => Arc::new(SimVenue::new(cfg.sim.clone(), clock.clone())),
        Backend::Gateway => {
            let (venue, keeper) = ibkr_venue::connect_gateway(&cfg.gateway).context("ibkr-mcp cannot start")?;
            // Keep the session alive for as long as the server runs.
            keeper.spawn(cfg.gateway.tickle_interval);
            venue
        }
    };
    let journal =
        Journal::open(&cfg.common.journal_path, SPEC.policy_keys.journal_tz).context("ibkr-mcp cannot start")?;
    launch::run(Launch {
        spec: &SPEC,
        backend: match cfg.backend {
            Backend::Sim => "sim".into(),
            Backend::Gateway => "gateway".into(),
        },
        venue_tools: vec![(Toolset::Research, ibkr_mcp::scanner::router(venue.clone()))],
        venue,
        common: cfg.common,
        journal,
        clock,
        instructions: ibkr_mcp::INSTRUCTIONS,
    })
    .await
    .context("ibkr-mcp stopped")
}

fn main() -> std::process::ExitCode {
    launch::main(&SPEC, ServerConfig::journal_path, run)
}
