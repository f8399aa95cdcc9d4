//! The research toolset every venue serves: quotes, contracts, price history, schedules.

use rmcp::{handler::server::wrapper::Parameters, model::CallToolResult, tool, tool_router};
use serde_json::json;
use trading_core::error::TradeError;

use crate::{
    TradingServer,
    envelope::{fail, respond},
    params::*,
};

#[tool_router(router = research_router, vis = "pub(crate)")]
impl TradingServer {
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

    /// Daily OHLCV bars, oldest first, in pages: the latest `limit` bars of the span, and a
    /// `next` cursor (pass it as `before`) while older bars remain.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn price_history(&self, Parameters(p): Parameters<PriceHistoryParams>) -> CallToolResult {
        let sym = match self.broker.canonical_symbol(&p.symbol) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        let before = match p.before.as_deref().map(|d| chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")) {
            None => None,
            Some(Ok(d)) => Some(d),
            Some(Err(_)) => {
                return fail(TradeError::validation(
                    "before: give a date as YYYY-MM-DD (the `next` of a previous page)",
                ));
            }
        };
        let days = p.days.unwrap_or(60).clamp(1, 1000);
        let limit = p.limit.unwrap_or(60).clamp(1, 250);
        respond(self.broker.venue().bars(&sym, days).await.map(|mut bars| {
            if let Some(b) = before {
                bars.retain(|x| x.time.date_naive() < b);
            }
            let older = bars.len().saturating_sub(limit);
            let page = bars.split_off(older);
            let mut v = json!({ "symbol": sym, "bar": "1d", "count": page.len(), "bars": page });
            if older > 0
                && let Some(first) = page.first()
            {
                v["next"] = json!(first.time.date_naive().to_string());
                v["older_bars"] = json!(older);
            }
            v
        }))
    }

    /// The instrument's upcoming trading sessions (regular hours, early closes, closed days).
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn trading_schedule(&self, Parameters(p): Parameters<SymbolParams>) -> CallToolResult {
        match self.broker.canonical_symbol(&p.symbol) {
            Ok(s) => respond(self.broker.venue().trading_schedule(&s).await),
            Err(e) => fail(e),
        }
    }
}
