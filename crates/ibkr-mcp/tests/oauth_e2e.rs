//! OAuth 2.1 end to end: the real `ibkr-mcp --transport http` with AUTH_MODE=oauth, and rmcp's
//! own OAuth client doing discovery, registration, PKCE and the token exchange, while a
//! scripted "browser" plays the owner (login, consent). Then scopes, refresh rotation,
//! revocation, a restart, and the negative cases over raw HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Command,
};

use oauth2::TokenResponse;
use rmcp::{
    ServiceExt,
    model::CallToolRequestParams,
    transport::{
        StreamableHttpClientTransport,
        auth::{AuthClient, AuthorizationManager, AuthorizationRequest, OAuthState},
        streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::{Value, json};
use test_support::mcp_client::HttpChild;

const BIN: &str = env!("CARGO_BIN_EXE_ibkr-mcp");
const PASSWORD: &str = "correct horse battery staple";
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const STATIC: &str = "static-token-0123456789abcdef0123";

struct Server {
    _process: HttpChild,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(dir: &Path, port: u16, mode: &str) -> Server {
    start_with(dir, port, mode, &[])
}

fn start_with(dir: &Path, port: u16, mode: &str, extra: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.args(["--transport", "http", "--bind", &format!("127.0.0.1:{port}")])
        .env_clear()
        .env("TRADE_JOURNAL_PATH", dir.join("j.jsonl"))
        .env("OAUTH_DB_PATH", dir.join("oauth.sqlite"))
        .env("EQUITY_SAMPLE_SECONDS", "0")
        .env("AUTH_MODE", mode)
        .env("LOGIN_PASSWORD", PASSWORD)
        .env("STATIC_BEARER_TOKEN", STATIC)
        .env("ORDER_CONFIRMATION", "off")
        .env("LOG_LEVEL", "info")
        .envs(extra.iter().copied());
    let process = HttpChild::spawn(cmd).unwrap();
    let base = process.url.trim_end_matches("/mcp").to_string();
    Server { _process: process, base }
}

/// Raw HTTP as an attacker sends it (no redirects followed, one cookie): for the negative
/// cases only. The owner's own steps go through a real browser ([`owner_approves`]).
struct RawHttp {
    http: reqwest::Client,
    cookie: Option<String>,
}

impl RawHttp {
    fn new() -> Self {
        RawHttp {
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            cookie: None,
        }
    }
    async fn get(&self, url: &str) -> (u16, String, Option<String>) {
        let mut r = self.http.get(url);
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        let resp = r.send().await.unwrap();
        let loc = resp.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        (resp.status().as_u16(), resp.text().await.unwrap(), loc)
    }
    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> (u16, String, Option<String>) {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let mut r = self.http.post(url).header("content-type", "application/x-www-form-urlencoded").body(body);
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        let resp = r.send().await.unwrap();
        if let Some(c) = resp.headers().get("set-cookie") {
            self.cookie = Some(c.to_str().unwrap().split(';').next().unwrap().to_string());
        }
        let loc = resp.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        (resp.status().as_u16(), resp.text().await.unwrap(), loc)
    }
}

/// Plays the owner in a real headless Chromium: opens the authorization URL, logs in (a
/// wrong password first), leaves ticked exactly `grant` on the consent page (unticking the
/// rest as a person would) and clicks Allow. Returns where the browser was sent.
async fn owner_approves(auth_url: &str, grant: &[&str]) -> String {
    owner_decides(auth_url, grant, "approve").await
}

async fn owner_decides(auth_url: &str, grant: &[&str], decision: &str) -> String {
    let b = test_support::Browser::start().await.expect("headless Chromium (apt-get install chromium chromium-driver)");
    b.goto(auth_url).await.unwrap();
    assert!(b.text("h1").await.unwrap().contains("owner login"));
    // `SCREENSHOT_DIR=docs cargo test -p ibkr-mcp --test oauth_e2e claude` refreshes README's pictures.
    let shots = std::env::var_os("SCREENSHOT_DIR").map(PathBuf::from);
    if let Some(d) = &shots {
        b.screenshot(&d.join("oauth-login.png")).await.unwrap();
    }
    b.type_into("input[name=password]", "not the password").await.unwrap();
    b.click("button[type=submit]").await.unwrap();
    let wait = std::time::Duration::from_secs(10);
    b.wait_for(".err", wait).await.unwrap();
    assert!(b.text(".err").await.unwrap().contains("Wrong password"));
    b.type_into("input[name=password]", PASSWORD).await.unwrap();
    b.click("button[type=submit]").await.unwrap();
    b.wait_for("button[value=approve]", wait).await.unwrap();
    assert!(b.text("h1").await.unwrap().contains("allow access"), "{}", b.source().await.unwrap());
    assert!(b.source().await.unwrap().contains("wants access to this tradegate server"));
    let offered: Vec<String> = b
        .execute("return [...document.querySelectorAll('form input[name=grant]')].map(e => e.value)")
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    for scope in &offered {
        let css = format!("input[name=grant][value='{scope}']");
        let ticked = b.is_selected(&css).await.unwrap();
        assert_eq!(ticked, scope != "admin", "{scope}: admin is never pre-ticked, the rest are");
        if ticked != grant.contains(&scope.as_str()) {
            b.click(&css).await.unwrap();
        }
    }
    if let Some(d) = &shots {
        b.screenshot(&d.join("oauth-consent.png")).await.unwrap();
    }
    let consent_url = b.url().await.unwrap();
    let _ = b.click(&format!("button[value={decision}]")).await;
    let url = b.wait_url_change(&consent_url, std::time::Duration::from_secs(10)).await.unwrap();
    b.close().await;
    url
}

/// rmcp's OAuth client through discovery, registration, PKCE and the code exchange.
async fn authorize(base: &str, scopes: &[&str], grant: &[&str]) -> AuthorizationManager {
    let mut state = OAuthState::new(format!("{base}/mcp"), None).await.unwrap();
    let req = AuthorizationRequest::new(REDIRECT)
        .with_client_name("tradegate e2e")
        .with_scopes(scopes.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    state.start_authorization(req).await.unwrap();
    let url = state.get_authorization_url().await.unwrap();
    assert!(url.contains("code_challenge_method=S256") && url.contains("resource="), "{url}");
    let callback = owner_approves(&url, grant).await;
    assert!(callback.starts_with(REDIRECT) && callback.contains("code=") && callback.contains("iss="), "{callback}");
    state.handle_callback_url(&callback).await.unwrap();
    state.into_authorization_manager().unwrap()
}

/// (client id, access token, refresh token) the manager holds.
async fn creds(m: &AuthorizationManager) -> (String, String, String) {
    let (id, t) = m.get_credentials().await.unwrap();
    let t = t.unwrap();
    (id, t.access_token().secret().to_string(), t.refresh_token().unwrap().secret().to_string())
}

async fn mcp_client(base: &str, manager: AuthorizationManager) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let client = AuthClient::new(reqwest13::Client::default(), manager);
    let transport = StreamableHttpClientTransport::with_client(
        client,
        StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp")),
    );
    ().serve(transport).await.unwrap()
}

async fn call(c: &rmcp::service::RunningService<rmcp::RoleClient, ()>, name: &str, args: Value) -> Value {
    let mut p = CallToolRequestParams::new(name.to_string());
    if let Value::Object(m) = args {
        p = p.with_arguments(m);
    }
    c.call_tool(p).await.unwrap().structured_content.unwrap()
}

/// A raw MCP POST with a bearer token: (status, WWW-Authenticate).
async fn raw_mcp(base: &str, token: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {token}"))
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}))
        .send()
        .await
        .unwrap();
    let www = resp.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (resp.status().as_u16(), www)
}

