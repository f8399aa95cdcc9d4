use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn defaults_are_the_safe_simulator() {
    let c = CryptoConfig::from_env(&env(&[("HOME", "/h")])).unwrap();
    assert_eq!(c.backend, Backend::Sim);
    assert!(c.common.policy.dry_run && !c.common.policy.allow_live);
    assert!(c.exchange.sandbox, "sandbox unless CRYPTO_TRADING_MODE=live");
    assert_eq!(c.exchange.quote, "USDT");
    assert_eq!(c.sim.prices.get("BTC/USDT"), Some(&Decimal::from(65_000)));
    assert_eq!(c.common.journal_path, PathBuf::from("/h/.local/state/tradegate/crypto-sim-trades.jsonl"));
}

#[test]
fn arms_are_the_crypto_ones() {
    let c = CryptoConfig::from_env(&env(&[("TRADING_ALLOW_LIVE", "true"), ("TRADING_DRY_RUN", "false")])).unwrap();
    assert!(!c.common.policy.allow_live && c.common.policy.dry_run, "arming IBKR never arms crypto");
    let c = CryptoConfig::from_env(&env(&[("CRYPTO_ALLOW_LIVE", "true"), ("CRYPTO_TRADING_MODE", "live")])).unwrap();
    assert!(c.common.policy.allow_live && !c.exchange.sandbox);
    let e = CryptoConfig::from_env(&env(&[("CRYPTO_TRADING_MODE", "paper")])).unwrap_err();
    assert_eq!(e.key, "CRYPTO_TRADING_MODE");
    assert!(e.message.contains("sandbox or live"), "{e}");
}

#[test]
fn bad_settings_name_their_key_and_never_echo_secrets() {
    let e = CryptoConfig::from_env(&env(&[("CRYPTO_EXCHANGE", "kraken")])).unwrap_err();
    assert_eq!(e.key, "CRYPTO_EXCHANGE");
    assert!(e.message.contains("binance"), "{e}");
    let e = CryptoConfig::from_env(&env(&[("CRYPTO_API_BASE_URL", "ftp://x")])).unwrap_err();
    assert_eq!(e.key, "CRYPTO_API_BASE_URL");
    let e = CryptoConfig::from_env(&env(&[("CRYPTO_SIM_PRICES", "BTC:-1")])).unwrap_err();
    assert_eq!(e.key, "CRYPTO_SIM_PRICES");
    let c = CryptoConfig::from_env(&env(&[("CRYPTO_API_SECRET", "s3cr3t-value"), ("CRYPTO_API_KEY", "k3y")])).unwrap();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("s3cr3t-value") && !dbg.contains("k3y"), "secrets leak into Debug output");
}

#[test]
fn a_local_base_url_turns_the_rate_limiter_off_only_there() {
    let c = CryptoConfig::from_env(&env(&[("CRYPTO_API_BASE_URL", "http://127.0.0.1:9/")])).unwrap();
    assert_eq!(c.exchange.base_url.as_deref(), Some("http://127.0.0.1:9"));
    assert!(!c.exchange.rate_limit);
    let c = CryptoConfig::from_env(&env(&[("CRYPTO_API_BASE_URL", "https://testnet.binance.vision")])).unwrap();
    assert!(c.exchange.rate_limit);
}

#[test]
fn env_example_is_the_settings_table() {
    let example = include_str!("../../../.env.example");
    trading_mcp::settings::check_env_example(example, &SPEC).unwrap();
}

#[test]
fn lists_are_per_venue() {
    let c = CryptoConfig::from_env(&env(&[("SYMBOL_ALLOWLIST", "AAPL"), ("CRYPTO_SYMBOL_DENYLIST", "btc")])).unwrap();
    assert!(c.common.policy.allowlist.is_empty(), "the IBKR allowlist does not apply to crypto (W-7)");
    assert!(c.common.policy.denylist.contains("BTC"));
}

#[test]
fn approval_is_read_from_the_crypto_keys() {
    use trading_core::approval::ApprovalMode;
    let c = CryptoConfig::from_env(&env(&[("TRADING_APPROVAL", "web")])).unwrap();
    assert_eq!(c.common.policy.approval.mode, None, "TRADING_APPROVAL is IBKR's; crypto reads CRYPTO_APPROVAL");
    let c = CryptoConfig::from_env(&env(&[("CRYPTO_APPROVAL", "push"), ("CRYPTO_APPROVAL_LIVE", "web")])).unwrap();
    assert_eq!(c.common.policy.approval.mode, Some(ApprovalMode::Push));
    let live = CryptoConfig::from_env(&env(&[("CRYPTO_TRADING_MODE", "live")])).unwrap();
    assert_eq!(live.common.policy.approval.effective(live.common.policy.mode), ApprovalMode::Auto);
    let e = CryptoConfig::from_env(&env(&[("CRYPTO_TRADING_MODE", "live"), ("CRYPTO_APPROVAL", "none")])).unwrap_err();
    assert_eq!(e.key, "CRYPTO_APPROVAL");
    assert!(e.message.contains("CRYPTO_TRADING_MODE=live"), "{e}");
}
