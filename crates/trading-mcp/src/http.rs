//! Streamable HTTP transport: rmcp's service on axum, stateless with JSON responses, `/mcp`
//! and `/mcp/` both answered, TCP_NODELAY, Host and Origin validation, a request body limit,
//! authentication (a static bearer token, OAuth 2.1, or both), and graceful shutdown.

use std::{future::Future, net::SocketAddr, sync::Arc};

use axum::{
    Router,
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use sha2::{Digest, Sha256};

use crate::{
    oauth::{Caller, OAuth, OAuthConfig},
    server::TradingServer,
};

/// How HTTP callers prove who they are (`AUTH_MODE`).
#[derive(Clone, Debug, Default)]
pub struct HttpAuth {
    /// `Authorization: Bearer <STATIC_BEARER_TOKEN>` (kept only as its SHA-256).
    pub bearer: Option<StaticBearer>,
    /// OAuth 2.1 access tokens issued by this server.
    pub oauth: Option<OAuthConfig>,
}

/// The static token's digest; never printed.
#[derive(Clone)]
pub struct StaticBearer([u8; 32]);

impl std::fmt::Debug for StaticBearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticBearer(<redacted>)")
    }
}

impl StaticBearer {
    pub fn new(token: &str) -> Self {
        StaticBearer(Sha256::digest(token.as_bytes()).into())
    }
    fn matches(&self, presented: &str) -> bool {
        let d: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        crate::oauth::same(&d, &self.0)
    }
}

impl HttpAuth {
    pub fn is_none(&self) -> bool {
        self.bearer.is_none() && self.oauth.is_none()
    }
}

/// The HTTP transport's settings: the bind address, authentication, the accepted Host and
/// Origin values, the body cap and the public URL behind a proxy.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    pub bind: SocketAddr,
    pub auth: HttpAuth,
    /// Extra Host values to accept besides localhost, 127.0.0.1 and ::1.
    pub allowed_hosts: Vec<String>,
    /// Browser origins to accept; when empty, requests that carry an Origin are refused
    /// unless it is a loopback origin.
    pub allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
    /// The public URL in front of the server (issuer and resource behind a TLS proxy).
    pub public_base_url: Option<String>,
}

struct Gate {
    bearer: Option<StaticBearer>,
    oauth: Option<Arc<OAuth>>,
    server: TradingServer,
    max_body_bytes: usize,
}

