//! Closing a position: the working exits it cancels first, and what it refuses to sell
//! (an option, a future) as if it were the stock.

use super::*;

impl GuardedBroker {
    /// Closes the whole position in `symbol` with an opposite market order (through every
    /// guard; an exit is never value-capped, clock-trapped or halted).
    pub async fn close_position(&self, symbol: &str, token: Option<&str>) -> Result<CloseOutcome, TradeError> {
        self.close_position_as(symbol, token, &Asker::local()).await
    }

    /// As [`GuardedBroker::close_position`] for `asker`: a close that needs a person's
    /// approval is held and comes back with `pending_approval`.
    pub async fn close_position_as(
        &self,
        symbol: &str,
        token: Option<&str>,
        asker: &Asker,
    ) -> Result<CloseOutcome, TradeError> {
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
                pending_approval: None,
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
            return Ok(CloseOutcome {
                closed: false,
                reason: Some(reason),
                result: None,
                pending_approval: None,
                cancelled_first: vec![],
            });
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
        match self.submit_tagged(OrderIntent::Single(order), token, Some("close"), &cancel, asker).await? {
            Submitted::Sent(results) => {
                let cancelled_first = if self.policy.dry_run { vec![] } else { cancel };
                Ok(CloseOutcome {
                    closed: true,
                    reason: note,
                    result: results.into_iter().next(),
                    pending_approval: None,
                    cancelled_first,
                })
            }
            Submitted::Pending(a) => Ok(CloseOutcome {
                closed: false,
                reason: Some(format!(
                    "waiting for a person's approval (fingerprint {}); the working exits are cancelled only when it is approved",
                    a.fingerprint
                )),
                result: None,
                pending_approval: Some(a),
                cancelled_first: vec![],
            }),
        }
    }

    /// On a spot venue the sellable balance is the free one: a refused sell names the open
    /// orders that hold the rest.
    pub(super) async fn name_locking_orders(&self, e: &mut TradeError, o: &OrderRequest) {
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
    pub(super) fn still_to_fill(&self, working: &[OrderResult]) -> Decimal {
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
    pub(super) fn oca_group(&self, x: &OrderResult) -> Option<String> {
        let id = x.order_id.clone().unwrap_or_default();
        self.journal.with_index(|i| {
            let coid = x.client_order_id.as_deref().or_else(|| i.client_order_id_of(&id))?;
            i.parent_of(coid).map(str::to_string)
        })
    }

    /// Working orders on `symbol` on `side` (the exits a close takes with it).
    pub(super) async fn working_exits(&self, symbol: &str, side: Side) -> Result<Vec<OrderResult>, VenueError> {
        Ok(self
            .venue
            .open_orders()
            .await?
            .into_iter()
            .filter(|o| o.symbol == symbol && o.side == Some(side) && !o.status.is_terminal())
            .collect())
    }

    /// Holdings whose underlying is `symbol` but that are not its shares (a SPY option).
    pub(super) async fn untradable_holdings_on(&self, symbol: &str) -> Vec<String> {
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
}
