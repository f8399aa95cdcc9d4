//! Server round trips over stdio, measured with a Rust MCP client against the real binary.
//! Run: `cargo bench -p ibkr-mcp --bench stdio_roundtrip` (numbers go to BENCHMARKS.md).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is right

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use serde_json::json;
use test_support::mcp_client::{
    HttpChild, McpChild,
    measure::{rss_kib, summary, time_calls},
};

const BIN: &str = env!("CARGO_BIN_EXE_ibkr-mcp");
const CALLS: usize = 2000;
const WARMUP: usize = 100;

async fn server(dir: &std::path::Path, name: &str, extra: &[(&str, &str)]) -> McpChild {
    let j = dir.join(format!("{name}.jsonl")).display().to_string();
    let mut env = vec![("TRADE_JOURNAL_PATH", j.as_str()), ("LOG_LEVEL", "error")];
    env.extend_from_slice(extra);
    McpChild::spawn(BIN.as_ref(), &env, Stdio::null()).await.unwrap()
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    println!("binary: {BIN}");

    // Cold start: spawn to the first tools/list answer.
    let mut cold = vec![];
    for i in 0..30 {
        let t = Instant::now();
        let c = server(dir.path(), &format!("cold{i}"), &[]).await;
        c.list_tools().await.unwrap();
        cold.push(t.elapsed());
        c.shutdown().await.unwrap();
    }
    summary("cold start → first tools/list", cold);

    let c = server(dir.path(), "reads", &[]).await;
    c.list_tools().await.unwrap();
    c.call("get_quote", json!({"symbol": "AAPL"})).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    if let Some(kib) = c.pid().and_then(rss_kib) {
        println!("{:<44} {:.1} MiB", "idle RSS after init + one call", kib as f64 / 1024.0);
    }
    summary("get_quote", time_calls(&c, "get_quote", json!({"symbol": "AAPL"}), WARMUP, CALLS).await.unwrap());
    summary("session_status", time_calls(&c, "session_status", json!({}), WARMUP, CALLS).await.unwrap());
    c.shutdown().await.unwrap();

    let open = [
        ("ORDER_CONFIRMATION", "off"),
        ("DUPLICATE_WINDOW_SECONDS", "0"),
        ("MAX_DAILY_ORDERS", "off"),
        ("MAX_DAILY_VALUE", "off"),
        ("MAX_POSITION_VALUE", "off"),
    ];
    let c = server(dir.path(), "dry", &open).await;
    summary(
        "guarded dry-run buy (1 journal fsync)",
        time_calls(&c, "buy", json!({"symbol": "AAPL", "cash_amount": 5}), WARMUP, CALLS).await.unwrap(),
    );
    c.shutdown().await.unwrap();

    // The analyst tools on a 10-position book (every call reads live state and 61-253 bars a position).
    let mut book_env = open.to_vec();
    book_env.extend([("TRADING_DRY_RUN", "false"), ("MAX_ORDER_VALUE", "off"), ("MAX_POSITION_VALUE", "off")]);
    let c = server(dir.path(), "book", &book_env).await;
    for sym in ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "KO", "QQQ", "IBM"] {
        c.call("buy", json!({"symbol": sym, "quantity": "3"})).await.unwrap();
    }
    for (tool, args) in
        [("briefing", json!({})), ("risk_report", json!({"lookback_days": 252})), ("exposure", json!({}))]
    {
        let mut v = vec![];
        for _ in 0..50 {
            let t = Instant::now();
            let a = c.call(tool, args.clone()).await.unwrap();
            v.push(t.elapsed());
            assert!(!a.is_error, "{tool}: {:?}", a.body);
        }
        summary(&format!("{tool} (10 positions, simulator)"), v);
    }
    c.shutdown().await.unwrap();

    let mut real = open.to_vec();
    real.push(("TRADING_DRY_RUN", "false"));
    real.push(("SIM_STARTING_CASH", "100000000"));
    let c = server(dir.path(), "real", &real).await;
    summary(
        "guarded real buy on sim (2 journal fsyncs)",
        time_calls(&c, "buy", json!({"symbol": "AAPL", "cash_amount": 5}), WARMUP, CALLS).await.unwrap(),
    );
    c.shutdown().await.unwrap();
}

