//! Recordings are the contract: every response IBKR was recorded giving (the copy of
//! `shared/reference/fixtures/` under `crates/cpapi-fake/fixtures/`) is parsed through the
//! adapter's wire models, and the values the adapter relies on are asserted. A recording the
//! adapter does not read is listed as such, so a new one must be classified.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use ibkr_venue::cpapi::wire::{self, OrderAnswer};
use rust_decimal_macros::dec;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cpapi-fake/fixtures")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn body(rel: &str) -> Value {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join(rel)).unwrap()).unwrap();
    v["Response"]["Body"].clone()
}

fn decode<T: serde::de::DeserializeOwned>(rel: &str) -> T {
    wire::decode(rel, body(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// What each ibkr-conduit recording is, and what the adapter must read from it.
fn check_conduit(rel: &str) {
    match rel {
        "Accounts/GET-iserver-accounts.json" => {
            let a: wire::IserverAccounts = decode(rel);
            assert_eq!(a.accounts, ["U1234567"]);
            assert_eq!(a.is_paper, Some(true), "isPaper, not the account prefix");
            assert_eq!(a.acct_props["U1234567"]["supportsFractions"], true);
        }
        "Session/GET-auth-status.json" | "Session/POST-ssodh-init.json" => {
            let s: wire::AuthStatus = decode(rel);
            assert_eq!((s.authenticated, s.competing, s.connected), (Some(true), Some(false), Some(true)));
            assert!(s.server_info.unwrap().server_version.unwrap().starts_with("Build 10.44"));
        }
        "Session/POST-tickle.json" => {
            let b = body(rel);
            let s: wire::AuthStatus = wire::decode(rel, b["iserver"]["authStatus"].clone()).unwrap();
            assert_eq!(s.authenticated, Some(true));
        }
        "Portfolio/GET-portfolio-accounts.json" | "Portfolio/GET-portfolio-subaccounts.json" => {
            let a: Vec<wire::PortfolioAccount> = decode(rel);
            assert_eq!(a[0].account_id.as_deref(), Some("U1234567"));
            assert_eq!(a[0].currency.as_deref(), Some("USD"));
        }
        "Portfolio/GET-portfolio-summary.json" => {
            let s: wire::PortfolioSummary = decode(rel);
            assert_eq!(s.netliquidation.as_ref().unwrap().amount, Some(dec!(1005165.5)));
            assert_eq!(s.netliquidation.unwrap().currency.as_deref(), Some("USD"));
            assert_eq!(s.totalcashvalue.unwrap().amount, Some(dec!(971869.6)));
        }
        "Portfolio/GET-portfolio-ledger.json" => {
            let l: wire::Ledger = decode(rel);
            assert!(l.contains_key("USD") && l.contains_key("BASE"), "{:?}", l.keys().collect::<Vec<_>>());
            assert_eq!(l["USD"].cashbalance, Some(dec!(971869.6)));
            assert_eq!(l["USD"].exchangerate, Some(dec!(1)));
        }
        "Portfolio/GET-portfolio-positions-page0.json" => {
            let rows: Vec<wire::PositionRow> = decode(rel);
            let p = ibkr_venue::gateway::position_of_row(&rows[0]);
            assert_eq!((p.symbol.as_str(), p.quantity.0), ("QQQ", dec!(3)));
            assert_eq!(p.asset_class, trading_core::account::AssetClass::Stock);
            assert_eq!(p.contract_id.as_deref(), Some("320227571"));
        }
        "Portfolio/GET-portfolio-positions-empty.json" | "Orders/GET-trades-empty.json" => {
            let rows: Vec<Value> = decode(rel);
            assert!(rows.is_empty());
        }
        "Portfolio/GET-iserver-account-pnl-partitioned.json" => {
            let p: wire::PnlPartitioned = decode(rel);
            assert!(p.upnl.is_empty(), "the first answer before the P&L stream warms up");
        }
        "Contracts/GET-trsrv-stocks.json" => {
            let s: wire::Stocks = decode(rel);
            let us: Vec<i64> =
                s["AAPL"].iter().flat_map(|e| &e.contracts).filter(|c| c.is_us == Some(true)).filter_map(|c| c.conid).collect();
            assert_eq!(us, [265598]);
        }
        "Contracts/GET-secdef-search.json" | "Contracts/POST-secdef-search.json" => {
            let m: Vec<wire::SecdefMatch> = decode(rel);
            assert!(m[0].conid.as_deref().is_some_and(|c| c.parse::<i64>().is_ok()), "conid is a string of digits");
            assert!(m[0].sections.iter().any(|s| s.sec_type.as_deref() == Some("OPT")));
            if rel.starts_with("Contracts/GET") {
                let opt = m[0].sections.iter().find(|s| s.sec_type.as_deref() == Some("OPT")).unwrap();
                assert_eq!(opt.months.as_deref(), Some("APR26;MAY26;JUN26"), "option months, `;`-separated");
            }
        }
        "Contracts/GET-contract-info.json" => {
            let i: wire::ContractInfo = decode(rel);
            assert_eq!(i.industry, None, "an ETF has no industry");
        }
        "Contracts/GET-contract-info-and-rules.json" => {
            let i: wire::ContractInfo = decode(rel);
            assert_eq!(i.industry.as_deref(), Some("Computers"));
        }
        "Contracts/GET-trading-schedule.json" => {
            let s: wire::TradingSchedule = decode(rel);
            assert_eq!(s.exchange_time_zone.as_deref(), Some("US/Eastern"));
            let d = &s.schedules["20260402"];
            assert_eq!((d.liquid_hours[0].opening, d.liquid_hours[0].closing), (Some(1775136600), Some(1775160000)));
            // 1775136600 is 2026-04-02 13:30 UTC = 09:30 New York (EDT).
            assert_eq!(chrono::DateTime::from_timestamp(1775136600, 0).unwrap().to_rfc3339(), "2026-04-02T13:30:00+00:00");
        }
        "MarketData/GET-snapshot.json" => {
            let rows: Vec<wire::SnapshotRow> = decode(rel);
            assert_eq!((rows[0].conid, rows[0].bid, rows[0].ask), (Some(756733), Some(dec!(655.88)), Some(dec!(655.90))));
            assert_eq!(rows[0].last, Some(Value::String("655.89".into())));
        }
        "MarketData/GET-history.json" => {
            let h: wire::History = decode(rel);
            assert!(!h.data.is_empty());
            assert!(h.data.iter().all(|b| b.t.is_some() && b.c.is_some()));
        }
        "Orders/GET-live-orders.json" | "Orders/GET-live-orders-empty.json" => {
            let l: wire::LiveOrders = decode(rel);
            if rel.ends_with("empty.json") {
                assert!(l.orders.is_empty());
            } else {
                let o = &l.orders[0];
                assert_eq!((o.order_id.as_deref(), o.status.as_deref()), (Some("473740665"), Some("Filled")));
                assert_eq!(o.avg_price, Some(dec!(647.09)));
                assert_eq!(o.price, None, "REC-C's filled market order has \"price\": \"\"");
            }
        }
        "Orders/GET-order-status.json" => {
            let s: wire::OrderStatusBody = decode(rel);
            assert_eq!(s.average_fill(), Some(dec!(647.09)), "the fill price is avg_fill_price here");
            assert_eq!(s.filled(), Some(dec!(1)), "filled_quantity, not cum_fill");
            assert_eq!(s.limit(), None, "\"price\": \"0.0\" is no limit");
            assert_eq!(s.tif.as_deref(), Some("DAY"));
        }
        "Orders/POST-place-order-confirmation.json" => match OrderAnswer::read(&body(rel)) {
            OrderAnswer::Question { id, ids, text } => {
                assert_eq!((id.as_str(), ids), ("test-reply-id-001", vec!["o354".to_string()]));
                assert!(text.starts_with("You are submitting an order without market data"));
            }
            other => panic!("{rel}: {other:?}"),
        },
        "Orders/POST-place-order-submitted.json"
        | "Orders/POST-reply-submitted.json"
        | "Orders/POST-modify-order-submitted.json" => match OrderAnswer::read(&body(rel)) {
            OrderAnswer::Acks(a) => {
                assert!(a[0].order_id.as_deref().is_some_and(|i| i.parse::<u64>().is_ok()));
                assert_eq!(a[0].order_status.as_deref(), Some("PreSubmitted"));
            }
            other => panic!("{rel}: {other:?}"),
        },
        "Orders/POST-whatif-order.json" => {
            let w: wire::WhatIf = decode(rel);
            assert_eq!(w.amount.unwrap().commission.as_deref(), Some("0.01 USD"));
            assert_eq!(w.equity.unwrap().change.as_deref(), Some("163"));
            assert_eq!(w.error, None);
        }
        "Orders/GET-trades.json" => {
            let t: Vec<wire::Trade> = decode(rel);
            assert_eq!((t[0].side.as_deref(), t[0].price, t[0].size), (Some("BOT"), Some(dec!(647.09)), Some(dec!(1))));
            assert_eq!(t[0].order_ref.as_deref(), Some("Order123"));
            assert_eq!(t[0].time(), None, "the trimmed recording has no time: never 1970");
        }
        "Orders/DELETE-cancel-order.json" => {
            let c: wire::CancelAnswer = decode(rel);
            assert_eq!((c.conid, c.order_id.as_deref()), (Some(-1), Some("602801486")));
        }
        "Scanner/POST-scanner-run.json" => {
            let r: wire::ScannerRun = decode(rel);
            assert!(!r.contracts.is_empty());
            assert!(r.contracts.iter().all(|c| c.symbol.is_some()));
        }
        // Recorded, but not read by the adapter: the endpoints are not called (yet).
        "Accounts/POST-switch-account.json"
        | "Session/POST-suppress.json"
        | "Session/POST-suppress-reset.json"
        | "MarketData/GET-unsubscribeall.json"
        | "MarketData/POST-unsubscribe.json"
        | "Orders/POST-dismiss-notification.json"
        | "Scanner/GET-scanner-params.json"
        // Synthetic upstream (the live API answered 404) and an endpoint the gateway dropped.
        | "Scanner/POST-hmds-scanner.json"
        | "Fyi/GET-notifications.json"
        | "Fyi/GET-more-notifications.json"
        | "Fyi/GET-unread-count.json"
        | "Fyi/PUT-mark-notification-read.json" => {
            assert!(!body(rel).is_null(), "{rel} has a body");
        }
        other => panic!("recording {other} is not classified: add what the adapter reads from it"),
    }
}

#[test]
fn every_recorded_response_parses_through_the_wire_models() {
    let root = fixtures();
    let mut seen = 0;
    for f in files(&root) {
        let rel = f.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        if rel.starts_with("ibind/") || rel.starts_with("spec/") {
            continue;
        }
        check_conduit(&rel);
        seen += 1;
    }
    assert_eq!(seen, 43, "every ibkr-conduit recording");
}

#[test]
fn ibind_gateway_captures_parse() {
    let all: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("ibind/ibkr_responses.json")).unwrap()).unwrap();
    for (key, v) in &all {
        match key.as_str() {
            "auth_status" => {
                let s: wire::AuthStatus = wire::decode(key, v.clone()).unwrap();
                assert_eq!(s.authenticated, Some(true));
            }
            "tickle" => {
                let s: wire::AuthStatus = wire::decode(key, v["iserver"]["authStatus"].clone()).unwrap();
                assert_eq!(s.connected, Some(true));
            }
            "accounts" => {
                let a: Vec<wire::PortfolioAccount> = wire::decode(key, v.clone()).unwrap();
                assert_eq!(a[0].kind.as_deref(), Some("DEMO"));
            }
            "positions" => {
                let rows: Vec<wire::PositionRow> = wire::decode(key, v.clone()).unwrap();
                let p: Vec<_> = rows.iter().map(ibkr_venue::gateway::position_of_row).collect();
                assert_eq!((p[0].symbol.as_str(), p[0].quantity.0), ("SPY", dec!(100)));
                assert!(p.iter().all(|p| p.asset_class == trading_core::account::AssetClass::Stock));
            }
            "ledger" => {
                let l: wire::Ledger = wire::decode(key, v.clone()).unwrap();
                assert_eq!(l["BASE"].cashbalance, Some(dec!(985376.94)));
                assert!(l.keys().any(|k| k == "USD"));
            }
            "stocks" => {
                let s: wire::Stocks = wire::decode(key, v.clone()).unwrap();
                let aapl = s["AAPL"].iter().flat_map(|e| &e.contracts).find(|c| c.is_us == Some(true)).unwrap();
                assert_eq!(aapl.conid, Some(265598));
            }
            "history" => {
                let h: BTreeMap<String, wire::History> = wire::decode(key, v.clone()).unwrap();
                assert_eq!(h["AAPL"].data[0].c, Some(dec!(189.37)));
            }
            "live_orders" => {
                let rows: Vec<wire::LiveOrder> = wire::decode(key, v.clone()).unwrap();
                let o = &rows[0];
                assert_eq!(
                    (o.price, o.time_in_force.as_deref(), o.order_type.as_deref()),
                    (Some(dec!(457.00)), Some("GTC"), Some("Limit"))
                );
                assert_eq!(o.order_ref.as_deref(), Some("240103-SPY-1-BUY-L@457-bxv8"));
            }
            "order_status" => {
                let by_id: BTreeMap<String, wire::OrderStatusBody> = wire::decode(key, v.clone()).unwrap();
                let s = &by_id["1210386759"];
                assert_eq!(s.limit(), Some(dec!(457.00)), "limit_price, and no price field");
                assert_eq!((s.tif.as_deref(), s.side.as_deref()), (Some("GTC"), Some("B")));
                assert_eq!(s.filled(), Some(dec!(0)));
            }
            // ibind's own lookups and made-up test data, not IBKR responses.
            "conids" | "filtered_conids" | "fa_model_list" | "fa_model_positions" => {}
            other => panic!("ibind key {other} is not classified"),
        }
    }
}

#[test]
fn the_spec_positions_example_keeps_options_and_crypto_apart_from_shares() {
    use trading_core::account::AssetClass;
    let rows: Vec<wire::PositionRow> = wire::decode("spec", cpapi_fake::fixtures::spec_position_rows().into()).unwrap();
    let p: Vec<_> = rows.iter().map(ibkr_venue::gateway::position_of_row).collect();
    let opt = p.iter().find(|p| p.asset_class == AssetClass::Option).unwrap();
    assert_eq!(opt.symbol, "SPY 2025-01-17 440 C");
    assert!(!opt.is_tradable_as("SPY"), "a SPY call is not SPY shares");
    let d = opt.derivative.as_ref().unwrap();
    assert_eq!((d.multiplier.unwrap().0, d.right.as_deref()), (dec!(100), Some("C")));
    assert_eq!(opt.avg_cost.unwrap().0, dec!(58.0104), "per unit of price, not per contract");
    let btc = p.iter().find(|p| p.asset_class == AssetClass::Crypto).unwrap();
    assert!(!btc.is_tradable_as("BTC"), "IBKR crypto is not the BTC stock");
    let ibm = p.iter().find(|p| p.symbol == "IBM").unwrap();
    assert!(ibm.is_tradable_as("IBM"));
}

/// The copy in the repository is the shared reference, byte for byte (when shared/ is beside
/// the checkout, as on developers' machines and in CI).
#[test]
fn the_fixture_copy_equals_the_shared_reference() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/fixtures");
    if !shared.exists() {
        assert!(std::env::var_os("CI").is_none(), "CI lays shared/ beside the checkout: {}", shared.display());
        eprintln!("note: {} not present; copy check not run", shared.display());
        return;
    }
    let ours = fixtures();
    let mut compared = 0;
    for f in files(&shared) {
        let rel = f.strip_prefix(&shared).unwrap();
        let rel = rel.strip_prefix("ibkr-conduit").unwrap_or(rel);
        let mine = ours.join(rel);
        assert_eq!(std::fs::read(&f).unwrap(), std::fs::read(&mine).unwrap_or_default(), "{}", rel.display());
        compared += 1;
    }
    assert_eq!(compared, 44);
}

