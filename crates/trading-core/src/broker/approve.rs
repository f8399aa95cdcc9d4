//! Human approval in the order path: an order that needs a person's yes is held (after the
//! guard and the token, before anything leaves) as an [`Approval`]; when a person approves it
//! through a channel, the broker places it itself, after the guard has run again and the
//! price has not drifted, under a client order id derived from the approval (so no retry can
//! send it twice).

use super::*;
use crate::approval::{Approval, ApprovalState, Reach, Shown};

/// What an order tool's call came to.
#[derive(Debug, Clone)]
pub enum Submitted {
    Sent(Vec<OrderResult>),
    /// Held for a person's approval; nothing has been sent.
    Pending(Box<Approval>),
}

/// Who asks for an order, and which approval channels can reach a person for this call.
#[derive(Debug, Clone)]
pub struct Asker {
    /// The OAuth client, or "local" over stdio.
    pub principal: String,
    pub reach: Reach,
}

impl Asker {
    /// A local caller with no approval channel: an order that needs approval is refused.
    pub fn local() -> Self {
        Asker { principal: "local".into(), reach: Reach::default() }
    }
}

/// A person's answer.
#[derive(Debug, Clone)]
pub enum Decision {
    Approve,
    Reject(String),
}

/// What an approval holds to place once approved.
#[derive(Debug, Clone)]
pub(crate) enum Held {
    Order,
    Modify { order_id: String, change: OrderChange },
}

/// The price an order is judged against for drift: the last trade, else the mid.
pub(crate) fn reference_price(q: Option<&crate::account::Quote>) -> Option<Decimal> {
    let q = q?;
    let pos = |p: Option<Price>| p.map(|p| p.0).filter(|v| *v > Decimal::ZERO);
    pos(q.last).or_else(|| Some((pos(q.bid)? + pos(q.ask)?) / Decimal::TWO))
}

/// Client order ids derived from an approval: the same approval always sends the same ids.
pub(crate) fn approval_ids(id: &str) -> BracketIds {
    BracketIds { entry: id.to_string(), take_profit: format!("{id}tp"), stop_loss: format!("{id}sl") }
}

impl GuardedBroker {
    pub fn approvals(&self) -> &Arc<crate::approval::ApprovalStore> {
        &self.approvals
    }

    /// Whether the account is live, from what the venue said (else the configuration).
    fn live(&self, eval: &Evaluation) -> bool {
        eval.verified_paper == Some(false) || self.policy.mode == crate::config::TradingMode::Live
    }

    /// The fingerprint a person will see for `intent` on the account `eval` names.
    pub(super) fn order_digest(&self, intent: &OrderIntent, eval: &Evaluation) -> String {
        crate::approval::digest(eval.account_id.as_deref(), self.live(eval), &self.venue.name(), intent)
    }

