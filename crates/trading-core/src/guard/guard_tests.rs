//! One test (or more) per guard: it passes the order it should and refuses the one it should,
//! with the exact message and the setting it names.

use std::collections::HashMap;

use chrono::TimeZone;
use rust_decimal_macros::dec;

use super::*;
use crate::{
    config::{Policy, PolicyKeys},
    money::{Money, Price, Qty},
    order::{BracketRequest, TimeInForce},
};

/// The reference's messages name IBKR's keys: the guard is checked against them.
const IBKR: PolicyKeys = PolicyKeys {
    venue: "IBKR",
    server: "ibkr-mcp",
    trading_mode: "IBKR_TRADING_MODE",
    account_id: "IBKR_ACCOUNT_ID",
    ..PolicyKeys::GENERIC
};

/// Tuesday 2026-11-24, 10:00 in New York: the market is open.
fn open_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap()
}

fn policy(pairs: &[(&str, &str)]) -> Policy {
    let env: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Policy::from_env(&env, IBKR).unwrap()
}

fn caps() -> Capabilities {
    Capabilities::full(MarketHoursModel::Nyse, "USD")
}

fn quote(last: Decimal) -> Quote {
    Quote {
        symbol: "AAPL".into(),
        last: Some(Price(last)),
        bid: Some(Price(last - dec!(0.05))),
        ask: Some(Price(last + dec!(0.05))),
        currency: "USD".into(),
        note: None,
    }
}

fn facts(last: Decimal, held: Decimal) -> Facts {
    Facts {
        now: open_now(),
        identity: Ok(AccountIdentity { account_id: Some("DU123".into()), is_paper: Some(true), verified: true }),
        quote: Some(quote(last)),
        held: Ok(held),
        working: Ok(Decimal::ZERO),
        halt_file_present: false,
        journal_damage: None,
    }
}

fn order(side: Side, t: OrderType, size: Size) -> OrderRequest {
    OrderRequest {
        symbol: "AAPL".into(),
        side,
        order_type: t,
        size,
        limit_price: None,
        stop_price: None,
        trail: None,
        tif: TimeInForce::Day,
    }
}

fn cash_buy(c: Decimal) -> OrderIntent {
    OrderIntent::Single(order(Side::Buy, OrderType::Market, Size::Cash(Money(c))))
}

fn qty(side: Side, q: Decimal) -> OrderIntent {
    OrderIntent::Single(order(side, OrderType::Market, Size::Quantity(Qty(q))))
}

fn run(intent: &OrderIntent, p: &Policy, f: &Facts) -> Result<Evaluation, TradeError> {
    run_with(intent, p, f, &JournalIndex::default())
}

fn run_with(intent: &OrderIntent, p: &Policy, f: &Facts, idx: &JournalIndex) -> Result<Evaluation, TradeError> {
    let day = f.now.with_timezone(&chrono_tz::America::New_York).date_naive();
    evaluate(intent, p, &caps(), f, idx, day).map(|(_, e)| e)
}

fn refused(intent: &OrderIntent, p: &Policy, f: &Facts) -> TradeError {
    let e = run(intent, p, f).unwrap_err();
    assert_eq!(e.code, crate::error::ErrorCode::SafetyBlocked, "{e:?}");
    e
}

#[test]
fn a_plain_small_buy_passes_every_check() {
    let e = run(&cash_buy(dec!(50)), &policy(&[]), &facts(dec!(200), dec!(0))).unwrap();
    assert_eq!(e.notional, Some(dec!(50)));
    assert!(!e.is_exit);
    assert!(e.checks.contains(&"bracket_exits"));
}

#[test]
fn identity_unreadable_without_prior_confirmation() {
    let mut f = facts(dec!(200), dec!(0));
    f.identity = Err("gateway down".into());
    let e = refused(&cash_buy(dec!(50)), &policy(&[]), &f);
    assert_eq!(
        e.message,
        "Could not read the account from IBKR to confirm paper-vs-live, and there is no prior confirmation. Refusing to trade until it can be confirmed. (gateway down)"
    );
}

