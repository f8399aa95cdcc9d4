//! Parsers for CPAPI's loosely typed JSON: numbers as strings or numbers, status and side
//! spellings, snapshot fields, what-if amounts. Free functions, tested against recorded shapes.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;
use trading_core::order::{OrderStatus, OrderType, Side};

/// A decimal from a JSON number or a string ("1,300", "0.54%", "C195.50" are not numbers).
pub fn dec(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => {
            Decimal::from_str(&n.to_string()).or_else(|_| Decimal::from_scientific(&n.to_string())).ok()
        }
        Value::String(s) => {
            let t = s.trim().replace(',', "");
            Decimal::from_str(&t).ok()
        }
        _ => None,
    }
}

/// An integer id from a number or a string.
pub fn int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// A string form of an id that may come as a number.
pub fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `isPaper` as IBKR sends it: a bool, "true"/"false"/"1"/"0"/"yes"/"no", or 0/1.
pub fn is_paper(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// IBKR's order status spellings (case and spaces ignored).
pub fn status(raw: &str) -> OrderStatus {
    match raw.to_ascii_lowercase().replace([' ', '_'], "").as_str() {
        "submitted" => OrderStatus::Submitted,
        "presubmitted" | "pendingsubmit" | "pendingcancel" | "warnstate" => OrderStatus::Pending,
        "filled" => OrderStatus::Filled,
        "cancelled" | "canceled" | "apicancelled" | "precancelled" => OrderStatus::Cancelled,
        "rejected" => OrderStatus::Rejected,
        "inactive" => OrderStatus::Inactive,
        _ => OrderStatus::Unknown,
    }
}

/// "B"/"BUY"/"BOT" and "S"/"SELL"/"SLD"; anything else is unknown, never guessed.
pub fn side(raw: &str) -> Option<Side> {
    match raw.trim().to_ascii_uppercase().as_str() {
        "B" | "BUY" | "BOT" => Some(Side::Buy),
        "S" | "SELL" | "SLD" => Some(Side::Sell),
        _ => None,
    }
}

/// Order type codes and display names.
pub fn order_type(raw: &str) -> Option<OrderType> {
    match raw.trim().to_ascii_uppercase().replace([' ', '_'], "").as_str() {
        "MKT" | "MARKET" => Some(OrderType::Market),
        "LMT" | "LIMIT" => Some(OrderType::Limit),
        "STP" | "STOP" => Some(OrderType::Stop),
        "STOPLIMIT" | "STPLMT" => Some(OrderType::StopLimit),
        "TRAIL" | "TRAILINGSTOP" => Some(OrderType::Trail),
        _ => None,
    }
}

/// Snapshot field 31 (last): strips IBKR's prefixes and says what they meant.
pub fn last_price(raw: &Value) -> (Option<Decimal>, Option<&'static str>) {
    let Some(s) = raw.as_str() else { return (dec(raw), None) };
    let s = s.trim();
    let (note, digits) = match s.chars().next() {
        Some('C') => (Some("last is the previous close (no trade yet today)"), &s[1..]),
        Some('H') => (Some("trading is halted"), &s[1..]),
        _ => (None, s),
    };
    (dec(&Value::String(digits.to_string())).filter(|d| *d > Decimal::ZERO), note)
}

/// The first number in a what-if amount like "1,977.60 USD (10 Shares)".
pub fn first_number(s: &str) -> Option<Decimal> {
    let t: String = s
        .chars()
        .skip_while(|c| !c.is_ascii_digit() && *c != '-')
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-'))
        .collect();
    Decimal::from_str(&t.replace(',', "")).ok()
}

/// The share count in "… (10 Shares)".
pub fn shares(s: &str) -> Option<Decimal> {
    let inner = s.split_once('(')?.1;
    first_number(inner)
}

/// A what-if warning without its "code/" prefix, HTML tags and entities.
pub fn clean_warning(raw: &str) -> String {
    let body = match raw.split_once('/') {
        Some((code, rest)) if code.chars().all(|c| c.is_ascii_digit()) => rest,
        _ => raw,
    };
    let mut out = String::with_capacity(body.len());
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ").replace("&amp;", "&").split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
