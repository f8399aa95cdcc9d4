//! `crypto-mcp`: tradegate's MCP server for crypto exchanges (spot, through ccxt; stdio, or
//! HTTP with `--transport http`). `crypto-mcp auth ...` administers its OAuth clients.

use std::{collections::HashMap, sync::Arc};

use anyhow::Context;
use crypto_agent::config::{Backend, CryptoConfig};
use sim_venue::SimVenue;
use trading_core::{
    config::CRYPTO_KEYS,
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
    launch::run(Launch {
        name: "crypto-mcp",
        backend: match cfg.backend {
            Backend::Sim => "sim".into(),
            Backend::Exchange => cfg.exchange.id.clone(),
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
    .context("crypto-mcp stopped")
}

fn main() -> std::process::ExitCode {
    let journal = |env: &HashMap<String, String>| CryptoConfig::from_env_and_args(env, &[]).map(|c| c.journal_path);
    if let Some(code) = launch::journal_command("crypto-mcp", CRYPTO_KEYS.journal_tz, journal) {
        return code;
    }
    launch::main("crypto-mcp", run)
}
