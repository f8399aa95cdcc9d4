//! The catalog against IBKR's XML: counts, spot checks, tag and inverse rules, validation,
//! and that the committed catalog.json is what the generator makes today.

#![allow(clippy::unwrap_used)] // test code

use scanner_catalog::{Catalog, rules};
use serde_json::json;

const XML: &str = include_str!("../data/scan-parameters.xml");
const REFERENCE: &str = include_str!("../data/scanner_reference.json");

#[test]
fn the_committed_catalog_is_current() {
    let fresh = Catalog::from_sources(XML, REFERENCE).unwrap();
    assert!(
        &fresh == Catalog::get(),
        "data/catalog.json is stale: run `cargo run -p scanner-catalog --bin scanner-catalog-gen` and commit it"
    );
}

#[test]
fn every_scan_type_and_location_of_the_xml() {
    let c = Catalog::get();
    assert_eq!(c.scans.len(), XML.matches("<ScanType>").count(), "all 636 scan types");
    assert_eq!(c.scans.len(), 636);
    assert_eq!(c.locations.len(), 144);
    assert!(c.filters.len() > 900, "{}", c.filters.len());
    // Spot checks read straight from the XML.
    let gap = c.scan("HIGH_OPEN_GAP").unwrap();
    assert_eq!(
        gap.instruments,
        [
            "STK",
            "STOCK.NA",
            "STOCK.EU",
            "STOCK.ME",
            "STOCK.HK",
            "ETF.EQ.US",
            "ETF.FI.US",
            "FUT.US",
            "FUT.NA",
            "FUT.EU",
            "FUT.HK"
        ]
    );
    let alv = c.scan("SCAN_etfAssets_DESC").unwrap();
    assert_eq!(
        (alv.vendor.as_deref(), alv.name.as_str(), alv.category.as_str()),
        (Some("ALV"), "Assets Under Management (AltaVista) Desc", "ETFs")
    );
    let price = c.filter("priceAbove").unwrap();
    assert_eq!((price.group.as_str(), price.kind.as_str(), price.bound.as_deref()), ("PRICE", "number", Some("min")));
    assert!(price.instruments.contains(&"STK".to_string()));
    let cap = c.filter("marketCapAbove1e6").unwrap();
    assert_eq!(
        (cap.unit.as_deref(), cap.kind.as_str()),
        (Some("*1,000,000"), "number"),
        "the XML's suffix is the unit"
    );
    let vol = c.filter("volumeAbove").unwrap();
    assert_eq!((vol.kind.as_str(), vol.min, vol.max), ("integer", None, None), "IBKR's ±2^31 sentinels are no range");
    let moody = c.filter("moodyRatingAbove").unwrap();
    assert_eq!(moody.kind, "choice");
    assert_eq!(moody.choices[0].code, "AAA");
    assert!(c.locations.iter().any(|l| l.code == "STK.US.MAJOR" && l.instruments == ["STK"]));
}

#[test]
fn categories_keep_the_reference_and_empty_other() {
    let c = Catalog::get();
    assert_eq!(c.scan("TOP_PERC_GAIN").unwrap().category, "Price Movement", "the reference's own bucket");
    assert_eq!(c.scan("SCAN_lipperEffectiveMaturity_ASC").unwrap().category, "Bonds", "the reference's bucket wins");
    let lipper_funds = c.scans.iter().filter(|s| s.code.starts_with("SCAN_lipper") && s.category == "Funds").count();
    assert!(lipper_funds >= 80, "the reference's Other Lipper scans become Funds: {lipper_funds}");
    assert_eq!(c.scan("BULLISH_LAST_VS_EMA100").unwrap().category, "Technical Signals");
    let other = c.scans.iter().filter(|s| s.category == "Other").count();
    assert!(other * 20 < c.scans.len(), "Other is {other} of {} scans", c.scans.len());
}

