//! What a venue reports about prices, the account and what it can do.

use serde::{Deserialize, Serialize};

use crate::money::{Money, Price, Qty};

/// A price snapshot. When `last` is missing, `note` says why (no subscription, halted, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub symbol: String,
    pub last: Option<Price>,
    pub bid: Option<Price>,
    pub ask: Option<Price>,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
}

/// One bar of price history (daily unless said otherwise).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bar {
    pub time: chrono::DateTime<chrono::Utc>,
    pub open: Price,
    pub high: Price,
    pub low: Price,
    pub close: Price,
    pub volume: Qty,
}

/// A holding. Negative quantities are shorts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub symbol: String,
    pub quantity: Qty,
    pub avg_cost: Option<Price>,
    pub market_price: Option<Price>,
    pub market_value: Option<Money>,
    pub unrealized_pnl: Option<Money>,
}

/// Balances in the account's base currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub account_id: String,
    pub currency: String,
    pub cash: Option<Money>,
    pub available_funds: Option<Money>,
    pub net_liquidation: Option<Money>,
    pub buying_power: Option<Money>,
    /// Maintenance margin requirement, when the venue has margin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_margin: Option<Money>,
}

/// Who the venue says we are logged in as. `is_paper` comes from the venue, never from a
/// configuration label; `None` means the venue did not say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountIdentity {
    pub account_id: Option<String>,
    pub is_paper: Option<bool>,
    /// True when the venue itself reported paper/live (false for labels we cannot verify).
    pub verified: bool,
}

/// When a venue's market is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarketHoursModel {
    /// NYSE regular trading hours with holidays and early closes.
    Nyse,
    /// Always open (crypto, or a simulator told to ignore the clock).
    AlwaysOpen,
}

/// What a venue can do. The guard reads this and never branches on a venue's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub fractional: bool,
    pub buy_by_cash: bool,
    pub stops: bool,
    pub stop_limits: bool,
    pub trailing: bool,
    pub brackets: bool,
    pub shorting: bool,
    pub market_hours: MarketHoursModel,
    pub quote_currency: String,
    /// Symbols are `BASE/QUOTE` pairs; a bare symbol gets this quote asset ("BTC" → "BTC/USDT").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_quote: Option<String>,
}

impl Capabilities {
    /// A venue that supports every order form (fractions, cash buys, stops, trailing stops,
    /// brackets, shorting).
    pub fn full(market_hours: MarketHoursModel, quote_currency: &str) -> Capabilities {
        Capabilities {
            fractional: true,
            buy_by_cash: true,
            stops: true,
            stop_limits: true,
            trailing: true,
            brackets: true,
            shorting: true,
            market_hours,
            quote_currency: quote_currency.into(),
            default_quote: None,
        }
    }
}

/// A market-scanner request, already checked against the scanner catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScanRequest {
    pub scan_code: String,
    pub instrument: String,
    pub location: String,
    /// Filter codes and values as IBKR takes them.
    pub filters: Vec<(String, serde_json::Value)>,
    pub max_rows: usize,
}

/// One ranked scanner result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRow {
    pub rank: usize,
    pub symbol: String,
    pub name: Option<String>,
    pub conid: Option<String>,
    pub exchange: Option<String>,
    /// The scan's own measure for this row, as the venue formats it.
    pub value: Option<String>,
}

/// A contract found by a search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractMatch {
    pub symbol: String,
    pub name: Option<String>,
    pub conid: Option<String>,
    pub exchange: Option<String>,
    pub sec_types: Vec<String>,
}
