//! A market's trading rules in Decimal, and the crossing to ccxt's f64: amounts cut to the
//! market's step (truncated, so a quantity never grows) and prices to its tick (buys rounded
//! down, sells up, so a limit never gets worse than the one approved).

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use trading_core::{error::VenueError, money::fmt_money, order::Side};

/// A market's trading rules, in Decimal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketRules {
    pub symbol: String,
    pub base: String,
    pub quote: String,
    pub active: bool,
    pub amount_step: Option<Decimal>,
    pub price_tick: Option<Decimal>,
    pub min_amount: Option<Decimal>,
    pub max_amount: Option<Decimal>,
    pub min_cost: Option<Decimal>,
    pub taker_fee: Option<Decimal>,
}

/// An f64 from ccxt as the decimal it prints as (ccxt parsed it from the exchange's string,
/// and the shortest round-trip form gives that string back).
pub fn dec(f: f64) -> Option<Decimal> {
    if !f.is_finite() {
        return None;
    }
    Decimal::from_str(&f.to_string()).ok().or_else(|| Decimal::from_scientific(&format!("{f:e}")).ok())
}

pub(crate) fn dec_opt(f: Option<f64>) -> Option<Decimal> {
    f.and_then(dec)
}

/// The f64 ccxt takes, from a Decimal's exact digits.
pub fn float(d: Decimal) -> Result<f64, VenueError> {
    d.normalize().to_string().parse::<f64>().map_err(|_| VenueError::InvalidRequest(format!("{d} is not a number")))
}

/// Truncates `v` to a multiple of `step` (quantities never grow).
pub fn floor_to_step(v: Decimal, step: Option<Decimal>) -> Decimal {
    match step.filter(|s| *s > Decimal::ZERO) {
        Some(s) => ((v / s).trunc() * s).normalize(),
        None => v,
    }
}

/// Rounds a limit price to the tick in the trader's favour: buys down, sells up.
pub fn price_to_tick(p: Decimal, tick: Option<Decimal>, side: Side) -> Decimal {
    match tick.filter(|t| *t > Decimal::ZERO) {
        Some(t) => {
            let strategy = match side {
                Side::Buy => RoundingStrategy::ToNegativeInfinity,
                Side::Sell => RoundingStrategy::ToPositiveInfinity,
            };
            ((p / t).round_dp_with_strategy(0, strategy) * t).normalize()
        }
        None => p,
    }
}

impl MarketRules {
    pub(crate) fn from_ccxt(m: &ccxt::types::Market) -> MarketRules {
        MarketRules {
            symbol: m.symbol.clone(),
            base: m.base.clone(),
            quote: m.quote.clone(),
            active: m.active,
            amount_step: dec_opt(m.precision.amount),
            price_tick: dec_opt(m.precision.price),
            min_amount: dec_opt(m.limits.amount.min),
            max_amount: dec_opt(m.limits.amount.max),
            min_cost: dec_opt(m.limits.cost.min),
            taker_fee: dec_opt(m.taker),
        }
    }

    /// Refuses an amount or cost outside the market's limits, naming the limit.
    pub fn check(&self, amount: Decimal, price: Option<Decimal>) -> Result<(), VenueError> {
        if amount <= Decimal::ZERO {
            return Err(VenueError::InvalidRequest(format!(
                "the quantity rounds to 0 at {}'s step size ({})",
                self.symbol,
                self.amount_step.map(|s| s.normalize().to_string()).unwrap_or_else(|| "unknown".into())
            )));
        }
        if let Some(min) = self.min_amount.filter(|m| amount < *m) {
            return Err(VenueError::InvalidRequest(format!(
                "quantity {} is below {}'s minimum order size {} {} (limits.amount.min)",
                amount.normalize(),
                self.symbol,
                min.normalize(),
                self.base
            )));
        }
        if let Some(max) = self.max_amount.filter(|m| amount > *m) {
            return Err(VenueError::InvalidRequest(format!(
                "quantity {} is above {}'s maximum order size {} {} (limits.amount.max)",
                amount.normalize(),
                self.symbol,
                max.normalize(),
                self.base
            )));
        }
        if let (Some(min), Some(p)) = (self.min_cost, price)
            && amount * p < min
        {
            return Err(VenueError::InvalidRequest(format!(
                "order value {} is below {}'s minimum order value {} (limits.cost.min)",
                fmt_money(amount * p, &self.quote),
                self.symbol,
                fmt_money(min, &self.quote)
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
