//! The mirrored tool surface: one handler struct with a tool router over the ports.

use std::{sync::Arc, time::Duration};

use rmcp::{
    RoleServer, ServerHandler,
    handler::server::{router::tool::ToolRouter, tool::ToolCallContext, wrapper::Parameters},
    model::{CallToolResult, Implementation, ServerCapabilities, ServerConfig},
    service::RequestContext,
    tool, tool_handler, tool_router,
};
use rust_decimal::Decimal;
use serde_json::json;
use trading_core::{
    account::MarketHoursModel,
    broker::{GuardedBroker, OrderChange},
    error::{ErrorCode, TradeError},
    journal::{JournalRecord, RecordKind},
    order::{OrderIntent, OrderResult},
};

use crate::{
    analytics,
    envelope::{fail, ok, respond},
    equity::{EquityStore, drawdown},
    oauth::Caller,
    params::*,
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
];

const INSTRUCTIONS: &str = "Trade a brokerage account safely. Orders are two-step: call preview_order with the order's parameters, show the preview to the user, then call the order tool (buy, sell, close_position, stop_order, trailing_stop, bracket_order) with the same parameters and the confirmation_token it returned. Every refusal says which rule refused and which setting governs it. session_status shows whether this is a simulator, paper or live account and what would stop a trade. Research: scan_catalog and filter_catalog describe IBKR's 636 scanners, run_scanner runs one, price_history, contract_details and trading_schedule look instruments up. There is no news tool: IBKR's Client Portal API publishes no news endpoint.";

const CRYPTO_INSTRUCTIONS: &str = "Trade a spot crypto exchange account safely. Symbols are pairs: BTC means BTC against the quote currency (BTC/USDT); amounts and limits are in that quote currency. Orders are two-step: call preview_order with the order's parameters, show the preview to the user, then call the order tool (buy, sell, close_position, stop_order) with the same parameters and the confirmation_token it returned. Spot only: no shorting, no trailing stops or brackets; an unsupported order says which capability is missing. Every refusal says which rule refused and which setting governs it. session_status shows the exchange, sandbox or live, and what would stop a trade. price_history and the analytics tools work on pairs; the IBKR scanners do not apply.";

/// The longest wait_for_fill call: claude.ai cuts a tool call at about 60 s.
const MAX_WAIT_SECONDS: f64 = 50.0;
/// trade_history's default page: a few KB, well under what a chat keeps in view.
const HISTORY_PAGE: usize = 10;
/// How often a waiting call reports progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Server settings that are not guard policy.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// The MCP server name (e.g. "ibkr-mcp").
    pub name: String,
    /// "sim" or "gateway": reported by session_status.
    pub backend: String,
    pub read_only: bool,
    /// How often wait_for_fill polls.
    pub poll_interval: Duration,
    /// Where `drawdown_tracker` reads (and a background task writes) equity history.
    pub equity: Option<Arc<EquityStore>>,
}

/// The MCP handler: state plus the tool router.
#[derive(Clone)]
pub struct TradingServer {
    broker: Arc<GuardedBroker>,
    settings: Arc<ServerSettings>,
    tool_router: ToolRouter<Self>,
    /// Each tool's input schema, which every call's arguments are checked against first.
    schemas: Arc<std::collections::HashMap<String, Arc<rmcp::model::JsonObject>>>,
}

impl std::fmt::Debug for TradingServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TradingServer").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// Says which holdings a statistic left out (options, other currencies), when any.
fn with_not_counted(mut v: serde_json::Value, b: &analytics::Book) -> serde_json::Value {
    if !b.not_counted.is_empty() {
        v["not_counted"] = json!(b.not_counted);
    }
    v
}

fn results(r: Result<Vec<OrderResult>, TradeError>) -> CallToolResult {
    match r {
        Ok(mut v) if v.len() == 1 => ok(v.remove(0)),
        Ok(v) => ok(v),
        Err(e) => fail(e),
    }
}

#[tool_router]
impl TradingServer {
    pub fn new(broker: Arc<GuardedBroker>, settings: ServerSettings) -> Self {
        let mut tool_router = Self::tool_router();
        if settings.read_only {
            for name in WRITE_TOOLS {
                tool_router.remove_route(name);
            }
        }
        let schemas =
            tool_router.list_all().into_iter().map(|t| (t.name.to_string(), t.input_schema.clone())).collect();
        Self { broker, settings: Arc::new(settings), tool_router, schemas: Arc::new(schemas) }
    }

