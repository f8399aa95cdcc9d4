//! The research toolset every venue serves: quotes, contracts, price history, schedules.

use rmcp::{handler::server::wrapper::Parameters, model::CallToolResult, tool, tool_router};
use serde_json::json;
use trading_core::{
    bars::{BarSize, HistoryRequest, Period},
    error::TradeError,
    options::{OptionSymbol, chain_request},
};

use crate::{
    TradingServer,
    envelope::{fail, respond},
    outputs::FxRate,
    params::*,
};

#[tool_router(router = research_router, vis = "pub(crate)")]
impl TradingServer {
    /// Last, bid and ask for one symbol; for an option named as positions name it
    /// ("SPY 2026-12-18 600 C") or by its contract id (IBKR conid, digits only) also its greeks,
    /// implied volatility and open interest.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn get_quote(&self, Parameters(p): Parameters<SymbolParams>) -> CallToolResult {
        if let Some(o) = OptionSymbol::parse(&p.symbol) {
            return respond(self.broker.venue().option_quote(&o, None).await);
        }
        let id = p.symbol.trim();
        if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) {
            return respond(self.broker.venue().quote_contract(id).await);
        }
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

    /// OHLCV bars, oldest first, of any size from 1min to 1month, in pages: the latest
    /// `limit` bars of the period, and a `next` cursor (pass it as `before`) while older bars
    /// remain. Example: {"symbol":"AAPL","bar":"5min","period":"1d"}.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn price_history(&self, Parameters(p): Parameters<PriceHistoryParams>) -> CallToolResult {
        let sym = match self.broker.canonical_symbol(&p.symbol) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        let request = match history_request(&p) {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        let before = match p.before.as_deref().map(str::trim).map(|b| cursor(b, request.bar.is_intraday())) {
            None => None,
            Some(Some(t)) => Some(t),
            Some(None) => {
                return fail(TradeError::validation(if request.bar.is_intraday() {
                    "before: give a time as RFC 3339 (the `next` of a previous page)"
                } else {
                    "before: give a date as YYYY-MM-DD (the `next` of a previous page)"
                }));
            }
        };
        let limit = p.limit.unwrap_or(60).clamp(1, 250);
        respond(self.broker.venue().history(&sym, &request).await.map(|mut bars| {
            if let Some(b) = before {
                bars.retain(|x| x.time < b);
            }
            let older = bars.len().saturating_sub(limit);
            let page = bars.split_off(older);
            let mut v = json!({
                "symbol": sym, "bar": request.bar.name, "period": request.period.to_string(),
                "outside_rth": request.outside_rth, "count": page.len(), "bars": page,
            });
            if older > 0
                && let Some(first) = page.first()
            {
                v["next"] = if request.bar.is_intraday() {
                    json!(first.time.to_rfc3339())
                } else {
                    json!(first.time.date_naive().to_string())
                };
                v["older_bars"] = json!(older);
            }
            v
        }))
    }

    /// An option chain: the expirations, and for one expiry (the nearest by default) the
    /// strikes around the money with bid/ask/last, implied volatility, delta, gamma, theta,
    /// vega and open interest. Read-only: option orders are not taken. Example:
    /// {"symbol":"SPY","strikes_around_money":5,"right":"C"}.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn option_chain(&self, Parameters(p): Parameters<OptionChainParams>) -> CallToolResult {
        let sym = match self.broker.canonical_symbol(&p.symbol) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        match chain_request(&sym, p.expiry.as_deref(), p.strikes_around_money, p.right.as_deref()) {
            Ok(r) => respond(self.broker.venue().option_chain(&r).await),
            Err(e) => fail(e),
        }
    }

    /// Units of `to` one unit of `from` buys, from the venue (e.g. from USD to EUR ≈ 0.9).
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn fx_rate(&self, Parameters(p): Parameters<FxRateParams>) -> CallToolResult {
        let code = |name: &str, raw: &str| {
            let c = raw.trim().to_ascii_uppercase();
            if c.len() == 3 && c.chars().all(|x| x.is_ascii_alphabetic()) {
                Ok(c)
            } else {
                Err(TradeError::validation(format!(
                    "{name}: '{raw}' is not a three-letter currency code (USD, EUR, ...)"
                )))
            }
        };
        let (from, to) = match (code("from", &p.from), code("to", &p.to)) {
            (Ok(f), Ok(t)) => (f, t),
            (Err(e), _) | (_, Err(e)) => return fail(e),
        };
        respond(self.broker.venue().fx_rate(&from, &to).await.map(|rate| FxRate {
            meaning: format!("1 {from} = {rate} {to}"),
            from,
            to,
            rate,
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

/// The bar size, period and session of a `price_history` call, checked.
fn history_request(p: &PriceHistoryParams) -> Result<HistoryRequest, TradeError> {
    let bar = p.bar.as_deref().map(BarSize::parse).transpose()?.unwrap_or(BarSize::DAY);
    if p.days.is_some() && p.period.is_some() {
        return Err(TradeError::validation("days: give days or period, not both"));
    }
    if p.days.is_some() && bar != BarSize::DAY {
        return Err(TradeError::validation("days: only for day bars; give a period (e.g. \"1d\", \"2w\") instead"));
    }
    let period = match (&p.period, bar.name) {
        (Some(raw), _) => Period::parse(raw)?,
        (None, "1d") => Period::days(p.days.unwrap_or(60).clamp(1, 1000)),
        (None, "1w") => Period::parse("2y")?,
        (None, "1month") => Period::parse("5y")?,
        (None, _) if bar.minutes() < 60 => Period::parse("1d")?,
        (None, _) => Period::parse("1w")?,
    };
    if p.outside_rth == Some(true) && !bar.is_intraday() {
        return Err(TradeError::validation("outside_rth: only intraday bars have pre- and post-market hours"));
    }
    HistoryRequest::new(bar, period, p.outside_rth.unwrap_or(false))
}

/// A `before` cursor: a date for day bars (midnight UTC), an RFC 3339 time for intraday ones.
fn cursor(raw: &str, intraday: bool) -> Option<chrono::DateTime<chrono::Utc>> {
    if intraday {
        chrono::DateTime::parse_from_rfc3339(raw).ok().map(|t| t.with_timezone(&chrono::Utc))
    } else {
        chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
    }
}
