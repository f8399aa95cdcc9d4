//! The adapter against a gateway that answers in IBKR's recorded shapes (the fake serves
//! REC-C's filled status, REC-I's resting status, SPEC's option and crypto position rows,
//! cached positions, the stop-order question, an empty live-orders list without accountId):
//! each test here failed on the adapter that only agreed with our own fake.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod gateway_common;

use gateway_common::*;
use rust_decimal_macros::dec;
use serde_json::json;
use trading_core::{
    account::AssetClass,
    broker::OrderChange,
    error::ErrorCode,
    money::{Price, Qty},
    order::{OrderIntent, OrderRequest, OrderStatus, OrderType, Side, Size, TimeInForce},
    ports::{Account, Broker, MarketData},
};

fn order(sym: &str, side: Side, t: OrderType, qty: rust_decimal::Decimal) -> OrderRequest {
    OrderRequest {
        symbol: sym.into(),
        side,
        order_type: t,
        size: Size::Quantity(Qty(qty)),
        limit_price: None,
        stop_price: None,
        trail: None,
        tif: TimeInForce::Day,
    }
}

async fn option_holder() -> Rig {
    let mut st = fake_state();
    // SPEC's example page: a SPY call, a BTC crypto row and IBM shares; no SPY shares.
    st.extra_position_rows = cpapi_fake::fixtures::spec_position_rows();
    rig_with(st, Default::default(), &[("MAX_ORDER_VALUE", "off"), ("MAX_POSITION_VALUE", "off")]).await
}

#[tokio::test]
async fn an_option_holding_is_never_sold_as_stock() {
    let r = option_holder().await;
    let p = r.venue.positions().await.unwrap();
    let opt = p.iter().find(|p| p.asset_class == AssetClass::Option).unwrap();
    assert_eq!(opt.symbol, "SPY 2025-01-17 440 C", "shown as the option it is, not as 1 SPY share");
    assert_eq!(r.venue.held_quantity("SPY").await.unwrap(), dec!(0));
    assert_eq!(r.venue.held_quantity("IBM").await.unwrap(), dec!(1412));

    let e = r
        .broker
        .submit(OrderIntent::Single(order("SPY", Side::Sell, OrderType::Market, dec!(1))), None)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::SafetyBlocked, "{e:?}");
    assert_eq!(e.setting, Some("TRADING_ALLOW_SHORT"), "{e:?}");

    let c = r.broker.close_position("SPY", None).await.unwrap();
    assert!(!c.closed);
    let why = c.reason.unwrap();
    assert!(why.contains("SPY 2025-01-17 440 C (option)") && why.contains("cannot trade"), "{why}");

    let e = r
        .broker
        .submit(OrderIntent::Single(order("SPY 2025-01-17 440 C", Side::Sell, OrderType::Market, dec!(1))), None)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Unsupported, "{e:?}");
    assert!(e.message.contains("options trading is not supported yet"), "{}", e.message);
    assert!(r.order_posts().is_empty(), "no order reached IBKR");
    // (The statistics leave the option and the crypto row out: ibkr-mcp's gateway_e2e.)
}

#[tokio::test]
async fn a_filled_buy_reports_its_price_and_positions_show_it_at_once() {
    let r = rig(&[]).await;
    assert!(r.venue.positions().await.unwrap().is_empty(), "read once: IBKR now caches the empty page");
    let res = r
        .broker
        .submit(OrderIntent::Single(order("AAPL", Side::Buy, OrderType::Market, dec!(0.1))), None)
        .await
        .unwrap();
    let id = res[0].order_id.clone().unwrap();
    let s = r.venue.order_status(&id, None).await.unwrap();
    let invalidated = r.count(&format!("/portfolio/{ACCT}/positions/invalidate"));
    assert_eq!(s.status, OrderStatus::Filled);
    assert!(s.avg_price.is_some_and(|p| p.0 > dec!(0)), "avg_fill_price read: {s:?}");
    assert_eq!(s.filled_quantity.unwrap().0, dec!(0.1));
    let p = r.venue.positions().await.unwrap();
    assert_eq!(p.iter().map(|p| (p.symbol.as_str(), p.quantity.0)).collect::<Vec<_>>(), [("AAPL", dec!(0.1))]);
    assert_eq!(
        r.count(&format!("/portfolio/{ACCT}/positions/invalidate")),
        invalidated + 1,
        "the first read after the fill invalidates IBKR's cache, once"
    );
    r.venue.positions().await.unwrap();
    assert_eq!(r.count(&format!("/portfolio/{ACCT}/positions/invalidate")), invalidated + 1, "then reads are cached");
}

