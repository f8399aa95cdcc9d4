//! A person's approval end to end: the real `ibkr-mcp` binary on the simulator, an MCP client
//! as the agent, ntfy's and Telegram's APIs as loopback fakes, and the approval page in a real
//! headless Chromium. The agent never sees the link; only the person's click sends the order.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::{path::PathBuf, process::Stdio, time::Duration};

use serde_json::{Value, json};
use test_support::{
    Browser,
    mcp_client::McpChild,
    push_fakes::{NtfyFake, TelegramFake},
};

const BIN: &str = env!("CARGO_BIN_EXE_ibkr-mcp");
const TOPIC: &str = "tg-approvals-7c1d9e";
const NTFY_TOKEN: &str = "tk_ntfy_secret_55aa";
const BOT_TOKEN: &str = "123456:telegram-secret-token";
const CHAT: i64 = 4242;

struct Server {
    dir: tempfile::TempDir,
    client: McpChild,
}

impl Server {
    async fn start(extra: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("trades.jsonl").display().to_string();
        let eq = dir.path().join("equity.sqlite").display().to_string();
        let mut env = vec![
            ("TRADE_JOURNAL_PATH", j.as_str()),
            ("EQUITY_HISTORY_PATH", eq.as_str()),
            ("LOG_LEVEL", "debug,rmcp=warn"),
            ("TRADING_DRY_RUN", "false"),
        ];
        env.extend_from_slice(extra);
        let log = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let client = McpChild::spawn(BIN.as_ref(), &env, Stdio::from(log)).await.unwrap();
        Server { dir, client }
    }

    async fn call(&self, tool: &str, args: Value) -> Value {
        let a = self.client.call(tool, args).await.unwrap();
        assert!(!a.is_error, "{tool}: {}", a.body);
        a.data().clone()
    }

    /// preview_order then buy $20 of AAPL: the pending approval.
    async fn buy_held(&self) -> Value {
        let p = self.call("preview_order", json!({"symbol": "AAPL", "side": "BUY", "cash_amount": 20})).await;
        let a = self
            .call("buy", json!({"symbol": "AAPL", "cash_amount": 20, "confirmation_token": p["confirmation_token"]}))
            .await;
        assert_eq!(a["status"], "pending_approval", "{a}");
        assert_eq!(a["fingerprint"], p["fingerprint"], "the person sees the fingerprint the agent was shown");
        assert!(!a.to_string().contains("/approve/"), "no approval link in a tool result: {a}");
        a
    }

    fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("trades.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn intents(&self) -> Vec<Value> {
        self.journal().into_iter().filter(|r| r["kind"] == "intent").collect()
    }

    /// Everything the server wrote where a secret could leak: its log and its journal.
    fn written(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
        let journal = std::fs::read_to_string(self.dir.path().join("trades.jsonl")).unwrap_or_default();
        log + &journal
    }
}

async fn with_ntfy(extra: &[(&str, &str)]) -> (Server, NtfyFake) {
    let ntfy = NtfyFake::start().await.unwrap();
    let mut env = vec![
        ("TRADING_APPROVAL", "web"),
        ("APPROVAL_PUSH", "ntfy"),
        ("APPROVAL_NTFY_URL", ntfy.url.as_str()),
        ("APPROVAL_NTFY_TOPIC", TOPIC),
        ("APPROVAL_NTFY_TOKEN", NTFY_TOKEN),
    ];
    env.extend_from_slice(extra);
    (Server::start(&env).await, ntfy)
}

async fn browser() -> Browser {
    Browser::start().await.expect("headless Chromium (apt-get install chromium chromium-driver)")
}

const WAIT: Duration = Duration::from_secs(10);

