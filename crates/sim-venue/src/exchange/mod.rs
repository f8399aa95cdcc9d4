//! The simulated exchange: seeded prices, an account, and an order book that fills marketable
//! orders at once and resting ones as the price moves. Time is a step counter: every call
//! moves the market one step, so the same seed and the same calls give the same run.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};

use chrono::Datelike;
use rust_decimal::{Decimal, RoundingStrategy};
use trading_core::{
    account::{
        AccountIdentity, AccountSummary, AssetClass, Bar, Capabilities, DailyPnl, MarketHoursModel, Position, Quote,
    },
    calendar::NyseCalendar,
    error::VenueError,
    money::{Money, Price, Qty},
    order::{BracketRequest, Fill, OrderRequest, OrderResult, OrderStatus, OrderType, Side, Size, TimeInForce, Trail},
    ports::{BracketIds, Clock, VenuePreview},
};

use crate::{SimConfig, SimProfile, market::Market};

#[derive(Clone, Debug)]
struct SimOrder {
    id: u64,
    coid: String,
    symbol: String,
    side: Side,
    order_type: OrderType,
    qty: Option<Decimal>,
    cash: Option<Decimal>,
    limit: Option<Decimal>,
    stop: Option<Decimal>,
    trail: Option<Trail>,
    tif: TimeInForce,
    status: OrderStatus,
    filled: Decimal,
    avg_price: Option<Decimal>,
    /// A stop or stop-limit whose trigger was hit.
    triggered: bool,
    /// Best price seen since a trailing stop was placed.
    trail_ref: Option<Decimal>,
    /// Bracket children wait for their parent's fill.
    parent: Option<u64>,
    oca: Option<u64>,
    leg: Option<&'static str>,
    message: Option<String>,
}

impl SimOrder {
    fn result(&self) -> OrderResult {
        OrderResult {
            order_id: Some(self.id.to_string()),
            client_order_id: Some(self.coid.clone()),
            status: self.status,
            symbol: self.symbol.clone(),
            side: Some(self.side),
            order_type: Some(self.order_type),
            quantity: self.qty.map(Qty),
            filled_quantity: Some(Qty(self.filled)),
            avg_price: self.avg_price.map(Price),
            limit_price: self.limit.map(Price),
            stop_price: self.stop.map(Price),
            tif: Some(self.tif),
            message: self.message.clone(),
            dry_run: false,
            leg: self.leg.map(str::to_string),
        }
    }
    fn is_live(&self) -> bool {
        matches!(self.status, OrderStatus::Submitted | OrderStatus::Pending | OrderStatus::PartiallyFilled)
    }
}

#[derive(Clone, Debug, Default)]
struct Holding {
    qty: Decimal,
    cost: Decimal,
}

#[derive(Debug)]
struct State {
    step: u64,
    market: Market,
    cash: Decimal,
    holdings: BTreeMap<String, Holding>,
    orders: BTreeMap<u64, SimOrder>,
    next_id: u64,
    fills: Vec<Fill>,
}

/// The simulated exchange: market, account and order book. Exchange-side: it accepts any
/// well-formed order, as a real exchange would; the guard sits in front of it in [`crate::SimVenue`].
#[derive(Debug)]
pub struct Exchange {
    cfg: SimConfig,
    clock: Arc<dyn Clock>,
    calendar: NyseCalendar,
    state: Mutex<State>,
}

fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
}

/// IBKR-like fixed commission: 0.005 per share, at least 1.00, at most 1% of the trade value.
pub fn commission(qty: Decimal, value: Decimal) -> Decimal {
    let per_share = qty * Decimal::new(5, 3);
    cents(per_share.max(Decimal::ONE).min(value * Decimal::new(1, 2)))
}

