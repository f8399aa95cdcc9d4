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
    let e = CryptoConfig::from_env(&env(&[("CRYPTO_EXCHANGE", "kucoin")])).unwrap_err();
    assert_eq!(e.key, "CRYPTO_EXCHANGE");
    assert!(e.message.contains("not an exchange tradegate supports") && e.message.contains("kraken"), "{e}");
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
fn the_declared_choices_and_formats_are_what_the_server_parses() {
    let problems = trading_mcp::settings::check_declared_values(&SPEC, |e| CryptoConfig::from_env(e).map(|_| ()));
    assert!(problems.is_empty(), "{problems:#?}");
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

#[test]
fn each_exchange_brings_its_quote_currency_and_its_rules() {
    let exchange = |pairs: &[(&str, &str)]| {
        let mut e = env(&[("CRYPTO_BACKEND", "exchange")]);
        e.extend(env(pairs));
        CryptoConfig::from_env(&e)
    };
    assert_eq!(exchange(&[("CRYPTO_EXCHANGE", "kraken")]).unwrap().exchange.quote, "USD");
    assert_eq!(exchange(&[("CRYPTO_EXCHANGE", "okx")]).unwrap().exchange.quote, "USDT");
    let c = exchange(&[("CRYPTO_EXCHANGE", "Coinbase"), ("CRYPTO_QUOTE_CCY", "usdc")]).unwrap();
    assert_eq!((c.exchange.id.as_str(), c.exchange.quote.as_str()), ("coinbase", "USDC"));
    assert!(c.common.journal_path.ends_with("crypto-coinbase-trades.jsonl"), "{:?}", c.common.journal_path);
    // No spot testnet: sandbox with dry-run off would be real money; refused, naming the way out.
    let e = exchange(&[("CRYPTO_EXCHANGE", "kraken"), ("CRYPTO_DRY_RUN", "false")]).unwrap_err();
    assert_eq!(e.key, "CRYPTO_TRADING_MODE");
    assert!(e.message.contains("Kraken has no spot testnet") && e.message.contains("CRYPTO_DRY_RUN=true"), "{e}");
    // ...unless every request goes to a base URL (a fake, a recorder).
    exchange(&[
        ("CRYPTO_EXCHANGE", "kraken"),
        ("CRYPTO_DRY_RUN", "false"),
        ("CRYPTO_API_BASE_URL", "http://127.0.0.1:9"),
    ])
    .unwrap();
    exchange(&[("CRYPTO_EXCHANGE", "bybit"), ("CRYPTO_DRY_RUN", "false")]).unwrap();
    // okx keys have a passphrase.
    let e = exchange(&[("CRYPTO_EXCHANGE", "okx"), ("CRYPTO_API_KEY", "k"), ("CRYPTO_API_SECRET", "s")]).unwrap_err();
    assert_eq!(e.key, "CRYPTO_API_PASSWORD");
    let e = exchange(&[("CRYPTO_ALLOW_WITHDRAW_KEYS", "maybe")]).unwrap_err();
    assert_eq!(e.key, "CRYPTO_ALLOW_WITHDRAW_KEYS");
}

#[test]
fn the_committed_manifests_are_the_settings_table() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../packaging/crypto-mcp"));
    trading_mcp::manifest::check_committed(&SPEC, dir).unwrap();
}
