//! How a statistic leaves the server: every figure in a tool result is a decimal string, as
//! money is, with one rounding rule per kind. Clients parse one format, and no figure shows 16
//! digits of float noise.
//!
//! | kind | rule | e.g. |
//! |---|---|---|
//! | money | the currency's cents (`trading_core::money`) | `"1234.56"` |
//! | percent | 2 decimals | `"-1.25"` |
//! | ratio (beta, correlation) | 4 decimals | `"0.8731"` |
//! | index (RSI) | 2 decimals | `"54.10"` |
//! | price-like (closes, averages, bands, MACD) | 8 significant digits | `"187.34512"`, `"0.000012345678"` |

use rust_decimal::{Decimal, prelude::FromPrimitive};

fn fixed(x: f64, dp: u32) -> Option<String> {
    Decimal::from_f64(x).map(|d| {
        let mut d = d.round_dp(dp);
        d.rescale(dp);
        d.to_string()
    })
}

pub fn percent(x: f64) -> Option<String> {
    fixed(x, 2)
}

pub fn ratio(x: f64) -> Option<String> {
    fixed(x, 4)
}

pub fn index(x: f64) -> Option<String> {
    fixed(x, 2)
}

pub fn price(x: f64) -> Option<String> {
    Decimal::from_f64(x).and_then(|d| d.round_sf(8)).map(|d| d.normalize().to_string())
}

#[cfg(test)]
#[path = "figures_tests.rs"]
mod tests;
