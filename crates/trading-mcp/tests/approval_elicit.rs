//! Approval by elicitation with a real MCP client (rmcp's) in process, on both protocol
//! generations: 2025-11-25 (the server asks with `elicitation/create` inside the call) and
//! 2026-07-28 (the call answers `input_required`; rmcp's client asks and retries with the
//! answer and the echoed `requestState`). The "person" is the client's elicitation handler.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use rmcp::{
    ClientHandler, ErrorData, RoleClient, ServiceExt,
    model::{
        CallToolRequestParams, CallToolResponse, ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult,
        ElicitationAction, Implementation, ProtocolVersion,
    },
    service::{ClientLifecycleMode, ClientServiceExt, RequestContext, RunningService},
};
use serde_json::{Value, json};
use sim_venue::{SimConfig, SimVenue};
use trading_core::{
    broker::GuardedBroker,
    config::{Policy, PolicyKeys},
    journal::Journal,
    ports::{Clock, SystemClock, Venue},
};
use trading_mcp::{ServerSettings, TradingServer};

/// What the person does with the prompt.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Approve,
    Reject,
    Decline,
    Cancel,
    /// Accepts with content that is not a choice of approve.
    Wrong,
    /// Never answers.
    Silent,
}

#[derive(Clone)]
struct Person {
    answer: Answer,
    prompts: Arc<Mutex<Vec<String>>>,
}

impl ClientHandler for Person {
    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let ElicitRequestParams::FormElicitationParams { message, requested_schema, .. } = &request {
            let schema = serde_json::to_value(requested_schema).unwrap();
            assert_eq!(schema["required"], json!(["decision"]), "one required choice");
            assert!(schema["properties"]["decision"].get("default").is_none(), "no default choice");
            self.prompts.lock().unwrap().push(message.clone());
        }
        let accept = |v: Value| ElicitResult::new(ElicitationAction::Accept).with_content(v);
        Ok(match self.answer {
            Answer::Approve => accept(json!({ "decision": "approve" })),
            Answer::Reject => accept(json!({ "decision": "reject" })),
            Answer::Wrong => accept(json!({ "decision": "yes please" })),
            Answer::Decline => ElicitResult::new(ElicitationAction::Decline),
            Answer::Cancel => ElicitResult::new(ElicitationAction::Cancel),
            Answer::Silent => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                unreachable!()
            }
        })
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::builder().enable_elicitation().build(),
            Implementation::new("approval-test-client", "1.0"),
        )
    }
}

struct Rig {
    client: RunningService<RoleClient, Person>,
    person: Person,
    dir: tempfile::TempDir,
}

async fn rig(answer: Answer, modern: bool, policy: &[(&str, &str)]) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let venue: Arc<dyn Venue> = Arc::new(SimVenue::new(SimConfig::default(), clock.clone()));
    let journal = Arc::new(Journal::open(&dir.path().join("j.jsonl"), PolicyKeys::GENERIC.journal_tz).unwrap());
    let mut env = vec![("TRADING_DRY_RUN", "false"), ("TRADING_APPROVAL", "elicit")];
    env.extend_from_slice(policy);
    let policy = Policy::from_env(&test_support::orders::env(&env), PolicyKeys::GENERIC).unwrap();
    let broker = Arc::new(GuardedBroker::new(venue, policy, journal, clock));
    let settings = ServerSettings::in_process("test-mcp");
    let server = TradingServer::new(broker, settings);
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    let person = Person { answer, prompts: Arc::new(Mutex::new(vec![])) };
    let client = if modern {
        let lifecycle = ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] };
        person.clone().serve_with_lifecycle(client_io, lifecycle).await.unwrap()
    } else {
        person.clone().serve(client_io).await.unwrap()
    };
    Rig { client, person, dir }
}

fn params(tool: &str, args: Value) -> CallToolRequestParams {
    let mut p = CallToolRequestParams::new(tool.to_string());
    p.arguments = args.as_object().cloned();
    p
}

impl Rig {
    async fn call(&self, tool: &str, args: Value) -> Value {
        let r = self.client.call_tool(params(tool, args)).await.unwrap();
        r.structured_content.unwrap()
    }

    async fn preview(&self) -> Value {
        let p = self.call("preview_order", json!({"symbol": "AAPL", "side": "BUY", "cash_amount": 20})).await;
        p["data"].clone()
    }

    fn buy_args(p: &Value) -> Value {
        json!({"symbol": "AAPL", "cash_amount": 20, "confirmation_token": p["confirmation_token"]})
    }

