//! Phone push: ntfy (a message with a "view" action to the approval page) or Telegram (a
//! message with Approve/Reject buttons, answered by long-polling `getUpdates`, so no public
//! URL is needed). Every message repeats the fingerprint the agent shows in chat. Topics and
//! tokens are secrets: never in logs, errors or tool output (reqwest errors drop their URL).

use std::{sync::Arc, time::Duration};

use serde_json::{Value, json};
use trading_core::{
    approval::Approval,
    broker::{Decision, GuardedBroker},
    config::{ConfigError, Secret, Settings},
};

/// Where pushes go.
#[derive(Clone, Debug)]
pub enum PushConfig {
    Ntfy { url: url::Url, topic: Secret, token: Option<Secret> },
    Telegram { api: url::Url, bot_token: Secret, chat_id: i64 },
}

fn http_url(key: &'static str, raw: &str) -> Result<url::Url, ConfigError> {
    url::Url::parse(raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| ConfigError::new(key, format!("'{raw}' is not an http(s) URL")))
}

impl PushConfig {
    pub fn from_env(s: &Settings<'_>) -> Result<Option<Self>, ConfigError> {
        let need = |key: &'static str, what: &str| {
            s.get(key)
                .map(str::to_string)
                .ok_or_else(|| ConfigError::new(key, format!("is required with APPROVAL_PUSH={what}")))
        };
        match s.get("APPROVAL_PUSH").map(str::to_ascii_lowercase).as_deref() {
            None | Some("none") => Ok(None),
            Some("ntfy") => Ok(Some(PushConfig::Ntfy {
                url: http_url("APPROVAL_NTFY_URL", s.get("APPROVAL_NTFY_URL").unwrap_or("https://ntfy.sh"))?,
                topic: Secret::new(need("APPROVAL_NTFY_TOPIC", "ntfy")?),
                token: s.get("APPROVAL_NTFY_TOKEN").map(Secret::new),
            })),
            Some("telegram") => {
                let chat = need("APPROVAL_TELEGRAM_CHAT_ID", "telegram")?;
                let chat_id = chat.parse().map_err(|_| {
                    ConfigError::new(
                        "APPROVAL_TELEGRAM_CHAT_ID",
                        format!("'{chat}' is not a Telegram chat id (a number)"),
                    )
                })?;
                Ok(Some(PushConfig::Telegram {
                    api: http_url(
                        "APPROVAL_TELEGRAM_API_URL",
                        s.get("APPROVAL_TELEGRAM_API_URL").unwrap_or("https://api.telegram.org"),
                    )?,
                    bot_token: Secret::new(need("APPROVAL_TELEGRAM_BOT_TOKEN", "telegram")?),
                    chat_id,
                }))
            }
            Some(v) => Err(ConfigError::new("APPROVAL_PUSH", format!("'{v}' is not ntfy or telegram (or empty)"))),
        }
    }
}

/// Why a push failed (no URL, no token, no topic in it).
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("{0}")]
    Http(String),
    #[error("the push service answered {0}")]
    Status(u16),
}

fn http_err(e: reqwest::Error) -> PushError {
    PushError::Http(e.without_url().to_string())
}

/// Sends pushes and, for Telegram, reads the button presses.
pub struct Pusher {
    cfg: PushConfig,
    http: reqwest::Client,
}

