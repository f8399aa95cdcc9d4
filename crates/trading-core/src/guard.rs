//! The guard rules as one pure function of the order, the policy and the facts gathered from
//! the venue, the clock and the journal. Only a passing evaluation yields an [`Approved`]
//! order, and only an [`Approved`] order can reach a venue's order entry.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::{
    account::{AccountIdentity, Capabilities, MarketHoursModel, Quote},
    config::{Policy, TradingMode},
    error::TradeError,
    journal::JournalIndex,
    money::fmt_money,
    order::{OrderIntent, OrderRequest, OrderType, Side, Size, Trail},
};

/// An order that passed every guard. It cannot be built outside this crate, so a venue's
/// order entry cannot be reached without the guard.
#[derive(Debug, Clone)]
pub struct Approved<T>(T);

impl<T> Approved<T> {
    pub(crate) fn new(t: T) -> Self {
        Self(t)
    }
    /// The approved order.
    pub fn get(&self) -> &T {
        &self.0
    }
}

/// What the guard needs to know, gathered before it runs.
#[derive(Debug, Clone)]
pub struct Facts {
    pub now: DateTime<Utc>,
    /// The venue's identity, or why it could not be read.
    pub identity: Result<AccountIdentity, String>,
    pub quote: Option<Quote>,
    /// The signed holding in the symbol, or why it could not be read.
    pub held: Result<Decimal, String>,
    pub halt_file_present: bool,
}

/// The guard's verdict on an order that passed.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Worst-case value of a BUY (cash amount, or quantity at the highest plausible price).
    pub notional: Option<Decimal>,
    /// The order reduces an existing position (never value-capped or trapped by the clock).
    pub is_exit: bool,
    pub worst_price: Option<Decimal>,
    pub currency: String,
    pub spent_today: Decimal,
    pub verified_paper: Option<bool>,
    pub account_id: Option<String>,
    pub checks: Vec<&'static str>,
}

fn block(rule: &'static str, setting: Option<&'static str>, msg: String) -> TradeError {
    TradeError::blocked(rule, setting, msg)
}

fn pos(d: Option<crate::money::Price>) -> Option<Decimal> {
    d.map(|p| p.0).filter(|v| *v > Decimal::ZERO)
}

/// The highest price a BUY can plausibly pay, or for a short sale the value it opens at.
fn worst_price(o: &OrderRequest, q: Option<&Quote>) -> Option<Decimal> {
    // A buy with a limit (LMT, STOP_LIMIT) can never pay more than its limit (ADR-006).
    if o.side == Side::Buy
        && matches!(o.order_type, OrderType::Limit | OrderType::StopLimit)
        && let Some(limit) = pos(o.limit_price)
    {
        return Some(limit);
    }
    let last = q.and_then(|q| pos(q.last));
    let touch = q.and_then(|q| pos(if o.side == Side::Buy { q.ask } else { q.bid }));
    let market = [last, touch].into_iter().flatten().max();
    let mut p = [market, pos(o.limit_price), pos(o.stop_price)].into_iter().flatten().max()?;
    if o.order_type == OrderType::Trail && o.side == Side::Buy {
        p += match o.trail {
            Some(Trail::Amount(a)) => a.0,
            Some(Trail::Percent(pct)) => p * pct / Decimal::ONE_HUNDRED,
            None => Decimal::ZERO,
        };
    }
    Some(p)
}

/// Whether the order only reduces a position we hold.
fn is_exit(o: &OrderRequest, held: Option<Decimal>) -> bool {
    let (Some(held), Some(qty)) = (held, o.size.quantity()) else {
        return false;
    };
    match o.side {
        Side::Sell => held > Decimal::ZERO && qty <= held,
        Side::Buy => held < Decimal::ZERO && qty <= -held,
    }
}