impl Exchange {
    pub fn new(cfg: SimConfig, clock: Arc<dyn Clock>) -> Self {
        let state = State {
            step: 0,
            market: Market::new(cfg.seed, cfg.prices.clone()),
            cash: cfg.starting_cash,
            holdings: BTreeMap::new(),
            orders: BTreeMap::new(),
            next_id: 1,
            fills: vec![],
        };
        Self { cfg, clock, calendar: NyseCalendar::default(), state: Mutex::new(state) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves the market `n` steps, filling whatever resting orders the moves reach.
    pub fn advance(&self, n: u64) {
        let mut s = self.lock();
        for _ in 0..n {
            self.step(&mut s);
        }
    }

    /// The smallest quantity step: IBKR's fractional shares go by 0.0001, a spot pair by
    /// 0.00001 (binance's BTC step).
    pub(crate) fn increment(&self) -> Decimal {
        match self.cfg.profile {
            crate::SimProfile::Stocks => Decimal::new(1, 4),
            crate::SimProfile::Spot { .. } => Decimal::new(1, 5),
        }
    }

    /// What a cash amount buys at `price`, rounded down to the increment.
    pub(crate) fn cash_quantity(&self, cash: Decimal, price: Decimal) -> Decimal {
        if price <= Decimal::ZERO {
            return Decimal::ZERO;
        }
        let inc = self.increment();
        ((cash / price) / inc).floor() * inc
    }

    /// The profile's fee: IBKR's per share, or a spot exchange's 0.1% taker fee.
    fn fee(&self, qty: Decimal, value: Decimal) -> Decimal {
        match self.cfg.profile {
            SimProfile::Stocks => commission(qty, value),
            SimProfile::Spot { .. } => (value * Decimal::new(1, 3)).round_dp(8),
        }
    }

    /// The simulator's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    fn market_open(&self) -> bool {
        match self.cfg.market_hours {
            MarketHoursModel::AlwaysOpen => true,
            MarketHoursModel::Nyse => self.calendar.state_at(self.clock.now()).is_ok_and(|s| s.market_open),
        }
    }

    fn step(&self, s: &mut State) {
        s.step += 1;
        self.match_orders(s);
    }

    fn match_orders(&self, s: &mut State) {
        if !self.market_open() {
            return;
        }
        let ids: Vec<u64> = s.orders.values().filter(|o| o.is_live() && o.parent.is_none()).map(|o| o.id).collect();
        for id in ids {
            self.try_fill(s, id);
        }
    }

    /// Fills order `id` if the current tick reaches it; returns whether it filled.
    fn try_fill(&self, s: &mut State, id: u64) -> bool {
        let step = s.step;
        let Some(o) = s.orders.get(&id).cloned() else { return false };
        if !o.is_live() || o.parent.is_some() {
            return false;
        }
        let t = s.market.tick(&o.symbol, step);
        let buy = o.side == Side::Buy;
        let touch = if buy { t.ask } else { t.bid };
        let mut o2 = o.clone();
        let price = match o.order_type {
            OrderType::Market => Some(touch),
            OrderType::Limit => o.limit.filter(|&l| if buy { t.ask <= l } else { t.bid >= l }).map(|_| touch),
            OrderType::Stop | OrderType::StopLimit => {
                let stop = o.stop.unwrap_or(Decimal::ZERO);
                if !o2.triggered && (if buy { t.last >= stop } else { t.last <= stop }) {
                    o2.triggered = true;
                }
                match (o2.triggered, o.order_type, o.limit) {
                    (false, _, _) => None,
                    (true, OrderType::StopLimit, Some(l)) => {
                        (if buy { t.ask <= l } else { t.bid >= l }).then_some(touch)
                    }
                    (true, _, _) => Some(touch),
                }
            }
            OrderType::Trail => {
                let best = match (o.trail_ref, buy) {
                    (None, _) => t.last,
                    (Some(r), false) => r.max(t.last),
                    (Some(r), true) => r.min(t.last),
                };
                o2.trail_ref = Some(best);
                let dist = match o.trail {
                    Some(Trail::Amount(a)) => a.0,
                    Some(Trail::Percent(p)) => best * p / Decimal::ONE_HUNDRED,
                    None => Decimal::ZERO,
                };
                let hit = if buy { t.last >= best + dist } else { t.last <= best - dist };
                hit.then_some(touch)
            }
        };
        let Some(price) = price else {
            s.orders.insert(id, o2);
            return false;
        };
        let total = match (o.qty, o.cash) {
            (Some(q), _) => q,
            (None, Some(c)) => self.cash_quantity(c, price),
            (None, None) => Decimal::ZERO,
        };
        let remaining = total - o.filled;
        // With partial fills on, an order's first fill takes half; the rest fills a step later.
        let half = (remaining / Decimal::TWO).round_dp_with_strategy(4, RoundingStrategy::ToZero);
        let qty = if self.cfg.partial_fills && o.filled.is_zero() && half > Decimal::ZERO { half } else { remaining };
        let value = cents(qty * price);
        let fee = self.fee(qty, value);
        if qty <= Decimal::ZERO {
            o2.status = OrderStatus::Rejected;
            o2.message = Some(format!("amount too small to buy any {} at {price}", o.symbol));
            s.orders.insert(id, o2);
            return false;
        }
        if buy && s.cash < value + fee {
            o2.status = OrderStatus::Rejected;
            o2.message =
                Some(format!("insufficient funds: needs {} (incl. commission {fee}), cash is {}", value + fee, s.cash));
            s.orders.insert(id, o2);
            self.cancel_children(s, id);
            return false;
        }
        s.cash += if buy { -(value + fee) } else { value - fee };
        let h = s.holdings.entry(o.symbol.clone()).or_default();
        let signed = if buy { qty } else { -qty };
        let grows = h.qty == Decimal::ZERO || (h.qty > Decimal::ZERO) == buy;
        if grows {
            h.cost += qty * price;
        } else if (h.qty + signed).is_sign_negative() != h.qty.is_sign_negative() && h.qty + signed != Decimal::ZERO {
            // Crossed through zero: the remainder opens at this price.
            h.cost = (h.qty + signed).abs() * price;
        } else {
            h.cost -= h.cost * qty / h.qty.abs();
        }
        h.qty += signed;
        if h.qty == Decimal::ZERO {
            s.holdings.remove(&o.symbol);
        }
        let paid = o.avg_price.unwrap_or_default() * o.filled + price * qty;
        o2.filled += qty;
        o2.avg_price = Some((paid / o2.filled).round_dp(4));
        o2.qty = Some(total);
        o2.status = if o2.filled >= total { OrderStatus::Filled } else { OrderStatus::PartiallyFilled };
        let verb = if buy { "Bought" } else { "Sold" };
        o2.message = Some(format!("{verb} {} {} at {price} (commission {fee})", qty.normalize(), o.symbol));
        let done = o2.status == OrderStatus::Filled;
        s.fills.push(Fill {
            order_id: id.to_string(),
            client_order_id: Some(o.coid.clone()),
            symbol: o.symbol.clone(),
            side: o.side,
            quantity: Qty(qty),
            price: Price(price),
            commission: Money(fee),
            time: self.clock.now(),
        });
        s.orders.insert(id, o2);
        if done {
            self.after_fill(s, id);
        }
        true
    }

    /// A filled parent activates its children; a filled OCA member cancels its siblings.
    fn after_fill(&self, s: &mut State, id: u64) {
        let children: Vec<u64> = s.orders.values().filter(|o| o.parent == Some(id)).map(|o| o.id).collect();
        let filled = s.orders.get(&id).map(|o| o.filled);
        for c in &children {
            if let Some(child) = s.orders.get_mut(c) {
                child.parent = None;
                child.status = OrderStatus::Submitted;
                child.qty = filled;
            }
        }
        for c in children {
            self.try_fill(s, c);
        }
        let oca = s.orders.get(&id).and_then(|o| o.oca);
        if let Some(g) = oca {
            for o in s.orders.values_mut().filter(|o| o.oca == Some(g) && o.id != id && o.is_live()) {
                o.status = OrderStatus::Cancelled;
                o.message = Some(format!("cancelled by OCA: order {id} filled"));
            }
        }
    }

    fn cancel_children(&self, s: &mut State, id: u64) {
        for o in s.orders.values_mut().filter(|o| o.parent == Some(id) && o.is_live()) {
            o.status = OrderStatus::Cancelled;
            o.message = Some(format!("cancelled: parent order {id} did not fill"));
        }
    }

    fn new_order(s: &mut State, o: &OrderRequest, coid: &str) -> SimOrder {
        let id = s.next_id;
        s.next_id += 1;
        SimOrder {
            id,
            coid: coid.to_string(),
            symbol: o.symbol.clone(),
            side: o.side,
            order_type: o.order_type,
            qty: o.size.quantity(),
            cash: o.size.cash(),
            limit: o.limit_price.map(|p| p.0),
            stop: o.stop_price.map(|p| p.0),
            trail: o.trail,
            tif: o.tif,
            status: OrderStatus::Submitted,
            filled: Decimal::ZERO,
            avg_price: None,
            triggered: false,
            trail_ref: None,
            parent: None,
            oca: None,
            leg: None,
            message: None,
        }
    }

    fn quote_locked(&self, s: &mut State, symbol: &str) -> Quote {
        let t = s.market.tick(symbol, s.step);
        Quote {
            symbol: symbol.to_string(),
            last: Some(Price(t.last)),
            bid: Some(Price(t.bid)),
            ask: Some(Price(t.ask)),
            currency: self.cfg.profile.currency().into(),
            note: None,
        }
    }

    fn find(s: &State, order_id: &str) -> Result<u64, VenueError> {
        order_id
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|id| s.orders.contains_key(id))
            .ok_or_else(|| VenueError::NotFound(format!("no order with id '{order_id}' at the simulator")))
    }
}

mod api;
