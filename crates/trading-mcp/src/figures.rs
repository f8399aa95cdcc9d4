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
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_rule() {
        assert_eq!(percent(-1.2549999).as_deref(), Some("-1.25"));
        assert_eq!(ratio(0.873_149_999_9).as_deref(), Some("0.8731"));
        assert_eq!(index(54.1).as_deref(), Some("54.10"));
        assert_eq!(price(187.345_123_456_7).as_deref(), Some("187.34512"));
        assert_eq!(price(0.000_012_345_678_9).as_deref(), Some("0.000012345679"));
        assert_eq!(price(f64::NAN), None, "not a number is absent, never \"NaN\"");
    }
}
