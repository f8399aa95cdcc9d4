//! One suite for the rule every venue shares: an order post whose answer is unclear is looked up
//! by client order id, never resent; found, it is placed; not found, it is INDETERMINATE, blocks
//! its identical order and waits for reconcile. The rule lives in `GuardedBroker`; each venue's
//! contract tests run these scenarios through its own fake (simulator, IBKR gateway, exchange).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use trading_core::{
    broker::GuardedBroker,
    error::ErrorCode,
    order::{OrderIntent, OrderResult},
};

/// A venue behind a guarded broker, with the two faults the suite needs.
pub trait UnclearRig {
    fn broker(&self) -> &GuardedBroker;
    /// An order this venue accepts and fills.
    fn order(&self) -> OrderIntent;
    /// The next order post reaches the venue and the order lands, but its answer is lost.
    fn land_and_lose_the_answer(&self);
    /// The next order post fails unclearly and nothing lands.
    fn fail_without_landing(&self);
    /// How many order posts reached the venue so far.
    fn order_posts(&self) -> usize;
}

/// The order landed: it is found by client order id, reported placed, journaled, never resent.
pub async fn a_landed_order_is_found_not_resent(r: &impl UnclearRig) -> Vec<OrderResult> {
    r.land_and_lose_the_answer();
    let res = r.broker().submit(r.order(), None).await.unwrap();
    assert!(res[0].order_id.is_some(), "{res:?}");
    let why = res[0].message.clone().unwrap_or_default();
    assert!(why.contains("found by client order id"), "{res:?}");
    assert_eq!(r.order_posts(), 1, "looked up, never resent");
    assert!(r.broker().posture().await.unresolved_orders.is_empty(), "the journal has its outcome");
    res
}

/// Nothing landed: INDETERMINATE, the identical order is blocked, reconcile finds nothing and
/// leaves it open until a person accepts it as resolved.
pub async fn a_lost_order_is_indeterminate_and_blocks_its_twin(r: &impl UnclearRig) {
    r.fail_without_landing();
    let e = r.broker().submit(r.order(), None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Indeterminate, "{e:?}");
    assert!(e.message.contains("Not resending"), "{}", e.message);
    let e = r.broker().submit(r.order(), None).await.unwrap_err();
    assert_eq!(e.rule, Some("unresolved_dispatch"), "{e:?}");
    assert_eq!(r.order_posts(), 1, "one post, never resent");
    let rep = r.broker().reconcile_pending(false).await.unwrap();
    assert_eq!((rep.resolved.len(), rep.still_unresolved.len()), (0, 1), "{rep:?}");
    let rep = r.broker().reconcile_pending(true).await.unwrap();
    assert_eq!(rep.resolved.len(), 1, "{rep:?}");
    assert!(r.broker().submit(r.order(), None).await.is_ok(), "resolved, the order may go again");
}
