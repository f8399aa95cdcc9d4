//! Waiting for a person's approval: wait for it, withdraw it, list what waits. No tool can
//! approve: only a person, through a channel the agent cannot answer.

use std::time::Duration;

use rmcp::{
    RoleServer, handler::server::wrapper::Parameters, model::CallToolResult, service::RequestContext, tool, tool_router,
};
use serde_json::json;
use trading_core::{approval::ApprovalState, error::TradeError};

use crate::{
    TradingServer,
    approval::view,
    envelope::{fail, ok},
    params::{ApprovalIdParams, WaitApprovalParams},
    server::{MAX_WAIT_SECONDS, PROGRESS_EVERY},
};

#[tool_router(router = approval_router, vis = "pub(crate)")]
impl TradingServer {
    /// Wait until a person approves (then the server places the order itself and this
    /// returns it), rejects, or the approval expires or is blocked; at most 50 s per call
    /// (call again to keep waiting). Progress is notified every few seconds.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false))]
    async fn wait_approval(
        &self,
        Parameters(p): Parameters<WaitApprovalParams>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let timeout = p.timeout_seconds.unwrap_or(30.0);
        if !timeout.is_finite() || !(0.0..=MAX_WAIT_SECONDS).contains(&timeout) {
            return fail(TradeError::validation(format!(
                "timeout_seconds must be a number from 0 to {MAX_WAIT_SECONDS} (call again to wait longer)"
            )));
        }
        let store = self.broker.approvals().clone();
        let started = tokio::time::Instant::now();
        let deadline = started + Duration::from_secs_f64(timeout);
        let progress = context.meta.get_progress_token();
        let mut next_note = started + PROGRESS_EVERY;
        loop {
            let changed = store.next_change();
            self.broker.expire_approvals();
            let Some(a) = store.get(&p.approval_id) else {
                return fail(TradeError::new(
                    trading_core::error::ErrorCode::NotFound,
                    format!(
                        "no approval '{}' (approvals do not survive a restart; see pending_approvals)",
                        p.approval_id
                    ),
                ));
            };
            let now = tokio::time::Instant::now();
            let waiting = matches!(a.state, ApprovalState::Pending | ApprovalState::Approved);
            if !waiting || now >= deadline {
                let mut v = view(&a);
                v["timed_out"] = json!(waiting);
                return ok(v);
            }
            if let Some(token) = &progress
                && now >= next_note
            {
                next_note = now + PROGRESS_EVERY;
                let waited = (now - started).as_secs_f64();
                let note = rmcp::model::ProgressNotificationParam::new(token.clone(), waited.floor())
                    .with_total(timeout)
                    .with_message(format!("waiting for the person's approval (fingerprint {})", a.fingerprint));
                let _ = context.peer.notify_progress(note).await;
            }
            // Woken by any change; the second bound catches expiry and the progress beat.
            let nap = Duration::from_secs(1).min(deadline - now);
            let _ = tokio::time::timeout(nap, changed).await;
        }
    }

    /// Withdraw an approval request that is still pending; nothing is sent.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn cancel_approval(&self, Parameters(p): Parameters<ApprovalIdParams>) -> CallToolResult {
        match self.broker.cancel_approval(&p.approval_id) {
            Ok(a) => ok(view(&a)),
            Err(e) => fail(e),
        }
    }

    /// Approvals waiting for a person (and any being placed), oldest first.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false))]
    async fn pending_approvals(&self) -> CallToolResult {
        self.broker.expire_approvals();
        let list: Vec<_> = self.broker.approvals().pending().iter().map(view).collect();
        ok(json!({ "approvals": list, "approval_mode": self.approval_mode() }))
    }
}
