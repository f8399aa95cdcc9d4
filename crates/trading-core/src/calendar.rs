//! The NYSE calendar: regular hours in America/New_York, full holidays with NYSE's observance
//! rules, 13:00 early closes, and ad-hoc closures as data.
//!
//! Pure functions of a date or an instant: nothing here reads the clock. Years outside
//! [`FIRST_YEAR`]..=[`LAST_VERIFIED_YEAR`] are refused, so the market-hours guard fails closed
//! rather than guessing.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::{America::New_York, Tz};
use serde::Serialize;

/// The first year whose rules are implemented.
pub const FIRST_YEAR: i32 = 2020;
/// The last year checked against NYSE's published dates (2025–2028) or its rules (2029–2030).
pub const LAST_VERIFIED_YEAR: i32 = 2030;

/// Closures that no rule produces (national days of mourning, storms).
const AD_HOC_CLOSURES: &[(i32, u32, u32)] = &[(2025, 1, 9)];

/// One trading session, as instants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Session {
    pub open: DateTime<Utc>,
    pub close: DateTime<Utc>,
    pub early_close: bool,
}

/// Why the calendar cannot answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the NYSE calendar is verified only for {FIRST_YEAR}–{LAST_VERIFIED_YEAR}; {0} is outside it, so the market is treated as closed (update the calendar, or set ENFORCE_MARKET_HOURS=false)"
)]
pub struct OutOfRange(pub i32);

/// Open or closed at an instant, with the facts an agent needs to plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MarketState {
    pub market_open: bool,
    pub reason: String,
    pub session: Option<Session>,
    pub next_open: Option<DateTime<Utc>>,
}