/// Waits until the page's heading reads `want` (after the form's POST answers).
async fn heading(b: &Browser, want: &str) {
    let until = tokio::time::Instant::now() + WAIT;
    loop {
        let h1 = b.text("h1").await.unwrap_or_default();
        if h1 == want {
            return;
        }
        assert!(tokio::time::Instant::now() < until, "heading {h1:?}, not {want:?}: {}", b.source().await.unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn approved_in_a_real_browser_the_order_is_placed_exactly_once() {
    let (s, ntfy) = with_ntfy(&[]).await;
    let a = s.buy_held().await;
    let id = a["approval_id"].as_str().unwrap();
    assert_eq!(a["channel"], "web");
    assert!(s.intents().is_empty(), "nothing sent before the person answers");

    let push = ntfy.wait_for(1, WAIT).await.unwrap();
    assert_eq!(push["topic"], TOPIC);
    assert!(push["title"].as_str().unwrap().contains(a["fingerprint"].as_str().unwrap()), "{push}");
    assert_eq!(ntfy.published()[0].1.as_deref(), Some(format!("Bearer {NTFY_TOKEN}").as_str()));
    let link = NtfyFake::view_link(&push).unwrap();
    assert!(link.contains(&format!("/approve/{id}#k=")), "{link}");

    let b = browser().await;
    b.goto(&link).await.unwrap();
    assert_eq!(b.text("h1").await.unwrap(), "Approve this order?");
    let page = b.source().await.unwrap();
    for shown in
        [a["fingerprint"].as_str().unwrap(), "AAPL", "SIMULATOR ACCOUNT", "BUY", "Estimated fees", "Expires in"]
    {
        assert!(page.contains(shown), "the page shows {shown}");
    }
    // The key left the address bar's fragment for the form only.
    let fields = b
        .execute("return ['csrf','key','digest'].map(n => document.querySelector('input[name='+n+']').value)")
        .await
        .unwrap();
    assert_eq!(fields[1].as_str().unwrap().len(), 32, "the page put the link's key in its form");
    // `SCREENSHOT_DIR=docs cargo test -p ibkr-mcp --test approval_e2e` refreshes README's picture.
    if let Some(d) = std::env::var_os("SCREENSHOT_DIR").map(PathBuf::from) {
        b.screenshot(&d.join("approval-page.png")).await.unwrap();
    }
    b.click("button[value=approve]").await.unwrap();
    heading(&b, "This order is placed").await;
    b.close().await;

    let done = s.call("wait_approval", json!({"approval_id": id, "timeout_seconds": 5})).await;
    assert_eq!(done["status"], "placed", "{done}");
    assert_eq!(done["orders"][0]["client_order_id"], id, "the client order id is the approval's");
    assert_eq!(done["decided_by"], "approval page");

    // The same form posted again (a replay) sends nothing more.
    let url = link.split('#').next().unwrap();
    let origin = url.split("/approve").next().unwrap();
    let replay = reqwest::Client::new()
        .post(url)
        .header("origin", origin)
        .header("sec-fetch-site", "same-origin")
        .form(
            &[("csrf", &fields[0]), ("key", &fields[1]), ("digest", &fields[2]), ("decision", &json!("approve"))]
                .map(|(k, v)| (k, v.as_str().unwrap().to_string())),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 409);
    assert_eq!(s.intents().len(), 1, "exactly one order left");
    let steps: Vec<Value> =
        s.journal().into_iter().filter(|r| r["kind"] == "approval").map(|r| r["status"].clone()).collect();
    assert_eq!(steps, [json!("approval_pending"), json!("approved")]);
    let written = s.written();
    for secret in [TOPIC, NTFY_TOKEN, fields[1].as_str().unwrap()] {
        assert!(!written.contains(secret), "a secret reached the log or the journal");
    }
}

#[tokio::test]
async fn rejected_in_a_real_browser_nothing_is_sent() {
    let (s, ntfy) = with_ntfy(&[]).await;
    let a = s.buy_held().await;
    let link = NtfyFake::view_link(&ntfy.wait_for(1, WAIT).await.unwrap()).unwrap();
    let b = browser().await;
    b.goto(&link).await.unwrap();
    b.click("button[value=reject]").await.unwrap();
    heading(&b, "This order is rejected").await;
    b.close().await;
    let done = s.call("wait_approval", json!({"approval_id": a["approval_id"], "timeout_seconds": 5})).await;
    assert_eq!(done["status"], "rejected");
    assert!(done["reason"].as_str().unwrap().contains("nothing was sent"), "{done}");
    assert!(s.intents().is_empty());
}

#[tokio::test]
async fn forged_and_cross_site_posts_are_refused() {
    let (s, ntfy) = with_ntfy(&[]).await;
    let a = s.buy_held().await;
    let link = NtfyFake::view_link(&ntfy.wait_for(1, WAIT).await.unwrap()).unwrap();
    let (url, key) = link.split_once("#k=").unwrap();
    let origin = url.split("/approve").next().unwrap().to_string();
    let host = origin.trim_start_matches("http://").to_string();
    let http = reqwest::Client::new();
    let page = http.get(url).send().await.unwrap().text().await.unwrap();
    let field = |name: &str| {
        let at = page.find(&format!("name=\"{name}\"")).unwrap();
        let v = page[at..].find("value=\"").unwrap() + at + 7;
        page[v..v + page[v..].find('"').unwrap()].to_string()
    };
    let (csrf, digest) = (field("csrf"), field("digest"));
    let post = |origin: String, site: Option<&'static str>, form: Vec<(&'static str, String)>| {
        let mut r = http.post(url).header("origin", origin).form(&form);
        if let Some(site) = site {
            r = r.header("sec-fetch-site", site);
        }
        r.send()
    };
    let good = |csrf: &str, key: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("key", key.to_string()),
            ("digest", digest.clone()),
            ("decision", "approve".into()),
        ]
    };
    let cases = [
        ("missing CSRF", post(origin.clone(), Some("same-origin"), good("", key)).await.unwrap()),
        ("wrong key", post(origin.clone(), Some("same-origin"), good(&csrf, "00")).await.unwrap()),
        ("wrong Origin", post("http://evil.example".into(), Some("same-origin"), good(&csrf, key)).await.unwrap()),
        ("cross-site fetch", post(origin.clone(), Some("cross-site"), good(&csrf, key)).await.unwrap()),
        ("no Sec-Fetch-Site", post(origin.clone(), None, good(&csrf, key)).await.unwrap()),
    ];
    for (what, r) in cases {
        assert_eq!(r.status(), 403, "{what}");
    }
    // DNS rebinding: the page answers only its exact Host.
    let rebound = http.get(url).header("host", format!("evil.example:{}", host.rsplit(':').next().unwrap())).send();
    assert_eq!(rebound.await.unwrap().status(), 403);

    // A page showing another order: the real browser's form with its digest changed.
    let b = browser().await;
    b.goto(&link).await.unwrap();
    b.execute("document.querySelector('input[name=digest]').value = '0123456789abcdef'; return 1").await.unwrap();
    b.click("button[value=approve]").await.unwrap();
    b.wait_for(".err", WAIT).await.unwrap();
    assert!(b.text(".err").await.unwrap().contains("different order"), "{}", b.source().await.unwrap());
    b.close().await;

    let still = s.call("wait_approval", json!({"approval_id": a["approval_id"], "timeout_seconds": 0})).await;
    assert_eq!(still["status"], "pending_approval", "{still}");
    assert!(s.intents().is_empty());
    let gone = s.call("cancel_approval", json!({"approval_id": a["approval_id"]})).await;
    assert_eq!(gone["status"], "cancelled");
}

