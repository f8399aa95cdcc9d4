//! Price-history requests: a bar size, a period and whether hours outside the regular session
//! count. The spellings follow IBKR's history endpoint (`bar` units `min h d w m`, `period`
//! units `min h d w m y`; cpapi-endpoints.md "marketdata/history") except that a month bar is
//! written `1month` here, since `1m` reads as a minute to most people.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::{
    account::Bar,
    error::TradeError,
    money::{Price, Qty},
};

/// IBKR answers at most this many points per history request.
pub const MAX_POINTS: u64 = 1000;

/// Regular-session minutes of a US trading day, and the extended day (04:00-20:00 New York).
const RTH_MINUTES: u64 = 390;
const EXTENDED_MINUTES: u64 = 960;

/// The bar sizes served, with their length in minutes (a day, week and month bar count in
/// trading days: 1, 5, 21).
const SIZES: &[(&str, &str, u64)] = &[
    ("1min", "1min", 1),
    ("2min", "2min", 2),
    ("3min", "3min", 3),
    ("5min", "5min", 5),
    ("10min", "10min", 10),
    ("15min", "15min", 15),
    ("30min", "30min", 30),
    ("1h", "1h", 60),
    ("2h", "2h", 120),
    ("3h", "3h", 180),
    ("4h", "4h", 240),
    ("8h", "8h", 480),
    ("1d", "1d", 0),
    ("1w", "1w", 0),
    ("1month", "1m", 0),
];

/// One bar size: its name here, IBKR's spelling and its minutes (0 for day, week, month).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BarSize {
    pub name: &'static str,
    #[serde(skip)]
    ibkr: &'static str,
    #[serde(skip)]
    minutes: u64,
}

impl BarSize {
    pub const DAY: BarSize = BarSize { name: "1d", ibkr: "1d", minutes: 0 };

    /// Every accepted spelling, for error messages and tool descriptions.
    pub fn names() -> String {
        SIZES.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
    }

    pub fn parse(raw: &str) -> Result<BarSize, TradeError> {
        let want = raw.trim().to_ascii_lowercase();
        let want = match want.as_str() {
            "1mo" | "1mon" | "month" => "1month".to_string(),
            "day" | "daily" => "1d".to_string(),
            "week" | "weekly" => "1w".to_string(),
            "hour" | "60min" => "1h".to_string(),
            "1m" => {
                return Err(TradeError::validation(
                    "bar: '1m' is ambiguous; write 1min for a minute bar or 1month for a month bar",
                ));
            }
            _ => want,
        };
        SIZES
            .iter()
            .find(|s| s.0 == want)
            .map(|&(name, ibkr, minutes)| BarSize { name, ibkr, minutes })
            .ok_or_else(|| TradeError::validation(format!("bar: '{raw}' is not one of {}", BarSize::names())))
    }

    /// The spelling IBKR's `bar` parameter takes.
    pub fn ibkr(&self) -> &'static str {
        self.ibkr
    }

    /// The bar's minutes (intraday sizes only; 0 otherwise).
    pub fn minutes(&self) -> u64 {
        self.minutes
    }

    /// Shorter than a day.
    pub fn is_intraday(&self) -> bool {
        self.minutes > 0
    }

    /// Trading days one bar spans (day, week, month bars).
    fn days(&self) -> u64 {
        match self.name {
            "1w" => 5,
            "1month" => 21,
            _ => 1,
        }
    }
}

/// A history period: a count and a unit (`min`, `h`, `d`, `w`, `m` for months, `y`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub count: u32,
    pub unit: PeriodUnit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodUnit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl PeriodUnit {
    fn ibkr(self) -> &'static str {
        match self {
            PeriodUnit::Minute => "min",
            PeriodUnit::Hour => "h",
            PeriodUnit::Day => "d",
            PeriodUnit::Week => "w",
            PeriodUnit::Month => "m",
            PeriodUnit::Year => "y",
        }
    }
}

impl Period {
    pub fn parse(raw: &str) -> Result<Period, TradeError> {
        let s = raw.trim().to_ascii_lowercase();
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        let unit = match &s[digits.len()..] {
            "min" => PeriodUnit::Minute,
            "h" => PeriodUnit::Hour,
            "d" => PeriodUnit::Day,
            "w" => PeriodUnit::Week,
            "m" | "mo" | "month" | "months" => PeriodUnit::Month,
            "y" => PeriodUnit::Year,
            _ => {
                return Err(TradeError::validation(format!(
                    "period: '{raw}' is not a count and a unit (min, h, d, w, m for months, y), e.g. 1d, 2w, 6m, 1y"
                )));
            }
        };
        let count: u32 = digits.parse().ok().filter(|c| (1..=3650).contains(c)).ok_or_else(|| {
            TradeError::validation(format!("period: '{raw}' needs a count from 1 to 3650 before its unit"))
        })?;
        Ok(Period { count, unit })
    }

    /// A period of whole days.
    pub fn days(count: u32) -> Period {
        Period { count: count.max(1), unit: PeriodUnit::Day }
    }

    /// The spelling IBKR's `period` parameter takes.
    pub fn ibkr(&self) -> String {
        format!("{}{}", self.count, self.unit.ibkr())
    }

