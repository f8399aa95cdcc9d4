//! The simulator through the guarded broker: fills, resting orders, OCA brackets,
//! determinism, and cash and positions that add up.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sim_venue::commission;
use trading_core::{
    money::{Money, Price, Qty},
    order::{BracketRequest, OrderIntent, OrderStatus, OrderType, Side, Size, Trail},
    ports::{Account, Broker, MarketData},
};

async fn run_until_terminal(r: &Rig, order_id: &str, max_steps: u32) -> OrderStatus {
    for _ in 0..max_steps {
        let s = r.broker.order_status(order_id, None).await.unwrap().status;
        if s.is_terminal() {
            return s;
        }
    }
    OrderStatus::Unknown
}

#[tokio::test]
async fn market_buy_by_cash_fills_at_the_ask_with_commission() {
    let r = rig(1, &[]);
    let res = r.broker.submit(cash_buy("AAPL", 50), None).await.unwrap();
    let o = &res[0];
    assert_eq!(o.status, OrderStatus::Filled);
    let fills = r.sim.fills().await.unwrap();
    assert_eq!(fills.len(), 1);
    let f = &fills[0];
    let qty = f.quantity.0;
    assert_eq!(qty, (dec!(50) / f.price.0).round_dp_with_strategy(4, rust_decimal::RoundingStrategy::ToZero));
    assert!(qty > dec!(0.2) && qty < dec!(0.22), "{qty}");
    let value = (qty * f.price.0).round_dp(2);
    assert_eq!(f.commission.0, commission(qty, value));
    let summary = r.sim.summary().await.unwrap();
    assert_eq!(summary.cash.unwrap().0, dec!(100000) - value - f.commission.0);
    assert_eq!(r.sim.held_quantity("AAPL").await.unwrap(), qty);
}

#[tokio::test]
async fn same_seed_same_run() {
    async fn script(seed: u64) -> Vec<String> {
        let r = rig(seed, &[]);
        let mut out = vec![];
        r.broker.submit(cash_buy("MSFT", 300), None).await.unwrap();
        r.broker.submit(limit("AAPL", Side::Buy, dec!(1), dec!(228)), None).await.unwrap();
        for _ in 0..200 {
            out.push(format!("{:?}", r.sim.quote("AAPL").await.unwrap().last));
        }
        out.push(format!(
            "{:?}",
            r.sim.fills().await.unwrap().iter().map(|f| (f.price, f.quantity)).collect::<Vec<_>>()
        ));
        out.push(format!("{:?}", r.sim.positions().await.unwrap()));
        out
    }
    assert_eq!(script(9).await, script(9).await);
    assert_ne!(script(9).await, script(10).await);
}

#[tokio::test]
async fn resting_limit_fills_when_the_price_comes_to_it() {
    let r = rig(3, &[]);
    let last = r.sim.quote("AAPL").await.unwrap().last.unwrap().0;
    let lmt = (last * dec!(0.995)).round_dp(2);
    let res = r.broker.submit(limit("AAPL", Side::Buy, dec!(0.5), lmt), None).await.unwrap();
    assert_eq!(res[0].status, OrderStatus::Submitted, "a limit below the market rests");
    let id = res[0].order_id.clone().unwrap();
    assert_eq!(r.sim.open_orders().await.unwrap().len(), 1);
    assert_eq!(run_until_terminal(&r, &id, 50_000).await, OrderStatus::Filled);
    let f = r.sim.fills().await.unwrap();
    assert!(f[0].price.0 <= lmt, "a buy limit never pays above its limit: {} > {lmt}", f[0].price.0);
    assert!(r.sim.open_orders().await.unwrap().is_empty());
}

