//! With shorting off, no sequence of buys, sells, stops, trailing stops, brackets, limit sells,
//! modifications, cancels and closes (some run concurrently) ever leaves a short, however the
//! market moves afterwards: working exits count against the holding, a close cancels them.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proptest::prelude::*;
use rust_decimal::Decimal;
use trading_core::{
    broker::OrderChange,
    money::{Price, Qty},
    order::{BracketRequest, OrderIntent, OrderType, Side, Size, Trail},
    ports::{Account, Broker, MarketData},
};

#[derive(Clone, Debug)]
enum Op {
    Buy(u8),
    Sell(u8),
    Stop(u8, u8),
    Trail(u8, u8),
    Bracket(u8),
    LimitSell(u8, u8),
    Modify(u8, u8),
    Cancel(u8),
    Close,
    Steps(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u8..5).prop_map(Op::Buy),
        (1u8..7).prop_map(Op::Sell),
        (1u8..7, 90u8..99).prop_map(|(q, p)| Op::Stop(q, p)),
        (1u8..7, 1u8..4).prop_map(|(q, p)| Op::Trail(q, p)),
        (1u8..4).prop_map(Op::Bracket),
        (1u8..7, 101u8..106).prop_map(|(q, p)| Op::LimitSell(q, p)),
        (0u8..8, 1u8..7).prop_map(|(i, q)| Op::Modify(i, q)),
        (0u8..8).prop_map(Op::Cancel),
        Just(Op::Close),
        (1u16..300).prop_map(Op::Steps),
    ]
}

async fn run(r: &Rig, sym: &str, op: &Op, placed: &std::sync::Mutex<Vec<String>>) {
    let d = |x: u8| Decimal::from(x);
    let last = r.sim.quote(sym).await.unwrap().last.unwrap().0;
    let pct = |p: u8| Price((last * Decimal::from(p) / Decimal::ONE_HUNDRED).round_dp(2));
    let single = |side, t, q: u8| {
        let mut o = req(side, t, Size::Quantity(Qty(d(q))));
        o.symbol = sym.to_string();
        o
    };
    let intent = match op {
        Op::Buy(q) => Some(OrderIntent::Single(single(Side::Buy, OrderType::Market, *q))),
        Op::Sell(q) => Some(OrderIntent::Single(single(Side::Sell, OrderType::Market, *q))),
        Op::Stop(q, p) => {
            let mut o = single(Side::Sell, OrderType::Stop, *q);
            o.stop_price = Some(pct(*p));
            Some(OrderIntent::Single(o))
        }
        Op::Trail(q, p) => {
            let mut o = single(Side::Sell, OrderType::Trail, *q);
            o.trail = Some(Trail::Percent(d(*p)));
            Some(OrderIntent::Single(o))
        }
        Op::Bracket(q) => Some(OrderIntent::Bracket(BracketRequest {
            entry: single(Side::Buy, OrderType::Market, *q),
            take_profit: pct(105),
            stop_loss: pct(95),
        })),
        Op::LimitSell(q, p) => {
            let mut o = single(Side::Sell, OrderType::Limit, *q);
            o.limit_price = Some(pct(*p));
            Some(OrderIntent::Single(o))
        }
        Op::Modify(i, q) => {
            let id = placed.lock().unwrap().get(usize::from(*i)).cloned();
            if let Some(id) = id {
                let _ =
                    r.broker.modify(&id, OrderChange { quantity: Some(Qty(d(*q))), ..Default::default() }, None).await;
            }
            None
        }
        Op::Cancel(i) => {
            let id = placed.lock().unwrap().get(usize::from(*i)).cloned();
            if let Some(id) = id {
                let _ = r.broker.cancel(&id, None).await;
            }
            None
        }
        Op::Close => {
            let _ = r.broker.close_position(sym, None).await;
            None
        }
        Op::Steps(n) => {
            for _ in 0..*n {
                let _ = r.sim.quote(sym).await;
            }
            None
        }
    };
    if let Some(i) = intent
        && let Ok(res) = r.broker.submit(i, None).await
    {
        placed.lock().unwrap().extend(res.into_iter().filter_map(|x| x.order_id));
    }
}

/// Runs `ops` (pairs marked `together` run concurrently), then lets the market run; the
/// holding must never be negative.
async fn never_short(r: &Rig, sym: &str, ops: &[(Op, bool)]) -> Result<(), TestCaseError> {
    let placed = std::sync::Mutex::new(vec![]);
    let mut i = 0;
    while i < ops.len() {
        let (a, together) = &ops[i];
        if *together && i + 1 < ops.len() {
            // Two operations at once: the guard serialises placement.
            tokio::join!(run(r, sym, a, &placed), run(r, sym, &ops[i + 1].0, &placed));
            i += 2;
        } else {
            run(r, sym, a, &placed).await;
            i += 1;
        }
        let held = r.sim.held_quantity(sym).await.unwrap();
        prop_assert!(held >= Decimal::ZERO, "short {held} after {:?}", &ops[..i]);
    }
    // Whatever is still working fires as the market moves.
    for _ in 0..3000 {
        let _ = r.sim.quote(sym).await;
    }
    let held = r.sim.held_quantity(sym).await.unwrap();
    prop_assert!(held >= Decimal::ZERO, "short {held} after {ops:?}; open {:?}", r.sim.open_orders().await.unwrap());
    Ok(())
}

fn block_on<F: std::future::Future<Output = Result<(), TestCaseError>>>(f: F) -> Result<(), TestCaseError> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]
    #[test]
    fn nothing_ends_short_on_a_stock_broker(ops in prop::collection::vec((op(), any::<bool>()), 1..12), seed in 0u64..1000) {
        block_on(async { never_short(&rig(seed, &[]), "KO", &ops).await })?;
    }

    #[test]
    fn nothing_ends_short_on_a_spot_exchange(ops in prop::collection::vec((op(), any::<bool>()), 1..12), seed in 0u64..1000) {
        block_on(async {
            let clock = FixedClock::open();
            let cfg = sim_venue::SimConfig {
                seed,
                profile: sim_venue::SimProfile::Spot { quote: "USDT".into() },
                market_hours: trading_core::account::MarketHoursModel::AlwaysOpen,
                prices: [("DOGE/USDT".to_string(), Decimal::new(2, 1))].into_iter().collect(),
                ..sim_venue::SimConfig::default()
            };
            let sim = std::sync::Arc::new(sim_venue::SimVenue::new(cfg, clock.clone()));
            let pairs = [
                ("TRADING_DRY_RUN", "false"), ("ORDER_CONFIRMATION", "off"), ("MAX_ORDER_VALUE", "off"),
                ("MAX_POSITION_VALUE", "off"), ("MAX_DAILY_VALUE", "off"), ("MAX_ORDER_QUANTITY", "off"),
                ("MAX_DAILY_ORDERS", "off"), ("DUPLICATE_WINDOW_SECONDS", "0"), ("CLOSE_COOLDOWN_SECONDS", "0"),
                ("TRADING_ALLOW_SHORT", "true"),
            ];
            never_short(&rig_with(sim, clock, &pairs), "DOGE/USDT", &ops).await
        })?;
    }
}
