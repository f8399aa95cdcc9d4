//! `ibkr-mcp --transport http` over real HTTP on loopback: stateless JSON, /mcp and /mcp/,
//! bearer tokens, Host and Origin validation, and start-up refusals.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::process::{Command, Stdio};

use serde_json::{Value, json};
use test_support::mcp_client::HttpChild;

const BIN: &str = env!("CARGO_BIN_EXE_ibkr-mcp");
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

struct Http {
    _server: HttpChild,
    base: String,
    _dir: tempfile::TempDir,
}

fn start(env: &[(&str, &str)]) -> Http {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["--transport", "http", "--bind", "127.0.0.1:0"])
        .env_clear()
        .env("TRADE_JOURNAL_PATH", dir.path().join("j.jsonl"))
        .env("EQUITY_SAMPLE_SECONDS", "0")
        .env("LOG_LEVEL", "info")
        .envs(env.iter().copied());
    let server = HttpChild::spawn(cmd).unwrap();
    Http { base: server.url.clone(), _server: server, _dir: dir }
}

fn rpc(method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params })
}

async fn post(url: &str, body: &Value, headers: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn initialize() -> Value {
    rpc(
        "initialize",
        json!({ "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "test", "version": "1" } }),
    )
}

#[tokio::test]
async fn stateless_json_on_both_paths_without_auth_on_loopback() {
    let s = start(&[]);
    let (st, _, v) = post(&s.base, &initialize(), &[]).await;
    assert_eq!(st, 200);
    assert_eq!(v["result"]["serverInfo"]["name"], "ibkr-mcp");
    let (st, _, v) = post(&format!("{}/", s.base), &rpc("tools/list", json!({})), &[]).await;
    assert_eq!(st, 200, "/mcp/ is answered, not redirected");
    assert!(v["result"]["tools"].as_array().unwrap().len() >= 30);
    let (_, _, v) =
        post(&s.base, &rpc("tools/call", json!({ "name": "get_quote", "arguments": { "symbol": "AAPL" } })), &[]).await;
    assert_eq!(v["result"]["structuredContent"]["ok"], true, "{v}");
}

#[tokio::test]
async fn bearer_tokens_are_required_and_checked() {
    let s = start(&[("AUTH_MODE", "bearer"), ("STATIC_BEARER_TOKEN", TOKEN)]);
    let (st, h, _) = post(&s.base, &initialize(), &[]).await;
    assert_eq!(st, 401);
    assert_eq!(h["www-authenticate"], "Bearer");
    let (st, h, _) = post(&s.base, &initialize(), &[("authorization", "Bearer wrong-token")]).await;
    assert_eq!(st, 401);
    assert_eq!(h["www-authenticate"], r#"Bearer error="invalid_token""#);
    let auth = format!("Bearer {TOKEN}");
    let (st, _, v) = post(
        &s.base,
        &rpc("tools/call", json!({ "name": "session_status", "arguments": {} })),
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(v["result"]["structuredContent"]["data"]["simulator"], true);
}

#[tokio::test]
async fn foreign_hosts_and_origins_are_refused() {
    let s = start(&[("MCP_ALLOWED_ORIGINS", "https://claude.ai")]);
    let (st, _, _) = post(&s.base, &initialize(), &[("host", "evil.example")]).await;
    assert_eq!(st, 403, "DNS-rebinding protection");
    let (st, _, _) = post(&s.base, &initialize(), &[("origin", "http://evil.example")]).await;
    assert_eq!(st, 403);
    let (st, _, _) = post(&s.base, &initialize(), &[("origin", "https://claude.ai")]).await;
    assert_eq!(st, 200, "a configured origin passes");
}

#[test]
fn unsafe_or_unfinished_setups_refuse_to_start() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(BIN)
            .args(args)
            .env_clear()
            .env("TRADE_JOURNAL_PATH", dir.path().join("j.jsonl"))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let e = run(&["--transport", "http", "--bind", "0.0.0.0:0"], &[]);
    assert!(e.contains("without authentication is refused"), "{e}");
    let e = run(&["--transport", "http"], &[("AUTH_MODE", "bearer"), ("STATIC_BEARER_TOKEN", "short")]);
    assert!(e.contains("STATIC_BEARER_TOKEN: is too short") && !e.contains("short\""), "{e}");
    let e = run(&["--transport", "http"], &[("AUTH_MODE", "oauth")]);
    assert!(e.contains("LOGIN_PASSWORD: is required with AUTH_MODE=oauth"), "{e}");
    let e = run(&["--transport", "http"], &[("AUTH_MODE", "both"), ("LOGIN_PASSWORD", "correct horse battery")]);
    assert!(e.contains("STATIC_BEARER_TOKEN: is required"), "{e}");
    let e = run(&["--transport", "http"], &[("AUTH_MODE", "sometimes")]);
    assert!(e.contains("'sometimes' is not none, oauth, bearer or both"), "{e}");
    // A bad value is refused on stdio too, where AUTH_MODE is not used (as .env.example promises).
    let e = run(&[], &[("AUTH_MODE", "sometimes")]);
    assert!(e.contains("AUTH_MODE: 'sometimes' is not none, oauth, bearer or both"), "{e}");
    let e = run(&[], &[("OAUTH_ACCESS_TOKEN_TTL_SECONDS", "forever")]);
    assert!(e.contains("OAUTH_ACCESS_TOKEN_TTL_SECONDS: 'forever' is not a whole number of seconds"), "{e}");
    let e = run(&["--transport", "carrier-pigeon"], &[]);
    assert!(e.contains("'carrier-pigeon' is not stdio or http"), "{e}");
}