/// Requests the fake gateway saw since `from`, grouped by path.
fn requests_since(fake: &cpapi_fake::FakeGateway, from: usize) -> Vec<(String, usize)> {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    fake.with(|s| {
        for r in &s.requests[from..] {
            *counts.entry(format!("{} {}", r.method, r.path)).or_default() += 1;
        }
    });
    counts.into_iter().collect()
}

async fn gateway(dir: &std::path::Path) {
    println!("\n-- gateway backend against the fake Client Portal Gateway on loopback (IBKR pacing on) --");
    let symbols: Vec<String> =
        (0..50).map(|i| format!("Q{}{}", (b'A' + (i % 26) as u8) as char, if i < 26 { "" } else { "X" })).collect();
    // The 50 symbols of the batch quote are listed (priced) at the simulated exchange.
    let prices = symbols.iter().map(|s| (s.clone(), rust_decimal::Decimal::from(100))).collect();
    let sim = sim_venue::SimConfig { prices, ..sim_venue::SimConfig::default() };
    let fake = cpapi_fake::FakeGateway::start(cpapi_fake::State::new(sim, "DU1234567"), 0).await.unwrap();
    let base = fake.base_url();
    let c = server(
        dir,
        "gateway",
        &[
            ("IBKR_BACKEND", "gateway"),
            ("IBKR_API_BASE_URL", base.as_str()),
            ("TRADING_DRY_RUN", "false"),
            ("ORDER_CONFIRMATION", "off"),
            ("ENFORCE_MARKET_HOURS", "false"),
            ("DUPLICATE_WINDOW_SECONDS", "0"),
            ("MAX_DAILY_ORDERS", "off"),
            ("MAX_DAILY_VALUE", "off"),
        ],
    )
    .await;
    // Calls are spaced past IBKR's 10 requests/s so the pacer never holds one back: the
    // figures are the server's and the gateway's own cost.
    for (tool, args) in [("get_quote", json!({"symbol": "AAPL"})), ("session_status", json!({}))] {
        c.call(tool, args.clone()).await.unwrap();
        let mut v = vec![];
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(120)).await;
            let t = Instant::now();
            let a = c.call(tool, args.clone()).await.unwrap();
            v.push(t.elapsed());
            assert!(!a.is_error, "{:?}", a.body);
        }
        summary(&format!("{tool} via gateway (spaced calls)"), v);
    }
    c.call("get_quotes", json!({"symbols": symbols})).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let n = fake.with(|s| s.requests.len());
    let t = Instant::now();
    c.call("get_quotes", json!({"symbols": symbols})).await.unwrap();
    println!(
        "{:<44} {:.1} ms, requests: {:?}",
        "get_quotes 50 symbols, warm",
        t.elapsed().as_secs_f64() * 1e3,
        requests_since(&fake, n)
    );
    // A 20-strike chain with greeks (10 strikes each side, calls and puts: 40 contracts).
    let chain = json!({"symbol": "SPY", "strikes_around_money": 10});
    let n = fake.with(|s| s.requests.len());
    let t = Instant::now();
    let a = c.call("option_chain", chain.clone()).await.unwrap();
    assert!(!a.is_error, "{:?}", a.body);
    println!(
        "{:<44} {:.1} ms, requests: {:?}",
        "option_chain 20 strikes, cold",
        t.elapsed().as_secs_f64() * 1e3,
        requests_since(&fake, n)
    );
    let mut v = vec![];
    let mut warm_requests = vec![];
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let n = fake.with(|s| s.requests.len());
        let t = Instant::now();
        let a = c.call("option_chain", chain.clone()).await.unwrap();
        v.push(t.elapsed());
        assert!(!a.is_error, "{:?}", a.body);
        warm_requests.push(fake.with(|s| s.requests.len()) - n);
    }
    summary("option_chain 20 strikes, warm (spaced calls)", v);
    println!("{:<44} {:?}", "  gateway requests per warm chain", warm_requests.iter().max());
    for (tool, args) in [
        ("price_history 5min over 1w", json!({"symbol": "AAPL", "bar": "5min", "period": "1w", "limit": 250})),
        ("performance MTD (first ask)", json!({"period": "MTD"})),
    ] {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t = Instant::now();
        let a = c.call(args.get("bar").map_or("performance", |_| "price_history"), args.clone()).await.unwrap();
        assert!(!a.is_error, "{:?}", a.body);
        println!("{tool:<44} {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    }
    for (label, args) in [
        ("buy $50 (cash qty: one question)", json!({"symbol": "MSFT", "cash_amount": 50})),
        ("buy 0.1 share (no question)", json!({"symbol": "MSFT", "quantity": "0.1"})),
    ] {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let n = fake.with(|s| s.requests.len());
        let a = c.call("buy", args).await.unwrap();
        assert!(!a.is_error, "{:?}", a.body);
        println!("{label:<44} requests: {:?}", requests_since(&fake, n));
    }
    c.shutdown().await.unwrap();
}

/// Round trips over streamable HTTP (stateless JSON): no auth, the static bearer token, and
/// an OAuth access token (a SQLite lookup per request, plus the journaled call line).
async fn http_section() {
    const OAUTH_TOKEN: &str = "tga_benchmark-token-0123456789abcdef0123456789";
    for (label, env, token) in [
        ("no auth", vec![], ""),
        (
            "bearer",
            vec![("AUTH_MODE", "bearer"), ("STATIC_BEARER_TOKEN", "0123456789abcdef0123456789abcdef")],
            "0123456789abcdef0123456789abcdef",
        ),
        ("oauth", vec![("AUTH_MODE", "oauth"), ("LOGIN_PASSWORD", "benchmark password")], OAUTH_TOKEN),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // An access token put straight into the store, as the token endpoint would.
        let db = dir.path().join("oauth.sqlite");
        let store = trading_mcp::oauth::Store::open(&db).unwrap();
        let client = trading_mcp::oauth::store::Client {
            client_id: "tgc_bench".into(),
            client_name: "bench".into(),
            redirect_uris: vec!["http://127.0.0.1:9/cb".into()],
            created_at: 0,
            revoked: false,
        };
        store.add_client(&client).unwrap();
        let resource = format!("http://127.0.0.1:{port}/mcp");
        store.add_token(OAUTH_TOKEN, "access", "tgc_bench", "read", &resource, i64::MAX, "tgf_bench", 0).unwrap();
        drop(store);
        let mut cmd = std::process::Command::new(BIN);
        cmd.args(["--transport", "http", "--bind", &format!("127.0.0.1:{port}")])
            .env("OAUTH_DB_PATH", &db)
            .env("TRADE_JOURNAL_PATH", dir.path().join("j.jsonl"))
            .env("EQUITY_SAMPLE_SECONDS", "0")
            .env("LOG_LEVEL", "info")
            .envs(env.iter().copied());
        let server = HttpChild::spawn(cmd).unwrap();
        let url = server.url.clone();
        let client = reqwest::Client::builder().tcp_nodelay(true).build().unwrap();
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_quote", "arguments": {"symbol": "AAPL"}}});
        let mut v = vec![];
        for i in 0..(WARMUP + CALLS) {
            let t = Instant::now();
            let r = client
                .post(&url)
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", "2025-11-25")
                .header("authorization", format!("Bearer {token}"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            r.bytes().await.unwrap();
            if i >= WARMUP {
                v.push(t.elapsed());
            }
        }
        summary(&format!("get_quote over HTTP ({label})"), v);
        drop(server);
    }
}

/// `BENCH_SECTION=gateway` (or `stdio`, `http`) runs one section only.
fn main() {
    let only = std::env::var("BENCH_SECTION").ok();
    let wants = |s: &str| only.as_deref().is_none_or(|o| o == s);
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        if wants("stdio") {
            run().await;
        }
        if wants("http") {
            http_section().await;
        }
        if wants("gateway") {
            let dir = tempfile::tempdir().unwrap();
            gateway(dir.path()).await;
        }
    });
}
