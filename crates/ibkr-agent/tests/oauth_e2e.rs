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

use ibkr_agent::mcp_client::HttpChild;
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
        .env("LOG_LEVEL", "info");
    let process = HttpChild::spawn(cmd).unwrap();
    let base = process.url.trim_end_matches("/mcp").to_string();
    Server { _process: process, base }
}

/// A browser that does not follow redirects and keeps one cookie.
struct Browser {
    http: reqwest::Client,
    cookie: Option<String>,
}

impl Browser {
    fn new() -> Self {
        Browser {
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

/// The hidden inputs of a page's form.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .filter_map(|s| {
            let name = s.split("name=\"").nth(1)?.split('"').next()?;
            let value = s.split("value=\"").nth(1)?.split('"').next()?;
            Some((name.to_string(), value.replace("&amp;", "&").replace("&quot;", "\"").replace("&#39;", "'")))
        })
        .collect()
}

/// Plays the owner: log in, then approve `grant` on the consent page. Returns the redirect.
async fn owner_approves(base: &str, auth_url: &str, grant: &[&str]) -> String {
    let mut b = Browser::new();
    let (st, page, _) = b.get(auth_url).await;
    assert_eq!(st, 200);
    assert!(page.contains("owner login"), "{page}");
    let next = hidden_fields(&page).into_iter().find(|(k, _)| k == "next").unwrap().1;
    let (st, page, _) = b.post(&format!("{base}/login"), &[("password", "not the password"), ("next", &next)]).await;
    assert_eq!(st, 401);
    assert!(page.contains("Wrong password"));
    let (st, _, loc) = b.post(&format!("{base}/login"), &[("password", PASSWORD), ("next", &next)]).await;
    assert_eq!(st, 303);
    assert_eq!(loc.as_deref(), Some(next.as_str()), "login goes back to the authorization request only");
    let (st, consent, _) = b.get(&format!("{base}{next}")).await;
    assert_eq!(st, 200);
    assert!(consent.contains("tradegate e2e"), "{consent}");
    assert!(grant.iter().all(|g| consent.contains(&format!("value=\"{g}\" checked"))), "{consent}");
    let fields = hidden_fields(&consent);
    let mut form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    form.extend(grant.iter().map(|g| ("grant", *g)));
    form.push(("decision", "approve"));
    let (st, _, loc) = b.post(&format!("{base}/authorize"), &form).await;
    assert_eq!(st, 303);
    loc.unwrap()
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
    let callback = owner_approves(base, &url, grant).await;
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
    assert_eq!(c.list_all_tools().await.unwrap().len(), 36);
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
    let ro = mcp_client(&s.base, manager).await;
    let names: Vec<String> = ro.list_all_tools().await.unwrap().iter().map(|t| t.name.to_string()).collect();
    assert!(
        names.contains(&"get_quote".to_string()) && !names.iter().any(|n| n == "buy" || n == "preview_order"),
        "{names:?}"
    );
    let refused = call(&ro, "buy", json!({"symbol": "AAPL", "cash_amount": 20})).await;
    assert_eq!(refused["error"]["code"], "INSUFFICIENT_SCOPE", "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("needs the 'trade' scope"));
    drop(ro);

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
    let b = Browser::new();
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
    let mut owner = Browser::new();
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
    let code_for = |owner: &Browser| {
        let good = good.clone();
        let base = s.base.clone();
        let cookie = owner.cookie.clone();
        async move {
            let mut b = Browser::new();
            b.cookie = cookie;
            let (_, consent, _) = b.get(&good).await;
            let fields = hidden_fields(&consent);
            let mut form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            form.extend([("grant", "read"), ("decision", "approve")]);
            let (_, _, loc) = b.post(&format!("{base}/authorize"), &form).await;
            query(&loc.unwrap())["code"].clone()
        }
    };
    let code = code_for(&owner).await;
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
    let code = code_for(&owner).await;
    let (_, e) = send(as_ref(&tok(&code, VERIFIER, "http://127.0.0.1:9/other"))).await;
    assert!(e["error_description"].as_str().unwrap().contains("redirect_uri"), "{e}");
    let code = code_for(&owner).await;
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