#[test]
fn account_mismatch_and_unknown_account() {
    let p = policy(&[("IBKR_ACCOUNT_ID", "DU999")]);
    let e = refused(&cash_buy(dec!(50)), &p, &facts(dec!(200), dec!(0)));
    assert_eq!(
        e.message,
        "Account mismatch: configured IBKR_ACCOUNT_ID=DU999 but IBKR is logged into DU123. Refusing to trade until they match — fix .env or log in to the intended account."
    );
    assert_eq!(e.setting, Some("IBKR_ACCOUNT_ID"));
    let mut f = facts(dec!(200), dec!(0));
    f.identity = Ok(AccountIdentity { account_id: None, is_paper: Some(true), verified: true });
    let e = refused(&cash_buy(dec!(50)), &p, &f);
    assert_eq!(
        e.message,
        "Could not read the logged-in account from IBKR. Refusing to trade until the account can be confirmed."
    );
    assert!(run(&cash_buy(dec!(50)), &policy(&[("IBKR_ACCOUNT_ID", "DU123")]), &facts(dec!(200), dec!(0))).is_ok());
}

#[test]
fn paper_or_live_must_be_known() {
    let mut f = facts(dec!(200), dec!(0));
    f.identity = Ok(AccountIdentity { account_id: Some("U1".into()), is_paper: None, verified: true });
    let e = refused(&cash_buy(dec!(50)), &policy(&[]), &f);
    assert_eq!(
        e.message,
        "Could not confirm from IBKR whether this is a PAPER or a LIVE (real-money) account. Refusing to trade — verify the login before retrying."
    );
}

fn live_facts() -> Facts {
    let mut f = facts(dec!(200), dec!(0));
    f.identity = Ok(AccountIdentity { account_id: Some("U1".into()), is_paper: Some(false), verified: true });
    f
}

#[test]
fn live_account_needs_the_arm_and_the_label() {
    let e = refused(&cash_buy(dec!(50)), &policy(&[]), &live_facts());
    assert_eq!(
        first(&e),
        "LIVE account detected (real money) but TRADING_ALLOW_LIVE is not true. Refusing to send the order. Only set TRADING_ALLOW_LIVE=true if you really mean to trade with real money."
    );
    assert_eq!(e.rule, Some("live_arm"));
    let e = refused(&cash_buy(dec!(50)), &policy(&[("TRADING_ALLOW_LIVE", "true")]), &live_facts());
    assert_eq!(
        e.message,
        "Config disagrees with reality: IBKR is on a LIVE (real-money) account but IBKR_TRADING_MODE=paper. Set IBKR_TRADING_MODE=live so the config matches, then retry."
    );
    let ok = policy(&[("TRADING_ALLOW_LIVE", "true"), ("IBKR_TRADING_MODE", "live")]);
    assert!(run(&cash_buy(dec!(50)), &ok, &live_facts()).is_ok());
}

#[test]
fn live_label_on_a_paper_account_is_refused() {
    let p = policy(&[("IBKR_TRADING_MODE", "live"), ("TRADING_ALLOW_LIVE", "true")]);
    let e = refused(&cash_buy(dec!(50)), &p, &facts(dec!(200), dec!(0)));
    assert_eq!(
        e.message,
        "Config disagrees with reality: IBKR_TRADING_MODE=live but IBKR is on a PAPER account. Set IBKR_TRADING_MODE=paper to match, then retry."
    );
}

#[test]
fn live_label_without_arm_is_refused() {
    let mut f = live_facts();
    f.identity = Ok(AccountIdentity { account_id: Some("U1".into()), is_paper: Some(false), verified: true });
    let p = policy(&[("IBKR_TRADING_MODE", "live")]);
    // The live-account arm fires first; the label lock is defence in depth behind it.
    assert_eq!(refused(&cash_buy(dec!(50)), &p, &f).rule, Some("live_arm"));
}

#[test]
fn unverified_identity_needs_an_explicit_ack_for_real_sends() {
    let mut f = facts(dec!(200), dec!(0));
    f.identity = Ok(AccountIdentity { account_id: Some("binance".into()), is_paper: Some(true), verified: false });
    let e = refused(&cash_buy(dec!(50)), &policy(&[("TRADING_DRY_RUN", "false")]), &f);
    assert_eq!(
        e.message,
        "IBKR can't independently confirm this is a PAPER account, so a real order requires TRADING_ALLOW_LIVE=true as an explicit acknowledgement (or keep TRADING_DRY_RUN=true)."
    );
    assert!(run(&cash_buy(dec!(50)), &policy(&[]), &f).is_ok(), "dry-run needs no ack");
}

