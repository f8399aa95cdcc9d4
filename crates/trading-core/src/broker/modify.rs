//! Modifying a working order: the changed order is guarded, previewed and journaled like a
//! new one (what it adds counts against the caps).

use super::*;

impl GuardedBroker {
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
        match self.modify_as(order_id, change, token, &Asker::local()).await? {
            Submitted::Sent(mut v) if v.len() == 1 => Ok(v.remove(0)),
            _ => Err(TradeError::new(ErrorCode::Internal, "a modification without a channel was held")),
        }
    }

    /// As [`GuardedBroker::modify`] for `asker`: a modification that needs a person's
    /// approval is held and comes back as [`Submitted::Pending`].
    pub async fn modify_as(
        &self,
        order_id: &str,
        change: OrderChange,
        token: Option<&str>,
        asker: &Asker,
    ) -> Result<Submitted, TradeError> {
        self.modify_inner(order_id, change, approve::Gate::Token(token, asker)).await
    }

    pub(super) async fn modify_inner(
        &self,
        order_id: &str,
        change: OrderChange,
        gate: approve::Gate<'_>,
    ) -> Result<Submitted, TradeError> {
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
        let mut reference = None;
        if let approve::Gate::Token(token, _) = gate
            && self.policy.confirmation == ConfirmationMode::Required
        {
            if token.is_none_or(|t| t.trim().is_empty()) {
                return Err(TradeError::new(
                    ErrorCode::ConfirmationRequired,
                    format!(
                        "modify_order needs a confirmation_token: call preview_order with {} (the order as modified), show it to the user, then call modify_order with its token. (ORDER_CONFIRMATION=required)",
                        preview_args(&new)
                    ),
                ));
            }
            reference = self.tokens.redeem(token, &OrderIntent::Single(new.clone()), now)?;
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
            return Ok(Submitted::Sent(vec![OrderResult { message: Some(msg), dry_run: true, ..current }]));
        }
        match gate {
            approve::Gate::Token(_, asker) => {
                let held = approve::Held::Modify { order_id: order_id.to_string(), change: change.clone() };
                if let Some(a) =
                    self.hold_for_approval(&whole, held, &eval, &facts, reference, asker, None, &[]).await?
                {
                    return Ok(Submitted::Pending(Box::new(a)));
                }
            }
            approve::Gate::Approved(a) => self.check_still_approved(a, &whole, &eval, &facts)?,
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
                Ok(Submitted::Sent(vec![r]))
            }
            Err(e) => Err(match &delta {
                Some(base) => self.dispatch_failed(base, e, done),
                None => e.into(),
            }),
        }
    }
}
