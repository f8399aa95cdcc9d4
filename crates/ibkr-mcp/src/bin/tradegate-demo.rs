//! `tradegate-demo`: starts the real `ibkr-mcp` binary on the simulator, talks to it over
//! stdio as an MCP client, and walks through a safe trading session.

use std::{path::PathBuf, process::Stdio};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use test_support::mcp_client::{McpChild, ToolAnswer};

/// Finds `ibkr-mcp` next to this binary, rebuilding it first when run through cargo so the
/// demo never drives a stale server.
fn server_binary() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("IBKR_MCP_BIN") {
        return Ok(PathBuf::from(p));
    }
    let me = std::env::current_exe().context("cannot locate the demo binary")?;
    let bin = me.with_file_name("ibkr-mcp");
    if let Ok(cargo) = std::env::var("CARGO") {
        let release = me.components().any(|c| c.as_os_str() == "release");
        let mut cmd = std::process::Command::new(cargo);
        // This package's own name, so a rename cannot leave the demo building something else.
        cmd.args(["build", "--quiet", "-p", env!("CARGO_PKG_NAME"), "--bin", "ibkr-mcp"]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().context("cannot run cargo to build ibkr-mcp")?;
        if !status.success() {
            bail!("building ibkr-mcp failed");
        }
    }
    if !bin.exists() {
        bail!("{} not found: build it with `cargo build -p ibkr-mcp`, or set IBKR_MCP_BIN", bin.display());
    }
    Ok(bin)
}

