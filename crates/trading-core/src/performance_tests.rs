#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use rust_decimal_macros::dec;

use super::*;

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

#[test]
fn periods_are_ibkrs_and_a_bad_one_is_named() {
    assert_eq!(PerfPeriod::parse("ytd").unwrap(), PerfPeriod::YearToDate);
    assert_eq!(PerfPeriod::parse("1Y").unwrap().as_str(), "12M");
    let e = PerfPeriod::parse("forever").unwrap_err();
    assert!(e.message.starts_with("period:") && e.message.contains("MTD"), "{}", e.message);
    assert_eq!(serde_json::to_value(PerfPeriod::SevenDays).unwrap(), "7D");
    assert_eq!(PerfPeriod::MonthToDate.start(day(12, 2)), day(12, 1));
    assert_eq!(PerfPeriod::YearToDate.start(day(12, 2)), NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
}

#[test]
fn returns_run_from_the_nav_before_the_period() {
    let series = [
        (day(10, 30), dec!(1000)),
        (day(11, 2), dec!(1010)),
        (day(11, 30), dec!(1100)),
        (day(12, 1), dec!(1045)),
        (day(12, 2), dec!(1078)),
    ];
    let p = from_nav("DU1", "USD", PerfPeriod::ThreeMonths, day(12, 2), &series);
    assert_eq!(p.start_nav.unwrap().0, dec!(1000), "the NAV before 09-02 is the first one");
    assert_eq!(p.return_pct, Some(dec!(7.80)));
    assert_eq!(p.monthly_returns.len(), 3);
    assert_eq!((p.monthly_returns[1].period.as_str(), p.monthly_returns[1].return_pct), ("2026-11", dec!(10.00)));
    assert_eq!(p.monthly_returns[2].return_pct, dec!(-2.00), "1078 / 1100 - 1");
    let p = from_nav("DU1", "USD", PerfPeriod::MonthToDate, day(12, 2), &series);
    assert_eq!(p.start_nav.unwrap().0, dec!(1100), "the close before the 1st");
    assert_eq!(p.nav.len(), 2);
    assert_eq!(p.nav[0].cumulative_pct, dec!(-5.00));
}

#[test]
fn thinning_keeps_the_ends() {
    let pts: Vec<NavPoint> =
        (1..=100).map(|i| NavPoint { date: day(1, 1), nav: Money(i.into()), cumulative_pct: dec!(0) }).collect();
    let (t, thinned) = thin(pts, 10);
    assert!(thinned);
    assert_eq!(t.len(), 10);
    assert_eq!((t[0].nav.0, t[9].nav.0), (dec!(1), dec!(100)));
}

#[test]
fn realized_pnl_uses_the_average_cost() {
    let fills = [
        (day(11, 2), dec!(10), dec!(100), dec!(1)),
        (day(11, 3), dec!(10), dec!(110), dec!(1)),
        // Average cost (1000 + 1 + 1100 + 1) / 20 = 105.10; selling 5 at 120 less 1.
        (day(11, 4), dec!(-5), dec!(120), dec!(1)),
        (day(11, 4), dec!(-5), dec!(100), dec!(1)),
    ];
    let (total, by_day) = realized(&fills);
    assert_eq!(total, dec!(47.00), "5 × 14.90 − 1 + 5 × (−5.10) − 1");
    assert_eq!(by_day, vec![(day(11, 4), dec!(47.00))]);
}