#[tokio::test]
async fn an_expired_link_sends_nothing() {
    let (s, ntfy) = with_ntfy(&[("APPROVAL_TTL_SECONDS", "5")]).await;
    let a = s.buy_held().await;
    let link = NtfyFake::view_link(&ntfy.wait_for(1, WAIT).await.unwrap()).unwrap();
    let waited = s.call("wait_approval", json!({"approval_id": a["approval_id"], "timeout_seconds": 8})).await;
    assert_eq!(waited["status"], "expired", "{waited}");
    let b = browser().await;
    b.goto(&link).await.unwrap();
    assert_eq!(b.text("h1").await.unwrap(), "This order is expired");
    assert_eq!(b.count("button[value=approve]").await.unwrap(), 0, "no form on an expired approval");
    b.close().await;
    assert!(s.intents().is_empty());
}

#[tokio::test]
async fn telegram_buttons_count_only_from_the_configured_chat() {
    let tg = TelegramFake::start(BOT_TOKEN).await.unwrap();
    let chat = CHAT.to_string();
    let s = Server::start(&[
        ("TRADING_APPROVAL", "push"),
        ("APPROVAL_PUSH", "telegram"),
        ("APPROVAL_TELEGRAM_API_URL", tg.url.as_str()),
        ("APPROVAL_TELEGRAM_BOT_TOKEN", BOT_TOKEN),
        ("APPROVAL_TELEGRAM_CHAT_ID", chat.as_str()),
    ])
    .await;
    let a = s.buy_held().await;
    assert_eq!(a["channel"], "push");
    let msg = tg.wait_sent(1, WAIT).await.unwrap();
    assert_eq!(msg["chat_id"], CHAT);
    assert!(msg["text"].as_str().unwrap().contains(a["fingerprint"].as_str().unwrap()), "{msg}");
    let approve = TelegramFake::button(&msg, "Approve").unwrap();

    tg.press(&approve, 999, 999);
    let ignored = tg.wait_answer(1, WAIT).await.unwrap();
    assert!(ignored["text"].as_str().unwrap().contains("Not yours"), "{ignored}");
    let still = s.call("wait_approval", json!({"approval_id": a["approval_id"], "timeout_seconds": 0})).await;
    assert_eq!(still["status"], "pending_approval");

    tg.press(&approve, CHAT, CHAT);
    let answered = tg.wait_answer(2, WAIT).await.unwrap();
    assert!(answered["text"].as_str().unwrap().starts_with("placed"), "{answered}");
    let done = s.call("wait_approval", json!({"approval_id": a["approval_id"], "timeout_seconds": 5})).await;
    assert_eq!(done["status"], "placed", "{done}");
    assert_eq!(done["decided_by"], format!("telegram:{CHAT}"));
    assert_eq!(s.intents().len(), 1);
    assert!(!s.written().contains("telegram-secret-token"), "the bot token reached the log or the journal");
}

