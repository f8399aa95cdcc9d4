//! The channels through which a person approves an order: MCP elicitation inside the tool
//! call (`elicit`), the approval page (`page`: a loopback listener in stdio mode, the HTTP
//! server's own routes in HTTP mode) and a phone push (`push`: ntfy or Telegram). They all end
//! in [`trading_core::broker::GuardedBroker::decide`]; no tool can approve.

use std::{
    net::SocketAddr,
    sync::{Arc, OnceLock},
};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use trading_core::{
    approval::{Approval, ApprovalState, Channel, Reach},
    broker::GuardedBroker,
    config::{ConfigError, Section, Setting, Settings},
    money::fmt_money,
    order::OrderIntent,
};

pub mod elicit;
pub mod page;
pub mod push;

pub const APPROVAL_SECTION: Section = Section {
    title: "Human approval (TRADING_APPROVAL / CRYPTO_APPROVAL choose the mode)",
    settings: &[
        Setting::new(
            "APPROVAL_TTL_SECONDS",
            "300",
            "How long a person has to approve an order (5..900 seconds); then it expires and nothing is sent.",
        )
        .number(),
        Setting::new(
            "APPROVAL_MAX_DRIFT_PCT",
            "1",
            "A market or stop order whose price moved more than this percent since the preview is not placed.",
        )
        .number(),
        Setting::new(
            "APPROVAL_MIN_VALUE",
            "",
            "Paper orders worth less than this skip approval (never on a live account). Empty: every order.",
        )
        .number(),
        Setting::new(
            "APPROVAL_BIND",
            "127.0.0.1:0",
            "Where the console and the approval page listen in stdio mode (loopback only; port 0 = any free
port, shown on stderr and by session_status). In HTTP mode the server serves them itself.",
        ),
        Setting::new(
            "APPROVAL_OPEN_BROWSER",
            "false",
            "true: open each approval page in the desktop's browser (xdg-open / open). Without it, the
person approves in the console (the order tool names its address) or from a push.",
        )
        .boolean(),
        Setting::secret(
            "APPROVAL_PIN",
            "A PIN the page asks for before approving (kept only as a hash; for machines where the agent has a shell).",
        ),
        Setting::new("APPROVAL_PUSH", "", "Phone push: ntfy or telegram. Empty: none.").one_of(&["ntfy", "telegram"]),
        Setting::new("APPROVAL_NTFY_URL", "https://ntfy.sh", "ntfy server; the topic and token are secrets."),
        Setting::secret("APPROVAL_NTFY_TOPIC", ""),
        Setting::secret("APPROVAL_NTFY_TOKEN", ""),
        Setting::secret(
            "APPROVAL_TELEGRAM_BOT_TOKEN",
            "Telegram bot (from @BotFather) and the chat (your user id) whose button presses count.",
        ),
        Setting::new("APPROVAL_TELEGRAM_CHAT_ID", "", ""),
        Setting::new("APPROVAL_TELEGRAM_API_URL", "https://api.telegram.org", ""),
    ],
};

/// The approval channels' settings, validated.
#[derive(Clone, Debug)]
pub struct ApprovalSettings {
    pub bind: SocketAddr,
    pub open_browser: bool,
    /// SHA-256 of APPROVAL_PIN.
    pub pin_sha256: Option<[u8; 32]>,
    pub push: Option<push::PushConfig>,
}

impl ApprovalSettings {
    pub fn from_env(s: &Settings<'_>) -> Result<Self, ConfigError> {
        let raw = s.get("APPROVAL_BIND").unwrap_or("127.0.0.1:0");
        let bind: SocketAddr = raw
            .parse()
            .map_err(|_| ConfigError::new("APPROVAL_BIND", format!("'{raw}' is not an address like 127.0.0.1:0")))?;
        if !bind.ip().is_loopback() {
            return Err(ConfigError::new(
                "APPROVAL_BIND",
                format!("{bind} is not loopback: the approval page listens on 127.0.0.1 or ::1 only"),
            ));
        }
        let pin_sha256 = match s.get("APPROVAL_PIN") {
            None => None,
            Some(p) if p.chars().count() >= 4 => Some(Sha256::digest(p.as_bytes()).into()),
            Some(_) => return Err(ConfigError::new("APPROVAL_PIN", "is too short: use at least 4 characters")),
        };
        Ok(ApprovalSettings {
            bind,
            open_browser: s.bool("APPROVAL_OPEN_BROWSER", false)?,
            pin_sha256,
            push: push::PushConfig::from_env(s)?,
        })
    }

