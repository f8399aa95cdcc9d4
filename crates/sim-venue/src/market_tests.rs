use super::*;

#[test]
fn same_seed_same_path_regardless_of_query_order() {
    let mut a = Market::new(7, HashMap::new());
    let mut b = Market::new(7, HashMap::new());
    let a100 = a.tick("AAPL", 100);
    b.tick("MSFT", 50);
    b.tick("AAPL", 30);
    assert_eq!(b.tick("AAPL", 100), a100);
    assert_ne!(Market::new(8, HashMap::new()).tick("AAPL", 100), a100);
}

#[test]
fn spread_is_positive_and_prices_stay_in_cents() {
    let mut m = Market::new(1, HashMap::new());
    for step in 0..500 {
        let t = m.tick("KO", step);
        assert!(t.bid < t.last && t.last < t.ask);
        assert_eq!(t.last.round_dp(2), t.last);
    }
}

#[test]
fn history_is_stable_and_well_formed() {
    let m = Market::new(3, HashMap::new());
    let h = m.daily_history("AAPL", 300);
    assert_eq!(h.len(), 300);
    assert_eq!(h, Market::new(3, HashMap::new()).daily_history("AAPL", 300));
    assert_eq!(h.last().unwrap().close, Decimal::from(230), "ends at today's starting price");
    assert!(h.iter().all(|b| b.low <= b.open.min(b.close) && b.high >= b.open.max(b.close) && b.low > Decimal::ZERO));
    assert_ne!(h, Market::new(4, HashMap::new()).daily_history("AAPL", 300));
}

#[test]
fn overrides_and_unknown_symbols() {
    let mut m = Market::new(1, HashMap::from([("XYZ".to_string(), Decimal::new(1250, 2))]));
    assert_eq!(m.tick("XYZ", 0).last, Decimal::new(1250, 2));
    let p = m.tick("ZZZZ", 0).last;
    assert!(p >= Decimal::from(10) && p < Decimal::from(500));
    assert_eq!(m.tick("AAPL", 0).last, Decimal::from(230));
}
