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
    /// Only the guard (this module) approves.
    fn new(t: T) -> Self {
        Self(t)
    }
    /// The order as the guard approved it (read-only: changing it needs a new approval).
    pub fn get(&self) -> &T {
        &self.0
    }
}

/// An approved intent taken apart into what a venue places: the approval carries over to the
/// parts without anyone outside the guard building one.
#[derive(Debug)]
pub enum ApprovedLegs {
    Single(Approved<OrderRequest>),
    Bracket(Approved<crate::order::BracketRequest>),
}

impl Approved<OrderIntent> {
    pub fn into_legs(self) -> ApprovedLegs {
        match self.0 {
            OrderIntent::Single(o) => ApprovedLegs::Single(Approved(o)),
            OrderIntent::Bracket(b) => ApprovedLegs::Bracket(Approved(b)),
        }
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
    /// What working orders on the symbol, on this order's side, still have to fill (they
    /// reduce the same holding first), or why they could not be read. Zero where the venue
    /// reserves holdings for working sells (its `held` is already the free part).
    pub working: Result<Decimal, String>,
    pub halt_file_present: bool,
    /// Why the journal cannot be trusted (unacknowledged damage), if it cannot.
    pub journal_damage: Option<String>,
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

/// What the order can still reduce: the holding on its exit side less what working orders
/// on that side will take first (three working stops on a holding of 5 leave nothing).
fn exit_room(o: &OrderRequest, held: Decimal, working: Decimal) -> Decimal {
    match o.side {
        Side::Sell => held.max(Decimal::ZERO) - working,
        Side::Buy => (-held).max(Decimal::ZERO) - working,
    }
    .max(Decimal::ZERO)
}

/// Whether the order only reduces a position we hold, counting the working exits.
fn is_exit(o: &OrderRequest, held: Option<Decimal>, working: Option<Decimal>) -> bool {
    let (Some(held), Some(working), Some(qty)) = (held, working, o.size.quantity()) else {
        return false;
    };
    qty > Decimal::ZERO && qty <= exit_room(o, held, working)
}

/// Everything a rule reads: the order, the policy, the facts and what is derived from them
/// once (exit or entry, worst price, value, today's spend).
struct Ctx<'a> {
    intent: &'a OrderIntent,
    o: &'a OrderRequest,
    policy: &'a Policy,
    caps: &'a Capabilities,
    facts: &'a Facts,
    index: &'a JournalIndex,
    day: chrono::NaiveDate,
    exit: bool,
    worst: Option<Decimal>,
    qty_est: Option<Decimal>,
    value: Option<Decimal>,
    spent: Decimal,
}

impl Ctx<'_> {
    fn money(&self, d: Decimal) -> String {
        fmt_money(d, &self.caps.quote_currency)
    }
    fn keys(&self) -> &crate::config::PolicyKeys {
        &self.policy.keys
    }
    fn identity(&self) -> Option<&AccountIdentity> {
        self.facts.identity.as_ref().ok()
    }
}

/// A rule: `None` when the order passes it, else the refusal.
type Rule = fn(&Ctx) -> Option<TradeError>;

/// The guard, in the order refusals are listed: who we are and whether trading is allowed at
/// all, then what the order does to the position (a sell of what is not held is named before
/// any cap), then the clock, the caps, the journal, and the order's own prices. Adding a rule
/// is adding a row (and its test).
const RULES: &[(&str, Rule)] = &[
    ("identity", rule_identity),
    ("live_arm", rule_live_arm),
    ("label_vs_reality", rule_label_vs_reality),
    ("kill_switch", rule_kill_switch),
    ("journal_integrity", rule_journal_integrity),
    ("symbol_lists", rule_symbol_lists),
    ("naked_short", rule_naked_short),
    ("market_hours", rule_market_hours),
    ("order_value", rule_order_value),
    ("order_quantity", rule_order_quantity),
    ("position_value", rule_position_value),
    ("daily_value", rule_daily_value),
    ("daily_orders", rule_daily_orders),
    ("duplicate_window", rule_duplicate_window),
    ("unresolved_dispatch", rule_unresolved_dispatch),
    ("inverted_stop", rule_inverted_stop),
    ("bracket_exits", rule_bracket_exits),
];

