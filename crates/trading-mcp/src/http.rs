//! Streamable HTTP transport: rmcp's service on axum, stateless with JSON responses, `/mcp`
//! and `/mcp/` both answered, TCP_NODELAY, Host and Origin validation, a request body limit,
//! a static bearer token compared in constant time, and graceful shutdown.

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

use crate::server::TradingServer;

/// How HTTP callers prove who they are.
#[derive(Clone)]
pub enum HttpAuth {
    /// No authentication (only allowed on a loopback address).
    None,
    /// `Authorization: Bearer <token>` with this token (kept only as its SHA-256).
    Bearer([u8; 32]),
}

impl std::fmt::Debug for HttpAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a token or its hash.
        f.write_str(match self {
            HttpAuth::None => "HttpAuth::None",
            HttpAuth::Bearer(_) => "HttpAuth::Bearer(<redacted>)",
        })
    }
}

impl HttpAuth {
    pub fn bearer(token: &str) -> Self {
        HttpAuth::Bearer(Sha256::digest(token.as_bytes()).into())
    }
}

/// HTTP settings.
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
}

/// Equal-time comparison of two digests.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn check_bearer(State(auth): State<Arc<HttpAuth>>, req: Request, next: Next) -> Response {
    let HttpAuth::Bearer(want) = auth.as_ref() else { return next.run(req).await };
    let presented =
        req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(token) if same(&Sha256::digest(token.trim().as_bytes()).into(), want) => next.run(req).await,
        Some(_) => unauthorized(r#"Bearer error="invalid_token""#),
        None => unauthorized("Bearer"),
    }
}

fn unauthorized(challenge: &'static str) -> Response {
    let mut r = (StatusCode::UNAUTHORIZED, "a valid bearer token is required").into_response();
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    r
}

/// Serves `server` over streamable HTTP until `shutdown` resolves.
pub async fn serve(
    server: TradingServer,
    opts: HttpOptions,
    on_listen: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    hosts.extend(opts.allowed_hosts.iter().cloned());
    let mut origins: Vec<String> =
        vec!["http://localhost:*".into(), "http://127.0.0.1:*".into(), "http://[::1]:*".into()];
    origins.extend(opts.allowed_origins.iter().cloned());
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .with_max_request_body_bytes(opts.max_body_bytes);
    let service = StreamableHttpService::new(move || Ok(server.clone()), LocalSessionManager::default().into(), config);
    let app = Router::new()
        // Nesting answers both /mcp and /mcp/, without a redirect.
        .nest_service("/mcp", service)
        .layer(middleware::from_fn_with_state(Arc::new(opts.auth.clone()), check_bearer));
    use axum::serve::ListenerExt;
    let listener = tokio::net::TcpListener::bind(opts.bind).await?;
    on_listen(listener.local_addr()?);
    let listener = listener.tap_io(|t| {
        let _ = t.set_nodelay(true);
    });
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_compare_equal_only_when_equal() {
        let a: [u8; 32] = Sha256::digest(b"secret-token").into();
        let b: [u8; 32] = Sha256::digest(b"secret-token").into();
        let c: [u8; 32] = Sha256::digest(b"secret-tokeN").into();
        assert!(same(&a, &b));
        assert!(!same(&a, &c));
        assert_eq!(format!("{:?}", HttpAuth::bearer("secret-token")), "HttpAuth::Bearer(<redacted>)");
    }
}
