use rust_decimal_macros::dec;

use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn defaults_are_the_safe_ones() {
    let p = Policy::from_env(&env(&[]), PolicyKeys::GENERIC).unwrap();
    assert!(p.dry_run && !p.allow_live && !p.allow_short && !p.halted);
    assert_eq!(p.mode, TradingMode::Paper);
    assert_eq!(p.max_order_value, Some(dec!(100)));
    assert_eq!(p.max_daily_value, Some(dec!(500)));
    assert_eq!(p.max_daily_orders, Some(50));
    assert_eq!(p.confirmation, ConfirmationMode::Required);
    assert_eq!(p.confirmation_ttl_secs, 120);
    assert!(p.enforce_market_hours);
}

#[test]
fn blank_means_default_and_off_means_no_cap() {
    let p =
        Policy::from_env(&env(&[("MAX_ORDER_VALUE", " "), ("MAX_DAILY_VALUE", "off")]), PolicyKeys::GENERIC).unwrap();
    assert_eq!(p.max_order_value, Some(dec!(100)));
    assert_eq!(p.max_daily_value, None);
}

#[test]
fn bad_values_name_the_key() {
    let cases = [
        ("MAX_ORDER_VALUE", "ten"),
        ("MAX_ORDER_VALUE", "-5"),
        ("TRADING_DRY_RUN", "maybe"),
        ("TRADING_MODE", "demo"),
        ("ORDER_CONFIRMATION", "sometimes"),
        ("CONFIRMATION_TTL_SECONDS", "0"),
        ("MARKET_EXTRA_CLOSURES", "2026-13-01"),
        ("MAX_DAILY_ORDERS", "0"),
    ];
    for (k, v) in cases {
        let e = Policy::from_env(&env(&[(k, v)]), PolicyKeys::GENERIC).unwrap_err();
        assert_eq!(e.key, k, "{e}");
        assert!(e.to_string().starts_with(&format!("setting {k}:")), "{e}");
    }
}

#[test]
fn lists_are_uppercased_and_trimmed() {
    let p = Policy::from_env(&env(&[("SYMBOL_DENYLIST", " tsla, gme ,,")]), PolicyKeys::GENERIC).unwrap();
    assert_eq!(p.denylist.iter().cloned().collect::<Vec<_>>(), vec!["GME", "TSLA"]);
}

#[test]
fn typo_keys_are_found() {
    let e = env(&[("MAX_ORDER_VALU", "1"), ("MAX_ORDER_VALUE", "1"), ("HOME", "/root")]);
    let known: Vec<&str> = POLICY_SECTION.settings.iter().map(|s| s.key).collect();
    assert_eq!(unknown_keys(&e, &known, &["MAX_"]), vec!["MAX_ORDER_VALU"]);
}

#[test]
fn live_without_daily_cap_warns() {
    let p = Policy::from_env(&env(&[("TRADING_ALLOW_LIVE", "true"), ("MAX_DAILY_VALUE", "off")]), PolicyKeys::GENERIC)
        .unwrap();
    assert!(p.warnings()[0].starts_with("No daily spend cap set"));
}
