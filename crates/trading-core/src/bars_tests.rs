#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use chrono::{TimeZone, Utc};
use rust_decimal_macros::dec;

use super::*;

#[test]
fn spellings_are_ibkrs() {
    // cpapi-endpoints.md "marketdata/history": `period=1w&bar=1d`; bar units `S min h d w m`,
    // period units `min h d w m y`; the recording asks a 1d period of 1min bars.
    assert_eq!(BarSize::parse("1min").unwrap().ibkr(), "1min");
    assert_eq!(BarSize::parse("1h").unwrap().ibkr(), "1h");
    assert_eq!(BarSize::parse("1month").unwrap().ibkr(), "1m");
    assert_eq!(BarSize::parse("1w").unwrap().ibkr(), "1w");
    assert_eq!(Period::parse("1w").unwrap().ibkr(), "1w");
    assert_eq!(Period::parse("6m").unwrap().ibkr(), "6m");
    assert_eq!(Period::parse("30min").unwrap().ibkr(), "30min");
    assert_eq!(Period::parse("1Y").unwrap().ibkr(), "1y");
}

#[test]
fn ambiguous_or_unknown_spellings_name_the_parameter() {
    let e = BarSize::parse("1m").unwrap_err();
    assert!(e.message.starts_with("bar:") && e.message.contains("1month"), "{}", e.message);
    let e = BarSize::parse("7min").unwrap_err();
    assert!(e.message.starts_with("bar:") && e.message.contains("5min"), "{}", e.message);
    assert!(Period::parse("d").unwrap_err().message.starts_with("period:"));
    assert!(Period::parse("3q").unwrap_err().message.starts_with("period:"));
    assert!(Period::parse("0d").unwrap_err().message.starts_with("period:"));
}

#[test]
fn the_thousand_point_cap_is_checked_before_asking() {
    let req = |b: &str, p: &str, x: bool| HistoryRequest::new(BarSize::parse(b).unwrap(), Period::parse(p).unwrap(), x);
    assert_eq!(req("1min", "1d", false).unwrap().estimated_points(), 390);
    assert_eq!(req("5min", "1w", false).unwrap().estimated_points(), 390);
    assert_eq!(req("1d", "1y", false).unwrap().estimated_points(), 252);
    assert_eq!(req("1w", "2y", false).unwrap().estimated_points(), 100);
    // 1min over a week is 1,950 regular-hours bars: refused with the way out.
    let e = req("1min", "1w", false).unwrap_err();
    assert!(e.message.starts_with("period:") && e.message.contains("1000"), "{}", e.message);
    // Extended hours count: 1d of 1min outside RTH is 960 bars (allowed), 2d is not.
    assert_eq!(req("1min", "1d", true).unwrap().estimated_points(), 960);
    assert!(req("1min", "2d", true).is_err());
    // A bar longer than its period.
    assert!(req("1month", "1w", false).unwrap_err().message.starts_with("bar:"));
}

fn bar(day: u32, hour: u32, min: u32, o: i64, h: i64, l: i64, c: i64) -> Bar {
    Bar {
        time: Utc.with_ymd_and_hms(2026, 11, day, hour, min, 0).unwrap(),
        open: Price(o.into()),
        high: Price(h.into()),
        low: Price(l.into()),
        close: Price(c.into()),
        volume: Qty(dec!(10)),
    }
}

#[test]
fn week_bars_take_the_first_open_the_last_close_and_the_extremes() {
    // 2026-11-27 is a Friday; 11-30 the next Monday.
    let daily = [bar(26, 21, 0, 10, 12, 9, 11), bar(27, 21, 0, 11, 15, 10, 14), bar(30, 21, 0, 14, 14, 8, 9)];
    let w = aggregate(&daily, BarSize::parse("1w").unwrap());
    assert_eq!(w.len(), 2);
    assert_eq!((w[0].open.0, w[0].high.0, w[0].low.0, w[0].close.0), (dec!(10), dec!(15), dec!(9), dec!(14)));
    assert_eq!(w[0].volume.0, dec!(20));
    assert_eq!(w[0].time, daily[1].time, "stamped with the week's last day");
    assert_eq!(w[1].close.0, dec!(9));
    let m = aggregate(&daily, BarSize::parse("1month").unwrap());
    assert_eq!(m.len(), 1, "all three days are in November");
    assert_eq!((m[0].open.0, m[0].high.0, m[0].low.0, m[0].close.0), (dec!(10), dec!(15), dec!(8), dec!(9)));
}

#[test]
fn minute_bars_merge_into_slots_from_each_session_start() {
    let minutes: Vec<Bar> = (0..7).map(|i| bar(30, 14, 30 + i, 10 + i64::from(i), 20, 5, 11 + i64::from(i))).collect();
    let five = merge_minutes(&minutes, 5);
    assert_eq!(five.len(), 2);
    assert_eq!((five[0].open.0, five[0].close.0, five[0].volume.0), (dec!(10), dec!(15), dec!(50)));
    assert_eq!(five[1].time, minutes[5].time);
    // The next session starts its own slots, even at an odd minute.
    let mut two_days: Vec<Bar> = (0..3).map(|i| bar(27, 14, 33 + i, 1, 1, 1, 1)).collect();
    two_days.extend(minutes.clone());
    let merged = merge_minutes(&two_days, 5);
    assert_eq!(merged.len(), 3);
    assert_eq!(merged[1].time, minutes[0].time);
}
