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

mod rules;
use rules::*;

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