/// A raw `tools/call` with a bearer token: (status, WWW-Authenticate, body).
async fn raw_call(base: &str, token: &str, tool: &str, args: Value) -> (u16, String, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {token}"))
        .json(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": tool, "arguments": args}}))
        .send()
        .await
        .unwrap();
    let www = resp.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (resp.status().as_u16(), www, resp.json().await.unwrap_or_default())
}

async fn token_endpoint(base: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = reqwest::Client::new().post(format!("{base}/token")).form(form).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn journal_calls(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("j.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "call")
        .collect()
}

fn auth_cli(db: &PathBuf, args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN).arg("auth").arg("--db").arg(db).args(args).env_clear().output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_dance_with_a_real_oauth_client() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let s = start(dir.path(), port, "oauth");

    // Unauthenticated: 401 pointing at the protected-resource metadata.
    let resp = reqwest::Client::new().post(format!("{}/mcp", s.base)).json(&json!({})).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let www = resp.headers()["www-authenticate"].to_str().unwrap().to_string();
    assert_eq!(www, format!("Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"", s.base));
    let prm: Value = reqwest::get(format!("{}/.well-known/oauth-protected-resource/mcp", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prm["resource"], format!("{}/mcp", s.base));
    let asm: Value =
        reqwest::get(format!("{}/.well-known/oauth-authorization-server", s.base)).await.unwrap().json().await.unwrap();
    assert_eq!(asm["code_challenge_methods_supported"], json!(["S256"]));

    // The full flow: every tool, an order placed, the call journaled with the client id.
    let manager = authorize(&s.base, &["read", "trade:preview", "trade"], &["read", "trade:preview", "trade"]).await;
    let (client_id, _, _) = creds(&manager).await;
    let c = mcp_client(&s.base, manager).await;
    assert_eq!(c.list_all_tools().await.unwrap().len(), 46);
    let q = call(&c, "get_quote", json!({"symbol": "AAPL"})).await;
    assert_eq!(q["ok"], true, "{q}");
    let b = call(&c, "buy", json!({"symbol": "AAPL", "cash_amount": 20})).await;
    assert_eq!(b["ok"], true, "{b}");
    let calls = journal_calls(dir.path());
    assert!(
        calls.iter().any(|r| r["tool"] == "buy" && r["caller"] == client_id.as_str() && r["status"] == "ok"),
        "{calls:?}"
    );
    assert!(calls.iter().any(|r| r["tool"] == "get_quote" && r["caller"] == client_id.as_str()));
    // trade_history shows orders, not the audit lines.
    let th = call(&c, "trade_history", json!({})).await;
    assert!(th["data"]["journal"].as_array().unwrap().iter().all(|r| r["kind"] != "call"), "{th}");
    drop(c);

    // Read only: the owner unticks trading; tools/list shrinks and an order tool is refused.
    let manager = authorize(&s.base, &["read", "trade:preview", "trade"], &["read"]).await;
    let (ro_id, ro_token, _) = creds(&manager).await;
    let ro = mcp_client(&s.base, manager).await;
    let names: Vec<String> = ro.list_all_tools().await.unwrap().iter().map(|t| t.name.to_string()).collect();
    assert!(
        names.contains(&"get_quote".to_string()) && !names.iter().any(|n| n == "buy" || n == "preview_order"),
        "{names:?}"
    );
    drop(ro);
    // A call outside the grant is MCP's step-up: 403 with insufficient_scope and the scopes to ask for.
    let (st, www, body) = raw_call(&s.base, &ro_token, "buy", json!({"symbol": "AAPL", "cash_amount": 20})).await;
    assert_eq!(st, 403, "{body}");
    assert!(www.starts_with("Bearer error=\"insufficient_scope\", scope=\"read trade\""), "{www}");
    assert!(www.contains("resource_metadata="), "{www}");
    assert_eq!(body["error"]["data"]["error"]["code"], "INSUFFICIENT_SCOPE", "{body}");
    let calls = journal_calls(dir.path());
    assert!(
        calls
            .iter()
            .any(|r| r["tool"] == "buy" && r["caller"] == ro_id.as_str() && r["status"] == "insufficient_scope"),
        "the refusal is journaled: {calls:?}"
    );
    assert_eq!(raw_call(&s.base, &ro_token, "get_quote", json!({"symbol": "AAPL"})).await.0, 200);

    // Restart on the same port and database: the tokens still work.
    let manager = authorize(&s.base, &["read"], &["read"]).await;
    let (cid, access, refresh) = creds(&manager).await;
    drop(s);
    let s = start(dir.path(), port, "oauth");
    assert_eq!(raw_mcp(&s.base, &access).await.0, 200, "a restart keeps tokens valid");

    // Refresh rotates; replaying the old refresh token cuts the whole family.
    let (st, fresh) =
        token_endpoint(&s.base, &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &cid)])
            .await;
    assert_eq!(st, 200, "{fresh}");
    let new_access = fresh["access_token"].as_str().unwrap().to_string();
    assert_ne!(fresh["refresh_token"], refresh.as_str());
    assert_eq!(raw_mcp(&s.base, &new_access).await.0, 200);
    let (st, e) =
        token_endpoint(&s.base, &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &cid)])
            .await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_grant")));
    let (st, www) = raw_mcp(&s.base, &new_access).await;
    assert_eq!(st, 401, "a replayed refresh token revokes what it was rotated into");
    assert!(www.contains("error=\"invalid_token\"") && www.contains("resource_metadata="), "{www}");

    // Revocation (RFC 7009) and an expired token.
    let m = authorize(&s.base, &["read"], &["read"]).await;
    let (_, t, _) = creds(&m).await;
    assert_eq!(raw_mcp(&s.base, &t).await.0, 200);
    let resp =
        reqwest::Client::new().post(format!("{}/revoke", s.base)).form(&[("token", t.as_str())]).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(raw_mcp(&s.base, &t).await.0, 401);
    let m = authorize(&s.base, &["read"], &["read"]).await;
    let (_, t, _) = creds(&m).await;
    let db = rusqlite::Connection::open(dir.path().join("oauth.sqlite")).unwrap();
    db.execute("UPDATE tokens SET expires_at = 0 WHERE kind = 'access'", []).unwrap();
    let (st, www) = raw_mcp(&s.base, &t).await;
    assert_eq!(st, 401);
    assert!(www.contains("error=\"invalid_token\""), "{www}");
    assert_eq!(raw_mcp(&s.base, "tga_made-up").await.0, 401);

    // The CLI lists clients and tokens (never the tokens themselves) and revokes a client.
    let dbp = dir.path().join("oauth.sqlite");
    let (ok, out) = auth_cli(&dbp, &["clients"]);
    assert!(ok && out.contains(&client_id) && out.contains("tradegate e2e"), "{out}");
    let (ok, out) = auth_cli(&dbp, &["tokens"]);
    assert!(ok && out.contains("access") && !out.contains("tga_"), "{out}");
    let (ok, out) = auth_cli(&dbp, &["revoke-client", &client_id]);
    assert!(ok, "{out}");
    let (ok, out) = auth_cli(&dbp, &["revoke-client", "tgc_nobody"]);
    assert!(!ok && out.contains("no client"), "{out}");
}

/// Registers a client over raw HTTP and returns its id.
async fn register(base: &str, redirect: &str) -> String {
    let resp = reqwest::Client::new()
        .post(format!("{base}/register"))
        .json(&json!({"client_name": "raw", "redirect_uris": [redirect], "token_endpoint_auth_method": "none"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.json::<Value>().await.unwrap()["client_id"].as_str().unwrap().to_string()
}

fn query(loc: &str) -> HashMap<String, String> {
    url::Url::parse(loc).unwrap().query_pairs().into_owned().collect()
}

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_cases_and_the_static_token_in_both_mode() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), free_port(), "both");
    assert_eq!(raw_mcp(&s.base, STATIC).await.0, 200, "AUTH_MODE=both also takes the static token");
    let id = register(&s.base, REDIRECT).await;
    let resource = format!("{}/mcp", s.base);
    let authz = |extra: &[(&str, &str)]| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.extend_pairs([
            ("response_type", "code"),
            ("client_id", id.as_str()),
            ("redirect_uri", REDIRECT),
            ("state", "st8"),
        ]);
        q.extend_pairs(extra);
        format!("{}/authorize?{}", s.base, q.finish())
    };
    let b = RawHttp::new();
    // PKCE plain, or none at all, is refused back to the client.
    let (st, _, loc) = b.get(&authz(&[("code_challenge", CHALLENGE), ("code_challenge_method", "plain")])).await;
    assert_eq!(st, 303);
    let q = query(&loc.unwrap());
    assert_eq!((q["error"].as_str(), q["state"].as_str()), ("invalid_request", "st8"));
    assert!(q["error_description"].contains("S256"));
    let (_, _, loc) = b.get(&authz(&[])).await;
    assert_eq!(query(&loc.unwrap())["error"], "invalid_request");
    // A foreign resource (RFC 8707) is refused.
    let (_, _, loc) = b
        .get(&authz(&[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("resource", "https://evil.example/mcp"),
        ]))
        .await;
    assert_eq!(query(&loc.unwrap())["error"], "invalid_target");
    // A redirect URI the client did not register: an error page, never a redirect.
    let bad =
        authz(&[("code_challenge", CHALLENGE), ("code_challenge_method", "S256")]).replace("9%2Fcallback", "9%2Fevil");
    let (st, page, loc) = b.get(&bad).await;
    assert_eq!((st, loc), (400, None));
    assert!(page.contains("not one this client registered"));
    // Open redirects through the login form's next are refused.
    let mut owner = RawHttp::new();
    for next in [
        "https://evil.example/",
        "//evil.example/authorize?",
        &format!("/authorize?client_id={id}&redirect_uri=https://evil.example/cb"),
    ] {
        let (st, _, loc) = owner.post(&format!("{}/login", s.base), &[("password", PASSWORD), ("next", next)]).await;
        assert_eq!((st, loc), (400, None), "next={next}");
    }
    // A good code, then: wrong verifier, wrong redirect URI, then the right one, then replay.
    let good = authz(&[
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("resource", &resource),
        ("scope", "read"),
    ]);
    let next = good.trim_start_matches(&s.base).to_string();
    let (st, _, _) = owner.post(&format!("{}/login", s.base), &[("password", PASSWORD), ("next", &next)]).await;
    assert_eq!(st, 303);
    // Each code comes from the owner approving in a real browser.
    let code_for = || {
        let good = good.clone();
        async move { query(&owner_approves(&good, &["read"]).await)["code"].clone() }
    };
    let code = code_for().await;
    let tok = |code: &str, verifier: &str, redirect: &str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.to_string()),
            ("code_verifier", verifier.to_string()),
            ("redirect_uri", redirect.to_string()),
            ("client_id", id.clone()),
        ]
    };
    let as_ref = |v: &Vec<(&'static str, String)>| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let send = |form: Vec<(&'static str, String)>| {
        let base = s.base.clone();
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            token_endpoint(&base, &pairs).await
        }
    };
    let (st, e) = send(as_ref(&tok(&code, &VERIFIER.replace('d', "e"), REDIRECT))).await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_grant")), "wrong verifier: {e}");
    // The code was consumed by the failed attempt: a second try is a replay.
    let (_, e) = send(as_ref(&tok(&code, VERIFIER, REDIRECT))).await;
    assert_eq!(e["error"], "invalid_grant");
    assert!(e["error_description"].as_str().unwrap().contains("already used"), "{e}");
    let code = code_for().await;
    let (_, e) = send(as_ref(&tok(&code, VERIFIER, "http://127.0.0.1:9/other"))).await;
    assert!(e["error_description"].as_str().unwrap().contains("redirect_uri"), "{e}");
    let code = code_for().await;
    let (st, t) = send(as_ref(&tok(&code, VERIFIER, REDIRECT))).await;
    assert_eq!(st, 200, "{t}");
    let access = t["access_token"].as_str().unwrap().to_string();
    assert_eq!(t["scope"], "read");
    assert_eq!(raw_mcp(&s.base, &access).await.0, 200);
    // Replaying a redeemed code revokes the tokens it bought.
    let (_, e) = send(as_ref(&tok(&code, VERIFIER, REDIRECT))).await;
    assert_eq!(e["error"], "invalid_grant");
    assert_eq!(raw_mcp(&s.base, &access).await.0, 401, "code replay revoked its tokens");
    // Login is rate limited after repeated failures.
    let mut last = 0;
    for _ in 0..6 {
        last = owner.post(&format!("{}/login", s.base), &[("password", "nope"), ("next", &next)]).await.0;
    }
    assert_eq!(last, 429);
    let (st, _, _) = owner.post(&format!("{}/login", s.base), &[("password", PASSWORD), ("next", &next)]).await;
    assert_eq!(st, 429, "even the right password waits out the lockout");
    // Host validation covers the OAuth pages too.
    let resp = reqwest::Client::new()
        .get(format!("{}/.well-known/oauth-authorization-server", s.base))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}

