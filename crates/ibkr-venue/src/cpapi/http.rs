//! The raw CPAPI client: speaks the gateway's JSON, paced, with errors mapped to types.
//!
//! It talks to the gateway on this machine only: the base URL must be loopback, there is no
//! proxy and no redirect, and the gateway's self-signed certificate is accepted only here,
//! optionally pinned by its SHA-256.

use std::{sync::Arc, time::Duration};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use super::{
    error::CpapiError,
    pacing::{Pacer, PacingLimits},
};

/// How the gateway's certificate is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// The leaf certificate's SHA-256 (hex) must match.
    Pinned(String),
    /// Any certificate (the gateway's is self-signed); allowed only on loopback.
    InsecureLoopback,
}

/// Settings of the raw client.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    pub base_url: String,
    pub tls: TlsMode,
    pub timeout: Duration,
    pub limits: PacingLimits,
}

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GatewayConfigError(pub String);

/// The raw CPAPI client: paced requests to the gateway, its TLS pin, and errors classified
/// into `CpapiError`. Order entry goes through the venue's port, never through this directly.
#[derive(Debug)]
pub struct GatewayHttp {
    client: reqwest::Client,
    base: Url,
    pacer: Pacer,
}

/// Checks the base URL names this machine.
pub fn loopback_base(raw: &str) -> Result<Url, GatewayConfigError> {
    let url = Url::parse(raw.trim())
        .map_err(|e| GatewayConfigError(format!("IBKR_API_BASE_URL '{raw}' is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(GatewayConfigError(format!(
            "IBKR_API_BASE_URL must be https:// (or http:// for a test gateway), not {}",
            url.scheme()
        )));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if !loopback {
        return Err(GatewayConfigError(format!(
            "IBKR_API_BASE_URL must point at the Client Portal Gateway on this machine (localhost, 127.0.0.1 or ::1); got '{}'. The gateway holds a logged-in brokerage session: never reach it over a network.",
            url.host_str().unwrap_or("")
        )));
    }
    Ok(url)
}

mod pin {
    //! A certificate verifier that accepts exactly one leaf certificate, by SHA-256.
    use std::sync::Arc;

    use rustls::{
        DigitallySignedStruct, Error, SignatureScheme,
        client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
        crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature},
        pki_types::{CertificateDer, ServerName, UnixTime},
    };
    use sha2::{Digest, Sha256};

    #[derive(Debug)]
    pub(super) struct Pinned {
        pub(super) sha256: String,
        pub(super) provider: Arc<CryptoProvider>,
    }

    impl ServerCertVerifier for Pinned {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            let got = hex::encode(Sha256::digest(end_entity.as_ref()));
            if got.eq_ignore_ascii_case(&self.sha256) {
                Ok(ServerCertVerified::assertion())
            } else {
                Err(Error::General(format!(
                    "the gateway's certificate SHA-256 is {got}, not the pinned IBKR_GATEWAY_CERT_SHA256"
                )))
            }
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            verify_tls12_signature(m, c, d, &self.provider.signature_verification_algorithms)
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            verify_tls13_signature(m, c, d, &self.provider.signature_verification_algorithms)
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider.signature_verification_algorithms.supported_schemes()
        }
    }
}

