//! The authorization server's endpoints.

use std::{collections::HashMap, sync::Arc};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

use super::{
    CODE_TTL_SECS, Caller, Fault, LOGIN_FAILURES, MAX_CLIENTS, OAuth, mint, now, pages, parse_scope, pkce_s256_matches,
    store::Client,
};

type Shared = State<Arc<OAuth>>;

/// The metadata, registration, authorize, login, token and revocation routes.
pub fn router(oauth: Arc<OAuth>) -> Router {
    Router::new()
        .route("/.well-known/oauth-protected-resource", get(resource_metadata))
        .route("/.well-known/oauth-protected-resource/mcp", get(resource_metadata))
        .route("/.well-known/oauth-authorization-server", get(server_metadata))
        .route("/.well-known/oauth-authorization-server/mcp", get(server_metadata))
        .route("/register", post(register).options(preflight))
        .route("/authorize", get(authorize).post(decide))
        .route("/login", post(login))
        .route("/token", post(token).options(preflight))
        .route("/revoke", post(revoke).options(preflight))
        .with_state(oauth)
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Metadata, registration and token answers are read by browser-based clients too.
fn cors(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, mcp-protocol-version"),
    );
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
    r
}

async fn preflight() -> Response {
    cors(StatusCode::NO_CONTENT.into_response())
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    cors(r)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    no_store((status, Json(json!({ "error": error, "error_description": description }))).into_response())
}

fn fault(e: Fault) -> Response {
    tracing::error!("OAuth: {e}");
    oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "the server could not complete this step")
}

fn html(status: StatusCode, body: String) -> Response {
    html_sending_to(status, body, None)
}

/// A page whose form may end at `redirect_origin`: browsers apply CSP `form-action` to the
/// redirect that follows a form's POST, so the consent form must name the client's origin
/// or the owner's Allow never reaches the client (a real browser showed it).
fn html_sending_to(status: StatusCode, body: String, redirect_origin: Option<&str>) -> Response {
    let mut r = (status, Html(body)).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'{}; frame-ancestors 'none'",
        redirect_origin.map(|o| format!(" {o}")).unwrap_or_default()
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

/// `scheme://host[:port]` of a registered redirect URI, for the consent page's CSP.
fn origin_of(uri: &str) -> Option<String> {
    let u = url::Url::parse(uri).ok()?;
    let origin = u.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

async fn resource_metadata(State(o): Shared) -> Response {
    cors(
        Json(json!({
            "resource": o.resource(),
            "authorization_servers": [o.issuer()],
            "scopes_supported": o.scopes_supported(),
            "bearer_methods_supported": ["header"],
            "resource_name": "tradegate",
        }))
        .into_response(),
    )
}

async fn server_metadata(State(o): Shared) -> Response {
    let i = o.issuer();
    cors(
        Json(json!({
            "issuer": i,
            "authorization_endpoint": format!("{i}/authorize"),
            "token_endpoint": format!("{i}/token"),
            "registration_endpoint": format!("{i}/register"),
            "revocation_endpoint": format!("{i}/revoke"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "revocation_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": o.scopes_supported(),
            "authorization_response_iss_parameter_supported": true,
        }))
        .into_response(),
    )
}

/// https anywhere; plain http only to this machine (native and CLI clients listen there).
fn redirect_uri_ok(u: &str) -> bool {
    let Ok(url) = url::Url::parse(u) else { return false };
    if url.fragment().is_some() || u.len() > 512 {
        return false;
    }
    match url.scheme() {
        "https" => url.host_str().is_some(),
        "http" => matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")),
        _ => false,
    }
}

async fn register(State(o): Shared, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client_metadata", "the body is not JSON");
    };
    let uris: Vec<String> = req["redirect_uris"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    if uris.is_empty() || uris.len() > 10 {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_redirect_uri", "give 1 to 10 redirect_uris");
    }
    if let Some(bad) = uris.iter().find(|u| !redirect_uri_ok(u)) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            &format!("{bad}: redirect URIs must be https, or http on localhost, without a fragment"),
        );
    }
    // Every client is public and proves itself with PKCE. A client that asks for a secret
    // (claude.ai registers with client_secret_post) is registered as public and told so in
    // the answer, which RFC 7591 §3.2.1 lets it read (ADR-030).
    match req["token_endpoint_auth_method"].as_str() {
        None | Some("none" | "client_secret_post" | "client_secret_basic") => {}
        Some(m) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_client_metadata",
                &format!("token_endpoint_auth_method '{m}' is not supported: clients are public and use PKCE (none)"),
            );
        }
    }
    match o.store().client_count() {
        Ok(n) if n >= MAX_CLIENTS => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_client_metadata",
                "too many registered clients; revoke some with the server's auth revoke-client command",
            );
        }
        Ok(_) => {}
        Err(e) => return fault(e.into()),
    }
    let name: String = req["client_name"].as_str().unwrap_or("unnamed client").chars().take(100).collect();
    let client_id = match mint("tgc_") {
        Ok(id) => id,
        Err(e) => return fault(e),
    };
    let client = Client {
        client_id: client_id.clone(),
        client_name: name.clone(),
        redirect_uris: uris.clone(),
        created_at: now(),
        revoked: false,
    };
    if let Err(e) = o.store().add_client(&client) {
        return fault(e.into());
    }
    tracing::info!(client_id = %client_id, client_name = %name, "OAuth client registered");
    no_store(
        (
            StatusCode::CREATED,
            Json(json!({
                "client_id": client_id,
                "client_id_issued_at": client.created_at,
                "client_name": name,
                "redirect_uris": uris,
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
            })),
        )
            .into_response(),
    )
}