#[tokio::test]
async fn a_live_account_asks_a_person_and_fails_closed_without_a_channel() {
    let live = [("SIM_ACCOUNT_TYPE", "live"), ("IBKR_TRADING_MODE", "live"), ("TRADING_ALLOW_LIVE", "true")];
    let s = Server::start(&live).await;
    let status = s.call("session_status", json!({})).await;
    assert_eq!(status["approval"]["mode"], "auto", "unset is auto on live: {}", status["approval"]);
    // No elicitation from this client: the console's approvals, named in the answer.
    let a = s.buy_held().await;
    assert_eq!(a["channel"], "web");
    assert!(a["approve_at"].as_str().unwrap().ends_with("/console/approvals"), "{a}");
    assert!(s.intents().is_empty());

    // A channel that is not set up: refused, naming the setting; never sent.
    let s = Server::start(&[live.as_slice(), &[("TRADING_APPROVAL", "push")]].concat()).await;
    let p = s.call("preview_order", json!({"symbol": "AAPL", "side": "BUY", "cash_amount": 20})).await;
    let e = s
        .client
        .call("buy", json!({"symbol": "AAPL", "cash_amount": 20, "confirmation_token": p["confirmation_token"]}))
        .await
        .unwrap();
    assert!(e.is_error);
    assert_eq!(e.error()["code"], "APPROVAL_REQUIRED", "{}", e.body);
    assert_eq!(e.error()["setting"], "TRADING_APPROVAL");
    assert!(s.intents().is_empty());
}

#[test]
fn none_on_a_live_account_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .env_clear()
        .env("HOME", dir.path())
        .env("IBKR_TRADING_MODE", "live")
        .env("TRADING_APPROVAL", "none")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TRADING_APPROVAL") && err.contains("IBKR_TRADING_MODE=live"), "{err}");
}

/// One JSON-RPC tools/call over HTTP with the static bearer token: the envelope's data.
async fn http_call(url: &str, tool: &str, args: Value) -> Value {
    let body =
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": tool, "arguments": args } });
    let v: Value = reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .bearer_auth(HTTP_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["result"]["structuredContent"]["ok"], true, "{tool}: {v}");
    v["result"]["structuredContent"]["data"].clone()
}

