//! End to end: spawn the real `ibkr-mcp` binary and drive it over stdio with an MCP client.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::{path::PathBuf, process::Stdio};

use serde_json::json;
use test_support::mcp_client::McpChild;

const BIN: &str = env!("CARGO_BIN_EXE_ibkr-mcp");

/// The shared tools (trading-mcp's golden tools/list) plus IBKR's three scanner tools.
fn mirrored() -> Vec<String> {
    let golden = include_str!("../../trading-mcp/tests/tools.json");
    let tools: Vec<serde_json::Value> = serde_json::from_str(golden).unwrap();
    let mut names: Vec<String> = tools.iter().map(|t| t["name"].as_str().unwrap().to_string()).collect();
    names.extend(["scan_catalog", "filter_catalog", "run_scanner"].map(String::from));
    names
}

struct Server {
    _dir: tempfile::TempDir,
    journal: PathBuf,
    client: McpChild,
}

async fn start(extra: &[(&str, &str)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("trades.jsonl");
    start_on(dir, journal, extra).await
}

async fn start_on(dir: tempfile::TempDir, journal: PathBuf, extra: &[(&str, &str)]) -> Server {
    let j = journal.display().to_string();
    let eq = dir.path().join("equity.sqlite").display().to_string();
    let mut env =
        vec![("TRADE_JOURNAL_PATH", j.as_str()), ("EQUITY_HISTORY_PATH", eq.as_str()), ("LOG_LEVEL", "error")];
    env.extend_from_slice(extra);
    let client = McpChild::spawn(BIN.as_ref(), &env, Stdio::null()).await.unwrap();
    Server { _dir: dir, journal, client }
}

#[tokio::test]
async fn lists_the_mirrored_tools_with_annotations() {
    let s = start(&[]).await;
    let tools = s.client.list_tools().await.unwrap();
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    let mut want = mirrored();
    want.sort();
    assert_eq!(names, want);
    let ann = |n: &str| tools.iter().find(|t| t.name == n).unwrap().annotations.clone().unwrap();
    assert_eq!(ann("buy").destructive_hint, Some(true));
    assert_eq!(ann("buy").idempotent_hint, Some(false));
    assert_eq!(ann("get_quote").read_only_hint, Some(true));
    let buy = tools.iter().find(|t| t.name == "buy").unwrap();
    assert!(buy.description.as_deref().unwrap().contains("confirmation_token"));
}

#[tokio::test]
async fn read_only_registers_no_write_tool() {
    let s = start(&[("READ_ONLY", "true")]).await;
    let names: Vec<String> = s.client.list_tools().await.unwrap().iter().map(|t| t.name.to_string()).collect();
    for w in trading_mcp::WRITE_TOOLS {
        assert!(!names.iter().any(|n| n == w), "{w} must not be registered");
    }
    assert!(names.iter().any(|n| n == "get_quote"));
    assert!(
        s.client.call("buy", json!({"symbol": "AAPL", "cash_amount": 5})).await.is_err(),
        "an unregistered tool is a protocol error"
    );
}

#[tokio::test]
async fn session_status_says_simulator_and_paper() {
    let s = start(&[]).await;
    let a = s.client.call("session_status", json!({})).await.unwrap();
    assert!(!a.is_error);
    let d = a.data();
    assert_eq!(d["simulator"], true);
    assert_eq!(d["account_type"], "PAPER");
    assert!(d["notice"].as_str().unwrap().starts_with("SIMULATOR"));
    assert_eq!(d["posture"]["dry_run"], true);
    assert_eq!(d["posture"]["safe_to_trade"], true);
}

/// SIM_ACCOUNT_TYPE=live: the simulator poses as a real-money account, and the live lock holds
/// exactly as it would on IBKR (label first, then the arm), without a broker.
#[tokio::test]
async fn the_simulator_posing_as_live_is_held_by_the_live_lock() {
    let buy = json!({"symbol": "AAPL", "cash_amount": 20});
    let s = start(&[("SIM_ACCOUNT_TYPE", "live"), ("ORDER_CONFIRMATION", "off")]).await;
    let d = s.client.call("session_status", json!({})).await.unwrap().data().clone();
    assert_eq!(d["account_type"], "LIVE", "{d}");
    assert_eq!(d["posture"]["safe_to_trade"], false, "{d}");
    let e = s.client.call("buy", buy.clone()).await.unwrap();
    assert_eq!(e.error()["rule"], "live_arm", "{}", e.body);
    let label = e.error()["violations"].as_array().unwrap().iter().find(|v| v["rule"] == "label_vs_reality").cloned();
    assert_eq!(label.unwrap()["setting"], "IBKR_TRADING_MODE", "the paper label is named too: {}", e.body);

    let s = start(&[("SIM_ACCOUNT_TYPE", "live"), ("IBKR_TRADING_MODE", "live"), ("ORDER_CONFIRMATION", "off")]).await;
    let e = s.client.call("buy", buy.clone()).await.unwrap();
    assert_eq!(e.error()["rule"], "live_arm", "{}", e.body);
    assert_eq!(e.error()["setting"], "TRADING_ALLOW_LIVE", "{}", e.body);
    assert!(!e.body.to_string().contains("label_vs_reality"), "the label now agrees: {}", e.body);

    let armed = [
        ("SIM_ACCOUNT_TYPE", "live"),
        ("IBKR_TRADING_MODE", "live"),
        ("TRADING_ALLOW_LIVE", "true"),
        ("ORDER_CONFIRMATION", "off"),
    ];
    let s = start(&armed).await;
    let ok = s.client.call("buy", buy).await.unwrap();
    assert!(!ok.is_error, "armed, a dry-run order is validated: {}", ok.body);
    assert_eq!(ok.data()["dry_run"], true, "{}", ok.body);
}

#[tokio::test]
async fn two_step_order_flow_and_single_use_tokens() {
    let s = start(&[("TRADING_DRY_RUN", "false")]).await;
    let c = &s.client;
    let a = c.call("buy", json!({"symbol": "AAPL", "cash_amount": 50})).await.unwrap();
    assert!(a.is_error);
    assert_eq!(a.error()["code"], "CONFIRMATION_REQUIRED");
    // Numbers may come as JSON numbers or strings.
    let p = c.call("preview_order", json!({"symbol": "aapl", "cash_amount": "50"})).await.unwrap();
    assert!(!p.is_error, "{:?}", p.body);
    let tok = p.data()["confirmation_token"].as_str().unwrap().to_string();
    let b = c.call("buy", json!({"symbol": "AAPL", "cash_amount": 50.0, "confirmation_token": tok})).await.unwrap();
    assert!(!b.is_error, "{:?}", b.body);
    assert_eq!(b.data()["status"], "filled");
    assert!(b.data()["filled_quantity"].is_string(), "decimals go out as strings");
    let again = c.call("buy", json!({"symbol": "AAPL", "cash_amount": 50, "confirmation_token": tok})).await.unwrap();
    assert!(again.is_error);
    assert!(again.error()["message"].as_str().unwrap().contains("already used"));
    // The journal holds the intent and the outcome, chained.
    let text = std::fs::read_to_string(&s.journal).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.iter().filter(|l| l["kind"] == "intent").count(), 1);
    assert_eq!(lines.last().unwrap()["status"], "filled");
}

