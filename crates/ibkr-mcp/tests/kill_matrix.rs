//! The kill -9 matrix: the real `ibkr-mcp` is killed with SIGKILL at each point of the order
//! path (trading-core's crash points, on in test builds only) and restarted on the same journal,
//! against the fake gateway (which outlives the server, as IBKR does) and on the simulator.
//! Each run proves: the journal reads clean, an order whose fate is unknown is listed and blocks
//! its identical order, reconcile settles it, and the venue never holds the order twice.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::{path::Path, process::Stdio};

use cpapi_fake::{FakeGateway, State};
use serde_json::{Value, json};
use sim_venue::SimConfig;
use test_support::mcp_client::McpChild;

const BIN: &str = env!("CARGO_BIN_EXE_ibkr-mcp");
const ACCT: &str = "DU1234567";

async fn server(journal: &Path, gateway: Option<&str>, crash_at: Option<&str>) -> McpChild {
    let j = journal.display().to_string();
    let mut env = vec![
        ("TRADE_JOURNAL_PATH", j.as_str()),
        ("TRADING_DRY_RUN", "false"),
        ("ORDER_CONFIRMATION", "off"),
        ("ENFORCE_MARKET_HOURS", "false"),
        ("DUPLICATE_WINDOW_SECONDS", "0"),
        ("EQUITY_SAMPLE_SECONDS", "0"),
        ("LOG_LEVEL", "error"),
    ];
    if let Some(base) = gateway {
        env.extend([("IBKR_BACKEND", "gateway"), ("IBKR_API_BASE_URL", base)]);
    }
    if let Some(p) = crash_at {
        env.push(("TRADEGATE_CRASH_AT", p));
    }
    McpChild::spawn(BIN.as_ref(), &env, Stdio::null()).await.unwrap()
}

fn buy() -> Value {
    json!({"symbol": "AAPL", "cash_amount": 20})
}

/// The journal's lines, each parsed: a crash never leaves a torn or unreadable line.
fn journal_kinds(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("torn journal line {l:?}: {e}")))
        .filter(|v| v["kind"] != "call")
        .map(|v| v["kind"].as_str().unwrap_or("outcome").to_string())
        .collect()
}

/// Kills the server at `point` in the middle of a buy and restarts it; returns the restarted
/// server and how many orders the venue holds (`venue_orders`) once it is back.
async fn crash_and_restart(
    point: &str,
    journal: &Path,
    gateway: Option<&str>,
    venue_orders: impl Fn() -> usize,
) -> (McpChild, usize) {
    let c = server(journal, gateway, Some(point)).await;
    let answer = c.call("buy", buy()).await;
    assert!(answer.is_err(), "{point}: the server died mid-call, it cannot have answered: {answer:?}");
    drop(c);
    let kinds = journal_kinds(journal);
    let want_outcome = point == "after_outcome";
    assert_eq!(
        kinds.last().map(String::as_str),
        Some(if want_outcome { "outcome" } else { "intent" }),
        "{point}: {kinds:?}"
    );
    let c = server(journal, gateway, None).await;
    let st = c.call("session_status", json!({})).await.unwrap();
    assert!(!st.is_error, "{point}: {}", st.body);
    let unresolved = st.data()["posture"]["unresolved_orders"].as_array().unwrap().len();
    assert_eq!(unresolved, usize::from(!want_outcome), "{point}: {}", st.data()["posture"]);
    if unresolved == 1 {
        let again = c.call("buy", buy()).await.unwrap();
        assert_eq!(again.error()["rule"], "unresolved_dispatch", "{point}: the identical order waits: {}", again.body);
        assert_eq!(
            venue_orders(),
            usize::from(!matches!(point, "after_intent" | "after_post")) * usize::from(gateway.is_some()),
            "{point}: refused, nothing sent"
        );
    }
    (c, venue_orders())
}

/// Reconciles: by client order id first; what the venue does not have is accepted as
/// resolved only when asked. Afterwards nothing is unresolved.
async fn reconcile(c: &McpChild, point: &str, landed: bool) {
    let r = c.call("reconcile_pending", json!({})).await.unwrap();
    let resolved = r.data()["resolved"].as_array().unwrap().len();
    if landed {
        assert_eq!(resolved, usize::from(point != "after_outcome"), "{point}: found by client order id: {}", r.body);
    } else {
        assert_eq!(resolved, 0, "{point}: the venue never had it: {}", r.body);
        let r = c.call("reconcile_pending", json!({"resolve_missing": true})).await.unwrap();
        assert_eq!(r.data()["resolved"].as_array().unwrap().len(), 1, "{point}: {}", r.body);
    }
    let st = c.call("session_status", json!({})).await.unwrap();
    assert!(st.data()["posture"]["unresolved_orders"].as_array().unwrap().is_empty(), "{point}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_every_point_against_the_gateway_no_duplicate_and_a_clean_reconcile() {
    for point in trading_core::crash::POINTS {
        let mut st = State::new(SimConfig::default(), ACCT);
        st.ask_cash_qty_question = true; // the cash order goes through IBKR's question and reply
        // A restarted server starts a fresh pacer: the fake does not hold it to the old one's spacing.
        st.limits.spaced.clear();
        let fake = FakeGateway::start(st, 0).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("trades.jsonl");
        let base = fake.base_url();
        let orders = || fake.with(|s| s.exchange.orders()).len();
        let (c, held) = crash_and_restart(point, &journal, Some(&base), orders).await;
        // Before IBKR's question is answered nothing is placed; from the confirmed reply on, one.
        let landed = !matches!(point, "after_intent" | "after_post");
        assert_eq!(held, usize::from(landed), "{point}: the venue holds the order once or not at all");
        reconcile(&c, point, landed).await;
        if !landed {
            let b = c.call("buy", buy()).await.unwrap();
            assert!(!b.is_error, "{point}: settled, the order may go: {}", b.body);
        }
        assert_eq!(orders(), 1, "{point}: never a duplicate");
        c.shutdown().await.unwrap();
        eprintln!("kill -9 {point}: gateway ok");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_every_point_on_the_simulator_the_journal_holds_and_reconcile_settles() {
    // The simulator lives in the process: a kill takes its market with it, so an order whose
    // answer was lost is settled by the operator's resolve_missing, never resent by itself.
    for point in ["after_intent", "after_ack", "after_outcome"] {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("trades.jsonl");
        let (c, _) = crash_and_restart(point, &journal, None, || 0).await;
        reconcile(&c, point, point == "after_outcome").await;
        c.shutdown().await.unwrap();
        eprintln!("kill -9 {point}: simulator ok");
    }
}
