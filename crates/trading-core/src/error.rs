//! Errors with a machine-readable code, so an agent can tell a refusal from a fault.

use serde::Serialize;

/// The error codes of the MCP envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The request itself is malformed; fix the parameters.
    Validation,
    /// A guard refused the order; the message names the rule and the setting.
    SafetyBlocked,
    /// The order needs a (new) confirmation token from `preview_order`.
    ConfirmationRequired,
    /// The venue session is gone; a human must log in again.
    SessionExpired,
    /// The order may or may not have reached the venue; reconcile before retrying.
    Indeterminate,
    /// The venue refused or failed.
    VenueError,
    /// The venue cannot do this at all.
    Unsupported,
    /// No such order, symbol or position.
    NotFound,
    /// Local state (journal, configuration) failed.
    Internal,
    /// The caller's OAuth token lacks the scope this tool needs.
    InsufficientScope,
    /// The order needs a person's approval and no approval channel can reach one.
    ApprovalRequired,
}

/// A failed tool call: what went wrong, whether retrying can help, and for guard refusals
/// which rule refused and which setting governs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct TradeError {
    pub code: ErrorCode,
    pub message: String,
    pub retryable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setting: Option<&'static str>,
    /// Every rule a refused order breaks, the most basic first (when more than one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
}

/// One broken guard rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub rule: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setting: Option<&'static str>,
    pub message: String,
}

impl TradeError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retryable: false, rule: None, setting: None, violations: vec![] }
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, message)
    }
    /// A guard refusal naming its rule and the setting that governs it.
    pub fn blocked(rule: &'static str, setting: Option<&'static str>, message: String) -> Self {
        Self {
            code: ErrorCode::SafetyBlocked,
            message,
            retryable: false,
            rule: Some(rule),
            setting,
            violations: vec![],
        }
    }

    /// One refusal for several: the first's code, rule and setting, its message followed by
    /// the others', and every one listed in `violations`. `None` when there are none.
    pub fn all_of(mut refusals: Vec<TradeError>) -> Option<TradeError> {
        if refusals.len() <= 1 {
            return refusals.pop();
        }
        let violations: Vec<Violation> = refusals
            .iter()
            .map(|e| Violation { rule: e.rule.unwrap_or("validation"), setting: e.setting, message: e.message.clone() })
            .collect();
        let mut first = refusals.remove(0);
        let also: Vec<String> = refusals.iter().map(|e| e.message.clone()).collect();
        first.message = format!("{} Also refused: {}", first.message, also.join(" "));
        first.violations = violations;
        Some(first)
    }
    pub fn with_setting(mut self, setting: &'static str) -> Self {
        self.setting = Some(setting);
        self
    }
    pub fn retryable(mut self) -> Self {
        self.retryable = true;
        self
    }
}

/// What a venue adapter reports when a call fails.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VenueError {
    #[error("{capability} is not supported by {venue}")]
    Unsupported { venue: String, capability: &'static str },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Rejected(String),
    #[error("{0}")]
    SessionExpired(String),
    #[error("{message}")]
    Transport { message: String, retryable: bool },
    /// The venue's answer to an order post was unclear (a 5xx, a timeout, a dropped
    /// connection, a garbled or empty acknowledgement): the order may have landed. The guarded
    /// broker looks it up by client order id; nothing is resent.
    #[error("{0}")]
    Unclear(String),
    /// The order may have landed and could not be found; never resend without reconciling.
    #[error("{0}")]
    Indeterminate(String),
    #[error("{0}")]
    InvalidRequest(String),
}

impl VenueError {
    /// Whether a failed order post may still have placed the order (then it is looked up by
    /// client order id, never resent).
    pub fn may_have_landed(&self) -> bool {
        matches!(self, VenueError::Unclear(_) | VenueError::Transport { .. } | VenueError::Indeterminate(_))
    }
}

impl From<VenueError> for TradeError {
    fn from(e: VenueError) -> Self {
        let msg = e.to_string();
        match e {
            VenueError::Unsupported { .. } => TradeError::new(ErrorCode::Unsupported, msg),
            VenueError::NotFound(_) => TradeError::new(ErrorCode::NotFound, msg),
            VenueError::Rejected(_) => TradeError::new(ErrorCode::VenueError, msg),
            VenueError::SessionExpired(_) => TradeError::new(ErrorCode::SessionExpired, msg),
            VenueError::Transport { retryable, .. } => {
                let e = TradeError::new(ErrorCode::VenueError, msg);
                if retryable { e.retryable() } else { e }
            }
            VenueError::Indeterminate(_) | VenueError::Unclear(_) => TradeError::new(ErrorCode::Indeterminate, msg),
            VenueError::InvalidRequest(_) => TradeError::new(ErrorCode::Validation, msg),
        }
    }
}
