//! What a venue reports about prices, the account and what it can do.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::money::{Money, Price, Qty};

/// A price snapshot. When `last` is missing, `note` says why (no subscription, halted, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

/// A holding. Negative quantities are shorts. `symbol` is the tradable key for shares and
/// spot pairs; for other asset classes it is a readable description (`SPY 2026-12-18 600 C`)
/// that no order tool accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Position {
    pub symbol: String,
    pub quantity: Qty,
    /// Cost per unit of price (per share; per option share, not per contract).
    pub avg_cost: Option<Price>,
    pub market_price: Option<Price>,
    pub market_value: Option<Money>,
    pub unrealized_pnl: Option<Money>,
    #[serde(default)]
    pub asset_class: AssetClass,
    /// The venue's contract id, when it has one (IBKR's conid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<String>,
    /// The currency of the row's prices and values, when the venue says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Terms of a derivative (expiry, strike, right, multiplier, underlying).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derivative: Option<DerivativeTerms>,
}

impl Position {
    /// A share or spot holding of `symbol`.
    pub fn new(symbol: impl Into<String>, quantity: Qty) -> Position {
        Position {
            symbol: symbol.into(),
            quantity,
            avg_cost: None,
            market_price: None,
            market_value: None,
            unrealized_pnl: None,
            asset_class: AssetClass::Stock,
            contract_id: None,
            currency: None,
            derivative: None,
        }
    }

    /// Whether this row is units of the instrument an order on `symbol` trades (shares or a
    /// spot pair): only those count for exits, the no-short guard and the position caps.
    pub fn is_tradable_as(&self, symbol: &str) -> bool {
        matches!(self.asset_class, AssetClass::Stock | AssetClass::Spot) && self.symbol == symbol
    }
}

/// What kind of instrument a holding is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    /// Shares (and ETFs).
    #[default]
    Stock,
    /// A spot crypto balance on an exchange.
    Spot,
    Option,
    Future,
    FutureOption,
    /// A crypto holding at a broker (IBKR's PAXOS/ZEROHASH rows).
    Crypto,
    Bond,
    Forex,
    Fund,
    Other,
}

impl AssetClass {
    /// From IBKR's `assetClass` codes (STK, OPT, FUT, FOP, CRYPTO, BOND, CASH, FUND, WAR, ...).
    pub fn from_ibkr(code: &str) -> AssetClass {
        match code.trim().to_ascii_uppercase().as_str() {
            "STK" | "" => AssetClass::Stock,
            "OPT" => AssetClass::Option,
            "FUT" => AssetClass::Future,
            "FOP" => AssetClass::FutureOption,
            "CRYPTO" => AssetClass::Crypto,
            "BOND" | "BILL" => AssetClass::Bond,
            "CASH" => AssetClass::Forex,
            "FUND" => AssetClass::Fund,
            _ => AssetClass::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AssetClass::Stock => "stock",
            AssetClass::Spot => "spot",
            AssetClass::Option => "option",
            AssetClass::Future => "future",
            AssetClass::FutureOption => "future_option",
            AssetClass::Crypto => "crypto",
            AssetClass::Bond => "bond",
            AssetClass::Forex => "forex",
            AssetClass::Fund => "fund",
            AssetClass::Other => "other",
        }
    }
}

/// The terms of a derivative holding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DerivativeTerms {
    pub underlying: Option<String>,
    /// `YYYY-MM-DD`.
    pub expiry: Option<String>,
    pub strike: Option<Price>,
    /// "C" or "P" for options.
    pub right: Option<String>,
    pub multiplier: Option<Qty>,
}

/// Whether `symbol` reads as a derivative's description (`SPY 2026-12-18 600 C`, IBKR's
/// `SPY    JAN2025 440 C [...]`) rather than a tradable stock or pair.
pub fn is_derivative_description(symbol: &str) -> bool {
    let parts: Vec<&str> = symbol.split_whitespace().collect();
    parts.len() >= 3
        && parts.iter().skip(1).any(|p| {
            let dated = p.len() == 10 && p.as_bytes().get(4) == Some(&b'-') && p.as_bytes().get(7) == Some(&b'-');
            let month = p.len() >= 5
                && p[..3].chars().all(|c| c.is_ascii_alphabetic())
                && p[3..].chars().all(|c| c.is_ascii_digit());
            dated || month
        })
}

/// Balances in the account's base currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
    /// What the figures leave out or assume (unpriced holdings valued at zero, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Cash in one currency, and its value in the account's base currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CashBalance {
    pub currency: String,
    pub cash: Money,
    pub settled_cash: Option<Money>,
    /// Units of base currency per unit of this one.
    pub exchange_rate: Option<Price>,
    pub cash_in_base: Option<Money>,
}

/// Cash by currency (`cash_balances`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CashBalances {
    pub account_id: String,
    pub base_currency: String,
    pub balances: Vec<CashBalance>,
    /// The venue's own total in the base currency.
    pub total_in_base: Option<Money>,
}

/// Today's profit and loss of the account (IBKR's `pnl/partitioned` row), in its base currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DailyPnl {
    pub account_id: String,
    pub currency: String,
    /// Since the previous close; `None` while the venue has no figure yet (see `note`).
    pub daily: Option<Money>,
    pub unrealized: Option<Money>,
    pub net_liquidation: Option<Money>,
    pub excess_liquidity: Option<Money>,
    pub market_value: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One account the login sees (`accounts`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AccountInfo {
    pub account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub currency: Option<String>,
    /// The venue's account type (IBKR: INDIVIDUAL, DEMO, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Paper or live, as the venue says (`None`: it did not).
    pub is_paper: Option<bool>,
    /// The one account orders go to (the configured account); every other is read-only here.
    pub trading: bool,
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
    /// What beta and the market's move are measured against (SPY for US stocks, BTC on a
    /// crypto exchange).
    pub benchmark: String,
    /// A working sell reserves what it sells (spot exchanges): the held quantity the venue
    /// reports is already the free part. Otherwise (stock brokers) working exits are counted
    /// against the holding by the guard.
    #[serde(default)]
    pub reserves_holdings: bool,
}

impl Capabilities {
    /// A US stock venue that supports every order form (fractions, cash buys, stops, trailing
    /// stops, brackets, shorting), benchmarked against SPY.
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
            benchmark: "SPY".into(),
            reserves_holdings: false,
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
