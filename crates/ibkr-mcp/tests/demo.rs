//! README's main job: `cargo run -p ibkr-mcp --bin tradegate-demo` walks the simulator from the
//! first quote to the journal. The demo itself runs here, against the real server binary, and
//! must finish every step.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::process::Command;

#[test]
fn the_demo_runs_every_step_to_the_end() {
    let out = Command::new(env!("CARGO_BIN_EXE_tradegate-demo"))
        .env("IBKR_MCP_BIN", env!("CARGO_BIN_EXE_ibkr-mcp"))
        .env_remove("TRADE_JOURNAL_PATH")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the demo failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("the journal (hash-chained JSON lines)"), "{stdout}");
    assert!(stdout.contains("option chain SPY, expiry") && stdout.contains("today's P&L"), "{stdout}");
    assert!(stdout.contains("wait_approval → PLACED  decided by approval page"), "{stdout}");
    assert!(stdout.contains("wait_approval → REJECTED: rejected by approval page"), "{stdout}");
    assert!(
        stdout.contains("done: every order was previewed, confirmed with a single-use token, guarded and journaled."),
        "{stdout}"
    );
}

#[test]
fn every_binary_answers_version_with_the_commit() {
    for bin in [
        env!("CARGO_BIN_EXE_ibkr-mcp"),
        env!("CARGO_BIN_EXE_ibkr-healthcheck"),
        env!("CARGO_BIN_EXE_ibkr-keepalive"),
        env!("CARGO_BIN_EXE_tradegate-demo"),
    ] {
        let out = Command::new(bin).arg("--version").output().unwrap();
        let line = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{bin}: {line}");
        assert!(line.contains(trading_mcp::launch::VERSION), "{bin} --version: {line}");
        let bad = Command::new(bin).arg("--no-such-flag").output().unwrap();
        assert_eq!(bad.status.code(), Some(2), "{bin}: an unknown flag is refused as any CLI refuses it");
    }
}
