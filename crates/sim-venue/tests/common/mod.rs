#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use sim_venue::{SimConfig, SimVenue};
use test_support::orders::market;
use trading_core::{
    broker::GuardedBroker,
    config::{Policy, PolicyKeys},
    journal::Journal,
    money::{Money, Qty},
    order::{OrderIntent, OrderRequest, OrderType, Side, Size},
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
    Policy::from_env(&test_support::orders::env(pairs), PolicyKeys::GENERIC).unwrap()
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
    let journal = Arc::new(Journal::open(&dir.path().join("trades.jsonl"), PolicyKeys::GENERIC.journal_tz).unwrap());
    let broker = Arc::new(GuardedBroker::new(venue.clone() as Arc<dyn Venue>, policy(pairs), journal, clock.clone()));
    Rig { dir, sim: venue, broker, clock }
}

pub fn req(side: Side, t: OrderType, size: Size) -> OrderRequest {
    test_support::orders::order("AAPL", side, t, size)
}

pub fn cash_buy(sym: &str, cash: i64) -> OrderIntent {
    market(sym, Side::Buy, Size::Cash(Money(Decimal::from(cash))))
}

pub fn qty_order(sym: &str, side: Side, q: Decimal) -> OrderIntent {
    market(sym, side, Size::Quantity(Qty(q)))
}

pub fn limit(sym: &str, side: Side, q: Decimal, px: Decimal) -> OrderIntent {
    test_support::orders::limit(sym, side, Size::Quantity(Qty(q)), &px.to_string())
}
