//! The adapter against IBKR's own recorded responses (served verbatim by the fake).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod gateway_common;

use cpapi_fake::{State, fixtures::RECORDED};
use gateway_common::*;
use ibkr_venue::gateway::GatewaySettings;
use rust_decimal_macros::dec;
use sim_venue::SimConfig;
use trading_core::{
    order::{OrderStatus, Side},
    ports::{Account, Broker, MarketData},
};

async fn replaying(names: &[&str]) -> Rig {
    let mut st = State::new(SimConfig::default(), "U1234567");
    st.limits = fake_state().limits;
    for n in names {
        assert!(st.replay_recorded(n), "{n}");
    }
    rig_with(st, GatewaySettings::default(), &[]).await
}

#[test]
fn every_recording_loads() {
    for (name, _) in RECORDED {
        assert!(cpapi_fake::fixtures::recorded(name).is_some(), "{name}");
    }
}

#[tokio::test]
async fn recorded_accounts_summary_and_positions() {
    let r = replaying(&[
        "Accounts/GET-iserver-accounts.json",
        "Portfolio/GET-portfolio-accounts.json",
        "Portfolio/GET-portfolio-summary.json",
        "Portfolio/GET-portfolio-positions-page0.json",
    ])
    .await;
    let id = r.venue.identity().await.unwrap();
    assert_eq!((id.account_id.as_deref(), id.is_paper), (Some("U1234567"), Some(true)), "isPaper, not the U prefix");
    let s = r.venue.summary().await.unwrap();
    assert_eq!(s.net_liquidation.unwrap().0, dec!(1005165.50));
    assert_eq!(s.buying_power.unwrap().0, dec!(3984328.97));
    assert_eq!(s.cash.unwrap().0, dec!(971869.60));
    let p = r.venue.positions().await.unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].symbol.as_str(), p[0].quantity.0), ("QQQ", dec!(3)));
    assert_eq!(p[0].market_value.unwrap().0, dec!(1754.04));
    assert_eq!(p[0].avg_cost.unwrap().0, dec!(584.3133));
}

#[tokio::test]
async fn recorded_ledger_gives_cash_by_currency() {
    let r = replaying(&[
        "Accounts/GET-iserver-accounts.json",
        "Portfolio/GET-portfolio-accounts.json",
        "Portfolio/GET-portfolio-ledger.json",
    ])
    .await;
    let c = r.venue.cash_balances().await.unwrap();
    assert_eq!(c.account_id, "U1234567");
    assert_eq!(c.base_currency, "USD", "the currency whose rate to BASE is 1");
    assert_eq!(c.balances.len(), 1, "BASE is the total, not a currency: {c:?}");
    let usd = &c.balances[0];
    assert_eq!((usd.currency.as_str(), usd.cash.0), ("USD", dec!(971869.6)));
    assert_eq!(usd.settled_cash.unwrap().0, dec!(971869.6));
    assert_eq!(usd.cash_in_base.unwrap().0, dec!(971869.60));
    assert_eq!(c.total_in_base.unwrap().0, dec!(971869.6));
}

#[tokio::test]
async fn recorded_snapshot_parses() {
    // The fake resolves SPY to conid 756733, the recorded snapshot's instrument.
    let r = replaying(&["Accounts/GET-iserver-accounts.json", "MarketData/GET-snapshot.json"]).await;
    let q = r.venue.quote("SPY").await.unwrap();
    assert_eq!((q.last.unwrap().0, q.bid.unwrap().0, q.ask.unwrap().0), (dec!(655.89), dec!(655.88), dec!(655.90)));
    assert_eq!(q.note, None);
}

#[tokio::test]
async fn recorded_stock_search_picks_the_us_listing() {
    let r = replaying(&["Accounts/GET-iserver-accounts.json", "Contracts/GET-trsrv-stocks.json"]).await;
    let _ = r.venue.quote("AAPL").await.unwrap();
    let snap = r.fake.with(|s| s.requests_to("/iserver/marketdata/snapshot"));
    assert!(snap[0].query.starts_with("conids=265598&"), "NASDAQ, not MEXI, EBS or TSE: {}", snap[0].query);
}

#[tokio::test]
async fn recorded_order_answers() {
    let r = replaying(&[
        "Accounts/GET-iserver-accounts.json",
        "Orders/GET-order-status.json",
        "Orders/GET-trades.json",
        "Orders/GET-live-orders.json",
        "Orders/POST-whatif-order.json",
    ])
    .await;
    let o = r.venue.order_status("473740665", None).await.unwrap();
    assert_eq!((o.status, o.symbol.as_str(), o.side), (OrderStatus::Filled, "SPY", Some(Side::Buy)));
    assert_eq!(o.filled_quantity.unwrap().0, dec!(1));
    let fills = r.venue.fills().await.unwrap();
    assert_eq!(
        (fills[0].side, fills[0].price.0, fills[0].quantity.0),
        (Side::Buy, dec!(647.09), dec!(1)),
        "side BOT is a buy"
    );
    let found = r.venue.find_by_client_order_id("Order123", None).await.unwrap().unwrap();
    assert_eq!(found.status, OrderStatus::Filled);
    assert!(r.venue.open_orders().await.unwrap().is_empty(), "a filled order is not open");
    let order = trading_core::order::OrderRequest {
        symbol: "SPY".into(),
        side: Side::Buy,
        order_type: trading_core::order::OrderType::Limit,
        size: trading_core::order::Size::Quantity(trading_core::money::Qty(dec!(1))),
        limit_price: Some(trading_core::money::Price(dec!(1))),
        stop_price: None,
        trail: None,
        tif: trading_core::order::TimeInForce::Day,
    };
    let p = r.venue.preview(&order).await.unwrap();
    assert_eq!((p.estimated_value.unwrap().0, p.commission.unwrap().0), (dec!(1), dec!(0.01)));
    assert_eq!(p.equity_change.unwrap().0, dec!(163));
    assert_eq!(p.margin_change.unwrap().0, dec!(164));
    assert!(p.warnings[0].starts_with("The following order"), "{:?}", p.warnings);
}

#[tokio::test]
async fn recorded_question_then_ack() {
    let r = replaying(&["Orders/POST-place-order-confirmation.json", "Orders/POST-reply-submitted.json"]).await;
    let res = r
        .broker
        .submit(
            trading_core::order::OrderIntent::Single(trading_core::order::OrderRequest {
                symbol: "AAPL".into(),
                side: Side::Buy,
                order_type: trading_core::order::OrderType::Market,
                size: trading_core::order::Size::Quantity(trading_core::money::Qty(dec!(0.1))),
                limit_price: None,
                stop_price: None,
                trail: None,
                tif: trading_core::order::TimeInForce::Day,
            }),
            None,
        )
        .await
        .unwrap();
    // The recorded question is o354 (no market data), allow-listed; the recorded reply is the ack.
    assert_eq!(res[0].order_id.as_deref(), Some("987654321"));
    assert_eq!(res[0].status, OrderStatus::Pending);
    let replies = r.fake.with(|s| s.requests_to("/iserver/reply/test-reply-id-001"));
    assert_eq!(replies[0].body, serde_json::json!({"confirmed": true}));
}