#[test]
fn tags_use_word_boundaries_and_polarity() {
    let c = Catalog::get();
    let tags = |code: &str| c.scan(code).unwrap().tags.clone();
    assert!(
        !tags("SCAN_esgControversiesScore_DESC").contains(&"technical".to_string()),
        "rsi is not inside controversies"
    );
    assert!(
        !tags("SCAN_lipperEffectiveMaturity_ASC").contains(&"technical".to_string()),
        "ema is not inside EffectiveMaturity"
    );
    assert!(
        !tags("TOP_OPT_IMP_VOLAT_GAIN").contains(&"momentum_up".to_string()),
        "an implied-volatility gainer is not price momentum"
    );
    assert!(tags("TOP_OPT_IMP_VOLAT_GAIN").contains(&"volatility".to_string()));
    assert!(tags("LOW_PE_RATIO").contains(&"value".to_string()));
    assert!(tags("HIGH_PE_RATIO").contains(&"overvalued".to_string()));
    assert!(tags("TOP_PERC_GAIN").contains(&"momentum_up".to_string()));
    assert!(tags("TOP_PERC_LOSE").contains(&"momentum_down".to_string()));
    assert!(tags("HIGH_DIVIDEND_YIELD_IB").contains(&"income".to_string()));
    assert_eq!(c.scan("SCAN_etfAssets_DESC").unwrap().polarity.as_deref(), Some("high"));
    assert_eq!(rules::tokens("EffectiveMaturity52W_ASC"), ["effective", "maturity52w", "asc"]);
    assert_eq!(rules::polarity(&rules::tokens("TOP_PERC_LOSE")), Some(rules::Polarity::Low));
    assert_eq!(rules::polarity(&rules::tokens("SCAN_x_ASC")), Some(rules::Polarity::Low));
}

#[test]
fn inverses_pair_both_ways_where_the_partner_exists() {
    let c = Catalog::get();
    for (a, b) in [
        ("TOP_PERC_GAIN", "TOP_PERC_LOSE"),
        ("BULLISH_LAST_VS_EMA100", "BEARISH_LAST_VS_EMA100"),
        ("FAR_MATURITY_DATE", "NEAR_MATURITY_DATE"),
        ("WSH_NEXT_EARNINGS", "WSH_PREV_EARNINGS"),
        ("SCAN_etfAssets_DESC", "SCAN_etfAssets_ASC"),
        ("HIGH_OPEN_GAP", "LOW_OPEN_GAP"),
    ] {
        assert_eq!(c.scan(a).unwrap().inverse.as_deref(), Some(b), "{a}");
        assert_eq!(c.scan(b).unwrap().inverse.as_deref(), Some(a), "{b}");
    }
    for s in &c.scans {
        if let Some(i) = &s.inverse {
            assert_eq!(
                c.scan(i).and_then(|x| x.inverse.as_deref()),
                Some(s.code.as_str()),
                "{} ↔ {i} is symmetric",
                s.code
            );
        }
    }
    assert_eq!(c.scan("TOP_PRICE_RANGE").unwrap().inverse, None, "no partner, no pair");
}

#[test]
fn search_and_validation() {
    let c = Catalog::get();
    let income = c.search(None, None, Some("income"), Some("STK"));
    assert!(
        !income.is_empty()
            && income
                .iter()
                .all(|s| s.tags.contains(&"income".to_string()) && s.instruments.contains(&"STK".to_string()))
    );
    assert!(c.search(Some("gap"), None, None, None).iter().any(|s| s.code == "HIGH_OPEN_GAP"));
    assert!(
        c.validate(
            "TOP_PERC_GAIN",
            "STK",
            "STK.US.MAJOR",
            &[("priceAbove".into(), json!(5)), ("marketCapAbove1e6".into(), json!("10000"))]
        )
        .is_ok()
    );
    let e = c.validate("NOPE", "STK", "STK.US.MAJOR", &[]).unwrap_err();
    assert!(e.starts_with("scan_code: 'NOPE' is not an IBKR scan"), "{e}");
    let e = c.validate("FAR_MATURITY_DATE", "STK", "STK.US.MAJOR", &[]).unwrap_err();
    assert!(e.starts_with("instrument: scan FAR_MATURITY_DATE does not apply to STK"), "{e}");
    let e = c.validate("TOP_PERC_GAIN", "STK", "BOND.US", &[]).unwrap_err();
    assert!(e.starts_with("location:"), "{e}");
    let e = c.validate("TOP_PERC_GAIN", "STK", "STK.US.MAJOR", &[("priceAbove".into(), json!("cheap"))]).unwrap_err();
    assert_eq!(e, "filters: priceAbove takes a number, not \"cheap\"");
    let e = c.validate("TOP_PERC_GAIN", "STK", "STK.US.MAJOR", &[("noSuchFilter".into(), json!(1))]).unwrap_err();
    assert!(e.contains("'noSuchFilter' is not an IBKR scanner filter"), "{e}");
}
