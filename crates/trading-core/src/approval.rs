//! Human approval of orders: the rules (which orders need a person's yes, through which
//! channel), the fingerprint that ties what the person sees to the exact order, and the store
//! of approvals waiting for an answer. The broker (`broker/approve.rs`) creates approvals and
//! places an order once a person approved it; the channels (an elicitation, the approval page,
//! a phone push) live with the server and only ever call [`crate::broker::GuardedBroker::decide`].

use std::{
    collections::HashMap,
    str::FromStr,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{
    config::{ConfigError, PolicyKeys, Settings, TradingMode},
    error::{ErrorCode, TradeError},
    order::{OrderIntent, OrderResult},
};

/// How orders are approved (TRADING_APPROVAL / CRYPTO_APPROVAL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalMode {
    /// No human step (simulator, paper and sandbox accounts only).
    None,
    /// MCP form elicitation: the host asks the person inside the tool call.
    Elicit,
    /// The approval page (a loopback listener, or the HTTP server behind the owner login).
    Web,
    /// A phone push (ntfy or Telegram).
    Push,
    /// Elicitation when the calling client declares it, else the page, else push.
    Auto,
}

impl ApprovalMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalMode::None => "none",
            ApprovalMode::Elicit => "elicit",
            ApprovalMode::Web => "web",
            ApprovalMode::Push => "push",
            ApprovalMode::Auto => "auto",
        }
    }
}

impl FromStr for ApprovalMode {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "none" => ApprovalMode::None,
            "elicit" => ApprovalMode::Elicit,
            "web" => ApprovalMode::Web,
            "push" => ApprovalMode::Push,
            "auto" => ApprovalMode::Auto,
            _ => return Err(()),
        })
    }
}

/// The channel one approval travels through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Elicit,
    Web,
    Push,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Elicit => "elicit",
            Channel::Web => "web",
            Channel::Push => "push",
        }
    }
}

/// What the server can reach for this call: the caller's elicitation support and the
/// channels configured at start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reach {
    pub client_elicits: bool,
    pub web: bool,
    pub push: bool,
}

/// The approval settings, validated.
#[derive(Clone, Debug)]
pub struct ApprovalPolicy {
    /// The key the mode is read from (TRADING_APPROVAL or CRYPTO_APPROVAL), for messages.
    pub key: &'static str,
    pub live_key: &'static str,
    /// As set; `None` when unset (auto on a live account, none otherwise).
    pub mode: Option<ApprovalMode>,
    /// A channel the agent cannot answer, forced for live accounts (web or push).
    pub live_channel: Option<Channel>,
    pub ttl_secs: u64,
    /// Market and stop orders whose price moved more than this (percent) since the preview
    /// are refused at approval.
    pub max_drift_pct: Decimal,
    /// Paper orders worth less skip approval (never on live).
    pub min_value: Option<Decimal>,
}

pub mod defaults {
    pub const TTL_SECONDS: u64 = 300;
    pub const MAX_DRIFT_PCT: rust_decimal::Decimal = rust_decimal::Decimal::ONE;
}

