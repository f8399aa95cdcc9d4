#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use rust_decimal_macros::dec;

use super::*;

fn opt(strike: Decimal, right: Right) -> OptionSymbol {
    OptionSymbol { underlying: "SPY".into(), expiry: NaiveDate::from_ymd_opt(2027, 6, 18).unwrap(), strike, right }
}

#[test]
fn prices_obey_put_call_parity_and_greeks_have_their_signs() {
    let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    let (c, p) =
        (quote(&opt(dec!(600), Right::Call), dec!(590), today), quote(&opt(dec!(600), Right::Put), dec!(590), today));
    // C - P = S - K e^{-rT}, within the rounding of the prices.
    let t = 198.0 / 365.0;
    let parity = 590.0 - 600.0 * (-0.04f64 * t).exp();
    let diff = (c.last.unwrap().0 - p.last.unwrap().0).to_f64().unwrap();
    assert!((diff - parity).abs() < 0.05, "{diff} vs {parity}");
    let (dc, dp) = (c.delta.unwrap(), p.delta.unwrap());
    assert!(dc > dec!(0) && dc < dec!(1) && dp < dec!(0) && dp > dec!(-1));
    assert!((dc - dp - dec!(1)).abs() < dec!(0.001), "call delta - put delta = 1");
    assert!(c.gamma.unwrap() > dec!(0) && c.vega.unwrap() > dec!(0) && c.theta.unwrap() < dec!(0));
    assert!(c.bid.unwrap().0 < c.ask.unwrap().0);
    assert_eq!(c.multiplier.0, dec!(100));
}

#[test]
fn expiries_are_fridays_and_strikes_step_by_price() {
    let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    let e = expirations(today);
    assert!(e.iter().all(|d| d.weekday() == Weekday::Fri && *d >= today));
    assert_eq!(e[0], NaiveDate::from_ymd_opt(2026, 12, 4).unwrap());
    assert!(e.contains(&NaiveDate::from_ymd_opt(2026, 12, 18).unwrap()), "December's third Friday");
    let s = strikes(dec!(591.3));
    assert!(s.contains(&dec!(590)) && s.contains(&dec!(600)) && !s.contains(&dec!(595)), "steps of 10 above 500");
    assert!(strikes(dec!(62)).contains(&dec!(61)));
}
