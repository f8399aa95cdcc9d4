//! Simulated listed options: weekly and monthly expiries, strikes around the price, and
//! Black–Scholes prices and greeks at a per-symbol volatility (the fake gateway serves the
//! same contracts in IBKR's shapes).

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rust_decimal::{Decimal, prelude::ToPrimitive};
use trading_core::{
    money::{Price, Qty},
    options::{OptionQuote, OptionSymbol, Right},
};

/// Risk-free rate used in pricing.
const RATE: f64 = 0.04;

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Annual volatility of a symbol: SPY 15%, others from 20% to 50% by a stable hash.
pub fn volatility(underlying: &str) -> f64 {
    match underlying {
        "SPY" => 0.15,
        "QQQ" => 0.19,
        "KO" => 0.16,
        _ => 0.20 + (fnv1a(underlying) % 30) as f64 / 100.0,
    }
}

/// The next four Fridays and the third Friday of each of the next six months, ascending.
pub fn expirations(today: NaiveDate) -> Vec<NaiveDate> {
    let mut out = vec![];
    let mut d = today;
    while out.len() < 4 {
        if d.weekday() == Weekday::Fri && d >= today {
            out.push(d);
        }
        d += Duration::days(1);
    }
    for m in 0..7u32 {
        let Some(first) = today.with_day(1).and_then(|f| f.checked_add_months(chrono::Months::new(m))) else {
            continue;
        };
        let offset = (Weekday::Fri.num_days_from_monday() + 7 - first.weekday().num_days_from_monday()) % 7;
        let third = first + Duration::days(i64::from(offset) + 14);
        if third >= today {
            out.push(third);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Listed strikes around `price`: 40 steps each side at a step that suits the price.
pub fn strikes(price: Decimal) -> Vec<Decimal> {
    let step = match price.to_f64().unwrap_or(0.0) {
        p if p < 25.0 => Decimal::new(5, 1),
        p if p < 100.0 => Decimal::ONE,
        p if p < 250.0 => Decimal::new(25, 1),
        p if p < 500.0 => Decimal::from(5),
        _ => Decimal::TEN,
    };
    let center = (price / step).round() * step;
    (-40..=40i64).map(|k| center + step * Decimal::from(k)).filter(|s| *s > Decimal::ZERO).collect()
}

/// A stable contract id for an option (IBKR-sized, apart from the stock ids).
pub fn contract_id(o: &OptionSymbol) -> i64 {
    6_000_000_000 + i64::try_from(fnv1a(&o.to_string()) % 1_000_000_000).unwrap_or(0)
}

/// The standard normal distribution function (Abramowitz–Stegun 7.1.26, error < 1.5e-7).
fn norm_cdf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs() / std::f64::consts::SQRT_2);
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-(x * x) / 2.0).exp();
    if x >= 0.0 { 0.5 * (1.0 + erf) } else { 0.5 * (1.0 - erf) }
}

fn norm_pdf(x: f64) -> f64 {
    (-(x * x) / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

fn dec(x: f64, dp: u32) -> Option<Decimal> {
    x.is_finite().then(|| Decimal::from_f64_retain(x).map(|d| d.round_dp(dp))).flatten()
}

/// Price and greeks of `o` with the underlying at `spot` on `today` (theta per calendar day,
/// vega per volatility point).
pub fn quote(o: &OptionSymbol, spot: Decimal, today: NaiveDate) -> OptionQuote {
    let (s, k) = (spot.to_f64().unwrap_or(0.0), o.strike.to_f64().unwrap_or(0.0));
    let vol = volatility(&o.underlying);
    // At least a day to expiry, so the expiring contract still has a price.
    let t = ((o.expiry - today).num_days().max(1) as f64) / 365.0;
    let sq = vol * t.sqrt();
    let d1 = ((s / k).ln() + (RATE + vol * vol / 2.0) * t) / sq;
    let d2 = d1 - sq;
    let disc = (-RATE * t).exp();
    let (price, delta, theta_year) = match o.right {
        Right::Call => (
            s * norm_cdf(d1) - k * disc * norm_cdf(d2),
            norm_cdf(d1),
            -s * norm_pdf(d1) * vol / (2.0 * t.sqrt()) - RATE * k * disc * norm_cdf(d2),
        ),
        Right::Put => (
            k * disc * norm_cdf(-d2) - s * norm_cdf(-d1),
            norm_cdf(d1) - 1.0,
            -s * norm_pdf(d1) * vol / (2.0 * t.sqrt()) + RATE * k * disc * norm_cdf(-d2),
        ),
    };
    let gamma = norm_pdf(d1) / (s * sq);
    let vega = s * norm_pdf(d1) * t.sqrt() / 100.0;
    let mid = price.max(0.01);
    let half = (mid * 0.01).max(0.01);
    let oi = 100 + fnv1a(&format!("oi/{o}")) % 20_000;
    OptionQuote {
        symbol: o.to_string(),
        contract_id: Some(contract_id(o).to_string()),
        bid: dec(mid - half, 2).filter(|b| *b > Decimal::ZERO).map(Price),
        ask: dec(mid + half, 2).map(Price),
        last: dec(mid, 2).map(Price),
        implied_vol_pct: dec(vol * 100.0, 2),
        delta: dec(delta, 4),
        gamma: dec(gamma, 4),
        theta: dec(theta_year / 365.0, 4),
        vega: dec(vega, 4),
        open_interest: Some(Qty(Decimal::from(oi))),
        multiplier: Qty(Decimal::ONE_HUNDRED),
        note: None,
    }
}

#[cfg(test)]
#[path = "options_tests.rs"]
mod tests;