#[tokio::test]
async fn a_resting_gtc_limit_keeps_its_limit_and_tif_through_a_quantity_only_modify() {
    let r = rig(&[("MAX_ORDER_VALUE", "off"), ("MAX_POSITION_VALUE", "off")]).await;
    let ask = r.venue.quote("AAPL").await.unwrap().ask.unwrap().0;
    let mut lmt = order("AAPL", Side::Buy, OrderType::Limit, dec!(1));
    lmt.limit_price = Some(Price((ask * dec!(0.5)).round_dp(2)));
    lmt.tif = TimeInForce::Gtc;
    let placed = r.broker.submit(OrderIntent::Single(lmt.clone()), None).await.unwrap();
    let id = placed[0].order_id.clone().unwrap();

    let s = r.venue.order_status(&id, None).await.unwrap();
    assert_eq!((s.limit_price, s.tif), (lmt.limit_price, Some(TimeInForce::Gtc)), "limit_price and tif read: {s:?}");
    let open = r.venue.open_orders().await.unwrap();
    assert!(open.iter().any(|o| o.order_id.as_deref() == Some(id.as_str())), "listed with accountId: {open:?}");
    let asked = r.fake.with(|s| s.requests_to("/iserver/account/orders"));
    assert!(asked.iter().all(|q| q.query.contains(&format!("accountId={ACCT}"))), "{asked:?}");

    r.broker.modify(&id, OrderChange { quantity: Some(Qty(dec!(2))), ..Default::default() }, None).await.unwrap();
    let posted = r.fake.with(|s| s.requests_to(&format!("/iserver/account/{ACCT}/order/{id}")));
    let body = &posted.last().unwrap().body;
    assert_eq!(body["tif"], "GTC", "a GTC order stays GTC: {body}");
    assert_eq!(body["price"], json!(lmt.limit_price.unwrap().0.to_string().parse::<f64>().unwrap()));
    assert_eq!(body["quantity"], json!(2.0));
    let after = r.venue.order_status(&id, None).await.unwrap();
    assert_eq!((after.quantity.unwrap().0, after.tif), (dec!(2), Some(TimeInForce::Gtc)));
}

#[tokio::test]
async fn a_stop_order_is_placed_through_ibkrs_stop_question() {
    let r = rig(&[]).await;
    r.broker.submit(OrderIntent::Single(order("AAPL", Side::Buy, OrderType::Market, dec!(0.2))), None).await.unwrap();
    let last = r.venue.quote("AAPL").await.unwrap().last.unwrap().0;
    let mut stp = order("AAPL", Side::Sell, OrderType::Stop, dec!(0.2));
    stp.stop_price = Some(Price((last * dec!(0.8)).round_dp(2)));
    stp.tif = TimeInForce::Gtc;
    let res = r.broker.submit(OrderIntent::Single(stp), None).await.unwrap();
    assert!(res[0].order_id.is_some(), "{res:?}");
    let asked = r.fake.with(|s| s.requests.iter().filter(|q| q.path.starts_with("/iserver/reply/")).count());
    assert!(asked >= 1, "IBKR's o10331 was asked and confirmed");
}

