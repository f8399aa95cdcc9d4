//! GuardedBroker end to end over the simulator: tokens, dry-run, journaling, serialised
//! placement, crash safety and reconciliation, closes and the kill switch.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use async_trait::async_trait;
use common::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sim_venue::{SimConfig, SimVenue};
use test_support::unclear_posts::{self, UnclearRig};
use trading_core::{
    account::{AccountIdentity, AccountSummary, Capabilities, Position, Quote},
    broker::GuardedBroker,
    error::{ErrorCode, VenueError},
    guard::Approved,
    journal::{Journal, RecordKind},
    order::{BracketRequest, Fill, OrderIntent, OrderRequest, OrderResult, OrderStatus, Side},
    ports::{Account, BracketIds, Broker, MarketData, Venue, VenuePreview},
};

#[tokio::test]
async fn confirmation_token_flow() {
    let r = rig(1, &[("ORDER_CONFIRMATION", "required")]);
    let e = r.broker.submit(cash_buy("AAPL", 50), None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ConfirmationRequired);
    let p = r.broker.preview(cash_buy("AAPL", 50)).await.unwrap();
    let tok = p.confirmation_token.clone().unwrap();
    assert_eq!(p.evaluation.notional, Some(dec!(50)));
    assert!(p.venue_preview.unwrap().commission.is_some());
    // A token for $50 does not place $60.
    let e = r.broker.submit(cash_buy("AAPL", 60), Some(&tok)).await.unwrap_err();
    assert!(e.message.contains("different order"), "{}", e.message);
    let p = r.broker.preview(cash_buy("AAPL", 50)).await.unwrap();
    let tok = p.confirmation_token.unwrap();
    let res = r.broker.submit(cash_buy("AAPL", 50), Some(&tok)).await.unwrap();
    assert_eq!(res[0].status, OrderStatus::Filled);
    let e = r.broker.submit(cash_buy("AAPL", 50), Some(&tok)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ConfirmationRequired);
    assert!(e.message.contains("already used"), "{}", e.message);
    // Expiry.
    let p = r.broker.preview(cash_buy("AAPL", 40)).await.unwrap();
    r.clock.advance(121);
    let e = r.broker.submit(cash_buy("AAPL", 40), p.confirmation_token.as_deref()).await.unwrap_err();
    assert!(e.message.contains("expired"), "{}", e.message);
}

#[tokio::test]
async fn preview_refuses_what_the_guard_refuses_and_issues_no_token() {
    let r = rig(1, &[("ORDER_CONFIRMATION", "required"), ("MAX_ORDER_VALUE", "100")]);
    let e = r.broker.preview(cash_buy("AAPL", 500)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::SafetyBlocked);
    assert_eq!(e.message, "Order of ~US$500 exceeds the MAX_ORDER_VALUE limit (US$100).");
}

#[tokio::test]
async fn guards_run_again_at_execution() {
    let r = rig(1, &[("ORDER_CONFIRMATION", "required"), ("MAX_DAILY_VALUE", "100")]);
    let t1 = r.broker.preview(cash_buy("AAPL", 60)).await.unwrap().confirmation_token.unwrap();
    let t2 = r.broker.preview(cash_buy("MSFT", 60)).await.unwrap().confirmation_token.unwrap();
    r.broker.submit(cash_buy("AAPL", 60), Some(&t1)).await.unwrap();
    let e = r.broker.submit(cash_buy("MSFT", 60), Some(&t2)).await.unwrap_err();
    assert_eq!(e.rule, Some("daily_value"), "the second preview passed, but execution re-checks: {e:?}");
    // The journal says why without parsing the message: the rule and the setting.
    let (recs, _) = r.broker.journal().tail(0).unwrap();
    let blocked = recs.iter().rfind(|x| x.status == "blocked").unwrap();
    assert_eq!((blocked.rule.as_deref(), blocked.setting.as_deref()), (Some("daily_value"), Some("MAX_DAILY_VALUE")));
}

