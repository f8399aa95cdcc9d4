//! Order requests, brackets and results: what an agent asks for and what a venue answers.

use std::fmt;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    error::TradeError,
    money::{Money, Price, Qty},
};

/// Buy or sell. Parsing is case-insensitive ("buy", "BUY", "Buy").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// The side that closes a position opened by this one.
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Side {
    type Err = TradeError;
    fn from_str(s: &str) -> Result<Self, TradeError> {
        match s.trim().to_ascii_uppercase().as_str() {
            "BUY" | "B" => Ok(Side::Buy),
            "SELL" | "S" => Ok(Side::Sell),
            other => Err(TradeError::validation(format!("side: '{other}' is not a side; use BUY or SELL"))),
        }
    }
}

impl<'de> Deserialize<'de> for Side {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|e: TradeError| serde::de::Error::custom(e.message))
    }
}

/// The order types every venue speaks, named as IBKR names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum OrderType {
    #[serde(rename = "MKT")]
    Market,
    #[serde(rename = "LMT")]
    Limit,
    #[serde(rename = "STP")]
    Stop,
    #[serde(rename = "STOP_LIMIT")]
    StopLimit,
    #[serde(rename = "TRAIL")]
    Trail,
}

impl OrderType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Market => "MKT",
            OrderType::Limit => "LMT",
            OrderType::Stop => "STP",
            OrderType::StopLimit => "STOP_LIMIT",
            OrderType::Trail => "TRAIL",
        }
    }
    /// Orders that wait at the venue for a price rather than trading now.
    pub fn rests(self) -> bool {
        !matches!(self, OrderType::Market)
    }
}

/// How long a resting order lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum TimeInForce {
    #[default]
    #[serde(rename = "DAY")]
    Day,
    #[serde(rename = "GTC")]
    Gtc,
}

impl TimeInForce {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeInForce::Day => "DAY",
            TimeInForce::Gtc => "GTC",
        }
    }
}

/// How big an order is: units of the instrument, or an amount of money (market buys only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    Quantity(Qty),
    Cash(Money),
}

impl Size {
    /// The size with trailing zeros removed, so 100 and 100.0 are the same order.
    pub fn canonical(self) -> Size {
        match self {
            Size::Quantity(q) => Size::Quantity(q.canonical()),
            Size::Cash(m) => Size::Cash(m.canonical()),
        }
    }
    pub fn quantity(self) -> Option<Decimal> {
        match self {
            Size::Quantity(q) => Some(q.0),
            Size::Cash(_) => None,
        }
    }
    pub fn cash(self) -> Option<Decimal> {
        match self {
            Size::Cash(m) => Some(m.0),
            Size::Quantity(_) => None,
        }
    }
}

/// A trailing stop's distance from the best price seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trail {
    Amount(Price),
    Percent(Decimal),
}

/// One order as the agent asked for it. Build it with [`OrderRequest::new`] or fill the fields
/// and call [`OrderRequest::validate`]; the guard validates again before anything is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    pub symbol: String,
    pub side: Side,
    pub order_type: OrderType,
    pub size: Size,
    pub limit_price: Option<Price>,
    pub stop_price: Option<Price>,
    pub trail: Option<Trail>,
    pub tif: TimeInForce,
}

/// Normalises a symbol: trimmed, uppercased, and made only of letters, digits, '.', '-', '/'.
pub fn normalize_symbol(raw: &str) -> Result<String, TradeError> {
    let s = raw.trim().to_ascii_uppercase();
    let ok = !s.is_empty()
        && s.len() <= 24
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '/' | ' '));
    if ok {
        Ok(s)
    } else {
        Err(TradeError::validation(format!(
            "symbol: '{raw}' is not a ticker symbol (letters, digits, '.', '-', '/'; at most 24)"
        )))
    }
}

fn positive(name: &str, v: Decimal) -> Result<(), TradeError> {
    if v > Decimal::ZERO {
        Ok(())
    } else {
        Err(TradeError::validation(format!("{name} must be greater than 0 (got {v})")))
    }
}

impl OrderRequest {
    /// A validated order with a normalised symbol and canonical size.
    pub fn new(mut req: OrderRequest) -> Result<OrderRequest, TradeError> {
        req.symbol = normalize_symbol(&req.symbol)?;
        req.size = req.size.canonical();
        req.validate()?;
        Ok(req)
    }

