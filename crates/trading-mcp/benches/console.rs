//! The console's server-side render time and payload with 50 positions and 10,000 journal
//! lines, over loopback HTTP as a browser fetches it (simulator behind, release build).
//! Run: `cargo bench -p trading-mcp --bench console` (numbers go to BENCHMARKS.md).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is right

use std::{collections::HashMap, sync::Arc, time::Instant};

use rust_decimal::Decimal;
use sim_venue::{SimConfig, SimVenue};
use test_support::{
    mcp_client::measure::summary,
    orders::{env, market},
};
use trading_core::{
    broker::GuardedBroker,
    config::{Policy, PolicyKeys},
    journal::{Journal, JournalRecord, RecordKind},
    money::Money,
    order::{Side, Size},
    ports::{Clock, SystemClock, Venue},
};
use trading_mcp::{ServerSettings, TradingServer};

const N: usize = 200;

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let symbols: Vec<String> = (0..50).map(|i| format!("S{i:02}")).collect();
    let prices: HashMap<String, Decimal> = symbols.iter().map(|s| (s.clone(), Decimal::from(100))).collect();
    let venue: Arc<dyn Venue> = Arc::new(SimVenue::new(SimConfig { prices, ..SimConfig::default() }, clock.clone()));
    let journal = Arc::new(Journal::open(&dir.path().join("j.jsonl"), PolicyKeys::GENERIC.journal_tz).unwrap());
    let policy = Policy::from_env(
        &env(&[
            ("TRADING_DRY_RUN", "false"),
            ("ORDER_CONFIRMATION", "off"),
            ("MAX_ORDER_VALUE", "off"),
            ("MAX_POSITION_VALUE", "off"),
            ("MAX_DAILY_VALUE", "off"),
            ("MAX_DAILY_ORDERS", "off"),
            ("DUPLICATE_WINDOW_SECONDS", "0"),
        ]),
        PolicyKeys::GENERIC,
    )
    .unwrap();
    let broker = Arc::new(GuardedBroker::new(venue, policy, journal.clone(), clock));
    for s in &symbols {
        broker.submit(market(s, Side::Buy, Size::Cash(Money(Decimal::from(50)))), None).await.unwrap();
    }
    // The rest of 10,000 lines: remote calls, as an HTTP server's audit writes them.
    let have = journal.tail(0).unwrap().0.len();
    for i in have..10_000 {
        let rec = JournalRecord {
            timestamp: journal.timestamp(broker.now()),
            kind: RecordKind::Call,
            venue: "bench".into(),
            tool: Some(if i % 2 == 0 { "get_quote" } else { "positions" }.into()),
            caller: Some("bench-client".into()),
            status: "ok".into(),
            ..Default::default()
        };
        journal.append_audit(rec).unwrap();
    }
    let settings = ServerSettings::in_process("bench");
    let server = TradingServer::new(broker, settings);
    let console = trading_mcp::console::router(server.clone());
    let addr =
        trading_mcp::approval::page::serve_loopback(server.desk().clone(), "127.0.0.1:0".parse().unwrap(), console)
            .await
            .unwrap();
    let http = reqwest::Client::new();
    println!("50 positions, {} journal lines", journal.tail(0).unwrap().0.len());
    for view in ["/console", "/console/holdings", "/console/activity", "/console/approvals"] {
        let url = format!("http://{addr}{view}");
        let mut times = vec![];
        let mut bytes = 0;
        for i in 0..N + 10 {
            let t = Instant::now();
            let body = http.get(&url).send().await.unwrap().bytes().await.unwrap();
            if i >= 10 {
                times.push(t.elapsed());
            }
            bytes = body.len();
        }
        summary(&format!("GET {view} ({} KiB)", bytes / 1024), times);
    }
}

fn main() {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt.block_on(run()),
        Err(e) => eprintln!("console bench: {e}"),
    }
}
