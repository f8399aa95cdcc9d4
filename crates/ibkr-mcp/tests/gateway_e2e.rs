//! End to end against the fake gateway: the real `ibkr-mcp` (IBKR_BACKEND=gateway) driven over
//! stdio through the full order flow, with faults; and `ibkr-healthcheck`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::process::Stdio;

use cpapi_fake::{FakeGateway, Session, State};
use serde_json::{Value, json};
use sim_venue::SimConfig;
use test_support::mcp_client::McpChild;

const MCP: &str = env!("CARGO_BIN_EXE_ibkr-mcp");
const HEALTH: &str = env!("CARGO_BIN_EXE_ibkr-healthcheck");

async fn server(fake: &FakeGateway, dir: &tempfile::TempDir, extra: &[(&str, &str)]) -> McpChild {
    let journal = dir.path().join("trades.jsonl").display().to_string();
    let base = fake.base_url();
    let mut env = vec![
        ("IBKR_BACKEND", "gateway"),
        ("IBKR_API_BASE_URL", base.as_str()),
        ("TRADE_JOURNAL_PATH", journal.as_str()),
        ("TRADING_DRY_RUN", "false"),
        // The test runs on any day; the market-hours guard has its own tests.
        ("ENFORCE_MARKET_HOURS", "false"),
        ("LOG_LEVEL", "error"),
    ];
    env.extend_from_slice(extra);
    McpChild::spawn(MCP.as_ref(), &env, Stdio::null()).await.unwrap()
}

