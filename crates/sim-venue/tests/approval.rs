//! A person's approval in the order path, over the simulator: held orders send nothing until
//! approved, are placed exactly once under the approval's id, re-run the guard and the drift
//! check at approval, and never outlive the process.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::sync::Arc;

use common::*;
use rust_decimal_macros::dec;
use test_support::orders::limit;
use trading_core::{
    approval::{ApprovalState, Channel, Reach},
    broker::{Asker, Decision, GuardedBroker, Submitted},
    error::ErrorCode,
    journal::{Journal, RecordKind},
    money::Qty,
    order::{OrderType, Side, Size},
    ports::{Broker, Venue},
};

fn web() -> Asker {
    Asker { principal: "local".into(), reach: Reach { web: true, ..Reach::default() } }
}

async fn held(r: &Rig, asker: &Asker) -> trading_core::approval::Approval {
    let p = r.broker.preview(cash_buy("AAPL", 50)).await.unwrap();
    match r.broker.submit_as(cash_buy("AAPL", 50), p.confirmation_token.as_deref(), asker).await.unwrap() {
        Submitted::Pending(a) => {
            assert_eq!(a.fingerprint, p.fingerprint, "the person sees the fingerprint the agent was shown");
            *a
        }
        Submitted::Sent(v) => panic!("sent without approval: {v:?}"),
    }
}

fn approving(pairs: &[(&str, &str)]) -> Rig {
    let mut all = vec![("ORDER_CONFIRMATION", "required"), ("TRADING_APPROVAL", "web")];
    all.extend_from_slice(pairs);
    rig(3, &all)
}

fn journal_lines(r: &Rig, kind: RecordKind) -> Vec<trading_core::journal::JournalRecord> {
    r.broker.journal().tail(0).unwrap().0.into_iter().filter(|l| l.kind == kind).collect()
}

#[tokio::test]
async fn a_held_order_sends_nothing_until_approved_then_exactly_once() {
    let r = approving(&[]);
    let a = held(&r, &web()).await;
    assert_eq!(a.channel, Channel::Web);
    assert_eq!(a.state, ApprovalState::Pending);
    assert!(r.sim.open_orders().await.unwrap().is_empty() && r.sim.fills().await.unwrap().is_empty());
    assert!(journal_lines(&r, RecordKind::Intent).is_empty(), "no order line before approval");

    let done = r.broker.decide(&a.id, Decision::Approve, "owner (web)", Some(&a.digest)).await.unwrap();
    assert_eq!(done.state, ApprovalState::Placed, "{:?}", done.reason);
    assert_eq!(done.results.len(), 1);
    assert_eq!(done.results[0].client_order_id.as_deref(), Some(a.id.as_str()), "client order id = approval id");
    assert!(r.sim.find_by_client_order_id(&a.id, Some("AAPL")).await.unwrap().is_some());

    // A replayed approval sees it placed and sends nothing more.
    let again = r.broker.decide(&a.id, Decision::Approve, "owner (web)", Some(&a.digest)).await.unwrap();
    assert_eq!(again.state, ApprovalState::Placed);
    assert_eq!(r.sim.fills().await.unwrap().len(), 1);
    let steps: Vec<String> = journal_lines(&r, RecordKind::Approval).into_iter().map(|l| l.status).collect();
    assert_eq!(steps, ["approval_pending", "approved"]);
    let approved = journal_lines(&r, RecordKind::Approval).pop().unwrap();
    assert_eq!(approved.caller.as_deref(), Some("owner (web)"));
    assert_eq!(approved.channel.as_deref(), Some("web"));
}

#[tokio::test]
async fn rejected_expired_and_cancelled_send_nothing() {
    let r = approving(&[("APPROVAL_TTL_SECONDS", "30")]);
    let a = held(&r, &web()).await;
    let no = r.broker.decide(&a.id, Decision::Reject("not today".into()), "owner", None).await.unwrap();
    assert_eq!(no.state, ApprovalState::Rejected);
    assert!(no.reason.unwrap().contains("not today"));
    let late = r.broker.decide(&a.id, Decision::Approve, "owner", None).await.unwrap();
    assert_eq!(late.state, ApprovalState::Rejected, "a rejection is final");

    r.clock.advance(10);
    let b = held(&r, &web()).await;
    r.clock.advance(31);
    let gone = r.broker.decide(&b.id, Decision::Approve, "owner", None).await.unwrap();
    assert_eq!(gone.state, ApprovalState::Expired);

    r.clock.advance(10);
    let c = held(&r, &web()).await;
    assert_eq!(r.broker.cancel_approval(&c.id).unwrap().state, ApprovalState::Cancelled);
    assert_eq!(r.broker.decide(&c.id, Decision::Approve, "owner", None).await.unwrap().state, ApprovalState::Cancelled);
    assert!(r.sim.fills().await.unwrap().is_empty() && r.sim.open_orders().await.unwrap().is_empty());
    let steps: Vec<String> = journal_lines(&r, RecordKind::Approval).into_iter().map(|l| l.status).collect();
    assert_eq!(steps, ["approval_pending", "rejected", "approval_pending", "expired", "approval_pending", "cancelled"]);
}

#[tokio::test]
async fn a_page_showing_another_order_cannot_approve_this_one() {
    let r = approving(&[]);
    let a = held(&r, &web()).await;
    let e = r.broker.decide(&a.id, Decision::Approve, "owner", Some("00ff")).await.unwrap_err();
    assert!(e.message.contains("different order"), "{}", e.message);
    assert_eq!(r.broker.approvals().get(&a.id).unwrap().state, ApprovalState::Pending);
}

