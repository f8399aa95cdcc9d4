use chrono::TimeZone;
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::{
    money::{Money, Qty},
    order::{OrderRequest, OrderType, Side, Size, TimeInForce},
};

fn intent(cash: i64) -> OrderIntent {
    OrderIntent::Single(OrderRequest {
        symbol: "AAPL".into(),
        side: Side::Buy,
        order_type: OrderType::Market,
        size: Size::Cash(Money(Decimal::from(cash))),
        limit_price: None,
        stop_price: None,
        trail: None,
        tif: TimeInForce::Day,
    })
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap()
}

#[test]
fn matching_token_redeems_once() {
    let store = TokenStore::new(120);
    let (tok, exp) = store.issue(&intent(50), t0(), None);
    assert_eq!(exp, t0() + Duration::seconds(120));
    assert!(store.redeem(Some(&tok), &intent(50), t0()).is_ok());
    let again = store.redeem(Some(&tok), &intent(50), t0()).unwrap_err();
    assert_eq!(again.code, ErrorCode::ConfirmationRequired);
    assert!(again.message.contains("already used"), "{}", again.message);
}

#[test]
fn missing_expired_and_mismatched_tokens_are_refused() {
    let store = TokenStore::new(120);
    let e = store.redeem(None, &intent(50), t0()).unwrap_err();
    assert!(e.message.contains("call preview_order"), "{}", e.message);

    let (tok, _) = store.issue(&intent(50), t0(), None);
    let e = store.redeem(Some(&tok), &intent(50), t0() + Duration::seconds(120)).unwrap_err();
    assert!(e.message.contains("expired"), "{}", e.message);

    let (tok, _) = store.issue(&intent(50), t0(), None);
    let e = store.redeem(Some(&tok), &intent(51), t0()).unwrap_err();
    assert!(e.message.contains("different order"), "{}", e.message);
    // The mismatched attempt spent the token.
    assert!(store.redeem(Some(&tok), &intent(50), t0()).is_err());
}

#[test]
fn sizes_written_differently_are_the_same_order() {
    let store = TokenStore::new(120);
    let mut a = intent(100);
    if let OrderIntent::Single(o) = &mut a {
        o.size = Size::Quantity(Qty(Decimal::new(1000, 1)));
        o.order_type = OrderType::Market;
    }
    let mut b = a.clone();
    if let OrderIntent::Single(o) = &mut b {
        o.size = Size::Quantity(Qty(Decimal::from(100)));
    }
    let (tok, _) = store.issue(&a, t0(), None);
    assert!(store.redeem(Some(&tok), &b, t0()).is_ok());
}

proptest! {
    /// However tokens are issued and presented, each is accepted at most once.
    #[test]
    fn tokens_are_single_use(presentations in proptest::collection::vec(0usize..4, 1..40)) {
        let store = TokenStore::new(120);
        let toks: Vec<String> = (0..4).map(|_| store.issue(&intent(50), t0(), None).0).collect();
        let mut accepted = [0u32; 4];
        for i in presentations {
            if store.redeem(Some(&toks[i]), &intent(50), t0()).is_ok() {
                accepted[i] += 1;
            }
        }
        prop_assert!(accepted.iter().all(|&n| n <= 1));
    }
}