/// Runs every rule. A refusal lists every rule the order breaks, the most basic first: the
/// error's `rule`/`setting` are the first's, `violations` holds them all. Only a passing
/// evaluation yields an [`Approved`] order.
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
    let held = facts.held.as_ref().ok().copied();
    let working = facts.working.as_ref().ok().copied();
    let exit = matches!(intent, OrderIntent::Single(_)) && is_exit(o, held, working);
    let worst = worst_price(o, facts.quote.as_ref());
    let ctx = Ctx {
        intent,
        o,
        policy,
        caps,
        facts,
        index,
        day,
        exit,
        worst,
        qty_est: match o.size {
            Size::Quantity(q) => Some(q.0),
            Size::Cash(c) => worst.map(|p| c.0 / p),
        },
        value: match o.size {
            Size::Cash(c) => Some(c.0),
            Size::Quantity(q) => worst.map(|p| (q.0 * p).round_dp(2)),
        },
        spent: index.spent_on(day),
    };
    let mut checks = vec!["validation"];
    let mut refusals = vec![];
    for (name, rule) in RULES {
        match rule(&ctx) {
            Some(e) => refusals.push(e),
            None => checks.push(*name),
        }
    }
    if let Some(first) = TradeError::all_of(refusals) {
        return Err(first);
    }
    let id = facts.identity.as_ref().ok();
    Ok((
        Approved::new(intent.clone()),
        Evaluation {
            notional: if o.side == Side::Buy { ctx.value } else { None },
            is_exit: exit,
            worst_price: worst,
            currency: caps.quote_currency.clone(),
            spent_today: ctx.spent,
            verified_paper: id.and_then(|i| i.is_paper),
            account_id: id.and_then(|i| i.account_id.clone()),
            checks,
        },
    ))
}

/// The account-wide rules: those that refuse every entry whatever the order (who we are, the
/// live arm, the label, the kill switch, the journal). `session_status` asks them when asked.
pub fn account_wide_refusals(
    policy: &Policy,
    caps: &Capabilities,
    facts: &Facts,
    index: &JournalIndex,
    day: chrono::NaiveDate,
) -> Vec<TradeError> {
    let probe = OrderRequest {
        symbol: caps.benchmark.clone(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        size: Size::Quantity(crate::money::Qty(Decimal::ONE)),
        limit_price: Some(crate::money::Price(Decimal::ONE)),
        stop_price: None,
        trail: None,
        tif: crate::order::TimeInForce::Day,
    };
    let intent = OrderIntent::Single(probe.clone());
    let ctx = Ctx {
        intent: &intent,
        o: &probe,
        policy,
        caps,
        facts,
        index,
        day,
        exit: false,
        worst: None,
        qty_est: None,
        value: None,
        spent: index.spent_on(day),
    };
    [
        rule_identity as Rule,
        rule_live_arm,
        rule_label_vs_reality,
        rule_kill_switch,
        rule_journal_integrity,
        rule_daily_orders,
    ]
    .iter()
    .filter_map(|r| r(&ctx))
    .collect()
}

/// The venue's identity is readable, is the configured account, and says paper or live.
fn rule_identity(c: &Ctx) -> Option<TradeError> {
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
fn rule_live_arm(c: &Ctx) -> Option<TradeError> {
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
fn rule_label_vs_reality(c: &Ctx) -> Option<TradeError> {
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
fn rule_kill_switch(c: &Ctx) -> Option<TradeError> {
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
fn rule_journal_integrity(c: &Ctx) -> Option<TradeError> {
    if c.exit {
        return None;
    }
    c.facts.journal_damage.clone().map(|m| block("journal_integrity", None, m))
}

/// Deny and allow lists (exits are let out of a position the lists now exclude).
fn rule_symbol_lists(c: &Ctx) -> Option<TradeError> {
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
fn rule_naked_short(c: &Ctx) -> Option<TradeError> {
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
fn rule_market_hours(c: &Ctx) -> Option<TradeError> {
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
fn rule_order_value(c: &Ctx) -> Option<TradeError> {
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

fn rule_order_quantity(c: &Ctx) -> Option<TradeError> {
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
fn rule_position_value(c: &Ctx) -> Option<TradeError> {
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
fn rule_daily_value(c: &Ctx) -> Option<TradeError> {
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

fn rule_daily_orders(c: &Ctx) -> Option<TradeError> {
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

fn rule_duplicate_window(c: &Ctx) -> Option<TradeError> {
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

fn rule_unresolved_dispatch(c: &Ctx) -> Option<TradeError> {
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
fn rule_inverted_stop(c: &Ctx) -> Option<TradeError> {
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
fn rule_bracket_exits(c: &Ctx) -> Option<TradeError> {
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

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
