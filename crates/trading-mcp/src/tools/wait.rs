//! A bounded wait inside a tool call (wait_for_fill, wait_approval): at most 50 s, because
//! hosts cut long calls, with a progress note every few seconds, because hosts abort silent ones.

use std::time::Duration;

use rmcp::{RoleServer, model::ProgressNotificationParam, service::RequestContext};
use tokio::time::Instant;
use trading_core::error::TradeError;

use crate::server::{MAX_WAIT_SECONDS, PROGRESS_EVERY};

pub(crate) struct Wait {
    started: Instant,
    deadline: Instant,
    total: f64,
    next_note: Instant,
}

impl Wait {
    /// `timeout_seconds` as the caller gave it (default 30), checked.
    pub(crate) fn start(timeout_seconds: Option<f64>) -> Result<Wait, TradeError> {
        let total = timeout_seconds.unwrap_or(30.0);
        if !total.is_finite() || !(0.0..=MAX_WAIT_SECONDS).contains(&total) {
            return Err(TradeError::validation(format!(
                "timeout_seconds must be a number from 0 to {MAX_WAIT_SECONDS} (call again to wait longer)"
            )));
        }
        let started = Instant::now();
        Ok(Wait {
            started,
            deadline: started + Duration::from_secs_f64(total),
            total,
            next_note: started + PROGRESS_EVERY,
        })
    }

    pub(crate) fn over(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// How long to sleep before looking again: `most`, or what is left.
    pub(crate) fn nap(&self, most: Duration) -> Duration {
        most.min(self.deadline.saturating_duration_since(Instant::now()))
    }

    /// Notifies progress when the caller asked for it and a beat is due; `message` gets the
    /// seconds waited.
    pub(crate) async fn beat(&mut self, context: &RequestContext<RoleServer>, message: impl FnOnce(f64) -> String) {
        let now = Instant::now();
        let Some(token) = context.meta.get_progress_token() else { return };
        if now < self.next_note {
            return;
        }
        self.next_note = now + PROGRESS_EVERY;
        let waited = (now - self.started).as_secs_f64();
        let note =
            ProgressNotificationParam::new(token, waited.floor()).with_total(self.total).with_message(message(waited));
        let _ = context.peer.notify_progress(note).await;
    }
}
