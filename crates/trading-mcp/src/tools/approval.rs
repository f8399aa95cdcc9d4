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
    tools::wait::Wait,
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
        let mut wait = match Wait::start(p.timeout_seconds) {
            Ok(w) => w,
            Err(e) => return fail(e),
        };
        let store = self.broker.approvals().clone();
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
            let waiting = matches!(a.state, ApprovalState::Pending | ApprovalState::Approved);
            if !waiting || wait.over() {
                let mut v = view(&a);
                v["timed_out"] = json!(waiting);
                return ok(v);
            }
            wait.beat(&context, |_| format!("waiting for the person's approval (fingerprint {})", a.fingerprint)).await;
            // Woken by any change; the bound catches expiry and the progress beat.
            let _ = tokio::time::timeout(wait.nap(Duration::from_secs(1)), changed).await;
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