#[test]
fn kill_switch_blocks_entries_not_exits() {
    let p = policy(&[("TRADING_HALTED", "true")]);
    let e = refused(&cash_buy(dec!(50)), &p, &facts(dec!(200), dec!(0)));
    assert_eq!(
        e.message,
        "Trading is halted by the kill switch (TRADING_HALTED=true): new entries are refused; exits and cancels still work. Set TRADING_HALTED=false to resume."
    );
    assert!(run(&qty(Side::Sell, dec!(1)), &p, &facts(dec!(200), dec!(3))).unwrap().is_exit);
    let p = policy(&[("TRADING_HALT_FILE", "/tmp/halt")]);
    let mut f = facts(dec!(200), dec!(0));
    f.halt_file_present = true;
    let e = refused(&cash_buy(dec!(50)), &p, &f);
    assert_eq!(
        e.message,
        "Trading is halted by the kill switch (halt file /tmp/halt exists): new entries are refused; exits and cancels still work. Delete the file (TRADING_HALT_FILE) to resume."
    );
}

#[test]
fn deny_and_allow_lists() {
    let e = refused(&cash_buy(dec!(50)), &policy(&[("SYMBOL_DENYLIST", "aapl")]), &facts(dec!(200), dec!(0)));
    assert_eq!(e.message, "Symbol AAPL is on the deny-list (SYMBOL_DENYLIST).");
    let e = refused(&cash_buy(dec!(50)), &policy(&[("SYMBOL_ALLOWLIST", "MSFT")]), &facts(dec!(200), dec!(0)));
    assert_eq!(e.message, "Symbol AAPL is not on the allow-list (SYMBOL_ALLOWLIST).");
    assert!(
        run(&cash_buy(dec!(50)), &policy(&[("SYMBOL_ALLOWLIST", "MSFT,AAPL")]), &facts(dec!(200), dec!(0))).is_ok()
    );
    // A pair is listed by its key or its base.
    let mut pair = cash_buy(dec!(50));
    if let OrderIntent::Single(o) = &mut pair {
        o.symbol = "BTC/USDT".into();
    }
    assert_eq!(
        refused(&pair, &policy(&[("SYMBOL_DENYLIST", "btc")]), &facts(dec!(200), dec!(0))).rule,
        Some("denylist")
    );
    assert!(run(&pair, &policy(&[("SYMBOL_ALLOWLIST", "BTC")]), &facts(dec!(200), dec!(0))).is_ok());
    // Getting out of a position is never trapped by a list.
    assert!(
        run(&qty(Side::Sell, dec!(2)), &policy(&[("SYMBOL_DENYLIST", "AAPL")]), &facts(dec!(200), dec!(2))).is_ok()
    );
}

#[test]
fn market_hours_trap_market_entries_only() {
    let p = policy(&[]);
    let mut f = facts(dec!(200), dec!(5));
    f.now = Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap(); // Sunday
    let e = refused(&cash_buy(dec!(50)), &p, &f);
    assert_eq!(
        first(&e),
        "Market closed: orders are only accepted during regular trading hours (RTH) (weekend; next open Mon 2026-11-23 09:30 ET). A limit order can rest until the open; exits are never blocked. Set ENFORCE_MARKET_HOURS=false to turn this check off."
    );
    assert_eq!(e.setting, Some("ENFORCE_MARKET_HOURS"));
    // A resting limit buy, a protective stop and a market exit all pass.
    let mut lmt = order(Side::Buy, OrderType::Limit, Size::Quantity(Qty(dec!(0.2))));
    lmt.limit_price = Some(Price(dec!(190)));
    let mut flat = f.clone();
    flat.held = Ok(dec!(0));
    assert!(run(&OrderIntent::Single(lmt), &p, &flat).is_ok());
    let mut stp = order(Side::Sell, OrderType::Stop, Size::Quantity(Qty(dec!(5))));
    stp.stop_price = Some(Price(dec!(180)));
    assert!(run(&OrderIntent::Single(stp), &p, &f).is_ok());
    assert!(run(&qty(Side::Sell, dec!(5)), &p, &f).is_ok());
    assert!(run(&cash_buy(dec!(50)), &policy(&[("ENFORCE_MARKET_HOURS", "false")]), &flat).is_ok());
}

