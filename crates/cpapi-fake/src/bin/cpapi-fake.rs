//! `cpapi-fake`: run the fake Client Portal Gateway by hand.
//!
//! `cpapi-fake [--port 5000] [--plain] [--logged-out] [--seed N] [--idle-seconds 360]` (the
//! brokerage session's idle timeout, compressed for trying the keeper by hand). TLS with a fresh self-signed
//! certificate by default, like the real gateway; its SHA-256 is printed for
//! IBKR_GATEWAY_CERT_SHA256. Controls: POST /__fake/login, /__fake/timeout, /__fake/compete,
//! /__fake/logout.

use anyhow::{Context, bail};
use cpapi_fake::{FakeGateway, Session, State};
use sim_venue::SimConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let mut port = 5000u16;
    let (mut plain, mut logged_out, mut seed) = (false, false, 42u64);
    let mut idle_seconds = 360u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => {
                port = args.next().context("--port needs a number")?.parse().context("--port needs a number")?
            }
            "--seed" => {
                seed = args.next().context("--seed needs a number")?.parse().context("--seed needs a number")?
            }
            "--idle-seconds" => {
                idle_seconds = args
                    .next()
                    .context("--idle-seconds needs a number")?
                    .parse()
                    .context("--idle-seconds needs a number")?
            }
            "--plain" => plain = true,
            "--logged-out" => logged_out = true,
            other => {
                bail!(
                    "unknown argument {other}; usage: cpapi-fake [--port 5000] [--plain] [--logged-out] [--seed N] [--idle-seconds 360]"
                )
            }
        }
    }
    let mut state = State::new(SimConfig { seed, ..SimConfig::default() }, "DU1234567");
    state.idle_timeout = std::time::Duration::from_secs(idle_seconds);
    if logged_out {
        state.session = Session::NoSession;
    }
    let gw = if plain { FakeGateway::start(state, port).await? } else { FakeGateway::start_tls(state, port).await? };
    println!("fake Client Portal Gateway at {}", gw.base_url());
    if let Some(f) = &gw.cert_sha256 {
        println!("certificate SHA-256: {f}");
    }
    println!("log in: curl -k -X POST {}/__fake/login", gw.base_url().trim_end_matches("/v1/api"));
    tokio::signal::ctrl_c().await?;
    Ok(())
}
