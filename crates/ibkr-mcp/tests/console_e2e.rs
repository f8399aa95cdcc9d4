//! The console in a real headless Chromium, against the real `ibkr-mcp` on the simulator with
//! an MCP client as the agent: the numbers equal the tools', the charts have a slice or a point
//! per figure, a refusal appears in the timeline on its own, the kill switch halts and resumes,
//! an approval made there places the order once, and the page refuses what comes from elsewhere.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::{path::PathBuf, process::Stdio, time::Duration};

use rust_decimal::Decimal;
use serde_json::{Value, json};
use test_support::{Browser, mcp_client::McpChild};

const BIN: &str = env!("CARGO_BIN_EXE_ibkr-mcp");
const WAIT: Duration = Duration::from_secs(15);

struct Server {
    dir: tempfile::TempDir,
    client: McpChild,
    console: String,
}

impl Server {
    async fn start(extra: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("trades.jsonl").display().to_string();
        let eq = dir.path().join("equity.sqlite");
        // Five days of equity history, as the sampler would have left it.
        let store = trading_mcp::equity::EquityStore::open(&eq).unwrap();
        let start = chrono::Utc::now() - chrono::Duration::days(6);
        for (i, v) in [100_000, 100_400, 99_800, 99_500, 100_100].into_iter().enumerate() {
            store.record(start + chrono::Duration::days(i as i64), Decimal::from(v)).unwrap();
        }
        drop(store);
        let eq = eq.display().to_string();
        let mut env = vec![
            ("TRADE_JOURNAL_PATH", j.as_str()),
            ("EQUITY_HISTORY_PATH", eq.as_str()),
            ("EQUITY_SAMPLE_SECONDS", "3600"),
            ("LOG_LEVEL", "error"),
            ("TRADING_DRY_RUN", "false"),
        ];
        env.extend_from_slice(extra);
        let client = McpChild::spawn(BIN.as_ref(), &env, Stdio::null()).await.unwrap();
        let st = client.call("session_status", json!({})).await.unwrap();
        let console = st.data()["approval"]["console"].as_str().expect("session_status names the console").to_string();
        Server { dir, client, console }
    }

    async fn call(&self, tool: &str, args: Value) -> Value {
        let a = self.client.call(tool, args).await.unwrap();
        assert!(!a.is_error, "{tool}: {}", a.body);
        a.data().clone()
    }

    async fn buy(&self, symbol: &str, cash: u32) -> Value {
        let p = self.call("preview_order", json!({"symbol": symbol, "side": "BUY", "cash_amount": cash})).await;
        self.call("buy", json!({"symbol": symbol, "cash_amount": cash, "confirmation_token": p["confirmation_token"]}))
            .await
    }

    fn intents(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("trades.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"kind\":\"intent\""))
            .count()
    }
}

fn shots() -> Option<PathBuf> {
    // `SCREENSHOT_DIR=docs cargo test -p ibkr-mcp --test console_e2e` refreshes README's pictures.
    std::env::var_os("SCREENSHOT_DIR").map(PathBuf::from)
}

async fn browser() -> Browser {
    Browser::start().await.expect("headless Chromium (apt-get install chromium chromium-driver)")
}

