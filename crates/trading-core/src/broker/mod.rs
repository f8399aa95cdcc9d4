//! `GuardedBroker`: the only path to a venue's order entry. It gathers the facts, runs the
//! guard, checks the confirmation token, journals the intent before dispatch and the outcome
//! after, and serialises placement so two concurrent orders cannot both pass a cap.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::{
    account::AccountIdentity,
    config::{ConfirmationMode, Policy},
    error::{ErrorCode, TradeError, VenueError},
    guard::{Approved, ApprovedLegs, Evaluation, Facts, evaluate},
    journal::{Integrity, Journal, JournalRecord, RecordKind, Unresolved},
    money::{Money, Price, Qty, fmt_money},
    order::{BracketRequest, OrderIntent, OrderRequest, OrderResult, OrderStatus, OrderType, Side, Size, TimeInForce},
    ports::{BracketIds, Clock, Venue, VenuePreview},
    tokens::TokenStore,
};

/// The answer of `preview_order`.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewReport {
    pub order: OrderIntent,
    pub evaluation: Evaluation,
    pub venue_preview: Option<VenuePreview>,
    pub venue_preview_error: Option<String>,
    pub dry_run: bool,
    pub confirmation_token: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// A short digest of the exact order on this account (`3f9a-2c1e`): a person approving
    /// it sees the same one on the page, the phone or the form.
    pub fingerprint: String,
    /// How the order tool will be let through: "none", or the approval mode a person answers.
    pub approval: &'static str,
    /// Working orders on the symbol on the same side as this exit: `close_position` cancels
    /// them before it closes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub working_exits: Vec<OrderResult>,
    pub next_step: String,
}

/// What `modify_order` changes; absent fields keep their current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderChange {
    pub quantity: Option<Qty>,
    pub limit_price: Option<Price>,
    pub stop_price: Option<Price>,
}

/// The answer of `close_position`.
#[derive(Debug, Clone, Serialize)]
pub struct CloseOutcome {
    pub closed: bool,
    pub reason: Option<String>,
    pub result: Option<OrderResult>,
    /// Held for a person's approval (nothing sent yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_approval: Option<Box<crate::approval::Approval>>,
    /// Working exits on the symbol cancelled before the close (a resting stop would otherwise
    /// fire into a short once the position is gone).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cancelled_first: Vec<OrderResult>,
}

/// The answer of `reconcile_pending`.
#[derive(Debug, Clone, Serialize)]
pub struct ReconcileReport {
    pub unresolved_before: usize,
    pub resolved: Vec<Resolved>,
    pub still_unresolved: Vec<Unresolved>,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Resolved {
    pub client_order_id: String,
    pub symbol: Option<String>,
    pub status: String,
    pub order_id: Option<String>,
}

/// The safety posture for `session_status`.
#[derive(Debug, Clone, Serialize)]
pub struct Posture {
    pub mode_label: &'static str,
    pub dry_run: bool,
    pub live_armed: bool,
    pub halted: bool,
    /// Who halted and when (the halt file's first line), while it is there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub halted_by: Option<String>,
    pub order_confirmation: ConfirmationMode,
    pub confirmation_ttl_seconds: u64,
    pub allowlist_active: bool,
    pub currency: String,
    pub max_order_value: Option<String>,
    pub max_daily_value: Option<String>,
    pub remaining_daily_budget: Option<String>,
    pub orders_today: u32,
    pub max_daily_orders: Option<u32>,
    pub unresolved_orders: Vec<Unresolved>,
    pub journal: String,
    pub journal_integrity: Integrity,
    pub trade_stops: Vec<String>,
    pub safe_to_trade: bool,
}

/// Wraps a venue with the guard, the journal and the confirmation tokens.
pub struct GuardedBroker {
    venue: Arc<dyn Venue>,
    policy: Policy,
    journal: Arc<Journal>,
    clock: Arc<dyn Clock>,
    tokens: TokenStore,
    placement: tokio::sync::Mutex<()>,
    last_identity: Mutex<Option<AccountIdentity>>,
    approvals: Arc<crate::approval::ApprovalStore>,
    /// What each pending approval places once approved.
    held: Mutex<std::collections::HashMap<String, approve::Held>>,
}

impl std::fmt::Debug for GuardedBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedBroker").field("venue", &self.venue.name()).finish_non_exhaustive()
    }
}

/// The preview_order arguments that describe `o`, for messages that say what to preview.
fn preview_args(o: &OrderRequest) -> String {
    let mut args = vec![format!("symbol={}", o.symbol), format!("side={}", o.side)];
    if let Some(q) = o.size.quantity() {
        args.push(format!("quantity={}", q.normalize()));
    }
    if let Some(p) = o.limit_price {
        args.push(format!("limit_price={p}"));
    }
    if let Some(p) = o.stop_price {
        args.push(format!("stop_price={p}"));
    }
    args.join(" ")
}