/// Runs every guard in order. `index` is the journal's index; `caps` the venue's capabilities.
pub fn evaluate(
    intent: &OrderIntent,
    policy: &Policy,
    caps: &Capabilities,
    facts: &Facts,
    index: &JournalIndex,
    day: chrono::NaiveDate,
) -> Result<(Approved<OrderIntent>, Evaluation), TradeError> {
    intent.validate()?;
    let o = intent.primary();
    let k = &policy.keys;
    let ccy = caps.quote_currency.as_str();
    let money = |d: Decimal| fmt_money(d, ccy);
    let mut checks = vec!["validation"];

    // 1. Venue identity, live arm, label versus reality.
    let id = match &facts.identity {
        Ok(id) => id.clone(),
        Err(why) => {
            return Err(block(
                "identity",
                Some(k.account_id),
                format!(
                    "Could not read the account from {} to confirm paper-vs-live, and there is no prior confirmation. Refusing to trade until it can be confirmed. ({why})",
                    k.venue
                ),
            ));
        }
    };
    if let Some(want) = &policy.expected_account {
        match &id.account_id {
            None => {
                return Err(block(
                    "identity",
                    Some(k.account_id),
                    format!(
                        "Could not read the logged-in account from {}. Refusing to trade until the account can be confirmed.",
                        k.venue
                    ),
                ));
            }
            Some(got) if got != want => {
                return Err(block(
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
    let Some(paper) = id.is_paper else {
        return Err(block(
            "identity",
            None,
            format!(
                "Could not confirm from {} whether this is a PAPER or a LIVE (real-money) account. Refusing to trade — verify the login before retrying.",
                k.venue
            ),
        ));
    };
    if !paper && !policy.allow_live {
        return Err(block(
            "live_arm",
            Some(k.allow_live),
            format!(
                "LIVE account detected (real money) but {0} is not true. Refusing to send the order. Only set {0}=true if you really mean to trade with real money.",
                k.allow_live
            ),
        ));
    }
    match (paper, policy.mode) {
        (false, TradingMode::Paper) => {
            return Err(block(
                "label_vs_reality",
                Some(k.trading_mode),
                format!(
                    "Config disagrees with reality: {} is on a LIVE (real-money) account but {}={}. Set {}=live so the config matches, then retry.",
                    k.venue, k.trading_mode, k.paper_label, k.trading_mode
                ),
            ));
        }
        (true, TradingMode::Live) => {
            return Err(block(
                "label_vs_reality",
                Some(k.trading_mode),
                format!(
                    "Config disagrees with reality: {}=live but {} is on a PAPER account. Set {}={} to match, then retry.",
                    k.trading_mode, k.venue, k.trading_mode, k.paper_label
                ),
            ));
        }
        _ => {}
    }
    if !id.verified && !policy.dry_run && !policy.allow_live {
        return Err(block(
            "unverified_identity",
            Some(k.allow_live),
            format!(
                "{} can't independently confirm this is a PAPER account, so a real order requires {}=true as an explicit acknowledgement (or keep {}=true).",
                k.venue, k.allow_live, k.dry_run
            ),
        ));
    }
    if policy.mode == TradingMode::Live && !policy.allow_live {
        return Err(block(
            "live_arm",
            Some(k.allow_live),
            format!("LIVE mode blocked: set {}=true to trade with real money.", k.allow_live),
        ));
    }
    checks.extend(["identity", "live_arm", "label_vs_reality"]);

    let held = facts.held.as_ref().ok().copied();
    let exit = matches!(intent, OrderIntent::Single(_)) && is_exit(o, held);

    // 2. Kill switch: blocks entries, never exits.
    if !exit {
        if policy.halted {
            return Err(block("kill_switch", Some("TRADING_HALTED"),
                "Trading is halted by the kill switch (TRADING_HALTED=true): new entries are refused; exits and cancels still work. Set TRADING_HALTED=false to resume.".into()));
        }
        if facts.halt_file_present {
            let f = policy.halt_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            return Err(block(
                "kill_switch",
                Some("TRADING_HALT_FILE"),
                format!(
                    "Trading is halted by the kill switch (halt file {f} exists): new entries are refused; exits and cancels still work. Delete the file (TRADING_HALT_FILE) to resume."
                ),
            ));
        }
    }
    checks.push("kill_switch");

    // 3. Deny and allow lists (exits are let out of a position the lists now exclude).
    if !exit {
        let instrument = crate::instrument::Instrument::parse(&o.symbol, None)?;
        if instrument.is_listed(&policy.denylist) {
            return Err(block(
                "denylist",
                Some(k.denylist),
                format!("Symbol {} is on the deny-list ({}).", o.symbol, k.denylist),
            ));
        }
        if !policy.allowlist.is_empty() && !instrument.is_listed(&policy.allowlist) {
            return Err(block(
                "allowlist",
                Some(k.allowlist),
                format!("Symbol {} is not on the allow-list ({}).", o.symbol, k.allowlist),
            ));
        }
    }
    checks.push("symbol_lists");

    // 4. Market hours: market orders that open or add are refused outside RTH; resting
    //    orders and exits are never trapped.
    if policy.enforce_market_hours
        && caps.market_hours == MarketHoursModel::Nyse
        && o.order_type == OrderType::Market
        && !exit
    {
        match policy.calendar.state_at(facts.now) {
            Ok(s) if s.market_open => {}
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
                return Err(block(
                    "market_hours",
                    Some("ENFORCE_MARKET_HOURS"),
                    format!(
                        "Market closed: orders are only accepted during regular trading hours (RTH) ({}{next}). A limit order can rest until the open; exits are never blocked. Set ENFORCE_MARKET_HOURS=false to turn this check off.",
                        s.reason
                    ),
                ));
            }
            Err(e) => return Err(block("market_hours", Some("ENFORCE_MARKET_HOURS"), format!("Market closed: {e}"))),
        }
    }
    checks.push("market_hours");

    // 5. Value and quantity caps on entries.
    let quote = facts.quote.as_ref();
    let worst = worst_price(o, quote);
    let qty_est = match o.size {
        Size::Quantity(q) => Some(q.0),
        Size::Cash(c) => worst.map(|p| c.0 / p),
    };
    let value = match o.size {
        Size::Cash(c) => Some(c.0),
        Size::Quantity(q) => worst.map(|p| (q.0 * p).round_dp(2)),
    };
    let needs_price = !exit
        && (policy.max_order_value.is_some()
            || policy.max_daily_value.is_some()
            || policy.max_position_value.is_some());
    if needs_price && o.size.cash().is_none() && worst.is_none() {
        let last = quote.and_then(|q| q.last).map(|p| p.to_string()).unwrap_or("None".into());
        return Err(block(
            "order_value",
            Some("MAX_ORDER_VALUE"),
            format!(
                "No usable price for {} (got {last}): cannot validate the order's value limit (MAX_ORDER_VALUE).",
                o.symbol
            ),
        ));
    }
    if !exit {
        if let (Some(cap), Some(v)) = (policy.max_order_value, value)
            && v > cap
        {
            return Err(block(
                "order_value",
                Some("MAX_ORDER_VALUE"),
                format!("Order of ~{} exceeds the MAX_ORDER_VALUE limit ({}).", money(v), money(cap)),
            ));
        }
        if let (Some(cap), Some(q)) = (policy.max_order_quantity, qty_est)
            && q > cap
        {
            return Err(block(
                "order_quantity",
                Some("MAX_ORDER_QUANTITY"),
                format!(
                    "Order quantity {} exceeds the MAX_ORDER_QUANTITY limit ({}).",
                    q.round_dp(6).normalize(),
                    cap.normalize()
                ),
            ));
        }
        if let Some(cap) = policy.max_position_value {
            let h = match &facts.held {
                Ok(h) => *h,
                Err(why) => {
                    return Err(block(
                        "position_value",
                        Some("MAX_POSITION_VALUE"),
                        format!(
                            "Could not read the position in {} to check the MAX_POSITION_VALUE limit ({why}). Refusing until holdings are readable.",
                            o.symbol
                        ),
                    ));
                }
            };
            let signed = match o.side {
                Side::Buy => qty_est,
                Side::Sell => qty_est.map(|q| -q),
            };
            if let (Some(q), Some(p)) = (signed, worst) {
                let after = ((h + q).abs() * p).round_dp(2);
                if after > cap && (h + q).abs() > h.abs() {
                    return Err(block(
                        "position_value",
                        Some("MAX_POSITION_VALUE"),
                        format!(
                            "The resulting position in {} would be ~{}, above the MAX_POSITION_VALUE limit ({}).",
                            o.symbol,
                            money(after),
                            money(cap)
                        ),
                    ));
                }
            }
        }
    }
    checks.extend(["order_value", "order_quantity", "position_value"]);

    // 6. Daily spend and order count (entries; exits are never trapped).
    let spent = index.spent_on(day);
    let notional = if o.side == Side::Buy { value } else { None };
    if !exit {
        if let (Some(cap), Some(n)) = (policy.max_daily_value, notional)
            && spent + n > cap
        {
            let remaining = (cap - spent).max(Decimal::ZERO);
            return Err(block(
                "daily_value",
                Some("MAX_DAILY_VALUE"),
                format!(
                    "Daily spend limit reached: ~{} already spent today, this order is ~{}, limit is {} (remaining {}). The limit is MAX_DAILY_VALUE.",
                    money(spent),
                    money(n),
                    money(cap),
                    money(remaining)
                ),
            ));
        }
        if let Some(cap) = policy.max_daily_orders {
            let n = index.orders_on(day);
            if n >= cap {
                return Err(block(
                    "daily_orders",
                    Some("MAX_DAILY_ORDERS"),
                    format!("Daily order limit reached: {n} orders already sent today (MAX_DAILY_ORDERS={cap})."),
                ));
            }
        }
    }
    checks.extend(["daily_value", "daily_orders"]);

    // 7. Duplicate window and unresolved in-flight dispatches (all orders).
    let window = Duration::seconds(i64::try_from(policy.duplicate_window_secs).unwrap_or(i64::MAX / 1000));
    if index.recent_duplicate(&o.fingerprint(), facts.now, window).is_some() {
        return Err(block(
            "duplicate_window",
            Some("DUPLICATE_WINDOW_SECONDS"),
            format!(
                "Duplicate order blocked: an identical {} {} was just placed (within {}s). Wait, or change DUPLICATE_WINDOW_SECONDS.",
                o.side, o.symbol, policy.duplicate_window_secs
            ),
        ));
    }
    checks.push("duplicate_window");
    let fp = o.fingerprint();
    if let Some(u) = index.unresolved().into_iter().find(|u| u.fingerprint.as_deref() == Some(fp.as_str())) {
        return Err(block(
            "unresolved_dispatch",
            None,
            format!(
                "In-flight order unresolved: a previous {} {} was dispatched but never confirmed (timeout or crash), so resending now could place a DUPLICATE live order. Reconcile it first with reconcile_pending (client order id {}), then retry.",
                o.side, o.symbol, u.client_order_id
            ),
        ));
    }
    checks.push("unresolved_dispatch");

    // 8. No naked short.
    if o.side == Side::Sell && (!policy.allow_short || !caps.shorting) {
        match &facts.held {
            Ok(h) => {
                let qty = o.size.quantity().unwrap_or_default();
                let avail = (*h).max(Decimal::ZERO);
                if qty > avail && !caps.shorting {
                    return Err(block(
                        "naked_short",
                        None,
                        format!(
                            "Sell of {} {} exceeds the held balance ({}): this venue trades spot only and cannot short. Reduce the quantity (or use close_position to sell everything held).",
                            qty.normalize(),
                            o.symbol,
                            h.normalize(),
                        ),
                    ));
                }
                if qty > avail {
                    return Err(block(
                        "naked_short",
                        Some(k.allow_short),
                        format!(
                            "Sell of {} {} exceeds the held position ({}) — this would open a short. Reduce the quantity (or use close_position to exit fully), or set {}=true to allow it.",
                            qty.normalize(),
                            o.symbol,
                            h.normalize(),
                            k.allow_short
                        ),
                    ));
                }
            }
            Err(why) => {
                return Err(block(
                    "naked_short",
                    Some(k.allow_short),
                    format!(
                        "Could not read the position in {} ({why}), so this SELL cannot be shown not to open a short. Refusing; retry when positions are readable, or set {}=true.",
                        o.symbol, k.allow_short
                    ),
                ));
            }
        }
    }
    checks.push("naked_short");

    // 9. Inverted stop (open when there is no price: a resting stop is not trapped).
    if matches!(o.order_type, OrderType::Stop | OrderType::StopLimit)
        && let (Some(stop), Some(last)) = (pos(o.stop_price), quote.and_then(|q| pos(q.last)))
    {
        if o.side == Side::Sell && stop >= last {
            return Err(block(
                "inverted_stop",
                None,
                format!(
                    "SELL stop at {stop} is at/above the current price ({last}); it would trigger immediately. Put a SELL stop below the market."
                ),
            ));
        }
        if o.side == Side::Buy && stop <= last {
            return Err(block(
                "inverted_stop",
                None,
                format!(
                    "BUY stop at {stop} is at/below the current price ({last}); it would trigger immediately. Put a BUY stop above the market."
                ),
            ));
        }
    }
    checks.push("inverted_stop");

    // 10. Bracket exits against the market.
    if let OrderIntent::Bracket(b) = intent
        && let Some(last) = quote.and_then(|q| pos(q.last))
    {
        let fill = match (b.entry.side, pos(b.entry.limit_price)) {
            (Side::Buy, Some(l)) => l.min(last),
            (Side::Sell, Some(l)) => l.max(last),
            (_, None) => last,
        };
        let (tp, sl) = (b.take_profit.0, b.stop_loss.0);
        let msg = match b.entry.side {
            Side::Buy if sl >= fill => Some(format!(
                "Bracket stop-loss {sl} is at/above the entry fill (~{fill}); the SELL stop would trigger immediately when the entry fills — check the levels."
            )),
            Side::Buy if tp <= fill => Some(format!(
                "Bracket take-profit {tp} is at/below the entry fill (~{fill}); the SELL limit would fill immediately when the entry fills — check the levels."
            )),
            Side::Sell if sl <= fill => Some(format!(
                "Bracket stop-loss {sl} is at/below the entry fill (~{fill}); the BUY stop would trigger immediately when the entry fills — check the levels."
            )),
            Side::Sell if tp >= fill => Some(format!(
                "Bracket take-profit {tp} is at/above the entry fill (~{fill}); the BUY limit would fill immediately when the entry fills — check the levels."
            )),
            _ => None,
        };
        if let Some(m) = msg {
            return Err(block("bracket_exits", None, m));
        }
    }
    checks.push("bracket_exits");

    Ok((
        Approved::new(intent.clone()),
        Evaluation {
            notional,
            is_exit: exit,
            worst_price: worst,
            currency: ccy.to_string(),
            spent_today: spent,
            verified_paper: id.is_paper,
            account_id: id.account_id,
            checks,
        },
    ))
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
