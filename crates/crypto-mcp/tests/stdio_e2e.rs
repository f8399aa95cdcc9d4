#![allow(clippy::unwrap_used)]
//! End to end: the real `crypto-mcp` binary over stdio, driven by an MCP client, against the
//! fake binance (through ccxt) and against the simulator.

use std::process::Stdio;

use exchange_fake::{Dialect, FakeConfig, FakeExchange};
use serde_json::{Value, json};
use test_support::mcp_client::{HttpChild, McpChild, ToolAnswer};

const BIN: &str = env!("CARGO_BIN_EXE_crypto-mcp");

struct Server {
    _dir: tempfile::TempDir,
    client: McpChild,
}

async fn start(extra: &[(&str, &str)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("crypto.jsonl").display().to_string();
    let mut env =
        vec![("CRYPTO_TRADE_JOURNAL_PATH", j.as_str()), ("EQUITY_SAMPLE_SECONDS", "0"), ("LOG_LEVEL", "error")];
    env.extend_from_slice(extra);
    let client = McpChild::spawn(BIN.as_ref(), &env, Stdio::null()).await.unwrap();
    Server { _dir: dir, client }
}

async fn on_fake(fake: &FakeExchange, extra: &[(&str, &str)]) -> Server {
    let base = fake.base_url();
    let cfg = FakeConfig::of(fake.dialect());
    let mut env = vec![
        ("CRYPTO_BACKEND", "exchange"),
        ("CRYPTO_EXCHANGE", fake.dialect().exchange_id()),
        ("CRYPTO_API_BASE_URL", base.as_str()),
        ("CRYPTO_API_KEY", cfg.api_key.as_str()),
        ("CRYPTO_API_SECRET", cfg.secret.as_str()),
    ];
    env.extend_from_slice(extra);
    start(&env).await
}

fn ok(a: &ToolAnswer) -> &Value {
    assert!(!a.is_error, "{}", a.body);
    a.data()
}

fn unsupported(a: &ToolAnswer, capability: &str) {
    assert!(a.is_error, "{}", a.body);
    assert_eq!(a.error()["code"], "UNSUPPORTED", "{}", a.body);
    assert!(a.error()["message"].as_str().unwrap().contains(capability), "{}", a.body);
}

/// Preview, then place with the token: the two-step flow every order tool takes.
async fn confirmed(c: &McpChild, tool: &str, args: Value, preview: Value) -> ToolAnswer {
    let p = c.call("preview_order", preview).await.unwrap();
    let token = ok(&p)["confirmation_token"].as_str().unwrap().to_string();
    let mut args = args;
    args["confirmation_token"] = json!(token);
    c.call(tool, args).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mirrored_tool_against_the_fake_exchange() {
    let fake = FakeExchange::start(FakeConfig::default(), 0).await.unwrap();
    let s = on_fake(
        &fake,
        &[("CRYPTO_DRY_RUN", "false"), ("CRYPTO_ALLOW_LIVE", "true"), ("DUPLICATE_WINDOW_SECONDS", "0")],
    )
    .await;
    let c = &s.client;
    let tools: Vec<String> = c.list_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    assert_eq!(tools.len(), 43, "ibkr-mcp's surface less IBKR's three scanner tools: {tools:?}");
    assert!(!tools.iter().any(|t| t.contains("scan")), "IBKR's scanners are not offered on an exchange: {tools:?}");

    let st = c.call("session_status", json!({})).await.unwrap();
    let d = ok(&st);
    assert_eq!((d["server"].as_str(), d["venue"].as_str()), (Some("crypto-mcp"), Some("binance (sandbox)")));
    assert_eq!(d["session"]["authenticated"], true);
    assert_eq!(d["account_type"], "PAPER");
    assert!(d["identity_warning"].as_str().unwrap().contains("CRYPTO_ALLOW_LIVE"));
    assert_eq!(ok(&c.call("market_status", json!({})).await.unwrap())["market_open"], true);

    let q = c.call("get_quote", json!({"symbol": "btc"})).await.unwrap();
    assert_eq!((ok(&q)["symbol"].as_str(), ok(&q)["last"].as_str()), (Some("BTC/USDT"), Some("65000")));
    let qs = c.call("get_quotes", json!({"symbols": ["ETH", "SOL/USDT"]})).await.unwrap();
    assert_eq!(ok(&qs).as_array().unwrap().len(), 2);
    assert_eq!(ok(&c.call("account_summary", json!({})).await.unwrap())["currency"], "USDT");
    assert_eq!(ok(&c.call("positions", json!({})).await.unwrap())[0]["symbol"], "BTC/USDT");
    assert!(!c.call("portfolio", json!({})).await.unwrap().is_error);

    // A market buy by value, the amount as a JSON number (ccxt turns on rust_decimal's
    // serde-str feature for the whole build: our types must still take numbers).
    let b =
        confirmed(c, "buy", json!({"symbol": "ETH", "cash_amount": 50}), json!({"symbol": "ETH", "cash_amount": 50}))
            .await;
    assert_eq!(ok(&b)["status"], "filled");
    let id = ok(&b)["order_id"].as_str().unwrap().to_string();
    let w = c.call("wait_for_fill", json!({"order_id": id, "timeout_seconds": 1})).await.unwrap();
    assert_eq!(ok(&w)["order"]["status"], "filled");
    assert_eq!(ok(&c.call("order_status", json!({"order_id": id})).await.unwrap())["status"], "filled");

    // A resting limit sell with a numeric price, then cancelled.
    let args = json!({"symbol": "BTC", "quantity": 0.01, "limit_price": 90000.5});
    let l = confirmed(
        c,
        "sell",
        args.clone(),
        json!({"symbol": "BTC", "side": "SELL", "quantity": 0.01, "limit_price": 90000.5}),
    )
    .await;
    assert_eq!(ok(&l)["status"], "submitted");
    assert_eq!(ok(&l)["limit_price"], "90000.5");
    let lid = ok(&l)["order_id"].as_str().unwrap().to_string();
    let open = c.call("open_orders", json!({})).await.unwrap();
    assert_eq!(ok(&open).as_array().unwrap().len(), 1);
    assert_eq!(ok(&c.call("cancel_order", json!({"order_id": lid})).await.unwrap())["status"], "cancelled");

    // A stop-limit through stop_order; a stop-market is not offered by binance's ccxt class.
    let stop = json!({"symbol": "BTC", "side": "SELL", "quantity": 0.01, "stop_price": 60000, "limit_price": 59000});
    let sl = confirmed(c, "stop_order", stop.clone(), stop).await;
    assert_eq!(ok(&sl)["order_type"], "STOP_LIMIT");
    let stp = json!({"symbol": "BTC", "side": "SELL", "quantity": 0.01, "stop_price": 60000});
    unsupported(&c.call("preview_order", stp).await.unwrap(), "stop orders");
    unsupported(
        &c.call("preview_order", json!({"symbol": "BTC", "side": "SELL", "quantity": 0.01, "trail_percent": 5}))
            .await
            .unwrap(),
        "trailing",
    );
    let br = json!({"symbol": "BTC", "quantity": 0.001, "take_profit": 80000, "stop_loss": 50000});
    unsupported(&c.call("preview_order", br).await.unwrap(), "bracket");
    let m = c.call("modify_order", json!({"order_id": ok(&sl)["order_id"], "quantity": 0.02})).await.unwrap();
    assert!(m.is_error, "{}", m.body);

    // Spot: selling more than is held is refused by the guard, naming the reason.
    let short = c.call("preview_order", json!({"symbol": "SOL", "side": "SELL", "quantity": 0.5})).await.unwrap();
    assert_eq!(short.error()["rule"], "naked_short", "{}", short.body);

    let th = c.call("trade_history", json!({})).await.unwrap();
    assert!(!ok(&th)["executions"].as_array().unwrap().is_empty(), "{}", th.body);
    assert!(ok(&th)["journal"].as_array().unwrap().len() >= 4, "{}", th.body);
    let ph = c.call("price_history", json!({"symbol": "BTC", "days": 30})).await.unwrap();
    assert_eq!(ok(&ph)["count"], 30);
    assert!(!c.call("technicals", json!({"symbol": "ETH"})).await.unwrap().is_error);
    let risk = c.call("risk_report", json!({"lookback_days": 60})).await.unwrap();
    assert!(!risk.is_error, "{}", risk.body);
    assert_eq!(ok(&risk)["beta"]["benchmark"], "BTC/USDT", "{}", risk.body);
    // The briefing measures against the exchange's benchmark (BTC), never silently without it.
    let b = c.call("briefing", json!({})).await.unwrap();
    assert!(ok(&b)["risk"].get("error").is_none(), "{}", b.body);
    assert_eq!(ok(&b)["risk"]["beta"]["benchmark"], "BTC/USDT", "{}", b.body);
    assert!(!ok(&b)["summary"].as_str().unwrap().contains("beta -"), "{}", b.body);
    assert!(!c.call("briefing", json!({"compact": true})).await.unwrap().is_error);
    let close = c.call("close_position", json!({"symbol": "ETH"})).await.unwrap();
    assert_eq!(close.error()["code"], "CONFIRMATION_REQUIRED", "{}", close.body);
    let rec = c.call("reconcile_pending", json!({})).await.unwrap();
    assert_eq!(ok(&rec)["unresolved_before"], 0);
    // Every order post carried a valid signature and our client order id.
    let posts: Vec<_> = fake.requests().into_iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 3);
    assert!(posts.iter().all(|p| p.signed && p.params.contains("newClientOrderId=")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_is_the_default_and_nothing_reaches_the_exchange() {
    let fake = FakeExchange::start(FakeConfig::default(), 0).await.unwrap();
    let s = on_fake(&fake, &[("ORDER_CONFIRMATION", "off")]).await;
    let b = s.client.call("buy", json!({"symbol": "ETH", "cash_amount": "20"})).await.unwrap();
    assert_eq!(ok(&b)["dry_run"], true, "{}", b.body);
    assert!(fake.requests().iter().all(|r| r.method != "POST"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_needs_no_keys() {
    let s = start(&[("CRYPTO_DRY_RUN", "false"), ("ORDER_CONFIRMATION", "off")]).await;
    let c = &s.client;
    let st = c.call("session_status", json!({})).await.unwrap();
    assert_eq!((ok(&st)["simulator"].as_bool(), ok(&st)["venue"].as_str()), (Some(true), Some("crypto (simulator)")));
    let q = c.call("get_quote", json!({"symbol": "btc"})).await.unwrap();
    assert_eq!(ok(&q)["currency"], "USDT");
    let b = c.call("buy", json!({"symbol": "BTC", "cash_amount": 50})).await.unwrap();
    assert_eq!(ok(&b)["status"], "filled");
    assert_eq!(ok(&b)["symbol"], "BTC/USDT");
    let e = c.call("buy", json!({"symbol": "ETH", "cash_amount": 500})).await.unwrap();
    assert!(
        e.error()["message"].as_str().unwrap().contains("USDT"),
        "limits are labelled in the quote currency: {}",
        e.body
    );
    unsupported(
        &c.call("trailing_stop", json!({"symbol": "BTC", "side": "SELL", "quantity": 0.0001, "trail_percent": 5}))
            .await
            .unwrap(),
        "trailing",
    );
    let short = c.call("sell", json!({"symbol": "ETH", "quantity": 0.02})).await.unwrap();
    assert_eq!(short.error()["rule"], "naked_short", "{}", short.body);
    // One symbol path: a bare "BTC" is BTC/USDT in the planner and the what-if too.
    let plan = c.call("rebalance_plan", json!({"targets": "BTC:50"})).await.unwrap();
    let order = &ok(&plan)["lines"][0];
    assert_eq!(order["symbol"], "BTC/USDT", "{}", plan.body);
    let px: f64 = order["price"].as_str().unwrap().parse().unwrap();
    assert!(px > 10_000.0, "priced as BTC/USDT, not as a made-up 'BTC': {}", plan.body);
    let wi = c.call("what_if", json!({"symbol": "btc", "quantity": 0.001})).await.unwrap();
    assert_eq!(ok(&wi)["position"]["symbol"], "BTC/USDT", "{}", wi.body);
    // The simulator lists its pairs and invents none.
    for made_up in ["USDT/USDT", "ETH/BTC", "BTCC"] {
        let q = c.call("get_quote", json!({"symbol": made_up})).await.unwrap();
        assert_eq!(q.error()["code"], "NOT_FOUND", "{made_up}: {}", q.body);
    }
    let q = c.call("get_quote", json!({"symbol": "BTCC"})).await.unwrap();
    assert!(q.error()["message"].as_str().unwrap().contains("BTC/USDT"), "{}", q.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_reports_ok_or_a_one_line_hint() {
    let fake = FakeExchange::start(FakeConfig::default(), 0).await.unwrap();
    let run = |secret: &'static str, base: String| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_crypto-healthcheck"))
            .env_clear()
            .env("CRYPTO_BACKEND", "exchange")
            .env("CRYPTO_API_BASE_URL", base)
            .env("CRYPTO_API_KEY", "dummykey")
            .env("CRYPTO_API_SECRET", secret)
            .output()
    };
    let ok = run("dummysecret", fake.base_url()).await.unwrap();
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{out}");
    assert!(
        out.contains("Free USDT: 10000 USDT") && out.contains("BTC/USDT: last 65000") && out.contains("Positions: 1"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("[OK] binance reachable and the keys work."), "{out}");
    let bad = run("wrong-secret", fake.base_url()).await.unwrap();
    let out = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1));
    assert!(out.lines().last().unwrap().starts_with("[WARN] binance refused the API keys"), "{out}");
    assert!(!out.contains("wrong-secret"), "the secret never appears");
    assert!(!String::from_utf8_lossy(&bad.stderr).contains("panicked"), "no panic output");
    let down = run("dummysecret", "http://127.0.0.1:9".into()).await.unwrap();
    let out = String::from_utf8_lossy(&down.stdout);
    assert_eq!(down.status.code(), Some(1));
    assert!(out.lines().last().unwrap().starts_with("[WARN] cannot reach binance"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crypto_mcp_serves_http_with_a_bearer_token_too() {
    let dir = tempfile::tempdir().unwrap();
    let token = "crypto-token-0123456789abcdef0123";
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(["--transport", "http", "--bind", "127.0.0.1:0"])
        .env_clear()
        .env("CRYPTO_TRADE_JOURNAL_PATH", dir.path().join("j.jsonl"))
        .env("EQUITY_SAMPLE_SECONDS", "0")
        .env("AUTH_MODE", "bearer")
        .env("STATIC_BEARER_TOKEN", token)
        .env("LOG_LEVEL", "info");
    let server = HttpChild::spawn(cmd).unwrap();
    let url = server.url.clone();
    let post = |auth: Option<&str>| {
        let mut r = reqwest::Client::new()
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_quote", "arguments": {"symbol": "eth"}}}));
        if let Some(t) = auth {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        r.send()
    };
    assert_eq!(post(None).await.unwrap().status(), 401);
    let ok: Value = post(Some(token)).await.unwrap().json().await.unwrap();
    assert_eq!(ok["result"]["structuredContent"]["data"]["symbol"], "ETH/USDT", "{ok}");
    // The call is journaled with its caller.
    let journal = std::fs::read_to_string(dir.path().join("j.jsonl")).unwrap();
    assert!(
        journal.contains("\"caller\":\"static-bearer\"") && journal.contains("\"tool\":\"get_quote\""),
        "{journal}"
    );
    drop(server);
}

#[test]
fn both_binaries_answer_version_with_the_commit() {
    for bin in [BIN, env!("CARGO_BIN_EXE_crypto-healthcheck")] {
        let out = std::process::Command::new(bin).arg("--version").output().unwrap();
        let line = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && line.contains(trading_mcp::launch::VERSION), "{bin}: {line}");
    }
}

/// The flow people ask for, on each exchange through its own fake: quote, preview, buy by
/// amount spent, positions, sell, open orders, cancel, close, history.
async fn the_mirrored_flow(d: Dialect) {
    let fake = FakeExchange::start(FakeConfig::of(d), 0).await.unwrap();
    let s = on_fake(
        &fake,
        &[("CRYPTO_DRY_RUN", "false"), ("CRYPTO_ALLOW_LIVE", "true"), ("DUPLICATE_WINDOW_SECONDS", "0")],
    )
    .await;
    let c = &s.client;
    let q = FakeConfig::of(d).pairs[0].quote.clone();
    let st = c.call("session_status", json!({})).await.unwrap();
    let sd = ok(&st);
    assert_eq!(sd["venue"].as_str(), Some(format!("{} (sandbox)", d.exchange_id()).as_str()), "{}", st.body);
    assert_eq!(
        (sd["session"]["authenticated"].as_bool(), sd["session"]["quote_currency"].as_str()),
        (Some(true), Some(q.as_str()))
    );
    assert_eq!(sd["session"]["capabilities"]["market_buy_with_cost"], true, "{}", st.body);

    let quote = c.call("get_quote", json!({"symbol": "eth"})).await.unwrap();
    assert_eq!(
        (ok(&quote)["symbol"].as_str(), ok(&quote)["currency"].as_str()),
        (Some(format!("ETH/{q}").as_str()), Some(q.as_str()))
    );
    // Buy 50 of the quote currency's worth, the amount as a JSON number.
    let buy = json!({"symbol": "ETH", "cash_amount": 50});
    let p = c.call("preview_order", buy.clone()).await.unwrap();
    assert!(ok(&p)["venue_preview"]["estimated_quantity"].is_string(), "{}", p.body);
    let b = confirmed(c, "buy", buy.clone(), buy).await;
    assert_eq!(ok(&b)["status"], "filled", "{}", b.body);
    let pos = c.call("positions", json!({})).await.unwrap();
    let eth = ok(&pos).as_array().unwrap().iter().find(|p| p["symbol"] == format!("ETH/{q}")).cloned();
    assert!(eth.is_some(), "the bought coin is a position: {}", pos.body);
    assert_eq!(ok(&c.call("account_summary", json!({})).await.unwrap())["currency"], q.as_str());

    // A resting sell, listed, then cancelled.
    let sell = json!({"symbol": "BTC", "quantity": 0.01, "limit_price": 90000});
    let l = confirmed(
        c,
        "sell",
        sell.clone(),
        json!({"symbol": "BTC", "side": "SELL", "quantity": 0.01, "limit_price": 90000}),
    )
    .await;
    assert_eq!(ok(&l)["status"], "submitted", "{}", l.body);
    let lid = ok(&l)["order_id"].as_str().unwrap().to_string();
    assert_eq!(ok(&c.call("open_orders", json!({})).await.unwrap()).as_array().unwrap().len(), 1);
    let cancelled = c.call("cancel_order", json!({"order_id": lid})).await.unwrap();
    assert_eq!(ok(&cancelled)["status"], "cancelled", "{}", cancelled.body);
    assert!(ok(&c.call("open_orders", json!({})).await.unwrap()).as_array().unwrap().is_empty());

    // Close the ETH position: the market sell of what is held, previewed, then confirmed.
    let held = eth.unwrap()["quantity"].as_str().unwrap().to_string();
    let close = c.call("close_position", json!({"symbol": "ETH"})).await.unwrap();
    assert_eq!(close.error()["code"], "CONFIRMATION_REQUIRED", "{}", close.body);
    let preview = c.call("preview_order", json!({"symbol": "ETH", "side": "SELL", "quantity": held})).await.unwrap();
    let token = ok(&preview)["confirmation_token"].as_str().unwrap().to_string();
    let closed = c.call("close_position", json!({"symbol": "ETH", "confirmation_token": token})).await.unwrap();
    assert_eq!(ok(&closed)["closed"], true, "{}", closed.body);

    let th = c.call("trade_history", json!({})).await.unwrap();
    assert!(ok(&th)["executions"].as_array().unwrap().len() >= 2, "the buy and the close: {}", th.body);
    let ph = c.call("price_history", json!({"symbol": "BTC", "days": 30})).await.unwrap();
    assert_eq!(ok(&ph)["count"], 30, "{}", ph.body);
    // Every order post was signed the exchange's way and carried our client order id.
    let posts: Vec<_> =
        fake.requests().into_iter().filter(|r| r.method == "POST" && r.path == d.order_path()).collect();
    assert_eq!(posts.len(), 3, "{posts:?}");
    let coid = if d == Dialect::Kraken { "cl_ord_id=" } else { "newClientOrderId=" };
    assert!(posts.iter().all(|p| p.signed && p.params.contains(coid)), "{posts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mirrored_flow_on_binance() {
    the_mirrored_flow(Dialect::Binance).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mirrored_flow_on_kraken() {
    the_mirrored_flow(Dialect::Kraken).await;
}

/// Every listed exchange starts and tells what it can do, even with the exchange unreachable
/// (127.0.0.1:9 refuses at once: nothing leaves the machine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listed_exchange_starts_and_answers_session_status() {
    for id in ["binance", "binanceus", "coinbase", "kraken", "okx", "bybit"] {
        let s = start(&[
            ("CRYPTO_BACKEND", "exchange"),
            ("CRYPTO_EXCHANGE", id),
            ("CRYPTO_API_BASE_URL", "http://127.0.0.1:9"),
            ("CRYPTO_TIMEOUT_SECONDS", "1"),
        ])
        .await;
        let st = s.client.call("session_status", json!({})).await.unwrap();
        let d = ok(&st);
        let session = &d["session"];
        assert_eq!(session["exchange"], id, "{}", st.body);
        assert_eq!(session["connected"], false, "{}", st.body);
        assert!(session["market_error"].as_str().unwrap().contains("unreachable"), "{}", st.body);
        let caps = &session["capabilities"];
        for k in ["market_buy_with_cost", "stop_market", "stop_limit", "ohlcv", "client_order_id", "lost_order_lookup"]
        {
            assert!(!caps[k].is_null(), "{id}: {k} missing: {}", st.body);
        }
        assert!(session["exchange_name"].is_string() && session["notes"].is_string(), "{}", st.body);
        assert_eq!(d["venue"], format!("{id} (sandbox)"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_can_withdraw_is_refused_at_start_unless_allowed() {
    let fake = FakeExchange::start(FakeConfig { withdrawals_enabled: true, ..FakeConfig::default() }, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let refused = std::process::Command::new(BIN)
        .env_clear()
        .env("CRYPTO_TRADE_JOURNAL_PATH", dir.path().join("j.jsonl"))
        .env("CRYPTO_BACKEND", "exchange")
        .env("CRYPTO_API_BASE_URL", fake.base_url())
        .env("CRYPTO_API_KEY", "dummykey")
        .env("CRYPTO_API_SECRET", "dummysecret")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{err}");
    assert!(err.contains("can withdraw") && err.contains("CRYPTO_ALLOW_WITHDRAW_KEYS=true"), "{err}");
    assert!(!err.contains("dummysecret"));
    // Allowed: it starts and serves.
    let allowed = on_fake(&fake, &[("CRYPTO_ALLOW_WITHDRAW_KEYS", "true")]).await;
    assert!(!allowed.client.call("session_status", json!({})).await.unwrap().is_error);
    let asked = fake.requests().into_iter().filter(|r| r.path == "/sapi/v1/account/apiRestrictions").count();
    assert_eq!(asked, 2, "one signed permission request per start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_on_kraken_names_the_exchange_and_what_it_cannot_report() {
    let fake = FakeExchange::start(FakeConfig::kraken(), 0).await.unwrap();
    let cfg = FakeConfig::kraken();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_crypto-healthcheck"))
        .env_clear()
        .env("CRYPTO_BACKEND", "exchange")
        .env("CRYPTO_EXCHANGE", "kraken")
        .env("CRYPTO_API_BASE_URL", fake.base_url())
        .env("CRYPTO_API_KEY", &cfg.api_key)
        .env("CRYPTO_API_SECRET", &cfg.secret)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("Exchange: Kraken (kraken, sandbox)"), "{text}");
    assert!(text.contains("Free USD: US$10000") && text.contains("BTC/USD: last 65000"), "{text}");
    assert!(text.contains("Kraken does not report them"), "{text}");
    assert!(text.trim_end().ends_with("[OK] kraken reachable and the keys work."), "{text}");
}
