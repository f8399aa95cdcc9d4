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
        Self {
            venue,
            policy,
            journal,
            clock,
            tokens,
            placement: tokio::sync::Mutex::new(()),
            last_identity: Mutex::new(None),
        }
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
            Err(e) => (None, Some(e.to_string())),
        };
        let (token, expires) = match self.policy.confirmation {
            ConfirmationMode::Required => {
                let (t, e) = self.tokens.issue(&intent, facts.now);
                (Some(t), Some(e))
            }
            ConfirmationMode::Off => (None, None),
        };
        let o = intent.primary().clone();
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

    /// The journal line of an order; `eval` is absent when the guard refused it.
    fn record(
        &self,
        o: &OrderRequest,
        eval: Option<&Evaluation>,
        kind: RecordKind,
        now: DateTime<Utc>,
    ) -> JournalRecord {
        JournalRecord {
            timestamp: self.journal.timestamp(now),
            kind,
            venue: self.venue.name(),
            account_id: eval.and_then(|e| e.account_id.clone()),
            is_paper: eval.and_then(|e| e.verified_paper),
            mode: Some(self.policy.mode.as_str().into()),
            symbol: Some(o.symbol.clone()),
            side: Some(o.side),
            order_type: Some(o.order_type),
            cash_qty: o.size.cash().map(Money),
            quantity: o.size.quantity().map(Qty),
            limit_price: o.limit_price,
            stop_price: o.stop_price,
            notional: if o.side == Side::Buy { eval.and_then(|e| e.notional).map(Money) } else { None },
            dry_run: self.policy.dry_run,
            status: "pending".into(),
            ..Default::default()
        }
    }

    fn blocked_record(&self, o: &OrderRequest, err: &TradeError, now: DateTime<Utc>) -> JournalRecord {
        JournalRecord {
            status: "blocked".into(),
            message: Some(err.message.clone()),
            ..self.record(o, None, RecordKind::Outcome, now)
        }
    }

    /// Journals what happened after an order left. The order is out either way, so a failed
    /// write is logged and reported on the result instead of turning it into an error (its
    /// intent line keeps the dispatch unresolved, so an identical order stays blocked).
    fn record_after_dispatch(&self, rec: JournalRecord, r: &mut OrderResult) {
        if let Err(e) = self.journal.append(rec) {
            tracing::error!("the journal could not record an order's outcome: {e}");
            let warning = format!(
                "WARNING: the order was sent but the journal could not record its outcome ({e}); run reconcile_pending"
            );
            r.message = Some(match r.message.take() {
                Some(m) => format!("{m}. {warning}"),
                None => warning,
            });
        }
    }

    fn journal_err(e: crate::journal::JournalError) -> TradeError {
        TradeError::new(ErrorCode::Internal, format!("order not sent: the journal could not record it ({e})"))
    }

    /// Places an order (or a bracket) through every guard, the token check and the journal.
    pub async fn submit(&self, intent: OrderIntent, token: Option<&str>) -> Result<Vec<OrderResult>, TradeError> {
        self.submit_tagged(intent, token, None, &[]).await
    }

    /// `cancel_first`: working orders to cancel once the guard has passed and before the
    /// order leaves (a close takes its working exits with it); a failed cancel sends nothing.
    async fn submit_tagged(
        &self,
        intent: OrderIntent,
        token: Option<&str>,
        tag: Option<&str>,
        cancel_first: &[OrderResult],
    ) -> Result<Vec<OrderResult>, TradeError> {
        let intent = self.canonical_intent(intent)?;
        intent.validate()?;
        self.check_capabilities(&intent)?;
        let _serial = self.placement.lock().await;
        let now = self.clock.now();
        if self.policy.confirmation == ConfirmationMode::Required {
            self.tokens.redeem(token, &intent, now)?;
        }
        let except: Vec<String> = cancel_first.iter().filter_map(|w| w.order_id.clone()).collect();
        let (facts, _) = self.facts(intent.primary(), &except).await?;
        let (approved, eval) = match self.evaluate(&intent, &facts) {
            Ok(v) => v,
            Err(mut e) => {
                if e.rule == Some("naked_short") && !self.venue.capabilities().shorting {
                    self.name_locking_orders(&mut e, intent.primary()).await;
                }
                if e.code == ErrorCode::SafetyBlocked {
                    // The refusal stands either way; a journal failure is logged, not swapped in.
                    if let Err(je) = self.journal.append(self.blocked_record(intent.primary(), &e, now)) {
                        tracing::error!("the journal could not record a refusal: {je}");
                    }
                }
                return Err(e);
            }
        };
        if self.policy.dry_run {
            return self.dry_run(&intent, &eval, now);
        }
        for w in cancel_first {
            let Some(id) = w.order_id.as_deref() else { continue };
            match self.venue.cancel(id, Some(&w.symbol)).await {
                Ok(r) => self.observe(&r),
                Err(e) => {
                    return Err(TradeError::new(
                        ErrorCode::VenueError,
                        format!(
                            "not sent: working order {id} on {} could not be cancelled before the close ({e}); cancel it with cancel_order, then close again",
                            w.symbol
                        ),
                    ));
                }
            }
        }
        match approved.into_legs() {
            ApprovedLegs::Single(o) => self.dispatch_single(o, &eval, tag, now).await.map(|r| vec![r]),
            ApprovedLegs::Bracket(b) => self.dispatch_bracket(b, &eval, now).await,
        }
    }

    fn dry_run(
        &self,
        intent: &OrderIntent,
        eval: &Evaluation,
        now: DateTime<Utc>,
    ) -> Result<Vec<OrderResult>, TradeError> {
        let o = intent.primary();
        let what = if matches!(intent, OrderIntent::Bracket(_)) { "bracket" } else { "order" };
        let value = eval.notional.map(|n| format!(" (notional ~{})", fmt_money(n, &eval.currency))).unwrap_or_default();
        let msg = format!(
            "dry-run: {what} validated, NOT sent{value}. Set {}=false to send orders.",
            self.policy.keys.dry_run
        );
        let mut rec = self.record(o, Some(eval), RecordKind::Outcome, now);
        rec.message = Some(msg.clone());
        self.journal.append(rec).map_err(Self::journal_err)?;
        Ok(vec![OrderResult { message: Some(msg), dry_run: true, ..OrderResult::for_request(o, OrderStatus::Pending) }])
    }

    fn outcome_record(&self, base: &JournalRecord, r: &OrderResult, now: DateTime<Utc>) -> JournalRecord {
        JournalRecord {
            timestamp: self.journal.timestamp(now),
            kind: RecordKind::Outcome,
            sent: true,
            order_id: r.order_id.clone(),
            status: r.status.as_str().into(),
            filled_quantity: r.filled_quantity,
            message: r.message.clone(),
            ..base.clone()
        }
    }

    /// Journals a dispatch failure and turns it into the tool error.
    fn dispatch_failed(&self, base: &JournalRecord, e: VenueError, now: DateTime<Utc>) -> TradeError {
        let unsent = !e.may_have_landed();
        let rec = JournalRecord {
            timestamp: self.journal.timestamp(now),
            kind: RecordKind::Outcome,
            sent: true,
            status: match (&e, unsent) {
                (_, true) => "rejected".into(),
                (VenueError::Indeterminate(_), _) => "unknown".into(),
                _ => "error".into(),
            },
            message: Some(e.to_string()),
            ..base.clone()
        };
        if let Err(je) = self.journal.append(rec) {
            tracing::error!("journal append after a failed dispatch failed: {je}");
        }
        if unsent {
            return e.into();
        }
        let coid = base.client_order_id.clone().unwrap_or_default();
        TradeError::new(
            ErrorCode::Indeterminate,
            format!(
                "It is UNKNOWN whether the {} {} order reached {}: {e}. Not resending (would risk a duplicate). It is journaled as unresolved (client order id {coid}); run reconcile_pending, or check open_orders / order_status, before retrying.",
                base.side.map(|s| s.as_str()).unwrap_or(""),
                base.symbol.as_deref().unwrap_or(""),
                self.policy.keys.venue
            ),
        )
    }

    /// After an order post that may have landed: the venue's own record of `coid` when it has
    /// one, else INDETERMINATE. The one place the rule lives: an unclear post is looked up by
    /// client order id, never resent.
    async fn look_up_unclear(&self, e: VenueError, coid: &str, symbol: &str) -> Result<OrderResult, VenueError> {
        let venue = self.policy.keys.venue;
        match self.venue.find_by_client_order_id(coid, Some(symbol)).await {
            Ok(Some(mut r)) => {
                tracing::warn!(client_order_id = coid, "order post unclear ({e}); found by client order id");
                r.message = Some(format!("found by client order id after an unclear answer ({e})"));
                Ok(r)
            }
            Ok(None) => Err(VenueError::Indeterminate(format!(
                "the order post failed ({e}) and {venue} does not (yet) list client order id {coid}, so it may still land"
            ))),
            Err(lookup) => Err(VenueError::Indeterminate(format!(
                "the order post failed ({e}) and looking up client order id {coid} failed too ({lookup})"
            ))),
        }
    }

    async fn dispatch_single(
        &self,
        order: Approved<OrderRequest>,
        eval: &Evaluation,
        tag: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<OrderResult, TradeError> {
        let coid = new_client_order_id();
        let mut intent_rec = self.record(order.get(), Some(eval), RecordKind::Intent, now);
        intent_rec.client_order_id = Some(coid.clone());
        intent_rec.sent = true;
        intent_rec.tag = tag.map(str::to_string);
        self.journal.append(intent_rec.clone()).map_err(Self::journal_err)?;
        let placed = match self.venue.place(&order, &coid).await {
            Err(e) if e.may_have_landed() => self.look_up_unclear(e, &coid, &order.get().symbol).await,
            other => other,
        };
        match placed {
            Ok(mut r) => {
                if r.symbol.is_empty() {
                    r.symbol = order.get().symbol.clone();
                }
                r.client_order_id = Some(coid);
                self.record_after_dispatch(self.outcome_record(&intent_rec, &r, self.clock.now()), &mut r);
                Ok(r)
            }
            Err(e) => Err(self.dispatch_failed(&intent_rec, e, self.clock.now())),
        }
    }

    async fn dispatch_bracket(
        &self,
        b: Approved<BracketRequest>,
        eval: &Evaluation,
        now: DateTime<Utc>,
    ) -> Result<Vec<OrderResult>, TradeError> {
        let ids = BracketIds {
            entry: new_client_order_id(),
            take_profit: new_client_order_id(),
            stop_loss: new_client_order_id(),
        };
        let exit_eval = Evaluation { notional: None, ..eval.clone() };
        let legs = [
            ("entry", b.get().entry.clone(), &ids.entry, eval),
            ("take_profit", b.get().take_profit_leg(), &ids.take_profit, &exit_eval),
            ("stop_loss", b.get().stop_loss_leg(), &ids.stop_loss, &exit_eval),
        ];
        let mut recs = Vec::with_capacity(3);
        for (tag, o, coid, ev) in &legs {
            let mut r = self.record(o, Some(ev), RecordKind::Intent, now);
            r.client_order_id = Some((*coid).clone());
            r.sent = true;
            r.tag = Some((*tag).into());
            if *tag != "entry" {
                r.parent_client_order_id = Some(ids.entry.clone());
            }
            self.journal.append(r.clone()).map_err(Self::journal_err)?;
            recs.push(r);
        }
        let placed = match self.venue.place_bracket(&b, &ids).await {
            Err(e) if e.may_have_landed() => {
                let mut found = vec![];
                for (tag, o, coid, _) in &legs {
                    match self.look_up_unclear(e.clone(), coid, &o.symbol).await {
                        Ok(r) => found.push(OrderResult { leg: Some((*tag).into()), ..r }),
                        Err(missing) => {
                            // The legs found are recorded; the rest stay unresolved for reconcile.
                            for r in &mut found {
                                if let Some(pos) = legs.iter().position(|l| Some(l.0) == r.leg.as_deref()) {
                                    let rec = self.outcome_record(&recs[pos], r, self.clock.now());
                                    self.record_after_dispatch(rec, r);
                                }
                            }
                            let done = self.clock.now();
                            let first_missing = legs.iter().position(|l| l.2.as_str() == coid.as_str()).unwrap_or(0);
                            let err = self.dispatch_failed(&recs[first_missing], missing.clone(), done);
                            for r in &recs[first_missing + 1..] {
                                let _ = self.dispatch_failed(r, missing.clone(), done);
                            }
                            return Err(err);
                        }
                    }
                }
                Ok(found)
            }
            other => other,
        };
        match placed {
            Ok(mut results) => {
                let done = self.clock.now();
                for (i, r) in results.iter_mut().enumerate() {
                    let leg = r.leg.clone().or_else(|| legs.get(i).map(|l| l.0.to_string()));
                    if let Some(pos) = legs.iter().position(|l| Some(l.0) == leg.as_deref()) {
                        r.client_order_id = Some(legs[pos].2.clone());
                        r.leg = leg;
                        let rec = self.outcome_record(&recs[pos], r, done);
                        self.record_after_dispatch(rec, r);
                    }
                }
                Ok(results)
            }
            Err(e) => {
                let done = self.clock.now();
                let err = self.dispatch_failed(&recs[0], e.clone(), done);
                for r in &recs[1..] {
                    let _ = self.dispatch_failed(r, e.clone(), done);
                }
                Err(err)
            }
        }
    }

    /// Closes the whole position in `symbol` with an opposite market order (through every
    /// guard; an exit is never value-capped, clock-trapped or halted).
    pub async fn close_position(&self, symbol: &str, token: Option<&str>) -> Result<CloseOutcome, TradeError> {
        let symbol = self.canonical_symbol(symbol)?;
        let now = self.clock.now();
        let cooldown = chrono::Duration::seconds(i64::try_from(self.policy.close_cooldown_secs).unwrap_or(0));
        if let Some(t) = self.journal.with_index(|i| i.last_close(&symbol))
            && now - t < cooldown
        {
            return Ok(CloseOutcome {
                closed: false,
                reason: Some(format!(
                    "A close for {symbol} was just dispatched ({}s ago); positions can lag, so a second close is refused for CLOSE_COOLDOWN_SECONDS={}. Check order_status / positions.",
                    (now - t).num_seconds(),
                    self.policy.close_cooldown_secs
                )),
                result: None,
                cancelled_first: vec![],
            });
        }
        let held = self.venue.held_quantity(&symbol).await.map_err(TradeError::from)?;
        if held == Decimal::ZERO {
            let others = self.untradable_holdings_on(&symbol).await;
            let reason = if others.is_empty() {
                format!(
                    "No open position in {symbol} (remember: a broker's portfolio can take tens of seconds to reflect a recent fill)."
                )
            } else {
                format!(
                    "No shares of {symbol} to close. You hold {}, which tradegate cannot trade (options, futures and broker crypto are not supported yet): nothing was sent; close it in the venue's own app.",
                    others.join(", ")
                )
            };
            return Ok(CloseOutcome { closed: false, reason: Some(reason), result: None, cancelled_first: vec![] });
        }
        let order = self.close_order(&symbol, held)?;
        if self.policy.confirmation == ConfirmationMode::Required && token.is_none_or(|t| t.trim().is_empty()) {
            return Err(TradeError::new(
                ErrorCode::ConfirmationRequired,
                format!(
                    "close_position needs a confirmation_token: call preview_order with symbol={symbol} side={} quantity={} (the market order that closes the position), show it to the user, then call close_position with its token. (ORDER_CONFIRMATION=required)",
                    order.side,
                    held.abs().normalize()
                ),
            ));
        }
        let exits = self.working_exits(&symbol, order.side).await.map_err(TradeError::from)?;
        // Where orders do not reserve the holding (stock brokers), a working exit would fire
        // into a short once the position is gone: it is cancelled first. On a spot exchange
        // its coins are reserved (the close sells the free balance), so it stays and is named.
        let (cancel, note) = if self.venue.capabilities().shorting || exits.is_empty() {
            (exits, None)
        } else {
            let ids: Vec<String> = exits.iter().filter_map(|w| w.order_id.clone()).collect();
            let note = format!(
                "Closed the free balance; open sell order(s) {} keep their reserved {symbol} and stay working (they cannot oversell). Cancel them with cancel_order to sell that part too.",
                ids.join(", ")
            );
            (vec![], Some(note))
        };
        let results = self.submit_tagged(OrderIntent::Single(order), token, Some("close"), &cancel).await?;
        let cancelled_first = if self.policy.dry_run { vec![] } else { cancel };
        Ok(CloseOutcome { closed: true, reason: note, result: results.into_iter().next(), cancelled_first })
    }

    /// On a spot venue the sellable balance is the free one: a refused sell names the open
    /// orders that hold the rest.
    async fn name_locking_orders(&self, e: &mut TradeError, o: &OrderRequest) {
        let Ok(locking) = self.working_exits(&o.symbol, Side::Sell).await else { return };
        if locking.is_empty() {
            return;
        }
        let held: Decimal = locking.iter().map(OrderResult::remaining).sum();
        let ids: Vec<String> = locking.iter().filter_map(|w| w.order_id.clone()).collect();
        e.message = format!(
            "{} {} more is held by open sell order(s) {} and cannot be sold until they are cancelled (cancel_order).",
            e.message,
            held.normalize(),
            ids.join(", ")
        );
    }

    /// What working orders still have to fill, counting the legs of one bracket once (its
    /// take-profit and stop-loss cancel each other: only one can fill).
    fn still_to_fill(&self, working: &[OrderResult]) -> Decimal {
        let mut by_group: std::collections::HashMap<String, Decimal> = std::collections::HashMap::new();
        for x in working {
            let left = x.remaining();
            let group = self.oca_group(x).or_else(|| x.order_id.clone()).unwrap_or_default();
            let slot = by_group.entry(group).or_default();
            *slot = (*slot).max(left);
        }
        by_group.values().copied().sum()
    }

    /// The bracket a leg belongs to (its parent's client order id), from the journal.
    fn oca_group(&self, x: &OrderResult) -> Option<String> {
        let id = x.order_id.clone().unwrap_or_default();
        self.journal.with_index(|i| {
            let coid = x.client_order_id.as_deref().or_else(|| i.client_order_id_of(&id))?;
            i.parent_of(coid).map(str::to_string)
        })
    }

    /// Working orders on `symbol` on `side` (the exits a close takes with it).
    async fn working_exits(&self, symbol: &str, side: Side) -> Result<Vec<OrderResult>, VenueError> {
        Ok(self
            .venue
            .open_orders()
            .await?
            .into_iter()
            .filter(|o| o.symbol == symbol && o.side == Some(side) && !o.status.is_terminal())
            .collect())
    }

    /// Holdings whose underlying is `symbol` but that are not its shares (a SPY option).
    async fn untradable_holdings_on(&self, symbol: &str) -> Vec<String> {
        let Ok(positions) = self.venue.positions().await else { return vec![] };
        positions
            .into_iter()
            .filter(|p| !p.is_tradable_as(symbol))
            .filter(|p| {
                p.derivative.as_ref().and_then(|d| d.underlying.as_deref()) == Some(symbol)
                    || p.symbol.split_whitespace().next() == Some(symbol)
            })
            .map(|p| format!("{} {} ({})", p.quantity.0.normalize(), p.symbol, p.asset_class.as_str()))
            .collect()
    }

    /// The order `close_position` sends for a holding (what a preview must match).
    pub fn close_order(&self, symbol: &str, held: Decimal) -> Result<OrderRequest, TradeError> {
        OrderRequest::new(OrderRequest {
            symbol: symbol.to_string(),
            side: if held > Decimal::ZERO { Side::Sell } else { Side::Buy },
            order_type: OrderType::Market,
            size: Size::Quantity(Qty(held.abs())),
            limit_price: None,
            stop_price: None,
            trail: None,
            tif: TimeInForce::Day,
        })
    }

    /// The order a modification of `current` asks for (what its preview must match).
    pub fn modified_order(&self, current: &OrderResult, change: &OrderChange) -> Result<OrderRequest, TradeError> {
        let (Some(side), Some(order_type)) = (current.side, current.order_type) else {
            return Err(TradeError::new(ErrorCode::VenueError, "the venue did not report this order's side and type"));
        };
        if order_type == OrderType::Trail || order_type == OrderType::Market {
            return Err(TradeError::validation(format!(
                "a {} order cannot be modified here; cancel it and place a new one",
                order_type.as_str()
            )));
        }
        let qty = change.quantity.or(current.quantity).ok_or_else(|| TradeError::validation("quantity is required"))?;
        OrderRequest::new(OrderRequest {
            symbol: current.symbol.clone(),
            side,
            order_type,
            size: Size::Quantity(qty),
            limit_price: change.limit_price.or(current.limit_price).filter(|_| order_type != OrderType::Stop),
            stop_price: change.stop_price.or(current.stop_price).filter(|_| order_type != OrderType::Limit),
            trail: None,
            // A modification never changes how long the order works: a GTC stop stays GTC.
            tif: current.tif.unwrap_or_default(),
        })
    }

    /// Modifies a working order. The new order as a whole passes the per-order guards (value,
    /// quantity, position, naked short, inverted stop); added quantity is also guarded as a new
    /// order against the daily limits and journaled as its own dispatch.
    pub async fn modify(
        &self,
        order_id: &str,
        change: OrderChange,
        token: Option<&str>,
    ) -> Result<OrderResult, TradeError> {
        let _serial = self.placement.lock().await;
        let current = self.venue.order_status(order_id, self.symbol_of_order(order_id).as_deref()).await?;
        if current.status.is_terminal() {
            return Err(TradeError::validation(format!(
                "order {order_id} is {}; only a working order can be modified",
                current.status.as_str()
            )));
        }
        let new = self.modified_order(&current, &change)?;
        let now = self.clock.now();
        if self.policy.confirmation == ConfirmationMode::Required {
            if token.is_none_or(|t| t.trim().is_empty()) {
                return Err(TradeError::new(
                    ErrorCode::ConfirmationRequired,
                    format!(
                        "modify_order needs a confirmation_token: call preview_order with {} (the order as modified), show it to the user, then call modify_order with its token. (ORDER_CONFIRMATION=required)",
                        preview_args(&new)
                    ),
                ));
            }
            self.tokens.redeem(token, &OrderIntent::Single(new.clone()), now)?;
        }
        let (facts, _) = self.facts(&new, &[order_id.to_string()]).await?;
        let per_order =
            Policy { max_daily_value: None, max_daily_orders: None, duplicate_window_secs: 0, ..self.policy.clone() };
        let caps = self.venue.capabilities();
        let day = self.journal.day_of(now);
        let whole = OrderIntent::Single(new.clone());
        let (approved, eval) = self.journal.with_index(|i| evaluate(&whole, &per_order, &caps, &facts, i, day))?;
        let added = new.size.quantity().unwrap_or_default() - current.quantity.map(|q| q.0).unwrap_or_default();
        let added_order =
            (added > Decimal::ZERO).then(|| OrderRequest { size: Size::Quantity(Qty(added)), ..new.clone() });
        let added_eval = match &added_order {
            Some(o) => Some(self.evaluate(&OrderIntent::Single(o.clone()), &facts)?.1),
            None => None,
        };
        if self.policy.dry_run {
            let msg = format!(
                "dry-run: modification of order {order_id} validated, NOT sent. Set {}=false to send orders.",
                self.policy.keys.dry_run
            );
            let mut rec = self.record(&new, Some(&eval), RecordKind::Outcome, now);
            rec.message = Some(msg.clone());
            self.journal.append(rec).map_err(Self::journal_err)?;
            return Ok(OrderResult { message: Some(msg), dry_run: true, ..current });
        }
        let ApprovedLegs::Single(approved) = approved.into_legs() else {
            return Err(TradeError::new(ErrorCode::Internal, "a modification approves a single order"));
        };
        let coid = self.journal.with_index(|i| i.client_order_id_of(order_id).map(str::to_string));
        let mut delta = None;
        if let (Some(o), Some(ev)) = (&added_order, &added_eval) {
            let mut rec = self.record(o, Some(ev), RecordKind::Intent, now);
            rec.client_order_id = Some(new_client_order_id());
            rec.parent_client_order_id = coid.clone();
            rec.sent = true;
            rec.tag = Some("modify".into());
            self.journal.append(rec.clone()).map_err(Self::journal_err)?;
            delta = Some(rec);
        }
        let parent = coid.as_deref().and_then(|c| self.journal.with_index(|i| i.parent_of(c).map(str::to_string)));
        let result = self.venue.modify(order_id, &approved, parent.as_deref()).await;
        let done = self.clock.now();
        match result {
            Ok(mut r) => {
                if let Some(base) = &delta {
                    self.record_after_dispatch(self.outcome_record(base, &r, done), &mut r);
                }
                let mut rec = self.record(&new, Some(&eval), RecordKind::Outcome, done);
                rec.client_order_id = coid;
                rec.sent = true;
                rec.notional = None;
                rec.order_id = r.order_id.clone();
                rec.status = r.status.as_str().into();
                rec.message = Some(format!("modified: {}", r.message.clone().unwrap_or_default()));
                self.record_after_dispatch(rec, &mut r);
                Ok(r)
            }
            Err(e) => Err(match &delta {
                Some(base) => self.dispatch_failed(base, e, done),
                None => e.into(),
            }),
        }
    }

    /// Writes an outcome line when the venue reports a new status for an order we journaled,
    /// so spend, duplicates and in-flight state stay current without a manual reconcile.
    pub fn observe(&self, r: &OrderResult) {
        let Some(oid) = &r.order_id else { return };
        let status = r.status.as_str();
        let coid = self.journal.with_index(|i| {
            let c = i.client_order_id_of(oid)?;
            (i.fate_of(c) != Some(status)).then(|| c.to_string())
        });
        if let Some(coid) = coid {
            let rec = JournalRecord {
                timestamp: self.journal.timestamp(self.clock.now()),
                kind: RecordKind::Outcome,
                venue: self.venue.name(),
                client_order_id: Some(coid),
                symbol: Some(r.symbol.clone()),
                side: r.side,
                order_type: r.order_type,
                sent: true,
                order_id: Some(oid.clone()),
                status: status.into(),
                filled_quantity: r.filled_quantity,
                message: Some("status observed at the venue".into()),
                ..Default::default()
            };
            if let Err(e) = self.journal.append(rec) {
                tracing::warn!("journal append of an observed status failed: {e}");
            }
        }
    }

    /// An order's state. `symbol` is only needed for orders placed outside tradegate on venues
    /// that look orders up by symbol; the journal knows it for ours.
    pub async fn order_status(&self, order_id: &str, symbol: Option<&str>) -> Result<OrderResult, TradeError> {
        let symbol = self.lookup_symbol(order_id, symbol)?;
        let r = self.venue.order_status(order_id, symbol.as_deref()).await?;
        self.observe(&r);
        Ok(r)
    }

    /// Cancels an order. Never guarded: a cancel only reduces risk.
    pub async fn cancel(&self, order_id: &str, symbol: Option<&str>) -> Result<OrderResult, TradeError> {
        let symbol = self.lookup_symbol(order_id, symbol)?;
        let r = self.venue.cancel(order_id, symbol.as_deref()).await?;
        self.observe(&r);
        Ok(r)
    }

    fn lookup_symbol(&self, order_id: &str, given: Option<&str>) -> Result<Option<String>, TradeError> {
        match given.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Ok(Some(self.canonical_symbol(s)?)),
            None => Ok(self.symbol_of_order(order_id)),
        }
    }

    /// Resolves dispatches whose outcome is unknown by asking the venue for their client
    /// order ids. With `resolve_missing`, ones the venue does not know are marked unknown.
    pub async fn reconcile_pending(&self, resolve_missing: bool) -> Result<ReconcileReport, TradeError> {
        let _serial = self.placement.lock().await;
        let pending = self.journal.with_index(|i| i.unresolved());
        let mut report = ReconcileReport {
            unresolved_before: pending.len(),
            resolved: vec![],
            still_unresolved: vec![],
            errors: vec![],
        };
        for u in pending {
            let found = self.venue.find_by_client_order_id(&u.client_order_id, u.symbol.as_deref()).await;
            let (status, order_id, message) = match found {
                Ok(Some(r)) => {
                    let filled = r.filled_quantity.is_some_and(|q| q.0 > Decimal::ZERO);
                    let status = if filled && r.status != OrderStatus::Filled && r.status.is_terminal() {
                        OrderStatus::Filled
                    } else {
                        r.status
                    };
                    (
                        status.as_str().to_string(),
                        r.order_id.clone(),
                        format!("reconciled: found at the venue as {}", r.status.as_str()),
                    )
                }
                Ok(None) if resolve_missing => {
                    ("unknown".into(), None, "reconciled: not found at the venue; operator-accepted as resolved".into())
                }
                Ok(None) => {
                    report.still_unresolved.push(u);
                    continue;
                }
                Err(e) => {
                    report.errors.push(format!("{}: {e}", u.client_order_id));
                    report.still_unresolved.push(u);
                    continue;
                }
            };
            let rec = JournalRecord {
                timestamp: self.journal.timestamp(self.clock.now()),
                kind: RecordKind::Resolution,
                venue: self.venue.name(),
                client_order_id: Some(u.client_order_id.clone()),
                order_id: order_id.clone(),
                status: status.clone(),
                message: Some(message),
                ..Default::default()
            };
            self.journal.append(rec).map_err(|e| {
                TradeError::new(
                    ErrorCode::Internal,
                    format!("reconcile: the journal could not record the resolution of {} ({e})", u.client_order_id),
                )
            })?;
            report.resolved.push(Resolved { client_order_id: u.client_order_id, symbol: u.symbol, status, order_id });
        }
        Ok(report)
    }

    /// The safety posture, computed when asked: what would stop every entry right now (the
    /// account-wide rules, run as the guard runs them), the budget left, and the orders whose
    /// fate is unknown (listed; they block only their identical order).
    pub async fn posture(&self) -> Posture {
        let p = &self.policy;
        let caps = self.venue.capabilities();
        let ccy = caps.quote_currency.clone();
        let now = self.clock.now();
        let day = self.journal.day_of(now);
        let (spent, orders, unresolved) =
            self.journal.with_index(|i| (i.spent_on(day), i.orders_on(day), i.unresolved()));
        let halt_file = p.halt_file.as_ref().is_some_and(|f| f.exists());
        let facts = Facts {
            now,
            identity: self.identity().await,
            quote: None,
            held: Ok(Decimal::ZERO),
            working: Ok(Decimal::ZERO),
            halt_file_present: halt_file,
            journal_damage: self.journal_damage(),
        };
        let mut stops: Vec<String> = self
            .journal
            .with_index(|i| crate::guard::account_wide_refusals(p, &caps, &facts, i, day))
            .into_iter()
            .map(|e| format!("{}: {}", e.rule.unwrap_or("guard"), e.message))
            .collect();
        if p.max_daily_value.is_some_and(|c| spent >= c) {
            stops.push("daily_value: the daily spend limit is reached (MAX_DAILY_VALUE): buys are refused".into());
        }
        let money = |d: Decimal| fmt_money(d, &ccy);
        Posture {
            mode_label: p.mode.as_str(),
            dry_run: p.dry_run,
            live_armed: p.allow_live,
            halted: p.halted || halt_file,
            order_confirmation: p.confirmation,
            confirmation_ttl_seconds: p.confirmation_ttl_secs,
            allowlist_active: !p.allowlist.is_empty(),
            max_order_value: p.max_order_value.map(money),
            max_daily_value: p.max_daily_value.map(money),
            remaining_daily_budget: p.max_daily_value.map(|c| money((c - spent).max(Decimal::ZERO))),
            currency: ccy.clone(),
            orders_today: orders,
            max_daily_orders: p.max_daily_orders,
            unresolved_orders: unresolved,
            journal: self.journal.path().display().to_string(),
            safe_to_trade: stops.is_empty(),
            journal_integrity: self.journal.integrity(),
            trade_stops: stops,
        }
    }
}