fn unauthorized(gate: &Gate, invalid: bool) -> Response {
    let mut challenge = String::from("Bearer");
    if let Some(o) = &gate.oauth {
        challenge.push_str(&format!(" resource_metadata=\"{}\"", o.resource_metadata_url()));
    }
    if invalid {
        challenge.push_str(if gate.oauth.is_some() { ", error=\"invalid_token\"" } else { " error=\"invalid_token\"" });
    }
    let mut r = (StatusCode::UNAUTHORIZED, "a valid bearer token is required").into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// Puts the [`Caller`] into the request (the tools read it) or answers 401.
async fn authenticate(State(gate): State<Arc<Gate>>, mut req: Request, next: Next) -> Response {
    if gate.bearer.is_none() && gate.oauth.is_none() {
        req.extensions_mut().insert(Caller::with_all_scopes("loopback"));
        return next.run(req).await;
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| t.trim().to_string());
    let Some(token) = presented else { return unauthorized(&gate, false) };
    let caller = if gate.bearer.as_ref().is_some_and(|b| b.matches(&token)) {
        Some(Caller::with_all_scopes("static-bearer"))
    } else {
        gate.oauth.as_ref().and_then(|o| o.authenticate(&token).ok())
    };
    let Some(caller) = caller else { return unauthorized(&gate, true) };
    let mut req = match step_up(&gate, &caller, req).await {
        Ok(r) => r,
        Err(refusal) => return refusal,
    };
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// MCP's step-up: a `tools/call` for a tool the grant does not cover is answered 403 with
/// `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` (RFC 6750 §3.1), so the
/// client can ask the owner for more; `tools/list` keeps hiding such tools.
async fn step_up(gate: &Gate, caller: &Caller, req: Request) -> Result<Request, Response> {
    let Some(oauth) = &gate.oauth else { return Ok(req) };
    if caller.scopes.len() == crate::oauth::SCOPES.len() || req.method() != axum::http::Method::POST {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, gate.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => return Err((StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response()),
    };
    let call: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
    let tool = call
        .as_ref()
        .filter(|c| c["method"] == "tools/call")
        .and_then(|c| c["params"]["name"].as_str())
        .map(str::to_string);
    if let Some(tool) = tool
        && let Some(refusal) = gate.server.out_of_scope(caller, &tool)
    {
        let need = crate::oauth::scope_of(&tool);
        let mut wanted: Vec<&str> = caller.scopes.iter().map(String::as_str).collect();
        if !wanted.contains(&need) {
            wanted.push(need);
        }
        let challenge = format!(
            "Bearer error=\"insufficient_scope\", scope=\"{}\", resource_metadata=\"{}\", error_description=\"{tool} needs the {need} scope\"",
            wanted.join(" "),
            oauth.resource_metadata_url()
        );
        let body = serde_json::json!({
            "jsonrpc": "2.0",
            "id": call.as_ref().map(|c| c["id"].clone()).unwrap_or_default(),
            "error": { "code": -32001, "message": format!("insufficient_scope: {tool} needs the '{need}' scope"), "data": refusal.structured_content },
        });
        let mut r = (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        return Err(r);
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// The Host check rmcp applies to /mcp, for the OAuth pages and endpoints too.
async fn check_host(State(hosts): State<Arc<Vec<String>>>, req: Request, next: Next) -> Response {
    let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let name = if host.starts_with('[') {
        host.split_once(']').map_or(host, |(h, _)| h.trim_start_matches('['))
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    if hosts.iter().any(|h| h.eq_ignore_ascii_case(name)) {
        next.run(req).await
    } else {
        (StatusCode::FORBIDDEN, "Host not allowed").into_response()
    }
}

/// Why the HTTP server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    OAuth(#[from] crate::oauth::store::StoreError),
}

/// Serves `server` over streamable HTTP until `shutdown` resolves.
pub async fn serve(
    server: TradingServer,
    opts: HttpOptions,
    on_listen: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), HttpError> {
    let oauth = match &opts.auth.oauth {
        Some(cfg) => Some(Arc::new(OAuth::open(cfg.clone())?)),
        None => None,
    };
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    hosts.extend(opts.allowed_hosts.iter().cloned());
    let mut origins: Vec<String> =
        vec!["http://localhost:*".into(), "http://127.0.0.1:*".into(), "http://[::1]:*".into()];
    origins.extend(opts.allowed_origins.iter().cloned());
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(hosts.clone())
        .with_allowed_origins(origins)
        .with_max_request_body_bytes(opts.max_body_bytes);
    let gate = Arc::new(Gate {
        bearer: opts.auth.bearer.clone(),
        oauth: oauth.clone(),
        server: server.clone(),
        max_body_bytes: opts.max_body_bytes,
    });
    let desk = server.desk().clone();
    let console_server = server.clone();
    let service = StreamableHttpService::new(move || Ok(server.clone()), LocalSessionManager::default().into(), config);
    // Nesting answers both /mcp and /mcp/, without a redirect.
    let mut app = Router::new().nest_service("/mcp", service).layer(middleware::from_fn_with_state(gate, authenticate));
    if let Some(o) = &oauth {
        let pages = crate::oauth::router(o.clone())
            .layer(middleware::from_fn_with_state(Arc::new(hosts), check_host))
            .layer(axum::extract::DefaultBodyLimit::max(64 * 1024));
        app = app.merge(pages);
    }
    // The person's pages: behind the owner's login, or on a loopback-only server.
    let pages_allowed = oauth.is_some() || opts.bind.ip().is_loopback();
    if pages_allowed {
        app = app.merge(crate::approval::page::router(desk.clone())).merge(crate::console::router(console_server));
    }
    use axum::serve::ListenerExt;
    let listener = tokio::net::TcpListener::bind(opts.bind).await?;
    let addr = listener.local_addr()?;
    // The page answers on the server's own origin, behind the owner's login when OAuth is on.
    let origin = opts.public_base_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    if let Some(o) = &oauth {
        let _ = desk.owner.set(o.clone());
    }
    if pages_allowed && let Some(p) = crate::approval::PageOrigin::of(&origin, oauth.is_some()) {
        let _ = desk.page.set(p);
    }
    if let Some(o) = &oauth {
        o.set_issuer(opts.public_base_url.as_deref().unwrap_or(&format!("http://{addr}")));
        tracing::info!(issuer = %o.issuer(), "OAuth authorization server ready");
    }
    on_listen(addr);
    let listener = listener.tap_io(|t| {
        let _ = t.set_nodelay(true);
    });
    Ok(axum::serve(listener, app).with_graceful_shutdown(shutdown).await?)
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