#[tokio::test]
async fn stop_and_trailing_stop_sell_on_the_way_down() {
    let r = rig(5, &[]);
    r.broker.submit(qty_order("KO", Side::Buy, dec!(2)), None).await.unwrap();
    let last = r.sim.quote("KO").await.unwrap().last.unwrap().0;
    let mut stop = req(Side::Sell, OrderType::Stop, Size::Quantity(Qty(dec!(1))));
    stop.symbol = "KO".into();
    stop.stop_price = Some(Price((last * dec!(0.996)).round_dp(2)));
    let mut trail = req(Side::Sell, OrderType::Trail, Size::Quantity(Qty(dec!(1))));
    trail.symbol = "KO".into();
    trail.trail = Some(Trail::Percent(dec!(0.5)));
    let s = r.broker.submit(OrderIntent::Single(stop.clone()), None).await.unwrap();
    let t = r.broker.submit(OrderIntent::Single(trail), None).await.unwrap();
    assert_eq!(s[0].status, OrderStatus::Submitted);
    assert_eq!(t[0].status, OrderStatus::Submitted);
    assert_eq!(run_until_terminal(&r, s[0].order_id.as_ref().unwrap(), 100_000).await, OrderStatus::Filled);
    assert_eq!(run_until_terminal(&r, t[0].order_id.as_ref().unwrap(), 100_000).await, OrderStatus::Filled);
    let fills = r.sim.fills().await.unwrap();
    assert!(fills[1].price.0 <= stop.stop_price.unwrap().0, "a sell stop fills at or below its trigger");
    assert_eq!(r.sim.held_quantity("KO").await.unwrap(), dec!(0));
}

#[tokio::test]
async fn bracket_is_one_oca_group() {
    let r = rig(11, &[]);
    let last = r.sim.quote("AAPL").await.unwrap().last.unwrap().0;
    let entry = req(Side::Buy, OrderType::Market, Size::Quantity(Qty(dec!(0.3))));
    let b = BracketRequest {
        entry,
        take_profit: Price((last * dec!(1.004)).round_dp(2)),
        stop_loss: Price((last * dec!(0.996)).round_dp(2)),
    };
    let res = r.broker.submit(OrderIntent::Bracket(b), None).await.unwrap();
    assert_eq!(res.len(), 3);
    let legs: Vec<_> = res.iter().map(|o| o.leg.clone().unwrap()).collect();
    assert_eq!(legs, ["entry", "take_profit", "stop_loss"]);
    assert_eq!(res[0].status, OrderStatus::Filled);
    assert_eq!(res[1].status, OrderStatus::Submitted);
    let tp = res[1].order_id.clone().unwrap();
    let sl = res[2].order_id.clone().unwrap();
    for _ in 0..100_000 {
        let a = r.broker.order_status(&tp, None).await.unwrap().status;
        if a.is_terminal() {
            break;
        }
    }
    let first = (
        r.broker.order_status(&tp, None).await.unwrap().status,
        r.broker.order_status(&sl, None).await.unwrap().status,
    );
    assert!(
        matches!(first, (OrderStatus::Filled, OrderStatus::Cancelled) | (OrderStatus::Cancelled, OrderStatus::Filled)),
        "exactly one exit fills and the other is cancelled: {first:?}"
    );
    assert_eq!(r.sim.held_quantity("AAPL").await.unwrap(), dec!(0));
}

#[tokio::test]
async fn cancelling_a_bracket_entry_cancels_its_exits() {
    let r = rig(12, &[]);
    let last = r.sim.quote("AAPL").await.unwrap().last.unwrap().0;
    let mut entry = req(Side::Buy, OrderType::Limit, Size::Quantity(Qty(dec!(0.3))));
    entry.limit_price = Some(Price((last * dec!(0.9)).round_dp(2)));
    let b = BracketRequest { entry, take_profit: Price(last), stop_loss: Price((last * dec!(0.8)).round_dp(2)) };
    let res = r.broker.submit(OrderIntent::Bracket(b), None).await.unwrap();
    assert_eq!(res[1].status, OrderStatus::Pending, "exits wait for the entry");
    let c = r.broker.cancel(res[0].order_id.as_ref().unwrap(), None).await.unwrap();
    assert_eq!(c.status, OrderStatus::Cancelled);
    for leg in &res[1..] {
        assert_eq!(
            r.broker.order_status(leg.order_id.as_ref().unwrap(), None).await.unwrap().status,
            OrderStatus::Cancelled
        );
    }
    let again = r.broker.cancel(res[0].order_id.as_ref().unwrap(), None).await.unwrap_err();
    assert!(again.message.contains("already cancelled"), "{}", again.message);
    let unknown = r.broker.cancel("999", None).await.unwrap_err();
    assert_eq!(unknown.code, trading_core::error::ErrorCode::NotFound);
}

