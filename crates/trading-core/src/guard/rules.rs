//! The rules, one small function each over the gathered facts: `None` passes, a refusal
//! names the rule and the setting that governs it. `RULES` (in the parent) runs them in order.

use super::*;

/// The venue's identity is readable, is the configured account, and says paper or live.
pub(super) fn rule_identity(c: &Ctx) -> Option<TradeError> {
    let k = c.keys();
    let id = match &c.facts.identity {
        Ok(id) => id,
        Err(why) => {
            return Some(block(
                "identity",
                Some(k.account_id),
                format!(
                    "Could not read the account from {} to confirm paper-vs-live, and there is no prior confirmation. Refusing to trade until it can be confirmed. ({why})",
                    k.venue
                ),
            ));
        }
    };
    if let Some(want) = &c.policy.expected_account {
        match &id.account_id {
            None => {
                return Some(block(
                    "identity",
                    Some(k.account_id),
                    format!(
                        "Could not read the logged-in account from {}. Refusing to trade until the account can be confirmed.",
                        k.venue
                    ),
                ));
            }
            Some(got) if got != want => {
                return Some(block(
                    "account_mismatch",
                    Some(k.account_id),
                    format!(
                        "Account mismatch: configured {}={want} but {} is logged into {got}. Refusing to trade until they match — fix .env or log in to the intended account.",
                        k.account_id, k.venue
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    if id.is_paper.is_none() {
        return Some(block(
            "identity",
            None,
            format!(
                "Could not confirm from {} whether this is a PAPER or a LIVE (real-money) account. Refusing to trade — verify the login before retrying.",
                k.venue
            ),
        ));
    }
    None
}

/// A LIVE account (or LIVE mode), and an unverifiable paper label, need the live arm.
pub(super) fn rule_live_arm(c: &Ctx) -> Option<TradeError> {
    let (k, p) = (c.keys(), c.policy);
    let id = c.identity()?;
    if id.is_paper == Some(false) && !p.allow_live {
        return Some(block(
            "live_arm",
            Some(k.allow_live),
            format!(
                "LIVE account detected (real money) but {0} is not true. Refusing to send the order. Only set {0}=true if you really mean to trade with real money.",
                k.allow_live
            ),
        ));
    }
    if id.is_paper.is_some() && !id.verified && !p.dry_run && !p.allow_live {
        return Some(block(
            "unverified_identity",
            Some(k.allow_live),
            format!(
                "{} can't independently confirm this is a PAPER account, so a real order requires {}=true as an explicit acknowledgement (or keep {}=true).",
                k.venue, k.allow_live, k.dry_run
            ),
        ));
    }
    if p.mode == TradingMode::Live && !p.allow_live {
        return Some(block(
            "live_arm",
            Some(k.allow_live),
            format!("LIVE mode blocked: set {}=true to trade with real money.", k.allow_live),
        ));
    }
    None
}

/// The configured mode matches what the venue reports.
pub(super) fn rule_label_vs_reality(c: &Ctx) -> Option<TradeError> {
    let k = c.keys();
    match (c.identity()?.is_paper?, c.policy.mode) {
        (false, TradingMode::Paper) => Some(block(
            "label_vs_reality",
            Some(k.trading_mode),
            format!(
                "Config disagrees with reality: {} is on a LIVE (real-money) account but {}={}. Set {}=live so the config matches, then retry.",
                k.venue, k.trading_mode, k.paper_label, k.trading_mode
            ),
        )),
        (true, TradingMode::Live) => Some(block(
            "label_vs_reality",
            Some(k.trading_mode),
            format!(
                "Config disagrees with reality: {}=live but {} is on a PAPER account. Set {}={} to match, then retry.",
                k.trading_mode, k.venue, k.trading_mode, k.paper_label
            ),
        )),
        _ => None,
    }
}

/// The kill switch blocks entries, never exits.
pub(super) fn rule_kill_switch(c: &Ctx) -> Option<TradeError> {
    if c.exit {
        return None;
    }
    if c.policy.halted {
        return Some(block(
            "kill_switch",
            Some("TRADING_HALTED"),
            "Trading is halted by the kill switch (TRADING_HALTED=true): new entries are refused; exits and cancels still work. Set TRADING_HALTED=false to resume.".into(),
        ));
    }
    if c.facts.halt_file_present {
        let f = c.policy.halt_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        return Some(block(
            "kill_switch",
            Some("TRADING_HALT_FILE"),
            format!(
                "Trading is halted by the kill switch (halt file {f} exists): new entries are refused; exits and cancels still work. Delete the file (TRADING_HALT_FILE) to resume."
            ),
        ));
    }
    None
}

/// A damaged journal cannot vouch for today's spend and counts: entries wait for a person.
pub(super) fn rule_journal_integrity(c: &Ctx) -> Option<TradeError> {
    if c.exit {
        return None;
    }
    c.facts.journal_damage.clone().map(|m| block("journal_integrity", None, m))
}

/// Deny and allow lists (exits are let out of a position the lists now exclude).
pub(super) fn rule_symbol_lists(c: &Ctx) -> Option<TradeError> {
    if c.exit {
        return None;
    }
    let k = c.keys();
    let instrument = match crate::instrument::Instrument::parse(&c.o.symbol, None) {
        Ok(i) => i,
        Err(e) => return Some(e),
    };
    if instrument.is_listed(&c.policy.denylist) {
        return Some(block(
            "denylist",
            Some(k.denylist),
            format!("Symbol {} is on the deny-list ({}).", c.o.symbol, k.denylist),
        ));
    }
    if !c.policy.allowlist.is_empty() && !instrument.is_listed(&c.policy.allowlist) {
        return Some(block(
            "allowlist",
            Some(k.allowlist),
            format!("Symbol {} is not on the allow-list ({}).", c.o.symbol, k.allowlist),
        ));
    }
    None
}

/// No sell beyond what is held, unless shorting is allowed and the venue can short.
pub(super) fn rule_naked_short(c: &Ctx) -> Option<TradeError> {
    let o = c.o;
    if o.side != Side::Sell || (c.policy.allow_short && c.caps.shorting) {
        return None;
    }
    // The setting that would allow it, where the venue can short at all.
    let arm = c.keys().allow_short.filter(|_| c.caps.shorting);
    let or_arm = |what: &str| arm.map(|k| format!(", or set {k}=true{what}")).unwrap_or_default();
    let h = match &c.facts.held {
        Ok(h) => *h,
        Err(why) => {
            return Some(block(
                "naked_short",
                arm,
                format!(
                    "Could not read the position in {} ({why}), so this SELL cannot be shown not to open a short. Refusing; retry when positions are readable{}.",
                    o.symbol,
                    or_arm("")
                ),
            ));
        }
    };
    let working = match &c.facts.working {
        Ok(w) => *w,
        Err(why) => {
            return Some(block(
                "naked_short",
                arm,
                format!(
                    "Could not read the working orders on {} ({why}), so this SELL cannot be shown not to open a short together with them. Refusing; retry when open orders are readable.",
                    o.symbol
                ),
            ));
        }
    };
    let qty = o.size.quantity().unwrap_or_default();
    let room = exit_room(o, h, working);
    if qty <= room {
        return None;
    }
    if !working.is_zero() {
        return Some(block(
            "naked_short",
            arm,
            format!(
                "Sell of {} {} exceeds what is held ({}) less what working sell orders will sell first ({}): together they would open a short. Cancel a working order or reduce the quantity{}.",
                qty.normalize(),
                o.symbol,
                h.normalize(),
                working.normalize(),
                or_arm(" to allow shorting")
            ),
        ));
    }
    Some(match arm {
        Some(k) => block(
            "naked_short",
            Some(k),
            format!(
                "Sell of {} {} exceeds the held position ({}) — this would open a short. Reduce the quantity (or use close_position to exit fully), or set {k}=true to allow it.",
                qty.normalize(),
                o.symbol,
                h.normalize(),
            ),
        ),
        None => block(
            "naked_short",
            None,
            format!(
                "Sell of {} {} exceeds the held balance ({}): this venue trades spot only and cannot short. Reduce the quantity (or use close_position to sell everything held).",
                qty.normalize(),
                o.symbol,
                h.normalize(),
            ),
        ),
    })
}

/// Market orders that open or add are refused outside RTH; resting orders and exits are
/// never trapped.
pub(super) fn rule_market_hours(c: &Ctx) -> Option<TradeError> {
    if !c.policy.enforce_market_hours
        || c.caps.market_hours != MarketHoursModel::Nyse
        || c.o.order_type != OrderType::Market
        || c.exit
    {
        return None;
    }
    match c.policy.calendar.state_at(c.facts.now) {
        Ok(s) if s.market_open => None,
        Ok(s) => {
            let next = s
                .next_open
                .map(|t| {
                    format!(
                        "; next open {}",
                        t.with_timezone(&chrono_tz::America::New_York).format("%a %Y-%m-%d %H:%M ET")
                    )
                })
                .unwrap_or_default();
            Some(block(
                "market_hours",
                Some("ENFORCE_MARKET_HOURS"),
                format!(
                    "Market closed: orders are only accepted during regular trading hours (RTH) ({}{next}). A limit order can rest until the open; exits are never blocked. Set ENFORCE_MARKET_HOURS=false to turn this check off.",
                    s.reason
                ),
            ))
        }
        Err(e) => Some(block("market_hours", Some("ENFORCE_MARKET_HOURS"), format!("Market closed: {e}"))),
    }
}

/// The order's worst-case value against `MAX_ORDER_VALUE` (and a price to value it at).
pub(super) fn rule_order_value(c: &Ctx) -> Option<TradeError> {
    if c.exit {
        return None;
    }
    let p = c.policy;
    let needs_price = p.max_order_value.is_some() || p.max_daily_value.is_some() || p.max_position_value.is_some();
    if needs_price && c.o.size.cash().is_none() && c.worst.is_none() {
        let last = c.facts.quote.as_ref().and_then(|q| q.last).map(|p| p.to_string()).unwrap_or("None".into());
        return Some(block(
            "order_value",
            Some("MAX_ORDER_VALUE"),
            format!(
                "No usable price for {} (got {last}): cannot validate the order's value limit (MAX_ORDER_VALUE).",
                c.o.symbol
            ),
        ));
    }
    match (p.max_order_value, c.value) {
        (Some(cap), Some(v)) if v > cap => Some(block(
            "order_value",
            Some("MAX_ORDER_VALUE"),
            format!("Order of ~{} exceeds the MAX_ORDER_VALUE limit ({}).", c.money(v), c.money(cap)),
        )),
        _ => None,
    }
}

pub(super) fn rule_order_quantity(c: &Ctx) -> Option<TradeError> {
    match (c.exit, c.policy.max_order_quantity, c.qty_est) {
        (false, Some(cap), Some(q)) if q > cap => Some(block(
            "order_quantity",
            Some("MAX_ORDER_QUANTITY"),
            format!(
                "Order quantity {} exceeds the MAX_ORDER_QUANTITY limit ({}).",
                q.round_dp(6).normalize(),
                cap.normalize()
            ),
        )),
        _ => None,
    }
}

/// The position the order leaves, against `MAX_POSITION_VALUE`.
pub(super) fn rule_position_value(c: &Ctx) -> Option<TradeError> {
    let cap = c.policy.max_position_value.filter(|_| !c.exit)?;
    let h = match &c.facts.held {
        Ok(h) => *h,
        Err(why) => {
            return Some(block(
                "position_value",
                Some("MAX_POSITION_VALUE"),
                format!(
                    "Could not read the position in {} to check the MAX_POSITION_VALUE limit ({why}). Refusing until holdings are readable.",
                    c.o.symbol
                ),
            ));
        }
    };
    let signed = match c.o.side {
        Side::Buy => c.qty_est,
        Side::Sell => c.qty_est.map(|q| -q),
    };
    let (q, p) = (signed?, c.worst?);
    let after = ((h + q).abs() * p).round_dp(2);
    (after > cap && (h + q).abs() > h.abs()).then(|| {
        block(
            "position_value",
            Some("MAX_POSITION_VALUE"),
            format!(
                "The resulting position in {} would be ~{}, above the MAX_POSITION_VALUE limit ({}).",
                c.o.symbol,
                c.money(after),
                c.money(cap)
            ),
        )
    })
}

/// Today's buys (from the journal) plus this one, against `MAX_DAILY_VALUE`.
pub(super) fn rule_daily_value(c: &Ctx) -> Option<TradeError> {
    let notional = if c.o.side == Side::Buy { c.value } else { None };
    match (c.exit, c.policy.max_daily_value, notional) {
        (false, Some(cap), Some(n)) if c.spent + n > cap => Some(block(
            "daily_value",
            Some("MAX_DAILY_VALUE"),
            format!(
                "Daily spend limit reached: ~{} already spent today, this order is ~{}, limit is {} (remaining {}). The limit is MAX_DAILY_VALUE.",
                c.money(c.spent),
                c.money(n),
                c.money(cap),
                c.money((cap - c.spent).max(Decimal::ZERO))
            ),
        )),
        _ => None,
    }
}

pub(super) fn rule_daily_orders(c: &Ctx) -> Option<TradeError> {
    let cap = c.policy.max_daily_orders.filter(|_| !c.exit)?;
    let n = c.index.orders_on(c.day);
    (n >= cap).then(|| {
        block(
            "daily_orders",
            Some("MAX_DAILY_ORDERS"),
            format!("Daily order limit reached: {n} orders already sent today (MAX_DAILY_ORDERS={cap})."),
        )
    })
}

pub(super) fn rule_duplicate_window(c: &Ctx) -> Option<TradeError> {
    let p = c.policy;
    let window = Duration::seconds(i64::try_from(p.duplicate_window_secs).unwrap_or(i64::MAX / 1000));
    c.index.recent_duplicate(&c.o.fingerprint(), c.facts.now, window).map(|_| {
        block(
            "duplicate_window",
            Some("DUPLICATE_WINDOW_SECONDS"),
            format!(
                "Duplicate order blocked: an identical {} {} was just placed (within {}s). Wait, or change DUPLICATE_WINDOW_SECONDS.",
                c.o.side, c.o.symbol, p.duplicate_window_secs
            ),
        )
    })
}

pub(super) fn rule_unresolved_dispatch(c: &Ctx) -> Option<TradeError> {
    let fp = c.o.fingerprint();
    let u = c.index.unresolved().into_iter().find(|u| u.fingerprint.as_deref() == Some(fp.as_str()))?;
    Some(block(
        "unresolved_dispatch",
        None,
        format!(
            "In-flight order unresolved: a previous {} {} was dispatched but never confirmed (timeout or crash), so resending now could place a DUPLICATE live order. Reconcile it first with reconcile_pending (client order id {}), then retry.",
            c.o.side, c.o.symbol, u.client_order_id
        ),
    ))
}

/// A stop that would trigger at once (open when there is no price: a resting stop is not trapped).
pub(super) fn rule_inverted_stop(c: &Ctx) -> Option<TradeError> {
    let o = c.o;
    if !matches!(o.order_type, OrderType::Stop | OrderType::StopLimit) {
        return None;
    }
    let (stop, last) = (pos(o.stop_price)?, c.facts.quote.as_ref().and_then(|q| pos(q.last))?);
    if o.side == Side::Sell && stop >= last {
        return Some(block(
            "inverted_stop",
            None,
            format!(
                "SELL stop at {stop} is at/above the current price ({last}); it would trigger immediately. Put a SELL stop below the market."
            ),
        ));
    }
    if o.side == Side::Buy && stop <= last {
        return Some(block(
            "inverted_stop",
            None,
            format!(
                "BUY stop at {stop} is at/below the current price ({last}); it would trigger immediately. Put a BUY stop above the market."
            ),
        ));
    }
    None
}

/// Bracket exits that would fill or trigger the moment the entry fills.
pub(super) fn rule_bracket_exits(c: &Ctx) -> Option<TradeError> {
    let OrderIntent::Bracket(b) = c.intent else { return None };
    let last = c.facts.quote.as_ref().and_then(|q| pos(q.last))?;
    let fill = match (b.entry.side, pos(b.entry.limit_price)) {
        (Side::Buy, Some(l)) => l.min(last),
        (Side::Sell, Some(l)) => l.max(last),
        (_, None) => last,
    };
    let (tp, sl) = (b.take_profit.0, b.stop_loss.0);
    let msg = match b.entry.side {
        Side::Buy if sl >= fill => format!(
            "Bracket stop-loss {sl} is at/above the entry fill (~{fill}); the SELL stop would trigger immediately when the entry fills — check the levels."
        ),
        Side::Buy if tp <= fill => format!(
            "Bracket take-profit {tp} is at/below the entry fill (~{fill}); the SELL limit would fill immediately when the entry fills — check the levels."
        ),
        Side::Sell if sl <= fill => format!(
            "Bracket stop-loss {sl} is at/below the entry fill (~{fill}); the BUY stop would trigger immediately when the entry fills — check the levels."
        ),
        Side::Sell if tp >= fill => format!(
            "Bracket take-profit {tp} is at/above the entry fill (~{fill}); the BUY limit would fill immediately when the entry fills — check the levels."
        ),
        _ => return None,
    };
    Some(block("bracket_exits", None, msg))
}