async fn ok(c: &McpChild, tool: &str, args: Value) -> Value {
    let a = c.call(tool, args).await.unwrap();
    assert!(!a.is_error, "{tool}: {}", a.body);
    a.data().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_order_flow_over_stdio() {
    let fake = FakeGateway::start(State::new(SimConfig::default(), "DU1234567"), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = server(&fake, &dir, &[]).await;

    let st = ok(&c, "session_status", json!({})).await;
    assert_eq!(st["backend"], "gateway");
    assert_eq!(st["simulator"], false);
    assert_eq!(st["account_type"], "PAPER");
    assert_eq!(st["session"]["session"]["state"], "authenticated");

    let q = ok(&c, "get_quote", json!({"symbol": "AAPL"})).await;
    assert!(q["last"].is_string(), "{q}");

    let p = ok(&c, "preview_order", json!({"symbol": "AAPL", "cash_amount": 50})).await;
    assert!(p["venue_preview"]["commission"].is_string(), "whatif commission: {p}");
    let tok = p["confirmation_token"].as_str().unwrap().to_string();
    let o = ok(&c, "buy", json!({"symbol": "AAPL", "cash_amount": 50, "confirmation_token": tok})).await;
    let id = o["order_id"].as_str().unwrap().to_string();
    let w = ok(&c, "wait_for_fill", json!({"order_id": id, "timeout_seconds": 10})).await;
    assert_eq!(w["order"]["status"], "filled", "{w}");

    let pos = ok(&c, "positions", json!({})).await;
    let qty = pos[0]["quantity"].as_str().unwrap().to_string();
    assert_eq!(pos[0]["symbol"], "AAPL");

    let p = ok(&c, "preview_order", json!({"symbol": "AAPL", "side": "SELL", "quantity": qty})).await;
    let tok = p["confirmation_token"].as_str().unwrap().to_string();
    let closed = ok(&c, "close_position", json!({"symbol": "AAPL", "confirmation_token": tok})).await;
    assert_eq!(closed["closed"], true, "{closed}");

    // The posted bodies carried the journal's client order ids.
    let posts = fake.with(|s| s.requests_to("/iserver/account/DU1234567/orders"));
    assert_eq!(posts.len(), 2);
    let journal = std::fs::read_to_string(dir.path().join("trades.jsonl")).unwrap();
    for p in &posts {
        let coid = p.body["orders"][0]["cOID"].as_str().unwrap();
        assert!(journal.contains(coid));
    }
    c.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_over_stdio_503_and_session_loss() {
    let mut st = State::new(SimConfig::default(), "DU1234567");
    st.faults.order_post_503_landed = 1;
    let fake = FakeGateway::start(st, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = server(&fake, &dir, &[("ORDER_CONFIRMATION", "off")]).await;
    // A 503 on the post: the order landed and is found by client order id, not resent.
    let o = c.call("buy", json!({"symbol": "MSFT", "quantity": "0.1"})).await.unwrap();
    assert!(!o.is_error, "{}", o.body);
    assert_eq!(fake.with(|s| s.exchange.orders().len()), 1);
    // The session is lost: reads say so and tell the user to log in.
    fake.with(|s| s.session = Session::NoSession);
    let q = c.call("get_quote", json!({"symbol": "MSFT"})).await.unwrap();
    assert!(q.is_error);
    assert_eq!(q.error()["code"], "SESSION_EXPIRED", "{}", q.body);
    assert!(q.error()["message"].as_str().unwrap().contains("Log in to the Client Portal Gateway"));
    c.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_ok_and_warn() {
    let fake = FakeGateway::start(State::new(SimConfig::default(), "DU1234567"), 0).await.unwrap();
    let base = fake.base_url();
    let run = |url: String| async move {
        tokio::process::Command::new(HEALTH).env_clear().env("IBKR_API_BASE_URL", url).output().await.unwrap()
    };
    let out = run(base.clone()).await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Account: DU1234567 (PAPER)"), "{text}");
    assert!(text.contains("supportsCashQty=true"), "{text}");
    assert!(text.trim_end().ends_with("[OK] Connection healthy."), "{text}");

    fake.with(|s| s.session = Session::NoSession);
    let out = run(base).await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success());
    assert!(text.lines().filter(|l| l.starts_with("[WARN]")).count() == 1, "{text}");
    assert!(text.contains("no logged-in session"), "{text}");

    // Nothing listening: a hint, not a backtrace.
    let out = run("http://127.0.0.1:9/v1/api".into()).await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success());
    assert!(text.contains("[WARN] cannot reach the Client Portal Gateway"), "{text}");
    assert!(!err.contains("panicked") && !text.contains("panicked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_names_a_tls_mismatch() {
    let fake = FakeGateway::start_tls(State::new(SimConfig::default(), "DU1234567"), 0).await.unwrap();
    let out = tokio::process::Command::new(HEALTH)
        .env_clear()
        .env("IBKR_API_BASE_URL", fake.base_url())
        .env("IBKR_GATEWAY_CERT_SHA256", "ab".repeat(32))
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success());
    assert!(text.contains("[WARN] TLS with the gateway"), "{text}");
    assert!(text.contains("IBKR_GATEWAY_CERT_SHA256"), "{text}");
    // With the right pin the same gateway is healthy.
    let out = tokio::process::Command::new(HEALTH)
        .env_clear()
        .env("IBKR_API_BASE_URL", fake.base_url())
        .env("IBKR_GATEWAY_CERT_SHA256", fake.cert_sha256.clone().unwrap())
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_tickles_and_stops_on_sigterm() {
    let fake = FakeGateway::start(State::new(SimConfig::default(), "DU1234567"), 0).await.unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ibkr-keepalive"))
        .env_clear()
        .env("IBKR_API_BASE_URL", fake.base_url())
        .env("TICKLE_INTERVAL_SECONDS", "5")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut tickled = false;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if fake.with(|s| !s.requests_to("/tickle").is_empty()) {
            tickled = true;
            break;
        }
    }
    assert!(tickled, "the first cycle runs at once and tickles");
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(5), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_over_the_gateway() {
    use trading_core::{
        money::Qty,
        order::{OrderRequest, OrderType, Side, Size, TimeInForce},
    };
    let fake = FakeGateway::start(State::new(SimConfig::default(), "DU1234567"), 0).await.unwrap();
    for (sym, q) in [("AAPL", 10), ("KO", 40)] {
        let o = OrderRequest {
            symbol: sym.into(),
            side: Side::Buy,
            order_type: OrderType::Market,
            size: Size::Quantity(Qty(q.into())),
            limit_price: None,
            stop_price: None,
            trail: None,
            tif: TimeInForce::Day,
        };
        fake.with(|s| s.exchange.place(&o, "seed").unwrap());
    }
    let dir = tempfile::tempdir().unwrap();
    let c = server(&fake, &dir, &[]).await;
    let r = ok(&c, "risk_report", json!({"lookback_days": 252})).await;
    assert_eq!(r["observations"], 252, "{r}");
    assert!(r["one_day_var"]["historical_99"].is_string());
    let hist = fake.with(|s| s.requests_to("/iserver/marketdata/history"));
    assert!(
        hist.iter().all(|h| h.query.contains("period=2y") && h.query.contains("bar=1d")),
        "{:?}",
        hist.iter().map(|h| &h.query).collect::<Vec<_>>()
    );
    let e = ok(&c, "exposure", json!({})).await;
    let keys: Vec<&str> = e["by_sector"].as_array().unwrap().iter().map(|b| b["key"].as_str().unwrap()).collect();
    assert!(keys.contains(&"Technology") && keys.contains(&"Consumer Staples"), "sectors from contract info: {keys:?}");
    let t = ok(&c, "technicals", json!({"symbol": "KO", "days": 120})).await;
    assert!(t["sma_50"].is_string() && t["sma_200"].is_null(), "{t}");
    let b = ok(&c, "briefing", json!({"compact": true})).await;
    assert!(b["summary"].as_str().unwrap().contains("IBKR (Client Portal Gateway) PAPER DU1234567"), "{b}");
    let infos = fake.with(|s| s.requests.iter().filter(|r| r.path.ends_with("/info")).count());
    assert_eq!(infos, 2, "one contract-info request per holding, however many tools ask for sectors");
    c.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn research_over_the_gateway() {
    let fake = FakeGateway::start(State::new(SimConfig::default(), "DU1234567"), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = server(&fake, &dir, &[]).await;
    // A request the catalog rejects never reaches IBKR.
    let bad = c
        .call(
            "run_scanner",
            json!({"scan_code": "TOP_PERC_GAIN", "filters": [{"code": "moodyRatingAbove", "value": "AAA"}]}),
        )
        .await
        .unwrap();
    assert_eq!(bad.error()["code"], "VALIDATION", "{}", bad.body);
    assert!(fake.with(|s| s.requests_to("/iserver/scanner/run")).is_empty());
    let run = ok(
        &c,
        "run_scanner",
        json!({"scan_code": "TOP_PERC_GAIN", "filters": [{"code": "priceAbove", "value": 5}], "max_rows": 3}),
    )
    .await;
    assert_eq!(run["rows"].as_array().unwrap().len(), 3);
    assert!(run["rows"][0]["conid"].is_string());
    ok(&c, "run_scanner", json!({"scan_code": "TOP_PERC_LOSE"})).await;
    let runs = fake.with(|s| s.requests_to("/iserver/scanner/run"));
    assert_eq!(
        runs[0].body,
        json!({"instrument": "STK", "type": "TOP_PERC_GAIN", "location": "STK.US.MAJOR", "filter": [{"code": "priceAbove", "value": 5}]})
    );
    assert!(runs[1].at - runs[0].at >= std::time::Duration::from_secs(1), "scanner runs are paced at 1/s");
    let found = ok(&c, "search_contracts", json!({"query": "AAPL"})).await;
    assert_eq!((found[0]["symbol"].as_str(), found[0]["conid"].as_str()), (Some("AAPL"), Some("265598")));
    let d = ok(&c, "contract_details", json!({"symbol": "KO"})).await;
    assert_eq!(d["industry"], "Consumer Staples");
    let sch = ok(&c, "trading_schedule", json!({"symbol": "SPY"})).await;
    // IBKR's newer schedule (REC-C shape): real dates, regular hours 09:30 New York in UTC.
    let sessions = sch["sessions"].as_array().unwrap();
    assert!(sessions.len() >= 4, "{sch}");
    for d in sessions {
        let open = chrono::DateTime::parse_from_rfc3339(d["regular"][0]["open"].as_str().unwrap()).unwrap();
        assert!(["13:30", "14:30"].contains(&open.format("%H:%M").to_string().as_str()), "{d}");
        assert!(!d["date"].as_str().unwrap().starts_with("2000"), "never a template date");
    }
    let h = ok(&c, "price_history", json!({"symbol": "SPY", "days": 20})).await;
    assert_eq!(h["count"], 20);
    // Thesis to candidates: income scans with a quality bias on US large caps, then history.
    let scans = ok(&c, "scan_catalog", json!({"strategy": "income", "instrument": "STK"})).await;
    let code = scans["results"][0]["code"].as_str().unwrap().to_string();
    let quality = ok(&c, "scan_catalog", json!({"strategy": "quality", "instrument": "STK"})).await;
    assert!(quality["count"].as_u64().unwrap() > 0);
    let ranked = ok(
        &c,
        "run_scanner",
        json!({"scan_code": code, "filters": [{"code": "marketCapAbove1e6", "value": 10000}], "max_rows": 5}),
    )
    .await;
    let top = ranked["rows"][0]["symbol"].as_str().unwrap().to_string();
    assert_eq!(ranked["rows"].as_array().unwrap().len(), 5);
    let bars = ok(&c, "price_history", json!({"symbol": top, "days": 60})).await;
    assert_eq!(bars["count"], 60);
    c.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_leave_options_and_crypto_rows_out_and_say_so() {
    let mut st = State::new(SimConfig::default(), "DU1234567");
    // SPEC's example page: a SPY call, a BTC crypto row and IBM shares; no SPY shares.
    st.extra_position_rows = cpapi_fake::fixtures::spec_position_rows();
    let fake = FakeGateway::start(st, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = server(&fake, &dir, &[]).await;
    let e = ok(&c, "exposure", json!({})).await;
    let not_counted = e["not_counted"].to_string();
    assert!(not_counted.contains("SPY 2025-01-17 440 C (option)"), "{e}");
    assert!(not_counted.contains("(crypto)"), "{e}");
    assert!(!e.to_string().contains("\"symbol\":\"SPY\""), "an option is never measured as SPY shares: {e}");
    c.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn euro_cash_and_shares_count_in_currency_exposure_and_an_fx_shock() {
    let mut st = State::new(SimConfig::default(), "DU1234567");
    // 2,000 EUR of cash in the ledger and a row of SAP shares quoted in EUR (market value 5,000 EUR).
    st.extra_cash = vec![("EUR".into(), rust_decimal::Decimal::from(2000))];
    st.extra_position_rows = vec![json!({
        "acctId": "DU1234567", "conid": 14204, "contractDesc": "SAP", "ticker": "SAP", "position": 25.0,
        "mktPrice": 200.0, "mktValue": 5000.0, "currency": "EUR", "avgCost": 180.0, "unrealizedPnl": 500.0,
        "assetClass": "STK", "isUS": false,
    })];
    let fake = FakeGateway::start(st, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = server(&fake, &dir, &[]).await;
    let rate = ok(&c, "fx_rate", json!({"from": "EUR", "to": "USD"})).await;
    assert_eq!(rate["rate"], "1.085", "{rate}");
    let cash = ok(&c, "cash_balances", json!({})).await;
    assert!(cash["balances"].as_array().unwrap().iter().any(|b| b["currency"] == "EUR"), "{cash}");
    let e = ok(&c, "exposure", json!({})).await;
    let eur = e["by_currency"].as_array().unwrap().iter().find(|x| x["currency"] == "EUR").unwrap().clone();
    // 5,000 EUR of shares and 2,000 EUR of cash at 1.085 USD per EUR.
    assert_eq!(
        (eur["positions"].as_str(), eur["cash"].as_str(), eur["net"].as_str()),
        (Some("5425.00"), Some("2170.00"), Some("7595.00")),
        "{eur}"
    );
    let s = ok(&c, "stress_test", json!({"drawdown_pct": [20], "fx_shock": ["USD +5%"]})).await;
    let fx = &s["fx"];
    // The dollar 5% stronger: euro holdings are worth 1/1.05 as much in dollars.
    let loss: rust_decimal::Decimal = fx["scenarios"][0]["loss"].as_str().unwrap().parse().unwrap();
    let want = (rust_decimal::Decimal::from(7595)
        * (rust_decimal::Decimal::ONE - rust_decimal::Decimal::ONE / rust_decimal::Decimal::new(105, 2)))
    .round_dp(2);
    assert_eq!(loss, want, "{fx}");
    assert_eq!(fx["with_drawdown"][0]["fx_shock"], "USD +5%");
    let bad = c.call("stress_test", json!({"fx_shock": ["dollar up"]})).await.unwrap();
    assert!(bad.is_error);
    assert!(bad.body["error"]["message"].as_str().unwrap().starts_with("fx_shock:"), "{}", bad.body);
    c.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_account_is_read_only_and_summed_in_the_consolidated_view() {
    let mut st = State::new(SimConfig::default(), "DU1234567");
    // A second account of the same login, holding MSFT.
    let euro = SimConfig { starting_cash: rust_decimal::Decimal::from(20_000), seed: 9, ..SimConfig::default() };
    let book = st.add_account("DU7654321", euro);
    let held = trading_core::order::OrderRequest {
        symbol: "MSFT".into(),
        side: trading_core::order::Side::Buy,
        order_type: trading_core::order::OrderType::Market,
        size: trading_core::order::Size::Quantity(trading_core::money::Qty(rust_decimal::Decimal::from(3))),
        limit_price: None,
        stop_price: None,
        trail: None,
        tif: trading_core::order::TimeInForce::Day,
    };
    book.place(&held, "seed-msft").unwrap();
    let fake = FakeGateway::start(st, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = server(&fake, &dir, &[]).await;
    let accounts = ok(&c, "accounts", json!({})).await;
    let list = accounts.as_array().unwrap();
    assert_eq!(list.len(), 2, "{accounts}");
    assert_eq!((list[0]["account_id"].as_str(), list[0]["trading"].as_bool()), (Some("DU1234567"), Some(true)));
    assert_eq!((list[1]["account_id"].as_str(), list[1]["trading"].as_bool()), (Some("DU7654321"), Some(false)));
    let other = ok(&c, "positions", json!({"account": "DU7654321"})).await;
    assert_eq!(other[0]["symbol"], "MSFT", "{other}");
    let mine = ok(&c, "positions", json!({})).await;
    assert!(mine.as_array().unwrap().is_empty(), "the trading account holds nothing: {mine}");
    let s = ok(&c, "account_summary", json!({"account": "DU7654321"})).await;
    assert_eq!(s["account_id"], "DU7654321");
    let bad = c.call("account_summary", json!({"account": "U999"})).await.unwrap();
    assert!(bad.is_error);
    let m = bad.body["error"]["message"].as_str().unwrap();
    assert!(m.starts_with("account:") && m.contains("DU7654321"), "{m}");
    let all = ok(&c, "portfolio", json!({"account": "all"})).await;
    let nlv = |v: &serde_json::Value| v.as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
    let sum: rust_decimal::Decimal =
        all["accounts"].as_array().unwrap().iter().map(|a| nlv(&a["net_liquidation_in_base"])).sum();
    assert_eq!(nlv(&all["total_net_liquidation"]), sum, "{all}");
    assert_eq!(all["positions"][0]["symbol"], "MSFT");
    assert_eq!(all["orders_go_to"], "DU1234567");
    let b = ok(&c, "briefing", json!({})).await;
    assert!(b["summary"].as_str().unwrap().contains("all 2 accounts"), "{}", b["summary"]);
    // Orders still go to the configured account only.
    let posts = fake.with(|s| s.requests_to("/iserver/account/DU7654321/orders"));
    assert!(posts.is_empty());
    c.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_option_position_shows_its_greeks_and_counts_by_delta() {
    let mut st = State::new(SimConfig::default(), "DU1234567");
    let today = chrono::Utc::now().date_naive();
    let expiry = sim_venue::options::expirations(today)[5];
    let spot = st.exchange.quote("SPY").unwrap().last.unwrap().0;
    let strike = (spot / rust_decimal::Decimal::TEN).round() * rust_decimal::Decimal::TEN;
    let call = trading_core::options::OptionSymbol {
        underlying: "SPY".into(),
        expiry,
        strike,
        right: trading_core::options::Right::Call,
    };
    let row = st.option_position_row(&call, 2);
    st.extra_position_rows = vec![row];
    let fake = FakeGateway::start(st, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = server(&fake, &dir, &[]).await;
    let p = ok(&c, "positions", json!({})).await;
    let opt = p.as_array().unwrap().iter().find(|r| r["asset_class"] == "option").unwrap().clone();
    assert_eq!(opt["symbol"], call.to_string().as_str(), "{opt}");
    let delta: rust_decimal::Decimal = opt["greeks"]["delta"].as_str().unwrap().parse().unwrap();
    let shares: rust_decimal::Decimal = opt["greeks"]["delta_shares"].as_str().unwrap().parse().unwrap();
    assert!(delta > rust_decimal::Decimal::ZERO && delta < rust_decimal::Decimal::ONE, "{opt}");
    assert_eq!(shares, (rust_decimal::Decimal::from(200) * delta).round_dp(2), "2 contracts × 100 × delta");
    let e = ok(&c, "exposure", json!({})).await;
    let counted = e["options_counted_by_delta"].to_string();
    assert!(counted.contains(&call.to_string()) && counted.contains("SPY shares"), "{e}");
    let spy = e["concentration"]["weights"].as_array().unwrap().iter().find(|w| w["symbol"] == "SPY").unwrap().clone();
    assert!(
        spy["value"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap() > rust_decimal::Decimal::ZERO,
        "{spy}"
    );
    let r = ok(&c, "risk_report", json!({"lookback_days": 60})).await;
    assert!(r["options_counted_by_delta"].to_string().contains("by its delta"), "{r}");
    c.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_research_and_history_surface_over_the_gateway() {
    let fake = FakeGateway::start(State::new(SimConfig::default(), "DU1234567"), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = server(&fake, &dir, &[("ORDER_CONFIRMATION", "off")]).await;
    let chain = ok(&c, "option_chain", json!({"symbol": "SPY", "strikes_around_money": 2, "right": "P"})).await;
    let puts = chain["contracts"].as_array().unwrap();
    assert_eq!(puts.len(), 4, "{chain}");
    let name = puts[0]["symbol"].as_str().unwrap().to_string();
    let by_name = ok(&c, "get_quote", json!({"symbol": name})).await;
    let by_id = ok(&c, "get_quote", json!({"symbol": puts[0]["contract_id"]})).await;
    assert_eq!((by_name["symbol"].as_str(), by_id["symbol"].as_str()), (Some(name.as_str()), Some(name.as_str())));
    assert!(by_id["theta"].as_str().is_some(), "{by_id}");
    let bars =
        ok(&c, "price_history", json!({"symbol": "AAPL", "bar": "5min", "period": "1d", "outside_rth": true})).await;
    assert_eq!((bars["bar"].as_str(), bars["outside_rth"].as_bool()), (Some("5min"), Some(true)));
    let asked = fake.with(|s| s.requests_to("/iserver/marketdata/history"));
    assert!(asked.iter().any(|r| r.query.contains("bar=5min") && r.query.contains("outsideRth=true")));
    let b = ok(&c, "buy", json!({"symbol": "KO", "quantity": "1"})).await;
    let filled = ok(&c, "wait_for_fill", json!({"order_id": b["order_id"], "timeout_seconds": 20})).await;
    assert_eq!(filled["order"]["status"], "filled", "{filled}");
    let d = ok(&c, "position_detail", json!({"symbol": "KO"})).await;
    assert_eq!((d["held"].as_bool(), d["position"]["quantity"].as_str()), (Some(true), Some("1")), "{d}");
    assert!(d["weight_pct"].as_str().is_some() && d["contract"]["symbol"] == "KO", "{d}");
    let perf = ok(&c, "performance", json!({"period": "1M"})).await;
    assert!(perf["method"].as_str().unwrap().starts_with("TWR"), "{perf}");
    let t = ok(&c, "transactions", json!({"symbol": "KO", "days": 7})).await;
    assert_eq!(t["transactions"][0]["kind"], "Buy", "{t}");
    // IBKR's 15 minutes: another analyst question is refused with the wait, not waited for.
    let again = c.call("performance", json!({"period": "YTD"})).await.unwrap();
    assert!(
        again.is_error && again.body["error"]["message"].as_str().unwrap().contains("15 minutes"),
        "{}",
        again.body
    );
    c.shutdown().await.unwrap();
}