#[tokio::test]
async fn a_p12_prompt_is_a_clear_refusal_not_an_unknown() {
    let r = rig(&[]).await;
    r.fake.with(|s| {
        s.replay.insert(
            format!("POST /iserver/account/{ACCT}/orders"),
            // SPEC's advancedOrderReject (cpapi-endpoints.md §5.5).
            json!({"orderId": 123456789, "reqId": "22170", "dismissable": [], "text": "If your order is not immediately executable, our systems may, depending on market conditions, reject your order if its limit price is more than the allowed amount away from the reference price at that time. Use the Price Management Algo?", "options": ["Use on this order", "Always use", "Do not use"], "type": "M", "messageId": "p12", "prompt": true}),
        )
    });
    let e = r
        .broker
        .submit(OrderIntent::Single(order("AAPL", Side::Buy, OrderType::Market, dec!(0.1))), None)
        .await
        .unwrap_err();
    assert_ne!(e.code, ErrorCode::Indeterminate, "{e:?}");
    assert!(e.message.contains("p12") && e.message.contains("NOT placed"), "{}", e.message);
    assert!(r.broker.journal().with_index(|i| i.unresolved()).is_empty(), "nothing left unresolved");
}

#[tokio::test]
async fn close_position_cancels_the_working_stop_first() {
    let r = rig(&[]).await;
    r.broker.submit(OrderIntent::Single(order("AAPL", Side::Buy, OrderType::Market, dec!(0.3))), None).await.unwrap();
    let last = r.venue.quote("AAPL").await.unwrap().last.unwrap().0;
    let mut stp = order("AAPL", Side::Sell, OrderType::Stop, dec!(0.3));
    stp.stop_price = Some(Price((last * dec!(0.8)).round_dp(2)));
    let stop_id = r.broker.submit(OrderIntent::Single(stp), None).await.unwrap()[0].order_id.clone().unwrap();

    let c = r.broker.close_position("AAPL", None).await.unwrap();
    assert!(c.closed, "{c:?}");
    assert_eq!(
        c.cancelled_first.iter().filter_map(|o| o.order_id.clone()).collect::<Vec<_>>(),
        std::slice::from_ref(&stop_id)
    );
    let s = r.venue.order_status(&stop_id, None).await.unwrap();
    assert_eq!(s.status, OrderStatus::Cancelled, "the stop can no longer fire into a short");
    assert_eq!(r.venue.held_quantity("AAPL").await.unwrap(), dec!(0));
}

#[tokio::test]
async fn ibkrs_close_question_is_declined_with_what_to_do() {
    let r = rig(&[]).await;
    r.fake.with(|s| {
        s.questions.push_back(vec![cpapi_fake::Question::new(
            "",
            "Would you like to cancel all open orders and then place new closing order?",
        )])
    });
    let e = r
        .broker
        .submit(OrderIntent::Single(order("AAPL", Side::Buy, OrderType::Market, dec!(0.1))), None)
        .await
        .unwrap_err();
    assert!(e.message.contains("cancel_order"), "{}", e.message);
}

#[tokio::test]
async fn a_fresh_session_is_checked_after_ssodh_before_it_is_called_good() {
    let mut st = fake_state();
    st.faults.init_settles_after = 2;
    let r = rig_with(st, Default::default(), &[]).await;
    r.venue.quote("AAPL").await.unwrap();
    r.fake.with(|s| s.session = cpapi_fake::Session::ReadOnly);
    assert_eq!(r.keeper.cycle().await, ibkr_venue::session::SessionState::Authenticated);
    let statuses = r.fake.with(|s| s.requests_to("/iserver/auth/status").len());
    assert!(statuses >= 4, "one before ssodh/init and three after it: {statuses}");
}

