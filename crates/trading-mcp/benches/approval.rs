//! What a person's approval adds on the server side, in process: rmcp's client over a duplex
//! pipe, the simulator behind. Compared: a `buy` with no approval; a `buy` whose elicitation
//! the client answers at once (the added cost is the form's round trip and the decision); and
//! the approval page's POST (checks, decision and placement) against the plain `buy`.
//! Run: `cargo bench -p trading-mcp --bench approval` (numbers go to BENCHMARKS.md).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is right

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use rmcp::{
    ClientHandler, ErrorData, RoleClient, ServiceExt,
    model::{
        CallToolRequestParams, ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult, ElicitationAction,
        Implementation,
    },
    service::{RequestContext, RunningService},
};
use serde_json::{Value, json};
use sim_venue::{SimConfig, SimVenue};
use test_support::{mcp_client::measure::summary, push_fakes::NtfyFake};
use trading_core::{
    broker::GuardedBroker,
    config::{Policy, PolicyKeys},
    journal::Journal,
    ports::{Clock, SystemClock, Venue},
};
use trading_mcp::{ServerSettings, TradingServer, approval::ApprovalSettings};

const N: usize = 300;
const WARMUP: usize = 30;

#[derive(Clone)]
struct Approver;

impl ClientHandler for Approver {
    async fn create_elicitation(
        &self,
        _r: ElicitRequestParams,
        _c: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        Ok(ElicitResult::new(ElicitationAction::Accept).with_content(json!({ "decision": "approve" })))
    }
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(ClientCapabilities::builder().enable_elicitation().build(), Implementation::new("bench", "1"))
    }
}

type Client = RunningService<RoleClient, Approver>;

async fn rig(
    dir: &std::path::Path,
    name: &str,
    policy: &[(&str, &str)],
    approval: ApprovalSettings,
) -> (Client, TradingServer) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let venue: Arc<dyn Venue> = Arc::new(SimVenue::new(SimConfig::default(), clock.clone()));
    let journal = Arc::new(Journal::open(&dir.join(format!("{name}.jsonl")), PolicyKeys::GENERIC.journal_tz).unwrap());
    let mut env = vec![
        ("TRADING_DRY_RUN", "false"),
        ("MAX_ORDER_VALUE", "off"),
        ("MAX_POSITION_VALUE", "off"),
        ("MAX_DAILY_VALUE", "off"),
        ("MAX_DAILY_ORDERS", "off"),
        ("DUPLICATE_WINDOW_SECONDS", "0"),
    ];
    env.extend_from_slice(policy);
    let policy = Policy::from_env(&test_support::orders::env(&env), PolicyKeys::GENERIC).unwrap();
    let broker = Arc::new(GuardedBroker::new(venue, policy, journal, clock));
    let settings = ServerSettings { approval, ..ServerSettings::in_process("bench") };
    let server = TradingServer::new(broker, settings);
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    let s = server.clone();
    tokio::spawn(async move {
        if let Ok(running) = s.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    (Approver.serve(client_io).await.unwrap(), server)
}

async fn call(c: &Client, tool: &str, args: Value) -> Value {
    let mut p = CallToolRequestParams::new(tool.to_string());
    p.arguments = args.as_object().cloned();
    c.call_tool(p).await.unwrap().structured_content.unwrap()
}

/// Preview (untimed), then the timed buy; its answer.
async fn timed_buy(c: &Client) -> (Duration, Value) {
    let p = call(c, "preview_order", json!({"symbol": "AAPL", "side": "BUY", "cash_amount": 20})).await;
    let args = json!({"symbol": "AAPL", "cash_amount": 20, "confirmation_token": p["data"]["confirmation_token"]});
    let t = Instant::now();
    let out = call(c, "buy", args).await;
    (t.elapsed(), out)
}

fn field(html: &str, name: &str) -> String {
    let at = html.find(&format!("name=\"{name}\"")).unwrap();
    let v = html[at..].find("value=\"").unwrap() + at + 7;
    html[v..v + html[v..].find('"').unwrap()].to_string()
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();

    let (plain, _) = rig(dir.path(), "plain", &[], ApprovalSettings::none()).await;
    let mut base = vec![];
    for i in 0..WARMUP + N {
        let (t, out) = timed_buy(&plain).await;
        assert_eq!(out["ok"], true, "{out}");
        if i >= WARMUP {
            base.push(t);
        }
    }

    let (elicit, _) = rig(dir.path(), "elicit", &[("TRADING_APPROVAL", "elicit")], ApprovalSettings::none()).await;
    let mut elicited = vec![];
    for i in 0..WARMUP + N {
        let (t, out) = timed_buy(&elicit).await;
        assert_eq!(out["data"]["status"], "placed", "{out}");
        if i >= WARMUP {
            elicited.push(t);
        }
    }

    let ntfy = NtfyFake::start().await.unwrap();
    let env = test_support::orders::env(&[
        ("APPROVAL_PUSH", "ntfy"),
        ("APPROVAL_NTFY_URL", ntfy.url.as_str()),
        ("APPROVAL_NTFY_TOPIC", "bench"),
    ]);
    let approval = ApprovalSettings::from_env(&trading_core::config::Settings(&env)).unwrap();
    let (web, server) = rig(dir.path(), "web", &[("TRADING_APPROVAL", "web")], approval).await;
    let bind = server.desk().settings.bind;
    trading_mcp::approval::page::serve_loopback(server.desk().clone(), bind, axum::Router::new()).await.unwrap();
    let http = reqwest::Client::new();
    let (mut held, mut posts) = (vec![], vec![]);
    for i in 0..WARMUP + N {
        let (t, out) = timed_buy(&web).await;
        assert_eq!(out["data"]["status"], "pending_approval", "{out}");
        let link = NtfyFake::view_link(&ntfy.wait_for(i + 1, Duration::from_secs(5)).await.unwrap()).unwrap();
        let (url, key) = link.split_once("#k=").unwrap();
        let origin = url.split("/approve").next().unwrap().to_string();
        let page = http.get(url).send().await.unwrap().text().await.unwrap();
        let form = [
            ("csrf", field(&page, "csrf")),
            ("key", key.to_string()),
            ("digest", field(&page, "digest")),
            ("decision", "approve".into()),
        ];
        let p = Instant::now();
        let r = http
            .post(url)
            .header("origin", origin)
            .header("sec-fetch-site", "same-origin")
            .form(&form)
            .send()
            .await
            .unwrap();
        let took = p.elapsed();
        let body = r.text().await.unwrap();
        assert!(body.contains("This order is placed"), "{body}");
        if i >= WARMUP {
            held.push(t);
            posts.push(took);
        }
    }

    summary("buy, no approval (guard, journal, simulator)", base);
    summary("buy answered by an elicitation (approve)", elicited);
    summary("buy held for the page (pending_approval + push)", held);
    summary("page POST approve -> placed (checks + placement)", posts);
}

fn main() {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt.block_on(run()),
        Err(e) => eprintln!("approval bench: {e}"),
    }
}
