//! The analyst tools' work: read live state through the ports, hand it to
//! `portfolio-analytics`, and shape the answer. Read-only; orders still go through preview and
//! the guards.

use std::collections::{BTreeMap, HashMap};

use portfolio_analytics::{
    book::{Holding, concentration, exposure_by, margin_breach_level, stress},
    fx::{CurrencyExposure, CurrencyHoldings, FxShock, currency_exposure, fx_stress},
    rebalance::{self, parse_targets},
    risk::{Z95, Z99, beta, historical_var, parametric_var, portfolio_pnl, weighted_beta},
    stats::{correlation_from_covariance, covariance_matrix, daily_returns, tail},
    technicals, to_f64, to_money,
};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::figures;
use trading_core::{
    account::{AccountSummary, AssetClass, Position},
    error::{ErrorCode, TradeError},
    options::{OptionQuote, OptionSymbol, Right},
    ports::Venue,
};

fn input_err(e: portfolio_analytics::AnalyticsError) -> TradeError {
    TradeError::validation(e.to_string())
}

/// The account as the analytics see it.
pub struct Book {
    pub summary: AccountSummary,
    pub positions: Vec<Position>,
    /// Shares and spot holdings in the account's currency: what the statistics measure.
    pub holdings: Vec<Holding>,
    /// Rows left out of the statistics, and why (an option, another currency).
    pub not_counted: Vec<String>,
    /// Every position and cash balance by currency, valued in the account's currency.
    pub currencies: Vec<CurrencyExposure>,
    /// What the currency view could not value (a missing rate), and where the cash came from.
    pub currency_notes: Vec<String>,
    /// What risk, stress and exposure measure: the shares, with each option on a held or
    /// listed stock added as its delta in shares of the underlying.
    pub measured: Vec<Holding>,
    /// How each option was counted ("SPY 2026-12-18 600 C: 45.2 SPY shares by delta 0.452").
    pub by_delta: Vec<String>,
}

/// An option position's terms as a contract name.
fn option_of(p: &Position) -> Result<OptionSymbol, String> {
    let d = p.derivative.as_ref().ok_or("no option terms")?;
    Ok(OptionSymbol {
        underlying: d.underlying.clone().ok_or("no underlying")?,
        expiry: d
            .expiry
            .as_deref()
            .and_then(|e| chrono::NaiveDate::parse_from_str(e, "%Y-%m-%d").ok())
            .ok_or("no expiry")?,
        strike: d.strike.ok_or("no strike")?.0,
        right: d.right.as_deref().and_then(Right::parse).ok_or("no right")?,
    })
}

/// Each option position's greeks and delta in shares of the underlying (quantity ×
/// multiplier × delta), asked of the venue in one batch; keyed by the position's index.
pub async fn option_greeks(
    venue: &dyn Venue,
    positions: &[Position],
) -> HashMap<usize, Result<(OptionSymbol, OptionQuote, Decimal), String>> {
    let mut out = HashMap::new();
    let mut asked = vec![];
    for (i, p) in positions.iter().enumerate().filter(|(_, p)| p.asset_class == AssetClass::Option) {
        match option_of(p) {
            Ok(o) => asked.push((i, o)),
            Err(e) => {
                out.insert(i, Err(e));
            }
        }
    }
    let list: Vec<(OptionSymbol, Option<String>)> =
        asked.iter().map(|(i, o)| (o.clone(), positions[*i].contract_id.clone())).collect();
    let quotes = venue.option_quotes(&list).await;
    for ((i, o), q) in asked.into_iter().zip(quotes) {
        let p = &positions[i];
        let r = q.map_err(|e| e.to_string()).and_then(|q| {
            let delta = q.delta.ok_or_else(|| q.note.clone().unwrap_or_else(|| "no delta from the venue".into()))?;
            let multiplier = p.derivative.as_ref().and_then(|d| d.multiplier).map(|m| m.0).unwrap_or(q.multiplier.0);
            let shares = (p.quantity.0 * multiplier * delta).round_dp(2);
            Ok((o, q, shares))
        });
        out.insert(i, r);
    }
    out
}