/// A checked authorization request.
struct AuthRequest {
    client: Client,
    redirect_uri: String,
    state: Option<String>,
    challenge: String,
    scopes: Vec<String>,
    resource: String,
}

/// Where an invalid request goes: an error page when the client or redirect URI cannot be
/// trusted (never redirect there), else back to the client with an OAuth error.
enum Refusal {
    Page(String),
    /// The client id is unknown or was revoked: it must register again.
    InvalidClient(String),
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

fn check_request(o: &OAuth, p: &HashMap<String, String>) -> Result<AuthRequest, Refusal> {
    let client_id = p.get("client_id").ok_or_else(|| Refusal::Page("client_id is missing".into()))?;
    let client = match o.store().client(client_id) {
        Ok(Some(c)) => c,
        Ok(None) => return Err(Refusal::InvalidClient(client_id.clone())),
        Err(e) => return Err(Refusal::Page(e.to_string())),
    };
    let redirect_uri = match p.get("redirect_uri") {
        Some(r) if client.redirect_uris.contains(r) => r.clone(),
        Some(_) => return Err(Refusal::Page("redirect_uri is not one this client registered".into())),
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => return Err(Refusal::Page("redirect_uri is required (the client registered several)".into())),
    };
    let state = p.get("state").cloned();
    let back = |error: &'static str, description: String| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
        description,
    };
    if p.get("response_type").map(String::as_str) != Some("code") {
        return Err(back("unsupported_response_type", "only response_type=code is supported".into()));
    }
    let Some(challenge) = p.get("code_challenge").filter(|c| !c.is_empty()) else {
        return Err(back("invalid_request", "code_challenge is required (PKCE with S256)".into()));
    };
    if p.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return Err(back("invalid_request", "code_challenge_method must be S256 (plain is not accepted)".into()));
    }
    if challenge.len() != 43 || !challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(back("invalid_request", "code_challenge is not a base64url SHA-256 (43 characters)".into()));
    }
    let resource = o.resource();
    if let Some(r) = p.get("resource").filter(|r| r.trim_end_matches('/') != resource) {
        return Err(back("invalid_target", format!("resource {r} is not this server ({resource})")));
    }
    let scopes = o.requested_scopes(p.get("scope").map(String::as_str)).map_err(|e| back("invalid_scope", e))?;
    Ok(AuthRequest { client, redirect_uri, state, challenge: challenge.clone(), scopes, resource })
}