#[test]
fn market_hours_fail_closed_past_the_verified_calendar() {
    let mut f = facts(dec!(200), dec!(0));
    f.now = Utc.with_ymd_and_hms(2031, 3, 4, 15, 0, 0).unwrap();
    let e = refused(&cash_buy(dec!(50)), &policy(&[]), &f);
    assert!(
        e.message.starts_with("Market closed: the NYSE calendar is verified only for 2020–2030; 2031"),
        "{}",
        e.message
    );
}

#[test]
fn value_cap_uses_the_worst_case_price() {
    let p = policy(&[]);
    let e = refused(&cash_buy(dec!(150)), &p, &facts(dec!(200), dec!(0)));
    assert_eq!(e.message, "Order of ~US$150 exceeds the MAX_ORDER_VALUE limit (US$100).");
    // 0.45 shares at last 200 is 90, but the ask is 200.05 and a limit of 230 could pay 103.50.
    let mut lmt = order(Side::Buy, OrderType::Limit, Size::Quantity(Qty(dec!(0.45))));
    lmt.limit_price = Some(Price(dec!(230)));
    let e = refused(&OrderIntent::Single(lmt), &p, &facts(dec!(200), dec!(0)));
    assert_eq!(e.message, "Order of ~US$103.5 exceeds the MAX_ORDER_VALUE limit (US$100).");
    // A buy stop triggers above the market: valued at its stop.
    let mut stp = order(Side::Buy, OrderType::Stop, Size::Quantity(Qty(dec!(0.45))));
    stp.stop_price = Some(Price(dec!(250)));
    assert_eq!(refused(&OrderIntent::Single(stp), &p, &facts(dec!(200), dec!(0))).rule, Some("order_value"));
    // A buy trailing stop is valued above the market by its trail.
    let mut tr = order(Side::Buy, OrderType::Trail, Size::Quantity(Qty(dec!(0.48))));
    tr.trail = Some(Trail::Amount(Price(dec!(10))));
    assert_eq!(refused(&OrderIntent::Single(tr), &p, &facts(dec!(200), dec!(0))).rule, Some("order_value"));
}

#[test]
fn value_cap_needs_a_price() {
    let mut f = facts(dec!(200), dec!(0));
    f.quote = None;
    let e = refused(&qty(Side::Buy, dec!(1)), &policy(&[]), &f);
    assert_eq!(
        e.message,
        "No usable price for AAPL (got None): cannot validate the order's value limit (MAX_ORDER_VALUE)."
    );
    // A cash amount is its own value.
    assert!(run(&cash_buy(dec!(50)), &policy(&[("MAX_POSITION_VALUE", "off")]), &f).is_ok());
}

#[test]
fn exits_are_never_value_capped() {
    let e = run(&qty(Side::Sell, dec!(10)), &policy(&[]), &facts(dec!(200), dec!(10))).unwrap();
    assert!(e.is_exit);
    // Covering a short is an exit too.
    assert!(run(&qty(Side::Buy, dec!(10)), &policy(&[]), &facts(dec!(200), dec!(-10))).unwrap().is_exit);
}

#[test]
fn quantity_cap() {
    let p = policy(&[
        ("MAX_ORDER_QUANTITY", "5"),
        ("MAX_ORDER_VALUE", "off"),
        ("MAX_POSITION_VALUE", "off"),
        ("MAX_DAILY_VALUE", "off"),
    ]);
    let e = refused(&qty(Side::Buy, dec!(6)), &p, &facts(dec!(2), dec!(0)));
    assert_eq!(e.message, "Order quantity 6 exceeds the MAX_ORDER_QUANTITY limit (5).");
    assert!(run(&qty(Side::Buy, dec!(5)), &p, &facts(dec!(2), dec!(0))).is_ok());
}

#[test]
fn resulting_position_cap() {
    let p = policy(&[("MAX_POSITION_VALUE", "1000")]);
    // Holding 4.8 at the 200.05 ask is ~960; another 0.4 would make ~1040.
    let e = refused(&qty(Side::Buy, dec!(0.4)), &p, &facts(dec!(200), dec!(4.8)));
    assert_eq!(
        e.message,
        "The resulting position in AAPL would be ~US$1040.26, above the MAX_POSITION_VALUE limit (US$1000)."
    );
    assert!(run(&qty(Side::Buy, dec!(0.1)), &p, &facts(dec!(200), dec!(4.8))).is_ok());
    let mut f = facts(dec!(200), dec!(0));
    f.held = Err("positions unavailable".into());
    assert_eq!(refused(&qty(Side::Buy, dec!(0.1)), &p, &f).rule, Some("position_value"));
}