/// Reads the summary, the positions and each counted holding's sector. Options, futures,
/// broker crypto and rows in another currency are listed as not counted, never summed as
/// shares or as the account's currency.
pub async fn book(venue: &dyn Venue) -> Result<Book, TradeError> {
    let summary = venue.summary().await?;
    let positions = venue.positions().await?;
    let ccy = venue.capabilities().quote_currency;
    let mut holdings = Vec::with_capacity(positions.len());
    let mut not_counted = vec![];
    let mut deltas: Vec<(String, Decimal)> = vec![];
    let mut by_delta = vec![];
    let mut greeks = option_greeks(venue, &positions).await;
    for (i, p) in positions.iter().enumerate() {
        if p.asset_class == AssetClass::Option {
            match greeks.remove(&i).unwrap_or_else(|| Err("not asked".into())) {
                Ok((o, q, shares)) => {
                    by_delta.push(format!(
                        "{}: counted as {} {} shares by its delta {}",
                        p.symbol,
                        shares.normalize(),
                        o.underlying,
                        q.delta.unwrap_or_default()
                    ));
                    deltas.push((o.underlying, shares));
                }
                Err(e) => not_counted.push(format!("{} (option): no delta to count it by ({e})", p.symbol)),
            }
            continue;
        }
        if !p.is_tradable_as(&p.symbol) {
            not_counted.push(format!("{} ({}): no price history to measure", p.symbol, p.asset_class.as_str()));
            continue;
        }
        if let Some(other) = p.currency.as_deref().filter(|c| *c != ccy && *c != summary.currency) {
            not_counted.push(format!("{} (in {other}, not {ccy})", p.symbol));
            continue;
        }
        let price = match p.market_price {
            Some(px) => px.0,
            None => venue.quote(&p.symbol).await?.last.map(|x| x.0).unwrap_or_default(),
        };
        let sector = venue.sector(&p.symbol).await.unwrap_or(None);
        holdings.push(Holding {
            symbol: p.symbol.clone(),
            quantity: p.quantity.0,
            price,
            currency: ccy.clone(),
            sector,
        });
    }
    let mut measured = holdings.clone();
    for (underlying, shares) in deltas {
        match measured.iter_mut().find(|h| h.symbol == underlying) {
            Some(h) => h.quantity += shares,
            None => {
                let price = venue.quote(&underlying).await?.last.map(|x| x.0).unwrap_or_default();
                let sector = venue.sector(&underlying).await.unwrap_or(None);
                measured.push(Holding { symbol: underlying, quantity: shares, price, currency: ccy.clone(), sector });
            }
        }
    }
    let mut book = Book {
        summary,
        positions,
        holdings,
        not_counted,
        currencies: vec![],
        currency_notes: vec![],
        measured,
        by_delta,
    };
    currencies(venue, &mut book).await;
    Ok(book)
}

/// Positions (at market value, in their own currency) and cash by currency, converted to the
/// account's currency with the venue's rates. Cash comes from `cash_balances` where the venue
/// has it, else the summary's cash in the account's currency.
async fn currencies(venue: &dyn Venue, book: &mut Book) {
    let base = book.summary.currency.clone();
    let mut lines: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    for p in &book.positions {
        let ccy = p.currency.clone().unwrap_or_else(|| base.clone());
        let value = p
            .market_value
            .map(|m| m.0)
            .or_else(|| book.holdings.iter().find(|h| h.symbol == p.symbol).map(Holding::value));
        if let Some(v) = value {
            lines.entry(ccy).or_default().0 += v;
        }
    }
    match venue.cash_balances().await {
        Ok(c) => {
            for b in c.balances {
                lines.entry(b.currency).or_default().1 += b.cash.0;
            }
        }
        Err(_) => {
            lines.entry(base.clone()).or_default().1 += book.summary.cash.map(|m| m.0).unwrap_or_default();
            book.currency_notes.push(format!("cash by currency unavailable here: all cash counted in {base}"));
        }
    }
    let mut held = vec![];
    for (currency, (positions, cash)) in lines {
        let rate = if currency == base {
            Ok(trading_core::money::Price(Decimal::ONE))
        } else {
            venue.fx_rate(&currency, &base).await
        };
        match rate {
            Ok(r) => held.push(CurrencyHoldings { currency, positions, cash, rate_to_base: r.0 }),
            Err(e) => book.currency_notes.push(format!("{currency} left out: no rate to {base} ({e})")),
        }
    }
    book.currencies = currency_exposure(&held, equity(book));
}

