//! The MCP handler: one struct whose tool router is composed from routers per concern
//! (`tools/`), the venue's own tools and the toolsets the user picked, with the argument
//! checks, the scope gate and the audit of HTTP calls in front of every call.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use rmcp::{
    RoleServer, ServerHandler,
    handler::server::{router::tool::ToolRouter, tool::ToolCallContext},
    model::{CallToolResponse, CallToolResult, Implementation, ServerCapabilities, ServerConfig},
    service::RequestContext,
    tool_handler,
};
use serde_json::json;
use trading_core::{
    approval::{Approval, Channel},
    broker::{Asker, GuardedBroker, Submitted},
    error::{ErrorCode, TradeError},
    journal::{JournalRecord, RecordKind},
    order::{OrderIntent, OrderResult},
};

use crate::{
    analytics,
    approval::ApprovalDesk,
    envelope::{fail, ok},
    equity::EquityStore,
    oauth::Caller,
    settings::Toolset,
};

/// Tools that change anything at the venue or in the journal; none is registered read-only.
pub const WRITE_TOOLS: &[&str] = &[
    "preview_order",
    "buy",
    "sell",
    "close_position",
    "stop_order",
    "trailing_stop",
    "bracket_order",
    "modify_order",
    "cancel_order",
    "reconcile_pending",
    "wait_approval",
    "cancel_approval",
    "pending_approvals",
];

/// The tools that may hold an order for a person's approval.
const ORDER_TOOLS: &[&str] =
    &["buy", "sell", "close_position", "stop_order", "trailing_stop", "bracket_order", "modify_order"];

/// The longest wait_for_fill call: claude.ai cuts a tool call at about 60 s.
pub(crate) const MAX_WAIT_SECONDS: f64 = 50.0;
/// trade_history's default page: a few KB, well under what a chat keeps in view.
pub(crate) const HISTORY_PAGE: usize = 10;
/// How often a waiting call reports progress.
pub(crate) const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Server settings that are not guard policy.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// The MCP server name (e.g. "ibkr-mcp").
    pub name: String,
    /// What session_status reports as the backend ("sim", "gateway", "binance").
    pub backend: String,
    pub read_only: bool,
    /// The groups of tools offered (TOOLSETS); session_status and market_status always are.
    pub toolsets: BTreeSet<Toolset>,
    /// The server's instructions to the model, in the venue's words.
    pub instructions: &'static str,
    /// How often wait_for_fill polls.
    pub poll_interval: Duration,
    /// Where `drawdown_tracker` reads (and a background task writes) equity history.
    pub equity: Option<Arc<EquityStore>>,
    /// The approval channels' settings (the mode itself is guard policy).
    pub approval: crate::approval::ApprovalSettings,
}

impl ServerSettings {
    /// An in-process server on the simulator (tests, benchmarks, embedding): every toolset,
    /// not read-only, polling every 10 ms, no equity store, no approval channel.
    pub fn in_process(name: &str) -> ServerSettings {
        ServerSettings {
            name: name.into(),
            backend: "sim".into(),
            read_only: false,
            toolsets: Toolset::ALL.into(),
            instructions: "An in-process tradegate server.",
            poll_interval: Duration::from_millis(10),
            equity: None,
            approval: crate::approval::ApprovalSettings::none(),
        }
    }
}

/// The MCP handler: state plus the tool router.
#[derive(Clone)]
pub struct TradingServer {
    pub(crate) broker: Arc<GuardedBroker>,
    pub(crate) settings: Arc<ServerSettings>,
    pub(crate) desk: Arc<ApprovalDesk>,
    tool_router: ToolRouter<Self>,
    /// Each tool's input schema, which every call's arguments are checked against first.
    schemas: Arc<std::collections::HashMap<String, Arc<rmcp::model::JsonObject>>>,
}

