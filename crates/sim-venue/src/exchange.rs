//! The simulated exchange: seeded prices, an account, and an order book that fills marketable
//! orders at once and resting ones as the price moves. Time is a step counter: every call
//! moves the market one step, so the same seed and the same calls give the same run.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use chrono::Datelike;
use rust_decimal::{Decimal, RoundingStrategy};
use trading_core::{
    account::{AccountIdentity, AccountSummary, AssetClass, Bar, Capabilities, MarketHoursModel, Position, Quote},
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

    /// The profile's fee: IBKR's per share, or a spot exchange's 0.1% taker fee.
    fn fee(&self, qty: Decimal, value: Decimal) -> Decimal {
        match self.cfg.profile {
            SimProfile::Stocks => commission(qty, value),
            SimProfile::Spot { .. } => (value * Decimal::new(1, 3)).round_dp(8),
        }
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
            (None, Some(c)) => (c / price).round_dp_with_strategy(4, RoundingStrategy::ToZero),
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

impl Exchange {
    /// The symbols this simulator lists: the familiar tickers (stocks) and every symbol with
    /// a configured price (`SIM_SYMBOLS`, `CRYPTO_SIM_PRICES`). Nothing else exists here.
    pub fn universe(&self) -> Vec<String> {
        let mut u: Vec<String> = self.cfg.prices.keys().cloned().collect();
        if self.cfg.profile == SimProfile::Stocks {
            u.extend(crate::market::FAMILIAR.iter().map(|(s, _)| s.to_string()));
        }
        u.sort();
        u.dedup();
        u
    }

    /// Every quote, order and history read asks this: the list is built only to explain a miss.
    pub(crate) fn unknown(&self, symbol: &str) -> Option<VenueError> {
        let familiar =
            self.cfg.profile == SimProfile::Stocks && crate::market::FAMILIAR.iter().any(|(s, _)| *s == symbol);
        if familiar || self.cfg.prices.contains_key(symbol) {
            return None;
        }
        let u = self.universe();
        let names: Vec<&str> = u.iter().map(String::as_str).collect();
        let near = trading_core::suggest::nearest(symbol, &names);
        let hint = if near.is_empty() { String::new() } else { format!(" Did you mean {}?", near.join(" or ")) };
        Some(VenueError::NotFound(format!(
            "'{symbol}' is not listed by the simulator.{hint} It lists {} (SIM_SYMBOLS adds more).",
            names.join(", ")
        )))
    }

    pub fn quote(&self, symbol: &str) -> Result<Quote, VenueError> {
        if let Some(e) = self.unknown(symbol) {
            return Err(e);
        }
        let mut s = self.lock();
        self.step(&mut s);
        Ok(self.quote_locked(&mut s, symbol))
    }

    /// Unknown symbols come back with a note and no price, never invented.
    pub fn quotes(&self, symbols: &[String]) -> Result<Vec<Quote>, VenueError> {
        let mut s = self.lock();
        self.step(&mut s);
        Ok(symbols
            .iter()
            .map(|sym| match self.unknown(sym) {
                Some(e) => Quote {
                    symbol: sym.clone(),
                    last: None,
                    bid: None,
                    ask: None,
                    currency: self.cfg.profile.currency().into(),
                    note: Some(e.to_string()),
                },
                None => self.quote_locked(&mut s, sym),
            })
            .collect())
    }
}

impl Exchange {
    pub fn identity(&self) -> Result<AccountIdentity, VenueError> {
        Ok(AccountIdentity { account_id: Some(self.cfg.account_id.clone()), is_paper: Some(true), verified: true })
    }

    pub fn summary(&self) -> Result<AccountSummary, VenueError> {
        let mut s = self.lock();
        let step = s.step;
        let held: Vec<(String, Decimal)> = s.holdings.iter().map(|(k, h)| (k.clone(), h.qty)).collect();
        let value: Decimal = held.iter().map(|(k, q)| *q * s.market.tick(k, step).last).sum();
        let nlv = cents(s.cash + value);
        let cash = cents(s.cash);
        Ok(AccountSummary {
            account_id: self.cfg.account_id.clone(),
            currency: self.cfg.profile.currency().into(),
            cash: Some(Money(cash)),
            available_funds: Some(Money(cash.max(Decimal::ZERO))),
            net_liquidation: Some(Money(nlv)),
            buying_power: Some(Money(cash.max(Decimal::ZERO))),
            maintenance_margin: None,
            notes: vec![],
        })
    }

    pub fn positions(&self) -> Result<Vec<Position>, VenueError> {
        let mut s = self.lock();
        let step = s.step;
        let held: Vec<(String, Holding)> = s.holdings.iter().map(|(k, h)| (k.clone(), h.clone())).collect();
        let asset_class =
            if matches!(self.cfg.profile, SimProfile::Spot { .. }) { AssetClass::Spot } else { AssetClass::Stock };
        Ok(held
            .into_iter()
            .map(|(sym, h)| {
                let last = s.market.tick(&sym, step).last;
                let value = cents(h.qty * last);
                let avg = if h.qty == Decimal::ZERO { Decimal::ZERO } else { h.cost / h.qty.abs() };
                let pnl = cents(if h.qty < Decimal::ZERO { value + h.cost } else { value - h.cost });
                Position {
                    avg_cost: Some(Price(avg.round_dp(4))),
                    market_price: Some(Price(last)),
                    market_value: Some(Money(value)),
                    unrealized_pnl: Some(Money(pnl)),
                    asset_class,
                    ..Position::new(sym, Qty(h.qty))
                }
            })
            .collect())
    }

    /// The holding; on a spot profile the free part (what working sells have not reserved),
    /// as an exchange reports it.
    pub fn held_quantity(&self, symbol: &str) -> Result<Decimal, VenueError> {
        let s = self.lock();
        let held = s.holdings.get(symbol).map(|h| h.qty).unwrap_or_default();
        Ok(if self.is_spot() { held - Self::reserved(&s, symbol, None) } else { held })
    }

    fn is_spot(&self) -> bool {
        matches!(self.cfg.profile, SimProfile::Spot { .. })
    }

    /// What live sell orders on `symbol` (but `except`) still have to sell.
    fn reserved(s: &State, symbol: &str, except: Option<u64>) -> Decimal {
        s.orders
            .values()
            .filter(|o| o.symbol == symbol && o.side == Side::Sell && o.is_live() && o.parent.is_none())
            .filter(|o| Some(o.id) != except)
            .map(|o| o.qty.unwrap_or_default() - o.filled)
            .sum()
    }

    /// A spot exchange refuses a sell beyond the free balance (binance: -2010).
    fn spot_refusal(&self, s: &State, o: &SimOrder) -> Option<String> {
        if !self.is_spot() || o.side != Side::Sell {
            return None;
        }
        let held = s.holdings.get(&o.symbol).map(|h| h.qty).unwrap_or_default();
        let free = held - Self::reserved(s, &o.symbol, Some(o.id));
        let want = o.qty.unwrap_or_default() - o.filled;
        (want > free).then(|| {
            format!(
                "insufficient balance: selling {} {} but only {} is free",
                want.normalize(),
                o.symbol,
                free.max(Decimal::ZERO).normalize()
            )
        })
    }
}

impl Exchange {
    pub fn capabilities(&self) -> Capabilities {
        match &self.cfg.profile {
            SimProfile::Stocks => Capabilities::full(self.cfg.market_hours, "USD"),
            SimProfile::Spot { quote } => Capabilities {
                trailing: false,
                brackets: false,
                shorting: false,
                default_quote: Some(quote.clone()),
                benchmark: format!("BTC/{quote}"),
                reserves_holdings: true,
                ..Capabilities::full(MarketHoursModel::AlwaysOpen, quote)
            },
        }
    }

    pub fn place(&self, order: &OrderRequest, client_order_id: &str) -> Result<OrderResult, VenueError> {
        if let Some(e) = self.unknown(&order.symbol) {
            return Err(e);
        }
        let mut s = self.lock();
        self.step(&mut s);
        let mut o = Self::new_order(&mut s, order, client_order_id);
        let id = o.id;
        if let Some(why) = self.spot_refusal(&s, &o) {
            o.status = OrderStatus::Rejected;
            o.message = Some(why);
        }
        s.orders.insert(id, o);
        if self.market_open() {
            self.try_fill(&mut s, id);
        }
        let r = s.orders.get(&id).map(SimOrder::result);
        r.ok_or_else(|| VenueError::Transport { message: "simulator lost an order".into(), retryable: false })
    }

    pub fn place_bracket(&self, b: &BracketRequest, ids: &BracketIds) -> Result<Vec<OrderResult>, VenueError> {
        if let Some(e) = self.unknown(&b.entry.symbol) {
            return Err(e);
        }
        let mut s = self.lock();
        self.step(&mut s);
        let mut entry = Self::new_order(&mut s, &b.entry, &ids.entry);
        entry.leg = Some("entry");
        let entry_id = entry.id;
        s.orders.insert(entry_id, entry);
        for (leg, req, coid) in
            [("take_profit", b.take_profit_leg(), &ids.take_profit), ("stop_loss", b.stop_loss_leg(), &ids.stop_loss)]
        {
            let mut child = Self::new_order(&mut s, &req, coid);
            child.parent = Some(entry_id);
            child.oca = Some(entry_id);
            child.leg = Some(leg);
            child.status = OrderStatus::Pending;
            s.orders.insert(child.id, child);
        }
        if self.market_open() {
            self.try_fill(&mut s, entry_id);
        }
        Ok(s.orders.values().filter(|o| o.id == entry_id || o.oca == Some(entry_id)).map(SimOrder::result).collect())
    }

    pub fn preview(&self, order: &OrderRequest) -> Result<VenuePreview, VenueError> {
        let mut s = self.lock();
        let q = self.quote_locked(&mut s, &order.symbol);
        let touch = if order.side == Side::Buy { q.ask } else { q.bid }.map(|p| p.0).unwrap_or_default();
        let price = match order.order_type {
            OrderType::Limit | OrderType::StopLimit => order.limit_price.map(|p| p.0).unwrap_or(touch),
            OrderType::Stop => order.stop_price.map(|p| p.0).unwrap_or(touch),
            _ => touch,
        };
        let qty = match order.size {
            Size::Quantity(q) => q.0,
            Size::Cash(c) if price > Decimal::ZERO => (c.0 / price).round_dp_with_strategy(4, RoundingStrategy::ToZero),
            Size::Cash(_) => Decimal::ZERO,
        };
        let value = cents(qty * price);
        let fee = self.fee(qty, value);
        let cash_after = if order.side == Side::Buy { s.cash - value - fee } else { s.cash + value - fee };
        let mut warnings = vec![];
        if cash_after < Decimal::ZERO {
            warnings.push(format!(
                "insufficient funds: this order needs about {} and cash is {}",
                value + fee,
                cents(s.cash)
            ));
        }
        if !self.market_open() && order.order_type == OrderType::Market {
            warnings.push("the market is closed: a market order waits for the next session".into());
        }
        Ok(VenuePreview {
            estimated_price: Some(Price(price)),
            estimated_quantity: Some(Qty(qty)),
            estimated_value: Some(Money(value)),
            commission: Some(Money(fee)),
            equity_change: Some(Money(-fee)),
            margin_change: None,
            cash_after: Some(Money(cents(cash_after))),
            warnings,
        })
    }

    pub fn order_status(&self, order_id: &str) -> Result<OrderResult, VenueError> {
        let mut s = self.lock();
        self.step(&mut s);
        let id = Self::find(&s, order_id)?;
        s.orders.get(&id).map(SimOrder::result).ok_or_else(|| VenueError::NotFound(order_id.into()))
    }

    /// Changes a working order's size and prices (the venue-side half of `modify_order`).
    pub fn modify(&self, order_id: &str, new: &OrderRequest) -> Result<OrderResult, VenueError> {
        let mut s = self.lock();
        self.step(&mut s);
        let id = Self::find(&s, order_id)?;
        let o = s.orders.get_mut(&id).ok_or_else(|| VenueError::NotFound(order_id.into()))?;
        if !o.is_live() {
            return Err(VenueError::Rejected(format!(
                "order {id} is {}; only a working order can be modified",
                o.status.as_str()
            )));
        }
        if o.symbol != new.symbol || o.side != new.side || o.order_type != new.order_type {
            return Err(VenueError::InvalidRequest(format!(
                "order {id} is {} {} {}: a modification keeps the symbol, side and order type",
                o.side,
                o.order_type.as_str(),
                o.symbol
            )));
        }
        let qty = new.size.quantity().ok_or_else(|| VenueError::InvalidRequest("modify by quantity".into()))?;
        if qty < o.filled {
            return Err(VenueError::InvalidRequest(format!("order {id} has already filled {}", o.filled.normalize())));
        }
        let probe = SimOrder { qty: Some(qty), ..o.clone() };
        if let Some(why) = self.spot_refusal(&s, &probe) {
            return Err(VenueError::Rejected(why));
        }
        let Some(o) = s.orders.get_mut(&id) else { return Err(VenueError::NotFound(order_id.into())) };
        o.qty = Some(qty);
        o.cash = None;
        o.limit = new.limit_price.map(|p| p.0);
        o.stop = new.stop_price.map(|p| p.0);
        o.trail = new.trail;
        o.tif = new.tif;
        o.message = Some("modified".into());
        if self.market_open() {
            self.try_fill(&mut s, id);
        }
        s.orders.get(&id).map(SimOrder::result).ok_or_else(|| VenueError::NotFound(order_id.into()))
    }

    pub fn cancel(&self, order_id: &str) -> Result<OrderResult, VenueError> {
        let mut s = self.lock();
        self.step(&mut s);
        let id = Self::find(&s, order_id)?;
        let o = s.orders.get_mut(&id).ok_or_else(|| VenueError::NotFound(order_id.into()))?;
        if !o.is_live() {
            return Err(VenueError::Rejected(format!(
                "order {id} is already {}; nothing to cancel",
                o.status.as_str()
            )));
        }
        o.status = OrderStatus::Cancelled;
        o.message = Some("cancelled at your request".into());
        let r = o.result();
        self.cancel_children(&mut s, id);
        Ok(r)
    }

    /// The last `days` daily bars of `symbol`, oldest first: simulated history for the past
    /// business days and today's bar from the intraday price.
    pub fn bars(&self, symbol: &str, days: u32) -> Vec<Bar> {
        let days = days.clamp(1, 2000) as usize;
        let mut s = self.lock();
        let step = s.step;
        let today = s.market.tick(symbol, step);
        let past = s.market.daily_history(symbol, days - 1);
        let now = self.clock.now();
        let mut dates = Vec::with_capacity(days);
        let mut d = now.date_naive();
        while dates.len() < days {
            if !matches!(d.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun) || dates.is_empty() {
                dates.push(d);
            }
            d -= chrono::Duration::days(1);
        }
        dates.reverse();
        let open_today = past.last().map(|b| b.close).unwrap_or(today.last);
        let mut bars: Vec<Bar> = past
            .iter()
            .zip(&dates)
            .map(|(b, d)| Bar {
                time: d.and_hms_opt(21, 0, 0).unwrap_or_default().and_utc(),
                open: Price(b.open),
                high: Price(b.high),
                low: Price(b.low),
                close: Price(b.close),
                volume: Qty(b.volume),
            })
            .collect();
        bars.push(Bar {
            time: now,
            open: Price(open_today),
            high: Price(open_today.max(today.last)),
            low: Price(open_today.min(today.last)),
            close: Price(today.last),
            volume: Qty(Decimal::from(100_000)),
        });
        bars
    }

    /// Every order of this run, working or done, oldest first.
    pub fn orders(&self) -> Vec<OrderResult> {
        self.lock().orders.values().map(SimOrder::result).collect()
    }

    pub fn open_orders(&self) -> Result<Vec<OrderResult>, VenueError> {
        let mut s = self.lock();
        self.step(&mut s);
        Ok(s.orders.values().filter(|o| o.is_live()).map(SimOrder::result).collect())
    }

    pub fn fills(&self) -> Result<Vec<Fill>, VenueError> {
        Ok(self.lock().fills.clone())
    }

    pub fn find_by_client_order_id(&self, client_order_id: &str) -> Result<Option<OrderResult>, VenueError> {
        Ok(self.lock().orders.values().find(|o| o.coid == client_order_id).map(SimOrder::result))
    }

    pub fn session(&self) -> Result<serde_json::Value, VenueError> {
        let s = self.lock();
        Ok(serde_json::json!({
            "backend": "simulator",
            "connected": true,
            "authenticated": true,
            "note": "This is the offline SIMULATOR: prices are a seeded random walk and no order reaches a real broker.",
            "seed": self.cfg.seed,
            "step": s.step,
            "market_hours": self.cfg.market_hours,
        }))
    }
}