    /// No channel at all (tests, and servers that never ask).
    pub fn none() -> Self {
        ApprovalSettings {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            open_browser: false,
            pin_sha256: None,
            push: None,
        }
    }
}

/// Where the page is served: its origin and the exact Host it answers to.
#[derive(Clone, Debug)]
pub struct PageOrigin {
    /// `http://127.0.0.1:PORT` (or the public URL in HTTP mode).
    pub origin: String,
    pub host: String,
    /// The page sits behind the owner's login (HTTP mode with OAuth).
    pub owner_login: bool,
}

impl PageOrigin {
    pub fn of(origin: &str, owner_login: bool) -> Option<PageOrigin> {
        let u = url::Url::parse(origin).ok()?;
        let host = match u.port() {
            Some(p) => format!("{}:{p}", u.host_str()?),
            None => u.host_str()?.to_string(),
        };
        Some(PageOrigin { origin: origin.trim_end_matches('/').to_string(), host, owner_login })
    }
}

/// The channels of one server: what can reach a person, and the announcements.
pub struct ApprovalDesk {
    pub(crate) broker: Arc<GuardedBroker>,
    pub settings: ApprovalSettings,
    pub(crate) page: OnceLock<PageOrigin>,
    pub(crate) push: Option<Arc<push::Pusher>>,
    /// Wrong PINs per approval (five reject it).
    pub(crate) wrong_pins: std::sync::Mutex<std::collections::HashMap<String, u8>>,
    /// The owner's login in HTTP mode with OAuth.
    pub(crate) owner: OnceLock<Arc<crate::oauth::OAuth>>,
    /// The console's per-process secret (its forms' CSRF tokens derive from it).
    pub(crate) console_secret: String,
}

impl std::fmt::Debug for ApprovalDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApprovalDesk").field("page", &self.page.get()).finish_non_exhaustive()
    }
}

impl ApprovalDesk {
    pub fn new(broker: Arc<GuardedBroker>, settings: ApprovalSettings) -> Arc<Self> {
        let push = settings.push.clone().map(|p| Arc::new(push::Pusher::new(p)));
        Arc::new(ApprovalDesk {
            broker,
            settings,
            page: OnceLock::new(),
            push,
            wrong_pins: Default::default(),
            owner: OnceLock::new(),
            console_secret: trading_core::approval::random_id(),
        })
    }

    /// What can reach a person for this call: the page is reachable whenever it is served
    /// (the console lists what waits, and a push or the desktop browser may bring the link).
    pub fn reach(&self, client_elicits: bool) -> Reach {
        Reach { client_elicits, web: self.page.get().is_some(), push: self.push.is_some() }
    }

    /// Whether `pin` is APPROVAL_PIN (true when none is set).
    pub(crate) fn pin_ok(&self, pin: Option<&str>) -> bool {
        match self.settings.pin_sha256 {
            None => true,
            Some(want) => {
                let got: [u8; 32] = Sha256::digest(pin.unwrap_or_default().as_bytes()).into();
                crate::oauth::same(&got, &want)
            }
        }
    }

    /// The PIN input of a form that approves or resumes, when APPROVAL_PIN is set.
    pub(crate) fn pin_field(&self) -> &'static str {
        if self.settings.pin_sha256.is_some() {
            "<label>PIN <input type=\"password\" name=\"pin\" inputmode=\"numeric\" autocomplete=\"off\"></label> "
        } else {
            ""
        }
    }

    /// Where the person approves without a link: the console's approvals.
    pub fn console_approvals(&self) -> Option<String> {
        self.page.get().map(|p| format!("{}/console/approvals", p.origin))
    }

    /// The page's address for session_status (no approval's link: those hold a key).
    pub fn page_address(&self) -> Option<String> {
        self.page.get().map(|p| p.origin.clone())
    }

    /// The link a person opens: the page with the one-time key in the fragment (never sent
    /// to a server, never logged, never in a tool result).
    pub fn link(&self, a: &Approval) -> Option<String> {
        self.page.get().map(|p| format!("{}/approve/{}#k={}", p.origin, a.id, a.secret))
    }

    /// Starts reading Telegram's button presses, when Telegram is the push.
    pub fn start_push_listener(&self) {
        if let Some(p) = &self.push
            && p.answers_itself()
        {
            tokio::spawn(p.clone().run_telegram(self.broker.clone(), 25));
        }
    }

    /// Tells the person: the page opened on the desktop, and the push.
    pub async fn announce(&self, a: &Approval) {
        if a.channel == Channel::Elicit {
            return;
        }
        let link = self.link(a);
        if self.settings.open_browser
            && let Some(l) = &link
        {
            open_browser(l);
        }
        if let Some(p) = &self.push
            && let Err(e) = p.send(a, link.as_deref()).await
        {
            tracing::warn!(approval = %a.id, "the approval push failed: {e}");
        }
    }
}

