use chrono::{NaiveDate, TimeZone, Utc};
use nyse_holiday_cal::HolidayCal;
use proptest::prelude::*;

use super::*;

fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, dd).unwrap()
}

fn holidays_of(cal: &NyseCalendar, y: i32) -> Vec<NaiveDate> {
    let mut out = vec![];
    let mut x = d(y, 1, 1);
    while x.year() == y {
        if cal.is_holiday(x).unwrap() && !matches!(x.weekday(), Weekday::Sat | Weekday::Sun) {
            out.push(x);
        }
        x += Duration::days(1);
    }
    out
}

/// NYSE's published calendars for 2025–2028 (press releases of 2024-11-08 and 2025-12-23)
/// and the rule-derived 2029–2030 dates, as listed in the dependencies spec, section 1.4.
#[test]
fn published_holidays_2025_to_2030() {
    let cal = NyseCalendar::default();
    let expected: &[(i32, &[(u32, u32)])] = &[
        (2025, &[(1, 1), (1, 9), (1, 20), (2, 17), (4, 18), (5, 26), (6, 19), (7, 4), (9, 1), (11, 27), (12, 25)]),
        (2026, &[(1, 1), (1, 19), (2, 16), (4, 3), (5, 25), (6, 19), (7, 3), (9, 7), (11, 26), (12, 25)]),
        (2027, &[(1, 1), (1, 18), (2, 15), (3, 26), (5, 31), (6, 18), (7, 5), (9, 6), (11, 25), (12, 24)]),
        (2028, &[(1, 17), (2, 21), (4, 14), (5, 29), (6, 19), (7, 4), (9, 4), (11, 23), (12, 25)]),
        (2029, &[(1, 1), (1, 15), (2, 19), (3, 30), (5, 28), (6, 19), (7, 4), (9, 3), (11, 22), (12, 25)]),
        (2030, &[(1, 1), (1, 21), (2, 18), (4, 19), (5, 27), (6, 19), (7, 4), (9, 2), (11, 28), (12, 25)]),
    ];
    for (y, days) in expected {
        let want: Vec<_> = days.iter().map(|&(m, dd)| d(*y, m, dd)).collect();
        assert_eq!(holidays_of(&cal, *y), want, "holidays of {y}");
    }
}

#[test]
fn published_early_closes_2025_to_2030() {
    let expected: &[(i32, &[(u32, u32)])] = &[
        (2025, &[(7, 3), (11, 28), (12, 24)]),
        (2026, &[(11, 27), (12, 24)]),
        (2027, &[(11, 26)]),
        (2028, &[(7, 3), (11, 24)]),
        (2029, &[(7, 3), (11, 23), (12, 24)]),
        (2030, &[(7, 3), (11, 29), (12, 24)]),
    ];
    let cal = NyseCalendar::default();
    for (y, days) in expected {
        let want: Vec<_> = days.iter().map(|&(m, dd)| d(*y, m, dd)).collect();
        assert_eq!(rule_early_closes(*y), want, "early closes of {y}");
        for day in &want {
            let s = cal.session(*day).unwrap().unwrap();
            assert!(s.early_close);
            assert_eq!(s.close.with_timezone(&New_York).format("%H:%M").to_string(), "13:00");
        }
    }
}

#[test]
fn agrees_with_the_nyse_holiday_cal_oracle_2020_to_2028() {
    let cal = NyseCalendar::default();
    let mut x = d(2020, 1, 1);
    while x.year() <= 2028 {
        if !matches!(x.weekday(), Weekday::Sat | Weekday::Sun) {
            let oracle = x.holiday().unwrap().is_some();
            let ours = cal.is_holiday(x).unwrap();
            // The oracle misses the 2025-01-09 day of mourning (a known gap).
            if x != d(2025, 1, 9) {
                assert_eq!(ours, oracle, "{x}");
            } else {
                assert!(ours && !oracle);
            }
        }
        x += Duration::days(1);
    }
}

#[test]
fn federal_only_days_are_trading_days() {
    let cal = NyseCalendar::default();
    assert!(cal.session(d(2025, 12, 26)).unwrap().is_some(), "2025-12-26 traded");
    assert!(cal.session(d(2026, 10, 12)).unwrap().is_some(), "Columbus Day trades");
    assert!(cal.session(d(2026, 11, 11)).unwrap().is_some(), "Veterans Day trades");
    assert!(cal.session(d(2027, 12, 31)).unwrap().is_some(), "no Friday close for New Year 2028");
}

