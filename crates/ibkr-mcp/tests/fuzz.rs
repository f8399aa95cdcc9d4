//! The tool surface fuzzed through the real binary over stdio: random tools (real names and
//! others) with argument objects built from each tool's own schema (its parameters, misspelled
//! ones and strangers; numbers, strings, nulls, lists, nested objects). Every call must be
//! answered, every answer must be the documented envelope (or a JSON-RPC error for an unknown
//! tool), and nothing may be sent while dry-run is on.
//!
//! CI runs a small budget; a long run: `FUZZ_CASES=20000 cargo test -p ibkr-mcp --test fuzz --release`
//! (figures in RELIABILITY.md).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use std::process::Stdio;

use proptest::{prelude::*, strategy::ValueTree, test_runner::TestRunner};
use serde_json::{Map, Value, json};
use test_support::mcp_client::McpChild;

const BIN: &str = env!("CARGO_BIN_EXE_ibkr-mcp");
const CODES: &[&str] = &[
    "VALIDATION",
    "SAFETY_BLOCKED",
    "CONFIRMATION_REQUIRED",
    "SESSION_EXPIRED",
    "INDETERMINATE",
    "VENUE_ERROR",
    "UNSUPPORTED",
    "NOT_FOUND",
    "INTERNAL",
    "INSUFFICIENT_SCOPE",
];

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e12f64..1e12).prop_map(|f| json!(f)),
        "[A-Za-z0-9 ./:%-]{0,12}".prop_map(Value::String),
        prop_oneof![Just("AAPL"), Just("BUY"), Just("SELL"), Just("1e3"), Just("-5"), Just("0.000001"), Just("GTC")]
            .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn case(tools: Vec<(String, Vec<String>)>) -> impl Strategy<Value = (String, Value)> {
    let n = tools.len();
    (0..n + 1, prop::collection::vec((0usize..64, value(), 0u8..10), 0..6)).prop_map(move |(t, fields)| {
        let (name, params) = tools.get(t).cloned().unwrap_or_else(|| ("no_such_tool".into(), vec![]));
        let mut args = Map::new();
        for (i, v, kind) in fields {
            let key = match (params.is_empty(), kind) {
                (false, 0..=6) => params[i % params.len()].clone(),
                (false, 7) => format!("{}x", params[i % params.len()]),
                _ => format!("stranger{i}"),
            };
            args.insert(key, v);
        }
        (name, Value::Object(args))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fuzzed_call_is_answered_inside_the_envelope() {
    let cases: u32 = std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400);
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let j = journal.display().to_string();
    let client = McpChild::spawn(
        BIN.as_ref(),
        &[("TRADE_JOURNAL_PATH", j.as_str()), ("EQUITY_SAMPLE_SECONDS", "0"), ("LOG_LEVEL", "error")],
        Stdio::null(),
    )
    .await
    .unwrap();
    let tools: Vec<(String, Vec<String>)> = client
        .list_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| {
            let props =
                t.input_schema.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect());
            (t.name.to_string(), props.unwrap_or_default())
        })
        .collect();
    let mut runner = TestRunner::new(proptest::test_runner::Config { cases, ..Default::default() });
    let strategy = case(tools);
    let (mut answered, mut envelopes, mut protocol_errors) = (0u32, 0u32, 0u32);
    for _ in 0..cases {
        let (name, args) = strategy.new_tree(&mut runner).unwrap().current();
        let shown = format!("{name} {args}");
        let r = tokio::time::timeout(std::time::Duration::from_secs(30), client.call(&name, args))
            .await
            .unwrap_or_else(|_| panic!("no answer within 30 s: {shown}"));
        answered += 1;
        match r {
            Ok(a) => {
                envelopes += 1;
                assert!(a.body["ok"].is_boolean(), "not an envelope: {shown} -> {}", a.body);
                if a.is_error {
                    let code = a.body["error"]["code"].as_str().unwrap_or_default();
                    assert!(CODES.contains(&code), "undocumented code {code}: {shown} -> {}", a.body);
                    assert!(a.body.to_string().len() < 16_000, "error too long for {shown}");
                }
            }
            // Only an unknown tool may fail outside the envelope (JSON-RPC's own answer).
            Err(e) => {
                protocol_errors += 1;
                assert_eq!(name, "no_such_tool", "{shown}: {e}");
            }
        }
    }
    eprintln!("fuzz: {cases} calls, {answered} answered, {envelopes} envelopes, {protocol_errors} JSON-RPC errors");
    // Dry-run is the default: whatever the fuzzer sent, nothing left for a venue.
    let text = std::fs::read_to_string(&journal).unwrap_or_default();
    assert!(!text.lines().any(|l| l.contains("\"sent\":true")), "an order was sent");
}
