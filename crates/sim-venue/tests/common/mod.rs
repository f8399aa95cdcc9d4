#![allow(dead_code, clippy::unwrap_used)]

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use sim_venue::{SimConfig, SimVenue};
use trading_core::{
    broker::GuardedBroker,
    config::{IBKR_KEYS, Policy},
    journal::Journal,
    money::{Money, Price, Qty},
    order::{OrderIntent, OrderRequest, OrderType, Side, Size, TimeInForce},
    ports::{Clock, Venue},
};

/// A fixed clock: Tuesday 2026-11-24 10:00 New York (market open).
#[derive(Debug)]
pub struct FixedClock(pub std::sync::Mutex<DateTime<Utc>>);

impl FixedClock {
    pub fn open() -> Arc<Self> {
        Arc::new(Self(std::sync::Mutex::new(Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap())))
    }
    pub fn advance(&self, secs: i64) {
        *self.0.lock().unwrap() += chrono::Duration::seconds(secs);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

pub struct Rig {
    pub dir: tempfile::TempDir,
    pub sim: Arc<SimVenue>,
    pub broker: Arc<GuardedBroker>,
    pub clock: Arc<FixedClock>,
}

pub fn policy(pairs: &[(&str, &str)]) -> Policy {
    let env: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Policy::from_env(&env, IBKR_KEYS).unwrap()
}

/// A simulator behind a GuardedBroker that sends orders (dry-run off, no tokens, no caps)
/// plus whatever `pairs` say.
pub fn rig(seed: u64, pairs: &[(&str, &str)]) -> Rig {
    let mut all: Vec<(&str, &str)> = vec![
        ("TRADING_DRY_RUN", "false"),
        ("ORDER_CONFIRMATION", "off"),
        ("MAX_ORDER_VALUE", "off"),
        ("MAX_POSITION_VALUE", "off"),
        ("MAX_DAILY_VALUE", "off"),
        ("MAX_ORDER_QUANTITY", "off"),
        ("MAX_DAILY_ORDERS", "off"),
        ("DUPLICATE_WINDOW_SECONDS", "0"),
        ("CLOSE_COOLDOWN_SECONDS", "0"),
    ];
    all.extend_from_slice(pairs);
    let clock = FixedClock::open();
    let sim = Arc::new(SimVenue::new(SimConfig { seed, ..SimConfig::default() }, clock.clone()));
    rig_with(sim, clock, &all)
}

pub fn rig_with(venue: Arc<SimVenue>, clock: Arc<FixedClock>, pairs: &[(&str, &str)]) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("trades.jsonl"), IBKR_KEYS.journal_tz).unwrap());
    let broker = Arc::new(GuardedBroker::new(venue.clone() as Arc<dyn Venue>, policy(pairs), journal, clock.clone()));
    Rig { dir, sim: venue, broker, clock }
}

pub fn req(side: Side, t: OrderType, size: Size) -> OrderRequest {
    OrderRequest {
        symbol: "AAPL".into(),
        side,
        order_type: t,
        size,
        limit_price: None,
        stop_price: None,
        trail: None,
        tif: TimeInForce::Day,
    }
}

pub fn cash_buy(sym: &str, cash: i64) -> OrderIntent {
    let mut r = req(Side::Buy, OrderType::Market, Size::Cash(Money(Decimal::from(cash))));
    r.symbol = sym.into();
    OrderIntent::Single(r)
}

pub fn qty_order(sym: &str, side: Side, q: Decimal) -> OrderIntent {
    let mut r = req(side, OrderType::Market, Size::Quantity(Qty(q)));
    r.symbol = sym.into();
    OrderIntent::Single(r)
}

pub fn limit(sym: &str, side: Side, q: Decimal, px: Decimal) -> OrderIntent {
    let mut r = req(side, OrderType::Limit, Size::Quantity(Qty(q)));
    r.symbol = sym.into();
    r.limit_price = Some(Price(px));
    OrderIntent::Single(r)
}
