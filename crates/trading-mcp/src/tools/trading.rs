//! The trading toolset: previews, orders, modifications, cancels, fills and reconciliation.

use rmcp::{
    RoleServer,
    handler::server::wrapper::Parameters,
    model::{CallToolResponse, CallToolResult},
    service::RequestContext,
    tool, tool_router,
};
use serde_json::json;
use trading_core::{broker::OrderChange, error::TradeError};

use crate::{
    TradingServer,
    envelope::{fail, ok, respond},
    params::*,
    tools::wait::Wait,
};

#[tool_router(router = trading_router, vis = "pub(crate)")]
impl TradingServer {
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
    async fn buy(&self, Parameters(p): Parameters<BuyParams>, context: RequestContext<RoleServer>) -> CallToolResponse {
        self.place(p.intent(), p.confirmation_token.as_deref(), &context).await
    }

    /// Sell by quantity (market, or LMT with limit_price). Never opens a short unless
    /// shorting is allowed. Needs the confirmation_token from preview_order.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn sell(
        &self,
        Parameters(p): Parameters<SellParams>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResponse {
        self.place(p.intent(), p.confirmation_token.as_deref(), &context).await
    }

    /// Close the whole position in a symbol with an opposite market order. Preview it as
    /// side=SELL (or BUY for a short) with quantity = the position, then pass the token.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn close_position(
        &self,
        Parameters(p): Parameters<CloseParams>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResponse {
        match self.broker.close_position_as(&p.symbol, p.confirmation_token.as_deref(), &self.asker(&context)).await {
            Ok(mut out) => match out.pending_approval.take() {
                Some(a) => self.pending(*a, &context).await,
                None => ok(out).into(),
            },
            Err(e) => fail(e).into(),
        }
    }

    /// A stop (STP) or, with limit_price, a stop-limit order. Needs the confirmation_token.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn stop_order(
        &self,
        Parameters(p): Parameters<StopParams>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResponse {
        self.place(p.intent(), p.confirmation_token.as_deref(), &context).await
    }

    /// A trailing stop by trail_amount or trail_percent. Needs the confirmation_token.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn trailing_stop(
        &self,
        Parameters(p): Parameters<TrailParams>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResponse {
        self.place(p.intent(), p.confirmation_token.as_deref(), &context).await
    }

    /// An entry (market, or LMT with entry_limit_price) with a take-profit and a stop-loss
    /// that cancel each other. Needs the confirmation_token.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn bracket_order(
        &self,
        Parameters(p): Parameters<BracketParams>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResponse {
        self.place(p.intent(), p.confirmation_token.as_deref(), &context).await
    }

    /// Change a working order's quantity or prices. Preview the order as modified (same
    /// symbol, side and type) and pass the token; added quantity is guarded like a new order.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn modify_order(
        &self,
        Parameters(p): Parameters<ModifyParams>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResponse {
        let change = OrderChange { quantity: p.quantity, limit_price: p.limit_price, stop_price: p.stop_price };
        if change == OrderChange::default() {
            return fail(TradeError::validation("give at least one of quantity, limit_price, stop_price")).into();
        }
        let asker = self.asker(&context);
        self.settle(self.broker.modify_as(&p.order_id, change, p.confirmation_token.as_deref(), &asker).await, &context)
            .await
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
        let mut wait = match Wait::start(p.timeout_seconds) {
            Ok(w) => w,
            Err(e) => return fail(e),
        };
        loop {
            let r = match self.broker.order_status(&p.order_id, p.symbol.as_deref()).await {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            let done = r.status.is_terminal();
            if done || wait.over() {
                let next = (!done).then_some("still working: call wait_for_fill again to keep waiting");
                return ok(json!({ "order": r, "timed_out": !done, "next_step": next }));
            }
            let status = r.status.as_str();
            wait.beat(&context, |waited| format!("order {} is {status} after {waited:.0}s", p.order_id)).await;
            tokio::time::sleep(wait.nap(self.settings.poll_interval)).await;
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