    async fn place(&self, intent: Result<OrderIntent, TradeError>, token: Option<&str>) -> CallToolResult {
        match intent {
            Ok(i) => results(self.broker.submit(i, token).await),
            Err(e) => fail(e),
        }
    }

    /// Connection, account (paper or live, as the venue reports it) and the safety posture:
    /// what would stop a trade right now.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn session_status(&self) -> CallToolResult {
        let venue = self.broker.venue();
        let session = venue.session().await.unwrap_or_else(|e| json!({ "error": e.to_string() }));
        let identity = venue.identity().await.map_err(|e| e.to_string());
        let account_type = match &identity {
            Ok(i) => match i.is_paper {
                Some(true) => "PAPER",
                Some(false) => "LIVE",
                None => "UNKNOWN",
            },
            Err(_) => "UNKNOWN",
        };
        let simulator = self.settings.backend == "sim";
        let mut data = json!({
            "server": self.settings.name,
            "version": crate::launch::VERSION,
            "venue": venue.name(),
            "backend": self.settings.backend,
            "simulator": simulator,
            "session": session,
            "account_type": account_type,
            "identity": identity.as_ref().ok(),
            "capabilities": venue.capabilities(),
            "read_only": self.settings.read_only,
            "posture": self.broker.posture().await,
        });
        if simulator {
            data["notice"] = json!(
                "SIMULATOR: an offline simulated market. Prices are a seeded random walk; no order reaches a broker."
            );
        } else if account_type == "LIVE" {
            data["warning"] = json!("LIVE account: orders use real money.");
        }
        match identity {
            Ok(i) if !i.verified && !simulator => {
                let k = &self.broker.policy().keys;
                data["identity_warning"] = json!(format!(
                    "{account_type} comes from the {} label: {} cannot confirm it, so real orders also need {}=true.",
                    k.trading_mode, k.venue, k.allow_live
                ));
            }
            Ok(_) => {}
            Err(e) => data["identity_error"] = json!(e),
        }
        ok(data)
    }

    /// Whether the market is open now (NYSE hours, holidays and early closes), and when it
    /// next opens.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false))]
    async fn market_status(&self) -> CallToolResult {
        let policy = self.broker.policy();
        let caps = self.broker.venue().capabilities();
        let nyse = policy.calendar.state_at(self.broker.now());
        let data = match (caps.market_hours, nyse) {
            (MarketHoursModel::AlwaysOpen, nyse) => json!({
                "market_open": true,
                "reason": "this venue accepts and fills orders at any hour",
                "nyse": nyse.ok(),
            }),
            (MarketHoursModel::Nyse, Ok(s)) => json!({
                "market_open": s.market_open,
                "reason": s.reason,
                "session": s.session,
                "next_open": s.next_open,
                "market_orders_allowed_now": s.market_open || !policy.enforce_market_hours,
            }),
            (MarketHoursModel::Nyse, Err(e)) => {
                return fail(TradeError::new(ErrorCode::Internal, e.to_string()));
            }
        };
        ok(data)
    }

    /// Last, bid and ask for one symbol.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn get_quote(&self, Parameters(p): Parameters<SymbolParams>) -> CallToolResult {
        match self.broker.canonical_symbol(&p.symbol) {
            Ok(s) => respond(self.broker.venue().quote(&s).await),
            Err(e) => fail(e),
        }
    }

    /// Quotes for several symbols in one call.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn get_quotes(&self, Parameters(p): Parameters<SymbolsParams>) -> CallToolResult {
        if p.symbols.is_empty() || p.symbols.len() > 100 {
            return fail(TradeError::validation("symbols: give between 1 and 100 symbols"));
        }
        let syms: Result<Vec<String>, TradeError> = p.symbols.iter().map(|s| self.broker.canonical_symbol(s)).collect();
        match syms {
            Ok(s) => respond(self.broker.venue().quotes(&s).await),
            Err(e) => fail(e),
        }
    }

    /// Cash, available funds, net liquidation and buying power.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn account_summary(&self) -> CallToolResult {
        respond(self.broker.venue().summary().await)
    }

    /// Open positions with average cost, market value and unrealized P&L.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn positions(&self) -> CallToolResult {
        respond(self.broker.venue().positions().await)
    }

    /// Account type, summary, positions with portfolio weights, and total unrealized P&L.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn portfolio(&self) -> CallToolResult {
        let venue = self.broker.venue();
        let (summary, positions, identity) = (venue.summary().await, venue.positions().await, venue.identity().await);
        let (summary, positions) = match (summary, positions) {
            (Ok(s), Ok(p)) => (s, p),
            (Err(e), _) | (_, Err(e)) => return fail(e.into()),
        };
        // Money in another currency is never added to the account's.
        let base = summary.currency.clone();
        let in_base = |p: &&trading_core::account::Position| p.currency.as_deref().is_none_or(|c| c == base);
        let pnl: Decimal = positions.iter().filter(in_base).filter_map(|p| p.unrealized_pnl).map(|m| m.0).sum();
        let mut pnl_other: std::collections::BTreeMap<String, Decimal> = Default::default();
        for p in positions.iter().filter(|p| !in_base(p)) {
            if let (Some(c), Some(v)) = (&p.currency, p.unrealized_pnl) {
                *pnl_other.entry(c.clone()).or_default() += v.0;
            }
        }
        let nlv = summary.net_liquidation.map(|m| m.0).filter(|v| !v.is_zero());
        let weights: Vec<_> = positions
            .iter()
            .map(|p| {
                let w = match (p.market_value, nlv) {
                    (Some(v), Some(n)) => Some((v.0 / n * Decimal::ONE_HUNDRED).round_dp(2).to_string()),
                    _ => None,
                };
                json!({ "symbol": p.symbol, "weight_pct": w })
            })
            .collect();
        let account_type = match identity.ok().and_then(|i| i.is_paper) {
            Some(true) => "PAPER",
            Some(false) => "LIVE",
            None => "UNKNOWN",
        };
        ok(json!({
            "account_type": account_type,
            "summary": summary,
            "positions": positions,
            "weights": weights,
            "unrealized_pnl": pnl.round_dp(2).to_string(),
            "unrealized_pnl_other_currencies": pnl_other.iter().map(|(c, v)| (c.clone(), json!(v.round_dp(2).to_string()))).collect::<serde_json::Map<_, _>>(),
        }))
    }

    /// Step 1 of every order: checks the order against every safety rule and the venue's
    /// estimate, and returns a single-use confirmation_token bound to exactly this order.
    /// Takes the parameters of buy, sell, stop_order, trailing_stop or bracket_order.
    #[tool(annotations(
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn preview_order(&self, Parameters(p): Parameters<PreviewParams>) -> CallToolResult {
        match p.intent() {
            Ok(i) => respond(self.broker.preview(i).await),
            Err(e) => fail(e),
        }
    }

    /// Buy by cash_amount (market, fractional) or by quantity (market, or LMT with
    /// limit_price). Needs the confirmation_token from preview_order.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn buy(&self, Parameters(p): Parameters<BuyParams>) -> CallToolResult {
        self.place(p.intent(), p.confirmation_token.as_deref()).await
    }

    /// Sell by quantity (market, or LMT with limit_price). Never opens a short unless
    /// shorting is allowed. Needs the confirmation_token from preview_order.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn sell(&self, Parameters(p): Parameters<SellParams>) -> CallToolResult {
        self.place(p.intent(), p.confirmation_token.as_deref()).await
    }

    /// Close the whole position in a symbol with an opposite market order. Preview it as
    /// side=SELL (or BUY for a short) with quantity = the position, then pass the token.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn close_position(&self, Parameters(p): Parameters<CloseParams>) -> CallToolResult {
        respond(self.broker.close_position(&p.symbol, p.confirmation_token.as_deref()).await)
    }

    /// A stop (STP) or, with limit_price, a stop-limit order. Needs the confirmation_token.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn stop_order(&self, Parameters(p): Parameters<StopParams>) -> CallToolResult {
        self.place(p.intent(), p.confirmation_token.as_deref()).await
    }

    /// A trailing stop by trail_amount or trail_percent. Needs the confirmation_token.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn trailing_stop(&self, Parameters(p): Parameters<TrailParams>) -> CallToolResult {
        self.place(p.intent(), p.confirmation_token.as_deref()).await
    }

    /// An entry (market, or LMT with entry_limit_price) with a take-profit and a stop-loss
    /// that cancel each other. Needs the confirmation_token.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn bracket_order(&self, Parameters(p): Parameters<BracketParams>) -> CallToolResult {
        self.place(p.intent(), p.confirmation_token.as_deref()).await
    }

    /// Change a working order's quantity or prices. Preview the order as modified (same
    /// symbol, side and type) and pass the token; added quantity is guarded like a new order.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn modify_order(&self, Parameters(p): Parameters<ModifyParams>) -> CallToolResult {
        let change = OrderChange { quantity: p.quantity, limit_price: p.limit_price, stop_price: p.stop_price };
        if change == OrderChange::default() {
            return fail(TradeError::validation("give at least one of quantity, limit_price, stop_price"));
        }
        respond(self.broker.modify(&p.order_id, change, p.confirmation_token.as_deref()).await)
    }

    /// The current status of one order.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn order_status(&self, Parameters(p): Parameters<OrderIdParams>) -> CallToolResult {
        respond(self.broker.order_status(&p.order_id, p.symbol.as_deref()).await)
    }

    /// Wait until an order is filled, cancelled, rejected or inactive, at most 50 s per call
    /// (hosts cut long calls; call again to keep waiting). Progress is notified every few
    /// seconds when the caller asked for it.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn wait_for_fill(
        &self,
        Parameters(p): Parameters<WaitParams>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let timeout = p.timeout_seconds.unwrap_or(30.0);
        if !timeout.is_finite() || !(0.0..=MAX_WAIT_SECONDS).contains(&timeout) {
            return fail(TradeError::validation(format!(
                "timeout_seconds must be a number from 0 to {MAX_WAIT_SECONDS} (call again to wait longer)"
            )));
        }
        let started = tokio::time::Instant::now();
        let deadline = started + Duration::from_secs_f64(timeout);
        let progress = context.meta.get_progress_token();
        let mut next_note = started + PROGRESS_EVERY;
        loop {
            let r = match self.broker.order_status(&p.order_id, p.symbol.as_deref()).await {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            let done = r.status.is_terminal();
            let now = tokio::time::Instant::now();
            if done || now >= deadline {
                let next = (!done).then_some("still working: call wait_for_fill again to keep waiting");
                return ok(json!({ "order": r, "timed_out": !done, "next_step": next }));
            }
            if let Some(token) = &progress
                && now >= next_note
            {
                next_note = now + PROGRESS_EVERY;
                let waited = (now - started).as_secs_f64();
                let note = rmcp::model::ProgressNotificationParam::new(token.clone(), waited.floor())
                    .with_total(timeout)
                    .with_message(format!("order {} is {} after {:.0}s", p.order_id, r.status.as_str(), waited));
                let _ = context.peer.notify_progress(note).await;
            }
            tokio::time::sleep(self.settings.poll_interval.min(deadline - now)).await;
        }
    }

    /// Cancel an open order. Never blocked by a safety rule.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    async fn cancel_order(&self, Parameters(p): Parameters<OrderIdParams>) -> CallToolResult {
        respond(self.broker.cancel(&p.order_id, p.symbol.as_deref()).await)
    }

    /// Orders still working at the venue.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn open_orders(&self) -> CallToolResult {
        respond(self.broker.venue().open_orders().await)
    }

    /// The trade journal's latest records (intents, outcomes, resolutions, refusals) and
    /// the venue's executions.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false))]
    async fn trade_history(&self, Parameters(p): Parameters<HistoryParams>) -> CallToolResult {
        // Order lines only: the journal also holds the audit lines of remote calls.
        let (mut records, corrupt) = match self.broker.journal().tail(0) {
            Ok(v) => v,
            Err(e) => return fail(TradeError::new(ErrorCode::Internal, e.to_string())),
        };
        records.retain(|r| r.kind != RecordKind::Call);
        let limit = p.limit.unwrap_or(HISTORY_PAGE);
        if !(1..=200).contains(&limit) {
            return fail(TradeError::validation("limit must be a whole number from 1 to 200"));
        }
        // Pages run newest to oldest; `before` is where the next older page ends.
        let end = p.before.unwrap_or(records.len()).min(records.len());
        let start = end.saturating_sub(limit);
        let page: Vec<_> = records.drain(start..end).collect();
        let fills = self.broker.venue().fills().await.map_err(|e| e.to_string());
        let executions = fills.as_ref().ok().map(|f| {
            let mut f = f.clone();
            f.sort_by_key(|x| x.time);
            let skip = f.len().saturating_sub(limit);
            f.split_off(skip)
        });
        ok(json!({
            "journal": page,
            "corrupt_lines_skipped": corrupt,
            "executions": executions,
            "executions_error": fills.err(),
            "next": (start > 0).then(|| json!({ "before": start, "older_records": start })),
        }))
    }

    /// How the book would fare: one-day VaR at 95% and 99% (parametric with per-position
    /// components, and historical), the correlation matrix, and beta to a benchmark.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn risk_report(&self, Parameters(p): Parameters<RiskParams>) -> CallToolResult {
        let lookback = p.lookback_days.unwrap_or(252);
        if !(lookback == 60 || lookback == 252) {
            return fail(TradeError::validation("lookback_days must be 60 or 252"));
        }
        let default = self.broker.venue().capabilities().benchmark;
        let bench = match self.broker.canonical_symbol(p.benchmark.as_deref().unwrap_or(&default)) {
            Ok(b) => b,
            Err(e) => return fail(e),
        };
        let venue = self.broker.venue().as_ref();
        match analytics::book(venue).await {
            Ok(b) => {
                respond(analytics::risk_report(venue, &b, lookback, &bench).await.map(|v| with_not_counted(v, &b)))
            }
            Err(e) => fail(e),
        }
    }

    /// What a market-wide fall does to the book: loss (exposure × drawdown), stressed equity,
    /// and the drawdown at which equity would breach the maintenance margin.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn stress_test(&self, Parameters(p): Parameters<StressParams>) -> CallToolResult {
        let d: Vec<Decimal> = p
            .drawdown_pct
            .map(|v| v.into_iter().map(|q| q.0).collect())
            .unwrap_or_else(|| [10, 20, 30, 40].map(Decimal::from).to_vec());
        if d.is_empty() || d.iter().any(|x| *x <= Decimal::ZERO || *x > Decimal::ONE_HUNDRED) {
            return fail(TradeError::validation("drawdown_pct: give percentages between 0 and 100"));
        }
        respond(analytics::book(self.broker.venue().as_ref()).await.map(|b| analytics::stress_test(&b, &d)))
    }

    /// Where the money is: exposure by sector and by currency, position weights, the top-N
    /// share and the HHI concentration index (0–10,000).
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn exposure(&self, Parameters(p): Parameters<ExposureParams>) -> CallToolResult {
        respond(
            analytics::book(self.broker.venue().as_ref())
                .await
                .map(|b| with_not_counted(analytics::exposure(&b, p.top_n.unwrap_or(5).max(1)), &b)),
        )
    }

    /// The orders that would move the book to target weights ("AAPL:40,MSFT:30,SPY:30").
    /// A plan only: each order still needs preview_order and passes every guard.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn rebalance_plan(&self, Parameters(p): Parameters<RebalanceParams>) -> CallToolResult {
        let venue = self.broker.venue().as_ref();
        let fractional = p.fractional.unwrap_or(venue.capabilities().fractional);
        // Every symbol through the order path's canonicaliser ("BTC" is BTC/USDT on crypto).
        let mut targets = vec![];
        for item in p.targets.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (sym, pct) = item.rsplit_once(':').unwrap_or((item, ""));
            match self.broker.canonical_symbol(sym) {
                Ok(c) => targets.push(format!("{c}:{pct}")),
                Err(e) => return fail(e),
            }
        }
        match analytics::book(venue).await {
            Ok(b) => respond(analytics::rebalance_plan(venue, &b, &targets.join(","), fractional).await),
            Err(e) => fail(e),
        }
    }

    /// SMA 20/50/200, EMA 12/26, RSI 14, MACD (12, 26, 9) and Bollinger bands (20, 2) from
    /// daily closes.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn technicals(&self, Parameters(p): Parameters<TechnicalsParams>) -> CallToolResult {
        match self.broker.canonical_symbol(&p.symbol) {
            Ok(s) => respond(
                analytics::technicals(self.broker.venue().as_ref(), &s, p.days.unwrap_or(250).clamp(30, 1000)).await,
            ),
            Err(e) => fail(e),
        }
    }

    /// What an order would do to cash, the position and margin (the venue's what-if where it
    /// has one). Places nothing and issues no token: orders still need preview_order.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn what_if(&self, Parameters(p): Parameters<PreviewParams>) -> CallToolResult {
        let intent = match p.intent().and_then(|i| self.broker.canonical_intent(i)) {
            Ok(i) => i,
            Err(e) => return fail(e),
        };
        let o = intent.primary();
        let venue = self.broker.venue();
        let (preview, held, summary) =
            (venue.preview(o).await, venue.held_quantity(&o.symbol).await, venue.summary().await);
        let (held, summary) = match (held, summary) {
            (Ok(h), Ok(s)) => (h, s),
            (Err(e), _) | (_, Err(e)) => return fail(e.into()),
        };
        let vp = preview.as_ref().ok();
        let qty = o.size.quantity().or(vp.and_then(|v| v.estimated_quantity).map(|q| q.0)).unwrap_or_default();
        let signed = if o.side == trading_core::order::Side::Buy { qty } else { -qty };
        let value = vp.and_then(|v| v.estimated_value).map(|m| m.0).or(o.size.cash()).unwrap_or_default();
        let fee = vp.and_then(|v| v.commission).map(|m| m.0).unwrap_or_default();
        let cash = summary.cash.or(summary.available_funds).map(|m| m.0);
        let cash_after = vp
            .and_then(|v| v.cash_after)
            .map(|m| m.0)
            .or(cash.map(|c| if signed > Decimal::ZERO { c - value - fee } else { c + value - fee }));
        ok(serde_json::json!({
            "order": intent,
            "venue_preview": vp,
            "venue_preview_error": preview.as_ref().err().map(|e| e.to_string()),
            "position": { "symbol": o.symbol, "before": held.normalize().to_string(), "after": (held + signed).normalize().to_string() },
            "cash": { "before": cash.map(|c| c.round_dp(2).to_string()), "after_estimate": cash_after.map(|c| c.round_dp(2).to_string()) },
            "margin_change": vp.and_then(|v| v.margin_change),
            "equity_change": vp.and_then(|v| v.equity_change),
            "note": "what_if places nothing and issues no token: use preview_order, then the order tool, to trade",
        }))
    }

    /// Equity history (sampled in the background) and the drawdown from its peak.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn drawdown_tracker(&self) -> CallToolResult {
        let Some(store) = &self.settings.equity else {
            return fail(TradeError::new(ErrorCode::Unsupported, "equity history is off (EQUITY_SAMPLE_SECONDS=0)"));
        };
        crate::equity::sample(self.broker.venue().as_ref(), store, self.broker.now()).await;
        match store.samples() {
            Ok(s) => {
                let mut v = serde_json::to_value(drawdown(&s)).unwrap_or_default();
                v["store"] = serde_json::json!(store.path());
                ok(v)
            }
            Err(e) => fail(TradeError::new(ErrorCode::Internal, e.to_string())),
        }
    }

    /// The morning briefing: connection and safety posture, equity and P&L, positions with
    /// weights, today's movers, risk (1-day VaR 95%, beta, concentration) and open orders.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn briefing(&self, Parameters(p): Parameters<BriefingParams>) -> CallToolResult {
        let venue = self.broker.venue();
        let book = match analytics::book(venue.as_ref()).await {
            Ok(b) => b,
            Err(e) => return fail(e),
        };
        let posture = self.broker.posture().await;
        let identity = venue.identity().await.ok();
        let account_type = match identity.as_ref().and_then(|i| i.is_paper) {
            Some(true) => "PAPER",
            Some(false) => "LIVE",
            None => "UNKNOWN",
        };
        // One read of 61 days of closes serves both the risk figures and today's movers; the
        // benchmark is the venue's (SPY for stocks, BTC on an exchange). Without the
        // benchmark's history the movers are still computed and the risk error is shown.
        let bench = venue.capabilities().benchmark;
        let closes = analytics::history(venue.as_ref(), &book, &[bench.as_str()], 61).await;
        let risk = closes.as_ref().map_err(Clone::clone).and_then(|c| analytics::risk_from(&book, c, 60, &bench));
        let movers = match &closes {
            Ok(c) => analytics::movers(&book, c),
            Err(_) => analytics::history(venue.as_ref(), &book, &[], 61)
                .await
                .map(|c| analytics::movers(&book, &c))
                .unwrap_or_default(),
        };
        let open = venue.open_orders().await;
        let conc = portfolio_analytics::book::concentration(&book.holdings, 1);
        let unrealized: Decimal = book.positions.iter().filter_map(|x| x.unrealized_pnl).map(|m| m.0).sum();
        let ccy = venue.capabilities().quote_currency;
        let money = |d: Option<Decimal>| d.map(|x| trading_core::money::fmt_money(x, &ccy)).unwrap_or("-".into());
        let var95 = risk
            .as_ref()
            .ok()
            .and_then(|r| r["one_day_var"]["parametric_95"].as_str().and_then(|s| s.parse::<Decimal>().ok()));
        let beta = risk.as_ref().ok().and_then(|r| r["beta"]["weighted"].as_f64());
        let open_n = open.as_ref().map(Vec::len).ok();
        let headline = format!(
            "{} {} {} · equity {} · unrealized {} · {} position(s){} · 1-day VaR95 {} · beta {} · {} open order(s) · {}",
            venue.name(),
            account_type,
            identity.as_ref().and_then(|i| i.account_id.clone()).unwrap_or_default(),
            money(book.summary.net_liquidation.map(|m| m.0)),
            money(Some(unrealized)),
            book.holdings.len(),
            conc.weights.first().map(|w| format!(", largest {} {}%", w.symbol, w.weight_pct)).unwrap_or_default(),
            money(var95),
            beta.map(|b| format!("{b:.2}")).unwrap_or("-".into()),
            open_n.map(|n| n.to_string()).unwrap_or("?".into()),
            if posture.safe_to_trade {
                "safe to trade".to_string()
            } else {
                format!("trade stops: {}", posture.trade_stops.join("; "))
            },
        );
        if p.compact.unwrap_or(false) {
            return ok(serde_json::json!({ "summary": headline, "movers": movers.iter().take(3).collect::<Vec<_>>() }));
        }
        ok(serde_json::json!({
            "summary": headline,
            "connection": venue.session().await.unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() })),
            "account": { "type": account_type, "identity": identity, "summary": book.summary, "unrealized_pnl": unrealized.round_dp(2).to_string() },
            "positions": book.positions,
            "weights": conc.weights,
            "hhi": conc.hhi,
            "not_counted": book.not_counted,
            "movers": movers,
            "risk": risk.unwrap_or_else(|e| serde_json::json!({ "error": format!("VaR and beta (against {bench}) unavailable: {}", e.message) })),
            "open_orders": open.unwrap_or_default(),
            "posture": posture,
        }))
    }

    /// IBKR's market-scanner catalog: every scan with its category, strategy tags (value,
    /// growth, quality, income, momentum_up, ...), instruments and inverse scan. Filter by
    /// query, category, strategy and instrument; list_meta gives the vocabularies.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false))]
    async fn scan_catalog(&self, Parameters(p): Parameters<ScanCatalogParams>) -> CallToolResult {
        let cat = scanner_catalog::Catalog::get();
        if p.list_meta {
            let mut cats: std::collections::BTreeMap<&str, usize> = Default::default();
            let mut tags: std::collections::BTreeMap<&str, usize> = Default::default();
            let mut vendors: std::collections::BTreeMap<&str, usize> = Default::default();
            for s in &cat.scans {
                *cats.entry(s.category.as_str()).or_default() += 1;
                for t in &s.tags {
                    *tags.entry(t.as_str()).or_default() += 1;
                }
                *vendors.entry(s.vendor.as_deref().unwrap_or("IBKR")).or_default() += 1;
            }
            return ok(serde_json::json!({
                "scans": cat.scans.len(), "filters": cat.filters.len(),
                "categories": cats, "strategies": tags, "vendors": vendors,
                "instruments": cat.instruments.iter().map(|i| serde_json::json!({ "code": i.code, "name": i.name })).collect::<Vec<_>>(),
            }));
        }
        let found =
            cat.search(p.query.as_deref(), p.category.as_deref(), p.strategy.as_deref(), p.instrument.as_deref());
        let limit = p.limit.unwrap_or(25).clamp(1, 200);
        let results: Vec<_> = found
            .iter()
            .take(limit)
            .map(|s| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                v["inverse_name"] =
                    serde_json::json!(s.inverse.as_deref().and_then(|i| cat.scan(i)).map(|i| i.name.clone()));
                // Where it can run, for the instrument asked about (else its first).
                let instr = p.instrument.clone().or_else(|| s.instruments.first().cloned()).unwrap_or_default();
                v["locations"] = serde_json::json!({
                    "instrument": instr,
                    "codes": cat.locations_for(&instr).iter().map(|l| l.code.as_str()).collect::<Vec<_>>(),
                });
                v
            })
            .collect();
        ok(serde_json::json!({ "count": found.len(), "shown": results.len(), "results": results }))
    }

    /// IBKR's scanner filters: code, type (number, integer, choice, ...), unit, choices and the
    /// instruments each applies to. Filter by group or category, instrument and words.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false))]
    async fn filter_catalog(&self, Parameters(p): Parameters<FilterCatalogParams>) -> CallToolResult {
        let cat = scanner_catalog::Catalog::get();
        let words: Vec<String> = p.query.as_deref().map(scanner_catalog::rules::tokens).unwrap_or_default();
        let found: Vec<_> = cat
            .filters
            .iter()
            .filter(|f| {
                p.group.as_deref().is_none_or(|g| f.group.eq_ignore_ascii_case(g) || f.category.eq_ignore_ascii_case(g))
            })
            .filter(|f| p.instrument.as_deref().is_none_or(|i| f.instruments.iter().any(|x| x.eq_ignore_ascii_case(i))))
            .filter(|f| {
                let mut t = scanner_catalog::rules::tokens(&f.code);
                t.extend(scanner_catalog::rules::tokens(&f.name));
                words.iter().all(|w| t.iter().any(|x| x.starts_with(w.as_str())))
            })
            .collect();
        ok(
            serde_json::json!({ "count": found.len(), "shown": found.len().min(100), "filters": found.iter().take(100).collect::<Vec<_>>() }),
        )
    }

    /// Runs an IBKR market scanner, checked against the catalog first so an inapplicable scan,
    /// location or filter is a clear error rather than an empty list.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn run_scanner(&self, Parameters(p): Parameters<RunScannerParams>) -> CallToolResult {
        let cat = scanner_catalog::Catalog::get();
        let instrument = p.instrument.unwrap_or_else(|| "STK".into());
        let location = p.location.unwrap_or_else(|| "STK.US.MAJOR".into());
        let filters: Vec<(String, serde_json::Value)> =
            p.filters.unwrap_or_default().into_iter().map(|f| (f.code, f.value)).collect();
        let scan = match cat.validate(&p.scan_code, &instrument, &location, &filters) {
            Ok(s) => s.clone(),
            Err(e) => return fail(TradeError::validation(e)),
        };
        let req = trading_core::account::ScanRequest {
            scan_code: scan.code.clone(),
            instrument,
            location,
            filters,
            max_rows: p.max_rows.unwrap_or(25).clamp(1, 50),
        };
        match self.broker.venue().run_scanner(&req).await {
            Ok(rows) => ok(serde_json::json!({
                "scan": { "code": scan.code, "name": scan.name, "category": scan.category, "tags": scan.tags, "inverse": scan.inverse },
                "instrument": req.instrument, "location": req.location, "filters": req.filters,
                "rows": rows,
            })),
            Err(e) => fail(e.into()),
        }
    }

    /// Finds contracts by symbol or company name.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn search_contracts(&self, Parameters(p): Parameters<SearchParams>) -> CallToolResult {
        if p.query.trim().is_empty() {
            return fail(TradeError::validation("query: give a symbol or a company name"));
        }
        respond(self.broker.venue().search_contracts(&p.query).await)
    }

    /// What the venue knows about one instrument (name, industry, exchanges, currency).
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn contract_details(&self, Parameters(p): Parameters<SymbolParams>) -> CallToolResult {
        match self.broker.canonical_symbol(&p.symbol) {
            Ok(s) => respond(self.broker.venue().contract_details(&s).await),
            Err(e) => fail(e),
        }
    }

    /// Daily OHLCV bars, oldest first.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn price_history(&self, Parameters(p): Parameters<PriceHistoryParams>) -> CallToolResult {
        let sym = match self.broker.canonical_symbol(&p.symbol) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        let days = p.days.unwrap_or(60).clamp(1, 1000);
        respond(
            self.broker
                .venue()
                .bars(&sym, days)
                .await
                .map(|bars| serde_json::json!({ "symbol": sym, "bar": "1d", "count": bars.len(), "bars": bars })),
        )
    }

    /// The instrument's upcoming trading sessions (regular hours, early closes, closed days).
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn trading_schedule(&self, Parameters(p): Parameters<SymbolParams>) -> CallToolResult {
        match self.broker.canonical_symbol(&p.symbol) {
            Ok(s) => respond(self.broker.venue().trading_schedule(&s).await),
            Err(e) => fail(e),
        }
    }

    /// Resolve orders whose dispatch was never confirmed (a crash or timeout) by finding them
    /// at the venue by client order id; they block identical orders until resolved.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    async fn reconcile_pending(&self, Parameters(p): Parameters<ReconcileParams>) -> CallToolResult {
        respond(self.broker.reconcile_pending(p.resolve_missing).await)
    }
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
            .with_instructions(if self.broker.venue().capabilities().default_quote.is_some() {
                CRYPTO_INSTRUCTIONS
            } else {
                INSTRUCTIONS
            })
    }
}
