use rust_decimal_macros::dec;
use trading_core::{
    error::ErrorCode,
    money::{Money, Price, Qty},
    order::{OrderType, Side},
};

use super::*;

fn preview(json: serde_json::Value) -> PreviewParams {
    serde_json::from_value(json).unwrap()
}

#[test]
fn buy_and_preview_describe_the_same_order() {
    let buy = BuyParams { symbol: "aapl".into(), cash_amount: Some(Money(dec!(50.00))), ..Default::default() };
    let p = preview(serde_json::json!({"symbol": "AAPL", "cash_amount": 50}));
    assert_eq!(buy.intent().unwrap().exact_terms(), p.intent().unwrap().exact_terms());
}

#[test]
fn order_types_are_inferred_from_the_prices_given() {
    let t = |v| preview(v).intent().unwrap().primary().order_type;
    assert_eq!(t(serde_json::json!({"symbol": "X", "quantity": 1})), OrderType::Market);
    assert_eq!(t(serde_json::json!({"symbol": "X", "quantity": 1, "limit_price": 5})), OrderType::Limit);
    assert_eq!(t(serde_json::json!({"symbol": "X", "side": "sell", "quantity": 1, "stop_price": 5})), OrderType::Stop);
    assert_eq!(
        t(serde_json::json!({"symbol": "X", "side": "sell", "quantity": 1, "stop_price": 5, "limit_price": 4.9})),
        OrderType::StopLimit
    );
    assert_eq!(
        t(serde_json::json!({"symbol": "X", "side": "sell", "quantity": 1, "trail_percent": 2})),
        OrderType::Trail
    );
}

#[test]
fn stop_tool_matches_its_preview() {
    let stop = StopParams {
        symbol: "AAPL".into(),
        side: "sell".into(),
        quantity: Qty(dec!(2)),
        stop_price: Price(dec!(180)),
        tif: Some("gtc".into()),
        ..Default::default()
    };
    let p = preview(
        serde_json::json!({"symbol": "AAPL", "side": "SELL", "quantity": "2.0", "stop_price": 180, "tif": "GTC"}),
    );
    assert_eq!(stop.intent().unwrap().exact_terms(), p.intent().unwrap().exact_terms());
    let i = stop.intent().unwrap();
    assert_eq!(i.primary().side, Side::Sell);
}

#[test]
fn bracket_tool_matches_its_preview() {
    let b = BracketParams {
        symbol: "AAPL".into(),
        quantity: Qty(dec!(1)),
        take_profit: Price(dec!(250)),
        stop_loss: Price(dec!(200)),
        entry_limit_price: Some(Price(dec!(225))),
        ..Default::default()
    };
    let p = preview(
        serde_json::json!({"symbol": "AAPL", "quantity": 1, "limit_price": 225, "take_profit": 250, "stop_loss": 200}),
    );
    assert_eq!(b.intent().unwrap().exact_terms(), p.intent().unwrap().exact_terms());
}

#[test]
fn clear_validation_messages() {
    let e = BuyParams {
        symbol: "AAPL".into(),
        cash_amount: Some(Money(dec!(5))),
        limit_price: Some(Price(dec!(1))),
        ..Default::default()
    }
    .intent()
    .unwrap_err();
    assert_eq!(e.message, "LIMIT orders use 'quantity', not 'cash_amount' (cashQty is market-only).");
    assert_eq!(e.code, ErrorCode::Validation);
    let e = TrailParams { symbol: "AAPL".into(), side: "SELL".into(), quantity: Qty(dec!(1)), ..Default::default() }
        .intent()
        .unwrap_err();
    assert_eq!(e.message, "Provide exactly one of 'trail_amount' and 'trail_percent'.");
    let e = preview(serde_json::json!({"symbol": "AAPL", "quantity": 1, "take_profit": 5})).intent().unwrap_err();
    assert_eq!(e.message, "A bracket needs both 'take_profit' and 'stop_loss'.");
    let e = preview(serde_json::json!({"symbol": "AAPL", "quantity": 1, "tif": "IOC"})).intent().unwrap_err();
    assert_eq!(e.message, "tif: 'IOC' is not DAY or GTC");
    let e = preview(serde_json::json!({"symbol": "AAPL", "side": "HOLD", "quantity": 1})).intent().unwrap_err();
    assert_eq!(e.message, "side: 'HOLD' is not a side; use BUY or SELL");
}
