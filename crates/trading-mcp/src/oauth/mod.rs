//! OAuth 2.1 for the HTTP transport: an authorization server and a resource server in one
//! process. RFC 8414 and RFC 9728 metadata, RFC 7591 registration, the authorization code
//! grant with PKCE S256 only, rotated refresh tokens, RFC 8707 resource checks, RFC 7009
//! revocation. The authorize step is gated by the owner's password and an explicit consent.

pub mod cli;
pub(crate) mod pages;
mod routes;
pub mod store;

use std::{
    collections::{HashMap, VecDeque},
    path::PathBuf,
    sync::{Mutex, OnceLock},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
pub use routes::router;
use sha2::{Digest, Sha256};
pub use store::Store;

/// The scopes a token can carry, and what they open.
pub const SCOPES: &[(&str, &str)] = &[
    ("read", "see quotes, the account, positions, orders and research"),
    ("trade:preview", "preview orders and what-ifs (issues confirmation tokens; nothing is sent)"),
    ("trade", "place, change and cancel orders"),
    ("admin", "revoke other clients' access"),
];

/// What a client gets when it asks for no scope.
pub const DEFAULT_SCOPE: &str = "read trade:preview trade";

/// The scope a tool needs.
pub fn scope_of(tool: &str) -> &'static str {
    match tool {
        "preview_order" | "what_if" => "trade:preview",
        t if crate::WRITE_TOOLS.contains(&t) => "trade",
        _ => "read",
    }
}

/// Who is calling over HTTP, and what they may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// An OAuth client id, "static-bearer" or "loopback".
    pub id: String,
    pub scopes: Vec<String>,
}

impl Caller {
    pub fn with_all_scopes(id: &str) -> Caller {
        Caller { id: id.into(), scopes: SCOPES.iter().map(|(s, _)| s.to_string()).collect() }
    }
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope) || (scope == "trade:preview" && self.has("trade"))
    }
    pub fn allows(&self, tool: &str) -> bool {
        self.has(scope_of(tool))
    }
}

/// Splits a scope string, refusing unknown scopes.
pub fn parse_scope(raw: Option<&str>) -> Result<Vec<String>, String> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(DEFAULT_SCOPE);
    let mut out: Vec<String> = vec![];
    for s in raw.split_whitespace() {
        if !SCOPES.iter().any(|(k, _)| *k == s) {
            return Err(format!(
                "unknown scope '{s}' (supported: {})",
                SCOPES.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            ));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    Ok(out)
}

/// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge, with a well-formed verifier.
pub fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed && same(URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())).as_bytes(), challenge.as_bytes())
}

/// Equal-time comparison (length is not secret here: both sides are fixed-size encodings).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why the server could not complete an OAuth step (its own fault, not the client's).
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The OS random source failed: no token is better than a guessable one.
    #[error("the OS random source failed: {0}")]
    Random(String),
}

/// A fresh random secret, 256 bits, URL-safe, with a readable prefix.
pub fn mint(prefix: &str) -> Result<String, Fault> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| Fault::Random(e.to_string()))?;
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(buf)))
}

/// The authorization server's settings: where clients and tokens are kept, the owner's
/// password digest, token lifetimes and whether the admin scope is offered.
#[derive(Clone)]
pub struct OAuthConfig {
    pub db_path: PathBuf,
    /// SHA-256 of LOGIN_PASSWORD (the password itself is not kept).
    pub password_sha256: [u8; 32],
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// `OAUTH_ADVERTISE_ADMIN`: offer the `admin` scope at all (off: never requested, never granted).
    pub advertise_admin: bool,
}

impl std::fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("db_path", &self.db_path)
            .field("password", &"<redacted>")
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("advertise_admin", &self.advertise_admin)
            .finish()
    }
}

/// Failed logins allowed per window before the login form answers 429.
const LOGIN_FAILURES: usize = 5;
const LOGIN_WINDOW_SECS: i64 = 300;
const OWNER_SESSION_SECS: i64 = 1800;
const CODE_TTL_SECS: i64 = 60;
/// Registrations are open (RFC 7591); this bounds how far a stranger can grow the database.
const MAX_CLIENTS: i64 = 500;

