//! The tool surface in process, as rmcp's own tests run it: the server and an rmcp client over a
//! duplex pipe, the simulator behind. The tools/list answer is kept in `tools.json`: a change to
//! a tool's name, description, annotations or schema shows up in review
//! (`UPDATE_GOLDEN=1 cargo test -p trading-mcp --test surface` rewrites it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::{collections::BTreeSet, sync::Arc};

use rmcp::{
    RoleClient, ServiceExt,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::{CallToolRequestParams, CallToolResult},
    service::RunningService,
    tool, tool_router,
};
use serde_json::{Value, json};
use sim_venue::{SimConfig, SimVenue};
use trading_core::{
    broker::GuardedBroker,
    config::{Policy, PolicyKeys},
    journal::Journal,
    ports::{Clock, SystemClock, Venue},
};
use trading_mcp::{ServerSettings, TradingServer, envelope::ok, server::adopt, settings::Toolset};

struct Rig {
    client: RunningService<RoleClient, ()>,
    _dir: tempfile::TempDir,
}

fn settings(toolsets: &[Toolset], read_only: bool) -> ServerSettings {
    ServerSettings {
        read_only,
        toolsets: toolsets.iter().copied().collect(),
        instructions: "test instructions",
        ..ServerSettings::in_process("test-mcp")
    }
}

async fn rig(s: ServerSettings, venue_tools: Vec<(Toolset, ToolRouter<TradingServer>)>) -> Rig {
    rig_with_policy(s, venue_tools, &[]).await
}

async fn rig_with_policy(
    s: ServerSettings,
    venue_tools: Vec<(Toolset, ToolRouter<TradingServer>)>,
    policy: &[(&str, &str)],
) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let venue: Arc<dyn Venue> = Arc::new(SimVenue::new(SimConfig::default(), clock.clone()));
    let journal = Arc::new(Journal::open(&dir.path().join("j.jsonl"), PolicyKeys::GENERIC.journal_tz).unwrap());
    let policy = Policy::from_env(&test_support::orders::env(policy), PolicyKeys::GENERIC).unwrap();
    let broker = Arc::new(GuardedBroker::new(venue, policy, journal, clock));
    let server = TradingServer::with_venue_tools(broker, s, venue_tools);
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    let client = ().serve(client_io).await.unwrap();
    Rig { client, _dir: dir }
}

async fn names(r: &Rig) -> BTreeSet<String> {
    r.client.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect()
}

async fn call(r: &Rig, tool: &str, args: Value) -> CallToolResult {
    let mut p = CallToolRequestParams::new(tool.to_string());
    p.arguments = args.as_object().cloned();
    r.client.call_tool(p).await.unwrap()
}

#[tokio::test]
async fn tools_list_is_the_golden_file() {
    let r = rig(settings(&Toolset::ALL, false), vec![]).await;
    let mut tools = serde_json::to_value(r.client.list_all_tools().await.unwrap()).unwrap();
    tools.as_array_mut().unwrap().sort_by_key(|t| t["name"].as_str().unwrap().to_string());
    let now = serde_json::to_string_pretty(&tools).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &now).unwrap();
    }
    let golden = std::fs::read_to_string(&path).expect("tests/tools.json: run with UPDATE_GOLDEN=1 once");
    // Compared as JSON, not text: serde_json's key order differs between builds that unify
    // its `preserve_order` feature and builds that do not.
    let golden: Value = serde_json::from_str(&golden).unwrap();
    assert!(golden == tools, "the tool surface changed: review it, then UPDATE_GOLDEN=1 to accept");
    assert_eq!(tools.as_array().unwrap().len(), 43);
    let info = r.client.peer_info().unwrap();
    assert_eq!(info.instructions.as_deref(), Some("test instructions"), "the server's words, not a guess");
}

#[tokio::test]
async fn toolsets_pick_the_routers_and_session_tools_always_stay() {
    let r = rig(settings(&[Toolset::Research], false), vec![]).await;
    let got = names(&r).await;
    let want: BTreeSet<String> = [
        "session_status",
        "market_status",
        "get_quote",
        "get_quotes",
        "search_contracts",
        "contract_details",
        "price_history",
        "trading_schedule",
        "fx_rate",
        "option_chain",
    ]
    .map(String::from)
    .into();
    assert_eq!(got, want);
    let refused = r.client.call_tool(CallToolRequestParams::new("buy")).await;
    assert!(refused.is_err(), "a tool outside the toolsets does not exist: {refused:?}");

    let r = rig(settings(&[Toolset::Trading, Toolset::Account], true), vec![]).await;
    let got = names(&r).await;
    assert!(got.contains("positions") && got.contains("order_status") && got.contains("wait_for_fill"));
    for w in trading_mcp::WRITE_TOOLS {
        assert!(!got.contains(*w), "READ_ONLY leaves no write tool: {w}");
    }
}