impl std::fmt::Debug for TradingServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TradingServer").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// Says which holdings a statistic left out (other currencies, options without a delta) and
/// which options it counted by their delta, when any.
pub(crate) fn with_not_counted(mut v: serde_json::Value, b: &analytics::Book) -> serde_json::Value {
    if !b.not_counted.is_empty() {
        v["not_counted"] = json!(b.not_counted);
    }
    if !b.by_delta.is_empty() {
        v["options_counted_by_delta"] = json!(b.by_delta);
    }
    v
}

impl TradingServer {
    /// Today's P&L for the account views: the venue's figure, or why there is none.
    pub(crate) async fn daily_pnl(&self) -> crate::outputs::PnlAnswer {
        match self.broker.venue().daily_pnl().await {
            Ok(p) => crate::outputs::PnlAnswer::Pnl(p),
            Err(e) => crate::outputs::PnlAnswer::Unavailable { unavailable: e.to_string() },
        }
    }
}

pub(crate) fn results(r: Result<Vec<OrderResult>, TradeError>) -> CallToolResult {
    match r {
        Ok(mut v) if v.len() == 1 => ok(v.remove(0)),
        Ok(v) => ok(v),
        Err(e) => fail(e),
    }
}

impl TradingServer {
    /// The tool server over `broker`: the shared routers of the toolsets `settings` selects.
    pub fn new(broker: Arc<GuardedBroker>, settings: ServerSettings) -> Self {
        Self::with_venue_tools(broker, settings, vec![])
    }

    /// As [`TradingServer::new`], plus tools only this venue serves, each in its toolset.
    pub fn with_venue_tools(
        broker: Arc<GuardedBroker>,
        settings: ServerSettings,
        venue_tools: Vec<(Toolset, ToolRouter<Self>)>,
    ) -> Self {
        let shared = [
            (Toolset::Trading, Self::trading_router()),
            (Toolset::Trading, Self::approval_router()),
            (Toolset::Account, Self::account_router()),
            (Toolset::Research, Self::research_router()),
            (Toolset::Analytics, Self::analytics_router()),
        ];
        let mut tool_router = Self::session_router();
        for (set, router) in shared.into_iter().chain(venue_tools) {
            if settings.toolsets.contains(&set) {
                tool_router += router;
            }
        }
        if settings.read_only {
            for name in WRITE_TOOLS {
                tool_router.remove_route(name);
            }
        }
        crate::outputs::describe(&mut tool_router);
        let schemas =
            tool_router.list_all().into_iter().map(|t| (t.name.to_string(), t.input_schema.clone())).collect();
        let desk = ApprovalDesk::new(broker.clone(), settings.approval.clone());
        Self { broker, settings: Arc::new(settings), desk, tool_router, schemas: Arc::new(schemas) }
    }

    /// The approval channels (the page is served from them).
    pub fn desk(&self) -> &Arc<ApprovalDesk> {
        &self.desk
    }

    /// The guarded broker the tools work through (venue tools use it too).
    pub fn broker(&self) -> &Arc<GuardedBroker> {
        &self.broker
    }

    pub(crate) async fn place(
        &self,
        intent: Result<OrderIntent, TradeError>,
        token: Option<&str>,
        context: &RequestContext<RoleServer>,
    ) -> CallToolResponse {
        match intent {
            Ok(i) => self.settle(self.broker.submit_as(i, token, &self.asker(context)).await, context).await,
            Err(e) => fail(e).into(),
        }
    }

    /// Who asks, and which approval channels can reach a person for this call. Elicitation
    /// needs a server-to-client request, which the stateless HTTP transport cannot carry.
    pub(crate) fn asker(&self, context: &RequestContext<RoleServer>) -> Asker {
        let caller = caller_of(context);
        let elicits = caller.is_none() && crate::approval::elicit::client_elicits(context);
        Asker { principal: caller.map(|c| c.id).unwrap_or_else(|| "local".into()), reach: self.desk.reach(elicits) }
    }

