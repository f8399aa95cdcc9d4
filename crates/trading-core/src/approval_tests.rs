use std::collections::HashMap;

use rust_decimal_macros::dec;

use super::*;
use crate::config::{Policy, PolicyKeys};

fn policy(pairs: &[(&str, &str)]) -> Result<Policy, ConfigError> {
    let env: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Policy::from_env(&env, PolicyKeys::GENERIC)
}

const EVERYTHING: Reach = Reach { client_elicits: true, web: true, push: true };

#[test]
fn unset_is_auto_on_live_and_none_elsewhere() {
    let paper = policy(&[]).unwrap();
    assert_eq!(paper.approval.effective(TradingMode::Paper), ApprovalMode::None);
    assert!(!paper.approval.needed(TradingMode::Paper, false, Some(dec!(10))));
    let live = policy(&[("TRADING_MODE", "live")]).unwrap();
    assert_eq!(live.approval.effective(TradingMode::Live), ApprovalMode::Auto);
    assert!(live.approval.needed(TradingMode::Live, true, Some(dec!(1))));
}

#[test]
fn none_on_a_live_account_refuses_to_start_naming_both_settings() {
    let e = policy(&[("TRADING_MODE", "live"), ("TRADING_APPROVAL", "none")]).unwrap_err();
    assert_eq!(e.key, "TRADING_APPROVAL");
    assert!(e.to_string().contains("TRADING_MODE=live"), "{e}");
    assert!(policy(&[("TRADING_APPROVAL", "none")]).is_ok(), "none is fine on paper");
}

#[test]
fn bad_values_name_their_setting() {
    for (k, v) in [
        ("TRADING_APPROVAL", "maybe"),
        ("TRADING_APPROVAL_LIVE", "elicit"),
        ("APPROVAL_TTL_SECONDS", "4"),
        ("APPROVAL_TTL_SECONDS", "901"),
        ("APPROVAL_MAX_DRIFT_PCT", "-1"),
        ("APPROVAL_MIN_VALUE", "cheap"),
    ] {
        let e = policy(&[(k, v)]).unwrap_err();
        assert_eq!(e.key, k, "{e}");
    }
}

#[test]
fn auto_prefers_elicitation_then_the_page_then_push_and_fails_closed() {
    let p = policy(&[("TRADING_APPROVAL", "auto")]).unwrap().approval;
    let m = TradingMode::Paper;
    assert_eq!(p.channel(m, EVERYTHING).unwrap(), Channel::Elicit);
    assert_eq!(p.channel(m, Reach { client_elicits: false, ..EVERYTHING }).unwrap(), Channel::Web);
    assert_eq!(p.channel(m, Reach { push: true, ..Reach::default() }).unwrap(), Channel::Push);
    let e = p.channel(m, Reach::default()).unwrap_err();
    assert_eq!(e.code, ErrorCode::ApprovalRequired);
    assert_eq!(e.setting, Some("TRADING_APPROVAL"));
}

#[test]
fn explicit_channels_never_fall_back() {
    let p = policy(&[("TRADING_APPROVAL", "elicit")]).unwrap().approval;
    assert!(p.channel(TradingMode::Paper, Reach { client_elicits: false, ..EVERYTHING }).is_err());
    let p = policy(&[("TRADING_APPROVAL", "push")]).unwrap().approval;
    assert!(p.channel(TradingMode::Paper, Reach { push: false, ..EVERYTHING }).is_err());
}

#[test]
fn the_live_channel_wins_over_an_eliciting_client_on_live_only() {
    let p = policy(&[("TRADING_MODE", "live"), ("TRADING_APPROVAL_LIVE", "push")]).unwrap().approval;
    assert_eq!(p.channel(TradingMode::Live, EVERYTHING).unwrap(), Channel::Push);
    let e = p.channel(TradingMode::Live, Reach { push: false, ..EVERYTHING }).unwrap_err();
    assert_eq!(e.setting, Some("TRADING_APPROVAL"));
    assert!(e.message.contains("TRADING_APPROVAL_LIVE=push"), "{}", e.message);
    let paper = policy(&[("TRADING_APPROVAL", "auto"), ("TRADING_APPROVAL_LIVE", "push")]).unwrap().approval;
    assert_eq!(paper.channel(TradingMode::Paper, EVERYTHING).unwrap(), Channel::Elicit);
}

#[test]
fn min_value_skips_approval_on_paper_never_on_live() {
    let p = policy(&[("TRADING_APPROVAL", "web"), ("APPROVAL_MIN_VALUE", "100")]).unwrap().approval;
    assert!(!p.needed(TradingMode::Paper, false, Some(dec!(99.99))));
    assert!(p.needed(TradingMode::Paper, false, Some(dec!(100))));
    assert!(p.needed(TradingMode::Paper, false, None), "unknown value: asked");
    assert!(p.needed(TradingMode::Paper, true, Some(dec!(1))), "the venue says live");
}

#[test]
fn the_fingerprint_binds_account_mode_venue_and_terms() {
    let o = crate::order::OrderIntent::Single(crate::order::OrderRequest {
        symbol: "AAPL".into(),
        side: crate::order::Side::Buy,
        order_type: crate::order::OrderType::Limit,
        size: crate::order::Size::Quantity(crate::money::Qty(dec!(10))),
        limit_price: Some(crate::money::Price(dec!(190))),
        stop_price: None,
        trail: None,
        tif: Default::default(),
    });
    let d = digest(Some("U1"), true, "IBKR", &o);
    let f = fingerprint(&d);
    assert_eq!(f.len(), 9);
    assert_eq!(&f[4..5], "-");
    assert_ne!(d, digest(Some("U2"), true, "IBKR", &o));
    assert_ne!(d, digest(Some("U1"), false, "IBKR", &o));
    let mut other = o.clone();
    if let crate::order::OrderIntent::Single(x) = &mut other {
        x.limit_price = Some(crate::money::Price(dec!(190.01)));
    }
    assert_ne!(d, digest(Some("U1"), true, "IBKR", &other));
}
