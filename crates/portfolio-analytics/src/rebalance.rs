//! The rebalance planner: from `SYM:PCT` targets and the book, the orders that would reach them.
//! A plan only: orders still go through preview and the guards.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::{AnalyticsError, book::Holding};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    pub symbol: String,
    pub pct: Decimal,
}

/// Parses "AAPL:40, MSFT:30,SPY:30".
pub fn parse_targets(raw: &str) -> Result<Vec<Target>, AnalyticsError> {
    let mut out: Vec<Target> = vec![];
    for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = || AnalyticsError::Input(format!("targets: '{item}' is not SYMBOL:PERCENT (e.g. AAPL:40)"));
        let (sym, p) = item.split_once(':').ok_or_else(bad)?;
        let sym = sym.trim().to_ascii_uppercase();
        let pct: Decimal = p.trim().trim_end_matches('%').parse().map_err(|_| bad())?;
        if sym.is_empty() || !(Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&pct) {
            return Err(AnalyticsError::Input(format!("targets: '{item}' needs a symbol and a percent from 0 to 100")));
        }
        if out.iter().any(|t| t.symbol == sym) {
            return Err(AnalyticsError::Input(format!("targets: {sym} is listed twice")));
        }
        out.push(Target { symbol: sym, pct });
    }
    if out.is_empty() {
        return Err(AnalyticsError::Input("targets: give at least one SYMBOL:PERCENT".into()));
    }
    Ok(out)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanLine {
    pub symbol: String,
    pub price: Decimal,
    pub current_quantity: Decimal,
    pub current_value: Decimal,
    pub current_pct: Decimal,
    pub target_pct: Decimal,
    pub target_value: Decimal,
    /// "BUY", "SELL", or none when already on target.
    pub side: Option<String>,
    pub quantity: Decimal,
    pub order_value: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub equity: Decimal,
    pub lines: Vec<PlanLine>,
    /// Cash left after the plan (negative: it needs margin).
    pub cash_after: Decimal,
    pub warnings: Vec<String>,
}

/// Plans orders so each target ends at `pct` of `equity`. Held symbols without a target go to
/// 0%. Whole shares round toward zero (never overshoot); fractional ones to 4 decimals.
pub fn plan(
    targets: &[Target],
    holdings: &[Holding],
    prices: &HashMap<String, Decimal>,
    equity: Decimal,
    cash: Decimal,
    fractional: bool,
) -> Result<Plan, AnalyticsError> {
    if equity <= Decimal::ZERO {
        return Err(AnalyticsError::Input("the account has no equity to rebalance".into()));
    }
    let mut warnings = vec![];
    let sum: Decimal = targets.iter().map(|t| t.pct).sum();
    if sum < Decimal::ONE_HUNDRED {
        warnings.push(format!(
            "targets sum to {}%: the other {}% stays in cash",
            sum.normalize(),
            (Decimal::ONE_HUNDRED - sum).normalize()
        ));
    } else if sum > Decimal::ONE_HUNDRED {
        warnings.push(format!(
            "targets sum to {}%: more than the account's equity, the plan needs margin",
            sum.normalize()
        ));
    }
    let held: BTreeMap<&str, &Holding> = holdings.iter().map(|h| (h.symbol.as_str(), h)).collect();
    let mut all: Vec<Target> = targets.to_vec();
    for h in holdings {
        if !targets.iter().any(|t| t.symbol == h.symbol) {
            warnings.push(format!("{} is held but has no target: the plan sells it to 0%", h.symbol));
            all.push(Target { symbol: h.symbol.clone(), pct: Decimal::ZERO });
        }
    }
    let mut lines = vec![];
    let mut cash_after = cash;
    for t in &all {
        let price = held
            .get(t.symbol.as_str())
            .map(|h| h.price)
            .or_else(|| prices.get(&t.symbol).copied())
            .filter(|p| *p > Decimal::ZERO);
        let price = price.ok_or_else(|| AnalyticsError::Input(format!("no price for {}: cannot plan it", t.symbol)))?;
        let qty_now = held.get(t.symbol.as_str()).map(|h| h.quantity).unwrap_or_default();
        let value_now = qty_now * price;
        let target_value = equity * t.pct / Decimal::ONE_HUNDRED;
        let raw = (target_value - value_now) / price;
        let qty = if fractional { raw.round_dp_with_strategy(4, RoundingStrategy::ToZero) } else { raw.trunc() };
        let side = match qty.cmp(&Decimal::ZERO) {
            std::cmp::Ordering::Greater => Some("BUY".to_string()),
            std::cmp::Ordering::Less => Some("SELL".to_string()),
            std::cmp::Ordering::Equal => None,
        };
        let order_value = (qty * price).round_dp(2);
        cash_after -= order_value;
        lines.push(PlanLine {
            symbol: t.symbol.clone(),
            price,
            current_quantity: qty_now,
            current_value: value_now.round_dp(2),
            current_pct: (value_now / equity * Decimal::ONE_HUNDRED).round_dp(2),
            target_pct: t.pct,
            target_value: target_value.round_dp(2),
            side,
            quantity: qty.abs(),
            order_value: order_value.abs(),
        });
    }
    if cash_after < Decimal::ZERO {
        warnings.push(format!("the plan spends {} more cash than the account has", (-cash_after).round_dp(2)));
    }
    Ok(Plan { equity: equity.round_dp(2), lines, cash_after: cash_after.round_dp(2), warnings })
}
