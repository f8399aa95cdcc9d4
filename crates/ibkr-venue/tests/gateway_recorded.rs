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

#[tokio::test]
async fn recorded_minute_bars_keep_their_times_and_volume_lots() {
    // REC-C's history is SPY's first three 1min bars of 2026-04-02 (period 1d, barLength 60).
    let r = replaying(&["Accounts/GET-iserver-accounts.json", "MarketData/GET-history.json"]).await;
    let req = trading_core::bars::HistoryRequest::new(
        trading_core::bars::BarSize::parse("1min").unwrap(),
        trading_core::bars::Period::parse("1d").unwrap(),
        false,
    )
    .unwrap();
    let bars = r.venue.history("SPY", &req).await.unwrap();
    assert_eq!(bars.len(), 3);
    assert_eq!(bars[0].time.to_rfc3339(), "2026-04-02T13:30:00+00:00", "t is epoch ms: 09:30 New York");
    assert_eq!((bars[1].time - bars[0].time).num_seconds(), 60);
    assert_eq!((bars[0].open.0, bars[0].close.0), (dec!(646.42), dec!(646.86)));
    assert_eq!(bars[0].volume.0, dec!(1721912.5), "v is in lots of 100");
    let asked = r.fake.with(|s| s.requests_to("/iserver/marketdata/history"));
    assert!(asked[0].query.contains("period=1d") && asked[0].query.contains("bar=1min"), "{}", asked[0].query);
    assert!(asked[0].query.contains("outsideRth=false"), "{}", asked[0].query);
}

#[tokio::test]
async fn recorded_empty_pnl_is_reported_warming_up_never_as_zero_and_never_waited_for() {
    let r = replaying(&[
        "Accounts/GET-iserver-accounts.json",
        "Portfolio/GET-portfolio-accounts.json",
        "Portfolio/GET-iserver-account-pnl-partitioned.json",
    ])
    .await;
    let t = std::time::Instant::now();
    let p = r.venue.daily_pnl().await.unwrap();
    assert_eq!((p.account_id.as_str(), p.currency.as_str()), ("U1234567", "USD"), "currency from /portfolio/accounts");
    assert_eq!(p.daily, None, "REC-C's `{{\"upnl\":{{}}}}` is no figure, not a zero");
    assert!(p.note.unwrap().contains("warming up"));
    // The stream was opened when the account was first read (the request that answered
    // empty); asking again never waits out IBKR's spacing.
    let opened = r.fake.with(|s| s.requests.iter().position(|x| x.path == "/iserver/account/pnl/partitioned")).unwrap();
    let summary = r.fake.with(|s| s.requests.iter().position(|x| x.path == "/portfolio/accounts")).unwrap();
    assert!(opened < summary, "opened with the account, before the portfolio reads");
    assert!(t.elapsed() < std::time::Duration::from_secs(1));
    let before = r.count("/iserver/account/pnl/partitioned");
    tokio::time::sleep(std::time::Duration::from_secs_f64(5.0 * SCALE * 1.2)).await;
    let _ = r.venue.daily_pnl().await.unwrap();
    assert_eq!(r.count("/iserver/account/pnl/partitioned"), before + 1, "asked again after the spacing");
}

