//! Currency exposure and FX shocks: what the book holds in each currency, valued in the base
//! currency, and what a currency move does to that value.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::AnalyticsError;

/// Money held in one currency: positions and cash in that currency, each in the currency's own
/// units, and the rate to the base currency (base units per unit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrencyHoldings {
    pub currency: String,
    pub positions: Decimal,
    pub cash: Decimal,
    pub rate_to_base: Decimal,
}

/// One currency's share of the book, valued in the base currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CurrencyExposure {
    pub currency: String,
    pub rate_to_base: Decimal,
    pub positions: Decimal,
    pub cash: Decimal,
    /// Positions plus cash.
    pub net: Decimal,
    pub pct_of_equity: Decimal,
}

fn pct(part: Decimal, whole: Decimal) -> Decimal {
    if whole.is_zero() { Decimal::ZERO } else { (part / whole * Decimal::ONE_HUNDRED).round_dp(2) }
}

/// Each currency in the base currency, largest net first.
pub fn currency_exposure(lines: &[CurrencyHoldings], equity: Decimal) -> Vec<CurrencyExposure> {
    let mut out: Vec<CurrencyExposure> = lines
        .iter()
        .map(|l| {
            let positions = (l.positions * l.rate_to_base).round_dp(2);
            let cash = (l.cash * l.rate_to_base).round_dp(2);
            CurrencyExposure {
                currency: l.currency.clone(),
                rate_to_base: l.rate_to_base,
                positions,
                cash,
                net: positions + cash,
                pct_of_equity: pct(positions + cash, equity),
            }
        })
        .collect();
    out.sort_by_key(|e| std::cmp::Reverse(e.net.abs()));
    out
}

/// A currency's move against the others: "USD +5%" (the dollar strengthens 5%), "EUR -10%".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FxShock {
    pub currency: String,
    pub pct: Decimal,
}

impl FxShock {
    pub fn parse(raw: &str) -> Result<FxShock, AnalyticsError> {
        let bad = || {
            AnalyticsError::Input(format!(
                "fx_shock: '{raw}' is not a currency and a signed percentage, e.g. \"USD +5%\" or \"EUR -10%\""
            ))
        };
        let mut parts = raw.split_whitespace();
        let (Some(ccy), Some(move_), None) = (parts.next(), parts.next(), parts.next()) else { return Err(bad()) };
        if ccy.len() != 3 || !ccy.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(bad());
        }
        let pct: Decimal = move_.trim_end_matches('%').trim_start_matches('+').parse().map_err(|_| bad())?;
        if pct <= Decimal::from(-100) || pct > Decimal::from(100) || pct.is_zero() {
            return Err(AnalyticsError::Input(format!(
                "fx_shock: '{raw}': the move must be between -100% and +100%, not 0"
            )));
        }
        Ok(FxShock { currency: ccy.to_ascii_uppercase(), pct })
    }
}

/// What one FX shock does to the book, in the base currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FxScenario {
    pub shock: String,
    /// Loss in the base currency (negative: a gain).
    pub loss: Decimal,
    pub stressed_equity: Decimal,
    pub equity_change_pct: Decimal,
    /// Each moved currency's change of value, in the base currency.
    pub by_currency: Vec<(String, Decimal)>,
}

/// The base currency strengthening by p makes every other currency worth 1/(1+p) as much;
/// another currency moving by p changes its own holdings by p. `positions_factor` scales the
/// positions first (a market drawdown applied before the currency move).
pub fn fx_stress(
    exposure: &[CurrencyExposure],
    base: &str,
    shock: &FxShock,
    equity: Decimal,
    positions_factor: Decimal,
) -> FxScenario {
    let p = shock.pct / Decimal::ONE_HUNDRED;
    let mut by_currency = vec![];
    for e in exposure.iter().filter(|e| e.currency != base) {
        let change_factor = if shock.currency == base {
            Decimal::ONE / (Decimal::ONE + p) - Decimal::ONE
        } else if shock.currency == e.currency {
            p
        } else {
            continue;
        };
        let value = e.positions * positions_factor + e.cash;
        by_currency.push((e.currency.clone(), (value * change_factor).round_dp(2)));
    }
    let gain: Decimal = by_currency.iter().map(|(_, c)| *c).sum();
    FxScenario {
        shock: format!(
            "{} {}{}%",
            shock.currency,
            if shock.pct > Decimal::ZERO { "+" } else { "" },
            shock.pct.normalize()
        ),
        loss: if gain.is_zero() { Decimal::ZERO } else { -gain },
        stressed_equity: (equity + gain).round_dp(2),
        equity_change_pct: pct(gain, equity),
        by_currency,
    }
}

#[cfg(test)]
#[path = "fx_tests.rs"]
mod tests;
