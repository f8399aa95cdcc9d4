//! `ibkr-healthcheck`: is the Client Portal Gateway up, logged in and able to trade?
//! Prints what it finds and `[OK]` (exit 0), or a one-line `[WARN]` hint (exit 1). Never panics.

use std::process::ExitCode;

use ibkr_mcp::config::ServerConfig;
use ibkr_venue::{cpapi::CpapiError, session::SessionState};
use trading_core::{
    money::fmt_money,
    ports::{Account, MarketData},
};

fn warn(msg: impl std::fmt::Display) -> ExitCode {
    println!("[WARN] {msg}");
    ExitCode::FAILURE
}

fn hint(e: &CpapiError, base: &str) -> String {
    match e {
        CpapiError::Transport(detail)
            if detail.contains("certificate") || detail.contains("TLS") || detail.contains("tls") =>
        {
            format!(
                "TLS with the gateway at {base} failed ({detail}); check IBKR_GATEWAY_CERT_SHA256 (the gateway's certificate changes when it is reinstalled)"
            )
        }
        CpapiError::Transport(_) => format!(
            "cannot reach the Client Portal Gateway at {base}: start it (bin/run.sh root/conf.yaml), log in, or fix IBKR_API_BASE_URL"
        ),
        CpapiError::NotAuthenticated(_) => format!(
            "the gateway at {base} has no logged-in session. Log in at {} in a browser on this machine (with 2FA), then rerun",
            base.trim_end_matches('/').trim_end_matches("/v1/api")
        ),
        other => other.to_string(),
    }
}

async fn run() -> ExitCode {
    let cfg = match ServerConfig::from_env(&trading_mcp::settings::environment()) {
        Ok(c) => c,
        Err(e) => return warn(e),
    };
    let (venue, keeper) = match ibkr_venue::connect_gateway(&cfg.gateway) {
        Ok(v) => v,
        Err(e) => return warn(e),
    };
    let base = cfg.gateway.base_url.clone();
    println!("Gateway: {base}");
    let (state, raw) = match keeper.status().await {
        Ok(v) => v,
        Err(e) => return warn(hint(&e, &base)),
    };
    println!("Server: {}", raw["serverInfo"]["serverVersion"].as_str().unwrap_or("unknown"));
    println!(
        "Auth: authenticated={} connected={} competing={}",
        raw["authenticated"], raw["connected"], raw["competing"]
    );
    match state {
        SessionState::Authenticated => {}
        SessionState::ConnectedNotAuthenticated => {
            if let Err(e) = keeper.recover().await {
                return warn(hint(&e, &base));
            }
            println!("Session: reopened the brokerage session (ssodh/init)");
        }
        SessionState::Competing => {
            return warn(
                "another login (TWS, IBKR Mobile or a browser) holds the brokerage session; log out there or log in again at the gateway",
            );
        }
        _ => return warn(hint(&CpapiError::NotAuthenticated(String::new()), &base)),
    }
    let (account, props, _) = match venue.account_properties().await {
        Ok(v) => v,
        Err(e) => return warn(e),
    };
    let paper = match venue.identity().await.map(|i| i.is_paper) {
        Ok(Some(true)) => "PAPER",
        Ok(Some(false)) => "LIVE",
        _ => "UNKNOWN",
    };
    println!("Account: {account} ({paper})");
    println!(
        "Capabilities: supportsCashQty={} supportsFractions={} liteUnderPro={}",
        props["supportsCashQty"], props["supportsFractions"], props["liteUnderPro"]
    );
    match venue.summary().await {
        Ok(s) => {
            let m =
                |x: Option<trading_core::money::Money>| x.map(|v| fmt_money(v.0, &s.currency)).unwrap_or("-".into());
            println!(
                "Balance: available {}  net liquidation {}  buying power {}",
                m(s.available_funds),
                m(s.net_liquidation),
                m(s.buying_power)
            );
        }
        Err(e) => return warn(format!("account summary failed: {e}")),
    }
    match venue.quote("AAPL").await {
        Ok(q) => println!(
            "Quote AAPL: last {} bid {} ask {}{}",
            q.last.map(|p| p.to_string()).unwrap_or("-".into()),
            q.bid.map(|p| p.to_string()).unwrap_or("-".into()),
            q.ask.map(|p| p.to_string()).unwrap_or("-".into()),
            q.note.map(|n| format!(" ({n})")).unwrap_or_default()
        ),
        Err(e) => return warn(format!("market data failed: {e}")),
    }
    match venue.positions().await {
        Ok(p) => println!("Positions: {}", p.len()),
        Err(e) => return warn(format!("positions failed: {e}")),
    }
    println!("[OK] Connection healthy.");
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    if let Some(code) = trading_mcp::launch::helper_cli(
        "ibkr-healthcheck",
        "Is the Client Portal Gateway up, logged in and able to trade? Settings come from the environment (see .env.example)",
    ) {
        return code;
    }
    trading_mcp::launch::block_on("ibkr-healthcheck", run()).unwrap_or(ExitCode::FAILURE)
}