#[test]
fn dst_boundaries() {
    let cal = NyseCalendar::default();
    let open = |y, m, dd| cal.session(d(y, m, dd)).unwrap().unwrap().open;
    assert_eq!(open(2026, 3, 6), Utc.with_ymd_and_hms(2026, 3, 6, 14, 30, 0).unwrap());
    assert_eq!(open(2026, 3, 9), Utc.with_ymd_and_hms(2026, 3, 9, 13, 30, 0).unwrap());
    assert_eq!(open(2025, 11, 3), Utc.with_ymd_and_hms(2025, 11, 3, 14, 30, 0).unwrap());
    assert_eq!(open(2027, 3, 15), Utc.with_ymd_and_hms(2027, 3, 15, 13, 30, 0).unwrap());
    let early = cal.session(d(2026, 11, 27)).unwrap().unwrap();
    assert_eq!(early.close, Utc.with_ymd_and_hms(2026, 11, 27, 18, 0, 0).unwrap());
}

#[test]
fn state_at_edges() {
    let cal = NyseCalendar::default();
    let at = |h, m| Utc.with_ymd_and_hms(2026, 11, 24, h, m, 0).unwrap(); // a Tuesday, EST
    assert!(!cal.state_at(at(14, 29)).unwrap().market_open);
    assert!(cal.state_at(at(14, 30)).unwrap().market_open);
    assert!(cal.state_at(at(20, 59)).unwrap().market_open);
    let after = cal.state_at(at(21, 0)).unwrap();
    assert!(!after.market_open);
    assert_eq!(after.reason, "after the 16:00 ET close");
    assert_eq!(after.next_open, Some(Utc.with_ymd_and_hms(2026, 11, 25, 14, 30, 0).unwrap()));
    // Black Friday 2026: open until 13:00 ET only.
    let bf = |h| Utc.with_ymd_and_hms(2026, 11, 27, h, 30, 0).unwrap();
    assert!(cal.state_at(bf(17)).unwrap().market_open);
    assert_eq!(cal.state_at(bf(18)).unwrap().reason, "after the 13:00 ET early close");
    // Thanksgiving: next open is the Friday.
    let tg = cal.state_at(Utc.with_ymd_and_hms(2026, 11, 26, 15, 0, 0).unwrap()).unwrap();
    assert_eq!(tg.reason, "NYSE holiday or closure");
    assert_eq!(tg.next_open, Some(Utc.with_ymd_and_hms(2026, 11, 27, 14, 30, 0).unwrap()));
    let sunday = cal.state_at(Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap()).unwrap();
    assert_eq!(sunday.reason, "weekend");
}

#[test]
fn outside_the_verified_range_fails_closed() {
    let cal = NyseCalendar::default();
    let e = cal.state_at(Utc.with_ymd_and_hms(2031, 3, 4, 15, 0, 0).unwrap()).unwrap_err();
    assert_eq!(e, OutOfRange(2031));
    assert!(e.to_string().contains("ENFORCE_MARKET_HOURS"));
    assert!(cal.session(d(2019, 6, 3)).is_err());
}

#[test]
fn configured_closures_apply() {
    let cal = NyseCalendar::with_extras(vec![d(2026, 12, 31)], vec![d(2026, 12, 30)]);
    assert!(cal.session(d(2026, 12, 31)).unwrap().is_none());
    assert!(cal.session(d(2026, 12, 30)).unwrap().unwrap().early_close);
}

proptest! {
    #[test]
    fn rule_invariants(y in FIRST_YEAR..=LAST_VERIFIED_YEAR) {
        let hol = rule_holidays(y);
        let early = rule_early_closes(y);
        for h in &hol {
            prop_assert!(!matches!(h.weekday(), Weekday::Sat | Weekday::Sun));
        }
        for e in &early {
            prop_assert!(!matches!(e.weekday(), Weekday::Sat | Weekday::Sun));
            prop_assert!(!hol.contains(e), "early close {} is a holiday", e);
            let near = [d(y, 7, 4), nth_weekday(y, 11, Weekday::Thu, 4), d(y, 12, 25)];
            prop_assert!(near.iter().any(|n| (*e - *n).num_days().abs() <= 1));
        }
        let expected = if y < 2022 || d(y, 1, 1).weekday() == Weekday::Sat { 9 } else { 10 };
        prop_assert_eq!(hol.len(), expected);
    }
}