/// A venue's own tool, defined on its own handler as a server crate does.
struct Echo;

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct EchoParams {
    /// What to say back.
    word: String,
}

#[tool_router]
impl Echo {
    /// Says the word back.
    #[tool(annotations(read_only_hint = true))]
    async fn echo(&self, Parameters(p): Parameters<EchoParams>) -> CallToolResult {
        ok(json!({ "word": p.word }))
    }
}

#[tokio::test]
async fn venue_tools_join_in_their_toolset_behind_the_same_argument_checks() {
    let venue_tools = || vec![(Toolset::Research, adopt(Arc::new(Echo), Echo::tool_router()))];
    let r = rig(settings(&Toolset::ALL, false), venue_tools()).await;
    assert!(names(&r).await.contains("echo"));
    let a = call(&r, "echo", json!({"word": "hello"})).await;
    assert_eq!(a.structured_content.unwrap()["data"]["word"], "hello");
    let a = call(&r, "echo", json!({"wrd": "hello"})).await;
    assert_eq!(a.is_error, Some(true));
    let e = &a.structured_content.unwrap()["error"];
    assert_eq!(e["code"], "VALIDATION", "{e}");
    assert!(e["message"].as_str().unwrap().contains("did you mean `word`"), "{e}");

    let r = rig(settings(&[Toolset::Trading], false), venue_tools()).await;
    assert!(!names(&r).await.contains("echo"), "a venue tool goes with its toolset");
}

#[tokio::test]
async fn a_misspelled_order_field_is_refused_in_the_envelope() {
    let r = rig(settings(&Toolset::ALL, false), vec![]).await;
    let a = call(&r, "preview_order", json!({"symbol": "AAPL", "quantity": 1, "limit": 200})).await;
    assert_eq!(a.is_error, Some(true));
    let e = &a.structured_content.unwrap()["error"];
    assert_eq!(e["code"], "VALIDATION", "{e}");
    assert!(e["message"].as_str().unwrap().contains("limit_price"), "{e}");
}

#[tokio::test]
async fn price_history_comes_in_small_pages_with_a_cursor() {
    let r = rig(settings(&Toolset::ALL, false), vec![]).await;
    let a = call(&r, "price_history", json!({"symbol": "AAPL", "days": 400})).await;
    let body = a.structured_content.unwrap();
    assert!(body.to_string().len() < 8 * 1024, "the default page stays small: {} bytes", body.to_string().len());
    let d = &body["data"];
    assert_eq!(d["count"], 60);
    let next = d["next"].as_str().expect("older bars remain").to_string();
    let last_of_page2 = {
        let a = call(&r, "price_history", json!({"symbol": "AAPL", "days": 400, "before": next})).await;
        let d = a.structured_content.unwrap()["data"].clone();
        assert_eq!(d["count"], 60);
        d["bars"][59]["time"].as_str().unwrap().to_string()
    };
    assert!(last_of_page2[..10] < next[..], "page 2 ends before page 1 starts: {last_of_page2} < {next}");
    let a = call(&r, "price_history", json!({"symbol": "AAPL", "before": "last week"})).await;
    assert_eq!(a.is_error, Some(true));
    assert!(a.structured_content.unwrap()["error"]["message"].as_str().unwrap().starts_with("before:"));
}

#[tokio::test]
async fn a_position_bought_today_gains_from_its_cost_not_from_yesterdays_close() {
    let sending = [("TRADING_DRY_RUN", "false"), ("ORDER_CONFIRMATION", "off"), ("ENFORCE_MARKET_HOURS", "false")];
    let r = rig_with_policy(settings(&Toolset::ALL, false), vec![], &sending).await;
    let b = call(&r, "buy", json!({"symbol": "AAPL", "quantity": "0.2"})).await;
    assert_ne!(b.is_error, Some(true), "{b:?}");
    let h = call(&r, "trade_history", json!({})).await.structured_content.unwrap();
    let fill: rust_decimal::Decimal = h["data"]["executions"][0]["price"].as_str().unwrap().parse().unwrap();
    let bars = call(&r, "price_history", json!({"symbol": "AAPL", "days": 5})).await.structured_content.unwrap();
    let bars = bars["data"]["bars"].as_array().unwrap().clone();
    let close = |i: usize| -> rust_decimal::Decimal { bars[i]["close"].as_str().unwrap().parse().unwrap() };
    let (prev, last) = (close(bars.len() - 2), close(bars.len() - 1));
    let br = call(&r, "briefing", json!({})).await.structured_content.unwrap();
    let m = br["data"]["movers"].as_array().unwrap().iter().find(|m| m["symbol"] == "AAPL").unwrap().clone();
    let pnl: rust_decimal::Decimal = m["pnl_today"].as_str().unwrap().parse().unwrap();
    let from_cost = (rust_decimal::Decimal::new(2, 1) * (last - fill)).round_dp(2);
    let from_close = (rust_decimal::Decimal::new(2, 1) * (last - prev)).round_dp(2);
    assert_eq!(m["bought_today"], "0.2", "{m}");
    assert!((pnl - from_cost).abs() <= rust_decimal::Decimal::new(1, 2), "{pnl} vs cost-based {from_cost}");
    assert_ne!(from_cost, from_close, "the test tells the two apart");
}

