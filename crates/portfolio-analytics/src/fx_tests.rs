#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use rust_decimal_macros::dec;

use super::*;

fn book() -> Vec<CurrencyExposure> {
    let lines = [
        CurrencyHoldings { currency: "USD".into(), positions: dec!(60000), cash: dec!(10000), rate_to_base: dec!(1) },
        // 20,000 EUR of shares and 1,000 EUR of cash at 1.10 USD per EUR.
        CurrencyHoldings { currency: "EUR".into(), positions: dec!(20000), cash: dec!(1000), rate_to_base: dec!(1.10) },
    ];
    currency_exposure(&lines, dec!(93100))
}

#[test]
fn exposure_is_valued_in_the_base_currency() {
    let e = book();
    assert_eq!(e[0].currency, "USD");
    let eur = &e[1];
    assert_eq!((eur.positions, eur.cash, eur.net), (dec!(22000.00), dec!(1100.00), dec!(23100.00)));
    assert_eq!(eur.pct_of_equity, dec!(24.81));
}

#[test]
fn a_stronger_base_currency_shrinks_the_others() {
    let shock = FxShock::parse("USD +10%").unwrap();
    let s = fx_stress(&book(), "USD", &shock, dec!(93100), dec!(1));
    // 23,100 USD of euro assets are worth 1/1.1 as much: a loss of 2,100.
    assert_eq!(s.loss, dec!(2100.00));
    assert_eq!(s.stressed_equity, dec!(91000.00));
    assert_eq!(s.by_currency, vec![("EUR".to_string(), dec!(-2100.00))]);
    assert_eq!(s.shock, "USD +10%");
    // The euro falling 10% is a 10% loss on its holdings.
    let s = fx_stress(&book(), "USD", &FxShock::parse("EUR -10%").unwrap(), dec!(93100), dec!(1));
    assert_eq!(s.loss, dec!(2310.00));
    // After a 20% market fall only the positions shrink, not the cash.
    let s = fx_stress(&book(), "USD", &FxShock::parse("EUR -10%").unwrap(), dec!(93100), dec!(0.8));
    assert_eq!(s.loss, dec!(1870.00));
    // A currency the book does not hold moves nothing.
    let s = fx_stress(&book(), "USD", &FxShock::parse("JPY +20%").unwrap(), dec!(93100), dec!(1));
    assert_eq!((s.loss, s.by_currency.len()), (dec!(0), 0));
}

#[test]
fn shocks_are_parsed_or_refused_by_name() {
    assert_eq!(FxShock::parse("usd +5%").unwrap(), FxShock { currency: "USD".into(), pct: dec!(5) });
    assert_eq!(FxShock::parse("EUR -2.5").unwrap().pct, dec!(-2.5));
    for bad in ["USD", "+5% USD", "DOLLAR +5%", "USD five", "USD 0%", "USD -100%"] {
        let e = FxShock::parse(bad).unwrap_err().to_string();
        assert!(e.starts_with("fx_shock:"), "{bad}: {e}");
    }
}