#[test]
fn spec_strikes_and_greek_fields_parse() {
    // IBKR OpenAPI 2.28.0, /iserver/secdef/strikes example: numbers (the legacy spec shows strings).
    let s: wire::Strikes =
        wire::decode("strikes", cpapi_fake::fixtures::spec_example("GET /iserver/secdef/strikes").unwrap()).unwrap();
    assert_eq!(s.call.first().copied(), Some(dec!(70)));
    assert_eq!(s.put.len(), 7);
    let legacy: wire::Strikes =
        wire::decode("strikes", serde_json::json!({"call": ["5", "10"], "put": ["5"]})).unwrap();
    assert_eq!(legacy.call, [dec!(5), dec!(10)]);
    // Snapshot field codes 7308-7311 (greeks), 7633 (IV %), 7638 (open interest), SPEC `fields`.
    let row: wire::SnapshotRow = wire::decode(
        "snapshot",
        serde_json::json!({"conid": 1, "7308": "0.452", "7309": "0.011", "7310": "-0.31", "7311": "0.62", "7633": "18.4%", "7638": "12,345"}),
    )
    .unwrap();
    assert_eq!(
        (row.delta, row.theta, row.implied_vol_pct, row.open_interest),
        (Some(dec!(0.452)), Some(dec!(-0.31)), Some(dec!(18.4)), Some(dec!(12345)))
    );
    // secdef/info: an array for options (legacy spec), one object for a stock (SPEC example).
    let one = wire::SecdefInfo::list(
        serde_json::json!({"conid": 8314, "ticker": "IBM", "secType": "STK", "right": "?", "strike": 0.0}),
    )
    .unwrap();
    assert_eq!(one.len(), 1);
}
