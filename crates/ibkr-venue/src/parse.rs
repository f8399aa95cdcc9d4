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
mod tests {
    use rust_decimal_macros::dec;
    use serde_json::json;

    use super::*;

    #[test]
    fn numbers_come_in_many_shapes() {
        assert_eq!(dec(&json!(647.09)), Some(dec!(647.09)));
        assert_eq!(dec(&json!("1,300")), Some(dec!(1300)));
        assert_eq!(dec(&json!("0.0066")), Some(dec!(0.0066)));
        assert_eq!(dec(&json!(null)), None);
        assert_eq!(int(&json!("265598")), Some(265598));
    }

    #[test]
    fn is_paper_coercions() {
        for (v, want) in [
            (json!(true), Some(true)),
            (json!("false"), Some(false)),
            (json!(1), Some(true)),
            (json!("yes"), Some(true)),
            (json!(0), Some(false)),
            (json!("maybe"), None),
            (json!(null), None),
        ] {
            assert_eq!(is_paper(&v), want, "{v}");
        }
    }

    #[test]
    fn statuses_and_sides() {
        assert_eq!(status("PreSubmitted"), OrderStatus::Pending);
        assert_eq!(status("Api Cancelled"), OrderStatus::Cancelled);
        assert_eq!(status("Filled"), OrderStatus::Filled);
        assert_eq!(status("Weird"), OrderStatus::Unknown);
        assert_eq!(side("B"), Some(Side::Buy));
        assert_eq!(side("SLD"), Some(Side::Sell));
        assert_eq!(side(""), None, "an unknown side is unknown, not SELL");
        assert_eq!(order_type("Stop Limit"), Some(OrderType::StopLimit));
    }

    #[test]
    fn last_price_prefixes() {
        assert_eq!(
            last_price(&json!("C195.50")),
            (Some(dec!(195.50)), Some("last is the previous close (no trade yet today)"))
        );
        assert_eq!(last_price(&json!("H12.01")).1, Some("trading is halted"));
        assert_eq!(last_price(&json!("655.89")), (Some(dec!(655.89)), None));
        assert_eq!(last_price(&json!("NaN")).0, None);
    }

    #[test]
    fn whatif_amounts_and_warnings() {
        assert_eq!(first_number("1,977.60 USD (10 Shares)"), Some(dec!(1977.60)));
        assert_eq!(shares("2 USD (0.0067 Shares)"), Some(dec!(0.0067)));
        assert_eq!(first_number("NA"), None);
        assert_eq!(
            clean_warning(
                "21/You are trying to submit an order without having market data.\nIB strongly recommends against <b>blind&nbsp;trading</b> &amp; more"
            ),
            "You are trying to submit an order without having market data. IB strongly recommends against blind trading & more"
        );
    }
}