/// The running authorization and resource server.
#[derive(Debug)]
pub struct OAuth {
    cfg: OAuthConfig,
    store: Store,
    issuer: OnceLock<String>,
    /// Owner sessions after a login: hash of the cookie value → expiry.
    sessions: Mutex<HashMap<String, i64>>,
    failures: Mutex<VecDeque<i64>>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl OAuth {
    pub fn open(cfg: OAuthConfig) -> Result<OAuth, store::StoreError> {
        let store = Store::open(&cfg.db_path)?;
        let _ = store.sweep(now());
        Ok(OAuth { cfg, store, issuer: OnceLock::new(), sessions: Mutex::default(), failures: Mutex::default() })
    }

    /// Fixes the issuer once the listening address is known (PUBLIC_BASE_URL wins).
    pub fn set_issuer(&self, issuer: &str) {
        let _ = self.issuer.set(issuer.trim_end_matches('/').to_string());
    }

    pub fn issuer(&self) -> &str {
        self.issuer.get().map(String::as_str).unwrap_or("http://127.0.0.1")
    }

    /// The protected resource: the MCP endpoint's exact URL.
    pub fn resource(&self) -> String {
        format!("{}/mcp", self.issuer())
    }

    pub fn resource_metadata_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource/mcp", self.issuer())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The scopes this server offers: `admin` only with `OAUTH_ADVERTISE_ADMIN=true`.
    pub fn scopes_supported(&self) -> Vec<&'static str> {
        SCOPES.iter().map(|(s, _)| *s).filter(|s| *s != "admin" || self.cfg.advertise_admin).collect()
    }

    /// A requested scope string as granted-to-be: unknown scopes refused, `admin` dropped
    /// unless offered (RFC 6749 §3.3 lets the server grant less than asked).
    fn requested_scopes(&self, raw: Option<&str>) -> Result<Vec<String>, String> {
        let mut s = parse_scope(raw)?;
        s.retain(|x| x != "admin" || self.cfg.advertise_admin);
        if s.is_empty() {
            return parse_scope(None);
        }
        Ok(s)
    }

    /// The caller an access token stands for, or why it does not.
    pub fn authenticate(&self, token: &str) -> Result<Caller, &'static str> {
        let row = match self.store.token(token) {
            Ok(Some(r)) => r,
            Ok(None) => return Err("unknown token"),
            Err(e) => {
                tracing::error!("token lookup failed: {e}");
                return Err("token store unavailable");
            }
        };
        if row.kind != "access" {
            return Err("not an access token");
        }
        if row.revoked {
            return Err("token revoked");
        }
        if row.expires_at <= now() {
            return Err("token expired");
        }
        if row.resource != self.resource() {
            return Err("token issued for another resource");
        }
        if !matches!(self.store.client(&row.client_id), Ok(Some(_))) {
            return Err("client revoked");
        }
        Ok(Caller { id: row.client_id, scopes: row.scope.split_whitespace().map(str::to_string).collect() })
    }

    fn password_ok(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        same(&digest, &self.cfg.password_sha256)
    }

    /// Seconds to wait before another login attempt, when too many failed recently.
    fn login_blocked_for(&self, at: i64) -> Option<i64> {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        while f.front().is_some_and(|t| at - t > LOGIN_WINDOW_SECS) {
            f.pop_front();
        }
        (f.len() >= LOGIN_FAILURES)
            .then(|| f.front().map_or(LOGIN_WINDOW_SECS, |t| LOGIN_WINDOW_SECS - (at - t)).max(1))
    }

    fn note_failure(&self, at: i64) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).push_back(at);
    }

    fn new_session(&self, at: i64) -> Result<String, Fault> {
        let token = mint("tgs_")?;
        let mut s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        s.retain(|_, exp| *exp > at);
        s.insert(store::hash(&token), at + OWNER_SESSION_SECS);
        Ok(token)
    }

    /// Whether these request headers carry the owner's logged-in session.
    pub fn owner_session(&self, headers: &axum::http::HeaderMap) -> bool {
        self.session_valid(routes::cookie(headers, routes::SESSION_COOKIE).as_deref(), now())
    }

    fn session_valid(&self, cookie: Option<&str>, at: i64) -> bool {
        let Some(c) = cookie else { return false };
        self.sessions.lock().unwrap_or_else(|p| p.into_inner()).get(&store::hash(c)).is_some_and(|exp| *exp > at)
    }

    /// Issues an access and a refresh token for a grant.
    fn issue(&self, client_id: &str, scope: &str, resource: &str, family: &str) -> Result<serde_json::Value, Fault> {
        let at = now();
        let access = mint("tga_")?;
        let refresh = mint("tgr_")?;
        let access_ttl = i64::try_from(self.cfg.access_ttl.as_secs()).unwrap_or(3600);
        let refresh_ttl = i64::try_from(self.cfg.refresh_ttl.as_secs()).unwrap_or(30 * 86_400);
        self.store.add_token(&access, "access", client_id, scope, resource, at + access_ttl, family, at)?;
        self.store.add_token(&refresh, "refresh", client_id, scope, resource, at + refresh_ttl, family, at)?;
        Ok(serde_json::json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": access_ttl,
            "refresh_token": refresh,
            "scope": scope,
        }))
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
