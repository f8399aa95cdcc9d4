//! Policy and order builders the venue suites share (simulator, IBKR fake, crypto fake).
#![allow(clippy::unwrap_used)] // builders of test values: a bad literal is a bug in the test

use std::collections::HashMap;

use rust_decimal::Decimal;
use trading_core::{
    config::{Policy, PolicyKeys},
    money::{Money, Price, Qty},
    order::{OrderIntent, OrderRequest, OrderType, Side, Size, TimeInForce},
};

/// An environment map from pairs.
pub fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A policy that sends: dry-run off, no tokens, no duplicate window, no daily order count,
/// then `pairs` on top (a later pair wins).
pub fn sending_policy(keys: PolicyKeys, pairs: &[(&str, &str)]) -> Policy {
    let mut all = env(&[
        (keys.dry_run, "false"),
        ("ORDER_CONFIRMATION", "off"),
        ("DUPLICATE_WINDOW_SECONDS", "0"),
        ("MAX_DAILY_ORDERS", "off"),
    ]);
    all.extend(env(pairs));
    Policy::from_env(&all, keys).unwrap()
}

/// Every cap off, for suites about something else than caps.
pub const NO_CAPS: &[(&str, &str)] = &[
    ("MAX_ORDER_VALUE", "off"),
    ("MAX_POSITION_VALUE", "off"),
    ("MAX_DAILY_VALUE", "off"),
    ("MAX_ORDER_QUANTITY", "off"),
];

/// A day order of `symbol` with no prices.
pub fn order(symbol: &str, side: Side, order_type: OrderType, size: Size) -> OrderRequest {
    OrderRequest {
        symbol: symbol.into(),
        side,
        order_type,
        size,
        limit_price: None,
        stop_price: None,
        trail: None,
        tif: TimeInForce::Day,
    }
}

pub fn cash(v: &str) -> Size {
    Size::Cash(Money(v.parse().unwrap()))
}

pub fn qty(v: &str) -> Size {
    Size::Quantity(Qty(v.parse().unwrap()))
}

pub fn price(v: &str) -> Price {
    Price(v.parse::<Decimal>().unwrap())
}

/// A market order.
pub fn market(symbol: &str, side: Side, size: Size) -> OrderIntent {
    OrderIntent::Single(order(symbol, side, OrderType::Market, size))
}

/// A limit order at `px`.
pub fn limit(symbol: &str, side: Side, size: Size, px: &str) -> OrderIntent {
    let mut r = order(symbol, side, OrderType::Limit, size);
    r.limit_price = Some(price(px));
    OrderIntent::Single(r)
}
