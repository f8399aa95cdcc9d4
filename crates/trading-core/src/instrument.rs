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
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn keys_are_canonical() {
        assert_eq!(Instrument::parse(" aapl ", None).unwrap().key, "AAPL");
        assert_eq!(Instrument::parse("btc", Some("usdt")).unwrap().key, "BTC/USDT");
        let p = Instrument::parse("eth/btc", Some("USDT")).unwrap();
        assert_eq!((p.key.as_str(), p.base.as_deref(), p.quote.as_deref()), ("ETH/BTC", Some("ETH"), Some("BTC")));
        assert!(Instrument::parse("/USDT", None).is_err());
        assert!(Instrument::parse("A/B/C", None).is_err());
    }

    #[test]
    fn lists_match_key_or_base() {
        let list: BTreeSet<String> = ["BTC".to_string(), "MSFT".to_string()].into();
        assert!(Instrument::parse("BTC", Some("USDT")).unwrap().is_listed(&list));
        assert!(Instrument::parse("msft", None).unwrap().is_listed(&list));
        assert!(!Instrument::parse("ETH/BTC", None).unwrap().is_listed(&list), "BTC as quote is not listed");
    }
}