#[tokio::test]
async fn dry_run_journals_and_sends_nothing() {
    let r = rig(1, &[("TRADING_DRY_RUN", "true")]);
    let res = r.broker.submit(cash_buy("AAPL", 2), None).await.unwrap();
    assert!(res[0].dry_run);
    assert_eq!(res[0].status, OrderStatus::Pending);
    assert_eq!(
        res[0].message.as_deref(),
        Some("dry-run: order validated, NOT sent (notional ~US$2). Set TRADING_DRY_RUN=false to send orders.")
    );
    assert!(r.sim.open_orders().await.unwrap().is_empty());
    assert!(r.sim.fills().await.unwrap().is_empty());
    let (recs, _) = r.broker.journal().tail(0).unwrap();
    assert_eq!(recs.len(), 1);
    assert!(recs[0].dry_run && !recs[0].sent && recs[0].client_order_id.is_none());
}

#[tokio::test]
async fn journal_records_intent_then_outcome_with_verified_identity() {
    let r = rig(1, &[]);
    let res = r.broker.submit(cash_buy("AAPL", 50), None).await.unwrap();
    let (recs, _) = r.broker.journal().tail(0).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].kind, RecordKind::Intent);
    assert_eq!(recs[1].kind, RecordKind::Outcome);
    for rec in &recs {
        assert_eq!(rec.venue, "IBKR (simulator)");
        assert_eq!(rec.account_id.as_deref(), Some("DUSIM0001"));
        assert_eq!(rec.is_paper, Some(true));
        assert_eq!(rec.client_order_id, res[0].client_order_id);
        assert_eq!(rec.cash_qty.map(|c| c.0), Some(dec!(50)));
    }
    assert_eq!(recs[0].status, "pending");
    assert_eq!(recs[1].status, "filled");
    assert_eq!(recs[1].order_id, res[0].order_id);
    assert_eq!(recs[1].prev_hash.len(), 64);
}

