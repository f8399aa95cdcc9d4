//! The analytics toolset: risk, stress, exposure, rebalancing, technicals and the briefing.

use rmcp::{handler::server::wrapper::Parameters, model::CallToolResult, tool, tool_router};
use rust_decimal::Decimal;
use trading_core::error::{ErrorCode, TradeError};

use crate::{
    TradingServer, analytics,
    envelope::{fail, ok, respond},
    equity::drawdown,
    params::*,
    server::with_not_counted,
};

#[tool_router(router = analytics_router, vis = "pub(crate)")]
impl TradingServer {
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
    /// and the drawdown at which equity would breach the maintenance margin; with `fx_shock`
    /// (e.g. ["USD +5%"]) also what a currency move does, alone and after each drawdown.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn stress_test(&self, Parameters(p): Parameters<StressParams>) -> CallToolResult {
        let d: Vec<Decimal> = p
            .drawdown_pct
            .map(|v| v.into_iter().map(|q| q.0).collect())
            .unwrap_or_else(|| [10, 20, 30, 40].map(Decimal::from).to_vec());
        if d.is_empty() || d.iter().any(|x| *x <= Decimal::ZERO || *x > Decimal::ONE_HUNDRED) {
            return fail(TradeError::validation("drawdown_pct: give percentages between 0 and 100"));
        }
        let shocks = p.fx_shock.unwrap_or_default();
        match analytics::book(self.broker.venue().as_ref()).await {
            Ok(b) => respond(analytics::stress_test(&b, &d, &shocks).map(|v| with_not_counted(v, &b))),
            Err(e) => fail(e),
        }
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

