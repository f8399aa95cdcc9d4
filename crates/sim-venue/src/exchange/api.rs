//! What the simulated venue answers: quotes, the account, and order entry (place, bracket,
//! preview, modify, cancel), as a broker or a spot exchange answers them.

use trading_core::{
    bars::{HistoryRequest, from_daily},
    performance::{Transaction, Transactions, realized},
};

use super::*;
use crate::intraday::Day;

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
        Ok(AccountIdentity {
            account_id: Some(self.cfg.account_id.clone()),
            is_paper: Some(!self.cfg.live),
            verified: true,
        })
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

    /// Today's P&L: each holding's move since the previous close, shares bought or sold today
    /// measured from their fill price, less today's commissions.
    pub fn daily_pnl(&self) -> Result<DailyPnl, VenueError> {
        let today = self.clock.now().date_naive();
        let mut s = self.lock();
        let step = s.step;
        let fills: Vec<Fill> = s.fills.iter().filter(|f| f.time.date_naive() == today).cloned().collect();
        let mut symbols: Vec<String> = s.holdings.keys().cloned().collect();
        symbols.extend(fills.iter().map(|f| f.symbol.clone()));
        symbols.sort();
        symbols.dedup();
        let mut daily = Decimal::ZERO;
        let mut unrealized = Decimal::ZERO;
        let mut market_value = Decimal::ZERO;
        for sym in &symbols {
            let last = s.market.tick(sym, step).last;
            let prev_close = s.market.daily_history(sym, 1).last().map(|b| b.close).unwrap_or(last);
            let held = s.holdings.get(sym).cloned().unwrap_or(Holding { qty: Decimal::ZERO, cost: Decimal::ZERO });
            let mut start = held.qty;
            for f in fills.iter().filter(|f| &f.symbol == sym) {
                let signed = if f.side == Side::Buy { f.quantity.0 } else { -f.quantity.0 };
                start -= signed;
                daily += signed * (last - f.price.0) - f.commission.0;
            }
            daily += start * (last - prev_close);
            let value = held.qty * last;
            market_value += value;
            unrealized += if held.qty < Decimal::ZERO { value + held.cost } else { value - held.cost };
        }
        let nlv = s.cash + market_value;
        Ok(DailyPnl {
            account_id: self.cfg.account_id.clone(),
            currency: self.cfg.profile.currency().into(),
            daily: Some(Money(cents(daily))),
            unrealized: Some(Money(cents(unrealized))),
            net_liquidation: Some(Money(cents(nlv))),
            excess_liquidity: Some(Money(cents(s.cash.max(Decimal::ZERO)))),
            market_value: Some(Money(cents(market_value))),
            note: None,
        })
    }

    /// Net asset value at each of the last `days` closes (the last is now), replaying this
    /// run's fills from the starting cash.
    pub fn nav_history(&self, days: u32) -> Vec<(chrono::NaiveDate, Decimal)> {
        let fills = self.lock().fills.clone();
        let mut symbols: Vec<String> = fills.iter().map(|f| f.symbol.clone()).collect();
        symbols.sort();
        symbols.dedup();
        // The calendar of closes: any listed symbol's bars (they share their dates).
        let Some(anchor) = symbols.first().cloned().or_else(|| self.universe().into_iter().next()) else {
            return vec![];
        };
        let dates: Vec<chrono::NaiveDate> = self.bars(&anchor, days).iter().map(|b| b.time.date_naive()).collect();
        let closes: HashMap<String, Vec<Decimal>> =
            symbols.iter().map(|s| (s.clone(), self.bars(s, days).iter().map(|b| b.close.0).collect())).collect();
        dates
            .iter()
            .enumerate()
            .map(|(i, date)| {
                let last = i + 1 == dates.len();
                let mut cash = self.cfg.starting_cash;
                let mut held: HashMap<&str, Decimal> = HashMap::new();
                for f in fills.iter().filter(|f| last || f.time.date_naive() <= *date) {
                    let value = f.quantity.0 * f.price.0;
                    let (dq, dc) = if f.side == Side::Buy { (f.quantity.0, -value) } else { (-f.quantity.0, value) };
                    *held.entry(f.symbol.as_str()).or_default() += dq;
                    cash += dc - f.commission.0;
                }
                let value: Decimal = held
                    .iter()
                    .map(|(s, q)| *q * closes.get(*s).and_then(|c| c.get(i)).copied().unwrap_or_default())
                    .sum();
                (*date, cents(cash + value))
            })
            .collect()
    }

    /// This run's buys and sells of `symbol` in the last `days` days, and the P&L they realized.
    pub fn transactions(&self, symbol: &str, days: u32) -> Transactions {
        let now = self.clock.now();
        let since = now - chrono::Duration::days(i64::from(days));
        let fills: Vec<Fill> =
            self.lock().fills.iter().filter(|f| f.symbol == symbol && f.time >= since).cloned().collect();
        let ccy = self.cfg.profile.currency().to_string();
        let signed = |f: &Fill| if f.side == Side::Buy { f.quantity.0 } else { -f.quantity.0 };
        let (total, by_day) = realized(
            &fills.iter().map(|f| (f.time.date_naive(), signed(f), f.price.0, f.commission.0)).collect::<Vec<_>>(),
        );
        Transactions {
            account_id: self.cfg.account_id.clone(),
            symbol: symbol.to_string(),
            days,
            currency: ccy.clone(),
            transactions: fills
                .iter()
                .map(|f| Transaction {
                    date: f.time.date_naive(),
                    kind: if f.side == Side::Buy { "Buy".into() } else { "Sell".into() },
                    quantity: Some(signed(f)),
                    price: Some(f.price.0),
                    amount: Money(cents(f.quantity.0 * f.price.0)),
                    currency: ccy.clone(),
                    description: crate::market::name_of(symbol).map(str::to_string),
                })
                .collect(),
            realized_pnl: Money(total),
            realized_by_day: by_day.into_iter().map(|(d, v)| (d, Money(v))).collect(),
            notes: vec!["this run's trades only (average-cost realized P&L)".into()],
        }
    }

    /// Units of `to` per unit of `from`, from the simulator's fixed table of rates.
    pub fn fx_rate(&self, from: &str, to: &str) -> Result<Price, VenueError> {
        crate::market::fx_rate(from, to).map(Price).ok_or_else(|| {
            VenueError::NotFound(format!(
                "no exchange rate for {from}/{to} in the simulator (it knows {})",
                crate::market::FX_TO_USD.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
            ))
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

    pub(super) fn is_spot(&self) -> bool {
        matches!(self.cfg.profile, SimProfile::Spot { .. })
    }

    /// What live sell orders on `symbol` (but `except`) still have to sell.
    pub(super) fn reserved(s: &State, symbol: &str, except: Option<u64>) -> Decimal {
        s.orders
            .values()
            .filter(|o| o.symbol == symbol && o.side == Side::Sell && o.is_live() && o.parent.is_none())
            .filter(|o| Some(o.id) != except)
            .map(|o| o.qty.unwrap_or_default() - o.filled)
            .sum()
    }

    /// A spot exchange refuses a sell beyond the free balance (binance: -2010).
    pub(super) fn spot_refusal(&self, s: &State, o: &SimOrder) -> Option<String> {
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

    /// A quantity finer than the increment is refused, as the real venues refuse it.
    fn check_increment(&self, o: &OrderRequest) -> Result<(), VenueError> {
        let inc = self.increment();
        match o.size.quantity() {
            Some(q) if !(q % inc).is_zero() => Err(VenueError::InvalidRequest(format!(
                "quantity {} of {} is finer than its increment {inc}: use a multiple of {inc}",
                q.normalize(),
                o.symbol
            ))),
            _ => Ok(()),
        }
    }

    pub fn place(&self, order: &OrderRequest, client_order_id: &str) -> Result<OrderResult, VenueError> {
        if let Some(e) = self.unknown(&order.symbol) {
            return Err(e);
        }
        self.check_increment(order)?;
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
        self.check_increment(&b.entry)?;
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
        let inc = self.increment();
        let qty = match order.size {
            Size::Quantity(q) => q.0,
            Size::Cash(c) => self.cash_quantity(c.0, price),
        };
        let ccy = self.cfg.profile.currency();
        if qty <= Decimal::ZERO {
            return Err(VenueError::InvalidRequest(format!(
                "{} buys no {} at ~{} {ccy}: the smallest quantity is {inc} (about {} {ccy}); raise cash_amount",
                match order.size {
                    Size::Cash(c) => format!("cash_amount {} {ccy}", c.0.normalize()),
                    Size::Quantity(q) => format!("quantity {}", q.0.normalize()),
                },
                order.symbol,
                price.round_dp(2),
                cents(inc * price).max(Decimal::new(1, 2)),
            )));
        }
        // A cash amount is cut to the step already; a quantity must be on it.
        self.check_increment(order)?;
        let value = cents(qty * price);
        let fee = self.fee(qty, value);
        let cash_after = if order.side == Side::Buy { s.cash - value - fee } else { s.cash + value - fee };
        let mut warnings = vec![];
        if let Size::Cash(c) = order.size {
            warnings.push(format!(
                "of the {} {ccy} asked, about {} {ccy} will be spent ({} {} at ~{}, rounded down to the {inc} step, plus {} commission)",
                c.0.normalize(),
                value + fee,
                qty.normalize(),
                order.symbol,
                price.round_dp(2),
                fee
            ));
        }
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
        // A new size finer than the increment is refused as a new order's is.
        self.check_increment(new)?;
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

    /// Bars of `request`'s size over its period, oldest first; intraday bars agree with the
    /// daily ones (see [`crate::intraday`]).
    pub fn history(&self, symbol: &str, request: &HistoryRequest) -> Vec<Bar> {
        let days = u32::try_from(request.period.trading_days()).unwrap_or(u32::MAX).min(2000);
        if !request.bar.is_intraday() {
            return from_daily(self.bars(symbol, days), request.bar);
        }
        // Weekends and holidays in between, and the close before the first day.
        let daily = self.bars(symbol, days.saturating_add(5));
        let days: Vec<Day<'_>> = daily.windows(2).map(|w| Day { bar: &w[1], prev_close: w[0].close.0 }).collect();
        // Stocks trade in NYSE sessions even when the simulator fills orders around the clock.
        let hours = match self.cfg.profile {
            SimProfile::Stocks => MarketHoursModel::Nyse,
            SimProfile::Spot { .. } => MarketHoursModel::AlwaysOpen,
        };
        crate::intraday::bars(symbol, &days, request, hours, self.clock.now())
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