fn index_with_spend(spent: Decimal, orders: u32) -> (tempfile::TempDir, crate::journal::Journal) {
    use crate::journal::{Journal, JournalRecord, RecordKind};
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(&dir.path().join("j.jsonl"), chrono_tz::America::New_York).unwrap();
    for n in 0..orders {
        j.append(JournalRecord {
            timestamp: j.timestamp(open_now() - chrono::Duration::minutes(30)),
            kind: RecordKind::Intent,
            client_order_id: Some(format!("c{n}")),
            symbol: Some("MSFT".into()),
            side: Some(Side::Buy),
            order_type: Some(OrderType::Market),
            cash_qty: Some(Money(spent / Decimal::from(orders))),
            notional: Some(Money(spent / Decimal::from(orders))),
            sent: true,
            order_id: Some(format!("o{n}")),
            status: "filled".into(),
            ..Default::default()
        })
        .unwrap();
    }
    (dir, j)
}

#[test]
fn daily_spend_cap() {
    let (_d, j) = index_with_spend(dec!(480), 4);
    let e = j.with_index(|i| run_with(&cash_buy(dec!(50)), &policy(&[]), &facts(dec!(200), dec!(0)), i)).unwrap_err();
    assert_eq!(
        e.message,
        "Daily spend limit reached: ~US$480 already spent today, this order is ~US$50, limit is US$500 (remaining US$20). The limit is MAX_DAILY_VALUE."
    );
    assert!(j.with_index(|i| run_with(&cash_buy(dec!(20)), &policy(&[]), &facts(dec!(200), dec!(0)), i)).is_ok());
}

#[test]
fn daily_order_count_cap() {
    let (_d, j) = index_with_spend(dec!(30), 3);
    let p = policy(&[("MAX_DAILY_ORDERS", "3")]);
    let e = j.with_index(|i| run_with(&cash_buy(dec!(5)), &p, &facts(dec!(200), dec!(0)), i)).unwrap_err();
    assert_eq!(e.message, "Daily order limit reached: 3 orders already sent today (MAX_DAILY_ORDERS=3).");
}

#[test]
fn duplicate_window_and_unresolved_dispatch() {
    use crate::journal::{Journal, JournalRecord, RecordKind};
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(&dir.path().join("j.jsonl"), chrono_tz::America::New_York).unwrap();
    j.append(JournalRecord {
        timestamp: j.timestamp(open_now() - chrono::Duration::seconds(2)),
        kind: RecordKind::Intent,
        client_order_id: Some("abc".into()),
        symbol: Some("AAPL".into()),
        side: Some(Side::Buy),
        order_type: Some(OrderType::Market),
        cash_qty: Some(Money(dec!(50.0))),
        notional: Some(Money(dec!(50))),
        sent: true,
        status: "pending".into(),
        ..Default::default()
    })
    .unwrap();
    let p = policy(&[]);
    let e = j.with_index(|i| run_with(&cash_buy(dec!(50)), &p, &facts(dec!(200), dec!(0)), i)).unwrap_err();
    assert_eq!(
        first(&e),
        "Duplicate order blocked: an identical BUY AAPL was just placed (within 5s). Wait, or change DUPLICATE_WINDOW_SECONDS."
    );
    let mut later = facts(dec!(200), dec!(0));
    later.now = open_now() + chrono::Duration::seconds(60);
    let e = j.with_index(|i| run_with(&cash_buy(dec!(50)), &p, &later, i)).unwrap_err();
    assert_eq!(
        e.message,
        "In-flight order unresolved: a previous BUY AAPL was dispatched but never confirmed (timeout or crash), so resending now could place a DUPLICATE live order. Reconcile it first with reconcile_pending (client order id abc), then retry."
    );
    // A different order is not blocked by it.
    assert!(j.with_index(|i| run_with(&cash_buy(dec!(40)), &p, &later, i)).is_ok());
}

