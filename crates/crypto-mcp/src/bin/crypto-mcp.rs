//! `crypto-mcp`: tradegate's MCP server for crypto exchanges (spot, through ccxt; stdio, or
//! HTTP with `--transport http`). `crypto-mcp auth ...` administers its OAuth clients,
//! `crypto-mcp journal ...` checks and acknowledges its journal.

use std::{collections::HashMap, sync::Arc};

use anyhow::Context;
use crypto_mcp::config::{Backend, CryptoConfig, SPEC};
use sim_venue::SimVenue;
use trading_core::{
    journal::Journal,
    ports::{Clock, SystemClock, Venue},
};
use trading_mcp::launch::{self, Launch};

async fn run(env: HashMap<String, String>, args: Vec<String>) -> anyhow::Result<()> {
    let cfg = CryptoConfig::from_env_and_args(&env, &args).context("crypto-mcp cannot start")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let journal =
        Journal::open(&cfg.common.journal_path, SPEC.policy_keys.journal_tz).context("crypto-mcp cannot start")?;
    let venue: Arc<dyn Venue> = match cfg.backend {
        Backend::Sim => Arc::new(SimVenue::new(cfg.sim.clone(), clock.clone())),
        Backend::Exchange => {
            let symbols = journal.with_index(|i| i.symbols());
            let venue = crypto_venue::connect_exchange(&cfg.exchange, symbols).context("crypto-mcp cannot start")?;
            if !cfg.exchange.api_key.is_empty() {
                // A key that can withdraw is refused before anything is served; an exchange that
                // cannot be asked now is said, not fatal (session_status tells the rest).
                match crypto_venue::check_withdraw_permission(&venue, cfg.exchange.allow_withdraw_keys).await {
                    Ok(line) => tracing::info!("{line}"),
                    Err(refusal) => anyhow::bail!("crypto-mcp cannot start: {refusal}"),
                }
            }
            Arc::new(venue)
        }
    };
    launch::run(Launch {
        spec: &SPEC,
        backend: match cfg.backend {
            Backend::Sim => "sim".into(),
            Backend::Exchange => cfg.exchange.id.clone(),
        },
        venue,
        common: cfg.common,
        journal,
        clock,
        instructions: crypto_mcp::INSTRUCTIONS,
        venue_tools: vec![],
    })
    .await
    .context("crypto-mcp stopped")
}

fn main() -> std::process::ExitCode {
    launch::main(&SPEC, CryptoConfig::journal_path, run)
}