/// The NYSE calendar plus any closures and early closes added by configuration.
#[derive(Clone, Debug, Default)]
pub struct NyseCalendar {
    extra_closures: Vec<NaiveDate>,
    extra_early_closes: Vec<NaiveDate>,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

fn nth_weekday(y: i32, m: u32, wd: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(y, m, wd, n).unwrap_or(NaiveDate::MIN)
}

/// The last `wd` on or before `d` (e.g. the last Monday of May from May 31).
fn last_weekday_on_or_before(mut d: NaiveDate, wd: Weekday) -> NaiveDate {
    while d.weekday() != wd {
        d -= Duration::days(1);
    }
    d
}

/// Easter Sunday (anonymous Gregorian algorithm).
fn easter(y: i32) -> NaiveDate {
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    date(y, month as u32, day as u32)
}

/// Saturday moves to Friday, Sunday to Monday.
fn observed(d: NaiveDate) -> NaiveDate {
    match d.weekday() {
        Weekday::Sat => d - Duration::days(1),
        Weekday::Sun => d + Duration::days(1),
        _ => d,
    }
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The full-day holidays NYSE's rules give for `year` (no ad-hoc closures).
pub fn rule_holidays(year: i32) -> Vec<NaiveDate> {
    let mut h = Vec::with_capacity(10);
    // New Year's Day on a Saturday is not observed on the Friday before (NYSE Rule 7.2).
    let ny = date(year, 1, 1);
    if ny.weekday() != Weekday::Sat {
        h.push(observed(ny));
    }
    h.push(nth_weekday(year, 1, Weekday::Mon, 3));
    h.push(nth_weekday(year, 2, Weekday::Mon, 3));
    h.push(easter(year) - Duration::days(2));
    h.push(last_weekday_on_or_before(date(year, 5, 31), Weekday::Mon));
    if year >= 2022 {
        h.push(observed(date(year, 6, 19)));
    }
    h.push(observed(date(year, 7, 4)));
    h.push(nth_weekday(year, 9, Weekday::Mon, 1));
    h.push(nth_weekday(year, 11, Weekday::Thu, 4));
    h.push(observed(date(year, 12, 25)));
    h
}

/// The 13:00 early closes NYSE's rules give for `year`.
pub fn rule_early_closes(year: i32) -> Vec<NaiveDate> {
    let mut e = Vec::with_capacity(3);
    let jul3 = date(year, 7, 3);
    if matches!(jul3.weekday(), Weekday::Mon | Weekday::Tue | Weekday::Wed | Weekday::Thu) {
        e.push(jul3);
    }
    e.push(nth_weekday(year, 11, Weekday::Thu, 4) + Duration::days(1));
    let dec24 = date(year, 12, 24);
    if matches!(dec24.weekday(), Weekday::Mon | Weekday::Tue | Weekday::Wed | Weekday::Thu) {
        e.push(dec24);
    }
    e
}

impl NyseCalendar {
    /// A calendar with extra closures and early closes from configuration.
    pub fn with_extras(extra_closures: Vec<NaiveDate>, extra_early_closes: Vec<NaiveDate>) -> Self {
        Self { extra_closures, extra_early_closes }
    }

    fn check_year(d: NaiveDate) -> Result<(), OutOfRange> {
        if (FIRST_YEAR..=LAST_VERIFIED_YEAR).contains(&d.year()) { Ok(()) } else { Err(OutOfRange(d.year())) }
    }

    /// Whether `d` is a full-day closure (holiday, ad-hoc or configured), weekends excluded.
    pub fn is_holiday(&self, d: NaiveDate) -> Result<bool, OutOfRange> {
        Self::check_year(d)?;
        let ad_hoc = AD_HOC_CLOSURES.iter().any(|&(y, m, dd)| date(y, m, dd) == d);
        Ok(ad_hoc || self.extra_closures.contains(&d) || rule_holidays(d.year()).contains(&d))
    }

    /// The regular session on `d`, or `None` when the exchange does not open that day.
    pub fn session(&self, d: NaiveDate) -> Result<Option<Session>, OutOfRange> {
        if is_weekend(d) || self.is_holiday(d)? {
            return Ok(None);
        }
        let early = rule_early_closes(d.year()).contains(&d) || self.extra_early_closes.contains(&d);
        let close = if early { (13, 0) } else { (16, 0) };
        let at = |(h, m): (u32, u32)| -> Option<DateTime<Utc>> {
            let t = NaiveTime::from_hms_opt(h, m, 0)?;
            New_York.from_local_datetime(&d.and_time(t)).single().map(|x| x.with_timezone(&Utc))
        };
        Ok(match (at((9, 30)), at(close)) {
            (Some(open), Some(close)) => Some(Session { open, close, early_close: early }),
            _ => None,
        })
    }

    /// Whether regular trading is under way at `now`, with the reason and the next open.
    pub fn state_at(&self, now: DateTime<Utc>) -> Result<MarketState, OutOfRange> {
        let today = now.with_timezone(&New_York).date_naive();
        let session = self.session(today)?;
        let (open, reason) = match session {
            None if is_weekend(today) => (false, "weekend".to_string()),
            None => (false, "NYSE holiday or closure".to_string()),
            Some(s) if now < s.open => (false, "before the 09:30 ET open".to_string()),
            Some(s) if now >= s.close && s.early_close => (false, "after the 13:00 ET early close".to_string()),
            Some(s) if now >= s.close => (false, "after the 16:00 ET close".to_string()),
            Some(s) if s.early_close => (true, "regular session (early close 13:00 ET)".into()),
            Some(_) => (true, "regular session".to_string()),
        };
        Ok(MarketState { market_open: open, reason, session, next_open: self.next_open(now)? })
    }

    /// The next session open strictly after `now`, within the verified range.
    pub fn next_open(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, OutOfRange> {
        let mut d = now.with_timezone(&New_York).date_naive();
        for _ in 0..15 {
            if Self::check_year(d).is_err() {
                return Ok(None);
            }
            if let Some(s) = self.session(d)?
                && s.open > now
            {
                return Ok(Some(s.open));
            }
            d += Duration::days(1);
        }
        Ok(None)
    }

    /// The exchange's time zone.
    pub fn tz(&self) -> Tz {
        New_York
    }
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
