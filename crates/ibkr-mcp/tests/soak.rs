//! A soak of the real `ibkr-mcp` over stdio: a mix of reads, previews, refusals and bad
//! arguments, call after call, with the server's resident memory read at the start and the
//! end. CI runs a short soak; the long one: `SOAK_CALLS=100000 cargo test -p ibkr-mcp --test
//! soak --release -- --nocapture` (figures in RELIABILITY.md).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use std::process::Stdio;

use serde_json::json;
use test_support::mcp_client::{McpChild, measure::rss_kib};

const BIN: &str = env!("CARGO_BIN_EXE_ibkr-mcp");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_flat_over_many_calls() {
    let calls: usize = std::env::var("SOAK_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j.jsonl").display().to_string();
    let c = McpChild::spawn(
        BIN.as_ref(),
        &[("TRADE_JOURNAL_PATH", j.as_str()), ("EQUITY_SAMPLE_SECONDS", "0"), ("LOG_LEVEL", "error")],
        Stdio::null(),
    )
    .await
    .unwrap();
    let pid = c.pid().unwrap();
    let mix = [
        ("get_quote", json!({"symbol": "AAPL"})),
        ("get_quotes", json!({"symbols": ["AAPL", "MSFT", "KO"]})),
        ("preview_order", json!({"symbol": "AAPL", "cash_amount": 20})),
        ("buy", json!({"symbol": "AAPL", "cash_amount": 5000})),
        ("preview_order", json!({"symbol": "AAPL", "quantity": 1, "limit": 200})),
        ("session_status", json!({})),
        ("positions", json!({})),
        ("get_quote", json!({"symbol": "APPL"})),
    ];
    let warm = calls / 10;
    let mut start = 0;
    for i in 0..calls {
        if i == warm {
            start = rss_kib(pid).unwrap();
        }
        let (tool, args) = &mix[i % mix.len()];
        let a = c.call(tool, args.clone()).await.unwrap();
        assert!(a.body["ok"].is_boolean(), "{tool}: {}", a.body);
    }
    let end = rss_kib(pid).unwrap();
    eprintln!("soak: {calls} calls, RSS after warm-up {start} KiB, at the end {end} KiB");
    assert!(end <= start + start / 2 + 4096, "RSS grew from {start} KiB to {end} KiB");
}