impl ApprovalPolicy {
    /// Reads the approval settings; a LIVE account with an explicit `none` is refused here, so
    /// the server does not start.
    pub fn from_env(s: &Settings<'_>, keys: &PolicyKeys, mode: TradingMode) -> Result<Self, ConfigError> {
        let parse_mode = |key: &'static str| -> Result<Option<ApprovalMode>, ConfigError> {
            s.get(key)
                .map(|v| {
                    v.parse()
                        .map_err(|_| ConfigError::new(key, format!("'{v}' is not none, elicit, web, push or auto")))
                })
                .transpose()
        };
        let approval = parse_mode(keys.approval)?;
        let live_channel = match parse_mode(keys.approval_live)? {
            None => None,
            Some(ApprovalMode::Web) => Some(Channel::Web),
            Some(ApprovalMode::Push) => Some(Channel::Push),
            Some(other) => {
                return Err(ConfigError::new(
                    keys.approval_live,
                    format!(
                        "'{}' is not a channel the agent cannot answer: use web or push (or leave it empty)",
                        other.as_str()
                    ),
                ));
            }
        };
        if mode == TradingMode::Live && approval == Some(ApprovalMode::None) {
            return Err(ConfigError::new(
                keys.approval,
                format!(
                    "none is refused with {}=live: a live account needs a person's approval (elicit, web, push or auto). Leave {} unset for auto.",
                    keys.trading_mode, keys.approval
                ),
            ));
        }
        let ttl_secs: u64 = s.parse("APPROVAL_TTL_SECONDS", defaults::TTL_SECONDS, "a whole number of seconds")?;
        if !(5..=900).contains(&ttl_secs) {
            return Err(ConfigError::new("APPROVAL_TTL_SECONDS", "must be between 5 and 900"));
        }
        let max_drift_pct = match s.get("APPROVAL_MAX_DRIFT_PCT") {
            None => defaults::MAX_DRIFT_PCT,
            Some(v) => match Decimal::from_str(v) {
                Ok(d) if d >= Decimal::ZERO && d <= Decimal::ONE_HUNDRED => d,
                _ => {
                    return Err(ConfigError::new(
                        "APPROVAL_MAX_DRIFT_PCT",
                        format!("'{v}' is not a percent from 0 to 100"),
                    ));
                }
            },
        };
        Ok(ApprovalPolicy {
            key: keys.approval,
            live_key: keys.approval_live,
            mode: approval,
            live_channel,
            ttl_secs,
            max_drift_pct,
            min_value: s.cap("APPROVAL_MIN_VALUE", None)?,
        })
    }

    /// No approval (the core's tests, and a policy built by hand).
    pub fn off(keys: &PolicyKeys) -> Self {
        ApprovalPolicy {
            key: keys.approval,
            live_key: keys.approval_live,
            mode: Some(ApprovalMode::None),
            live_channel: None,
            ttl_secs: defaults::TTL_SECONDS,
            max_drift_pct: defaults::MAX_DRIFT_PCT,
            min_value: None,
        }
    }

    /// The mode in force: as set, else auto on a live account and none on any other.
    pub fn effective(&self, mode: TradingMode) -> ApprovalMode {
        self.mode.unwrap_or(match mode {
            TradingMode::Live => ApprovalMode::Auto,
            TradingMode::Paper => ApprovalMode::None,
        })
    }

    /// Whether an order worth `value` on this account needs a person's approval.
    pub fn needed(&self, mode: TradingMode, live_account: bool, value: Option<Decimal>) -> bool {
        if self.effective(mode) == ApprovalMode::None {
            return false;
        }
        let live = live_account || mode == TradingMode::Live;
        match (self.min_value, value) {
            (Some(min), Some(v)) if !live => v >= min,
            _ => true,
        }
    }

    /// The channel this call's approval goes through, or why there is none (fail closed).
    pub fn channel(&self, mode: TradingMode, reach: Reach) -> Result<Channel, TradeError> {
        let none_left = |what: String| {
            TradeError::new(ErrorCode::ApprovalRequired, format!("order NOT placed: {what}")).with_setting(self.key)
        };
        if mode == TradingMode::Live
            && let Some(forced) = self.live_channel
        {
            return match (forced, reach) {
                (Channel::Web, Reach { web: true, .. }) | (Channel::Push, Reach { push: true, .. }) => Ok(forced),
                _ => Err(none_left(format!(
                    "{}={} but that channel is not set up (see README \"Human approval\")",
                    self.live_key,
                    forced.as_str()
                ))),
            };
        }
        match self.effective(mode) {
            ApprovalMode::Elicit if reach.client_elicits => Ok(Channel::Elicit),
            ApprovalMode::Elicit => Err(none_left(format!(
                "{}=elicit but this MCP client does not declare elicitation; use web or push (or auto)",
                self.key
            ))),
            ApprovalMode::Web if reach.web => Ok(Channel::Web),
            ApprovalMode::Push if reach.push => Ok(Channel::Push),
            ApprovalMode::Auto if reach.client_elicits => Ok(Channel::Elicit),
            ApprovalMode::Auto if reach.web => Ok(Channel::Web),
            ApprovalMode::Auto if reach.push => Ok(Channel::Push),
            m => Err(none_left(format!(
                "{}={} needs a person's approval and no channel is available (this client does not elicit, the approval page is off, no push is configured)",
                self.key,
                m.as_str()
            ))),
        }
    }
}

/// Where an approval stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    Pending,
    /// A person approved; the server is placing it.
    Approved,
    Placed,
    Rejected,
    Expired,
    /// Approved, but the guard or the drift check refused it at placement.
    Blocked,
    /// Withdrawn by the agent (cancel_approval).
    Cancelled,
}

impl ApprovalState {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Placed => "placed",
            ApprovalState::Rejected => "rejected",
            ApprovalState::Expired => "expired",
            ApprovalState::Blocked => "blocked",
            ApprovalState::Cancelled => "cancelled",
        }
    }
    pub fn is_final(self) -> bool {
        !matches!(self, ApprovalState::Pending | ApprovalState::Approved)
    }
}