fn new_client_order_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl GuardedBroker {
    pub fn new(venue: Arc<dyn Venue>, policy: Policy, journal: Arc<Journal>, clock: Arc<dyn Clock>) -> Self {
        let tokens = TokenStore::new(policy.confirmation_ttl_secs);
        let broker = Self {
            venue,
            policy,
            journal,
            clock,
            tokens,
            placement: tokio::sync::Mutex::new(()),
            last_identity: Mutex::new(None),
            approvals: crate::approval::ApprovalStore::new(),
            held: Mutex::new(std::collections::HashMap::new()),
        };
        broker.drop_stale_approvals();
        broker
    }

    /// The canonical key of what a user typed: `AAPL`, or `BTC/USDT` for "btc" on a venue
    /// whose symbols are pairs. Every guard, journal line and venue call uses this form.
    pub fn canonical_symbol(&self, raw: &str) -> Result<String, TradeError> {
        if crate::account::is_derivative_description(raw) {
            return Err(TradeError::new(
                ErrorCode::Unsupported,
                format!(
                    "'{}' is an option or future; tradegate trades shares and spot pairs only (options trading is not supported yet). Manage it in the venue's own app.",
                    raw.trim()
                ),
            ));
        }
        let caps = self.venue.capabilities();
        Ok(crate::instrument::Instrument::parse(raw, caps.default_quote.as_deref())?.key)
    }

    /// The intent with its symbol in canonical form (what every guard and journal line uses).
    pub fn canonical_intent(&self, intent: OrderIntent) -> Result<OrderIntent, TradeError> {
        Ok(match intent {
            OrderIntent::Single(mut o) => {
                o.symbol = self.canonical_symbol(&o.symbol)?;
                OrderIntent::Single(o)
            }
            OrderIntent::Bracket(mut b) => {
                b.entry.symbol = self.canonical_symbol(&b.entry.symbol)?;
                OrderIntent::Bracket(b)
            }
        })
    }

    /// The symbol of an order we placed, from the journal (venues that need it to look an
    /// order up, like most crypto exchanges, get it even after a restart).
    fn symbol_of_order(&self, order_id: &str) -> Option<String> {
        self.journal.with_index(|i| i.symbol_of_order(order_id).map(str::to_string))
    }

    pub fn venue(&self) -> &Arc<dyn Venue> {
        &self.venue
    }
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
    pub fn journal(&self) -> &Arc<Journal> {
        &self.journal
    }
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The venue's identity; on failure the last identity verified in this process (so exits
    /// are not trapped by a transient error), else the error.
    async fn identity(&self) -> Result<AccountIdentity, String> {
        match self.venue.identity().await {
            Ok(id) => {
                if id.is_paper.is_some() {
                    *self.last_identity.lock().unwrap_or_else(|p| p.into_inner()) = Some(id.clone());
                }
                Ok(id)
            }
            Err(e) => self.last_identity.lock().unwrap_or_else(|p| p.into_inner()).clone().ok_or_else(|| e.to_string()),
        }
    }

    /// What the guard needs for `o`, and the working orders on its exit side (for an order
    /// that reduces a holding). `except` are working orders to leave out (the one being
    /// modified, or those a close cancels first).
    /// An instrument the venue says does not exist is an error, not a missing price.
    async fn facts(&self, o: &OrderRequest, except: &[String]) -> Result<(Facts, Vec<OrderResult>), TradeError> {
        let symbol = o.symbol.as_str();
        let identity = self.identity().await;
        let quote = match self.venue.quote(symbol).await {
            Ok(q) => Some(q),
            Err(e @ VenueError::NotFound(_)) => return Err(e.into()),
            Err(_) => None,
        };
        let held = self.venue.held_quantity(symbol).await.map_err(|e| e.to_string());
        let reduces = match (&held, o.side) {
            (Ok(h), Side::Sell) => *h > Decimal::ZERO,
            (Ok(h), Side::Buy) => *h < Decimal::ZERO,
            (Err(_), _) => false,
        };
        let (working, orders) = if reduces {
            match self.working_exits(symbol, o.side).await {
                Ok(w) => {
                    // An excepted order takes its bracket siblings with it (they cancel each other).
                    let excepted = |x: &OrderResult| x.order_id.as_ref().is_some_and(|id| except.contains(id));
                    let gone: Vec<String> =
                        w.iter().filter(|x| excepted(x)).filter_map(|x| self.oca_group(x)).collect();
                    let w: Vec<OrderResult> = w
                        .into_iter()
                        .filter(|x| !excepted(x) && self.oca_group(x).is_none_or(|g| !gone.contains(&g)))
                        .collect();
                    let left = self.still_to_fill(&w);
                    // Where working sells reserve their part, the held quantity is already the free one.
                    let counted = if self.venue.capabilities().reserves_holdings { Decimal::ZERO } else { left };
                    (Ok(counted), w)
                }
                Err(e) => (Err(e.to_string()), vec![]),
            }
        } else {
            (Ok(Decimal::ZERO), vec![])
        };
        let halt_file_present = self.policy.halt_file.as_ref().is_some_and(|p| p.exists());
        let journal_damage = self.journal_damage();
        Ok((Facts { now: self.clock.now(), identity, quote, held, working, halt_file_present, journal_damage }, orders))
    }

    /// Why the journal cannot vouch for today's figures (unacknowledged damage), if it cannot.
    fn journal_damage(&self) -> Option<String> {
        self.journal.integrity().refusal(self.journal.path(), self.policy.keys.server)
    }

    fn evaluate(&self, intent: &OrderIntent, facts: &Facts) -> Result<(Approved<OrderIntent>, Evaluation), TradeError> {
        let caps = self.venue.capabilities();
        let day = self.journal.day_of(facts.now);
        self.journal.with_index(|idx| evaluate(intent, &self.policy, &caps, facts, idx, day))
    }

    fn check_capabilities(&self, intent: &OrderIntent) -> Result<(), TradeError> {
        let caps = self.venue.capabilities();
        let o = intent.primary();
        let name = self.venue.name();
        let missing = match (intent, o.order_type) {
            (OrderIntent::Bracket(_), _) if !caps.brackets => Some("bracket orders"),
            (_, OrderType::Stop) if !caps.stops => Some("stop orders"),
            (_, OrderType::StopLimit) if !caps.stop_limits => Some("stop-limit orders"),
            (_, OrderType::Trail) if !caps.trailing => Some("trailing stops"),
            _ if matches!(o.size, Size::Cash(_)) && !caps.buy_by_cash => Some("buying by cash amount"),
            _ if o.size.quantity().is_some_and(|q| q.fract() != Decimal::ZERO) && !caps.fractional => {
                Some("fractional quantities")
            }
            _ => None,
        };
        match missing {
            Some(c) => Err(TradeError::new(
                ErrorCode::Unsupported,
                format!("{name} does not support {c} (capability missing)"),
            )),
            None => Ok(()),
        }
    }

    /// Evaluates the guards and the venue's what-if, and issues a single-use token bound to
    /// this exact order. Nothing is sent and nothing is journaled.
    pub async fn preview(&self, intent: OrderIntent) -> Result<PreviewReport, TradeError> {
        let intent = self.canonical_intent(intent)?;
        intent.validate()?;
        self.check_capabilities(&intent)?;
        let (facts, working_exits) = self.facts(intent.primary(), &[]).await?;
        let (_, evaluation) = self.evaluate(&intent, &facts)?;
        let (venue_preview, venue_preview_error) = match self.venue.preview(intent.primary()).await {
            Ok(p) => (Some(p), None),
            // The venue says the order itself cannot be placed (dust, a step, a minimum): no
            // token for an order that would only be refused.
            Err(VenueError::InvalidRequest(m)) => return Err(TradeError::validation(m)),
            Err(e) => (None, Some(e.to_string())),
        };
        let (token, expires) = match self.policy.confirmation {
            ConfirmationMode::Required => {
                let reference = approve::reference_price(facts.quote.as_ref());
                let (t, e) = self.tokens.issue(&intent, facts.now, reference);
                (Some(t), Some(e))
            }
            ConfirmationMode::Off => (None, None),
        };
        let o = intent.primary().clone();
        let fingerprint = crate::approval::fingerprint(&self.order_digest(&intent, &evaluation));
        let approval = self.policy.approval.effective(self.policy.mode).as_str();
        let next_step = match &token {
            Some(_) => format!(
                "Show this preview to the user. To place it, call the order tool with exactly these parameters and confirmation_token within {}s.{}",
                self.tokens.ttl_seconds(),
                if self.policy.dry_run { " Dry-run is on: it will be validated and journaled, not sent." } else { "" }
            ),
            None => "ORDER_CONFIRMATION=off: the order tool needs no token.".into(),
        };
        Ok(PreviewReport {
            order: intent,
            evaluation,
            venue_preview,
            venue_preview_error,
            dry_run: self.policy.dry_run,
            confirmation_token: token,
            expires_at: expires,
            fingerprint,
            approval,
            next_step: if working_exits.is_empty() {
                next_step
            } else {
                format!(
                    "{next_step} {} working {} order(s) on {} ({}) also reduce this position; close_position cancels them first.",
                    working_exits.len(),
                    o.side,
                    o.symbol,
                    working_exits.iter().filter_map(|r| r.order_id.clone()).collect::<Vec<_>>().join(", ")
                )
            },
            working_exits,
        })
    }
}

mod approve;
mod close;
mod dispatch;

pub use approve::{Asker, Decision, Submitted};
mod modify;
mod reconcile;
