//! Loopback fakes of the push services an approval goes through: ntfy's JSON publish API
//! (`POST /` with `{topic, title, message, actions}`, docs.ntfy.sh/publish/#publish-as-json)
//! and Telegram's Bot API (`/bot<token>/sendMessage`, `/getUpdates`, `/answerCallbackQuery`,
//! core.telegram.org/bots/api). They record what they were sent, and the Telegram fake hands
//! out the button presses a test queues.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::post,
};
use serde_json::{Value, json};

#[derive(Default)]
struct Seen {
    published: Vec<(Value, Option<String>)>,
    published_bodies: Vec<Value>,
    sent: Vec<Value>,
    answers: Vec<Value>,
    queued: Vec<Value>,
    next_update: i64,
    polls: u32,
}

/// ntfy on 127.0.0.1: every publish is kept with its Authorization header.
pub struct NtfyFake {
    pub url: String,
    seen: Arc<Mutex<Seen>>,
}

async fn serve(app: Router) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

fn lock(s: &Mutex<Seen>) -> std::sync::MutexGuard<'_, Seen> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

impl NtfyFake {
    pub async fn start() -> anyhow::Result<NtfyFake> {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let app = Router::new()
            .route(
                "/",
                post(|State(s): State<Arc<Mutex<Seen>>>, headers: HeaderMap, Json(body): Json<Value>| async move {
                    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
                    let mut g = lock(&s);
                    g.published.push((body.clone(), auth));
                    g.published_bodies.push(body.clone());
                    drop(g);
                    Json(json!({ "id": "fake1", "event": "message", "topic": body["topic"] }))
                }),
            )
            .with_state(seen.clone());
        let addr = serve(app).await?;
        Ok(NtfyFake { url: format!("http://{addr}"), seen })
    }

    /// Every publish so far: the JSON body and the Authorization header.
    pub fn published(&self) -> Vec<(Value, Option<String>)> {
        lock(&self.seen).published.clone()
    }

    /// Waits for the `n`th publish (1-based).
    pub async fn wait_for(&self, n: usize, within: Duration) -> anyhow::Result<Value> {
        wait_nth(&self.seen, |s| &s.published_bodies, n, within, "ntfy publish").await
    }

    /// The page link of a publish's "view" action.
    pub fn view_link(publish: &Value) -> Option<String> {
        publish["actions"].as_array()?.iter().find(|a| a["action"] == "view")?["url"].as_str().map(str::to_string)
    }
}

/// Waits until `list` of what a fake saw has an `n`th entry (1-based).
async fn wait_nth(
    seen: &Mutex<Seen>,
    list: impl Fn(&Seen) -> &Vec<Value>,
    n: usize,
    within: Duration,
    what: &str,
) -> anyhow::Result<Value> {
    let until = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = list(&lock(seen)).get(n - 1) {
            return Ok(v.clone());
        }
        if tokio::time::Instant::now() >= until {
            anyhow::bail!("fake: no {what} #{n} within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Telegram's Bot API on 127.0.0.1 for one bot token.
pub struct TelegramFake {
    pub url: String,
    seen: Arc<Mutex<Seen>>,
}

impl TelegramFake {
    pub async fn start(token: &str) -> anyhow::Result<TelegramFake> {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let token = token.to_string();
        let app = Router::new()
            .route(
                "/{bot}/{method}",
                post(
                    move |State(s): State<Arc<Mutex<Seen>>>,
                          Path((bot, method)): Path<(String, String)>,
                          Json(body): Json<Value>| {
                        let token = token.clone();
                        async move {
                            if bot != format!("bot{token}") {
                                return (
                                    StatusCode::UNAUTHORIZED,
                                    Json(json!({ "ok": false, "error_code": 401, "description": "Unauthorized" })),
                                );
                            }
                            match method.as_str() {
                                "sendMessage" => {
                                    let mut g = lock(&s);
                                    g.sent.push(body);
                                    let id = g.sent.len();
                                    (StatusCode::OK, Json(json!({ "ok": true, "result": { "message_id": id } })))
                                }
                                "answerCallbackQuery" => {
                                    lock(&s).answers.push(body);
                                    (StatusCode::OK, Json(json!({ "ok": true, "result": true })))
                                }
                                "getUpdates" => {
                                    let offset = body["offset"].as_i64().unwrap_or(0);
                                    let ready = {
                                        let mut g = lock(&s);
                                        g.polls += 1;
                                        g.queued.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                                        g.queued.clone()
                                    };
                                    if ready.is_empty() {
                                        // A short hold stands in for the long poll.
                                        tokio::time::sleep(Duration::from_millis(100)).await;
                                    }
                                    (StatusCode::OK, Json(json!({ "ok": true, "result": ready })))
                                }
                                _ => (StatusCode::NOT_FOUND, Json(json!({ "ok": false, "description": "Not Found" }))),
                            }
                        }
                    },
                ),
            )
            .with_state(seen.clone());
        let addr = serve(app).await?;
        Ok(TelegramFake { url: format!("http://{addr}"), seen })
    }

    pub fn sent(&self) -> Vec<Value> {
        lock(&self.seen).sent.clone()
    }

    pub fn answers(&self) -> Vec<Value> {
        lock(&self.seen).answers.clone()
    }

    /// Waits for the `n`th sendMessage (1-based).
    pub async fn wait_sent(&self, n: usize, within: Duration) -> anyhow::Result<Value> {
        wait_nth(&self.seen, |s| &s.sent, n, within, "sendMessage").await
    }

    /// Waits for the `n`th answerCallbackQuery (1-based).
    pub async fn wait_answer(&self, n: usize, within: Duration) -> anyhow::Result<Value> {
        wait_nth(&self.seen, |s| &s.answers, n, within, "answerCallbackQuery").await
    }

    /// Queues a press of the button carrying `data` by user `from` in chat `chat`.
    pub fn press(&self, data: &str, from: i64, chat: i64) {
        let mut g = lock(&self.seen);
        g.next_update += 1;
        let id = g.next_update;
        g.queued.push(json!({
            "update_id": id,
            "callback_query": {
                "id": format!("cb{id}"),
                "from": { "id": from, "is_bot": false, "first_name": "Tester" },
                "message": { "message_id": 1, "chat": { "id": chat, "type": "private" } },
                "chat_instance": "1",
                "data": data,
            }
        }));
    }

    /// The callback data of a sent message's buttons, by label.
    pub fn button(message: &Value, label: &str) -> Option<String> {
        message["reply_markup"]["inline_keyboard"]
            .as_array()?
            .iter()
            .flat_map(|row| row.as_array().cloned().unwrap_or_default())
            .find(|b| b["text"] == label)?["callback_data"]
            .as_str()
            .map(str::to_string)
    }
}
