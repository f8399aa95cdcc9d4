use rust_decimal_macros::dec;

use super::*;

#[test]
fn floats_come_back_as_the_decimals_they_print_as() {
    assert_eq!(dec(0.1), Some(dec!(0.1)));
    assert_eq!(dec(1e-5), Some(dec!(0.00001)));
    assert_eq!(dec(65000.01), Some(dec!(65000.01)));
    assert_eq!(dec(f64::NAN), None);
    assert_eq!(float(dec!(0.00123)).unwrap(), 0.00123);
}

#[test]
fn steps_truncate_and_ticks_favour_the_trader() {
    assert_eq!(floor_to_step(dec!(0.123456), Some(dec!(0.00001))), dec!(0.12345));
    assert_eq!(floor_to_step(dec!(0.00000999), Some(dec!(0.00001))), dec!(0));
    assert_eq!(floor_to_step(dec!(3.7), None), dec!(3.7));
    assert_eq!(price_to_tick(dec!(50000.005), Some(dec!(0.01)), Side::Buy), dec!(50000));
    assert_eq!(price_to_tick(dec!(50000.005), Some(dec!(0.01)), Side::Sell), dec!(50000.01));
    assert_eq!(price_to_tick(dec!(50000.01), Some(dec!(0.01)), Side::Sell), dec!(50000.01));
}

#[test]
fn market_limits_name_the_limit() {
    let r = MarketRules {
        symbol: "BTC/USDT".into(),
        base: "BTC".into(),
        quote: "USDT".into(),
        active: true,
        amount_step: Some(dec!(0.00001)),
        price_tick: Some(dec!(0.01)),
        min_amount: Some(dec!(0.00001)),
        max_amount: Some(dec!(9000)),
        min_cost: Some(dec!(5)),
        taker_fee: Some(dec!(0.001)),
    };
    let e = r.check(dec!(0.00005), Some(dec!(50000))).unwrap_err();
    assert_eq!(e.to_string(), "order value 2.5 USDT is below BTC/USDT's minimum order value 5 USDT (limits.cost.min)");
    assert!(r.check(dec!(0.000001), None).unwrap_err().to_string().contains("limits.amount.min"));
    assert!(r.check(dec!(10000), None).unwrap_err().to_string().contains("limits.amount.max"));
    assert!(r.check(dec!(0), None).unwrap_err().to_string().contains("rounds to 0"));
    assert!(r.check(dec!(0.001), Some(dec!(50000))).is_ok());
}
