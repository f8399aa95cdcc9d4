//! Pure portfolio math over domain values: returns, Pearson correlation and covariance,
//! parametric and historical VaR with component VaR, beta, drawdown stress and margin-breach
//! stepping, concentration (HHI), exposure by sector and currency, a rebalance planner, and
//! technicals. No I/O. Money stays `Decimal`; statistics run in f64, converted at [`to_f64`].
#![forbid(unsafe_code)]

pub mod book;
pub mod fx;
pub mod rebalance;
pub mod risk;
pub mod stats;
pub mod technicals;

use rust_decimal::{Decimal, prelude::ToPrimitive};

/// Bad input to an analytic, with a message that names what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnalyticsError {
    #[error("{0}")]
    Input(String),
}

/// The one place Decimal becomes f64 (statistics only; money never returns through here).
pub fn to_f64(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// Back to money: rounded to cents; NaN and infinities become zero.
pub fn to_money(x: f64) -> Decimal {
    if x.is_finite() { Decimal::from_f64_retain(x).map(|d| d.round_dp(2)).unwrap_or_default() } else { Decimal::ZERO }
}