fn redirect_to(o: &OAuth, redirect_uri: &str, pairs: &[(&str, &str)], state: Option<&str>) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return html(StatusCode::BAD_REQUEST, pages::error("the redirect URI is not a URL"));
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", o.issuer());
    }
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn refuse(o: &OAuth, r: Refusal) -> Response {
    match r {
        Refusal::Page(m) => html(StatusCode::BAD_REQUEST, pages::error(&m)),
        // Never a redirect (the redirect URI cannot be trusted): an `invalid_client` answer
        // that tells the person (and a client reading it) to register again.
        Refusal::InvalidClient(id) => {
            let mut r = html(
                StatusCode::UNAUTHORIZED,
                pages::error(&format!(
                    "invalid_client: the application's registration ({id}) is unknown or was revoked. Remove and add the connector again in the application, so it registers anew."
                )),
            );
            r.headers_mut().insert("x-oauth-error", HeaderValue::from_static("invalid_client"));
            r
        }
        Refusal::Redirect { redirect_uri, state, error, description } => {
            redirect_to(o, &redirect_uri, &[("error", error), ("error_description", &description)], state.as_deref())
        }
    }
}

pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

pub(super) const SESSION_COOKIE: &str = "tg_owner";

fn csrf_for(session: &str) -> String {
    super::store::hash(&format!("consent:{session}"))
}

async fn authorize(State(o): Shared, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let p = form(query.as_bytes());
    let req = match check_request(&o, &p) {
        Ok(r) => r,
        Err(r) => return refuse(&o, r),
    };
    let session = cookie(&headers, SESSION_COOKIE);
    if !o.session_valid(session.as_deref(), now()) {
        return html(StatusCode::OK, pages::login(&format!("/authorize?{query}"), None));
    }
    let hidden: Vec<(&str, &str)> = [
        "client_id",
        "redirect_uri",
        "response_type",
        "code_challenge",
        "code_challenge_method",
        "state",
        "resource",
        "scope",
    ]
    .iter()
    .filter_map(|k| p.get(*k).map(|v| (*k, v.as_str())))
    .collect();
    let csrf = csrf_for(session.as_deref().unwrap_or_default());
    html_sending_to(
        StatusCode::OK,
        pages::consent(&req.client.client_name, &req.client.client_id, &req.redirect_uri, &req.scopes, &hidden, &csrf),
        origin_of(&req.redirect_uri).as_deref(),
    )
}

/// `next` must be our own authorize URL for a registered client and one of its redirect
/// URIs, or the owner's list of approvals: the login form never sends the browser anywhere else.
fn next_ok(o: &OAuth, next: &str) -> bool {
    // The owner's list of approvals waiting (the approval page, HTTP mode).
    if next == "/approvals" {
        return true;
    }
    let Some(query) = next.strip_prefix("/authorize?") else { return false };
    let p = form(query.as_bytes());
    match (p.get("client_id"), p.get("redirect_uri")) {
        (Some(id), redirect) => match o.store().client(id) {
            Ok(Some(c)) => match redirect {
                Some(r) => c.redirect_uris.contains(r),
                None => c.redirect_uris.len() == 1,
            },
            _ => false,
        },
        _ => false,
    }
}

async fn login(State(o): Shared, body: Bytes) -> Response {
    let p = form(&body);
    let next = p.get("next").cloned().unwrap_or_default();
    if !next_ok(&o, &next) {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error("this login link is not an authorization request of a registered client"),
        );
    }
    let at = now();
    if let Some(wait) = o.login_blocked_for(at) {
        let mut r = html(
            StatusCode::TOO_MANY_REQUESTS,
            pages::login(
                &next,
                Some(&format!("Too many failed logins ({LOGIN_FAILURES} in 5 minutes). Try again in {wait} s.")),
            ),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    if !o.password_ok(p.get("password").map(String::as_str).unwrap_or_default()) {
        o.note_failure(at);
        tracing::warn!("OAuth owner login failed");
        return html(StatusCode::UNAUTHORIZED, pages::login(&next, Some("Wrong password.")));
    }
    let session = match o.new_session(at) {
        Ok(s) => s,
        Err(e) => return fault(e),
    };
    let secure = if o.issuer().starts_with("https://") { "; Secure" } else { "" };
    let mut r = StatusCode::SEE_OTHER.into_response();
    let h = r.headers_mut();
    if let (Ok(loc), Ok(c)) = (
        HeaderValue::from_str(&next),
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={session}; HttpOnly; SameSite=Lax; Path=/; Max-Age=1800{secure}"
        )),
    ) {
        h.insert(header::LOCATION, loc);
        h.insert(header::SET_COOKIE, c);
    }
    r
}