    /// Trading days the period reaches back (at least one).
    pub fn trading_days(&self) -> u64 {
        let n = u64::from(self.count);
        match self.unit {
            PeriodUnit::Minute | PeriodUnit::Hour => 1,
            PeriodUnit::Day => n,
            PeriodUnit::Week => n * 5,
            PeriodUnit::Month => n * 21,
            PeriodUnit::Year => n * 252,
        }
    }

    /// Calendar minutes the period spans (for venues that trade around the clock; a month is
    /// 30 days, a year 365).
    pub fn calendar_minutes(&self) -> u64 {
        let n = u64::from(self.count);
        match self.unit {
            PeriodUnit::Minute => n,
            PeriodUnit::Hour => n * 60,
            PeriodUnit::Day => n * 1440,
            PeriodUnit::Week => n * 7 * 1440,
            PeriodUnit::Month => n * 30 * 1440,
            PeriodUnit::Year => n * 365 * 1440,
        }
    }

    fn minutes(&self, day_minutes: u64) -> u64 {
        let n = u64::from(self.count);
        match self.unit {
            PeriodUnit::Minute => n,
            PeriodUnit::Hour => n * 60,
            _ => self.trading_days() * day_minutes,
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.ibkr())
    }
}

/// What `price_history` asks a venue for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryRequest {
    pub bar: BarSize,
    pub period: Period,
    /// Include pre- and post-market bars (intraday only).
    pub outside_rth: bool,
}

impl HistoryRequest {
    /// Daily bars covering `days` trading days.
    pub fn daily(days: u32) -> HistoryRequest {
        HistoryRequest { bar: BarSize::DAY, period: Period::days(days), outside_rth: false }
    }

    /// Checks the combination: a bar no longer than its period and at most [`MAX_POINTS`] bars.
    pub fn new(bar: BarSize, period: Period, outside_rth: bool) -> Result<HistoryRequest, TradeError> {
        let r = HistoryRequest { bar, period, outside_rth };
        let points = r.estimated_points();
        if points == 0 {
            return Err(TradeError::validation(format!(
                "bar: a {} bar is longer than the period {period}; choose a longer period or a shorter bar",
                bar.name
            )));
        }
        if points > MAX_POINTS {
            return Err(TradeError::validation(format!(
                "period: {period} of {} bars is about {points} bars, over IBKR's {MAX_POINTS} per request; \
                 choose a shorter period or a longer bar",
                bar.name
            )));
        }
        Ok(r)
    }

    /// Roughly how many bars the request yields (trading time, not calendar time).
    pub fn estimated_points(&self) -> u64 {
        if self.bar.is_intraday() {
            let day = if self.outside_rth { EXTENDED_MINUTES } else { RTH_MINUTES };
            self.period.minutes(day) / self.bar.minutes
        } else {
            self.period.trading_days() / self.bar.days()
        }
    }
}

/// `acc` grown by the later bar `b`: its close, the wider range, the summed volume.
fn extend(acc: &mut Bar, b: &Bar) {
    acc.high = Price(acc.high.0.max(b.high.0));
    acc.low = Price(acc.low.0.min(b.low.0));
    acc.close = b.close;
    acc.volume = Qty(acc.volume.0 + b.volume.0);
}

/// Week or month bars from daily bars (oldest first): a week is Monday to Friday (ISO week),
/// a month a calendar month; each bar is stamped with its last day's time.
pub fn aggregate(daily: &[Bar], bar: BarSize) -> Vec<Bar> {
    let key = |d: NaiveDate| match bar.name {
        "1w" => (d.iso_week().year(), d.iso_week().week()),
        "1month" => (d.year(), d.month()),
        _ => (d.year(), d.ordinal()),
    };
    let mut out: Vec<(_, Bar)> = vec![];
    for b in daily {
        let k = key(b.time.date_naive());
        match out.last_mut() {
            Some((last, acc)) if *last == k => {
                extend(acc, b);
                acc.time = b.time;
            }
            _ => out.push((k, b.clone())),
        }
    }
    out.into_iter().map(|(_, b)| b).collect()
}

/// Day bars as they are, or merged into week or month bars.
pub fn from_daily(daily: Vec<Bar>, bar: BarSize) -> Vec<Bar> {
    if bar == BarSize::DAY { daily } else { aggregate(&daily, bar) }
}

/// Minute-level bars merged into bars of `minutes` minutes, each starting at a multiple of the
/// size from its session's first bar.
pub fn merge_minutes(minute_bars: &[Bar], minutes: u64) -> Vec<Bar> {
    let size = i64::try_from(minutes.max(1)).unwrap_or(1) * 60;
    let mut out: Vec<(i64, Bar)> = vec![];
    let mut session_start = 0;
    let mut last_time: Option<i64> = None;
    for b in minute_bars {
        let t = b.time.timestamp();
        // A gap longer than an hour starts a new session.
        if last_time.is_none_or(|last| t - last > 3600) {
            session_start = t;
        }
        last_time = Some(t);
        let slot = session_start + (t - session_start) / size * size;
        match out.last_mut() {
            Some((s, acc)) if *s == slot => extend(acc, b),
            _ => out.push((slot, b.clone())),
        }
    }
    out.into_iter().map(|(_, b)| b).collect()
}

#[cfg(test)]
#[path = "bars_tests.rs"]
mod tests;
