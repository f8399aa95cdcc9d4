//! Concentration, exposure by sector and currency, and drawdown stress, over holdings valued
//! in Decimal (converted to f64 only inside the statistics, at [`crate::to_f64`]).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

/// One position, valued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Holding {
    pub symbol: String,
    /// Signed: negative for a short.
    pub quantity: Decimal,
    pub price: Decimal,
    pub currency: String,
    pub sector: Option<String>,
}

impl Holding {
    /// Signed market value.
    pub fn value(&self) -> Decimal {
        self.quantity * self.price
    }
}

fn pct(part: Decimal, whole: Decimal) -> Decimal {
    if whole.is_zero() { Decimal::ZERO } else { (part / whole * Decimal::ONE_HUNDRED).round_dp(2) }
}

fn gross(h: &[Holding]) -> Decimal {
    h.iter().map(|x| x.value().abs()).sum()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Weight {
    pub symbol: String,
    pub value: Decimal,
    /// Share of gross exposure, in percent.
    pub weight_pct: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Concentration {
    pub gross_exposure: Decimal,
    /// Largest first.
    pub weights: Vec<Weight>,
    pub top_n: usize,
    pub top_n_pct: Decimal,
    /// Herfindahl–Hirschman index on 0–10,000 (10,000 = one position).
    pub hhi: Decimal,
    pub effective_positions: Decimal,
}

/// Weights on gross exposure, the top `n`, and the HHI.
pub fn concentration(holdings: &[Holding], n: usize) -> Concentration {
    let g = gross(holdings);
    let mut weights: Vec<Weight> = holdings
        .iter()
        .map(|h| Weight { symbol: h.symbol.clone(), value: h.value().round_dp(2), weight_pct: pct(h.value().abs(), g) })
        .collect();
    weights.sort_by_key(|w| std::cmp::Reverse(w.value.abs()));
    let hhi: Decimal = if g.is_zero() {
        Decimal::ZERO
    } else {
        holdings
            .iter()
            .map(|h| {
                let w = h.value().abs() / g * Decimal::ONE_HUNDRED;
                w * w
            })
            .sum()
    };
    let top_n_pct = weights.iter().take(n).map(|w| w.weight_pct).sum();
    let effective = if hhi.is_zero() { Decimal::ZERO } else { (Decimal::from(10_000) / hhi).round_dp(2) };
    Concentration {
        gross_exposure: g.round_dp(2),
        weights,
        top_n: n,
        top_n_pct,
        hhi: hhi.round_dp(2),
        effective_positions: effective,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub key: String,
    /// Net (signed) value.
    pub net_value: Decimal,
    pub gross_value: Decimal,
    /// Share of the book's gross exposure, in percent.
    pub weight_pct: Decimal,
    pub symbols: Vec<String>,
}

/// Exposure grouped by `key` (sector, currency), largest first.
pub fn exposure_by(holdings: &[Holding], key: impl Fn(&Holding) -> String) -> Vec<Bucket> {
    let g = gross(holdings);
    let mut m: BTreeMap<String, (Decimal, Decimal, Vec<String>)> = BTreeMap::new();
    for h in holdings {
        let e = m.entry(key(h)).or_default();
        e.0 += h.value();
        e.1 += h.value().abs();
        e.2.push(h.symbol.clone());
    }
    let mut out: Vec<Bucket> = m
        .into_iter()
        .map(|(k, (net, gv, symbols))| Bucket {
            key: k,
            net_value: net.round_dp(2),
            gross_value: gv.round_dp(2),
            weight_pct: pct(gv, g),
            symbols,
        })
        .collect();
    out.sort_by_key(|b| std::cmp::Reverse(b.gross_value));
    out
}

/// One drawdown scenario: every price falls by `drawdown_pct`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Scenario {
    pub drawdown_pct: Decimal,
    /// Loss in money (negative when shorts gain more than longs lose).
    pub loss: Decimal,
    pub stressed_equity: Decimal,
    pub equity_change_pct: Decimal,
    /// Whether equity would fall below the maintenance margin (when it is known).
    pub margin_breached: Option<bool>,
}

/// Maintenance requirement after a fall of `d` (a fraction): it moves with each position's value.
fn maintenance_after(holdings: &[Holding], maintenance: Decimal, d: Decimal) -> Decimal {
    let g = gross(holdings);
    if g.is_zero() {
        return maintenance;
    }
    let after: Decimal = holdings.iter().map(|h| (h.value() * (Decimal::ONE - d)).abs()).sum();
    maintenance * after / g
}

/// Loss = exposure × drawdown for each position; stressed equity = equity − loss.
pub fn stress(holdings: &[Holding], equity: Decimal, drawdown_pct: Decimal, maintenance: Option<Decimal>) -> Scenario {
    let d = drawdown_pct / Decimal::ONE_HUNDRED;
    let loss: Decimal = holdings.iter().map(|h| h.value() * d).sum();
    let stressed = equity - loss;
    Scenario {
        drawdown_pct,
        loss: loss.round_dp(2),
        stressed_equity: stressed.round_dp(2),
        equity_change_pct: pct(-loss, equity),
        margin_breached: maintenance.map(|m| stressed < maintenance_after(holdings, m, d)),
    }
}

/// The smallest market-wide drawdown, stepping by `step_pct` up to 100%, at which equity falls
/// below the maintenance margin; none when no step breaches.
pub fn margin_breach_level(
    holdings: &[Holding],
    equity: Decimal,
    maintenance: Decimal,
    step_pct: Decimal,
) -> Option<Decimal> {
    if step_pct <= Decimal::ZERO {
        return None;
    }
    let mut d = Decimal::ZERO;
    while d <= Decimal::ONE_HUNDRED {
        if stress(holdings, equity, d, Some(maintenance)).margin_breached == Some(true) {
            return Some(d);
        }
        d += step_pct;
    }
    None
}
