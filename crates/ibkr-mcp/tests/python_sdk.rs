//! The official MCP Python SDK (`mcp` on PyPI) as the client of the real `ibkr-mcp`: its
//! `elicitation_callback` plays the person answering the approval prompt (protocol 2025-11-25,
//! the SDK's handshake). The interpreter is `TRADEGATE_PYTHON`, else the workspace's
//! `.venv-mcp` (README set-up and `.ci/run` create it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ibkr-mcp");

fn python() -> PathBuf {
    test_support::python().expect(
        "the MCP Python SDK is needed: python3 -m venv .venv-mcp && .venv-mcp/bin/pip install mcp==2.3.0 (or set TRADEGATE_PYTHON)",
    )
}

/// Runs the SDK client with `answer`; its report and how many orders the journal says left.
fn run(answer: &str) -> (Value, usize) {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/elicit_client.py");
    let out = std::process::Command::new(python())
        .arg(script)
        .arg(BIN)
        .arg(&journal)
        .arg(answer)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "the Python client failed: {}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sent = std::fs::read_to_string(&journal).unwrap().lines().filter(|l| l.contains("\"kind\":\"intent\"")).count();
    (report, sent)
}

#[test]
fn the_python_sdk_approves_through_its_elicitation_callback() {
    let (r, sent) = run("approve");
    let prompts = r["prompts"].as_array().unwrap();
    assert_eq!(prompts.len(), 1, "{r}");
    assert!(prompts[0]["message"].as_str().unwrap().contains(r["fingerprint"].as_str().unwrap()));
    assert_eq!(prompts[0]["schema"]["required"], serde_json::json!(["decision"]));
    assert_eq!(r["buy"]["data"]["status"], "placed", "{r}");
    assert_eq!(r["buy"]["data"]["orders"][0]["client_order_id"], r["buy"]["data"]["approval_id"]);
    assert_eq!(sent, 1);
}

#[test]
fn the_python_sdk_declining_or_answering_wrong_sends_nothing() {
    for answer in ["reject", "decline", "cancel", "wrong"] {
        let (r, sent) = run(answer);
        assert_eq!(r["buy"]["data"]["status"], "rejected", "{answer}: {r}");
        assert_eq!(sent, 0, "{answer}");
    }
}

#[test]
fn the_python_sdk_validates_every_output_schema_and_the_list_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/outputs_client.py");
    let out = std::process::Command::new(python())
        .arg(script)
        .arg(BIN)
        .arg(dir.path().join("j.jsonl"))
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "the Python client failed: {}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["untitled"], serde_json::json!([]), "every tool has a title: {r}");
    let want = ["account_summary", "accounts", "cash_balances", "fx_rate", "get_quotes", "option_chain", "performance"];
    assert_eq!(r["with_schema"], serde_json::json!(want), "{r}");
    assert_eq!(r["validated"], r["with_schema"], "the SDK checked each result against its schema");
    let bytes = r["tools_list_bytes"].as_u64().unwrap();
    assert!(bytes < 40 * 1024, "tools/list is {bytes} bytes with every tool ({} tools)", r["tools"]);
}
