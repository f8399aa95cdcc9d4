//! Price history of every bar size: intraday bars agree with the day bars they split, today's
//! end at the current price, extended hours add pre- and post-market bars.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::*;
use rust_decimal_macros::dec;
use trading_core::{
    bars::{BarSize, HistoryRequest, Period},
    ports::MarketData,
};

fn req(bar: &str, period: &str, outside_rth: bool) -> HistoryRequest {
    HistoryRequest::new(BarSize::parse(bar).unwrap(), Period::parse(period).unwrap(), outside_rth).unwrap()
}

#[tokio::test]
async fn minute_bars_split_the_day_bars_and_today_ends_at_the_price() {
    let r = rig(7, &[]);
    // The clock is Tuesday 2026-11-24 10:00 New York: 30 minutes into the session.
    let minutes = r.sim.history("AAPL", &req("1min", "2d", false)).await.unwrap();
    let daily = r.sim.bars("AAPL", 2).await.unwrap();
    let (monday, today): (Vec<_>, Vec<_>) =
        minutes.iter().partition(|b| b.time.date_naive() == daily[0].time.date_naive());
    assert_eq!(monday.len(), 390, "a full regular session of 1min bars");
    assert_eq!(today.len(), 30, "09:30 to 10:00 New York");
    assert_eq!(monday[0].time.to_rfc3339(), "2026-11-23T14:30:00+00:00", "09:30 New York in UTC");
    let d = &daily[0];
    assert_eq!(&r.sim.bars("AAPL", 30).await.unwrap()[28], d, "a day's bar does not depend on how many are asked");
    assert_eq!(monday[0].open, d.open, "the first minute opens at the day's open");
    assert_eq!(monday.last().unwrap().close, d.close, "the last minute closes at the day's close");
    assert!(monday.iter().all(|b| b.low.0 >= d.low.0 && b.high.0 <= d.high.0), "inside the day's range");
    let now = r.sim.quote("AAPL").await.unwrap().last.unwrap();
    let last_today = today.last().unwrap().close.0;
    assert!((last_today - now.0).abs() / now.0 < dec!(0.01), "today's last minute {last_today} near the price {now:?}");
    assert!(minutes.windows(2).all(|w| w[0].time < w[1].time), "oldest first");
}

#[tokio::test]
async fn larger_bars_merge_minutes_and_days() {
    let r = rig(7, &[]);
    let five = r.sim.history("AAPL", &req("5min", "2d", false)).await.unwrap();
    assert_eq!(five.len(), 78 + 6, "78 bars a full session, 6 of today's half hour");
    assert_eq!((five[1].time - five[0].time).num_minutes(), 5);
    let hours = r.sim.history("AAPL", &req("1h", "1w", false)).await.unwrap();
    assert!(hours.iter().all(|b| b.time.date_naive() >= chrono::NaiveDate::from_ymd_opt(2026, 11, 17).unwrap()));
    let weeks = r.sim.history("AAPL", &req("1w", "6m", false)).await.unwrap();
    let days = r.sim.bars("AAPL", 126).await.unwrap();
    assert!((25..=28).contains(&weeks.len()), "{}", weeks.len());
    assert_eq!(weeks.last().unwrap().close, days.last().unwrap().close, "this week closes at today's close");
    let months = r.sim.history("AAPL", &req("1month", "1y", false)).await.unwrap();
    assert!((12..=13).contains(&months.len()), "{}", months.len());
}

#[tokio::test]
async fn extended_hours_add_pre_market_bars_only_when_asked() {
    let r = rig(7, &[]);
    let regular = r.sim.history("AAPL", &req("30min", "2d", false)).await.unwrap();
    let extended = r.sim.history("AAPL", &req("30min", "2d", true)).await.unwrap();
    assert!(extended.len() > regular.len());
    // Monday 04:00 New York is 09:00 UTC.
    assert_eq!(extended[0].time.to_rfc3339(), "2026-11-23T09:00:00+00:00");
    assert_eq!(regular[0].time.to_rfc3339(), "2026-11-23T14:30:00+00:00");
}

#[tokio::test]
async fn an_unknown_symbol_is_named() {
    let r = rig(7, &[]);
    let e = r.sim.history("APPL", &req("5min", "1d", false)).await.unwrap_err();
    assert!(e.to_string().contains("AAPL"), "{e}");
}