    /// Everything about one holding in one call: the position (shares, and options on it with
    /// their terms), cost basis, weight in the account, P&L, a quote, technicals, the last 10
    /// day bars, contract details and the open orders on it.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn position_detail(&self, Parameters(p): Parameters<SymbolParams>) -> CallToolResult {
        let sym = match self.broker.canonical_symbol(&p.symbol) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        let venue = self.broker.venue();
        let (summary, positions) = match (venue.summary().await, venue.positions().await) {
            (Ok(s), Ok(p)) => (s, p),
            (Err(e), _) | (_, Err(e)) => return fail(e.into()),
        };
        let shares = positions.iter().find(|x| x.is_tradable_as(&sym));
        let derivatives: Vec<_> = positions
            .iter()
            .filter(|x| x.derivative.as_ref().and_then(|d| d.underlying.as_deref()) == Some(sym.as_str()))
            .collect();
        let nlv = summary.net_liquidation.map(|m| m.0).filter(|v| !v.is_zero());
        let weight =
            shares.and_then(|x| x.market_value).zip(nlv).map(|(v, n)| (v.0 / n * Decimal::ONE_HUNDRED).round_dp(2));
        let cost_basis = shares.and_then(|x| x.avg_cost.map(|c| (c.0 * x.quantity.0).round_dp(2)));
        let quote = venue.quote(&sym).await.map_err(|e| e.to_string());
        let technicals = analytics::technicals(venue.as_ref(), &sym, 250).await.map_err(|e| e.message);
        let bars = venue.bars(&sym, 10).await.map_err(|e| e.to_string());
        let details = venue.contract_details(&sym).await.map_err(|e| e.to_string());
        let orders: Vec<_> =
            venue.open_orders().await.map(|o| o.into_iter().filter(|x| x.symbol == sym).collect()).unwrap_or_default();
        let unwrap =
            |r: Result<serde_json::Value, String>| r.unwrap_or_else(|e| serde_json::json!({ "unavailable": e }));
        ok(serde_json::json!({
            "symbol": sym,
            "held": shares.is_some() || !derivatives.is_empty(),
            "position": shares,
            "cost_basis": cost_basis,
            "weight_pct": weight,
            "unrealized_pnl": shares.and_then(|x| x.unrealized_pnl),
            "derivatives": derivatives,
            "quote": unwrap(quote.map(|q| serde_json::json!(q))),
            "technicals": unwrap(technicals),
            "recent_bars": unwrap(bars.map(|b| serde_json::json!(b))),
            "contract": unwrap(details),
            "open_orders": orders,
            "account_currency": summary.currency,
        }))
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
        let bought = self.bought_today().await;
        let movers = match &closes {
            Ok(c) => analytics::movers(&book, c, &bought),
            Err(_) => analytics::history(venue.as_ref(), &book, &[], 61)
                .await
                .map(|c| analytics::movers(&book, &c, &bought))
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
        let beta = risk.as_ref().ok().and_then(|r| r["beta"]["weighted"].as_str().and_then(|b| b.parse::<f64>().ok()));
        let open_n = open.as_ref().map(Vec::len).ok();
        let approval = self.approval_mode();
        let daily = self.daily_pnl().await;
        // Other accounts of the login, summed in the trading account's currency.
        let all_accounts = crate::accounts::when_several(venue.as_ref()).await;
        let today = match &daily {
            crate::outputs::PnlAnswer::Pnl(p) => p.daily.map(|m| m.0),
            crate::outputs::PnlAnswer::Unavailable { .. } => None,
        };
        let headline = format!(
            "{} {} {} · equity {} · today {} · unrealized {} · {} position(s){} · 1-day VaR95 {} · beta {} · {} open order(s) · approval {} · {}",
            venue.name(),
            account_type,
            identity.as_ref().and_then(|i| i.account_id.clone()).unwrap_or_default(),
            money(book.summary.net_liquidation.map(|m| m.0)),
            money(today),
            money(Some(unrealized)),
            book.holdings.len(),
            conc.weights.first().map(|w| format!(", largest {} {}%", w.symbol, w.weight_pct)).unwrap_or_default(),
            money(var95),
            beta.map(|b| format!("{b:.2}")).unwrap_or("-".into()),
            open_n.map(|n| n.to_string()).unwrap_or("?".into()),
            approval["mode"].as_str().unwrap_or("?"),
            if posture.safe_to_trade {
                "safe to trade".to_string()
            } else {
                format!("trade stops: {}", posture.trade_stops.join("; "))
            },
        );
        let headline = match &all_accounts {
            Some(all) => format!(
                "{headline} · all {} accounts {}",
                all["accounts"].as_array().map(Vec::len).unwrap_or(0),
                money(all["total_net_liquidation"].as_str().and_then(|v| v.parse().ok()))
            ),
            None => headline,
        };
        if p.compact.unwrap_or(false) {
            return ok(serde_json::json!({ "summary": headline, "movers": movers.iter().take(3).collect::<Vec<_>>() }));
        }
        ok(serde_json::json!({
            "summary": headline,
            "connection": venue.session().await.unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() })),
            "account": { "type": account_type, "identity": identity, "summary": book.summary, "unrealized_pnl": unrealized.round_dp(2).to_string(), "daily_pnl": daily },
            "positions": book.positions,
            "weights": conc.weights,
            "hhi": conc.hhi,
            "not_counted": book.not_counted,
            "movers": movers,
            "risk": risk.unwrap_or_else(|e| serde_json::json!({ "error": format!("VaR and beta (against {bench}) unavailable: {}", e.message) })),
            "open_orders": open.unwrap_or_default(),
            "posture": posture,
            "approval": approval,
            "all_accounts": all_accounts,
        }))
    }
}

impl TradingServer {
    /// Today's buys per symbol (the journal's trading day), from the venue's fills.
    async fn bought_today(&self) -> analytics::BoughtToday {
        let journal = self.broker.journal();
        let today = journal.day_of(self.broker.now());
        let mut out = analytics::BoughtToday::new();
        for f in self.broker.venue().fills().await.unwrap_or_default() {
            if f.side == trading_core::order::Side::Buy && journal.day_of(f.time) == today {
                let e = out.entry(f.symbol.clone()).or_default();
                e.0 += f.quantity.0;
                e.1 += f.quantity.0 * f.price.0;
            }
        }
        out
    }
}