    /// Checks the request is internally consistent (the model rules of the reference).
    pub fn validate(&self) -> Result<(), TradeError> {
        normalize_symbol(&self.symbol)?;
        match self.size {
            Size::Quantity(q) => positive("quantity", q.0)?,
            Size::Cash(m) => {
                positive("cash_amount", m.0)?;
                if self.order_type != OrderType::Market || self.side != Side::Buy {
                    return Err(TradeError::validation(
                        "cash_amount is only valid for a MARKET BUY; sells, limits and stops must use 'quantity'.",
                    ));
                }
            }
        }
        let needs_limit = matches!(self.order_type, OrderType::Limit | OrderType::StopLimit);
        let needs_stop = matches!(self.order_type, OrderType::Stop | OrderType::StopLimit);
        match (needs_limit, self.limit_price) {
            (true, None) => {
                return Err(TradeError::validation(format!(
                    "limit_price is required for a {} order",
                    self.order_type.as_str()
                )));
            }
            (true, Some(p)) => positive("limit_price", p.0)?,
            (false, Some(_)) => {
                return Err(TradeError::validation(format!(
                    "limit_price is not used by a {} order",
                    self.order_type.as_str()
                )));
            }
            (false, None) => {}
        }
        match (needs_stop, self.stop_price) {
            (true, None) => {
                return Err(TradeError::validation(format!(
                    "stop_price is required for a {} order",
                    self.order_type.as_str()
                )));
            }
            (true, Some(p)) => positive("stop_price", p.0)?,
            (false, Some(_)) => {
                return Err(TradeError::validation(format!(
                    "stop_price is not used by a {} order",
                    self.order_type.as_str()
                )));
            }
            (false, None) => {}
        }
        match (self.order_type == OrderType::Trail, self.trail) {
            (true, None) => Err(TradeError::validation("Provide exactly one of 'trail_amount' and 'trail_percent'.")),
            (true, Some(Trail::Amount(a))) => positive("trail_amount", a.0),
            (true, Some(Trail::Percent(p))) => {
                positive("trail_percent", p)?;
                if p >= Decimal::ONE_HUNDRED {
                    Err(TradeError::validation("trail_percent must be below 100"))
                } else {
                    Ok(())
                }
            }
            (false, Some(_)) => {
                Err(TradeError::validation("trail_amount / trail_percent are only used by trailing_stop"))
            }
            (false, None) => Ok(()),
        }
    }

    /// The identity of the order for duplicate detection and token binding: symbol, side,
    /// type and canonical size (the reference's fingerprint, with sizes canonicalised).
    pub fn fingerprint(&self) -> String {
        let size = match self.size.canonical() {
            Size::Quantity(q) => format!("qty={q}"),
            Size::Cash(m) => format!("cash={m}"),
        };
        format!("{}|{}|{}|{}", self.symbol, self.side, self.order_type.as_str(), size)
    }

    /// Everything the order says, for binding a confirmation token to this exact order.
    pub fn exact_terms(&self) -> String {
        let opt = |p: Option<Price>| p.map(|p| p.to_string()).unwrap_or_default();
        let trail = match self.trail {
            Some(Trail::Amount(a)) => format!("amt={a}"),
            Some(Trail::Percent(p)) => format!("pct={}", p.normalize()),
            None => String::new(),
        };
        format!(
            "{}|lmt={}|stp={}|trail={}|tif={}",
            self.fingerprint(),
            opt(self.limit_price),
            opt(self.stop_price),
            trail,
            self.tif.as_str()
        )
    }
}

/// An entry with a take-profit and a stop-loss that cancel each other (one OCA group).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BracketRequest {
    pub entry: OrderRequest,
    pub take_profit: Price,
    pub stop_loss: Price,
}

impl BracketRequest {
    pub fn new(mut b: BracketRequest) -> Result<BracketRequest, TradeError> {
        b.entry = OrderRequest::new(b.entry)?;
        b.validate()?;
        Ok(b)
    }

    pub fn validate(&self) -> Result<(), TradeError> {
        self.entry.validate()?;
        if !matches!(self.entry.order_type, OrderType::Market | OrderType::Limit) {
            return Err(TradeError::validation("bracket entry must be MKT or LMT"));
        }
        if self.entry.size.quantity().is_none() {
            return Err(TradeError::validation("bracket orders are sized by 'quantity'"));
        }
        positive("take_profit", self.take_profit.0)?;
        positive("stop_loss", self.stop_loss.0)?;
        let (tp, sl) = (self.take_profit.0, self.stop_loss.0);
        let lmt = self.entry.limit_price.map(|p| p.0);
        let ok = match self.entry.side {
            Side::Buy => tp > sl && lmt.is_none_or(|l| tp > l && l > sl),
            Side::Sell => tp < sl && lmt.is_none_or(|l| tp < l && l < sl),
        };
        if ok {
            Ok(())
        } else {
            Err(TradeError::validation(match self.entry.side {
                Side::Buy => "for a BUY bracket: take_profit > entry_limit_price > stop_loss",
                Side::Sell => "for a SELL bracket: take_profit < entry_limit_price < stop_loss",
            }))
        }
    }

    /// The take-profit leg as a plain order (opposite side, same quantity, GTC).
    pub fn take_profit_leg(&self) -> OrderRequest {
        self.exit_leg(OrderType::Limit, Some(self.take_profit), None)
    }