fn equity(b: &Book) -> Decimal {
    b.summary.net_liquidation.map(|m| m.0).unwrap_or_else(|| {
        b.summary.cash.map(|m| m.0).unwrap_or_default() + b.holdings.iter().map(Holding::value).sum::<Decimal>()
    })
}

/// Daily closes as f64 (statistics side of the boundary).
async fn closes(venue: &dyn Venue, symbol: &str, days: u32) -> Result<Vec<f64>, TradeError> {
    Ok(venue.bars(symbol, days).await?.iter().map(|b| to_f64(b.close.0)).collect())
}

/// Daily closes of every holding and of `extra` symbols, read once for all the analytics
/// that need them (keyed by symbol).
pub async fn history(
    venue: &dyn Venue,
    book: &Book,
    extra: &[&str],
    days: u32,
) -> Result<HashMap<String, Vec<f64>>, TradeError> {
    let mut out = HashMap::new();
    for sym in book.measured.iter().map(|h| h.symbol.as_str()).chain(extra.iter().copied()) {
        if !out.contains_key(sym) {
            out.insert(sym.to_string(), closes(venue, sym, days).await?);
        }
    }
    Ok(out)
}

/// VaR (parametric and historical), correlation and beta over `lookback` days.
pub async fn risk_report(venue: &dyn Venue, book: &Book, lookback: u32, benchmark: &str) -> Result<Value, TradeError> {
    if book.measured.is_empty() {
        return Ok(json!({ "positions": 0, "note": "no positions: nothing is at risk" }));
    }
    let closes = history(venue, book, &[benchmark], lookback + 1).await?;
    risk_from(book, &closes, lookback, benchmark)
}

/// [`risk_report`] over closes already read.
pub fn risk_from(
    book: &Book,
    closes: &HashMap<String, Vec<f64>>,
    lookback: u32,
    benchmark: &str,
) -> Result<Value, TradeError> {
    if book.measured.is_empty() {
        return Ok(json!({ "positions": 0, "note": "no positions: nothing is at risk" }));
    }
    let returns_of = |s: &str| daily_returns(closes.get(s).map(Vec::as_slice).unwrap_or_default());
    let exposures: Vec<f64> = book.measured.iter().map(|h| to_f64(h.value())).collect();
    let returns: Vec<Vec<f64>> = book.measured.iter().map(|h| returns_of(&h.symbol)).collect();
    let bench = returns_of(benchmark);
    let n = returns.iter().map(Vec::len).chain([bench.len()]).min().unwrap_or(0).min(lookback as usize);
    let mut warnings = vec![];
    if n < lookback as usize {
        warnings.push(format!("only {n} days of common history (asked for {lookback}): the figures are less reliable"));
    }
    if n < 30 {
        warnings.push("fewer than 30 observations: treat VaR and beta as rough".to_string());
    }
    if n < 2 {
        return Err(TradeError::new(ErrorCode::VenueError, "not enough price history to measure risk"));
    }
    let window: Vec<Vec<f64>> = returns.iter().map(|r| tail(r, n).to_vec()).collect();
    let b = tail(&bench, n);
    let cov = covariance_matrix(&window);
    let corr = correlation_from_covariance(&cov);
    let (p95, p99) = (parametric_var(&exposures, &cov, Z95), parametric_var(&exposures, &cov, Z99));
    let pnl = portfolio_pnl(&exposures, &window);
    let betas: Vec<Option<f64>> = window.iter().map(|r| beta(r, b)).collect();
    let known: Vec<f64> = betas.iter().map(|x| x.unwrap_or(0.0)).collect();
    let symbols: Vec<&str> = book.measured.iter().map(|h| h.symbol.as_str()).collect();
    Ok(json!({
        "lookback_days": lookback,
        "observations": n,
        "one_day_var": {
            "method": "parametric (covariance, zero mean) and historical (empirical quantile of the book's P&L)",
            "parametric_95": to_money(p95.var), "parametric_99": to_money(p99.var),
            "historical_95": historical_var(&pnl, 95.0).map(to_money), "historical_99": historical_var(&pnl, 99.0).map(to_money),
            "components": symbols.iter().zip(p95.components.iter().zip(&p99.components)).map(|(s, (c95, c99))| json!({ "symbol": s, "var_95": to_money(*c95), "var_99": to_money(*c99) })).collect::<Vec<_>>(),
        },
        "correlation": { "symbols": symbols, "matrix": corr.iter().map(|row| row.iter().map(|x| figures::ratio(*x)).collect::<Vec<_>>()).collect::<Vec<_>>() },
        "beta": {
            "benchmark": benchmark,
            "per_position": symbols.iter().zip(&betas).map(|(s, b)| json!({ "symbol": s, "beta": b.and_then(figures::ratio) })).collect::<Vec<_>>(),
            "weighted": figures::ratio(weighted_beta(&exposures, &known)),
        },
        "currency": book.measured.first().map(|h| h.currency.clone()),
        "warnings": warnings,
    }))
}

