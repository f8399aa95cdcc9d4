//! Approval by MCP form elicitation: the host asks the person inside the order tool's call
//! (protocol 2025-06-18 and 2025-11-25: a server-to-client `elicitation/create`). One required
//! choice without a default; anything but an accepted "approve" is a rejection. The host, not
//! the model, answers; hosts may auto-answer, so this is consent brokered by the host (README
//! "Human approval").

use std::time::Duration;

use rmcp::{
    RoleServer,
    model::{ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema, EnumSchema},
    service::RequestContext,
};
use trading_core::{approval::Approval, broker::Decision, error::TradeError};

use super::ApprovalDesk;
use crate::server::PROGRESS_EVERY;

/// Whether the client making this call declared form elicitation (per request on newer
/// protocols, else the handshake). An empty capability means form.
pub fn client_elicits(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.client_capabilities().and_then(|c| c.elicitation).is_some_and(|e| e.form.is_some() || e.url.is_none())
}

fn schema() -> Result<ElicitationSchema, TradeError> {
    ElicitationSchema::builder()
        .required_enum_schema(
            "decision",
            EnumSchema::builder(vec!["approve".into(), "reject".into()]).title("Send this order?").build(),
        )
        .build()
        .map_err(|e| TradeError::new(trading_core::error::ErrorCode::Internal, format!("approval form: {e}")))
}

/// The person's answer, as a decision (with why, for a rejection).
pub fn decision_of(r: &ElicitResult) -> Decision {
    match r.action {
        ElicitationAction::Accept => {
            match r.content.as_ref().and_then(|c| c.get("decision")).and_then(|d| d.as_str()) {
                Some("approve") => Decision::Approve,
                Some("reject") => Decision::Reject("rejected in the client's prompt".into()),
                _ => {
                    Decision::Reject("the prompt's answer was not a choice of approve (treated as a rejection)".into())
                }
            }
        }
        ElicitationAction::Decline => Decision::Reject("declined in the client's prompt".into()),
        ElicitationAction::Cancel => Decision::Reject("the client's prompt was cancelled".into()),
        _ => Decision::Reject("the client's prompt ended without a choice".into()),
    }
}

/// Asks the person through the client and decides the approval with the answer; progress
/// is notified while the prompt is open (hosts abort silent calls).
pub async fn ask(desk: &ApprovalDesk, a: &Approval, ctx: &RequestContext<RoleServer>) -> Result<Approval, TradeError> {
    let left = (a.expires_at - desk.broker.now()).to_std().unwrap_or(Duration::from_secs(1));
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: format!("{}\n\nApprove this order? Nothing is sent unless you choose approve.", super::summary(a)),
        requested_schema: schema()?,
    };
    let client = ctx.client_info().map(|c| c.name).unwrap_or_else(|| "the client".into());
    let prompt = ctx.peer.create_elicitation_with_timeout(params, Some(left));
    tokio::pin!(prompt);
    let progress = ctx.meta.get_progress_token();
    let started = tokio::time::Instant::now();
    let answer = loop {
        tokio::select! {
            r = &mut prompt => break r,
            _ = tokio::time::sleep(PROGRESS_EVERY) => {
                if let Some(token) = &progress {
                    let waited = started.elapsed().as_secs_f64().floor();
                    let note = rmcp::model::ProgressNotificationParam::new(token.clone(), waited)
                        .with_message(format!("waiting for your approval (fingerprint {})", a.fingerprint));
                    let _ = ctx.peer.notify_progress(note).await;
                }
            }
        }
    };
    let decision = match answer {
        Ok(r) => decision_of(&r),
        Err(e) => {
            tracing::info!(approval = %a.id, "the approval prompt ended without an answer: {e}");
            Decision::Reject(format!("no answer from the client's prompt ({e})"))
        }
    };
    desk.broker.decide(&a.id, decision, &format!("{client} prompt ({})", a.principal), None).await
}
