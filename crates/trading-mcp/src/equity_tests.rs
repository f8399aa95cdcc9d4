use chrono::TimeZone;
use rust_decimal_macros::dec;

use super::*;

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, h, 0, 0).unwrap()
}

#[test]
fn drawdown_from_the_peak_and_the_worst_fall() {
    let s: Vec<Sample> = [100, 120, 90, 110, 105]
        .iter()
        .enumerate()
        .map(|(i, e)| Sample { time: at(i as u32), equity: Decimal::from(*e) })
        .collect();
    let d = drawdown(&s);
    assert_eq!(d.peak.unwrap().equity, dec!(120));
    assert_eq!(d.drawdown_pct, dec!(12.5));
    assert_eq!(d.max_drawdown_pct, dec!(25));
    assert_eq!(drawdown(&[]).drawdown_pct, dec!(0));
}

#[test]
fn samples_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("equity.sqlite");
    {
        let st = EquityStore::open(&path).unwrap();
        st.record(at(1), dec!(1000.5)).unwrap();
        st.record(at(2), dec!(990)).unwrap();
    }
    let st = EquityStore::open(&path).unwrap();
    let s = st.samples().unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].equity, dec!(1000.5));
}