    /// An order tool's answer: the orders sent, or the approval it waits for (asked in the
    /// call when the client elicits, else announced on the page or the phone).
    pub(crate) async fn settle(
        &self,
        submitted: Result<Submitted, TradeError>,
        context: &RequestContext<RoleServer>,
    ) -> CallToolResponse {
        match submitted {
            Ok(Submitted::Sent(v)) => results(Ok(v)).into(),
            Ok(Submitted::Pending(a)) => self.pending(*a, context).await,
            Err(e) => fail(e).into(),
        }
    }

    /// An approval just asked for: the form in the call (or, on 2026-07-28, returned for the
    /// client to ask and retry), else announced on the page or the phone.
    pub(crate) async fn pending(&self, a: Approval, context: &RequestContext<RoleServer>) -> CallToolResponse {
        use crate::approval::elicit;
        if a.channel != Channel::Elicit {
            self.desk.announce(&a).await;
            let mut v = crate::approval::view(&a);
            if let (Channel::Web, Some(console)) = (a.channel, self.desk.console_approvals()) {
                v["approve_at"] = json!(console);
            }
            return ok(v).into();
        }
        if elicit::is_mrtr(context) {
            return elicit::input_required(&a).unwrap_or_else(|e| fail(e).into());
        }
        match elicit::ask(&self.desk, &a, context).await {
            Ok(done) => ok(crate::approval::view(&done)).into(),
            Err(e) => fail(e).into(),
        }
    }

    /// The approval mode in force and where the page is, for session_status and briefing.
    pub(crate) fn approval_mode(&self) -> serde_json::Value {
        let p = self.broker.policy();
        json!({
            "mode": p.approval.effective(p.mode).as_str(),
            "setting": p.approval.key,
            "live_channel": p.approval.live_channel,
            "ttl_seconds": p.approval.ttl_secs,
            "page": self.desk.page_address(),
            "console": self.desk.page_address().map(|o| format!("{o}/console")),
            "push": self.settings.approval.push.as_ref().map(|p| match p {
                crate::approval::push::PushConfig::Ntfy { .. } => "ntfy",
                crate::approval::push::PushConfig::Telegram { .. } => "telegram",
            }),
        })
    }
}

/// Serves tools a venue's server defines on its own handler (`T`, e.g. IBKR's scanners) as
/// routes of the tool server, so they pass the same argument checks, scope gate and audit.
pub fn adopt<T: Send + Sync + 'static>(tools: Arc<T>, router: ToolRouter<T>) -> ToolRouter<TradingServer> {
    let mut out = ToolRouter::new();
    for tool in router.list_all() {
        let (tools, router) = (tools.clone(), router.clone());
        out.add_route(rmcp::handler::server::router::tool::ToolRoute::new_dyn(
            tool,
            move |ctx: ToolCallContext<'_, TradingServer>| {
                let (tools, router) = (tools.clone(), router.clone());
                Box::pin(async move {
                    let mut params = rmcp::model::CallToolRequestParams::new(ctx.name);
                    params.arguments = ctx.arguments;
                    params.input_responses = ctx.input_responses;
                    params.request_state = ctx.request_state;
                    router.call(ToolCallContext::new(&*tools, params, ctx.request_context)).await
                })
            },
        ));
    }
    out
}

/// The HTTP caller of a request (none over stdio).
fn caller_of(context: &RequestContext<RoleServer>) -> Option<Caller> {
    context.extensions.get::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<Caller>()).cloned()
}

impl TradingServer {
    /// Journals an HTTP tool call with its caller (the audit trail of remote access).
    /// The refusal of a call to `tool` that `caller`'s grant does not cover (journaled), or
    /// `None` when the grant covers it or there is no such tool. The HTTP transport answers
    /// it as a 403 step-up challenge; this in-band answer is the second line.
    pub fn out_of_scope(&self, caller: &Caller, tool: &str) -> Option<CallToolResult> {
        if caller.allows(tool) || !self.tool_router.has_route(tool) {
            return None;
        }
        let need = crate::oauth::scope_of(tool);
        let refusal = fail(TradeError::new(
            ErrorCode::InsufficientScope,
            format!(
                "{tool} needs the '{need}' scope; this connection was granted '{}'. Reconnect and approve '{need}' to use it.",
                caller.scopes.join(" ")
            ),
        ));
        self.journal_call(caller, tool, &refusal);
        Some(refusal)
    }

