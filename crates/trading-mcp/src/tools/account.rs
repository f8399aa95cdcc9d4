//! The account toolset: balances, positions, the portfolio, open orders and the history.

use rmcp::{handler::server::wrapper::Parameters, model::CallToolResult, tool, tool_router};
use rust_decimal::Decimal;
use serde_json::json;
use trading_core::{
    error::{ErrorCode, TradeError},
    journal::RecordKind,
};

use crate::{
    TradingServer,
    envelope::{fail, ok, respond},
    params::*,
    server::HISTORY_PAGE,
};

#[tool_router(router = account_router, vis = "pub(crate)")]
impl TradingServer {
    /// Cash, available funds, net liquidation and buying power.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn account_summary(&self) -> CallToolResult {
        respond(self.broker.venue().summary().await)
    }

    /// Cash in each currency (settled cash, the rate to the base currency, the value in it)
    /// and the total in the base currency.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn cash_balances(&self) -> CallToolResult {
        respond(self.broker.venue().cash_balances().await)
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
}