#[tokio::test]
async fn cash_and_positions_add_up() {
    let r = rig(21, &[("TRADING_ALLOW_SHORT", "true")]);
    let orders = [
        cash_buy("AAPL", 500),
        qty_order("MSFT", Side::Buy, dec!(1.25)),
        qty_order("AAPL", Side::Sell, dec!(1)),
        cash_buy("NVDA", 1000),
        qty_order("TSLA", Side::Sell, dec!(0.5)),
        qty_order("MSFT", Side::Sell, dec!(0.25)),
        qty_order("TSLA", Side::Buy, dec!(1)),
    ];
    for o in orders {
        r.broker.submit(o, None).await.unwrap();
        r.sim.advance(7);
    }
    let fills = r.sim.fills().await.unwrap();
    assert_eq!(fills.len(), 7);
    let mut cash = dec!(100000);
    let mut held: std::collections::BTreeMap<String, Decimal> = Default::default();
    for f in &fills {
        let value = (f.quantity.0 * f.price.0).round_dp(2);
        match f.side {
            Side::Buy => {
                cash -= value + f.commission.0;
                *held.entry(f.symbol.clone()).or_default() += f.quantity.0;
            }
            Side::Sell => {
                cash += value - f.commission.0;
                *held.entry(f.symbol.clone()).or_default() -= f.quantity.0;
            }
        }
    }
    held.retain(|_, q| !q.is_zero());
    let summary = r.sim.summary().await.unwrap();
    assert_eq!(summary.cash.unwrap().0, cash);
    let positions = r.sim.positions().await.unwrap();
    let got: std::collections::BTreeMap<String, Decimal> =
        positions.iter().map(|p| (p.symbol.clone(), p.quantity.0)).collect();
    assert_eq!(got, held);
    let mv: Decimal = positions.iter().map(|p| p.market_value.unwrap().0).sum();
    assert_eq!(summary.net_liquidation.unwrap().0, (cash + mv).round_dp(2));
}

#[tokio::test]
async fn insufficient_cash_is_rejected_by_the_venue() {
    let r = rig(2, &[]);
    let res = r.broker.submit(qty_order("SPY", Side::Buy, dec!(1000)), None).await.unwrap();
    assert_eq!(res[0].status, OrderStatus::Rejected);
    assert!(res[0].message.as_deref().unwrap().starts_with("insufficient funds"));
}

#[tokio::test]
async fn dust_and_finer_than_step_quantities_are_refused_at_preview_with_the_minimum() {
    let r = rig(7, &[]);
    let e = r.broker.preview(cash_buy("AAPL", 0)).await;
    assert!(e.is_err(), "a zero cash amount never previews: {e:?}");
    let dust = trading_core::order::OrderIntent::Single(trading_core::order::OrderRequest {
        size: Size::Cash(Money(Decimal::new(1, 2))),
        ..req(Side::Buy, OrderType::Market, Size::Cash(Money(Decimal::ONE)))
    });
    let e = r.broker.preview(dust).await.unwrap_err();
    assert_eq!(e.code, trading_core::error::ErrorCode::Validation, "{e:?}");
    assert!(e.message.contains("smallest quantity is 0.0001"), "{}", e.message);
    let fine = qty_order("AAPL", Side::Buy, Decimal::new(1, 5));
    let e = r.broker.preview(fine.clone()).await.unwrap_err();
    assert!(e.message.contains("finer than its increment 0.0001"), "{}", e.message);
    assert!(r.broker.submit(fine, None).await.is_err(), "nor is it placed");
    let p = r.broker.preview(cash_buy("AAPL", 50)).await.unwrap();
    let w = p.venue_preview.unwrap().warnings.join(" ");
    assert!(w.contains("of the 50 USD asked, about") && w.contains("will be spent"), "{w}");
}