fn open_browser(link: &str) {
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    match std::process::Command::new(opener)
        .arg(link)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(_) => {}
        Err(e) => tracing::warn!("could not open the approval page with {opener}: {e}"),
    }
}

/// One line a person reads: `BUY 10 AAPL LMT 190 DAY` (with a bracket's exits).
pub fn order_line(o: &OrderIntent) -> String {
    let p = o.primary();
    let size = match (p.size.quantity(), p.size.cash()) {
        (Some(q), _) => q.normalize().to_string(),
        (None, Some(c)) => format!("${}", c.normalize()),
        _ => String::new(),
    };
    let mut s = format!("{} {size} {} {}", p.side, p.symbol, p.order_type.as_str());
    if let Some(l) = p.limit_price {
        s.push_str(&format!(" limit {l}"));
    }
    if let Some(st) = p.stop_price {
        s.push_str(&format!(" stop {st}"));
    }
    if let Some(t) = &p.trail {
        s.push_str(&format!(" trail {t:?}"));
    }
    s.push_str(&format!(" {}", p.tif.as_str()));
    if let OrderIntent::Bracket(b) = o {
        s.push_str(&format!(" + take-profit {} + stop-loss {}", b.take_profit, b.stop_loss));
    }
    s
}

/// The few lines every channel shows: banner, account, order, value, fingerprint.
pub fn summary(a: &Approval) -> String {
    let value = a
        .shown
        .estimated_value
        .map(|v| format!("\nEstimated value about {}", fmt_money(v, &a.shown.currency)))
        .unwrap_or_default();
    let fees =
        a.shown.estimated_fees.map(|v| format!(", fees about {}", fmt_money(v, &a.shown.currency))).unwrap_or_default();
    format!(
        "{} account {} ({})\n{}{value}{fees}\nFingerprint {} (the agent shows the same one)",
        a.shown.banner,
        a.shown.account_id.as_deref().unwrap_or("?"),
        a.shown.venue,
        order_line(&a.order),
        a.fingerprint
    )
}

/// An approval as the agent sees it: no link, no key.
pub fn view(a: &Approval) -> Value {
    let next = match a.state {
        ApprovalState::Pending | ApprovalState::Approved => format!(
            "Waiting for the person to approve {} on the {} account (fingerprint {}) via {}. Call wait_approval with this approval_id; tell the user to check the fingerprint.",
            order_line(&a.order),
            a.shown.banner,
            a.fingerprint,
            match a.channel {
                Channel::Elicit => "the client's prompt",
                Channel::Web => "the approval page",
                Channel::Push => "their phone",
            }
        ),
        ApprovalState::Placed => "Placed. Use wait_for_fill or order_status with the order_id.".into(),
        _ => "Nothing was sent. Preview again if the user still wants this order.".into(),
    };
    let mut v = json!({
        "status": match a.state {
            ApprovalState::Pending | ApprovalState::Approved => "pending_approval",
            s => s.as_str(),
        },
        "approval_id": a.id,
        "fingerprint": a.fingerprint,
        "channel": a.channel,
        "expires_at": a.expires_at,
        "order": order_line(&a.order),
        "next_step": next,
    });
    if let Some(r) = &a.reason {
        v["reason"] = json!(r);
    }
    if let Some(b) = &a.decided_by {
        v["decided_by"] = json!(b);
    }
    if !a.results.is_empty() {
        v["orders"] = json!(a.results);
    }
    v
}