/// The consent form's answer.
async fn decide(State(o): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let p: HashMap<String, String> = pairs.iter().filter(|(k, _)| k != "grant").cloned().collect();
    let session = cookie(&headers, SESSION_COOKIE);
    if !o.session_valid(session.as_deref(), now()) {
        return html(StatusCode::UNAUTHORIZED, pages::error("your login expired: start again from the application"));
    }
    let csrf_ok = p
        .get("csrf")
        .is_some_and(|c| super::same(c.as_bytes(), csrf_for(session.as_deref().unwrap_or_default()).as_bytes()));
    if !csrf_ok {
        return html(StatusCode::FORBIDDEN, pages::error("the consent form did not come from this server"));
    }
    let req = match check_request(&o, &p) {
        Ok(r) => r,
        Err(r) => return refuse(&o, r),
    };
    let granted: Vec<String> =
        pairs.iter().filter(|(k, v)| k == "grant" && req.scopes.contains(v)).map(|(_, v)| v.clone()).collect();
    if p.get("decision").map(String::as_str) != Some("approve") || granted.is_empty() {
        tracing::info!(client_id = %req.client.client_id, "OAuth access denied by the owner");
        return redirect_to(
            &o,
            &req.redirect_uri,
            &[("error", "access_denied"), ("error_description", "the owner denied access")],
            req.state.as_deref(),
        );
    }
    let (code, family) = match (mint("tgo_"), mint("tgf_")) {
        (Ok(c), Ok(f)) => (c, f),
        (Err(e), _) | (_, Err(e)) => return fault(e),
    };
    let scope = granted.join(" ");
    if let Err(e) = o.store().add_code(
        &code,
        &req.client.client_id,
        &req.redirect_uri,
        &req.challenge,
        &scope,
        &req.resource,
        now() + CODE_TTL_SECS,
        &family,
    ) {
        return fault(e.into());
    }
    tracing::info!(client_id = %req.client.client_id, scope = %scope, "OAuth access granted by the owner");
    redirect_to(&o, &req.redirect_uri, &[("code", &code)], req.state.as_deref())
}

/// The client id of a token request: the form's, else HTTP Basic's user part (a client that
/// registered asking for client_secret_basic may still send it that way; any secret is ignored,
/// the client is public and PKCE proves it).
fn token_client_id(headers: &HeaderMap, p: &HashMap<String, String>) -> String {
    if let Some(id) = p.get("client_id") {
        return id.clone();
    }
    use base64::Engine;
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| pair.split_once(':').map(|(id, _)| format!("id={id}")))
        .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).next().map(|(_, id)| id.into_owned()))
        .unwrap_or_default()
}