#[tokio::test]
async fn price_history_serves_intraday_bars_and_names_a_bad_bar_or_period() {
    let r = rig(settings(&Toolset::ALL, false), vec![]).await;
    let a = call(&r, "price_history", json!({"symbol": "AAPL", "bar": "1h", "period": "1w", "limit": 250})).await;
    assert_ne!(a.is_error, Some(true), "{a:?}");
    let d = a.structured_content.unwrap()["data"].clone();
    assert_eq!((d["bar"].as_str(), d["period"].as_str()), (Some("1h"), Some("1w")));
    let bars = d["bars"].as_array().unwrap();
    assert!(bars.len() > 7, "several hour bars a day: {}", bars.len());
    let t = |i: usize| chrono::DateTime::parse_from_rfc3339(bars[i]["time"].as_str().unwrap()).unwrap();
    assert_eq!((t(1) - t(0)).num_minutes(), 60);
    // Paging an intraday answer: the cursor is a time.
    let a = call(&r, "price_history", json!({"symbol": "AAPL", "bar": "5min", "period": "1w", "limit": 10})).await;
    let d = a.structured_content.unwrap()["data"].clone();
    let next = d["next"].as_str().unwrap().to_string();
    assert!(chrono::DateTime::parse_from_rfc3339(&next).is_ok(), "{next}");
    let a = call(
        &r,
        "price_history",
        json!({"symbol": "AAPL", "bar": "5min", "period": "1w", "limit": 10, "before": next}),
    )
    .await;
    let last = a.structured_content.unwrap()["data"]["bars"][9]["time"].as_str().unwrap().to_string();
    assert!(last < next, "{last} < {next}");
    for (args, param) in [
        (json!({"symbol": "AAPL", "bar": "1m"}), "bar:"),
        (json!({"symbol": "AAPL", "bar": "1min", "period": "1m"}), "period:"),
        (json!({"symbol": "AAPL", "bar": "5min", "days": 3}), "days:"),
        (json!({"symbol": "AAPL", "outside_rth": true}), "outside_rth:"),
        (json!({"symbol": "AAPL", "period": "fortnight"}), "period:"),
    ] {
        let a = call(&r, "price_history", args.clone()).await;
        assert_eq!(a.is_error, Some(true), "{args}");
        let m = a.structured_content.unwrap()["error"]["message"].as_str().unwrap().to_string();
        assert!(m.starts_with(param), "{args}: {m}");
    }
}

#[tokio::test]
async fn account_views_carry_todays_pnl_and_a_one_currency_book_shrugs_off_fx() {
    let sending = [("TRADING_DRY_RUN", "false"), ("ORDER_CONFIRMATION", "off"), ("ENFORCE_MARKET_HOURS", "false")];
    let r = rig_with_policy(settings(&Toolset::ALL, false), vec![], &sending).await;
    let b = call(&r, "buy", json!({"symbol": "AAPL", "quantity": "0.2"})).await;
    assert_ne!(b.is_error, Some(true), "{b:?}");
    for tool in ["account_summary", "portfolio"] {
        let d = call(&r, tool, json!({})).await.structured_content.unwrap()["data"].clone();
        let p = &d["daily_pnl"];
        assert!(p["daily"].as_str().is_some_and(|x| x.parse::<rust_decimal::Decimal>().is_ok()), "{tool}: {d}");
    }
    let br = call(&r, "briefing", json!({})).await.structured_content.unwrap()["data"].clone();
    assert!(br["summary"].as_str().unwrap().contains(" · today "), "{}", br["summary"]);
    let fx = call(&r, "fx_rate", json!({"from": "usd", "to": "EUR"})).await.structured_content.unwrap()["data"].clone();
    assert_eq!(fx["meaning"].as_str().unwrap(), format!("1 USD = {} EUR", fx["rate"].as_str().unwrap()));
    let bad = call(&r, "fx_rate", json!({"from": "dollars", "to": "EUR"})).await;
    assert!(bad.structured_content.unwrap()["error"]["message"].as_str().unwrap().starts_with("from:"));
    let s = call(&r, "stress_test", json!({"fx_shock": ["USD +5%"]})).await.structured_content.unwrap()["data"].clone();
    assert_eq!(s["fx"]["scenarios"][0]["loss"], "0", "{s}");
    assert!(s["fx"]["note"].as_str().unwrap().contains("everything is held in USD"), "{s}");
}
