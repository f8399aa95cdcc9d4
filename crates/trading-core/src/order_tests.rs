use rust_decimal_macros::dec;

use super::*;

fn mkt_buy_cash(cash: Decimal) -> OrderRequest {
    OrderRequest {
        symbol: " aapl ".into(),
        side: Side::Buy,
        order_type: OrderType::Market,
        size: Size::Cash(Money(cash)),
        limit_price: None,
        stop_price: None,
        trail: None,
        tif: TimeInForce::Day,
    }
}

#[test]
fn new_normalises_symbol_and_size() {
    let o = OrderRequest::new(mkt_buy_cash(dec!(50.00))).unwrap();
    assert_eq!(o.symbol, "AAPL");
    assert_eq!(o.fingerprint(), "AAPL|BUY|MKT|cash=50");
}

#[test]
fn sizes_100_and_100_point_0_are_one_fingerprint() {
    let mut a = mkt_buy_cash(dec!(1));
    a.size = Size::Quantity(Qty(dec!(100)));
    let mut b = a.clone();
    b.size = Size::Quantity(Qty(dec!(100.0)));
    assert_eq!(OrderRequest::new(a).unwrap().fingerprint(), OrderRequest::new(b).unwrap().fingerprint());
}

#[test]
fn cash_only_for_market_buys() {
    let mut o = mkt_buy_cash(dec!(50));
    o.side = Side::Sell;
    let e = OrderRequest::new(o).unwrap_err();
    assert_eq!(e.message, "cash_amount is only valid for a MARKET BUY; sells, limits and stops must use 'quantity'.");
    let mut o = mkt_buy_cash(dec!(50));
    o.order_type = OrderType::Limit;
    o.limit_price = Some(Price(dec!(10)));
    assert!(OrderRequest::new(o).is_err());
}

#[test]
fn prices_required_by_type() {
    let mut o = mkt_buy_cash(dec!(1));
    o.size = Size::Quantity(Qty(dec!(1)));
    o.order_type = OrderType::StopLimit;
    o.stop_price = Some(Price(dec!(10)));
    assert_eq!(OrderRequest::new(o.clone()).unwrap_err().message, "limit_price is required for a STOP_LIMIT order");
    o.limit_price = Some(Price(dec!(0)));
    assert!(OrderRequest::new(o.clone()).unwrap_err().message.contains("limit_price must be greater than 0"));
    o.order_type = OrderType::Trail;
    o.limit_price = None;
    o.stop_price = None;
    assert_eq!(OrderRequest::new(o).unwrap_err().message, "Provide exactly one of 'trail_amount' and 'trail_percent'.");
}

#[test]
fn zero_or_negative_sizes_refused() {
    assert!(OrderRequest::new(mkt_buy_cash(dec!(0))).is_err());
    assert!(OrderRequest::new(mkt_buy_cash(dec!(-5))).is_err());
}

#[test]
fn bracket_ordering_rules() {
    let mut entry = mkt_buy_cash(dec!(1));
    entry.size = Size::Quantity(Qty(dec!(2)));
    entry.order_type = OrderType::Limit;
    entry.limit_price = Some(Price(dec!(100)));
    let good = BracketRequest { entry: entry.clone(), take_profit: Price(dec!(110)), stop_loss: Price(dec!(90)) };
    let b = BracketRequest::new(good).unwrap();
    assert_eq!(b.take_profit_leg().side, Side::Sell);
    assert_eq!(b.stop_loss_leg().order_type, OrderType::Stop);
    assert_eq!(b.stop_loss_leg().tif, TimeInForce::Gtc);
    let bad = BracketRequest { entry, take_profit: Price(dec!(95)), stop_loss: Price(dec!(90)) };
    assert!(BracketRequest::new(bad).unwrap_err().message.contains("take_profit > entry_limit_price > stop_loss"));
}

#[test]
fn side_parses_case_insensitively() {
    assert_eq!("buy".parse::<Side>().unwrap(), Side::Buy);
    assert_eq!(serde_json::from_str::<Side>("\"Sell\"").unwrap(), Side::Sell);
    let e = serde_json::from_str::<Side>("\"HOLD\"").unwrap_err();
    assert!(e.to_string().contains("'HOLD' is not a side"));
}
