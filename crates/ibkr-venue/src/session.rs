//! The session keeper: knows whether the brokerage session is up, keeps it alive with
//! `/tickle`, recovers an idle timeout with `ssodh/init`, never fights a competing login, and
//! alerts a human when only a new browser login will do.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::cpapi::{CpapiError, GatewayHttp, error::LOGIN_HINT};

/// What the gateway's brokerage session is doing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "detail", rename_all = "snake_case")]
pub enum SessionState {
    /// Not checked yet.
    Unknown,
    Authenticated,
    /// Logged in, brokerage session closed (idle timeout): `ssodh/init` can reopen it.
    ConnectedNotAuthenticated,
    /// Another login took the brokerage session. Reported, never fought.
    Competing,
    /// No session at all, or the gateway is unreachable: a human must log in.
    Down(String),
}

/// Where and how to send re-login alerts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookFormat {
    Slack,
    Discord,
    Ntfy,
    Json,
}

impl std::str::FromStr for WebhookFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "slack" => Ok(Self::Slack),
            "discord" => Ok(Self::Discord),
            "ntfy" => Ok(Self::Ntfy),
            "json" => Ok(Self::Json),
            other => Err(format!("'{other}' is not slack, discord, ntfy or json")),
        }
    }
}

/// Alerts when a human must log in again: a log line always, a webhook when configured.
/// The first drop alerts at once; while it stays down, a reminder every `realert_every`
/// cycles; recovery is logged.
#[derive(Debug)]
pub struct Alerter {
    webhook: Option<(String, WebhookFormat)>,
    client: reqwest::Client,
    realert_every: u32,
    down_cycles: Mutex<Option<u32>>,
}

impl Alerter {
    pub fn new(webhook: Option<(String, WebhookFormat)>, realert_every: u32) -> Self {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap_or_default();
        Self { webhook, client, realert_every: realert_every.max(1), down_cycles: Mutex::new(None) }
    }

    /// The webhook body for a message, shaped for the target.
    pub fn body(format: &WebhookFormat, message: &str) -> (Option<&'static str>, String) {
        match format {
            WebhookFormat::Slack => (Some("application/json"), json!({ "text": message }).to_string()),
            WebhookFormat::Discord => (Some("application/json"), json!({ "content": message }).to_string()),
            WebhookFormat::Ntfy => (None, message.to_string()),
            WebhookFormat::Json => (
                Some("application/json"),
                json!({ "event": "ibkr_reauthentication_required", "venue": "IBKR", "message": message, "time": chrono::Utc::now().to_rfc3339() })
                    .to_string(),
            ),
        }
    }

    /// A down cycle: alerts now if it is the first, or a reminder is due. Returns whether it alerted.
    pub async fn down(&self, reason: &str) -> bool {
        let due = {
            let mut c = self.down_cycles.lock().unwrap_or_else(|p| p.into_inner());
            let n = c.map_or(0, |n| n + 1);
            *c = Some(n);
            n.is_multiple_of(self.realert_every)
        };
        if !due {
            return false;
        }
        let message = format!("tradegate: IBKR reauthentication required — {reason}. {LOGIN_HINT}");
        tracing::warn!("[ALERT] Reauthentication required: {reason}");
        if let Some((url, format)) = &self.webhook {
            let (ctype, body) = Self::body(format, &message);
            let mut req = self.client.post(url).body(body);
            if let Some(c) = ctype {
                req = req.header(reqwest::header::CONTENT_TYPE, c);
            }
            if *format == WebhookFormat::Ntfy {
                req = req.header("Title", "tradegate: IBKR login needed");
            }
            // The URL can carry a secret token: never log it.
            if let Err(e) = req.send().await.and_then(|r| r.error_for_status()) {
                tracing::warn!("reauthentication webhook failed: {}", e.without_url());
            }
        }
        true
    }

    /// The session is back.
    pub fn up(&self) {
        if self.down_cycles.lock().unwrap_or_else(|p| p.into_inner()).take().is_some() {
            tracing::info!("Session re-established.");
        }
    }
}

/// Keeps the gateway session and knows its state.
#[derive(Debug)]
pub struct SessionKeeper {
    http: Arc<GatewayHttp>,
    state: Mutex<(SessionState, Option<Instant>)>,
    alerter: Alerter,
}

/// How often, and how far apart, the status is re-read after `ssodh/init`.
const RECOVER_CHECKS: u32 = 4;
const RECOVER_CHECK_SPACING: Duration = Duration::from_millis(500);

fn parse_auth(v: &Value) -> SessionState {
    let auth = v["authenticated"].as_bool().unwrap_or(false);
    let connected = v["connected"].as_bool().unwrap_or(false);
    let competing = v["competing"].as_bool().unwrap_or(false);
    match (auth, competing, connected) {
        (true, false, _) => SessionState::Authenticated,
        (_, true, _) => SessionState::Competing,
        (false, false, true) => SessionState::ConnectedNotAuthenticated,
        (false, false, false) => SessionState::Down(format!("gateway not connected{}", fail_text(v))),
    }
}