/// SHA-256 fingerprints are 64 hex digits; colons (as openssl prints them) are allowed.
pub fn normalize_fingerprint(raw: &str) -> Option<String> {
    let hex: String = raw.chars().filter(|c| *c != ':' && !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

impl GatewayHttp {
    pub fn new(cfg: GatewayConfig) -> Result<GatewayHttp, GatewayConfigError> {
        let base = loopback_base(&cfg.base_url)?;
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
            .tcp_nodelay(true);
        if base.scheme() == "https" {
            builder = match &cfg.tls {
                TlsMode::Pinned(sha) => {
                    let provider = Arc::new(rustls::crypto::ring::default_provider());
                    let verifier = Arc::new(pin::Pinned { sha256: sha.clone(), provider: provider.clone() });
                    let tls = rustls::ClientConfig::builder_with_provider(provider)
                        .with_safe_default_protocol_versions()
                        .map_err(|e| GatewayConfigError(format!("TLS setup failed: {e}")))?
                        .dangerous()
                        .with_custom_certificate_verifier(verifier)
                        .with_no_client_auth();
                    builder.use_preconfigured_tls(tls)
                }
                TlsMode::InsecureLoopback => builder.danger_accept_invalid_certs(true),
            };
        }
        let client = builder.build().map_err(|e| GatewayConfigError(format!("HTTP client setup failed: {e}")))?;
        Ok(GatewayHttp { client, base, pacer: Pacer::new(cfg.limits) })
    }

    /// The base URL (for messages).
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The gateway's login page: the base URL without its API path.
    pub fn login_url(&self) -> String {
        let mut u = self.base.clone();
        u.set_path("/");
        u.set_query(None);
        u.to_string()
    }

    /// The 429 penalty box, for session tools: whether every request is being held back and
    /// for how long.
    pub fn penalty(&self) -> Value {
        match self.pacer.penalty_left() {
            Some(left) => serde_json::json!({
                "penalty_box": true,
                "seconds_left": left.as_secs(),
                "why": "IBKR answered 429 (too many requests); every request waits until the box ends",
            }),
            None => serde_json::json!({ "penalty_box": false }),
        }
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, CpapiError> {
        self.send(Method::GET, path, query, None).await
    }

    /// POSTs always carry a body (the gateway answers 411 without one).
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Result<Value, CpapiError> {
        self.send(Method::POST, path, &[], Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, CpapiError> {
        self.send(Method::DELETE, path, &[], None).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, CpapiError> {
        let _admission = self.pacer.admit(path).await?;
        let mut url = self.base.clone();
        url.set_path(&format!("{}{}", self.base.path().trim_end_matches('/'), path));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let mut req = self.client.request(method.clone(), url);
        if let Some(b) = body {
            req = req.json(b);
        }
        let what = format!("{method} {path}");
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                CpapiError::Timeout(what.clone())
            } else {
                CpapiError::Transport(format!("{} ({})", self.base, root_cause(&e)))
            }
        })?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = resp.text().await.map_err(|e| {
            if e.is_timeout() {
                CpapiError::Timeout(what.clone())
            } else {
                CpapiError::Transport(format!("{} ({})", self.base, root_cause(&e)))
            }
        })?;
        let json: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        let message = error_text(&json);
        if message.contains("Please query /accounts first") {
            return Err(CpapiError::AccountsFirst);
        }
        match status {
            s if s.is_success() => {
                self.pacer.clear_penalty();
                Ok(json)
            }
            StatusCode::UNAUTHORIZED => {
                Err(CpapiError::NotAuthenticated(if message.is_empty() { "HTTP 401".into() } else { message }))
            }
            StatusCode::TOO_MANY_REQUESTS => {
                Err(CpapiError::RateLimited { retry_after: self.pacer.penalize(retry_after) })
            }
            StatusCode::SERVICE_UNAVAILABLE => Err(CpapiError::Unavailable(what)),
            s => Err(CpapiError::Status {
                method: method.to_string(),
                path: path.to_string(),
                status: s.as_u16(),
                message,
            }),
        }
    }
}

/// The innermost error's text (reqwest's outer message hides the reason: refused, TLS, ...).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The `error` text of an answer, if it has one.
pub fn error_text(v: &Value) -> String {
    match v {
        Value::Object(m) => m.get("error").and_then(Value::as_str).unwrap_or_default().to_string(),
        Value::String(s) if s.len() < 300 => s.clone(),
        _ => String::new(),
    }
}

/// The SHA-256 of a DER certificate, as `IBKR_GATEWAY_CERT_SHA256` wants it.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