    /// Holds the order for a person's approval when the policy asks for one: `Ok(None)` when
    /// it does not, an error naming the setting when no channel can reach a person.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn hold_for_approval(
        &self,
        intent: &OrderIntent,
        held: Held,
        eval: &Evaluation,
        facts: &Facts,
        reference: Option<Decimal>,
        asker: &Asker,
        tag: Option<&str>,
        cancel_first: &[OrderResult],
    ) -> Result<Option<Approval>, TradeError> {
        let value = eval.notional.or_else(|| {
            let q = intent.primary().size.quantity()?;
            Some(q * eval.worst_price.or(reference_price(facts.quote.as_ref()))?)
        });
        if !self.policy.approval.needed(self.policy.mode, self.live(eval), value) {
            return Ok(None);
        }
        let channel = self.policy.approval.channel(self.policy.mode, asker.reach)?;
        let preview = self.venue.preview(intent.primary()).await.ok();
        let digest = self.order_digest(intent, eval);
        let now = facts.now;
        let banner = if self.live(eval) {
            "LIVE"
        } else if self.venue.name().contains("simulator") {
            "SIMULATOR"
        } else {
            "PAPER"
        };
        let approval = Approval {
            id: crate::approval::random_id(),
            fingerprint: crate::approval::fingerprint(&digest),
            digest,
            principal: asker.principal.clone(),
            channel,
            created: now,
            expires_at: now + chrono::Duration::seconds(i64::try_from(self.policy.approval.ttl_secs).unwrap_or(300)),
            state: ApprovalState::Pending,
            order: intent.clone(),
            shown: Shown {
                account_id: eval.account_id.clone(),
                banner,
                venue: self.venue.name(),
                currency: eval.currency.clone(),
                estimated_value: value,
                estimated_fees: preview.as_ref().and_then(|p| p.commission).map(|m| m.0),
                margin_impact: preview.as_ref().and_then(|p| p.margin_change).map(|m| m.0),
                reference_price: reference.or_else(|| reference_price(facts.quote.as_ref())),
                quote_at: now,
                checks: eval.checks.clone(),
            },
            reason: None,
            decided_by: None,
            results: vec![],
            secret: crate::approval::random_id(),
            cancel_first: cancel_first.to_vec(),
            tag: tag.map(str::to_string),
        };
        let mut rec = self.approval_record(&approval, "approval_pending", None);
        rec.message = Some(format!(
            "waiting for a person's approval via {} until {} (fingerprint {}){}",
            channel.as_str(),
            approval.expires_at.to_rfc3339(),
            approval.fingerprint,
            match &held {
                Held::Modify { order_id, .. } => format!("; modifies order {order_id}"),
                Held::Order => String::new(),
            }
        ));
        self.journal.append(rec).map_err(Self::journal_err)?;
        self.held.lock().unwrap_or_else(|p| p.into_inner()).insert(approval.id.clone(), held);
        self.approvals.insert(approval.clone());
        Ok(Some(approval))
    }

    /// The journal line of an approval's step.
    fn approval_record(&self, a: &Approval, status: &str, by: Option<&str>) -> JournalRecord {
        JournalRecord {
            account_id: a.shown.account_id.clone(),
            is_paper: Some(a.shown.banner != "LIVE"),
            status: status.into(),
            approval_id: Some(a.id.clone()),
            channel: Some(a.channel.as_str().into()),
            caller: Some(by.unwrap_or(&a.principal).to_string()),
            notional: None,
            ..self.record(a.order.primary(), None, RecordKind::Approval, self.clock.now())
        }
    }

    fn journal_approval(&self, a: &Approval, status: &str, by: Option<&str>, message: Option<String>) {
        let mut rec = self.approval_record(a, status, by);
        rec.message = message;
        if let Err(e) = self.journal.append(rec) {
            tracing::error!("the journal could not record an approval's {status}: {e}");
        }
    }

    /// Pending approvals whose time ran out become expired (journaled; nothing is sent).
    pub fn expire_approvals(&self) {
        for a in self.approvals.expire(self.clock.now()) {
            self.held.lock().unwrap_or_else(|p| p.into_inner()).remove(&a.id);
            self.journal_approval(&a, "expired", None, a.reason.clone());
        }
    }

    /// Approvals a previous run left pending: dropped, nothing sent, and the journal says so.
    pub(super) fn drop_stale_approvals(&self) {
        let open = self.journal.with_index(|i| i.open_approvals());
        for id in open {
            let rec = JournalRecord {
                timestamp: self.journal.timestamp(self.clock.now()),
                kind: RecordKind::Approval,
                venue: self.venue.name(),
                status: "dropped".into(),
                approval_id: Some(id.clone()),
                message: Some(
                    "the server restarted while this approval was pending: it was dropped and nothing was sent".into(),
                ),
                ..Default::default()
            };
            if let Err(e) = self.journal.append(rec) {
                tracing::error!("the journal could not record a dropped approval {id}: {e}");
            }
        }
    }

    /// The agent withdraws an approval it asked for; nothing is sent.
    pub fn cancel_approval(&self, id: &str) -> Result<Approval, TradeError> {
        self.expire_approvals();
        let a = self
            .approvals
            .update(id, |a| {
                if a.state == ApprovalState::Pending {
                    a.state = ApprovalState::Cancelled;
                    a.reason = Some("withdrawn by the agent (cancel_approval); nothing was sent".into());
                }
                a.clone()
            })
            .ok_or_else(|| unknown_approval(id))?;
        if a.state == ApprovalState::Cancelled {
            self.held.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
            self.journal_approval(&a, "cancelled", None, a.reason.clone());
        }
        Ok(a)
    }

    /// A person's answer through `channel`. Approve places the order (once: a replay sees it
    /// placed); `shown_digest` is the digest (or at least its first 8 digits) the channel
    /// showed the person, refused when it is not this approval's order.
    pub async fn decide(
        &self,
        id: &str,
        decision: Decision,
        by: &str,
        shown_digest: Option<&str>,
    ) -> Result<Approval, TradeError> {
        self.expire_approvals();
        let current = self.approvals.get(id).ok_or_else(|| unknown_approval(id))?;
        // A channel shows the whole digest (the page) or a prefix of it (a button's data).
        if let Some(seen) = shown_digest
            && (seen.len() < 8 || !current.digest.starts_with(seen))
        {
            return Err(TradeError::new(
                ErrorCode::Validation,
                format!(
                    "approval {} is for a different order than the one shown (fingerprint {}); nothing was sent",
                    current.fingerprint, current.fingerprint
                ),
            ));
        }
        // pending -> approved/rejected happens once, under the store's lock.
        let taken = self
            .approvals
            .update(id, |a| {
                if a.state != ApprovalState::Pending {
                    return None;
                }
                a.decided_by = Some(by.to_string());
                match &decision {
                    Decision::Approve => a.state = ApprovalState::Approved,
                    Decision::Reject(why) => {
                        a.state = ApprovalState::Rejected;
                        a.reason = Some(format!("rejected by {by}: {why}; nothing was sent"));
                    }
                }
                Some(a.clone())
            })
            .flatten();
        let Some(a) = taken else {
            return Ok(current);
        };
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        if let Decision::Reject(_) = decision {
            self.journal_approval(&a, "rejected", Some(by), a.reason.clone());
            return Ok(a);
        }
        self.journal_approval(&a, "approved", Some(by), Some(format!("approved via {}", a.channel.as_str())));
        let outcome = match held {
            Some(Held::Order) => self.place_approved(&a).await,
            Some(Held::Modify { order_id, change }) => {
                self.modify_inner(&order_id, change, Gate::Approved(&a)).await.map(|s| match s {
                    Submitted::Sent(v) => v,
                    Submitted::Pending(_) => vec![],
                })
            }
            None => Err(TradeError::new(ErrorCode::Internal, "the approved order is no longer held; nothing was sent")),
        };
        let (state, reason, results) = match outcome {
            Ok(results) => (ApprovalState::Placed, None, results),
            Err(e) => (ApprovalState::Blocked, Some(e.message.clone()), vec![]),
        };
        let done = self
            .approvals
            .update(id, |x| {
                x.state = state;
                x.reason = reason.clone();
                x.results = results.clone();
                x.clone()
            })
            .unwrap_or(a);
        if state == ApprovalState::Blocked {
            self.journal_approval(&done, "blocked", Some(by), reason);
        }
        Ok(done)
    }

    /// Places an approved order: the guard again (time has passed), the account and the
    /// order must still be the approved ones, and market and stop orders must not have
    /// drifted; sent under ids derived from the approval.
    async fn place_approved(&self, a: &Approval) -> Result<Vec<OrderResult>, TradeError> {
        let intent = a.order.clone();
        let _serial = self.placement.lock().await;
        let except: Vec<String> = a.cancel_first.iter().filter_map(|w| w.order_id.clone()).collect();
        let (facts, _) = self.facts(intent.primary(), &except).await?;
        let (approved, eval) = match self.evaluate(&intent, &facts) {
            Ok(v) => v,
            Err(e) => {
                let now = facts.now;
                if let Err(je) = self.journal.append(self.blocked_record(intent.primary(), &e, now)) {
                    tracing::error!("the journal could not record a refusal: {je}");
                }
                return Err(TradeError { message: format!("approved, but refused when placed: {}", e.message), ..e });
            }
        };
        self.check_still_approved(a, &intent, &eval, &facts)?;
        self.send(approved, &eval, a.tag.as_deref(), &a.cancel_first, Some(approval_ids(&a.id)), facts.now).await
    }

    /// The approval still describes what would be sent: same account and order (digest) and,
    /// for market and stop orders, a price within APPROVAL_MAX_DRIFT_PCT of the preview's.
    pub(super) fn check_still_approved(
        &self,
        a: &Approval,
        intent: &OrderIntent,
        eval: &Evaluation,
        facts: &Facts,
    ) -> Result<(), TradeError> {
        if self.order_digest(intent, eval) != a.digest {
            return Err(TradeError::blocked(
                "approval_digest",
                None,
                format!(
                    "approved, but NOT placed: the order or the account is no longer the one approved (fingerprint {}); preview it again",
                    a.fingerprint
                ),
            ));
        }
        let drifts = matches!(intent.primary().order_type, OrderType::Market | OrderType::Stop | OrderType::Trail);
        if let (true, Some(then), Some(now)) = (drifts, a.shown.reference_price, reference_price(facts.quote.as_ref()))
            && then > Decimal::ZERO
        {
            let moved = ((now - then) / then * Decimal::ONE_HUNDRED).abs();
            if moved > self.policy.approval.max_drift_pct {
                return Err(TradeError::blocked(
                    "approval_drift",
                    Some("APPROVAL_MAX_DRIFT_PCT"),
                    format!(
                        "approved, but NOT placed: {} moved {}% since the preview ({then} -> {now}), more than APPROVAL_MAX_DRIFT_PCT={}%; preview it again",
                        intent.primary().symbol,
                        moved.round_dp(2).normalize(),
                        self.policy.approval.max_drift_pct.normalize()
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn unknown_approval(id: &str) -> TradeError {
    TradeError::new(
        ErrorCode::NotFound,
        format!("no approval '{id}' (approvals do not survive a restart; see pending_approvals)"),
    )
}

/// How a modification is let through: a preview's token (then it may be held for approval),
/// or an approval a person gave.
pub(crate) enum Gate<'a> {
    Token(Option<&'a str>, &'a Asker),
    Approved(&'a Approval),
}