#[test]
fn no_naked_short() {
    let p = policy(&[]);
    let e = refused(&qty(Side::Sell, dec!(0.3)), &p, &facts(dec!(200), dec!(0.2)));
    assert_eq!(
        e.message,
        "Sell of 0.3 AAPL exceeds the held position (0.2) — this would open a short. Reduce the quantity (or use close_position to exit fully), or set TRADING_ALLOW_SHORT=true to allow it."
    );
    let mut f = facts(dec!(200), dec!(0));
    f.held = Err("timeout".into());
    let no_pos_cap = policy(&[("MAX_POSITION_VALUE", "off")]);
    assert_eq!(refused(&qty(Side::Sell, dec!(0.1)), &no_pos_cap, &f).rule, Some("naked_short"));
    // With shorting allowed, a small short passes (and is value-capped as an entry).
    let allow = policy(&[("TRADING_ALLOW_SHORT", "true")]);
    assert!(run(&qty(Side::Sell, dec!(0.4)), &allow, &facts(dec!(200), dec!(0))).is_ok());
    assert_eq!(refused(&qty(Side::Sell, dec!(3)), &allow, &facts(dec!(200), dec!(0))).rule, Some("order_value"));
}

#[test]
fn inverted_stops() {
    let p = policy(&[]);
    let mut s = order(Side::Sell, OrderType::Stop, Size::Quantity(Qty(dec!(1))));
    s.stop_price = Some(Price(dec!(201)));
    let e = refused(&OrderIntent::Single(s.clone()), &p, &facts(dec!(200), dec!(1)));
    assert_eq!(
        e.message,
        "SELL stop at 201 is at/above the current price (200); it would trigger immediately. Put a SELL stop below the market."
    );
    s.stop_price = Some(Price(dec!(190)));
    assert!(run(&OrderIntent::Single(s), &p, &facts(dec!(200), dec!(1))).is_ok());
    let mut b = order(Side::Buy, OrderType::Stop, Size::Quantity(Qty(dec!(0.1))));
    b.stop_price = Some(Price(dec!(199)));
    let e = refused(&OrderIntent::Single(b), &p, &facts(dec!(200), dec!(0)));
    assert_eq!(
        e.message,
        "BUY stop at 199 is at/below the current price (200); it would trigger immediately. Put a BUY stop above the market."
    );
}

#[test]
fn bracket_exits_against_the_market() {
    let p = policy(&[]);
    let entry = order(Side::Buy, OrderType::Market, Size::Quantity(Qty(dec!(0.4))));
    let b = OrderIntent::Bracket(BracketRequest {
        entry: entry.clone(),
        take_profit: Price(dec!(220)),
        stop_loss: Price(dec!(201)),
    });
    let e = refused(&b, &p, &facts(dec!(200), dec!(0)));
    assert_eq!(
        e.message,
        "Bracket stop-loss 201 is at/above the entry fill (~200); the SELL stop would trigger immediately when the entry fills — check the levels."
    );
    let b = OrderIntent::Bracket(BracketRequest {
        entry: entry.clone(),
        take_profit: Price(dec!(199)),
        stop_loss: Price(dec!(150)),
    });
    assert_eq!(refused(&b, &p, &facts(dec!(200), dec!(0))).rule, Some("bracket_exits"));
    let b = OrderIntent::Bracket(BracketRequest { entry, take_profit: Price(dec!(220)), stop_loss: Price(dec!(190)) });
    assert!(run(&b, &p, &facts(dec!(200), dec!(0))).is_ok());
}

mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::journal::{Journal, JournalRecord, RecordKind};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever sequence of buys is attempted, what the guard lets through never sums
        /// above the daily cap.
        #[test]
        fn no_sequence_exceeds_the_daily_cap(amounts in proptest::collection::vec(1u32..120, 1..30)) {
            let dir = tempfile::tempdir().unwrap();
            let j = Journal::open(&dir.path().join("j.jsonl"), chrono_tz::America::New_York).unwrap();
            let p = policy(&[("DUPLICATE_WINDOW_SECONDS", "0"), ("MAX_DAILY_ORDERS", "off")]);
            let mut total = Decimal::ZERO;
            for (n, a) in amounts.into_iter().enumerate() {
                let intent = cash_buy(Decimal::from(a));
                let ok = j.with_index(|i| run_with(&intent, &p, &facts(dec!(200), dec!(0)), i));
                if let Ok(ev) = ok {
                    total += ev.notional.unwrap();
                    j.append(JournalRecord {
                        timestamp: j.timestamp(open_now()),
                        kind: RecordKind::Intent,
                        client_order_id: Some(format!("c{n}")),
                        symbol: Some("AAPL".into()),
                        side: Some(Side::Buy),
                        order_type: Some(OrderType::Market),
                        cash_qty: Some(Money(Decimal::from(a))),
                        notional: ev.notional.map(Money),
                        sent: true,
                        order_id: Some(format!("o{n}")),
                        status: "filled".into(),
                        ..Default::default()
                    }).unwrap();
                }
            }
            prop_assert!(total <= dec!(500));
        }

        /// With shorting off, no approved SELL is larger than the long holding.
        #[test]
        fn a_sell_never_opens_a_short(held in -50i64..50, q in 1i64..60) {
            let held = Decimal::from(held);
            let q = Decimal::from(q);
            let r = run(&qty(Side::Sell, q), &policy(&[("MAX_ORDER_VALUE", "off"), ("MAX_POSITION_VALUE", "off")]), &facts(dec!(1), held));
            if r.is_ok() {
                prop_assert!(q <= held.max(Decimal::ZERO));
            }
        }
    }
}

/// The first refusal's own message (a refusal with several lists the others after it).
fn first(e: &TradeError) -> String {
    e.violations.first().map(|v| v.message.clone()).unwrap_or_else(|| e.message.clone())
}

#[test]
fn a_refusal_lists_every_rule_it_breaks_the_most_basic_first() {
    // A sell of 50 shares not held, worth far above every cap, outside market hours.
    let mut f = facts(dec!(200), dec!(0));
    f.now = Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap(); // Sunday
    let e = refused(&qty(Side::Sell, dec!(50)), &policy(&[]), &f);
    let rules: Vec<&str> = e.violations.iter().map(|v| v.rule).collect();
    assert_eq!(rules, ["naked_short", "market_hours", "order_value", "position_value"], "{e:?}");
    assert_eq!((e.rule, e.setting), (Some("naked_short"), Some("TRADING_ALLOW_SHORT")));
    assert!(e.message.starts_with("Sell of 50 AAPL exceeds the held position (0)"), "{}", e.message);
    assert!(
        e.message.contains("Also refused: Market closed") && e.message.contains("MAX_ORDER_VALUE"),
        "{}",
        e.message
    );
    // One broken rule: no list, the message alone.
    let e = refused(&cash_buy(dec!(500)), &policy(&[]), &facts(dec!(200), dec!(0)));
    assert!(e.violations.is_empty());
    assert_eq!(e.rule, Some("order_value"));
}

#[test]
fn working_exits_count_against_the_holding() {
    // Holding 5 with working sells for 5: another sell of 5 is not an exit but a short.
    let mut f = facts(dec!(200), dec!(5));
    f.working = Ok(dec!(5));
    let e = refused(&qty(Side::Sell, dec!(5)), &policy(&[]), &f);
    assert_eq!(e.rule, Some("naked_short"), "{e:?}");
    assert!(e.message.contains("working sell orders"), "{}", e.message);
    // Holding 5 with 3 working: 2 more is still an exit (never value-capped).
    f.working = Ok(dec!(3));
    let ev = run(&qty(Side::Sell, dec!(2)), &policy(&[("MAX_ORDER_VALUE", "1")]), &f).unwrap();
    assert!(ev.is_exit);
    // 3 more is not: part of it would sell what the working orders will sell.
    assert!(run(&qty(Side::Sell, dec!(3)), &policy(&[]), &f).is_err());
    // Unreadable working orders: a reducing sell cannot be shown safe, refused.
    f.working = Err("gateway down".into());
    let e = refused(&qty(Side::Sell, dec!(1)), &policy(&[]), &f);
    assert!(e.message.contains("Could not read the working orders"), "{}", e.message);
}

#[test]
fn a_damaged_journal_refuses_entries_but_not_exits() {
    let mut f = facts(dec!(200), dec!(5));
    f.journal_damage = Some("The journal j.jsonl is damaged at line(s) 7".into());
    let e = refused(&cash_buy(dec!(50)), &policy(&[]), &f);
    assert_eq!(e.rule, Some("journal_integrity"));
    assert!(e.message.contains("line(s) 7"));
    assert!(run(&qty(Side::Sell, dec!(5)), &policy(&[]), &f).is_ok(), "getting out is never trapped");
}
