//! `crypto-healthcheck`: can crypto-mcp reach the exchange, with working keys?
//! Prints what it finds and `[OK]` (exit 0), or a one-line `[WARN]` hint (exit 1). Never panics.

use std::process::ExitCode;

use crypto_mcp::config::{Backend, CryptoConfig};
use trading_core::{
    error::VenueError,
    money::fmt_money,
    ports::{Account, MarketData},
};

fn warn(msg: impl std::fmt::Display) -> ExitCode {
    println!("[WARN] {msg}");
    ExitCode::FAILURE
}

fn hint(e: &VenueError, exchange: &str, base: &str) -> String {
    match e {
        VenueError::SessionExpired(_) => format!(
            "{exchange} refused the API keys: check CRYPTO_API_KEY / CRYPTO_API_SECRET, that they are {} keys, and that the key may read balances ({e})",
            if base.contains("testnet") { "testnet" } else { "this mode's" }
        ),
        VenueError::Transport { .. } => {
            format!(
                "cannot reach {exchange} at {base}: check the network, CRYPTO_API_BASE_URL and CRYPTO_TRADING_MODE ({e})"
            )
        }
        other => other.to_string(),
    }
}

async fn run() -> ExitCode {
    let cfg = match CryptoConfig::from_env(&trading_mcp::settings::environment()) {
        Ok(c) => c,
        Err(e) => return warn(e),
    };
    if cfg.backend == Backend::Sim {
        return warn("CRYPTO_BACKEND is sim (the default): set CRYPTO_BACKEND=exchange to check a real exchange");
    }
    let ex = &cfg.exchange;
    let venue = match crypto_venue::connect_exchange(ex, []) {
        Ok(v) => v,
        Err(e) => return warn(e),
    };
    let facts = venue.client().facts;
    let base = ex.base_url.clone().unwrap_or_else(|| match (ex.sandbox, facts.testnet) {
        (true, Some(t)) => format!("its testnet ({t})"),
        _ => "its live API".into(),
    });
    let mode = match (ex.sandbox, venue.client().can_trade) {
        (false, _) => "LIVE".to_string(),
        (true, true) => "sandbox".to_string(),
        (true, false) => "sandbox: it has no spot testnet, so orders are only dry-run".to_string(),
    };
    println!("Exchange: {} ({}, {mode}) at {base}", facts.name, ex.id);
    if ex.api_key.is_empty() || ex.secret.is_empty() {
        let keys = match (ex.sandbox, facts.testnet) {
            (true, Some(t)) => format!("testnet keys: {t}"),
            _ => format!("keys: {}", facts.keys_page),
        };
        return warn(format!("CRYPTO_API_KEY and CRYPTO_API_SECRET are not set ({keys})"));
    }
    let markets = match venue.markets().await {
        Ok(m) => m,
        Err(e) => return warn(hint(&e, &ex.id, &base)),
    };
    println!("Markets: {} spot pairs", markets.len());
    let summary = match venue.summary().await {
        Ok(s) => s,
        Err(e) => return warn(hint(&e, &ex.id, &base)),
    };
    println!("Auth: ok (account {})", summary.account_id);
    match crypto_venue::check_withdraw_permission(&venue, ex.allow_withdraw_keys).await {
        Ok(line) => println!("{line}"),
        Err(refusal) => return warn(refusal),
    }
    let free = summary.available_funds.map(|m| m.0).unwrap_or_default();
    println!("Free {}: {}", ex.quote, fmt_money(free, &ex.quote));
    let pair = format!("BTC/{}", ex.quote);
    match venue.quote(&pair).await {
        Ok(q) => println!(
            "{pair}: last {} bid {} ask {}",
            q.last.map(|p| p.0.to_string()).unwrap_or_else(|| "-".into()),
            q.bid.map(|p| p.0.to_string()).unwrap_or_else(|| "-".into()),
            q.ask.map(|p| p.0.to_string()).unwrap_or_else(|| "-".into())
        ),
        Err(e) => return warn(hint(&e, &ex.id, &base)),
    }
    match venue.positions().await {
        Ok(p) => println!("Positions: {}", p.len()),
        Err(e) => return warn(hint(&e, &ex.id, &base)),
    }
    println!("Note: {}", facts.notes);
    println!("[OK] {} reachable and the keys work.", ex.id);
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    if let Some(code) = trading_mcp::launch::helper_cli(
        "crypto-healthcheck",
        "Can crypto-mcp reach the exchange with working keys? Settings come from the environment (see .env.example)",
    ) {
        return code;
    }
    trading_mcp::launch::block_on("crypto-healthcheck", run()).unwrap_or(ExitCode::FAILURE)
}