/// The order terms a person is shown, besides the order itself.
#[derive(Clone, Debug, Serialize)]
pub struct Shown {
    pub account_id: Option<String>,
    /// "LIVE", "PAPER" or "SIMULATOR".
    pub banner: &'static str,
    pub venue: String,
    pub currency: String,
    /// Worst-case value of a buy, as the guard computed it.
    pub estimated_value: Option<Decimal>,
    pub estimated_fees: Option<Decimal>,
    pub margin_impact: Option<Decimal>,
    /// The price the order was previewed against (for the drift check).
    pub reference_price: Option<Decimal>,
    pub quote_at: DateTime<Utc>,
    pub checks: Vec<&'static str>,
}

/// One approval: the exact order, who asked, and where it stands.
#[derive(Clone, Debug, Serialize)]
pub struct Approval {
    pub id: String,
    pub fingerprint: String,
    #[serde(skip)]
    pub digest: String,
    pub principal: String,
    pub channel: Channel,
    pub created: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub state: ApprovalState,
    pub order: OrderIntent,
    pub shown: Shown,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<OrderResult>,
    /// The one-time key of the page link and the opaque handle of an elicitation round trip;
    /// never in a tool result.
    #[serde(skip)]
    pub secret: String,
    /// What to cancel before the order leaves (a close takes its working exits with it).
    #[serde(skip)]
    pub cancel_first: Vec<OrderResult>,
    #[serde(skip)]
    pub tag: Option<String>,
}

/// The digest of the exact order as a person approves it: the account, live or paper, the
/// venue and every term of the order. Its first 8 hex digits are the fingerprint both the
/// agent (in the preview) and the person (on the page, the phone, the form) see.
pub fn digest(account: Option<&str>, live: bool, venue: &str, intent: &OrderIntent) -> String {
    let canonical = format!(
        "{}|{}|{}|{}",
        account.unwrap_or("-"),
        if live { "live" } else { "paper" },
        venue,
        intent.exact_terms()
    );
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// `3f9a-2c1e` from a digest.
pub fn fingerprint(digest: &str) -> String {
    format!("{}-{}", &digest[..4.min(digest.len())], &digest[4.min(digest.len())..8.min(digest.len())])
}

/// Fresh random hex (128 bits).
pub fn random_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The approvals of this process (in memory: a restart drops them and sends nothing).
#[derive(Debug, Default)]
pub struct ApprovalStore {
    map: Mutex<HashMap<String, Approval>>,
    changed: tokio::sync::Notify,
}

/// Approvals kept after they ended, for wait_approval and the page; older ones are dropped.
const KEEP_FINISHED: usize = 256;

impl ApprovalStore {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Approval>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn insert(&self, a: Approval) {
        let mut map = self.lock();
        let finished: Vec<(DateTime<Utc>, String)> =
            map.values().filter(|a| a.state.is_final()).map(|a| (a.created, a.id.clone())).collect();
        if finished.len() > KEEP_FINISHED {
            let mut finished = finished;
            finished.sort();
            for (_, id) in finished.iter().take(finished.len() - KEEP_FINISHED) {
                map.remove(id);
            }
        }
        map.insert(a.id.clone(), a);
        drop(map);
        self.changed.notify_waiters();
    }

    pub fn get(&self, id: &str) -> Option<Approval> {
        self.lock().get(id).cloned()
    }

    /// The approval whose secret (a page key, an elicitation's request state) is `secret`.
    pub fn find_by_secret(&self, secret: &str) -> Option<Approval> {
        let map = self.lock();
        let found = map.values().find(|a| {
            a.secret.len() == secret.len()
                && a.secret.bytes().zip(secret.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
        });
        found.cloned()
    }

    /// Changes one approval under the lock; `f` returns what the caller needs.
    pub fn update<T>(&self, id: &str, f: impl FnOnce(&mut Approval) -> T) -> Option<T> {
        let out = self.lock().get_mut(id).map(f);
        self.changed.notify_waiters();
        out
    }

    /// Pending approvals whose time ran out become expired; returns them.
    pub fn expire(&self, now: DateTime<Utc>) -> Vec<Approval> {
        let mut out = vec![];
        for a in self.lock().values_mut() {
            if a.state == ApprovalState::Pending && a.expires_at <= now {
                a.state = ApprovalState::Expired;
                a.reason = Some("no answer before it expired; nothing was sent".into());
                out.push(a.clone());
            }
        }
        if !out.is_empty() {
            self.changed.notify_waiters();
        }
        out
    }

    pub fn pending(&self) -> Vec<Approval> {
        let mut v: Vec<Approval> = self.lock().values().filter(|a| !a.state.is_final()).cloned().collect();
        v.sort_by_key(|a| a.created);
        v
    }

    /// A future that resolves at the next change, registered now (so a change between a
    /// read and the wait is not missed).
    pub fn next_change(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }
}

#[cfg(test)]
#[path = "approval_tests.rs"]
mod tests;
