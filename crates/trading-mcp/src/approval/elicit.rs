//! Approval by MCP form elicitation: the host asks the person inside the order tool's call.
//! Up to protocol 2025-11-25 the server sends `elicitation/create` while the call waits; from
//! 2026-07-28 (MRTR) the call answers `input_required` with the form and an opaque
//! `requestState`, and the client retries with the person's answer. One required choice
//! without a default; anything but an accepted "approve" is a rejection. The host, not the
//! model, answers; hosts may auto-answer, so this is consent brokered by the host (README
//! "Human approval").

use std::time::Duration;

use rmcp::{
    RoleServer,
    model::{
        CallToolResponse, ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
        EnumSchema, InputRequest, InputRequests, InputRequiredResult, ProtocolVersion,
    },
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

/// The key of the form in an `input_required` result.
const INPUT_KEY: &str = "approval";

fn form(a: &Approval) -> Result<ElicitRequestParams, TradeError> {
    Ok(ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: format!("{}\n\nApprove this order? Nothing is sent unless you choose approve.", super::summary(a)),
        requested_schema: schema()?,
    })
}

/// Whether this call's protocol forbids server-to-client requests (MRTR instead).
pub fn is_mrtr(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.protocol_version().is_some_and(|v| v >= ProtocolVersion::V_2026_07_28)
}

/// The order tool's answer on 2026-07-28: the form, and the approval's secret as the opaque
/// `requestState` (an unguessable handle, never the approval id the agent sees).
pub fn input_required(a: &Approval) -> Result<CallToolResponse, TradeError> {
    let mut requests = InputRequests::new();
    requests.insert(INPUT_KEY.into(), InputRequest::Elicitation(ElicitRequest::new(form(a)?)));
    Ok(CallToolResponse::InputRequired(InputRequiredResult::new(Some(requests), Some(a.secret.clone()))))
}

/// The retried call on 2026-07-28: the approval its `requestState` names (for the same
/// principal), decided with the person's answer. A missing, unknown or forged state sends
/// nothing; a replay sees the approval already decided.
pub async fn resume(
    desk: &ApprovalDesk,
    principal: &str,
    state: Option<&str>,
    responses: Option<&rmcp::model::InputResponses>,
    client: &str,
) -> Result<Approval, TradeError> {
    let refuse = |m: &str| TradeError::validation(format!("{m}; nothing was sent. Preview the order again."));
    let state = state.ok_or_else(|| refuse("inputResponses came without the requestState this server sent"))?;
    let a = desk
        .broker
        .approvals()
        .find_by_secret(state)
        .ok_or_else(|| refuse("requestState is unknown, expired or forged"))?;
    if a.principal != principal {
        return Err(refuse("requestState belongs to another caller"));
    }
    let decision = match responses.and_then(|r| r.get(INPUT_KEY)) {
        Some(v) => match serde_json::from_value::<ElicitResult>(v.clone()) {
            Ok(r) => decision_of(&r),
            Err(_) => Decision::Reject("the prompt's answer was not an elicitation result".into()),
        },
        None => Decision::Reject("the retry carried no answer to the approval prompt".into()),
    };
    desk.broker.decide(&a.id, decision, &format!("{client} prompt ({principal})"), None).await
}

/// Asks the person through the client and decides the approval with the answer; progress
/// is notified while the prompt is open (hosts abort silent calls).
pub async fn ask(desk: &ApprovalDesk, a: &Approval, ctx: &RequestContext<RoleServer>) -> Result<Approval, TradeError> {
    // The prompt closes just before the approval would expire: an unanswered prompt is a
    // rejection the person's client is told about, not a silent expiry.
    let left =
        (a.expires_at - desk.broker.now()).to_std().unwrap_or_default().saturating_sub(Duration::from_millis(500));
    let params = form(a)?;
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