#[tokio::test]
async fn a_refusal_is_journaled_and_nothing_is_sent() {
    let r = rig(1, &[("SYMBOL_DENYLIST", "TSLA")]);
    let e = r.broker.submit(cash_buy("TSLA", 10), None).await.unwrap_err();
    assert_eq!(e.rule, Some("denylist"));
    assert!(r.sim.fills().await.unwrap().is_empty());
    let (recs, _) = r.broker.journal().tail(0).unwrap();
    assert_eq!(recs[0].status, "blocked");
    assert_eq!(recs[0].message.as_deref(), Some("Symbol TSLA is on the deny-list (SYMBOL_DENYLIST)."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_buys_cannot_both_pass_the_daily_cap() {
    let r = rig(1, &[("MAX_DAILY_VALUE", "100")]);
    let mut handles = vec![];
    for sym in ["AAPL", "MSFT", "NVDA", "AMZN"] {
        let b = r.broker.clone();
        handles.push(tokio::spawn(async move { b.submit(cash_buy(sym, 60), None).await }));
    }
    let mut ok = 0;
    for h in handles {
        if h.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 1, "only one $60 buy fits under a $100 daily cap");
    assert_eq!(r.sim.fills().await.unwrap().len(), 1);
}

/// A venue whose order post reaches the simulator but whose response is lost.
struct LossyVenue {
    inner: Arc<SimVenue>,
    lose_next: AtomicBool,
    no_trailing: AtomicBool,
    /// The venue does not list the order yet when it is looked up.
    lagging: AtomicBool,
    /// The next post fails unclearly before it reaches the simulator.
    drop_next: AtomicBool,
    posts: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl MarketData for LossyVenue {
    async fn quote(&self, s: &str) -> Result<Quote, VenueError> {
        self.inner.quote(s).await
    }
    async fn quotes(&self, s: &[String]) -> Result<Vec<Quote>, VenueError> {
        self.inner.quotes(s).await
    }
}

#[async_trait]
impl Account for LossyVenue {
    async fn identity(&self) -> Result<AccountIdentity, VenueError> {
        self.inner.identity().await
    }
    async fn summary(&self) -> Result<AccountSummary, VenueError> {
        self.inner.summary().await
    }
    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        self.inner.positions().await
    }
    async fn held_quantity(&self, s: &str) -> Result<Decimal, VenueError> {
        self.inner.held_quantity(s).await
    }
}

#[async_trait]
impl Broker for LossyVenue {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn capabilities(&self) -> Capabilities {
        let mut c = self.inner.capabilities();
        c.trailing &= !self.no_trailing.load(Ordering::SeqCst);
        c
    }
    async fn place(&self, o: &Approved<OrderRequest>, coid: &str) -> Result<OrderResult, VenueError> {
        self.posts.fetch_add(1, Ordering::SeqCst);
        if self.drop_next.swap(false, Ordering::SeqCst) {
            return Err(VenueError::Unclear("connection reset before the answer".into()));
        }
        let r = self.inner.place(o, coid).await;
        if self.lose_next.swap(false, Ordering::SeqCst) {
            return Err(VenueError::Transport { message: "read timeout".into(), retryable: true });
        }
        r
    }
    async fn place_bracket(
        &self,
        o: &Approved<BracketRequest>,
        ids: &BracketIds,
    ) -> Result<Vec<OrderResult>, VenueError> {
        self.inner.place_bracket(o, ids).await
    }
    async fn preview(&self, o: &OrderRequest) -> Result<VenuePreview, VenueError> {
        self.inner.preview(o).await
    }
    async fn order_status(&self, id: &str, s: Option<&str>) -> Result<OrderResult, VenueError> {
        self.inner.order_status(id, s).await
    }
    async fn cancel(&self, id: &str, s: Option<&str>) -> Result<OrderResult, VenueError> {
        self.inner.cancel(id, s).await
    }
    async fn open_orders(&self) -> Result<Vec<OrderResult>, VenueError> {
        self.inner.open_orders().await
    }
    async fn fills(&self) -> Result<Vec<Fill>, VenueError> {
        self.inner.fills().await
    }
    async fn find_by_client_order_id(&self, c: &str, s: Option<&str>) -> Result<Option<OrderResult>, VenueError> {
        if self.lagging.load(Ordering::SeqCst) {
            return Ok(None);
        }
        self.inner.find_by_client_order_id(c, s).await
    }
    async fn session(&self) -> Result<serde_json::Value, VenueError> {
        self.inner.session().await
    }
}

fn lossy_rig(dir: &std::path::Path, sim: Arc<SimVenue>) -> (Arc<LossyVenue>, GuardedBroker) {
    let venue = Arc::new(LossyVenue {
        inner: sim,
        lose_next: AtomicBool::new(false),
        no_trailing: AtomicBool::new(false),
        lagging: AtomicBool::new(false),
        drop_next: AtomicBool::new(false),
        posts: Default::default(),
    });
    let journal = Arc::new(
        Journal::open(&dir.join("trades.jsonl"), trading_core::config::PolicyKeys::GENERIC.journal_tz).unwrap(),
    );
    let p = policy(&[("TRADING_DRY_RUN", "false"), ("ORDER_CONFIRMATION", "off"), ("DUPLICATE_WINDOW_SECONDS", "0")]);
    (venue.clone(), GuardedBroker::new(venue as Arc<dyn Venue>, p, journal, FixedClock::open()))
}

#[tokio::test]
async fn lost_response_is_indeterminate_blocks_a_resend_and_reconciles() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Arc::new(SimVenue::new(SimConfig::default(), FixedClock::open()));
    let (venue, broker) = lossy_rig(dir.path(), sim.clone());
    venue.lose_next.store(true, Ordering::SeqCst);
    venue.lagging.store(true, Ordering::SeqCst);
    let e = broker.submit(cash_buy("AAPL", 50), None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Indeterminate);
    assert!(e.message.contains("Not resending"), "{}", e.message);
    assert_eq!(sim.fills().await.unwrap().len(), 1, "the order did land");
    // The identical order is blocked until reconciled, even after a restart.
    drop(broker);
    let (_venue, broker) = lossy_rig(dir.path(), sim.clone());
    let e = broker.submit(cash_buy("AAPL", 50), None).await.unwrap_err();
    assert_eq!(e.rule, Some("unresolved_dispatch"));
    let posture = broker.posture().await;
    assert_eq!(posture.unresolved_orders.len(), 1);
    assert!(posture.safe_to_trade, "an unresolved order blocks its identical order, not the account");
    let rep = broker.reconcile_pending(false).await.unwrap();
    assert_eq!(rep.unresolved_before, 1);
    assert_eq!(rep.resolved.len(), 1);
    assert_eq!(rep.resolved[0].status, "filled");
    assert!(broker.posture().await.unresolved_orders.is_empty());
    broker.submit(cash_buy("AAPL", 50), None).await.unwrap();
    // The lost order still counts toward today's spend.
    let day = broker.journal().day_of(broker.now());
    assert_eq!(broker.journal().with_index(|i| i.spent_on(day)), dec!(100));
}

/// The shared unclear-post suite (test-support) on the simulator behind a lossy wire.
struct Unclear {
    venue: Arc<LossyVenue>,
    broker: GuardedBroker,
    _dir: tempfile::TempDir,
}

impl UnclearRig for Unclear {
    fn broker(&self) -> &GuardedBroker {
        &self.broker
    }
    fn order(&self) -> OrderIntent {
        cash_buy("AAPL", 50)
    }
    fn land_and_lose_the_answer(&self) {
        self.venue.lose_next.store(true, Ordering::SeqCst);
    }
    fn fail_without_landing(&self) {
        self.venue.drop_next.store(true, Ordering::SeqCst);
    }
    fn order_posts(&self) -> usize {
        self.venue.posts.load(Ordering::SeqCst)
    }
}

fn unclear() -> Unclear {
    let dir = tempfile::tempdir().unwrap();
    let sim = Arc::new(SimVenue::new(SimConfig::default(), FixedClock::open()));
    let (venue, broker) = lossy_rig(dir.path(), sim);
    Unclear { venue, broker, _dir: dir }
}

#[tokio::test]
async fn a_lost_response_is_found_by_client_order_id_and_never_resent() {
    let r = unclear();
    let res = unclear_posts::a_landed_order_is_found_not_resent(&r).await;
    assert_eq!(res[0].status, OrderStatus::Filled, "{res:?}");
    assert_eq!(res[0].symbol, "AAPL");
}

#[tokio::test]
async fn a_post_that_never_landed_is_indeterminate_and_blocks_its_twin() {
    unclear_posts::a_lost_order_is_indeterminate_and_blocks_its_twin(&unclear()).await;
}

#[tokio::test]
async fn reconcile_leaves_unknown_orders_blocked_unless_told() {
    let dir = tempfile::tempdir().unwrap();
    {
        let j = Journal::open(&dir.path().join("trades.jsonl"), trading_core::config::PolicyKeys::GENERIC.journal_tz)
            .unwrap();
        j.append(trading_core::journal::JournalRecord {
            timestamp: j.timestamp(FixedClock::open().0.lock().unwrap().to_owned()),
            kind: RecordKind::Intent,
            client_order_id: Some("ghost".into()),
            symbol: Some("AAPL".into()),
            side: Some(Side::Buy),
            order_type: Some(trading_core::order::OrderType::Market),
            cash_qty: Some(trading_core::money::Money(dec!(10))),
            sent: true,
            status: "pending".into(),
            ..Default::default()
        })
        .unwrap();
    }
    let sim = Arc::new(SimVenue::new(SimConfig::default(), FixedClock::open()));
    let (_v, broker) = lossy_rig(dir.path(), sim);
    let rep = broker.reconcile_pending(false).await.unwrap();
    assert_eq!(rep.still_unresolved.len(), 1);
    let rep = broker.reconcile_pending(true).await.unwrap();
    assert_eq!(rep.resolved[0].status, "unknown");
    assert!(broker.reconcile_pending(false).await.unwrap().still_unresolved.is_empty());
}

#[tokio::test]
async fn close_position_exits_despite_the_kill_switch_and_caps_and_has_a_cooldown() {
    let r = rig(4, &[("CLOSE_COOLDOWN_SECONDS", "45")]);
    r.broker.submit(qty_order("MSFT", Side::Buy, dec!(3)), None).await.unwrap();
    // Halt trading and cap order value below the position's worth.
    let halted = rig_with(
        r.sim.clone(),
        r.clock.clone(),
        &[
            ("TRADING_DRY_RUN", "false"),
            ("ORDER_CONFIRMATION", "off"),
            ("TRADING_HALTED", "true"),
            ("MAX_ORDER_VALUE", "10"),
            ("CLOSE_COOLDOWN_SECONDS", "45"),
        ],
    );
    let e = halted.broker.submit(cash_buy("MSFT", 5), None).await.unwrap_err();
    assert_eq!(e.rule, Some("kill_switch"));
    let out = halted.broker.close_position("msft", None).await.unwrap();
    assert!(out.closed, "{out:?}");
    assert_eq!(out.result.unwrap().status, OrderStatus::Filled);
    assert_eq!(r.sim.held_quantity("MSFT").await.unwrap(), Decimal::ZERO);
    let again = halted.broker.close_position("MSFT", None).await.unwrap();
    assert!(!again.closed);
    assert!(again.reason.unwrap().starts_with("A close for MSFT was just dispatched"));
    halted.clock.advance(46);
    let none = halted.broker.close_position("MSFT", None).await.unwrap();
    assert!(none.reason.unwrap().starts_with("No open position in MSFT"));
}

#[tokio::test]
async fn a_cancel_seen_later_frees_the_daily_budget() {
    let r = rig(6, &[("MAX_DAILY_VALUE", "300")]);
    let last = r.sim.quote("AAPL").await.unwrap().last.unwrap().0;
    let res = r.broker.submit(limit("AAPL", Side::Buy, dec!(1), (last * dec!(0.8)).round_dp(2)), None).await.unwrap();
    let day = r.broker.journal().day_of(r.broker.now());
    assert!(r.broker.journal().with_index(|i| i.spent_on(day)) > dec!(150));
    r.broker.cancel(res[0].order_id.as_ref().unwrap(), None).await.unwrap();
    assert_eq!(r.broker.journal().with_index(|i| i.spent_on(day)), Decimal::ZERO);
}

#[tokio::test]
async fn a_missing_capability_is_named_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Arc::new(SimVenue::new(SimConfig::default(), FixedClock::open()));
    let (venue, broker) = lossy_rig(dir.path(), sim.clone());
    venue.no_trailing.store(true, Ordering::SeqCst);
    let mut t = req(
        Side::Sell,
        trading_core::order::OrderType::Trail,
        trading_core::order::Size::Quantity(trading_core::money::Qty(dec!(1))),
    );
    t.trail = Some(trading_core::order::Trail::Amount(trading_core::money::Price(dec!(1))));
    let e = broker.submit(trading_core::order::OrderIntent::Single(t), None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unsupported);
    assert_eq!(e.message, "IBKR (simulator) does not support trailing stops (capability missing)");
    assert!(sim.open_orders().await.unwrap().is_empty());
}

#[tokio::test]
async fn modify_guards_the_added_quantity_and_needs_a_matching_token() {
    use trading_core::{broker::OrderChange, money::Qty};
    let r = rig(8, &[("ORDER_CONFIRMATION", "required"), ("MAX_ORDER_VALUE", "150"), ("MAX_DAILY_VALUE", "200")]);
    let last = r.sim.quote("KO").await.unwrap().last.unwrap().0;
    let px = (last * dec!(0.8)).round_dp(2);
    let first = limit("KO", Side::Buy, dec!(1), px);
    let tok = r.broker.preview(first.clone()).await.unwrap().confirmation_token.unwrap();
    let placed = r.broker.submit(first, Some(&tok)).await.unwrap();
    let id = placed[0].order_id.clone().unwrap();
    // No token: the message says exactly what to preview.
    let change = OrderChange { quantity: Some(Qty(dec!(2))), ..Default::default() };
    let e = r.broker.modify(&id, change.clone(), None).await.unwrap_err();
    assert!(e.message.contains(&format!("symbol=KO side=BUY quantity=2 limit_price={px}")), "{}", e.message);
    // Two shares at ~62 fit the per-order cap; the added share counts against the day.
    let tok = r.broker.preview(limit("KO", Side::Buy, dec!(2), px)).await.unwrap().confirmation_token.unwrap();
    let m = r.broker.modify(&id, change, Some(&tok)).await.unwrap();
    assert_eq!(m.quantity.unwrap().0, dec!(2));
    let day = r.broker.journal().day_of(r.broker.now());
    let spent = r.broker.journal().with_index(|i| i.spent_on(day));
    assert!(spent > last * dec!(1.5) && spent < last * dec!(2.5), "original plus the added share: {spent}");
    // Growing it past the per-order cap is refused.
    let big = OrderChange { quantity: Some(Qty(dec!(3))), ..Default::default() };
    let tok = r.broker.preview(limit("KO", Side::Buy, dec!(3), px)).await;
    assert!(tok.is_err(), "preview refuses it too");
    let e = r.broker.modify(&id, big, Some("ct_none")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ConfirmationRequired);
}