async fn texts(b: &Browser, css: &str) -> Vec<String> {
    let v = b
        .execute(&format!("return [...document.querySelectorAll({css:?})].map(e => e.textContent.trim())"))
        .await
        .unwrap();
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

fn digits(s: &str) -> Decimal {
    s.chars().filter(|c| c.is_ascii_digit() || *c == '.' || *c == '-').collect::<String>().parse().unwrap()
}

#[tokio::test]
async fn the_console_shows_what_the_tools_say_and_the_kill_switch_works() {
    let s = Server::start(&[]).await;
    s.buy("AAPL", 50).await;
    s.buy("MSFT", 60).await;
    s.buy("KO", 40).await;
    let summary = s.call("account_summary", json!({})).await;
    let positions = s.call("positions", json!({})).await;
    let b = browser().await;

    // Overview: the account and the cash are the tool's (cash does not move with prices).
    b.goto(&s.console).await.unwrap();
    let cards = texts(&b, "#overview .card b").await;
    assert_eq!(cards[0], summary["account_id"].as_str().unwrap());
    assert_eq!(digits(&cards[2]), summary["cash"].as_str().unwrap().parse::<Decimal>().unwrap());
    assert!(cards[3].contains("US$"), "day P&L from the equity history: {cards:?}");
    if let Some(d) = shots() {
        b.screenshot(&d.join("console-overview.png")).await.unwrap();
    }

    // Holdings: the positions table is the tool's; a slice per position, a point per sample
    // (drawdown_tracker records the current equity as one more sample).
    let dd = s.call("drawdown_tracker", json!({})).await;
    b.goto(&format!("{}/holdings", s.console)).await.unwrap();
    let rows = texts(&b, "#positions tr td:first-child").await;
    let qty = texts(&b, "#positions tr td:nth-child(2)").await;
    let want: Vec<(String, String)> = positions
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["symbol"].as_str().unwrap().to_string(), p["quantity"].as_str().unwrap().to_string()))
        .collect();
    let got: Vec<(String, String)> = rows.into_iter().zip(qty).collect();
    assert_eq!(got, want);
    assert_eq!(b.count("#by-position .slice").await.unwrap(), 3);
    assert_eq!(b.count("#by-sector .slice").await.unwrap(), 2, "AAPL and MSFT share a sector, KO has its own");
    let points = b.count("#equity-curve .point").await.unwrap();
    assert_eq!(points as u64, dd["samples"].as_u64().unwrap(), "{dd}");
    assert_eq!(b.count("#drawdown-curve .point").await.unwrap(), points);
    if let Some(d) = shots() {
        b.screenshot(&d.join("console-holdings.png")).await.unwrap();
    }

    // The kill switch: a preview made before, a halt on the console, and the agent is refused.
    let p = s.call("preview_order", json!({"symbol": "KO", "side": "BUY", "cash_amount": 20})).await;
    b.goto(&s.console).await.unwrap();
    b.click("input[name=confirm]").await.unwrap();
    b.click("button.stop").await.unwrap();
    b.wait_for("input[value=resume]", WAIT).await.unwrap();
    let st = s.call("session_status", json!({})).await;
    assert_eq!(st["posture"]["halted"], true);
    assert!(st["posture"]["halted_by"].as_str().unwrap().contains("console"), "{}", st["posture"]);

    b.goto(&format!("{}/activity", s.console)).await.unwrap();
    let before = b.count("#timeline tr.neg").await.unwrap();
    let refused = s
        .client
        .call("buy", json!({"symbol": "KO", "cash_amount": 20, "confirmation_token": p["confirmation_token"]}))
        .await
        .unwrap();
    assert!(refused.is_error);
    assert_eq!(refused.error()["code"], "SAFETY_BLOCKED");
    assert!(refused.error()["message"].as_str().unwrap().contains("halt"), "{}", refused.body);
    // The refusal shows up in the open page by itself (it refreshes every few seconds).
    let until = tokio::time::Instant::now() + WAIT;
    while b.count("#timeline tr.neg").await.unwrap() == before {
        assert!(tokio::time::Instant::now() < until, "the refusal never appeared in the timeline");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(texts(&b, "#timeline tr.neg td:last-child").await[0].contains("halt"));
    assert!(
        texts(&b, "#timeline tr.neg td:nth-child(7)").await.iter().any(|t| t == "blocked (TRADING_HALT_FILE)"),
        "a refusal names its setting in the timeline"
    );
    assert_eq!(b.count("#gauges meter").await.unwrap(), 2);
    if let Some(d) = shots() {
        b.screenshot(&d.join("console-activity.png")).await.unwrap();
    }

    b.goto(&s.console).await.unwrap();
    b.click("form button[type=submit]").await.unwrap();
    b.wait_for("button.stop", WAIT).await.unwrap();
    let st = s.call("session_status", json!({})).await;
    assert_eq!(st["posture"]["halted"], false, "resumed from the console");
    b.close().await;
}

