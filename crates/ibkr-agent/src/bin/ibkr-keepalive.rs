//! `ibkr-keepalive`: keeps the Client Portal Gateway session alive (tickle, ssodh recovery)
//! and alerts when a human must log in again, until Ctrl+C or SIGTERM.

use std::{collections::HashMap, process::ExitCode};

use ibkr_agent::config::ServerConfig;

async fn run() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    let env: HashMap<String, String> = std::env::vars().collect();
    let filter = tracing_subscriber::EnvFilter::try_new(env.get("LOG_LEVEL").map(String::as_str).unwrap_or("info"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).init();
    let cfg = ServerConfig::from_env(&env)?;
    let (_, keeper) = ibkr_agent::connect_gateway(&cfg.gateway)?;
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
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ibkr-keepalive: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ibkr-keepalive: {e:#}");
            ExitCode::FAILURE
        }
    }
}
