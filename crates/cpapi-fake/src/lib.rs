//! A fake IBKR Client Portal Gateway: CPAPI's paths, shapes and quirks over the simulated
//! exchange, for tests and for running tradegate by hand without an IBKR account.
//!
//! Modelled from IBKR's published specs and recorded real responses: the brokerage session
//! state machine (idle timeout, competing logins, ssodh recovery), "Please query /accounts
//! first", the snapshot warm-up, the orders pre-flight, chains of confirmation questions with
//! expiring reply ids, rejects as HTTP 200, 503 on order post, pacing with a penalty box, and
//! injected faults (401 mid-call, 500, 503 after the order landed, slow answers, dropped
//! connections). Every request is recorded for contract tests.
#![forbid(unsafe_code)]

pub mod fixtures;
mod gateway;
mod money;
mod options;
mod orders;
mod research;
pub mod state;

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::State as AxumState,
    http::{Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto::Builder,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::{net::TcpListener, sync::watch};

pub use state::{Faults, Limits, Question, Recorded, Session, State};

type Shared = Arc<std::sync::Mutex<State>>;

/// A running fake gateway. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeGateway {
    state: Shared,
    addr: SocketAddr,
    tls: bool,
    /// SHA-256 of the TLS certificate (hex), when serving TLS.
    pub cert_sha256: Option<String>,
    stop: watch::Sender<bool>,
}

impl Drop for FakeGateway {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn dispatch(AxumState(state): AxumState<Shared>, method: Method, uri: Uri, body: Bytes) -> Response {
    let path = uri.path();
    if let Some(control) = path.strip_prefix("/__fake/") {
        return control_request(&state, control);
    }
    let Some(api_path) = path.strip_prefix("/v1/api") else {
        return (StatusCode::NOT_FOUND, "not a CPAPI path").into_response();
    };
    let body: Value = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap_or(Value::Null) };
    let (slow, (status, json)) = {
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        let answer = gateway::handle(&mut st, method.as_str(), api_path, uri.query().unwrap_or(""), body);
        (st.faults.slow, answer)
    };
    if !slow.is_zero() {
        tokio::time::sleep(slow).await;
    }
    if json.is_null() {
        return status.into_response();
    }
    (status, axum::Json(json)).into_response()
}

/// By-hand controls: `/__fake/login` (the browser login), `/__fake/timeout` (the brokerage
/// session idles out), `/__fake/compete` (another platform logs in), `/__fake/logout`.
fn control_request(state: &Shared, what: &str) -> Response {
    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
    match what {
        "login" => st.log_in(),
        "timeout" => st.session = Session::ReadOnly,
        "compete" => st.session = Session::Competing,
        "logout" => st.session = Session::NoSession,
        _ => return (StatusCode::NOT_FOUND, "controls: login, timeout, compete, logout").into_response(),
    }
    (StatusCode::OK, format!("session: {:?}\n", st.session)).into_response()
}

fn self_signed() -> anyhow::Result<(rustls::ServerConfig, String)> {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])?;
    let der = cert.cert.der().clone();
    let fingerprint = hex::encode(Sha256::digest(&der));
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![der], key)?;
    Ok((cfg, fingerprint))
}

impl FakeGateway {
    /// Starts a plain-http fake on 127.0.0.1 (port 0 picks a free one).
    pub async fn start(state: State, port: u16) -> anyhow::Result<FakeGateway> {
        Self::serve(state, port, None).await
    }

    /// Starts a TLS fake with a fresh self-signed certificate, like the real gateway's.
    pub async fn start_tls(state: State, port: u16) -> anyhow::Result<FakeGateway> {
        let (cfg, fingerprint) = self_signed()?;
        Self::serve(state, port, Some((Arc::new(cfg), fingerprint))).await
    }

    async fn serve(
        state: State,
        port: u16,
        tls: Option<(Arc<rustls::ServerConfig>, String)>,
    ) -> anyhow::Result<FakeGateway> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared: Shared = Arc::new(std::sync::Mutex::new(state));
        let router = Router::new().fallback(dispatch).with_state(shared.clone());
        let (stop, mut stopped) = watch::channel(false);
        let acceptor = tls.as_ref().map(|(cfg, _)| tokio_rustls::TlsAcceptor::from(cfg.clone()));
        let st = shared.clone();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = tokio::select! {
                    r = listener.accept() => match r { Ok(c) => c, Err(_) => continue },
                    _ = stopped.changed() => break,
                };
                let _ = tcp.set_nodelay(true);
                let router = router.clone();
                let st = st.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let router = router.clone();
                        let drop_it = {
                            let mut s = st.lock().unwrap_or_else(|p| p.into_inner());
                            let d = s.faults.drop_next > 0;
                            s.faults.drop_next = s.faults.drop_next.saturating_sub(1);
                            d
                        };
                        async move {
                            if drop_it {
                                return Err(std::io::Error::other("fault injected: connection dropped"));
                            }
                            use tower_service::Service;
                            let mut router = router;
                            router.call(req.map(Body::new)).await.map_err(|e| match e {})
                        }
                    });
                    let builder = Builder::new(TokioExecutor::new());
                    match acceptor {
                        Some(a) => {
                            if let Ok(tls) = a.accept(tcp).await {
                                let _ = builder.serve_connection(TokioIo::new(tls), svc).await;
                            }
                        }
                        None => {
                            let _ = builder.serve_connection(TokioIo::new(tcp), svc).await;
                        }
                    }
                });
            }
        });
        Ok(FakeGateway { state: shared, addr, tls: tls.is_some(), cert_sha256: tls.map(|(_, f)| f), stop })
    }

    /// The CPAPI base URL, e.g. `http://127.0.0.1:5000/v1/api`.
    pub fn base_url(&self) -> String {
        format!("{}://127.0.0.1:{}/v1/api", if self.tls { "https" } else { "http" }, self.addr.port())
    }

    /// Runs `f` on the fake's state (script questions, inject faults, read requests).
    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