#[tokio::test]
async fn an_approval_on_the_console_places_the_order_once() {
    let s = Server::start(&[("TRADING_APPROVAL", "web")]).await;
    let a = s.buy("AAPL", 30).await;
    assert_eq!(a["status"], "pending_approval", "{a}");
    assert_eq!(a["approve_at"], format!("{}/approvals", s.console));
    let b = browser().await;
    b.goto(a["approve_at"].as_str().unwrap()).await.unwrap();
    assert!(b.source().await.unwrap().contains(a["fingerprint"].as_str().unwrap()));
    if let Some(d) = shots() {
        b.screenshot(&d.join("console-approvals.png")).await.unwrap();
    }
    b.click("button[value=approve]").await.unwrap();
    b.wait_for("#no-pending", WAIT).await.unwrap();
    assert_eq!(texts(&b, "#decisions tr td:nth-child(2)").await[0], "approved");
    b.close().await;
    let done = s.call("wait_approval", json!({"approval_id": a["approval_id"], "timeout_seconds": 5})).await;
    assert_eq!(done["status"], "placed", "{done}");
    assert_eq!(done["decided_by"], "the console");
    assert_eq!(s.intents(), 1);
}

#[tokio::test]
async fn the_console_refuses_what_comes_from_elsewhere() {
    let s = Server::start(&[]).await;
    let http = reqwest::Client::new();
    let page = http.get(&s.console).send().await.unwrap();
    let h = page.headers().clone();
    assert_eq!(h["cache-control"], "no-store");
    assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(h["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = &html[at..at + 32];
    let origin = s.console.trim_end_matches("/console").to_string();
    let port = origin.rsplit(':').next().unwrap();

    let rebound = http.get(&s.console).header("host", format!("evil.example:{port}")).send().await.unwrap();
    assert_eq!(rebound.status(), 403);
    let halt = |origin: String, site: &'static str, csrf: String| {
        http.post(format!("{}/halt", s.console))
            .header("origin", origin)
            .header("sec-fetch-site", site)
            .form(&[("csrf", csrf), ("action", "halt".into()), ("confirm", "yes".into())])
            .send()
    };
    assert_eq!(halt(origin.clone(), "same-origin", String::new()).await.unwrap().status(), 403, "missing CSRF");
    assert_eq!(halt("http://evil.example".into(), "same-origin", csrf.into()).await.unwrap().status(), 403);
    assert_eq!(halt(origin.clone(), "cross-site", csrf.into()).await.unwrap().status(), 403);
    let st = s.call("session_status", json!({})).await;
    assert_eq!(st["posture"]["halted"], false, "nothing from elsewhere halted trading");
}

#[tokio::test]
async fn the_console_sums_every_account_of_the_login_as_portfolio_all_does() {
    let mut st = cpapi_fake::State::new(sim_venue::SimConfig::default(), "DU1234567");
    st.add_account(
        "DU7654321",
        sim_venue::SimConfig { starting_cash: Decimal::from(25_000), ..sim_venue::SimConfig::default() },
    );
    let fake = cpapi_fake::FakeGateway::start(st, 0).await.unwrap();
    let base = fake.base_url();
    let s = Server::start(&[
        ("IBKR_BACKEND", "gateway"),
        ("IBKR_API_BASE_URL", base.as_str()),
        ("ENFORCE_MARKET_HOURS", "false"),
    ])
    .await;
    let all = s.call("portfolio", json!({"account": "all"})).await;
    let b = browser().await;
    b.goto(&s.console).await.unwrap();
    b.wait_for("#accounts", WAIT).await.unwrap();
    let rows = texts(&b, "#accounts tbody tr td:first-child").await;
    assert_eq!(rows, ["DU1234567 (orders)", "DU7654321"], "the trading account is marked");
    let total = texts(&b, "#accounts-total").await;
    assert_eq!(digits(&total[0]), all["total_net_liquidation"].as_str().unwrap().parse::<Decimal>().unwrap());
    if let Some(d) = shots() {
        b.screenshot(&d.join("console-accounts.png")).await.unwrap();
    }
    b.close().await;
}
