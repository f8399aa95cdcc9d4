//! What the venue says after the fact: status updates journaled as they are seen, cancels,
//! reconciling unresolved dispatches, and the safety posture computed when asked.

use super::*;

impl GuardedBroker {
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

    pub(super) fn lookup_symbol(&self, order_id: &str, given: Option<&str>) -> Result<Option<String>, TradeError> {
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
            halted_by: if halt_file { self.halted_by() } else { None },
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

    /// The kill switch from outside the chat (the console): halts new entries by writing the
    /// halt file (TRADING_HALT_FILE), so a restart keeps it. `by` says who, for session_status.
    pub fn halt(&self, by: &str) -> Result<(), TradeError> {
        let path = self.halt_path()?;
        let line = format!("halted by {by} at {}\n", self.clock.now().to_rfc3339());
        std::fs::write(path, line).map_err(|e| {
            TradeError::new(ErrorCode::Internal, format!("could not write the halt file {}: {e}", path.display()))
        })
    }

    /// Lifts the console's kill switch (removes the halt file; TRADING_HALTED=true stays).
    pub fn resume(&self) -> Result<(), TradeError> {
        let path = self.halt_path()?;
        match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(TradeError::new(
                ErrorCode::Internal,
                format!("could not remove the halt file {}: {e}", path.display()),
            )),
        }
    }

    fn halt_path(&self) -> Result<&std::path::Path, TradeError> {
        self.policy.halt_file.as_deref().ok_or_else(|| {
            TradeError::new(ErrorCode::Unsupported, "no halt file is configured (TRADING_HALT_FILE)")
                .with_setting("TRADING_HALT_FILE")
        })
    }

    /// Who halted and when, from the halt file's first line.
    fn halted_by(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.policy.halt_file.as_ref()?).ok()?;
        let line = text.lines().next()?.trim();
        (!line.is_empty()).then(|| line.chars().take(200).collect())
    }
}
