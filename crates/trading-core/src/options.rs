//! Options, read-only: the readable contract name (`SPY 2026-12-18 600 C`, the same form
//! positions use), a chain request, and a quote with greeks.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    error::TradeError,
    money::{Price, Qty},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Right {
    #[serde(rename = "C")]
    Call,
    #[serde(rename = "P")]
    Put,
}

impl Right {
    pub fn parse(raw: &str) -> Option<Right> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "C" | "CALL" | "CALLS" => Some(Right::Call),
            "P" | "PUT" | "PUTS" => Some(Right::Put),
            _ => None,
        }
    }

    pub fn letter(self) -> &'static str {
        match self {
            Right::Call => "C",
            Right::Put => "P",
        }
    }
}

/// One option contract by its terms.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OptionSymbol {
    pub underlying: String,
    pub expiry: NaiveDate,
    pub strike: Decimal,
    pub right: Right,
}

impl OptionSymbol {
    /// `SPY 2026-12-18 600 C` (also `P`, `CALL`, `PUT`); `None` when `raw` is not that shape.
    pub fn parse(raw: &str) -> Option<OptionSymbol> {
        let parts: Vec<&str> = raw.split_whitespace().collect();
        let [underlying, expiry, strike, right] = parts.as_slice() else { return None };
        let expiry = NaiveDate::parse_from_str(expiry, "%Y-%m-%d").ok()?;
        let strike: Decimal = strike.parse().ok().filter(|s: &Decimal| *s > Decimal::ZERO)?;
        Some(OptionSymbol {
            underlying: underlying.to_ascii_uppercase(),
            expiry,
            strike: strike.normalize(),
            right: Right::parse(right)?,
        })
    }

    /// IBKR's month code of the expiry (`DEC26`), as `/iserver/secdef/search` lists months.
    pub fn month_code(&self) -> String {
        month_code(self.expiry)
    }
}

/// `2026-12-18` → `DEC26`.
pub fn month_code(d: NaiveDate) -> String {
    d.format("%b%y").to_string().to_ascii_uppercase()
}

impl std::fmt::Display for OptionSymbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {} {}", self.underlying, self.expiry, self.strike.normalize(), self.right.letter())
    }
}

/// What `option_chain` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainRequest {
    pub underlying: String,
    /// An expiry date, or the nearest one from today when `None`.
    pub expiry: Option<NaiveDate>,
    /// Strikes on each side of the underlying's price.
    pub strikes_around_money: usize,
    /// Calls, puts, or both when `None`.
    pub right: Option<Right>,
}

/// Price and greeks of one contract. Greeks are per share: `delta_shares` of a position is
/// quantity × multiplier × delta.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OptionQuote {
    /// `SPY 2026-12-18 600 C`.
    pub symbol: String,
    pub contract_id: Option<String>,
    pub bid: Option<Price>,
    pub ask: Option<Price>,
    pub last: Option<Price>,
    pub implied_vol_pct: Option<Decimal>,
    pub delta: Option<Decimal>,
    pub gamma: Option<Decimal>,
    pub theta: Option<Decimal>,
    pub vega: Option<Decimal>,
    pub open_interest: Option<Qty>,
    pub multiplier: Qty,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `option_chain`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OptionChain {
    pub underlying: String,
    pub underlying_price: Option<Price>,
    pub expiry: NaiveDate,
    /// Every expiry month the venue lists (`DEC26`, ...), or dates where it lists dates.
    pub expirations: Vec<String>,
    /// Strike ascending, calls before puts at one strike.
    pub contracts: Vec<OptionQuote>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The `n` strikes on each side of `price` (the nearest first on either side), ascending.
pub fn strikes_around(all: &[Decimal], price: Decimal, n: usize) -> Vec<Decimal> {
    let mut sorted: Vec<Decimal> = all.to_vec();
    sorted.sort();
    sorted.dedup();
    let split = sorted.partition_point(|s| *s < price);
    let lo = split.saturating_sub(n);
    let hi = (split + n).min(sorted.len());
    sorted[lo..hi].to_vec()
}

/// A checked chain request: `strikes_around_money` 1–50 (default 10), `right` C or P.
pub fn chain_request(
    underlying: &str,
    expiry: Option<&str>,
    strikes_around_money: Option<usize>,
    right: Option<&str>,
) -> Result<ChainRequest, TradeError> {
    let expiry = match expiry.map(str::trim).filter(|e| !e.is_empty()) {
        None => None,
        Some(e) => Some(NaiveDate::parse_from_str(e, "%Y-%m-%d").map_err(|_| {
            TradeError::validation(format!("expiry: '{e}' is not a date as YYYY-MM-DD (see `expirations`)"))
        })?),
    };
    let n = strikes_around_money.unwrap_or(10);
    if !(1..=50).contains(&n) {
        return Err(TradeError::validation("strikes_around_money: give 1 to 50 strikes on each side"));
    }
    let right = match right.map(str::trim).filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => Some(Right::parse(r).ok_or_else(|| {
            TradeError::validation(format!("right: '{r}' is not C (calls) or P (puts); leave it out for both"))
        })?),
    };
    Ok(ChainRequest { underlying: underlying.to_ascii_uppercase(), expiry, strikes_around_money: n, right })
}

#[cfg(test)]
#[path = "options_tests.rs"]
mod tests;