    /// The stop-loss leg as a plain order (opposite side, same quantity, GTC).
    pub fn stop_loss_leg(&self) -> OrderRequest {
        self.exit_leg(OrderType::Stop, None, Some(self.stop_loss))
    }

    fn exit_leg(&self, t: OrderType, lmt: Option<Price>, stp: Option<Price>) -> OrderRequest {
        OrderRequest {
            symbol: self.entry.symbol.clone(),
            side: self.entry.side.opposite(),
            order_type: t,
            size: self.entry.size,
            limit_price: lmt,
            stop_price: stp,
            trail: None,
            tif: TimeInForce::Gtc,
        }
    }
}

/// What the guard approves and a token is bound to: a single order or a bracket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderIntent {
    Single(OrderRequest),
    Bracket(BracketRequest),
}

impl OrderIntent {
    /// The order that opens or changes exposure (the bracket's entry).
    pub fn primary(&self) -> &OrderRequest {
        match self {
            OrderIntent::Single(o) => o,
            OrderIntent::Bracket(b) => &b.entry,
        }
    }
    pub fn validate(&self) -> Result<(), TradeError> {
        match self {
            OrderIntent::Single(o) => o.validate(),
            OrderIntent::Bracket(b) => b.validate(),
        }
    }
    /// The exact terms a confirmation token is bound to.
    pub fn exact_terms(&self) -> String {
        match self {
            OrderIntent::Single(o) => o.exact_terms(),
            OrderIntent::Bracket(b) => {
                format!("bracket|{}|tp={}|sl={}", b.entry.exact_terms(), b.take_profit, b.stop_loss)
            }
        }
    }
}

/// Where an order stands at the venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Submitted,
    Pending,
    Filled,
    PartiallyFilled,
    Cancelled,
    Rejected,
    Inactive,
    Unknown,
}

impl OrderStatus {
    /// No further fills can happen.
    pub fn is_terminal(self) -> bool {
        matches!(self, OrderStatus::Filled | OrderStatus::Cancelled | OrderStatus::Rejected | OrderStatus::Inactive)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Submitted => "submitted",
            OrderStatus::Pending => "pending",
            OrderStatus::Filled => "filled",
            OrderStatus::PartiallyFilled => "partially_filled",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Inactive => "inactive",
            OrderStatus::Unknown => "unknown",
        }
    }
}

/// A venue's answer about one order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderResult {
    pub order_id: Option<String>,
    pub client_order_id: Option<String>,
    pub status: OrderStatus,
    pub symbol: String,
    pub side: Option<Side>,
    pub order_type: Option<OrderType>,
    pub quantity: Option<Qty>,
    pub filled_quantity: Option<Qty>,
    pub avg_price: Option<Price>,
    pub limit_price: Option<Price>,
    pub stop_price: Option<Price>,
    /// How long the order works, when the venue says (a modification keeps it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tif: Option<TimeInForce>,
    pub message: Option<String>,
    pub dry_run: bool,
    /// For bracket legs: "entry", "take_profit" or "stop_loss".
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub leg: Option<String>,
}

impl OrderResult {
    /// A result describing `o` with `status`, before the venue has said more.
    pub fn for_request(o: &OrderRequest, status: OrderStatus) -> OrderResult {
        OrderResult {
            order_id: None,
            client_order_id: None,
            status,
            symbol: o.symbol.clone(),
            side: Some(o.side),
            order_type: Some(o.order_type),
            quantity: o.size.quantity().map(Qty),
            filled_quantity: None,
            avg_price: None,
            limit_price: o.limit_price,
            stop_price: o.stop_price,
            tif: Some(o.tif),
            message: None,
            dry_run: false,
            leg: None,
        }
    }

    /// What the order still has to fill (its size less what has filled; zero when unknown).
    pub fn remaining(&self) -> Decimal {
        self.quantity.map(|q| q.0).unwrap_or_default() - self.filled_quantity.map(|q| q.0).unwrap_or_default()
    }

    /// A result with only a status, for the venue to fill in what it knows.
    pub fn unknown(status: OrderStatus) -> OrderResult {
        OrderResult {
            order_id: None,
            client_order_id: None,
            status,
            symbol: String::new(),
            side: None,
            order_type: None,
            quantity: None,
            filled_quantity: None,
            avg_price: None,
            limit_price: None,
            stop_price: None,
            tif: None,
            message: None,
            dry_run: false,
            leg: None,
        }
    }
}

/// One execution reported by the venue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    pub order_id: String,
    pub client_order_id: Option<String>,
    pub symbol: String,
    pub side: Side,
    pub quantity: Qty,
    pub price: Price,
    pub commission: Money,
    pub time: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
#[path = "order_tests.rs"]
mod tests;