#[tokio::test]
async fn spec_pnl_and_exchange_rate_examples_parse() {
    let r = replaying(&["Accounts/GET-iserver-accounts.json", "Portfolio/GET-portfolio-accounts.json"]).await;
    r.fake.with(|s| {
        assert!(s.replay_spec("GET /iserver/account/pnl/partitioned"));
        assert!(s.replay_spec("GET /iserver/exchangerate"));
    });
    // SPEC: {"upnl":{"U1234567.Core":{"rowType":1,"dpl":-12510.0,"nl":1290000.0,"upl":256000.0,"el":824600.0,"mv":1700000.0}}}
    let p = r.venue.daily_pnl().await.unwrap();
    assert_eq!(p.daily.unwrap().0, dec!(-12510));
    assert_eq!((p.unrealized.unwrap().0, p.net_liquidation.unwrap().0), (dec!(256000), dec!(1290000)));
    assert_eq!((p.excess_liquidity.unwrap().0, p.market_value.unwrap().0), (dec!(824600), dec!(1700000)));
    assert_eq!(p.note, None);
    // A second look within 5 s is the same figure, not another paced request.
    let _ = r.venue.daily_pnl().await.unwrap();
    assert_eq!(r.count("/iserver/account/pnl/partitioned"), 1);
    // SPEC: {"rate": 0.91324199} for source USD, target EUR.
    assert_eq!(r.venue.fx_rate("usd", "EUR").await.unwrap().0, dec!(0.91324199));
    let asked = r.fake.with(|s| s.requests_to("/iserver/exchangerate"));
    assert_eq!(asked[0].query, "source=USD&target=EUR");
    assert_eq!(r.venue.fx_rate("EUR", "EUR").await.unwrap().0, dec!(1), "no request for a currency to itself");
    assert_eq!(r.count("/iserver/exchangerate"), 1);
}

#[tokio::test]
async fn spec_performance_example_parses_to_returns_and_nav() {
    let r = replaying(&["Accounts/GET-iserver-accounts.json", "Portfolio/GET-portfolio-accounts.json"]).await;
    r.fake.with(|s| assert!(s.replay_spec("POST /pa/performance")));
    let p = r.venue.performance(trading_core::performance::PerfPeriod::YearToDate).await.unwrap();
    // SPEC: navs [202767332.1223, 215718598.8239] on 20230102 and 20231213, cps [0, 0.0639],
    // startNAV 202767761.3449 on 20221230, twelve monthly tpps from 0.0037, pm TWR.
    assert_eq!(p.nav.len(), 2);
    assert_eq!(p.nav[1].date.to_string(), "2023-12-13");
    assert_eq!((p.nav[1].nav.0, p.nav[1].cumulative_pct), (dec!(215718598.82), dec!(6.39)));
    assert_eq!(p.start_nav.unwrap().0, dec!(202767761.34));
    assert_eq!(p.return_pct, Some(dec!(6.39)));
    assert_eq!(p.monthly_returns.len(), 12);
    assert_eq!((p.monthly_returns[0].period.as_str(), p.monthly_returns[0].return_pct), ("2023-01", dec!(0.37)));
    assert!(p.method.starts_with("TWR"));
    let asked = r.fake.with(|s| s.requests_to("/pa/performance"));
    assert_eq!(asked[0].body, serde_json::json!({"acctIds": ["U1234567"], "period": "YTD"}));
}

#[tokio::test]
async fn spec_transactions_example_parses() {
    let r = replaying(&["Accounts/GET-iserver-accounts.json", "Portfolio/GET-portfolio-accounts.json"]).await;
    r.fake.with(|s| assert!(s.replay_spec("POST /pa/transactions")));
    let t = r.venue.transactions("AAPL", 90).await.unwrap();
    // SPEC: one Sell of 5 at 192.26 (amt 961.3) on "Mon Dec 11 00:00:00 EST 2023"; rpnl 12.2516.
    assert_eq!(t.transactions.len(), 1);
    let s = &t.transactions[0];
    assert_eq!(
        (s.date.to_string().as_str(), s.kind.as_str(), s.quantity, s.price),
        ("2023-12-11", "Sell", Some(dec!(-5)), Some(dec!(192.26)))
    );
    assert_eq!(s.amount.0, dec!(961.30));
    assert_eq!(t.realized_pnl.0, dec!(12.25));
    assert_eq!(t.realized_by_day[0].0.to_string(), "2023-12-11");
    let asked = r.fake.with(|s| s.requests_to("/pa/transactions"));
    assert_eq!(
        asked[0].body,
        serde_json::json!({"acctIds": ["U1234567"], "conids": [265598], "currency": "USD", "days": 90})
    );
}