const HTTP_TOKEN: &str = "0123456789abcdef0123456789abcdef";
const OWNER_PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn over_http_the_owner_logs_in_and_approves_from_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(["--transport", "http", "--bind", "127.0.0.1:0"])
        .env_clear()
        .env("HOME", dir.path())
        .env("TRADE_JOURNAL_PATH", dir.path().join("j.jsonl"))
        .env("OAUTH_DB_PATH", dir.path().join("oauth.sqlite"))
        .env("EQUITY_SAMPLE_SECONDS", "0")
        .env("LOG_LEVEL", "info")
        .env("AUTH_MODE", "both")
        .env("STATIC_BEARER_TOKEN", HTTP_TOKEN)
        .env("LOGIN_PASSWORD", OWNER_PASSWORD)
        .env("TRADING_DRY_RUN", "false")
        .env("TRADING_APPROVAL", "web");
    let server = test_support::mcp_client::HttpChild::spawn(cmd).unwrap();
    let mcp = server.url.clone();
    let origin = mcp.trim_end_matches("/mcp").to_string();

    let p = http_call(&mcp, "preview_order", json!({"symbol": "AAPL", "side": "BUY", "cash_amount": 20})).await;
    let a = http_call(
        &mcp,
        "buy",
        json!({"symbol": "AAPL", "cash_amount": 20, "confirmation_token": p["confirmation_token"]}),
    )
    .await;
    assert_eq!(a["status"], "pending_approval", "{a}");
    assert_eq!(a["channel"], "web");

    let b = browser().await;
    b.goto(&format!("{origin}/approvals")).await.unwrap();
    assert_eq!(b.text("h1").await.unwrap(), "tradegate: owner login");
    b.type_into("input[name=password]", OWNER_PASSWORD).await.unwrap();
    b.click("button[type=submit]").await.unwrap();
    heading(&b, "Orders waiting for your approval").await;
    assert!(b.source().await.unwrap().contains(a["fingerprint"].as_str().unwrap()));
    b.click("a[href^='/approve/']").await.unwrap();
    heading(&b, "Approve this order?").await;
    b.click("button[value=approve]").await.unwrap();
    heading(&b, "This order is placed").await;
    b.close().await;

    let done = http_call(&mcp, "wait_approval", json!({"approval_id": a["approval_id"], "timeout_seconds": 5})).await;
    assert_eq!(done["status"], "placed", "{done}");
    assert_eq!(done["decided_by"], "owner (approval page, logged in)");
    assert_eq!(done["orders"][0]["client_order_id"], a["approval_id"]);

    // Without the owner's session the page shows only the login.
    let anon = reqwest::get(format!("{origin}/approve/{}", a["approval_id"].as_str().unwrap())).await.unwrap();
    assert_eq!(anon.status(), 401);
    assert!(anon.text().await.unwrap().contains("owner login"));
    for view in ["/console", "/console/holdings", "/console/activity", "/console/approvals"] {
        let anon = reqwest::get(format!("{origin}{view}")).await.unwrap();
        assert_eq!(anon.status(), 401, "{view} needs the owner's login over HTTP");
    }
}

#[tokio::test]
async fn with_a_pin_a_wrong_one_approves_nothing() {
    let (s, ntfy) = with_ntfy(&[("APPROVAL_PIN", "2468")]).await;
    let a = s.buy_held().await;
    let link = NtfyFake::view_link(&ntfy.wait_for(1, WAIT).await.unwrap()).unwrap();
    let b = browser().await;
    b.goto(&link).await.unwrap();
    b.type_into("input[name=pin]", "1111").await.unwrap();
    b.click("button[value=approve]").await.unwrap();
    b.wait_for(".err", WAIT).await.unwrap();
    assert_eq!(b.text(".err").await.unwrap(), "Wrong PIN.");
    assert!(s.intents().is_empty());
    // The answer keeps the link's key in its form: the person just tries again.
    b.type_into("input[name=pin]", "2468").await.unwrap();
    b.click("button[value=approve]").await.unwrap();
    heading(&b, "This order is placed").await;
    b.close().await;
    let done = s.call("wait_approval", json!({"approval_id": a["approval_id"], "timeout_seconds": 5})).await;
    assert_eq!(done["status"], "placed");
    assert!(!s.written().contains("2468"), "the PIN reached the log or the journal");
}