#[tokio::test]
async fn the_guard_runs_again_at_approval() {
    let r = approving(&[]);
    let halt = r.dir.path().join("HALT");
    let rr = rig_with(
        r.sim.clone(),
        r.clock.clone(),
        &[
            ("TRADING_DRY_RUN", "false"),
            ("ORDER_CONFIRMATION", "required"),
            ("TRADING_APPROVAL", "web"),
            ("MAX_DAILY_VALUE", "off"),
            ("TRADING_HALT_FILE", halt.to_str().unwrap()),
        ],
    );
    let a = held(&rr, &web()).await;
    std::fs::write(&halt, "stop").unwrap();
    let done = rr.broker.decide(&a.id, Decision::Approve, "owner", None).await.unwrap();
    assert_eq!(done.state, ApprovalState::Blocked);
    assert!(done.reason.as_deref().unwrap().contains("refused when placed"), "{:?}", done.reason);
    assert!(rr.sim.fills().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_market_order_that_drifted_is_not_placed() {
    let r = approving(&[("APPROVAL_MAX_DRIFT_PCT", "0")]);
    let a = held(&r, &web()).await;
    r.sim.advance(200);
    let done = r.broker.decide(&a.id, Decision::Approve, "owner", None).await.unwrap();
    assert_eq!(done.state, ApprovalState::Blocked);
    assert!(done.reason.as_deref().unwrap().contains("APPROVAL_MAX_DRIFT_PCT=0%"), "{:?}", done.reason);
    assert!(r.sim.fills().await.unwrap().is_empty());

    // A limit order is bounded by its own price: no drift check.
    let lim = limit("AAPL", Side::Buy, Size::Quantity(Qty(dec!(0.1))), "10");
    let p = r.broker.preview(lim.clone()).await.unwrap();
    let Submitted::Pending(b) = r.broker.submit_as(lim, p.confirmation_token.as_deref(), &web()).await.unwrap() else {
        panic!("not held")
    };
    r.sim.advance(200);
    let done = r.broker.decide(&b.id, Decision::Approve, "owner", None).await.unwrap();
    assert_eq!(done.state, ApprovalState::Placed, "{:?}", done.reason);
    assert_eq!(done.results[0].order_type, Some(OrderType::Limit));
}

#[tokio::test]
async fn no_channel_refuses_naming_the_setting() {
    let r = approving(&[]);
    let p = r.broker.preview(cash_buy("AAPL", 50)).await.unwrap();
    let e = r.broker.submit(cash_buy("AAPL", 50), p.confirmation_token.as_deref()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ApprovalRequired);
    assert_eq!(e.setting, Some("TRADING_APPROVAL"));
    assert!(e.message.contains("NOT placed"), "{}", e.message);
    assert!(r.sim.fills().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_restart_drops_pending_approvals_and_sends_nothing() {
    let r = approving(&[]);
    let a = held(&r, &web()).await;
    let path = r.broker.journal().path().to_path_buf();
    let Rig { dir: _dir, sim, broker, clock } = r;
    drop(broker); // the process ends: its journal lock goes with it
    let journal = Arc::new(Journal::open(&path, trading_core::config::PolicyKeys::GENERIC.journal_tz).unwrap());
    let restarted = GuardedBroker::new(
        sim.clone() as Arc<dyn Venue>,
        policy(&[("TRADING_DRY_RUN", "false"), ("TRADING_APPROVAL", "web")]),
        journal,
        clock,
    );
    let e = restarted.decide(&a.id, Decision::Approve, "owner", None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    let last = restarted.journal().tail(1).unwrap().0.pop().unwrap();
    assert_eq!((last.kind, last.status.as_str()), (RecordKind::Approval, "dropped"));
    assert_eq!(last.approval_id.as_deref(), Some(a.id.as_str()));
    assert!(sim.fills().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_modification_waits_for_approval_too() {
    let r = approving(&[]);
    let lim = limit("AAPL", Side::Buy, Size::Quantity(Qty(dec!(0.1))), "10");
    let placed = {
        let p = r.broker.preview(lim.clone()).await.unwrap();
        let Submitted::Pending(a) =
            r.broker.submit_as(lim.clone(), p.confirmation_token.as_deref(), &web()).await.unwrap()
        else {
            panic!("not held")
        };
        r.broker.decide(&a.id, Decision::Approve, "owner", None).await.unwrap().results.remove(0)
    };
    let id = placed.order_id.clone().unwrap();
    let bigger = limit("AAPL", Side::Buy, Size::Quantity(Qty(dec!(0.5))), "10");
    let p = r.broker.preview(bigger).await.unwrap();
    let change = trading_core::broker::OrderChange { quantity: Some(Qty(dec!(0.5))), ..Default::default() };
    let Submitted::Pending(m) = r.broker.modify_as(&id, change, p.confirmation_token.as_deref(), &web()).await.unwrap()
    else {
        panic!("a modification went out without approval")
    };
    let before = r.sim.order_status(&id, Some("AAPL")).await.unwrap();
    assert_eq!(before.quantity, Some(Qty(dec!(0.1))));
    let done = r.broker.decide(&m.id, Decision::Approve, "owner", None).await.unwrap();
    assert_eq!(done.state, ApprovalState::Placed, "{:?}", done.reason);
    assert_eq!(r.sim.order_status(&id, Some("AAPL")).await.unwrap().quantity, Some(Qty(dec!(0.5))));
}