/// Drawdown scenarios, the margin breach level and, when asked, FX shocks alone and after
/// each drawdown.
pub fn stress_test(book: &Book, drawdowns: &[Decimal], fx_shocks: &[String]) -> Result<Value, TradeError> {
    let shocks: Vec<FxShock> =
        fx_shocks.iter().map(|s| FxShock::parse(s)).collect::<Result<_, _>>().map_err(input_err)?;
    let eq = equity(book);
    let maint = book.summary.maintenance_margin.map(|m| m.0);
    let scenarios: Vec<_> = drawdowns.iter().map(|d| stress(&book.measured, eq, *d, maint)).collect();
    let mut v = json!({
        "equity": eq.round_dp(2),
        "maintenance_margin": maint,
        "scenarios": scenarios,
        "margin_breach_at_drawdown_pct": maint.and_then(|m| margin_breach_level(&book.measured, eq, m, Decimal::ONE)),
        "note": if maint.is_none() { "the venue reports no maintenance margin (a cash account): no margin breach to find" } else { "breach level found by stepping the drawdown 1% at a time" },
    });
    if !shocks.is_empty() {
        let base = book.summary.currency.as_str();
        let alone: Vec<_> = shocks.iter().map(|s| fx_stress(&book.currencies, base, s, eq, Decimal::ONE)).collect();
        let combined: Vec<Value> = drawdowns
            .iter()
            .flat_map(|d| {
                let market = stress(&book.measured, eq, *d, maint);
                let factor = Decimal::ONE - *d / Decimal::ONE_HUNDRED;
                shocks.iter().map(move |s| {
                    let fx = fx_stress(&book.currencies, base, s, market.stressed_equity, factor);
                    json!({ "drawdown_pct": d, "fx_shock": fx.shock, "loss": (market.loss + fx.loss).round_dp(2), "stressed_equity": fx.stressed_equity })
                })
            })
            .collect();
        let foreign = book.currencies.iter().any(|c| c.currency != base && !c.net.is_zero());
        v["fx"] = json!({
            "base_currency": base,
            "by_currency": book.currencies,
            "scenarios": alone,
            "with_drawdown": combined,
            "note": if foreign {
                "the drawdown moves positions (in every currency), then the FX shock moves what is held outside the base currency; cash moves only with FX".to_string()
            } else {
                format!("everything is held in {base}: an FX shock does not change this book's value in {base}")
            },
            "left_out": book.currency_notes,
        });
    }
    Ok(v)
}

/// Exposure by sector and currency, and concentration.
pub fn exposure(book: &Book, top_n: usize) -> Value {
    json!({
        "by_sector": exposure_by(&book.measured, |h| h.sector.clone().unwrap_or_else(|| "Unknown".into())),
        "by_currency": book.currencies,
        "by_currency_note": "every position (options at market value) and cash balance, in the account's currency",
        "currency_notes": book.currency_notes,
        "concentration": concentration(&book.measured, top_n),
        "equity": equity(book).round_dp(2),
    })
}