fn step(n: u32, title: &str) {
    println!("\n── {n}. {title} {}", "─".repeat(60usize.saturating_sub(title.len())));
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn show_error(a: &ToolAnswer) {
    let e = a.error();
    println!("   REFUSED [{}] {}", s(&e["code"]), s(&e["message"]));
    if !e["rule"].is_null() {
        println!("   rule: {}   setting: {}", s(&e["rule"]), s(&e["setting"]));
    }
}

async fn must(c: &McpChild, tool: &str, args: Value) -> anyhow::Result<Value> {
    let a = c.call(tool, args).await?;
    if a.is_error {
        show_error(&a);
        bail!("{tool} failed unexpectedly");
    }
    Ok(a.data().clone())
}

async fn preview(c: &McpChild, args: Value) -> anyhow::Result<String> {
    let p = must(c, "preview_order", args).await?;
    let vp = &p["venue_preview"];
    println!(
        "   preview: est. price {}  qty {}  value {}  commission {}  cash after {}",
        s(&vp["estimated_price"]),
        s(&vp["estimated_quantity"]),
        s(&vp["estimated_value"]),
        s(&vp["commission"]),
        s(&vp["cash_after"])
    );
    println!("   guard checks passed: {}", p["evaluation"]["checks"].as_array().map(|a| a.len()).unwrap_or(0));
    let tok = s(&p["confirmation_token"]);
    println!("   confirmation_token: {tok} (single-use, expires {})", s(&p["expires_at"]));
    Ok(tok)
}

fn show_order(o: &Value) {
    println!(
        "   order {}: {} {} {} {} → {}  filled {} @ {}  {}",
        s(&o["order_id"]),
        s(&o["side"]),
        s(&o["order_type"]),
        s(&o["quantity"]),
        s(&o["symbol"]),
        s(&o["status"]).to_uppercase(),
        s(&o["filled_quantity"]),
        s(&o["avg_price"]),
        s(&o["message"])
    );
}

async fn run() -> anyhow::Result<()> {
    let bin = server_binary()?;
    let dir = std::env::temp_dir().join(format!("tradegate-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let journal = dir.join("trades.jsonl");
    let journal_s = journal.display().to_string();
    let env = [
        ("IBKR_BACKEND", "sim"),
        ("SIM_SEED", "7"),
        ("TRADE_JOURNAL_PATH", journal_s.as_str()),
        ("TRADING_DRY_RUN", "false"),
        ("LOG_LEVEL", "warn"),
    ];
    println!("tradegate demo: an MCP client driving the real ibkr-mcp binary over stdio");
    println!("server: {}", bin.display());
    println!(
        "settings: IBKR_BACKEND=sim SIM_SEED=7 TRADING_DRY_RUN=false (the simulator's paper money), defaults for every cap"
    );
    let c = McpChild::spawn(&bin, &env, Stdio::inherit()).await?;

    step(1, "tools the server offers");
    for t in c.list_tools().await? {
        let a = t.annotations.as_ref();
        let kind = match (a.and_then(|a| a.read_only_hint), a.and_then(|a| a.destructive_hint)) {
            (Some(true), _) => "read-only",
            (_, Some(true)) => "DESTRUCTIVE",
            _ => "writes journal",
        };
        println!("   {:<18} {kind}", t.name);
    }

    step(2, "session status");
    let st = must(&c, "session_status", json!({})).await?;
    println!(
        "   venue: {}   account: {} {}",
        s(&st["venue"]),
        s(&st["identity"]["account_id"]),
        s(&st["account_type"])
    );
    println!("   {}", s(&st["notice"]));
    let p = &st["posture"];
    println!(
        "   dry_run={}  confirmation={}  max order {}  daily budget left {}",
        p["dry_run"],
        s(&p["order_confirmation"]),
        s(&p["max_order_value"]),
        s(&p["remaining_daily_budget"])
    );

    step(3, "quote AAPL");
    let q = must(&c, "get_quote", json!({"symbol": "AAPL"})).await?;
    println!("   AAPL last {}  bid {}  ask {}", s(&q["last"]), s(&q["bid"]), s(&q["ask"]));

    step(4, "preview, then buy $50 of AAPL with the token");
    let buy = json!({"symbol": "AAPL", "cash_amount": 50});
    let tok = preview(&c, buy.clone()).await?;
    let mut args = buy.clone();
    args["confirmation_token"] = json!(tok);
    let o = must(&c, "buy", args.clone()).await?;
    show_order(&o);

    step(5, "the same token again is refused");
    let a = c.call("buy", args).await?;
    show_error(&a);

    let held = must(&c, "positions", json!({})).await?;
    let qty: rust_decimal::Decimal = held[0]["quantity"].as_str().unwrap_or("0").parse()?;
    let last: rust_decimal::Decimal = held[0]["market_price"].as_str().unwrap_or("0").parse()?;
    let half = (qty / rust_decimal::Decimal::TWO).round_dp(4);
    println!("   holding {qty} AAPL");

    step(6, "a limit sell above the market (rests)");
    let lmt = json!({"symbol": "AAPL", "quantity": half.to_string(), "limit_price": (last * rust_decimal::Decimal::new(105, 2)).round_dp(2).to_string()});
    let tok = preview(
        &c,
        json!({"symbol": "AAPL", "side": "SELL", "quantity": lmt["quantity"], "limit_price": lmt["limit_price"]}),
    )
    .await?;
    let mut args = lmt.clone();
    args["confirmation_token"] = json!(tok);
    let limit_order = must(&c, "sell", args).await?;
    show_order(&limit_order);

    step(7, "a protective stop below the market (GTC)");
    let stop = json!({"symbol": "AAPL", "side": "SELL", "quantity": (qty - half).to_string(), "stop_price": (last * rust_decimal::Decimal::new(95, 2)).round_dp(2).to_string(), "tif": "GTC"});
    let tok = preview(&c, stop.clone()).await?;
    let mut args = stop.clone();
    args["confirmation_token"] = json!(tok);
    let stop_order = must(&c, "stop_order", args).await?;
    show_order(&stop_order);

    step(8, "an order above the value cap is refused");
    let a = c.call("preview_order", json!({"symbol": "MSFT", "cash_amount": 500})).await?;
    show_error(&a);

    step(9, "open orders, then cancel them");
    let open = must(&c, "open_orders", json!({})).await?;
    for o in open.as_array().into_iter().flatten() {
        show_order(o);
        let r = must(&c, "cancel_order", json!({"order_id": o["order_id"]})).await?;
        println!("   cancel {} → {}", s(&r["order_id"]), s(&r["status"]));
    }

    step(10, "close the position");
    let a = c.call("close_position", json!({"symbol": "AAPL"})).await?;
    show_error(&a);
    let tok = preview(&c, json!({"symbol": "AAPL", "side": "SELL", "quantity": qty.to_string()})).await?;
    let r = must(&c, "close_position", json!({"symbol": "AAPL", "confirmation_token": tok})).await?;
    show_order(&r["result"]);
    let pos = must(&c, "positions", json!({})).await?;
    println!("   positions now: {}", pos.as_array().map(|a| a.len()).unwrap_or(0));

    step(11, "an analyst's view: buy a small book, then ask for the briefing");
    for sym in ["MSFT", "KO"] {
        let tok = preview(&c, json!({"symbol": sym, "cash_amount": 60})).await?;
        let o = must(&c, "buy", json!({"symbol": sym, "cash_amount": 60, "confirmation_token": tok})).await?;
        show_order(&o);
    }
    let b = must(&c, "briefing", json!({"compact": true})).await?;
    println!("   {}", s(&b["summary"]));
    let r = must(&c, "risk_report", json!({"lookback_days": 60})).await?;
    println!(
        "   1-day VaR 95% {} (historical {}), weighted beta vs SPY {}",
        s(&r["one_day_var"]["parametric_95"]),
        s(&r["one_day_var"]["historical_95"]),
        s(&r["beta"]["weighted"])
    );
    let a = must(&c, "account_summary", json!({})).await?;
    let perf = must(&c, "performance", json!({"period": "MTD"})).await?;
    println!("   today's P&L {}, month to date {}%", s(&a["daily_pnl"]["daily"]), s(&perf["return_pct"]));
    let chain = must(&c, "option_chain", json!({"symbol": "SPY", "strikes_around_money": 1})).await?;
    println!("   option chain SPY, expiry {} (underlying {}):", s(&chain["expiry"]), s(&chain["underlying_price"]));
    for k in chain["contracts"].as_array().into_iter().flatten() {
        println!(
            "     {:<24} bid {:<7} ask {:<7} delta {:<8} IV {}%",
            s(&k["symbol"]),
            s(&k["bid"]),
            s(&k["ask"]),
            s(&k["delta"]),
            s(&k["implied_vol_pct"])
        );
    }

    step(12, "the journal (hash-chained JSON lines)");
    let h = must(&c, "trade_history", json!({"limit": 200})).await?;
    for r in h["journal"].as_array().into_iter().flatten() {
        println!(
            "   {:<10} {:<4} {:<5} {:<10} {:<9} {}",
            s(&r["kind"]),
            s(&r["side"]),
            s(&r["symbol"]),
            s(&r["order_type"]),
            s(&r["status"]),
            s(&r["message"]).chars().take(70).collect::<String>()
        );
    }
    println!("   file: {}", journal.display());
    c.shutdown().await?;

    approvals(&bin, &dir).await?;
    println!("\ndone: every order was previewed, confirmed with a single-use token, guarded and journaled.");
    Ok(())
}

/// A preview then a buy that waits for a person: the pending approval as the agent sees it.
async fn held_buy(c: &McpChild, symbol: &str, cash: u32) -> anyhow::Result<Value> {
    let p = must(c, "preview_order", json!({"symbol": symbol, "side": "BUY", "cash_amount": cash})).await?;
    println!("   preview fingerprint {} (the agent shows it to the user)", s(&p["fingerprint"]));
    let args = json!({"symbol": symbol, "cash_amount": cash, "confirmation_token": p["confirmation_token"]});
    let a = must(c, "buy", args).await?;
    println!(
        "   buy → {}  approval {}  fingerprint {}  via {}  (no link in the answer: the agent cannot open it)",
        s(&a["status"]).to_uppercase(),
        s(&a["approval_id"]),
        s(&a["fingerprint"]),
        s(&a["channel"])
    );
    Ok(a)
}

/// A person says yes (or no) on the approval page: a second server with TRADING_APPROVAL=web
/// sends each approval's link to the person's phone (ntfy; here a local stand-in), and the
/// "person" submits the page's own form as a browser does.
async fn approvals(bin: &std::path::Path, dir: &std::path::Path) -> anyhow::Result<()> {
    let phone = test_support::push_fakes::NtfyFake::start().await?;
    let journal = dir.join("approvals.jsonl").display().to_string();
    let env = [
        ("IBKR_BACKEND", "sim"),
        ("SIM_SEED", "7"),
        ("TRADE_JOURNAL_PATH", journal.as_str()),
        ("TRADING_DRY_RUN", "false"),
        ("TRADING_APPROVAL", "web"),
        ("APPROVAL_PUSH", "ntfy"),
        ("APPROVAL_NTFY_URL", phone.url.as_str()),
        ("APPROVAL_NTFY_TOPIC", "demo-approvals"),
        ("LOG_LEVEL", "warn"),
    ];
    let c = McpChild::spawn(bin, &env, Stdio::inherit()).await?;
    let st = must(&c, "session_status", json!({})).await?;
    println!("\nsettings: TRADING_APPROVAL=web APPROVAL_PUSH=ntfy (a local stand-in for the phone)");
    println!("   approval mode {}  page {}", s(&st["approval"]["mode"]), s(&st["approval"]["page"]));

    step(13, "a person approves an order on the approval page");
    let a = held_buy(&c, "AAPL", 40).await?;
    let push = phone.wait_for(1, std::time::Duration::from_secs(10)).await?;
    println!("   phone: \"{}\"", s(&push["title"]));
    let link = test_support::push_fakes::NtfyFake::view_link(&push).context("the push has no link")?;
    let (status, _) = test_support::approval_page::answer(&link, "approve").await?;
    println!("   the person checks the fingerprint and presses Approve (HTTP {status})");
    let done = must(&c, "wait_approval", json!({"approval_id": a["approval_id"], "timeout_seconds": 10})).await?;
    println!("   wait_approval → {}  decided by {}", s(&done["status"]).to_uppercase(), s(&done["decided_by"]));
    if let Some(o) = done["orders"].get(0) {
        show_order(o);
    }

    step(14, "a person rejects one");
    let a = held_buy(&c, "MSFT", 30).await?;
    let push = phone.wait_for(2, std::time::Duration::from_secs(10)).await?;
    let link = test_support::push_fakes::NtfyFake::view_link(&push).context("the push has no link")?;
    test_support::approval_page::answer(&link, "reject").await?;
    let done = must(&c, "wait_approval", json!({"approval_id": a["approval_id"], "timeout_seconds": 10})).await?;
    println!("   wait_approval → {}: {}", s(&done["status"]).to_uppercase(), s(&done["reason"]));
    if done["status"] != "rejected" || !done["orders"].is_null() {
        bail!("the rejected order was not refused");
    }
    c.shutdown().await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    if let Some(code) = trading_mcp::launch::helper_cli(
        "tradegate-demo",
        "Walks the simulator through quotes, guarded orders, analytics and the journal, driving the real ibkr-mcp",
    ) {
        return code;
    }
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tradegate-demo: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tradegate-demo: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