/// Registers exactly as claude.ai does (its redirect URI, client_secret_post, grant types and
/// scope), and completes the flow: the owner approves in a real browser, which is sent to
/// claude.ai's callback (never reached: the test browser resolves no outside host).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claude_ai_shaped_client_registers_and_connects() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), free_port(), "oauth");
    let asm: Value =
        reqwest::get(format!("{}/.well-known/oauth-authorization-server", s.base)).await.unwrap().json().await.unwrap();
    assert!(!asm["scopes_supported"].as_array().unwrap().contains(&json!("admin")), "admin is not offered: {asm}");
    let callback = "https://claude.ai/api/mcp/auth_callback";
    let resp = reqwest::Client::new()
        .post(format!("{}/register", s.base))
        .json(&json!({
            "client_name": "Claude",
            "redirect_uris": [callback],
            "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "scope": "read trade:preview trade admin",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let reg: Value = resp.json().await.unwrap();
    assert_eq!(reg["token_endpoint_auth_method"], "none", "registered as public, and told so (RFC 7591 §3.2.1): {reg}");
    let id = reg["client_id"].as_str().unwrap();
    let resource = format!("{}/mcp", s.base);
    let url = format!(
        "{}/authorize?{}",
        s.base,
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", id),
                ("redirect_uri", callback),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
                ("state", "claude-state"),
                ("scope", "read trade:preview trade admin"),
                ("resource", &resource),
            ])
            .finish()
    );
    let landed = owner_approves(&url, &["read", "trade"]).await;
    assert!(landed.starts_with(callback), "{landed}");
    let q = query(&landed);
    assert_eq!(q["state"], "claude-state");
    // claude.ai sends client_secret_post; there is no secret, PKCE proves the client.
    let (st, t) = token_endpoint(
        &s.base,
        &[
            ("grant_type", "authorization_code"),
            ("code", &q["code"]),
            ("code_verifier", VERIFIER),
            ("redirect_uri", callback),
            ("client_id", id),
            ("client_secret", ""),
            ("resource", &resource),
        ],
    )
    .await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(t["scope"], "read trade", "exactly what the owner left ticked (admin was never offered)");
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(raw_call(&s.base, access, "get_quote", json!({"symbol": "AAPL"})).await.0, 200);
    // A refresh over HTTP Basic (client_secret_basic style) works too.
    let basic = base64_basic(id);
    let resp = reqwest::Client::new()
        .post(format!("{}/token", s.base))
        .header("authorization", format!("Basic {basic}"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", t["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

fn base64_basic(id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{id}:"))
}

/// Deny in the browser ends in access_denied; after the owner revokes the client, both
/// /authorize and /token answer invalid_client, so the application registers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_and_a_revoked_client_is_told_to_register_again() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), free_port(), "oauth");
    let id = register(&s.base, REDIRECT).await;
    let url = format!(
        "{}/authorize?response_type=code&client_id={id}&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256&state=s1",
        s.base,
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    let denied = owner_decides(&url, &["read"], "deny").await;
    let q = query(&denied);
    assert_eq!((q["error"].as_str(), q["state"].as_str()), ("access_denied", "s1"), "{denied}");
    let (ok, out) = auth_cli(&dir.path().join("oauth.sqlite"), &["revoke-client", &id]);
    assert!(ok, "{out}");
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["x-oauth-error"], "invalid_client");
    assert!(resp.text().await.unwrap().contains("invalid_client"));
    let (st, e) = token_endpoint(
        &s.base,
        &[("grant_type", "authorization_code"), ("code", "x"), ("code_verifier", VERIFIER), ("client_id", &id)],
    )
    .await;
    assert_eq!((st, e["error"].as_str()), (401, Some("invalid_client")));
}

/// With OAUTH_ADVERTISE_ADMIN=true admin is offered, shown, and still never pre-ticked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_is_offered_only_when_configured_and_never_preticked() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_with(dir.path(), free_port(), "oauth", &[("OAUTH_ADVERTISE_ADMIN", "true")]);
    let prm: Value = reqwest::get(format!("{}/.well-known/oauth-protected-resource/mcp", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(prm["scopes_supported"].as_array().unwrap().contains(&json!("admin")), "{prm}");
    // owner_decides asserts admin is offered unticked; the owner leaves it so.
    let m = authorize(&s.base, &["read", "admin"], &["read"]).await;
    let (_, access, _) = creds(&m).await;
    assert_eq!(raw_mcp(&s.base, &access).await.0, 200);
}
