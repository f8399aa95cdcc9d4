//! The account toolset: balances, positions, the portfolio, open orders and the history.

use rmcp::{handler::server::wrapper::Parameters, model::CallToolResult, tool, tool_router};
use rust_decimal::Decimal;
use serde_json::json;
use trading_core::{
    error::{ErrorCode, TradeError},
    journal::RecordKind,
    performance::{PerfPeriod, thin},
};

use crate::{
    TradingServer,
    envelope::{fail, ok, respond},
    outputs::{PnlAnswer, SummaryAnswer},
    params::*,
    server::HISTORY_PAGE,
};

#[tool_router(router = account_router, vis = "pub(crate)")]
impl TradingServer {
    /// Cash, available funds, net liquidation, buying power and today's P&L (`daily_pnl`:
    /// since the previous close, with unrealized P&L and excess liquidity where the venue has
    /// them).
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn account_summary(&self, Parameters(p): Parameters<AccountParams>) -> CallToolResult {
        let venue = self.broker.venue();
        let other = match self.other_account(p.account.as_deref()).await {
            Ok(o) => o,
            Err(e) => return fail(e),
        };
        let summary = match &other {
            Some(a) => venue.summary_of(a).await,
            None => venue.summary().await,
        };
        match summary {
            Ok(summary) => {
                let daily_pnl = match other {
                    Some(_) => None,
                    None => Some(self.daily_pnl().await),
                };
                ok(SummaryAnswer { summary, daily_pnl })
            }
            Err(e) => fail(e.into()),
        }
    }

    /// Every account this login sees, with its currency and paper/live; `trading` marks the
    /// one orders go to (the others are read-only here: pass `account` to the read tools).
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn accounts(&self) -> CallToolResult {
        respond(self.broker.venue().accounts().await)
    }

    /// Cash in each currency (settled cash, the rate to the base currency, the value in it)
    /// and the total in the base currency.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn cash_balances(&self, Parameters(p): Parameters<AccountParams>) -> CallToolResult {
        match self.other_account(p.account.as_deref()).await {
            Ok(Some(a)) => respond(self.broker.venue().cash_balances_of(&a).await),
            Ok(None) => respond(self.broker.venue().cash_balances().await),
            Err(e) => fail(e),
        }
    }

    /// Open positions with average cost, market value and unrealized P&L; options also carry
    /// their greeks and `delta_shares` (quantity × multiplier × delta, in shares of the
    /// underlying).
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn positions(&self, Parameters(p): Parameters<AccountParams>) -> CallToolResult {
        let venue = self.broker.venue();
        let rows = match self.other_account(p.account.as_deref()).await {
            Ok(Some(a)) => venue.positions_of(&a).await,
            Ok(None) => venue.positions().await,
            Err(e) => return fail(e),
        };
        let rows = match rows {
            Ok(r) => r,
            Err(e) => return fail(e.into()),
        };
        let mut greeks = crate::analytics::option_greeks(venue.as_ref(), &rows).await;
        let out: Vec<_> = rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let mut v = json!(row);
                if let Some(g) = greeks.remove(&i) {
                    v["greeks"] = match g {
                        Ok((_, q, shares)) => json!({
                            "delta": q.delta, "gamma": q.gamma, "theta": q.theta, "vega": q.vega,
                            "implied_vol_pct": q.implied_vol_pct, "delta_shares": shares,
                        }),
                        Err(e) => json!({ "unavailable": e }),
                    };
                }
                v
            })
            .collect();
        ok(out)
    }

    /// Account type, summary, positions with portfolio weights, total unrealized P&L and
    /// today's P&L; `account: "all"` sums every account of the login in the trading
    /// account's currency.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn portfolio(&self, Parameters(p): Parameters<PortfolioParams>) -> CallToolResult {
        let venue = self.broker.venue();
        if p.account.as_deref().is_some_and(|a| a.trim().eq_ignore_ascii_case("all")) {
            return respond(crate::accounts::consolidated(venue.as_ref()).await);
        }
        let other = match self.other_account(p.account.as_deref()).await {
            Ok(o) => o,
            Err(e) => return fail(e),
        };
        let (summary, positions, identity) = match &other {
            Some(a) => (venue.summary_of(a).await, venue.positions_of(a).await, venue.identity().await),
            None => (venue.summary().await, venue.positions().await, venue.identity().await),
        };
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
            "daily_pnl": if other.is_none() { self.daily_pnl().await } else { PnlAnswer::Unavailable { unavailable: "today's P&L is read for the trading account only".into() } },
            "unrealized_pnl_other_currencies": pnl_other.iter().map(|(c, v)| (c.clone(), json!(v.round_dp(2).to_string()))).collect::<serde_json::Map<_, _>>(),
        }))
    }

    /// How the account did over a period (1D, 7D, MTD, 1M, 3M, 6M, 12M, YTD): the return,
    /// start and end NAV, the NAV series (at most 60 points) and each month's return. IBKR
    /// answers this once per 15 minutes per period.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn performance(&self, Parameters(p): Parameters<PerformanceParams>) -> CallToolResult {
        let period = match PerfPeriod::parse(p.period.as_deref().unwrap_or("12M")) {
            Ok(x) => x,
            Err(e) => return fail(e),
        };
        respond(self.broker.venue().performance(period).await.map(|mut perf| {
            let (nav, thinned) = thin(std::mem::take(&mut perf.nav), 60);
            perf.nav = nav;
            if thinned {
                perf.notes.push("nav: thinned to 60 evenly spaced points (first and last kept)".into());
            }
            perf
        }))
    }

    /// Buys, sells and dividends in one instrument over the last `days` days (default 90),
    /// and the P&L they realized, by day. IBKR answers this once per 15 minutes.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn transactions(&self, Parameters(p): Parameters<TransactionsParams>) -> CallToolResult {
        let sym = match self.broker.canonical_symbol(&p.symbol) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        let days = p.days.unwrap_or(90);
        if !(1..=3650).contains(&days) {
            return fail(TradeError::validation("days: give 1 to 3650 days"));
        }
        respond(self.broker.venue().transactions(&sym, days).await)
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

impl TradingServer {
    /// `Some(id)` when `account` names an account other than the trading one; `None` for the
    /// trading account (or none given). An unknown id fails, naming the known ones.
    async fn other_account(&self, account: Option<&str>) -> Result<Option<String>, TradeError> {
        let Some(want) = account.map(str::trim).filter(|a| !a.is_empty()) else { return Ok(None) };
        let known = self.broker.venue().accounts().await?;
        match known.iter().find(|a| a.account_id.eq_ignore_ascii_case(want)) {
            Some(a) if a.trading => Ok(None),
            Some(a) => Ok(Some(a.account_id.clone())),
            None => Err(TradeError::validation(format!(
                "account: '{want}' is not one this login sees ({})",
                known.iter().map(|a| a.account_id.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }
}
