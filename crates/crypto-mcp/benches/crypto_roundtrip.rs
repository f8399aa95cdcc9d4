//! crypto-mcp round trips over stdio against the fake binance and the fake kraken on loopback
//! (every tool call goes MCP client → crypto-mcp → ccxt → HTTP → fake), and on the simulator.
//! Run: `cargo bench -p crypto-mcp --bench crypto_roundtrip` (numbers go to BENCHMARKS.md).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is right

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use exchange_fake::{Dialect, FakeConfig, FakeExchange};
use serde_json::json;
use test_support::mcp_client::{
    McpChild,
    measure::{rss_kib, summary, time_calls},
};

const BIN: &str = env!("CARGO_BIN_EXE_crypto-mcp");
const CALLS: usize = 1000;
const WARMUP: usize = 50;

async fn server(dir: &std::path::Path, name: &str, extra: &[(&str, &str)]) -> McpChild {
    let j = dir.join(format!("{name}.jsonl")).display().to_string();
    let mut env =
        vec![("CRYPTO_TRADE_JOURNAL_PATH", j.as_str()), ("EQUITY_SAMPLE_SECONDS", "0"), ("LOG_LEVEL", "error")];
    env.extend_from_slice(extra);
    McpChild::spawn(BIN.as_ref(), &env, Stdio::null()).await.unwrap()
}

async fn run() {
    println!("binary: {BIN}");
    for d in [Dialect::Binance, Dialect::Kraken] {
        on_exchange(d).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let c = server(dir.path(), "sim", &[]).await;
    summary(
        "get_quote on the simulator backend",
        time_calls(&c, "get_quote", json!({"symbol": "BTC"}), WARMUP, CALLS).await.unwrap(),
    );
    c.shutdown().await.unwrap();
}

async fn on_exchange(d: Dialect) {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_on_its_own_thread(d);
    let base = fake.base_url();
    let cfg = FakeConfig::of(d);
    let exchange = [
        ("CRYPTO_BACKEND", "exchange"),
        ("CRYPTO_EXCHANGE", d.exchange_id()),
        ("CRYPTO_API_BASE_URL", base.as_str()),
        ("CRYPTO_API_KEY", cfg.api_key.as_str()),
        ("CRYPTO_API_SECRET", cfg.secret.as_str()),
    ];
    println!("== {}", d.exchange_id());

    let mut cold = vec![];
    for i in 0..20 {
        let t = Instant::now();
        let c = server(dir.path(), &format!("cold{i}"), &exchange).await;
        c.list_tools().await.unwrap();
        cold.push(t.elapsed());
        c.shutdown().await.unwrap();
    }
    summary("cold start → first tools/list (exchange backend)", cold);
    let mut first = vec![];
    for i in 0..20 {
        let c = server(dir.path(), &format!("first{i}"), &exchange).await;
        let t = Instant::now();
        c.call("get_quote", json!({"symbol": "BTC"})).await.unwrap();
        first.push(t.elapsed());
        c.shutdown().await.unwrap();
    }
    summary("first get_quote (loads markets, then a ticker)", first);

    let c = server(dir.path(), "reads", &exchange).await;
    c.call("get_quote", json!({"symbol": "BTC"})).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    if let Some(kib) = c.pid().and_then(rss_kib) {
        println!("{:<48} {:.1} MiB", "idle RSS after init + one call", kib as f64 / 1024.0);
    }
    summary(
        "get_quote (1 ticker request)",
        time_calls(&c, "get_quote", json!({"symbol": "BTC"}), WARMUP, CALLS).await.unwrap(),
    );
    summary(
        "get_quotes, 3 pairs (1 tickers request)",
        time_calls(&c, "get_quotes", json!({"symbols": ["BTC", "ETH", "SOL"]}), WARMUP, CALLS).await.unwrap(),
    );
    summary(
        "account_summary (balance + tickers)",
        time_calls(&c, "account_summary", json!({}), WARMUP, CALLS).await.unwrap(),
    );
    c.shutdown().await.unwrap();

    let open = [
        ("ORDER_CONFIRMATION", "off"),
        ("DUPLICATE_WINDOW_SECONDS", "0"),
        ("MAX_DAILY_ORDERS", "off"),
        ("MAX_DAILY_VALUE", "off"),
        ("MAX_POSITION_VALUE", "off"),
        ("CRYPTO_DRY_RUN", "false"),
        ("CRYPTO_ALLOW_LIVE", "true"),
    ];
    let mut env = exchange.to_vec();
    env.extend(open);
    // Kraken's nonce is the millisecond clock, pushed ahead by a burst of calls; a process
    // started at once after 3,000 of them would send smaller ones (the fake, like Kraken,
    // refuses). A person never restarts that fast.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let c = server(dir.path(), "orders", &env).await;
    summary(
        "guarded market buy, sent and filled",
        time_calls(&c, "buy", json!({"symbol": "ETH", "cash_amount": 10}), WARMUP, CALLS).await.unwrap(),
    );
    c.shutdown().await.unwrap();
}

/// The fake runs on its own thread and runtime, so the client below is a plain
/// current-thread MCP client like the ibkr-mcp benchmark's.
fn fake_on_its_own_thread(d: Dialect) -> FakeExchange {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let cfg = FakeConfig::of(d);
            let quote = cfg.pairs[0].quote.clone();
            let rich = FakeConfig { balances: vec![(quote, "100000000".into())], ..cfg };
            tx.send(FakeExchange::start(rich, 0).await.unwrap()).unwrap();
            std::future::pending::<()>().await
        })
    });
    rx.recv().unwrap()
}

fn main() {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run());
}