impl Pusher {
    pub fn new(cfg: PushConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(40))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Pusher { cfg, http }
    }

    /// ntfy's message carries the page link; Telegram's buttons decide on their own.
    pub fn carries_links(&self) -> bool {
        matches!(self.cfg, PushConfig::Ntfy { .. })
    }

    /// Telegram's buttons are answered by this server's own poll of getUpdates.
    pub fn answers_itself(&self) -> bool {
        matches!(self.cfg, PushConfig::Telegram { .. })
    }

    fn telegram(&self, method: &str) -> Option<url::Url> {
        match &self.cfg {
            // Not Url::join: "bot123:abc" would read as a URL scheme.
            PushConfig::Telegram { api, bot_token, .. } => {
                url::Url::parse(&format!("{}/bot{}/{method}", api.as_str().trim_end_matches('/'), bot_token.expose()))
                    .ok()
            }
            PushConfig::Ntfy { .. } => None,
        }
    }

    async fn post(&self, url: url::Url, body: &Value, bearer: Option<&Secret>) -> Result<Value, PushError> {
        let mut req = self.http.post(url).json(body);
        if let Some(t) = bearer {
            req = req.bearer_auth(t.expose());
        }
        let resp = req.send().await.map_err(http_err)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(PushError::Status(status.as_u16()));
        }
        resp.json().await.map_err(http_err)
    }

    /// One message about `a`; `link` is the page (with its key) where the phone can open it.
    pub async fn send(&self, a: &Approval, link: Option<&str>) -> Result<(), PushError> {
        let text = super::summary(a);
        match &self.cfg {
            PushConfig::Ntfy { url, topic, token } => {
                let mut body = json!({
                    "topic": topic.expose(),
                    "title": format!("Approve {} order? {}", a.shown.banner, a.fingerprint),
                    "message": format!("{text}\nExpires {}", a.expires_at.format("%H:%M:%S UTC")),
                    "priority": 4,
                    "tags": ["moneybag"],
                });
                if let Some(l) = link {
                    body["actions"] =
                        json!([{ "action": "view", "label": "Review and approve", "url": l, "clear": true }]);
                }
                self.post(url.clone(), &body, token.as_ref()).await.map(|_| ())
            }
            PushConfig::Telegram { chat_id, .. } => {
                let Some(url) = self.telegram("sendMessage") else { return Ok(()) };
                let body = json!({
                    "chat_id": chat_id,
                    "text": format!("{text}\nExpires {}", a.expires_at.format("%H:%M:%S UTC")),
                    "reply_markup": { "inline_keyboard": [[
                        { "text": "Approve", "callback_data": format!("a:{}:{}", a.id, &a.digest[..16]) },
                        { "text": "Reject", "callback_data": format!("r:{}", a.id) },
                    ]]},
                });
                self.post(url, &body, None).await.map(|_| ())
            }
        }
    }

    /// Long-polls Telegram for button presses and decides on them, for as long as the server
    /// runs. Only presses by the configured chat, in that chat, count.
    pub async fn run_telegram(self: Arc<Self>, broker: Arc<GuardedBroker>, poll_seconds: u64) {
        let PushConfig::Telegram { chat_id, .. } = self.cfg else { return };
        let mut offset: i64 = 0;
        loop {
            let Some(url) = self.telegram("getUpdates") else { return };
            let body = json!({ "offset": offset, "timeout": poll_seconds, "allowed_updates": ["callback_query"] });
            let updates = match self.post(url, &body, None).await {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!("Telegram getUpdates failed: {e}; retrying in 5 s");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
            };
            for u in updates.get("result").and_then(Value::as_array).cloned().unwrap_or_default() {
                if let Some(id) = u.get("update_id").and_then(Value::as_i64) {
                    offset = offset.max(id + 1);
                }
                let Some(cb) = u.get("callback_query") else { continue };
                let answer = self.on_button(&broker, cb, chat_id).await;
                if let (Some(qid), Some(url)) =
                    (cb.get("id").and_then(Value::as_str), self.telegram("answerCallbackQuery"))
                {
                    let _ = self.post(url, &json!({ "callback_query_id": qid, "text": answer }), None).await;
                }
            }
        }
    }

    async fn on_button(&self, broker: &GuardedBroker, cb: &Value, chat_id: i64) -> String {
        let from = cb.pointer("/from/id").and_then(Value::as_i64);
        let chat = cb.pointer("/message/chat/id").and_then(Value::as_i64);
        if from != Some(chat_id) || chat != Some(chat_id) {
            tracing::warn!(from = ?from, "a Telegram button press from someone else was ignored");
            return "Not yours to approve.".into();
        }
        let data = cb.get("data").and_then(Value::as_str).unwrap_or_default();
        let by = format!("telegram:{chat_id}");
        let outcome = match data.split(':').collect::<Vec<_>>().as_slice() {
            ["a", id, digest] => broker.decide(id, Decision::Approve, &by, Some(digest)).await,
            ["r", id] => broker.decide(id, Decision::Reject("rejected on the phone".into()), &by, None).await,
            _ => return "Unknown button.".into(),
        };
        match outcome {
            Ok(a) => format!("{}: {}", a.state.as_str(), a.reason.unwrap_or_else(|| super::order_line(&a.order))),
            Err(e) => e.message,
        }
    }
}
