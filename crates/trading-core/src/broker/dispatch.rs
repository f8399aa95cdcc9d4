//! Dispatch: the journal lines of an order, placing it (single or bracket) once, and the one
//! rule for an unclear post: look it up by client order id, never resend.

use super::*;

impl GuardedBroker {
    /// The journal line of an order; `eval` is absent when the guard refused it.
    pub(super) fn record(
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

    pub(super) fn blocked_record(&self, o: &OrderRequest, err: &TradeError, now: DateTime<Utc>) -> JournalRecord {
        JournalRecord {
            status: "blocked".into(),
            message: Some(err.message.clone()),
            rule: err.rule.map(str::to_string),
            setting: err.setting.map(str::to_string),
            ..self.record(o, None, RecordKind::Outcome, now)
        }
    }

    /// Journals what happened after an order left. The order is out either way, so a failed
    /// write is logged and reported on the result instead of turning it into an error (its
    /// intent line keeps the dispatch unresolved, so an identical order stays blocked).
    pub(super) fn record_after_dispatch(&self, rec: JournalRecord, r: &mut OrderResult) {
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

    pub(super) fn journal_err(e: crate::journal::JournalError) -> TradeError {
        TradeError::new(ErrorCode::Internal, format!("order not sent: the journal could not record it ({e})"))
    }

    /// Places an order (or a bracket) through every guard, the token check and the journal,
    /// for a local caller with no approval channel (an order that needs a person's approval
    /// is refused).
    pub async fn submit(&self, intent: OrderIntent, token: Option<&str>) -> Result<Vec<OrderResult>, TradeError> {
        match self.submit_as(intent, token, &Asker::local()).await? {
            Submitted::Sent(v) => Ok(v),
            Submitted::Pending(_) => Err(TradeError::new(ErrorCode::Internal, "held for approval without a channel")),
        }
    }

    /// As [`GuardedBroker::submit`] for `asker`: an order that needs a person's approval is
    /// held (nothing sent) and comes back as [`Submitted::Pending`].
    pub async fn submit_as(
        &self,
        intent: OrderIntent,
        token: Option<&str>,
        asker: &Asker,
    ) -> Result<Submitted, TradeError> {
        self.submit_tagged(intent, token, None, &[], asker).await
    }

    /// `cancel_first`: working orders to cancel once the guard has passed and before the
    /// order leaves (a close takes its working exits with it); a failed cancel sends nothing.
    pub(super) async fn submit_tagged(
        &self,
        intent: OrderIntent,
        token: Option<&str>,
        tag: Option<&str>,
        cancel_first: &[OrderResult],
        asker: &Asker,
    ) -> Result<Submitted, TradeError> {
        let intent = self.canonical_intent(intent)?;
        intent.validate()?;
        self.check_capabilities(&intent)?;
        let _serial = self.placement.lock().await;
        let now = self.clock.now();
        let reference = match self.policy.confirmation {
            ConfirmationMode::Required => self.tokens.redeem(token, &intent, now)?,
            ConfirmationMode::Off => None,
        };
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
            return self.dry_run(&intent, &eval, now).map(Submitted::Sent);
        }
        if let Some(a) = self
            .hold_for_approval(&intent, approve::Held::Order, &eval, &facts, reference, asker, tag, cancel_first)
            .await?
        {
            return Ok(Submitted::Pending(Box::new(a)));
        }
        self.send(approved, &eval, tag, cancel_first, None, now).await.map(Submitted::Sent)
    }

    /// Sends an approved order: the working orders it replaces are cancelled first, then it
    /// leaves under `ids` (derived from a person's approval) or fresh client order ids.
    pub(super) async fn send(
        &self,
        approved: Approved<OrderIntent>,
        eval: &Evaluation,
        tag: Option<&str>,
        cancel_first: &[OrderResult],
        ids: Option<BracketIds>,
        now: DateTime<Utc>,
    ) -> Result<Vec<OrderResult>, TradeError> {
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
        let ids = ids.unwrap_or_else(|| BracketIds {
            entry: new_client_order_id(),
            take_profit: new_client_order_id(),
            stop_loss: new_client_order_id(),
        });
        match approved.into_legs() {
            ApprovedLegs::Single(o) => self.dispatch_single(o, eval, tag, ids.entry, now).await.map(|r| vec![r]),
            ApprovedLegs::Bracket(b) => self.dispatch_bracket(b, eval, ids, now).await,
        }
    }

    pub(super) fn dry_run(
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

    pub(super) fn outcome_record(&self, base: &JournalRecord, r: &OrderResult, now: DateTime<Utc>) -> JournalRecord {
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
    pub(super) fn dispatch_failed(&self, base: &JournalRecord, e: VenueError, now: DateTime<Utc>) -> TradeError {
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
    pub(super) async fn look_up_unclear(
        &self,
        e: VenueError,
        coid: &str,
        symbol: &str,
    ) -> Result<OrderResult, VenueError> {
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

    pub(super) async fn dispatch_single(
        &self,
        order: Approved<OrderRequest>,
        eval: &Evaluation,
        tag: Option<&str>,
        coid: String,
        now: DateTime<Utc>,
    ) -> Result<OrderResult, TradeError> {
        let mut intent_rec = self.record(order.get(), Some(eval), RecordKind::Intent, now);
        intent_rec.client_order_id = Some(coid.clone());
        intent_rec.sent = true;
        intent_rec.tag = tag.map(str::to_string);
        self.journal.append(intent_rec.clone()).map_err(Self::journal_err)?;
        crate::crash::point("after_intent");
        let placed = match self.venue.place(&order, &coid).await {
            Err(e) if e.may_have_landed() => self.look_up_unclear(e, &coid, &order.get().symbol).await,
            other => other,
        };
        match placed {
            Ok(mut r) => {
                crate::crash::point("after_ack");
                if r.symbol.is_empty() {
                    r.symbol = order.get().symbol.clone();
                }
                r.client_order_id = Some(coid);
                self.record_after_dispatch(self.outcome_record(&intent_rec, &r, self.clock.now()), &mut r);
                crate::crash::point("after_outcome");
                Ok(r)
            }
            Err(e) => Err(self.dispatch_failed(&intent_rec, e, self.clock.now())),
        }
    }

    pub(super) async fn dispatch_bracket(
        &self,
        b: Approved<BracketRequest>,
        eval: &Evaluation,
        ids: BracketIds,
        now: DateTime<Utc>,
    ) -> Result<Vec<OrderResult>, TradeError> {
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
}
