//! `ibkr-keepalive`: keeps the Client Portal Gateway session alive (tickle, ssodh recovery)
//! and alerts when a human must log in again, until Ctrl+C or SIGTERM.

use std::process::ExitCode;

use ibkr_mcp::config::ServerConfig;
use trading_mcp::{launch, settings::environment};

async fn run() -> anyhow::Result<()> {
    let env = environment();
    launch::init_logging(&env)?;
    let cfg = ServerConfig::from_env(&env)?;
    let (_, keeper) = ibkr_venue::connect_gateway(&cfg.gateway)?;
    tracing::info!(gateway = %cfg.gateway.base_url, every = ?cfg.gateway.tickle_interval, "ibkr-keepalive running");
    let task = keeper.spawn(cfg.gateway.tickle_interval);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    task.abort();
    tracing::info!("ibkr-keepalive stopped");
    Ok(())
}

fn main() -> ExitCode {
    if let Some(code) = trading_mcp::launch::helper_cli(
        "ibkr-keepalive",
        "Keeps the Client Portal Gateway session alive and alerts when a person must log in again",
    ) {
        return code;
    }
    match launch::block_on("ibkr-keepalive", run()) {
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(e)) => {
            eprintln!("ibkr-keepalive: {e:#}");
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}