    /// preview, then buy: the approval's outcome as the order tool answers it.
    async fn buy(&self) -> (Value, Value) {
        let p = self.preview().await;
        let out = self.call("buy", Self::buy_args(&p)).await;
        (p, out)
    }

    fn sent(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("j.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"kind\":\"intent\""))
            .count()
    }
}

async fn both(answer: Answer) -> Vec<(Rig, Value, Value)> {
    let mut out = vec![];
    for modern in [false, true] {
        let r = rig(answer, modern, &[]).await;
        let (p, o) = r.buy().await;
        out.push((r, p, o));
    }
    out
}

#[tokio::test]
async fn approved_in_the_prompt_the_server_places_it_on_both_protocols() {
    for (r, p, out) in both(Answer::Approve).await {
        assert_eq!(out["ok"], true, "{out}");
        let d = &out["data"];
        assert_eq!(d["status"], "placed", "{d}");
        assert_eq!(d["channel"], "elicit");
        assert_eq!(d["orders"][0]["client_order_id"], d["approval_id"]);
        assert!(d["decided_by"].as_str().unwrap().contains("approval-test-client"), "{d}");
        let prompts = r.person.prompts.lock().unwrap().clone();
        assert_eq!(prompts.len(), 1);
        assert!(prompts[0].contains(p["fingerprint"].as_str().unwrap()), "the prompt repeats the fingerprint");
        assert!(prompts[0].contains("BUY $20 AAPL MKT"), "{}", prompts[0]);
        assert_eq!(r.sent(), 1);
    }
}

#[tokio::test]
async fn anything_but_approve_is_a_rejection() {
    for answer in [Answer::Reject, Answer::Decline, Answer::Cancel, Answer::Wrong] {
        for (r, _, out) in both(answer).await {
            assert_eq!(out["data"]["status"], "rejected", "{answer:?}: {out}");
            assert!(out["data"]["reason"].as_str().unwrap().contains("nothing was sent"));
            assert_eq!(r.sent(), 0, "{answer:?}");
        }
    }
}

#[tokio::test]
async fn an_unanswered_prompt_expires_into_a_rejection() {
    let r = rig(Answer::Silent, false, &[("APPROVAL_TTL_SECONDS", "5")]).await;
    let (_, out) = r.buy().await;
    assert_eq!(out["data"]["status"], "rejected", "{out}");
    assert!(out["data"]["reason"].as_str().unwrap().contains("no answer"), "{out}");
    assert_eq!(r.sent(), 0);
}

#[tokio::test]
async fn a_forged_or_missing_request_state_sends_nothing_and_a_replay_nothing_more() {
    let r = rig(Answer::Approve, true, &[]).await;
    let p = r.preview().await;
    let first = r.client.peer().call_tool_once(params("buy", Rig::buy_args(&p))).await.unwrap();
    let CallToolResponse::InputRequired(asked) = first else { panic!("no input_required on 2026-07-28") };
    let state = asked.request_state.clone().unwrap();
    assert!(!serde_json::to_string(&asked).unwrap().contains("http"), "no link in the form");
    let yes: rmcp::model::InputResponses =
        [("approval".to_string(), json!({ "action": "accept", "content": { "decision": "approve" } }))].into();

    let retry = |state: Option<String>| {
        let mut q = params("buy", Rig::buy_args(&p));
        q.request_state = state;
        q.input_responses = Some(yes.clone());
        r.client.peer().call_tool_once(q)
    };
    let body = |resp: CallToolResponse| match resp {
        CallToolResponse::Complete(c) => c.structured_content.unwrap(),
        other => panic!("not complete: {other:?}"),
    };
    let forged = body(retry(Some("00000000000000000000000000000000".into())).await.unwrap());
    assert_eq!(forged["ok"], false);
    assert!(forged["error"]["message"].as_str().unwrap().contains("forged"), "{forged}");
    let missing = body(retry(None).await.unwrap());
    assert!(missing["error"]["message"].as_str().unwrap().contains("without the requestState"), "{missing}");
    assert_eq!(r.sent(), 0);

    let placed = body(retry(Some(state.clone())).await.unwrap());
    assert_eq!(placed["data"]["status"], "placed", "{placed}");
    let replay = body(retry(Some(state)).await.unwrap());
    assert_eq!(replay["data"]["status"], "placed");
    assert_eq!(r.sent(), 1, "a replayed answer sends nothing more");
}