    fn journal_call(&self, caller: &Caller, tool: &str, result: &CallToolResult) {
        let body = result.structured_content.as_ref();
        let error = body.and_then(|b| b.get("error"));
        let data = body.and_then(|b| b.get("data"));
        let order = data.and_then(|d| if d.is_array() { d.get(0) } else { Some(d) });
        let field = |k: &str| order.and_then(|o| o.get(k)).and_then(|v| v.as_str()).map(str::to_string);
        let journal = self.broker.journal();
        let rec = JournalRecord {
            timestamp: journal.timestamp(self.broker.now()),
            kind: RecordKind::Call,
            venue: self.broker.venue().name(),
            tool: Some(tool.to_string()),
            caller: Some(caller.id.clone()),
            status: match error {
                Some(e) => e.get("code").and_then(|c| c.as_str()).unwrap_or("error").to_ascii_lowercase(),
                None => "ok".into(),
            },
            order_id: field("order_id"),
            client_order_id: field("client_order_id"),
            message: error.and_then(|e| e.get("message")).and_then(|m| m.as_str()).map(str::to_string),
            ..Default::default()
        };
        if let Err(e) = journal.append_audit(rec) {
            tracing::warn!("the journal could not record a call to {tool} by {}: {e}", caller.id);
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for TradingServer {
    async fn list_tools(
        &self,
        _request: Option<rmcp::model::PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListToolsResult, rmcp::ErrorData> {
        let caller = caller_of(&context);
        let tools = self
            .tool_router
            .list_all()
            .into_iter()
            .filter(|t| caller.as_ref().is_none_or(|c| c.allows(&t.name)))
            .collect();
        Ok(rmcp::model::ListToolsResult { tools, ..Default::default() })
    }

    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, rmcp::ErrorData> {
        let caller = caller_of(&context);
        let tool = request.name.to_string();
        if let Some(refusal) = caller.as_ref().and_then(|c| self.out_of_scope(c, &tool)) {
            return Ok(refusal.into());
        }
        if let Some(schema) = self.schemas.get(&tool)
            && let Err(e) = crate::arguments::check(&tool, schema, request.arguments.as_ref())
        {
            let refusal = fail(e);
            if let Some(c) = &caller {
                self.journal_call(c, &tool, &refusal);
            }
            return Ok(refusal.into());
        }
        // A retried order call carrying the person's answer (MRTR, protocol 2026-07-28).
        if (request.request_state.is_some() || request.input_responses.is_some())
            && ORDER_TOOLS.contains(&tool.as_str())
        {
            let client = context.client_info().map(|c| c.name).unwrap_or_else(|| "the client".into());
            let principal = self.asker(&context).principal;
            let state = request.request_state.as_deref();
            let answer = crate::approval::elicit::resume(
                &self.desk,
                &principal,
                state,
                request.input_responses.as_ref(),
                &client,
            )
            .await;
            return Ok(match answer {
                Ok(a) => ok(crate::approval::view(&a)),
                Err(e) => fail(e),
            }
            .into());
        }
        let mut response = self.tool_router.call(ToolCallContext::new(self, request, context)).await?;
        // What the schema cannot say (an enum's values, ...) rmcp reports as bare text: it is
        // put inside the envelope too.
        if let rmcp::model::CallToolResponse::Complete(r) = &mut response
            && r.is_error == Some(true)
            && r.structured_content.is_none()
        {
            let text: String = r.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect();
            *r = fail(crate::arguments::from_rmcp(&tool, &text));
        }
        if let (Some(c), rmcp::model::CallToolResponse::Complete(result)) = (&caller, &response) {
            self.journal_call(c, &tool, result);
        }
        Ok(response)
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(self.settings.name.clone(), env!("CARGO_PKG_VERSION")))
            .with_instructions(self.settings.instructions)
    }
}