#[tokio::test]
async fn refusals_carry_code_rule_and_setting() {
    let s = start(&[("ORDER_CONFIRMATION", "off"), ("SYMBOL_DENYLIST", "TSLA")]).await;
    let a = s.client.call("buy", json!({"symbol": "TSLA", "cash_amount": 10})).await.unwrap();
    assert!(a.is_error);
    assert_eq!(a.error()["code"], "SAFETY_BLOCKED");
    assert_eq!(a.error()["rule"], "denylist");
    assert_eq!(a.error()["setting"], "SYMBOL_DENYLIST");
    let a = s.client.call("buy", json!({"symbol": "AAPL", "cash_amount": 1000})).await.unwrap();
    // Every rule it breaks, the first named by rule/setting, all listed.
    assert!(
        a.error()["message"].as_str().unwrap().starts_with(
            "Order of ~US$1000 exceeds the MAX_ORDER_VALUE limit (US$100). Also refused: Daily spend limit"
        )
    );
    assert_eq!(a.error()["rule"], "order_value");
    let rules: Vec<&str> =
        a.error()["violations"].as_array().unwrap().iter().map(|v| v["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["order_value", "daily_value"]);
    assert_eq!(a.error()["violations"][1]["setting"], "MAX_DAILY_VALUE");
    let v = s.client.call("buy", json!({"symbol": "AAPL", "cash_amount": 10, "quantity": 1})).await.unwrap();
    assert_eq!(v.error()["code"], "VALIDATION");
    assert_eq!(v.error()["message"], "Provide exactly one of 'quantity' and 'cash_amount'.");
    let v = s.client.call("sell", json!({"symbol": "AAPL", "quantity": "lots"})).await.unwrap();
    assert!(v.is_error, "bad numbers are refused in-band: {:?}", v.body);
}

#[tokio::test]
async fn a_misspelled_argument_is_refused_never_dropped() {
    let s = start(&[]).await;
    // `limit` is not `limit_price`: no market-order preview, no token.
    for (wrong, meant) in [("limit", "limit_price"), ("price", "limit_price"), ("lmt_price", "limit_price")] {
        let v = s.client.call("preview_order", json!({"symbol": "AAPL", "quantity": 1, wrong: 200})).await.unwrap();
        assert!(v.is_error);
        assert_eq!(v.error()["code"], "VALIDATION", "{}", v.body);
        let m = v.error()["message"].as_str().unwrap();
        assert!(m.starts_with(&format!("`{wrong}` is not a parameter of preview_order")), "{m}");
        assert!(m.contains(&format!("`{meant}`")), "{m}");
        assert!(v.body.get("data").is_none() && !v.body.to_string().contains("confirmation_token\":\""));
    }
    let v = s.client.call("buy", json!({"symbol": "AAPL", "quantity": "lots"})).await.unwrap();
    assert_eq!(v.error()["code"], "VALIDATION");
    assert!(v.error()["message"].as_str().unwrap().starts_with("`quantity` must be a decimal number"), "{}", v.body);
    let v = s.client.call("get_quotes", json!({})).await.unwrap();
    assert_eq!(v.error()["message"], "`symbols` is required for get_quotes.");
    // The simulator lists its tickers and invents none: a typo is not a market.
    let q = s.client.call("get_quote", json!({"symbol": "APPL"})).await.unwrap();
    assert_eq!(q.error()["code"], "NOT_FOUND", "{}", q.body);
    assert!(q.error()["message"].as_str().unwrap().contains("Did you mean AAPL"), "{}", q.body);
    let b = s.client.call("preview_order", json!({"symbol": "APPL", "quantity": 1})).await.unwrap();
    assert!(b.body.to_string().contains("not listed by the simulator"), "{}", b.body);
    let huge = "9".repeat(100_000);
    let v = s.client.call("get_quote", json!({"symbol": "AAPL", "extra": huge})).await.unwrap();
    assert!(v.body.to_string().len() < 2_000, "errors never echo the input at length");
}

#[tokio::test]
async fn dry_run_is_the_default() {
    let s = start(&[("ORDER_CONFIRMATION", "off")]).await;
    let a = s.client.call("buy", json!({"symbol": "MSFT", "cash_amount": 20})).await.unwrap();
    assert!(!a.is_error, "{:?}", a.body);
    assert_eq!(a.data()["dry_run"], true);
    let pos = s.client.call("positions", json!({})).await.unwrap();
    assert_eq!(pos.data().as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn resting_orders_wait_for_fill_and_cancel() {
    let s = start(&[("ORDER_CONFIRMATION", "off"), ("TRADING_DRY_RUN", "false")]).await;
    let q = s.client.call("get_quote", json!({"symbol": "KO"})).await.unwrap();
    let last: f64 = q.data()["last"].as_str().unwrap().parse().unwrap();
    let lmt = format!("{:.2}", last * 0.9);
    let o = s.client.call("buy", json!({"symbol": "KO", "quantity": 1, "limit_price": lmt})).await.unwrap();
    assert_eq!(o.data()["status"], "submitted", "{:?}", o.body);
    let id = o.data()["order_id"].clone();
    let w = s.client.call("wait_for_fill", json!({"order_id": id, "timeout_seconds": 0.3})).await.unwrap();
    assert_eq!(w.data()["timed_out"], true);
    let open = s.client.call("open_orders", json!({})).await.unwrap();
    assert_eq!(open.data().as_array().unwrap().len(), 1);
    let c = s.client.call("cancel_order", json!({"order_id": id})).await.unwrap();
    assert_eq!(c.data()["status"], "cancelled");
    let w = s.client.call("wait_for_fill", json!({"order_id": id, "timeout_seconds": 5})).await.unwrap();
    assert_eq!(w.data()["timed_out"], false);
    assert_eq!(w.data()["order"]["status"], "cancelled");
}

#[tokio::test]
async fn an_unresolved_dispatch_survives_a_restart_and_is_reconciled() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("trades.jsonl");
    // A previous run wrote the intent and died before the outcome.
    let intent = json!({
        "timestamp": "2026-11-20T10:00:00.000000-05:00", "kind": "intent", "venue": "IBKR (simulator)",
        "client_order_id": "deadbeef", "symbol": "AAPL", "side": "BUY", "order_type": "MKT",
        "cash_qty": "25", "notional": "25", "dry_run": false, "sent": true, "status": "pending",
        "prev_hash": trading_core::journal::GENESIS_HASH,
    });
    std::fs::write(&journal, format!("{intent}\n")).unwrap();
    let s = start_on(dir, journal, &[("ORDER_CONFIRMATION", "off"), ("TRADING_DRY_RUN", "false")]).await;
    let st = s.client.call("session_status", json!({})).await.unwrap();
    // Listed, without calling the whole account unsafe: it blocks only its identical order.
    assert_eq!(st.data()["posture"]["unresolved_orders"].as_array().unwrap().len(), 1);
    assert_eq!(st.data()["posture"]["safe_to_trade"], true, "{}", st.body);
    let a = s.client.call("buy", json!({"symbol": "AAPL", "cash_amount": 25})).await.unwrap();
    assert_eq!(a.error()["rule"], "unresolved_dispatch", "{:?}", a.body);
    let r = s.client.call("reconcile_pending", json!({})).await.unwrap();
    assert_eq!(r.data()["still_unresolved"].as_array().unwrap().len(), 1);
    let r = s.client.call("reconcile_pending", json!({"resolve_missing": true})).await.unwrap();
    assert_eq!(r.data()["resolved"][0]["status"], "unknown");
    let a = s.client.call("buy", json!({"symbol": "AAPL", "cash_amount": 25})).await.unwrap();
    assert!(!a.is_error, "{:?}", a.body);
}

#[test]
fn a_second_server_on_the_same_journal_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("trades.jsonl");
    let mut first = std::process::Command::new(BIN)
        .env("TRADE_JOURNAL_PATH", &journal)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first server holds the lock.
    let lock = PathBuf::from(format!("{}.lock", journal.display()));
    for _ in 0..200 {
        if lock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    let second =
        std::process::Command::new(BIN).env("TRADE_JOURNAL_PATH", &journal).stdin(Stdio::null()).output().unwrap();
    let _ = first.kill();
    let _ = first.wait();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("another tradegate server is already using the journal"), "{err}");
}

#[test]
fn a_bad_setting_stops_the_server_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .env("TRADE_JOURNAL_PATH", dir.path().join("j.jsonl"))
        .env("MAX_ORDER_VALUE", "a hundred")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("setting MAX_ORDER_VALUE: 'a hundred' is not a positive number"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty(), "nothing but protocol on stdout");
}

#[tokio::test]
async fn analytics_tools_answer_from_live_state() {
    let s = start(&[
        ("ORDER_CONFIRMATION", "off"),
        ("TRADING_DRY_RUN", "false"),
        ("MAX_ORDER_VALUE", "off"),
        ("MAX_POSITION_VALUE", "off"),
        ("MAX_DAILY_VALUE", "off"),
        ("TRADING_ALLOW_SHORT", "true"),
    ])
    .await;
    let c = &s.client;
    for (sym, qty) in [("AAPL", "10"), ("MSFT", "5"), ("KO", "30")] {
        let a = c.call("buy", json!({"symbol": sym, "quantity": qty})).await.unwrap();
        assert!(!a.is_error, "{}", a.body);
    }
    let short = c.call("sell", json!({"symbol": "TSLA", "quantity": "2"})).await.unwrap();
    assert!(!short.is_error, "{}", short.body);

    let r = c.call("risk_report", json!({"lookback_days": 60})).await.unwrap();
    assert!(!r.is_error, "{}", r.body);
    let v = &r.data()["one_day_var"];
    let total: f64 = v["parametric_95"].as_str().unwrap().parse().unwrap();
    let parts: f64 =
        v["components"].as_array().unwrap().iter().map(|x| x["var_95"].as_str().unwrap().parse::<f64>().unwrap()).sum();
    assert!(total > 0.0 && (total - parts).abs() < 0.05, "components add up: {total} vs {parts}");
    assert!(v["parametric_99"].as_str().unwrap().parse::<f64>().unwrap() > total);
    assert_eq!(r.data()["correlation"]["matrix"].as_array().unwrap().len(), 4);
    assert_eq!(r.data()["observations"], 60);
    let bad = c.call("risk_report", json!({"lookback_days": 30})).await.unwrap();
    assert_eq!(bad.error()["message"], "lookback_days must be 60 or 252");

    let e = c.call("exposure", json!({})).await.unwrap();
    let sectors = e.data()["by_sector"].as_array().unwrap();
    assert_eq!(sectors[0]["key"], "Technology", "{}", e.body);
    let w: f64 = e.data()["concentration"]["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["weight_pct"].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    assert!((w - 100.0).abs() < 0.05, "weights on gross add to 100: {w}");

    let st = c.call("stress_test", json!({"drawdown_pct": [20]})).await.unwrap();
    assert!(!st.is_error, "{}", st.body);
    assert!(st.data()["scenarios"][0]["loss"].as_str().unwrap().parse::<f64>().unwrap() > 0.0);

    let plan = c.call("rebalance_plan", json!({"targets": "AAPL:20,SPY:10", "fractional": false})).await.unwrap();
    assert!(!plan.is_error, "{}", plan.body);
    let lines = plan.data()["lines"].as_array().unwrap();
    assert!(lines.iter().any(|l| l["symbol"] == "MSFT" && l["side"] == "SELL" && l["target_pct"] == "0"));
    assert!(lines.iter().any(|l| l["symbol"] == "TSLA" && l["side"] == "BUY"), "the short is bought back to 0%");
    assert!(plan.data()["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("sum to 30%")));

    let t = c.call("technicals", json!({"symbol": "AAPL"})).await.unwrap();
    // Every figure is a decimal string with its kind's rounding (trading-mcp's figures).
    let rsi: f64 = t.data()["rsi_14"].as_str().unwrap().parse().unwrap();
    assert!((0.0..=100.0).contains(&rsi));
    assert_eq!(t.data()["rsi_14"].as_str().unwrap().split('.').nth(1).map(str::len), Some(2), "{}", t.body);
    let sma: rust_decimal::Decimal = t.data()["sma_200"].as_str().unwrap().parse().unwrap();
    assert!(sma > rust_decimal::Decimal::ZERO, "{}", t.body);
    assert!(t.data()["macd_12_26_9"]["signal"].is_string(), "{}", t.body);
    let risk = c.call("risk_report", json!({})).await.unwrap();
    assert!(risk.data()["beta"]["weighted"].is_string(), "{}", risk.body);
    fn no_float(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(n) => n.is_i64() || n.is_u64(),
            serde_json::Value::Array(a) => a.iter().all(no_float),
            serde_json::Value::Object(o) => o.values().all(no_float),
            _ => true,
        }
    }
    for tool in ["briefing", "stress_test", "exposure", "drawdown_tracker", "portfolio"] {
        let a = c.call(tool, json!({})).await.unwrap();
        assert!(no_float(&a.body), "{tool} has a float figure: {}", a.body);
    }
    for (tool, body) in [("technicals", &t.body), ("risk_report", &risk.body)] {
        assert!(no_float(body), "{tool} has a float figure: {body}");
    }

    let w = c.call("what_if", json!({"symbol": "AAPL", "quantity": 3})).await.unwrap();
    assert_eq!(w.data()["position"]["before"], "10");
    assert_eq!(w.data()["position"]["after"], "13");

    let d = c.call("drawdown_tracker", json!({})).await.unwrap();
    assert!(d.data()["samples"].as_u64().unwrap() >= 1, "{}", d.body);

    let b = c.call("briefing", json!({"compact": true})).await.unwrap();
    let line = b.data()["summary"].as_str().unwrap();
    assert!(line.contains("PAPER") && line.contains("4 position(s)") && line.contains("1-day VaR95"), "{line}");
    let full = c.call("briefing", json!({})).await.unwrap();
    assert!(full.data()["risk"]["one_day_var"].is_object(), "{}", full.body);
    assert_eq!(full.data()["positions"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn research_tools_from_catalog_to_candidates() {
    let s = start(&[]).await;
    let c = &s.client;
    let first = c.call("scan_catalog", json!({})).await.unwrap();
    assert!(first.body.to_string().len() < 8 * 1024, "scan_catalog {{}} is {} bytes", first.body.to_string().len());
    let meta = c.call("scan_catalog", json!({"list_meta": true})).await.unwrap();
    assert_eq!(meta.data()["scans"], 636);
    assert!(meta.data()["strategies"]["income"].as_u64().unwrap() > 0);
    let income = c.call("scan_catalog", json!({"strategy": "income", "instrument": "STK", "limit": 5})).await.unwrap();
    let first = &income.data()["results"][0];
    assert!(first["tags"].as_array().unwrap().iter().any(|t| t == "income"), "{}", income.body);
    assert!(first["locations"]["codes"].as_array().unwrap().iter().any(|l| l == "STK.US.MAJOR"), "{}", income.body);
    let gain = c.call("scan_catalog", json!({"query": "perc gain", "category": "Price Movement"})).await.unwrap();
    let top = gain.data()["results"].as_array().unwrap().iter().find(|r| r["code"] == "TOP_PERC_GAIN").unwrap().clone();
    assert_eq!(top["inverse"], "TOP_PERC_LOSE");
    let f = c.call("filter_catalog", json!({"group": "PRICE", "instrument": "STK"})).await.unwrap();
    assert!(f.data()["filters"].as_array().unwrap().iter().any(|x| x["code"] == "priceAbove"));
    // The whole catalog comes in small pages with a cursor.
    let all = c.call("filter_catalog", json!({})).await.unwrap();
    assert!(all.body.to_string().len() < 8 * 1024, "{} bytes", all.body.to_string().len());
    let (total, next) = (all.data()["count"].as_u64().unwrap(), all.data()["next"].as_u64().unwrap());
    assert!(total > 500 && next == 25, "{}", all.data()["count"]);
    let page2 = c.call("filter_catalog", json!({"offset": next})).await.unwrap();
    assert_eq!(page2.data()["offset"], 25);
    assert_ne!(page2.data()["filters"][0], all.data()["filters"][0]);

    let run = c
        .call(
            "run_scanner",
            json!({"scan_code": "TOP_PERC_GAIN", "filters": [{"code": "priceAbove", "value": 50}], "max_rows": 5}),
        )
        .await
        .unwrap();
    assert!(!run.is_error, "{}", run.body);
    let rows = run.data()["rows"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.len() <= 5);
    let pct = |r: &serde_json::Value| r["value"].as_str().unwrap().trim_end_matches('%').parse::<f64>().unwrap();
    assert!(rows.windows(2).all(|w| pct(&w[0]) >= pct(&w[1])), "ranked: {rows:?}");
    let not_here = c.call("run_scanner", json!({"scan_code": "HIGH_DIVIDEND_YIELD_IB"})).await.unwrap();
    assert_eq!(not_here.error()["code"], "UNSUPPORTED");
    assert!(not_here.error()["message"].as_str().unwrap().contains("TOP_PERC_GAIN"), "says which scans it can do");
    for (args, want) in [
        (json!({"scan_code": "NOPE"}), "scan_code: 'NOPE' is not an IBKR scan"),
        (json!({"scan_code": "FAR_MATURITY_DATE"}), "instrument: scan FAR_MATURITY_DATE does not apply to STK"),
        (
            json!({"scan_code": "TOP_PERC_GAIN", "filters": [{"code": "priceAbove", "value": "cheap"}]}),
            "filters: priceAbove takes a number",
        ),
    ] {
        let e = c.call("run_scanner", args).await.unwrap();
        assert_eq!(e.error()["code"], "VALIDATION");
        assert!(e.error()["message"].as_str().unwrap().starts_with(want), "{}", e.body);
    }

    let found = c.call("search_contracts", json!({"query": "apple"})).await.unwrap();
    assert_eq!(found.data()[0]["symbol"], "AAPL");
    let d = c.call("contract_details", json!({"symbol": "AAPL"})).await.unwrap();
    assert_eq!(d.data()["sector"], "Technology");
    let h = c.call("price_history", json!({"symbol": "AAPL", "days": 30})).await.unwrap();
    assert_eq!(h.data()["count"], 30);
    assert!(h.data()["bars"][0]["close"].is_string());
    let sch = c.call("trading_schedule", json!({"symbol": "SPY"})).await.unwrap();
    assert_eq!(sch.data()["sessions"].as_array().unwrap().len(), 7);
}

#[tokio::test]
async fn a_damaged_journal_stops_entries_until_a_person_acknowledges_it() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("trades.jsonl");
    std::fs::write(&journal, b"{\"kind\":\"outcome\",\"status\":\"filled\xff\"}\n").unwrap();
    let journal_cmd = |what: &str| {
        std::process::Command::new(BIN)
            .args(["journal", what])
            .env_clear()
            .env("TRADE_JOURNAL_PATH", &journal)
            .output()
            .unwrap()
    };
    let out = journal_cmd("check");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("corrupt lines: [1]"), "{out:?}");
    let s = start_on(dir, journal.clone(), &[("ORDER_CONFIRMATION", "off"), ("TRADING_DRY_RUN", "false")]).await;
    let st = s.client.call("session_status", json!({})).await.unwrap();
    assert_eq!(st.data()["posture"]["safe_to_trade"], false, "{}", st.body);
    let a = s.client.call("buy", json!({"symbol": "AAPL", "cash_amount": 25})).await.unwrap();
    assert_eq!(a.error()["rule"], "journal_integrity", "{}", a.body);
    assert!(a.error()["message"].as_str().unwrap().contains("ibkr-mcp journal acknowledge"));
    let Server { _dir, journal, client } = s;
    drop(client);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let out = journal_cmd("acknowledge");
    assert!(out.status.success(), "{out:?}");
    assert!(journal_cmd("check").status.success());
    let s = start_on(_dir, journal, &[("ORDER_CONFIRMATION", "off"), ("TRADING_DRY_RUN", "false")]).await;
    let a = s.client.call("buy", json!({"symbol": "AAPL", "cash_amount": 25})).await.unwrap();
    assert!(!a.is_error, "{}", a.body);
}

/// Lines rmcp cannot parse are answered, never left waiting; the server keeps serving.
#[tokio::test]
async fn every_line_gets_an_answer() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(BIN)
        .env("TRADE_JOURNAL_PATH", dir.path().join("j.jsonl"))
        .env("EQUITY_SAMPLE_SECONDS", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let deep = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\",\"params\":{}0{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    let huge = format!("{{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"ping\",\"params\":\"{}\"}}", "x".repeat(2 << 20));
    let mut input: Vec<Vec<u8>> = vec![
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}".to_vec(),
        b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}".to_vec(),
        b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/li".to_vec(),
        b"\xff\xfe\xfd".to_vec(),
        b"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}".to_vec(),
        b"{\"jsonrpc\":\"2.0\",\"id\":1e400,\"method\":\"ping\"}".to_vec(),
        deep.into_bytes(),
        huge.into_bytes(),
        b"{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/call\",\"params\":{\"name\":\"get_quote\",\"arguments\":\"AAPL\"}}".to_vec(),
        b"{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"ping\"}".to_vec(),
    ];
    for l in input.iter_mut() {
        l.push(b'\n');
        stdin.write_all(l).await.unwrap();
    }
    stdin.flush().await.unwrap();
    let mut answers = vec![];
    while answers.len() < 9 {
        let line =
            tokio::time::timeout(std::time::Duration::from_secs(10), out.next_line()).await.unwrap().unwrap().unwrap();
        assert!(line.len() < 4_000, "answers stay small: {}", line.len());
        answers.push(serde_json::from_str::<serde_json::Value>(&line).unwrap());
    }
    let code_of = |id: serde_json::Value| {
        answers.iter().filter(|a| a["id"] == id).map(|a| a["error"]["code"].as_i64().unwrap_or(0)).collect::<Vec<_>>()
    };
    assert_eq!(code_of(json!(null)), [-32700, -32700, -32700, -32700, -32600, -32600], "{answers:?}");
    assert_eq!(code_of(json!(11)), [-32602]);
    assert_eq!(code_of(json!(12)), [0], "the server still answers");
    assert!(answers.iter().any(|a| a["id"] == 1 && a["result"]["serverInfo"].is_object()));
}

#[test]
fn the_command_line_behaves_like_a_cli() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        std::process::Command::new(BIN).args(args).envs(env.iter().copied()).stdin(Stdio::null()).output().unwrap()
    };
    let v = run(&["--version"], &[]);
    assert!(v.status.success());
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("ibkr-mcp 0.1.0 ("), "{v:?}");
    let h = run(&["--help"], &[]);
    assert!(h.status.success() && String::from_utf8_lossy(&h.stdout).contains("--transport"));
    assert!(String::from_utf8_lossy(&h.stdout).contains("manifest server.json"), "{h:?}");
    let bad = run(&["--bogus"], &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unexpected argument '--bogus'"));
    let lvl = run(&[], &[("LOG_LEVEL", "info[[")]);
    assert!(!lvl.status.success());
    assert!(String::from_utf8_lossy(&lvl.stderr).contains("LOG_LEVEL"), "{lvl:?}");
}

/// `ibkr-mcp manifest ...` prints what installers read: the committed files (the manifests
/// test checks those against the schemas), a bundle for one platform, a server.json with a
/// released bundle's SHA-256.
#[test]
fn the_manifest_subcommand_prints_what_installers_read() {
    let run = |args: &[&str]| std::process::Command::new(BIN).args(args).stdin(Stdio::null()).output().unwrap();
    let json = |o: &std::process::Output| {
        assert!(o.status.success(), "{o:?}");
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let committed = |name: &str| {
        let path = format!("{}/../../packaging/ibkr-mcp/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    assert_eq!(json(&run(&["manifest", "server.json"])), committed("server.json"));
    assert_eq!(json(&run(&["manifest", "mcpb"])), committed("manifest.json"));
    let linux = json(&run(&["manifest", "mcpb", "--platform", "linux"]));
    assert_eq!(linux["compatibility"]["platforms"], json!(["linux"]));
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ibkr-mcp-0.1.0-linux-x86_64.mcpb");
    std::fs::write(&bundle, b"bundle bytes").unwrap();
    let with = json(&run(&["manifest", "server.json", "--mcpb", bundle.to_str().unwrap()]));
    let mcpb = &with["packages"][1];
    assert_eq!(mcpb["registryType"], "mcpb");
    // `printf %s 'bundle bytes' | sha256sum`
    assert_eq!(mcpb["fileSha256"], "f40a912044d47ea7c32f37340db4fd5eb853ffb8fcd983f605d9eb4f8b02fbc2");
    assert!(
        mcpb["identifier"].as_str().unwrap().ends_with("/releases/download/v0.1.0/ibkr-mcp-0.1.0-linux-x86_64.mcpb")
    );
    let bad = run(&["manifest", "mcpb", "--platform", "beos"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("darwin, linux or win32"));
    assert_eq!(run(&["manifest"]).status.code(), Some(2));
}

/// A real disk fault: the server runs with a 4 KiB file-size limit (SIGXFSZ ignored, so a
/// write past it fails with EFBIG, as a full disk fails with ENOSPC). Orders go out until the
/// journal cannot record an intent; from then on nothing is sent, and every execution the
/// venue reports has its intent line.
#[tokio::test]
async fn when_the_journal_cannot_write_no_order_leaves() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let wrapper = dir.path().join("limited.sh");
    std::fs::write(&wrapper, format!("#!/bin/bash\ntrap '' XFSZ\nulimit -f 4\nexec {BIN} \"$@\"\n")).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let journal = dir.path().join("trades.jsonl");
    let j = journal.display().to_string();
    let eq = dir.path().join("equity.sqlite").display().to_string();
    let env = [
        ("TRADE_JOURNAL_PATH", j.as_str()),
        ("EQUITY_HISTORY_PATH", eq.as_str()),
        ("EQUITY_SAMPLE_SECONDS", "0"),
        ("LOG_LEVEL", "error"),
        ("ORDER_CONFIRMATION", "off"),
        ("TRADING_DRY_RUN", "false"),
        ("MAX_DAILY_VALUE", "off"),
        ("MAX_DAILY_ORDERS", "off"),
        ("DUPLICATE_WINDOW_SECONDS", "0"),
    ];
    let c = McpChild::spawn(&wrapper, &env, Stdio::null()).await.unwrap();
    let (mut placed, mut refused) = (0, 0);
    for i in 0..40 {
        // Distinct orders: an identical one would (rightly) wait for an unresolved dispatch.
        let a = c.call("buy", json!({"symbol": "AAPL", "cash_amount": 10 + i})).await.unwrap();
        if a.is_error {
            let m = a.error()["message"].as_str().unwrap().to_string();
            assert!(m.contains("order not sent: the journal could not record it"), "{m}");
            refused += 1;
        } else {
            placed += 1;
        }
    }
    assert!(placed > 0 && refused > 0, "placed {placed}, refused {refused}");
    let th = c.call("trade_history", json!({"limit": 200})).await.unwrap();
    let fills = th.data()["executions"].as_array().unwrap().clone();
    assert_eq!(fills.len(), placed, "only journaled orders reached the venue");
    let text = std::fs::read_to_string(&journal).unwrap();
    for f in &fills {
        let coid = f["client_order_id"].as_str().unwrap();
        assert!(text.lines().any(|l| l.contains("\"kind\":\"intent\"") && l.contains(coid)), "no intent for {coid}");
    }
}

#[tokio::test]
async fn trade_history_comes_in_small_pages() {
    let s = start(&[("ORDER_CONFIRMATION", "off"), ("DUPLICATE_WINDOW_SECONDS", "0")]).await;
    for i in 0..25 {
        let b = s.client.call("buy", json!({"symbol": "AAPL", "cash_amount": 10 + i})).await.unwrap();
        assert!(!b.is_error, "{}", b.body);
    }
    let first = s.client.call("trade_history", json!({})).await.unwrap();
    assert!(first.body.to_string().len() < 8_000, "the default page is small: {}", first.body.to_string().len());
    assert_eq!(first.data()["journal"].as_array().unwrap().len(), 10);
    let before = first.data()["next"]["before"].as_u64().unwrap();
    let second = s.client.call("trade_history", json!({"before": before, "limit": 10})).await.unwrap();
    let (a, b) = (&first.data()["journal"][0]["timestamp"], &second.data()["journal"][9]["timestamp"]);
    assert!(b.as_str() <= a.as_str(), "the next page is older");
    let last = s.client.call("trade_history", json!({"before": 5})).await.unwrap();
    assert_eq!(last.data()["journal"].as_array().unwrap().len(), 5);
    assert!(last.data()["next"].is_null(), "no page before the first record");
    assert_eq!(s.client.call("trade_history", json!({"limit": 0})).await.unwrap().error()["code"], "VALIDATION");
}

#[tokio::test]
async fn cash_balances_agree_with_the_account_summary() {
    let s = start(&[]).await;
    let summary = s.client.call("account_summary", json!({})).await.unwrap();
    let cash = s.client.call("cash_balances", json!({})).await.unwrap();
    assert!(!cash.is_error, "{}", cash.body);
    let c = cash.data();
    assert_eq!(c["base_currency"], summary.data()["currency"]);
    assert_eq!(c["balances"][0]["cash"], summary.data()["cash"]);
    assert_eq!(c["total_in_base"], summary.data()["cash"]);
}

#[tokio::test]
async fn the_ibkr_surface_answers_on_the_simulator() {
    let s = start(&[]).await;
    let ok = |name: &'static str, args: serde_json::Value| {
        let c = &s.client;
        async move {
            let a = c.call(name, args.clone()).await.unwrap();
            assert!(!a.is_error, "{name} {args}: {}", a.body);
            a.data().clone()
        }
    };
    // Options: a chain, one contract's quote by its readable name.
    let chain = ok("option_chain", json!({"symbol": "SPY", "strikes_around_money": 3, "right": "C"})).await;
    let contracts = chain["contracts"].as_array().unwrap();
    assert_eq!(contracts.len(), 6);
    let name = contracts[3]["symbol"].as_str().unwrap().to_string();
    let q = ok("get_quote", json!({"symbol": name})).await;
    assert_eq!(q["symbol"], name.as_str());
    assert!(q["delta"].as_str().is_some(), "{q}");
    // Accounts, performance, fx, intraday bars, position detail.
    let accounts = ok("accounts", json!({})).await;
    assert_eq!(accounts[0]["trading"], true);
    let perf = ok("performance", json!({"period": "MTD"})).await;
    assert_eq!(perf["period"], "MTD");
    assert!(perf["nav"].as_array().unwrap().len() <= 60);
    let fx = ok("fx_rate", json!({"from": "EUR", "to": "USD"})).await;
    assert_eq!(fx["rate"], "1.085");
    let bars = ok("price_history", json!({"symbol": "AAPL", "bar": "15min", "period": "2d"})).await;
    assert_eq!(bars["bar"], "15min");
    let d = ok("position_detail", json!({"symbol": "AAPL"})).await;
    assert_eq!((d["symbol"].as_str(), d["held"].as_bool()), (Some("AAPL"), Some(false)));
    assert!(d["technicals"]["sma_20"].as_str().is_some(), "{d}");
    let t = ok("transactions", json!({"symbol": "AAPL", "days": 30})).await;
    assert_eq!((t["symbol"].as_str(), t["realized_pnl"].as_str()), (Some("AAPL"), Some("0")));
    let bad = s.client.call("performance", json!({"period": "forever"})).await.unwrap();
    assert!(bad.is_error && bad.body["error"]["message"].as_str().unwrap().starts_with("period:"));
}