async fn token(State(o): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let p = form(&body);
    let bad = |error: &str, d: &str| oauth_error(StatusCode::BAD_REQUEST, error, d);
    let client_id = token_client_id(&headers, &p);
    let client_id = client_id.as_str();
    match o.store().client(client_id) {
        Ok(Some(_)) => {}
        Ok(None) => return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown or revoked client_id"),
        Err(e) => return fault(e.into()),
    }
    let resource_ok = |granted: &str| p.get("resource").is_none_or(|r| r.trim_end_matches('/') == granted);
    match p.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let grant = match o.store().redeem_code(p.get("code").map(String::as_str).unwrap_or_default()) {
                Ok(Some(g)) => g,
                Ok(None) => return bad("invalid_grant", "unknown authorization code"),
                Err(e) => return fault(e.into()),
            };
            if grant.already_used {
                // A replayed code: whatever it bought is revoked (RFC 6749 §4.1.2).
                let _ = o.store().revoke_family(&grant.family);
                tracing::warn!(client_id, "OAuth authorization code replayed; its tokens are revoked");
                return bad("invalid_grant", "authorization code already used");
            }
            if grant.expires_at < now() {
                return bad("invalid_grant", "authorization code expired");
            }
            if grant.client_id != client_id {
                return bad("invalid_grant", "the code was issued to another client");
            }
            if p.get("redirect_uri").is_some_and(|r| *r != grant.redirect_uri) {
                return bad("invalid_grant", "redirect_uri does not match the authorization request");
            }
            if !pkce_s256_matches(p.get("code_verifier").map(String::as_str).unwrap_or_default(), &grant.code_challenge)
            {
                return bad("invalid_grant", "code_verifier does not match the code_challenge (PKCE S256)");
            }
            if !resource_ok(&grant.resource) {
                return bad("invalid_target", "resource differs from the one authorized");
            }
            match o.issue(client_id, &grant.scope, &grant.resource, &grant.family) {
                Ok(t) => no_store(Json(t).into_response()),
                Err(e) => fault(e),
            }
        }
        Some("refresh_token") => {
            let presented = p.get("refresh_token").map(String::as_str).unwrap_or_default();
            let row = match o.store().token(presented) {
                Ok(Some(r)) if r.kind == "refresh" => r,
                Ok(_) => return bad("invalid_grant", "unknown refresh token"),
                Err(e) => return fault(e.into()),
            };
            if row.revoked {
                // Reuse of a rotated refresh token: someone else may hold it. Cut the family.
                let _ = o.store().revoke_family(&row.family);
                tracing::warn!(client_id, "OAuth refresh token reused; its family is revoked");
                return bad("invalid_grant", "refresh token already used or revoked");
            }
            if row.expires_at <= now() {
                return bad("invalid_grant", "refresh token expired");
            }
            if row.client_id != client_id {
                return bad("invalid_grant", "the refresh token belongs to another client");
            }
            if !resource_ok(&row.resource) {
                return bad("invalid_target", "resource differs from the one authorized");
            }
            let scope = match p.get("scope") {
                None => row.scope.clone(),
                Some(s) => {
                    let asked = match parse_scope(Some(s)) {
                        Ok(a) => a,
                        Err(e) => return bad("invalid_scope", &e),
                    };
                    if let Some(extra) = asked.iter().find(|a| !row.scope.split_whitespace().any(|g| g == a.as_str())) {
                        return bad("invalid_scope", &format!("scope '{extra}' was not granted"));
                    }
                    asked.join(" ")
                }
            };
            if let Err(e) = o.store().revoke_token(presented, false) {
                return fault(e.into());
            }
            match o.issue(client_id, &scope, &row.resource, &row.family) {
                Ok(t) => no_store(Json(t).into_response()),
                Err(e) => fault(e),
            }
        }
        Some(other) => bad("unsupported_grant_type", &format!("grant_type '{other}' is not supported")),
        None => bad("invalid_request", "grant_type is required"),
    }
}

/// RFC 7009: revoking a token (or its whole authorization, for a refresh token). A caller
/// holding an `admin` token may instead revoke a whole client by `client_id`.
async fn revoke(State(o): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let p = form(&body);
    if let Some(t) = p.get("token") {
        let family = p.get("token_type_hint").map(String::as_str) == Some("refresh_token")
            || o.store().token(t).ok().flatten().is_some_and(|r| r.kind == "refresh");
        if let Err(e) = o.store().revoke_token(t, family) {
            return fault(e.into());
        }
        return no_store(StatusCode::OK.into_response());
    }
    let admin = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| o.authenticate(t.trim()).ok())
        .filter(|c: &Caller| c.has("admin"));
    match (admin, p.get("client_id")) {
        (Some(caller), Some(id)) => match o.store().revoke_client(id) {
            Ok(found) => {
                tracing::info!(by = %caller.id, client_id = %id, found, "OAuth client revoked");
                no_store(StatusCode::OK.into_response())
            }
            Err(e) => fault(e.into()),
        },
        (None, Some(_)) => oauth_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "revoking a client needs a token with the admin scope",
        ),
        _ => oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "give token (or client_id with an admin token)"),
    }
}