/// A rebalance plan toward `targets` ("SYM:PCT,...").
pub async fn rebalance_plan(
    venue: &dyn Venue,
    book: &Book,
    targets: &str,
    fractional: bool,
) -> Result<Value, TradeError> {
    let t = parse_targets(targets).map_err(input_err)?;
    let missing: Vec<String> =
        t.iter().filter(|x| !book.holdings.iter().any(|h| h.symbol == x.symbol)).map(|x| x.symbol.clone()).collect();
    let mut prices = HashMap::new();
    if !missing.is_empty() {
        for q in venue.quotes(&missing).await? {
            if let Some(p) = q.ask.or(q.last) {
                prices.insert(q.symbol, p.0);
            }
        }
    }
    let cash = book.summary.cash.or(book.summary.available_funds).map(|m| m.0).unwrap_or_default();
    let plan = rebalance::plan(&t, &book.holdings, &prices, equity(book), cash, fractional).map_err(input_err)?;
    let mut v = serde_json::to_value(plan).unwrap_or(Value::Null);
    v["next_step"] = json!(
        "This is a plan only: place each order with preview_order and the order tools; every guard still applies."
    );
    Ok(v)
}

/// SMA, EMA, RSI, MACD and Bollinger bands for one symbol.
pub async fn technicals(venue: &dyn Venue, symbol: &str, days: u32) -> Result<Value, TradeError> {
    let c = closes(venue, symbol, days.max(30)).await?;
    let last = c.last().copied();
    let round = |x: Option<f64>| x.and_then(figures::price);
    let sma50 = technicals::sma(&c, 50);
    let sma200 = technicals::sma(&c, 200);
    let trend = match (last, sma50, sma200) {
        (Some(l), Some(a), Some(b)) if l > a && a > b => "uptrend (price above SMA50 above SMA200)",
        (Some(l), Some(a), Some(b)) if l < a && a < b => "downtrend (price below SMA50 below SMA200)",
        (Some(_), Some(_), Some(_)) => "mixed",
        _ => "not enough history for SMA200",
    };
    Ok(json!({
        "symbol": symbol,
        "bars": c.len(),
        "last_close": round(last),
        "sma_20": round(technicals::sma(&c, 20)), "sma_50": round(sma50), "sma_200": round(sma200),
        "ema_12": round(technicals::ema(&c, 12)), "ema_26": round(technicals::ema(&c, 26)),
        "rsi_14": technicals::rsi(&c, 14).and_then(figures::index),
        "macd_12_26_9": technicals::macd(&c).map(|m| json!({ "macd": figures::price(m.macd), "signal": figures::price(m.signal), "histogram": figures::price(m.histogram) })),
        "bollinger_20_2": technicals::bollinger(&c, 20, 2.0).map(|b| json!({ "lower": figures::price(b.lower), "middle": figures::price(b.middle), "upper": figures::price(b.upper) })),
        "trend": trend,
    }))
}

/// What was bought today per symbol: quantity and what it cost, from the venue's fills.
pub type BoughtToday = HashMap<String, (Decimal, Decimal)>;

/// Day movers: change of each holding's last close against the previous one, from closes
/// already read. Shares bought today gained or lost from what they cost, not from yesterday's
/// close (they were not held then).
pub fn movers(book: &Book, closes: &HashMap<String, Vec<f64>>, bought_today: &BoughtToday) -> Vec<Value> {
    let mut out = vec![];
    for h in &book.holdings {
        let c = closes.get(&h.symbol).map(Vec::as_slice).unwrap_or_default();
        if let [prev, last] = c[c.len().saturating_sub(2)..]
            && prev > 0.0
        {
            let pct = (last / prev - 1.0) * 100.0;
            let held = to_f64(h.quantity);
            let (new, cost) = match bought_today.get(&h.symbol) {
                Some(&(q, cost)) if q > Decimal::ZERO && h.quantity > Decimal::ZERO => {
                    let new = q.min(h.quantity);
                    (new, to_f64(cost / q * new))
                }
                _ => (Decimal::ZERO, 0.0),
            };
            let pnl = (held - to_f64(new)) * (last - prev) + (to_f64(new) * last - cost);
            let mut m = json!({ "symbol": h.symbol, "change_pct": figures::percent(pct), "pnl_today": to_money(pnl) });
            if new > Decimal::ZERO {
                m["bought_today"] = json!(new.normalize().to_string());
            }
            out.push((pct.abs(), m));
        }
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.into_iter().map(|(_, m)| m).collect()
}