fn fail_text(v: &Value) -> String {
    match v["fail"].as_str().or(v["message"].as_str()).filter(|s| !s.is_empty()) {
        Some(s) => format!(" ({s})"),
        None => String::new(),
    }
}

impl SessionKeeper {
    pub fn new(http: Arc<GatewayHttp>, alerter: Alerter) -> Self {
        Self { http, state: Mutex::new((SessionState::Unknown, None)), alerter }
    }

    pub fn state(&self) -> SessionState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).0.clone()
    }

    fn set(&self, s: SessionState) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = (s, Some(Instant::now()));
    }

    /// Records what a call just learned (a 401 means the session is gone).
    pub fn observe_error(&self, e: &CpapiError) {
        if matches!(e, CpapiError::NotAuthenticated(_)) {
            self.set(SessionState::ConnectedNotAuthenticated);
        }
    }

    /// `POST /iserver/auth/status`.
    pub async fn status(&self) -> Result<(SessionState, Value), CpapiError> {
        match self.http.post("/iserver/auth/status", &json!({})).await {
            Ok(v) => {
                let s = parse_auth(&v);
                self.set(s.clone());
                Ok((s, v))
            }
            Err(e @ CpapiError::NotAuthenticated(_)) => {
                self.set(SessionState::Down("no gateway session (HTTP 401)".into()));
                Err(e)
            }
            Err(e) => {
                if matches!(e, CpapiError::Transport(_) | CpapiError::Timeout(_)) {
                    self.set(SessionState::Down(e.to_string()));
                }
                Err(e)
            }
        }
    }

    /// Reopens a timed-out brokerage session: `ssodh/init` (never competing), then the
    /// mandatory `/iserver/accounts`.
    pub async fn recover(&self) -> Result<(), CpapiError> {
        let v = self.http.post("/iserver/auth/ssodh/init", &json!({ "publish": true, "compete": false })).await?;
        if v["authenticated"].as_bool() == Some(false) && v["competing"].as_bool() == Some(true) {
            self.set(SessionState::Competing);
            return Err(CpapiError::NotAuthenticated("another login holds the brokerage session (competing)".into()));
        }
        self.http.get("/iserver/accounts", &[]).await?;
        // ssodh/init can answer before the brokerage session is usable (REC-C-RAW shows
        // established:false right after it; code-rabi PR #43 polls): re-read the status.
        for attempt in 0..RECOVER_CHECKS {
            if attempt > 0 {
                tokio::time::sleep(RECOVER_CHECK_SPACING).await;
            }
            if self.status().await?.0 == SessionState::Authenticated {
                return Ok(());
            }
        }
        Err(CpapiError::NotAuthenticated(
            "ssodh/init answered but IBKR's auth status never turned authenticated; log in again".into(),
        ))
    }

    /// Fails fast when the session is known to need a human, so reads do not hang.
    pub fn ensure_usable(&self) -> Result<(), CpapiError> {
        match self.state() {
            SessionState::Down(why) => Err(CpapiError::NotAuthenticated(format!("{why}; log in at {}", self.http.login_url()))),
            SessionState::Competing => Err(CpapiError::NotAuthenticated(
                "another login (TWS, IBKR Mobile or a browser) holds the brokerage session; tradegate does not take it back".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Checks the session and recovers it if it only timed out. Used before retrying a call
    /// that answered 401.
    pub async fn try_restore(&self) -> Result<(), CpapiError> {
        match self.status().await?.0 {
            SessionState::Authenticated => Ok(()),
            SessionState::ConnectedNotAuthenticated => self.recover().await,
            other => Err(CpapiError::NotAuthenticated(format!("{other:?}"))),
        }
    }

    /// One keeper cycle: tickle when up, recover an idle timeout, report everything else.
    pub async fn cycle(&self) -> SessionState {
        let state = match self.status().await {
            Ok((SessionState::Authenticated, _)) => match self.http.post("/tickle", &json!({})).await {
                Ok(_) => SessionState::Authenticated,
                Err(e) => SessionState::Down(format!("tickle failed: {e}")),
            },
            Ok((SessionState::ConnectedNotAuthenticated, _)) => match self.recover().await {
                Ok(()) => SessionState::Authenticated,
                Err(e) => SessionState::Down(format!("session dropped and could not be reopened: {e}")),
            },
            Ok((s, _)) => s,
            Err(e) => SessionState::Down(format!("failed to query status: {e}")),
        };
        match &state {
            SessionState::Authenticated => self.alerter.up(),
            SessionState::Competing => {
                self.alerter
                    .down("another login took the brokerage session (competing); tradegate will not fight it")
                    .await;
            }
            SessionState::Down(why) => {
                self.alerter.down(why).await;
            }
            _ => {}
        }
        self.set(state.clone());
        state
    }

    /// Runs cycles every `interval` until the task is dropped.
    pub fn spawn(self: Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                self.cycle().await;
            }
        })
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
