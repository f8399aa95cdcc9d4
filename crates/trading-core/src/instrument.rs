//! Instruments and their canonical keys: `AAPL` for a stock, `BTC/USDT` for a crypto pair.
//! Venue ids (an IBKR conid) ride along but are not part of the key.

use serde::{Deserialize, Serialize};

use crate::{error::TradeError, order::normalize_symbol};

/// A tradable instrument.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Instrument {
    /// The canonical key: the uppercase ticker, or `BASE/QUOTE` for a pair.
    pub key: String,
    /// The pair's base asset (none for a stock).
    pub base: Option<String>,
    /// The pair's quote asset (none for a stock).
    pub quote: Option<String>,
}

impl Instrument {
    /// Parses what a user typed. A bare symbol becomes a pair when `default_quote` is given
    /// (crypto: "btc" → "BTC/USDT"); a symbol with '/' is always a pair.
    pub fn parse(raw: &str, default_quote: Option<&str>) -> Result<Instrument, TradeError> {
        let s = normalize_symbol(raw)?;
        let pair = match (s.split_once('/'), default_quote) {
            (Some((b, q)), _) => Some((b.trim().to_string(), q.trim().to_string())),
            (None, Some(q)) => Some((s.clone(), q.trim().to_ascii_uppercase())),
            (None, None) => None,
        };
        match pair {
            Some((b, q)) if b.is_empty() || q.is_empty() || q.contains('/') => {
                Err(TradeError::validation(format!("symbol: '{raw}' is not a BASE/QUOTE pair")))
            }
            Some((b, q)) => Ok(Instrument { key: format!("{b}/{q}"), base: Some(b), quote: Some(q) }),
            None => Ok(Instrument { key: s, base: None, quote: None }),
        }
    }

    /// Whether a symbol list names this instrument: by key, or a pair by its base, so a
    /// deny of BTC blocks BTC/USDT.
    pub fn is_listed(&self, list: &std::collections::BTreeSet<String>) -> bool {
        list.contains(&self.key) || self.base.as_ref().is_some_and(|b| list.contains(b))
    }
}

#[cfg(test)]
#[path = "instrument_tests.rs"]
mod tests;