#[tokio::test]
async fn daily_pnl_counts_todays_buys_from_their_cost_and_older_shares_from_the_close() {
    let r = rig(3, &[]);
    r.broker.submit(qty_order("AAPL", Side::Buy, dec!(10)), None).await.unwrap();
    let f = r.sim.fills().await.unwrap()[0].clone();
    let p = r.sim.daily_pnl().await.unwrap();
    let last = r.sim.positions().await.unwrap()[0].market_price.unwrap().0;
    let expected = (dec!(10) * (last - f.price.0) - f.commission.0).round_dp(2);
    assert_eq!(p.daily.unwrap().0, expected, "bought today: from the fill price, less commission");
    assert_eq!(p.market_value.unwrap().0, (dec!(10) * last).round_dp(2));
    // A day later the same shares move from yesterday's close.
    r.clock.advance(86_400);
    let prev_close = r.sim.bars("AAPL", 2).await.unwrap()[0].close.0;
    let p = r.sim.daily_pnl().await.unwrap();
    let last = r.sim.positions().await.unwrap()[0].market_price.unwrap().0;
    assert_eq!(p.daily.unwrap().0, (dec!(10) * (last - prev_close)).round_dp(2));
}

#[tokio::test]
async fn exchange_rates_come_from_the_table_and_an_unknown_currency_is_named() {
    let r = rig(3, &[]);
    assert_eq!(r.sim.fx_rate("USD", "USD").await.unwrap().0, dec!(1));
    assert_eq!(r.sim.fx_rate("EUR", "USD").await.unwrap().0, dec!(1.085));
    let usd_eur = r.sim.fx_rate("USD", "EUR").await.unwrap().0;
    assert_eq!(usd_eur, (dec!(1) / dec!(1.085)).round_dp(8));
    let e = r.sim.fx_rate("USD", "XYZ").await.unwrap_err().to_string();
    assert!(e.contains("USD/XYZ") && e.contains("EUR"), "{e}");
}

#[tokio::test]
async fn performance_replays_the_runs_trades_at_each_close() {
    let r = rig(3, &[]);
    r.broker.submit(qty_order("AAPL", Side::Buy, dec!(10)), None).await.unwrap();
    let p = r.sim.performance(trading_core::performance::PerfPeriod::OneMonth).await.unwrap();
    assert_eq!(p.start_nav.unwrap().0, dec!(100000), "before this run's trades: the starting cash");
    let nlv = r.sim.summary().await.unwrap().net_liquidation.unwrap().0;
    assert_eq!(p.end_nav.unwrap().0, nlv, "today's NAV is the account's net liquidation");
    assert!(p.nav.len() >= 20, "a month of closes: {}", p.nav.len());
    assert!(p.nav.iter().rev().skip(1).all(|n| n.nav.0 == dec!(100000)), "nothing held before today");
    let want = ((nlv / dec!(100000) - dec!(1)) * dec!(100)).round_dp(2);
    assert_eq!(p.return_pct, Some(want));
}

#[tokio::test]
async fn transactions_list_the_runs_trades_and_realize_at_average_cost() {
    let r = rig(3, &[]);
    r.broker.submit(qty_order("KO", Side::Buy, dec!(10)), None).await.unwrap();
    r.broker.submit(qty_order("KO", Side::Sell, dec!(4)), None).await.unwrap();
    let fills = r.sim.fills().await.unwrap();
    let t = r.sim.transactions("KO", 30).await.unwrap();
    assert_eq!(t.transactions.len(), 2);
    assert_eq!((t.transactions[1].kind.as_str(), t.transactions[1].quantity), ("Sell", Some(dec!(-4))));
    let avg = (dec!(10) * fills[0].price.0 + fills[0].commission.0) / dec!(10);
    let want = (dec!(4) * (fills[1].price.0 - avg) - fills[1].commission.0).round_dp(2);
    assert_eq!(t.realized_pnl.0, want);
    assert!(r.sim.transactions("KOO", 30).await.is_err(), "an unknown symbol is named");
}

#[tokio::test]
async fn a_modify_to_a_size_finer_than_the_increment_is_refused_like_a_new_order() {
    let r = rig(3, &[]);
    let o = r.broker.submit(limit("AAPL", Side::Buy, dec!(1), dec!(100)), None).await.unwrap();
    let id = o[0].order_id.clone().unwrap();
    let mut change = req(Side::Buy, OrderType::Limit, Size::Quantity(Qty(dec!(1.00005))));
    change.symbol = "AAPL".into();
    change.limit_price = Some(Price(dec!(100)));
    let e = r.sim.exchange().modify(&id, &change).unwrap_err().to_string();
    assert!(e.contains("finer than its increment"), "{e}");
    change.size = Size::Quantity(Qty(dec!(2)));
    assert_eq!(r.sim.exchange().modify(&id, &change).unwrap().quantity.unwrap().0, dec!(2));
}
