use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn defaults_are_sim_and_a_stable_journal_path() {
    let c = ServerConfig::from_env(&env(&[("HOME", "/home/u")])).unwrap();
    assert_eq!(c.backend, Backend::Sim);
    assert_eq!(c.common.journal_path, PathBuf::from("/home/u/.local/state/tradegate/ibkr-sim-trades.jsonl"));
    assert!(!c.common.read_only);
    assert_eq!(c.sim.market_hours, MarketHoursModel::AlwaysOpen);
    let c = ServerConfig::from_env(&env(&[("XDG_STATE_HOME", "/s"), ("IBKR_BACKEND", "gateway")])).unwrap();
    assert_eq!(
        c.common.journal_path,
        PathBuf::from("/s/tradegate/ibkr-trades.jsonl"),
        "the simulator never shares the real journal"
    );
}

#[test]
fn sim_settings_parse() {
    let c = ServerConfig::from_env(&env(&[
        ("SIM_SEED", "9"),
        ("SIM_STARTING_CASH", "2500.50"),
        ("SIM_SYMBOLS", "xyz:12.5, AAPL:200"),
        ("SIM_MARKET_HOURS", "nyse"),
    ]))
    .unwrap();
    assert_eq!(c.sim.seed, 9);
    assert_eq!(c.sim.starting_cash, Decimal::new(250050, 2));
    assert_eq!(c.sim.prices.get("XYZ"), Some(&Decimal::new(125, 1)));
    assert_eq!(c.sim.market_hours, MarketHoursModel::Nyse);
}

#[test]
fn bad_values_name_their_key() {
    for (k, v) in [
        ("IBKR_BACKEND", "tws"),
        ("SIM_SYMBOLS", "XYZ:free"),
        ("SIM_MARKET_HOURS", "lunch"),
        ("READ_ONLY", "perhaps"),
        ("WAIT_POLL_MILLISECONDS", "0"),
        ("SIM_ACCOUNT_TYPE", "real"),
    ] {
        let e = ServerConfig::from_env(&env(&[(k, v)])).unwrap_err();
        assert_eq!(e.key, k, "{e}");
    }
}

#[test]
fn typos_are_warned_about() {
    let c = ServerConfig::from_env(&env(&[("TRADING_DRYRUN", "false"), ("MAX_ORDER_VALUE", "50")])).unwrap();
    assert_eq!(c.common.warnings.len(), 1);
    assert!(c.common.warnings[0].contains("TRADING_DRYRUN"));
}

#[test]
fn env_example_is_the_settings_table() {
    let example = include_str!("../../../.env.example");
    trading_mcp::settings::check_env_example(example, &SPEC).unwrap();
}

#[test]
fn the_declared_choices_and_formats_are_what_the_server_parses() {
    let problems = trading_mcp::settings::check_declared_values(&SPEC, |e| ServerConfig::from_env(e).map(|_| ()));
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn toolsets_parse_and_name_a_wrong_one() {
    use trading_mcp::settings::Toolset;
    let c = ServerConfig::from_env(&env(&[("TOOLSETS", "research, analytics")])).unwrap();
    assert_eq!(c.common.toolsets.into_iter().collect::<Vec<_>>(), [Toolset::Research, Toolset::Analytics]);
    let e = ServerConfig::from_env(&env(&[("TOOLSETS", "trading,charts")])).unwrap_err();
    assert_eq!(e.key, "TOOLSETS");
    assert!(e.message.contains("'charts'"), "{e}");
}

#[test]
fn the_committed_manifests_are_the_settings_table() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../packaging/ibkr-mcp"));
    trading_mcp::manifest::check_committed(&SPEC, dir).unwrap();
}
