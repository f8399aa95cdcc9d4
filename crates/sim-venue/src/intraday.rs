//! Intraday bars: each past session's minutes are a seeded bridge from the day's open to its
//! close inside its high and low, so intraday and daily history agree; today's run from the
//! open to the current price, up to now. Extended hours (04:00-09:30 and 16:00-20:00 New York)
//! bridge the previous close to the open and wander around the close.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use trading_core::{
    account::{Bar, MarketHoursModel},
    bars::{HistoryRequest, PeriodUnit, merge_minutes},
    calendar::NyseCalendar,
    money::{Price, Qty},
};

use crate::market::SplitMix64;

fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
}

fn seed_of(symbol: &str, day: chrono::NaiveDate) -> u64 {
    let s = format!("{symbol}/{day}");
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// `n` prices from `from` to `to`: a walk with the straight line's error taken out, clamped to
/// `[low, high]` when given.
fn bridge(
    rng: &mut SplitMix64,
    from: Decimal,
    to: Decimal,
    n: usize,
    band: Option<(Decimal, Decimal)>,
) -> Vec<Decimal> {
    if n == 0 {
        return vec![];
    }
    let mut walk = Vec::with_capacity(n);
    let mut x = Decimal::ZERO;
    for _ in 0..n {
        let bps = Decimal::from(i64::try_from(rng.next_u64() % 21).unwrap_or(10) - 10);
        x += bps / Decimal::from(10_000);
        walk.push(x);
    }
    let last = walk[n - 1];
    let steps = Decimal::from(n);
    walk.iter()
        .enumerate()
        .map(|(i, w)| {
            let t = Decimal::from(i + 1) / steps;
            let base = from + (to - from) * t;
            let p = cents(base * (Decimal::ONE + *w - last * t)).max(Decimal::new(1, 2));
            match band {
                Some((lo, hi)) => p.clamp(lo, hi),
                None => p,
            }
        })
        .collect()
}

/// One day as the simulator knows it: its daily bar and the previous close.
pub(crate) struct Day<'a> {
    pub bar: &'a Bar,
    pub prev_close: Decimal,
}

/// Minute bars of `days` (oldest first) up to `now`, merged to `request`'s size and cut to
/// its period.
pub(crate) fn bars(
    symbol: &str,
    days: &[Day<'_>],
    request: &HistoryRequest,
    hours: MarketHoursModel,
    now: DateTime<Utc>,
) -> Vec<Bar> {
    let calendar = NyseCalendar::default();
    let mut sessions: Vec<Vec<Bar>> = vec![];
    for day in days {
        let date = day.bar.time.date_naive();
        let (open, close) = match hours {
            MarketHoursModel::AlwaysOpen => {
                let start = date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
                (start, start + Duration::days(1))
            }
            MarketHoursModel::Nyse => match calendar.session(date) {
                Ok(Some(s)) => (s.open, s.close),
                _ => continue,
            },
        };
        let extended = request.outside_rth && hours == MarketHoursModel::Nyse;
        let mut rng = SplitMix64::new(seed_of(symbol, date));
        let b = day.bar;
        // (start, the price it starts from, each minute's close)
        let mut segments: Vec<(DateTime<Utc>, Decimal, Vec<Decimal>)> = vec![];
        if extended {
            let pre_open = open - Duration::minutes(330);
            segments.push((pre_open, day.prev_close, bridge(&mut rng, day.prev_close, b.open.0, 330, None)));
        }
        // Today's session runs to the current price at the current minute.
        let regular = usize::try_from((close.min(now) - open).num_minutes()).unwrap_or(0);
        segments.push((open, b.open.0, bridge(&mut rng, b.open.0, b.close.0, regular, Some((b.low.0, b.high.0)))));
        if extended && now > close {
            segments.push((close, b.close.0, bridge(&mut rng, b.close.0, b.close.0, 240, None)));
        }
        let volume = b.volume.0 / Decimal::from(regular.max(1));
        let mut minutes = vec![];
        for (start, mut prev, prices) in segments {
            for (i, p) in prices.into_iter().enumerate() {
                let time = start + Duration::minutes(i64::try_from(i).unwrap_or(0));
                if time >= now {
                    break;
                }
                let share = Decimal::from(50 + rng.next_u64() % 100) / Decimal::ONE_HUNDRED;
                minutes.push(Bar {
                    time,
                    open: Price(prev),
                    high: Price(prev.max(p)),
                    low: Price(prev.min(p)),
                    close: Price(p),
                    volume: Qty((volume * share).round_dp(0)),
                });
                prev = p;
            }
        }
        if !minutes.is_empty() {
            sessions.push(minutes);
        }
    }
    // The latest sessions that have begun (before today's open, yesterday's is the latest).
    let keep = usize::try_from(request.period.trading_days()).unwrap_or(1);
    let skip = sessions.len().saturating_sub(keep);
    let mut minutes: Vec<Bar> = sessions.into_iter().skip(skip).flatten().collect();
    if matches!(request.period.unit, PeriodUnit::Minute | PeriodUnit::Hour) {
        let keep = usize::try_from(request.period.count).unwrap_or(0)
            * if request.period.unit == PeriodUnit::Hour { 60 } else { 1 };
        let skip = minutes.len().saturating_sub(keep);
        minutes.drain(..skip);
    }
    merge_minutes(&minutes, request.bar.minutes())
}