#[tokio::test]
async fn class_shares_trades_and_ticker_search_are_asked_as_ibkr_spells_them() {
    let r = rig(&[]).await;
    let _ = r.venue.quote("BRK.B").await;
    let asked = r.fake.with(|s| s.requests_to("/trsrv/stocks"));
    assert!(asked.iter().any(|q| q.query.contains("BRK+B") || q.query.contains("BRK%20B")), "{asked:?}");
    r.venue.fills().await.unwrap();
    let trades = r.fake.with(|s| s.requests_to("/iserver/account/trades"));
    assert!(trades[0].query.contains("days=7"), "{:?}", trades[0].query);
    r.venue.search_contracts("AAPL").await.unwrap();
    let search = r.fake.with(|s| s.requests_to("/iserver/secdef/search"));
    assert!(!search[0].query.contains("name=true"), "a ticker is not a name: {}", search[0].query);
}

#[tokio::test]
async fn session_status_reports_the_penalty_box() {
    let mut st = fake_state();
    st.limits.global_per_second = 3;
    let r = rig_with(st, Default::default(), &[]).await;
    assert_eq!(r.venue.session().await.unwrap()["rate_limit"]["penalty_box"], false);
    let mut boxed = false;
    for _ in 0..6 {
        boxed |= r.venue.summary().await.is_err_and(|e| e.to_string().contains("rate limit"));
    }
    assert!(boxed, "the fake answered 429");
    let v = r.venue.session().await.unwrap();
    assert_eq!(v["rate_limit"]["penalty_box"], true, "{v}");
    assert!(v["rate_limit"]["seconds_left"].as_u64().unwrap() > 0, "{v}");
}

#[tokio::test]
async fn moving_a_brackets_stop_loss_keeps_its_parent_and_gtc() {
    let r = rig(&[]).await;
    let last = r.venue.quote("AAPL").await.unwrap().last.unwrap().0;
    let b = trading_core::order::BracketRequest {
        entry: order("AAPL", Side::Buy, OrderType::Market, dec!(0.2)),
        take_profit: Price((last * dec!(1.3)).round_dp(2)),
        stop_loss: Price((last * dec!(0.7)).round_dp(2)),
    };
    let legs = r.broker.submit(OrderIntent::Bracket(b), None).await.unwrap();
    let sl = legs.iter().find(|l| l.leg.as_deref() == Some("stop_loss")).unwrap();
    let entry_coid = legs.iter().find(|l| l.leg.as_deref() == Some("entry")).unwrap().client_order_id.clone().unwrap();
    let id = sl.order_id.clone().unwrap();
    let new_stop = Price((last * dec!(0.75)).round_dp(2));
    r.broker.modify(&id, OrderChange { stop_price: Some(new_stop), ..Default::default() }, None).await.unwrap();
    let body = r.fake.with(|s| s.requests_to(&format!("/iserver/account/{ACCT}/order/{id}"))).pop().unwrap().body;
    assert_eq!(body["parentId"], json!(entry_coid), "{body}");
    assert_eq!(body["tif"], "GTC", "a bracket's stop-loss is GTC and stays so: {body}");
    assert_eq!(r.venue.order_status(&id, None).await.unwrap().stop_price, Some(new_stop));
}

#[tokio::test]
async fn a_whatif_error_refuses_the_preview_instead_of_warning() {
    let r = rig(&[]).await;
    r.fake.with(|s| {
        // The shape of REC-C-RAW's refusal (cpapi-endpoints.md §5.5): error set, amounts absent.
        s.replay.insert(
            format!("POST /iserver/account/{ACCT}/orders/whatif"),
            json!({"amount": null, "equity": null, "initial": null, "warn": null, "error": "Your account has a minimum of 15 orders working on either the buy or sell side for this particular contract."}),
        )
    });
    let p =
        r.broker.preview(OrderIntent::Single(order("AAPL", Side::Buy, OrderType::Market, dec!(0.1)))).await.unwrap();
    assert!(p.venue_preview.is_none());
    assert!(p.venue_preview_error.unwrap().contains("minimum of 15 orders"));
}
