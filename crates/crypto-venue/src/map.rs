//! ccxt's unified types mapped to ours: errors, order statuses and types, orders, tickers.

use rust_decimal::Decimal;
use trading_core::{
    account::Quote,
    error::VenueError,
    money::{Price, Qty},
    order::{OrderResult, OrderStatus, OrderType, Side, TimeInForce},
};

use crate::ccxt_client::CcxtError;

use crate::rules::dec_opt;

pub(crate) fn venue_err(e: CcxtError) -> VenueError {
    match e {
        CcxtError::OrderNotFound(m) => VenueError::NotFound(format!("order not found: {m}")),
        CcxtError::BadSymbol(m) => VenueError::NotFound(format!("unknown symbol: {m}")),
        CcxtError::Auth(m) => VenueError::SessionExpired(format!(
            "the exchange refused the API credentials (check CRYPTO_API_KEY / CRYPTO_API_SECRET and the key's permissions): {m}"
        )),
        CcxtError::RateLimited(m) => VenueError::Transport { message: format!("rate limited: {m}"), retryable: true },
        CcxtError::Network(m) => {
            VenueError::Transport { message: format!("exchange unreachable: {m}"), retryable: true }
        }
        CcxtError::InvalidOrder(m) => VenueError::Rejected(format!("the exchange refused the order: {m}")),
        CcxtError::InsufficientFunds(m) => VenueError::Rejected(format!("insufficient funds: {m}")),
        e @ CcxtError::ClockSkew(_) => VenueError::Rejected(e.to_string()),
        CcxtError::NotSupported(m) => VenueError::Rejected(format!("not supported by the exchange: {m}")),
        CcxtError::BadRequest(m) => VenueError::InvalidRequest(m),
        e @ (CcxtError::Other(_) | CcxtError::Crashed(_) | CcxtError::NotCompiled(_)) => {
            VenueError::Transport { message: e.to_string(), retryable: false }
        }
    }
}

pub(crate) fn status_of(o: &ccxt::types::Order) -> OrderStatus {
    let filled = o.filled.is_some_and(|f| f > 0.0);
    match o.status.as_deref() {
        Some("open") if filled => OrderStatus::PartiallyFilled,
        Some("open") => OrderStatus::Submitted,
        Some("closed") => OrderStatus::Filled,
        Some("canceled" | "cancelled" | "canceling") => OrderStatus::Cancelled,
        Some("rejected") => OrderStatus::Rejected,
        Some("expired") => OrderStatus::Inactive,
        _ => OrderStatus::Unknown,
    }
}

/// The trigger of a stop: ccxt's unified field, or kraken's `stopLossPrice` (its `stop-loss`
/// orders carry no `triggerPrice`).
fn trigger_of(o: &ccxt::types::Order) -> Option<f64> {
    o.trigger_price.or(o.stop_price).or(o.stop_loss_price).filter(|p| *p > 0.0)
}

pub(crate) fn type_of(o: &ccxt::types::Order) -> Option<OrderType> {
    let trigger = trigger_of(o).is_some();
    match o.order_type.as_deref()? {
        "market" if trigger => Some(OrderType::Stop),
        "market" => Some(OrderType::Market),
        "limit" if trigger => Some(OrderType::StopLimit),
        "limit" | "limit_maker" => Some(OrderType::Limit),
        "stop_loss_limit" | "stop_limit" | "take_profit_limit" | "stop-loss-limit" => Some(OrderType::StopLimit),
        "stop_loss" | "stop" | "stop_market" | "take_profit" | "stop-loss" => Some(OrderType::Stop),
        _ => None,
    }
}

/// ccxt's order as ours.
pub fn order_result(o: &ccxt::types::Order) -> OrderResult {
    let order_type = type_of(o);
    let filled = dec_opt(o.filled);
    let avg =
        dec_opt(o.average).or_else(|| if filled.is_some_and(|f| f > Decimal::ZERO) { dec_opt(o.price) } else { None });
    OrderResult {
        order_id: o.id.clone(),
        client_order_id: o.client_order_id.clone(),
        status: status_of(o),
        symbol: o.symbol.clone(),
        side: match o.side.as_deref() {
            Some("buy") => Some(Side::Buy),
            Some("sell") => Some(Side::Sell),
            _ => None,
        },
        order_type,
        quantity: dec_opt(o.amount).map(Qty),
        filled_quantity: filled.map(Qty),
        avg_price: avg.filter(|p| *p > Decimal::ZERO).map(Price),
        limit_price: if matches!(order_type, Some(OrderType::Limit | OrderType::StopLimit)) {
            dec_opt(o.price).filter(|p| *p > Decimal::ZERO).map(Price)
        } else {
            None
        },
        stop_price: dec_opt(trigger_of(o)).map(Price),
        tif: match o.time_in_force.as_deref() {
            Some("GTC") => Some(TimeInForce::Gtc),
            _ => None,
        },
        message: None,
        dry_run: false,
        leg: None,
    }
}

pub(crate) fn ticker_quote(symbol: &str, t: &ccxt::types::Ticker, ccy: &str) -> Quote {
    let last = dec_opt(t.last.or(t.close));
    Quote {
        symbol: symbol.to_string(),
        last: last.map(Price),
        bid: dec_opt(t.bid).map(Price),
        ask: dec_opt(t.ask).map(Price),
        currency: ccy.to_string(),
        note: last.is_none().then(|| "the exchange reported no last price".to_string()),
    }
}

pub(crate) fn base_of(symbol: &str) -> &str {
    symbol.split_once('/').map_or(symbol, |(b, _)| b)
}
