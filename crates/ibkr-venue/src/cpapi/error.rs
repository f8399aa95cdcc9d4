//! What can go wrong talking to the gateway, typed so each case is handled on purpose.

use std::time::Duration;

use trading_core::error::VenueError;

/// A failed CPAPI call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CpapiError {
    /// 401, or a status that says `authenticated: false`.
    #[error("the IBKR session is not authenticated ({0})")]
    NotAuthenticated(String),
    /// The brokerage endpoints need `GET /iserver/accounts` first in each session.
    #[error("the gateway asks for /iserver/accounts first")]
    AccountsFirst,
    /// IBKR refused the order or request (often HTTP 200 with an `error` field).
    #[error("{0}")]
    Rejected(String),
    /// 503: the service is unavailable (on an order post the order may still have landed).
    #[error("the gateway answered 503 Service Unavailable on {0}")]
    Unavailable(String),
    /// 429, or we are inside a penalty box we were put in.
    #[error("IBKR rate limit: too many requests; retry in {}s", retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    /// Another HTTP status.
    #[error("CPAPI {method} {path} failed: HTTP {status}{}", if message.is_empty() { String::new() } else { format!(" ({message})") })]
    Status { method: String, path: String, status: u16, message: String },
    #[error("the gateway did not answer {0} in time")]
    Timeout(String),
    #[error("communication failure with the Client Portal Gateway at {0}. Is the gateway running and logged in?")]
    Transport(String),
    #[error("unexpected answer from the gateway: {0}")]
    Decode(String),
}

impl CpapiError {
    /// Whether the same request may succeed if sent again later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            CpapiError::RateLimited { .. }
                | CpapiError::Timeout(_)
                | CpapiError::Transport(_)
                | CpapiError::Unavailable(_)
        )
    }
}

/// The gateway's login page, where a human must log in again.
pub const LOGIN_HINT: &str = "Log in to the Client Portal Gateway in a browser on this machine (with 2FA), then retry.";

impl From<CpapiError> for VenueError {
    fn from(e: CpapiError) -> Self {
        match e {
            CpapiError::NotAuthenticated(_) => VenueError::SessionExpired(format!("{e}. {LOGIN_HINT}")),
            CpapiError::Rejected(m) => VenueError::Rejected(m),
            other => {
                let retryable = other.is_retryable();
                VenueError::Transport { message: other.to_string(), retryable }
            }
        }
    }
}
