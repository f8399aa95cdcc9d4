//! Account performance over IBKR's Portfolio Analyst periods: the NAV series, the cumulative
//! return and the return of each month (`/pa/performance`: `nav`, `cps`, `tpps`).

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{error::TradeError, money::Money};

/// The periods `/pa/performance` takes (SPEC enum).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PerfPeriod {
    #[serde(rename = "1D")]
    OneDay,
    #[serde(rename = "7D")]
    SevenDays,
    #[serde(rename = "MTD")]
    MonthToDate,
    #[serde(rename = "1M")]
    OneMonth,
    #[serde(rename = "3M")]
    ThreeMonths,
    #[serde(rename = "6M")]
    SixMonths,
    #[serde(rename = "12M")]
    TwelveMonths,
    #[serde(rename = "YTD")]
    YearToDate,
}

const PERIODS: &[(&str, PerfPeriod)] = &[
    ("1D", PerfPeriod::OneDay),
    ("7D", PerfPeriod::SevenDays),
    ("MTD", PerfPeriod::MonthToDate),
    ("1M", PerfPeriod::OneMonth),
    ("3M", PerfPeriod::ThreeMonths),
    ("6M", PerfPeriod::SixMonths),
    ("12M", PerfPeriod::TwelveMonths),
    ("YTD", PerfPeriod::YearToDate),
];

impl PerfPeriod {
    pub fn parse(raw: &str) -> Result<PerfPeriod, TradeError> {
        let want = raw.trim().to_ascii_uppercase();
        let want = match want.as_str() {
            "1Y" | "1YR" | "12MO" => "12M",
            "1W" => "7D",
            other => other,
        };
        PERIODS.iter().find(|(k, _)| *k == want).map(|(_, p)| *p).ok_or_else(|| {
            TradeError::validation(format!(
                "period: '{raw}' is not one of {}",
                PERIODS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// IBKR's spelling.
    pub fn as_str(self) -> &'static str {
        PERIODS.iter().find(|(_, p)| *p == self).map(|(k, _)| *k).unwrap_or("12M")
    }

    /// The first day the period measures from (its start NAV is the close before it).
    pub fn start(self, today: NaiveDate) -> NaiveDate {
        let months_back = |n: u32| today.checked_sub_months(chrono::Months::new(n)).unwrap_or(today);
        match self {
            PerfPeriod::OneDay => today - chrono::Duration::days(1),
            PerfPeriod::SevenDays => today - chrono::Duration::days(7),
            PerfPeriod::MonthToDate => today.with_day(1).unwrap_or(today),
            PerfPeriod::OneMonth => months_back(1),
            PerfPeriod::ThreeMonths => months_back(3),
            PerfPeriod::SixMonths => months_back(6),
            PerfPeriod::TwelveMonths => months_back(12),
            PerfPeriod::YearToDate => NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today),
        }
    }
}

/// One day's net asset value and the cumulative return to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NavPoint {
    pub date: NaiveDate,
    pub nav: Money,
    /// Since the period's start, in percent.
    pub cumulative_pct: Decimal,
}

/// A month's (or the venue's own sub-period's) return, in percent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PeriodReturn {
    /// `YYYY-MM` for months.
    pub period: String,
    pub return_pct: Decimal,
}

/// `performance`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Performance {
    pub account_id: String,
    pub currency: String,
    pub period: PerfPeriod,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub start_nav: Option<Money>,
    pub end_nav: Option<Money>,
    /// Over the whole period, in percent.
    pub return_pct: Option<Decimal>,
    /// How returns are measured (IBKR: TWR, time-weighted; deposits do not count as gains).
    pub method: String,
    pub nav: Vec<NavPoint>,
    pub monthly_returns: Vec<PeriodReturn>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

fn pct(ratio: Decimal) -> Decimal {
    (ratio * Decimal::ONE_HUNDRED).round_dp(2)
}

/// Performance from a daily NAV series (oldest first, no deposits or withdrawals): the NAV on
/// or before the period's start is the base; each month's return runs from the previous
/// month's last NAV to its own.
pub fn from_nav(
    account_id: &str,
    currency: &str,
    period: PerfPeriod,
    today: NaiveDate,
    series: &[(NaiveDate, Decimal)],
) -> Performance {
    let start = period.start(today);
    let base = series.iter().rev().find(|(d, _)| *d < start).or(series.first()).copied();
    let inside: Vec<(NaiveDate, Decimal)> = series.iter().filter(|(d, _)| *d >= start).copied().collect();
    let nav: Vec<NavPoint> = match base {
        Some((_, b)) if !b.is_zero() => inside
            .iter()
            .map(|(d, v)| NavPoint { date: *d, nav: Money(v.round_dp(2)), cumulative_pct: pct(*v / b - Decimal::ONE) })
            .collect(),
        _ => vec![],
    };
    let mut monthly_returns = vec![];
    let mut prev = base.map(|(_, v)| v);
    let mut i = 0;
    while i < inside.len() {
        let (d, _) = inside[i];
        let mut j = i;
        while j + 1 < inside.len() && inside[j + 1].0.month() == d.month() && inside[j + 1].0.year() == d.year() {
            j += 1;
        }
        let last = inside[j].1;
        if let Some(p) = prev.filter(|p| !p.is_zero()) {
            monthly_returns.push(PeriodReturn {
                period: format!("{:04}-{:02}", d.year(), d.month()),
                return_pct: pct(last / p - Decimal::ONE),
            });
        }
        prev = Some(last);
        i = j + 1;
    }
    Performance {
        account_id: account_id.into(),
        currency: currency.into(),
        period,
        start: inside.first().map(|(d, _)| *d),
        end: inside.last().map(|(d, _)| *d),
        start_nav: base.map(|(_, v)| Money(v.round_dp(2))),
        end_nav: inside.last().map(|(_, v)| Money(v.round_dp(2))),
        return_pct: nav.last().map(|p| p.cumulative_pct),
        method: "NAV change (no deposits or withdrawals)".into(),
        nav,
        monthly_returns,
        notes: vec![],
    }
}

/// At most `max` points of a series, evenly spaced, first and last kept.
pub fn thin(points: Vec<NavPoint>, max: usize) -> (Vec<NavPoint>, bool) {
    if points.len() <= max || max < 2 {
        return (points, false);
    }
    let n = points.len();
    let picked = (0..max).map(|k| k * (n - 1) / (max - 1)).collect::<Vec<_>>();
    (picked.into_iter().filter_map(|i| points.get(i).cloned()).collect(), true)
}

/// One transaction in an instrument: a buy, a sell, a dividend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Transaction {
    pub date: NaiveDate,
    /// "Buy", "Sell", "Dividend", ... as the venue names it.
    pub kind: String,
    /// Signed: negative for a sale.
    pub quantity: Option<Decimal>,
    pub price: Option<Decimal>,
    /// Money moved, in `currency`.
    pub amount: Money,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `transactions`' answer: what happened in one instrument over `days` days, and the P&L
/// realized by it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Transactions {
    pub account_id: String,
    pub symbol: String,
    pub days: u32,
    pub currency: String,
    pub transactions: Vec<Transaction>,
    pub realized_pnl: Money,
    /// Realized P&L by day.
    pub realized_by_day: Vec<(NaiveDate, Money)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Realized P&L of fills in time order (average cost; a sale realizes price − average cost
/// per share, less its commission): the total and by day.
pub fn realized(fills: &[(NaiveDate, Decimal, Decimal, Decimal)]) -> (Decimal, Vec<(NaiveDate, Decimal)>) {
    // (date, signed quantity, price, commission)
    let (mut held, mut cost) = (Decimal::ZERO, Decimal::ZERO);
    let mut by_day: Vec<(NaiveDate, Decimal)> = vec![];
    let mut total = Decimal::ZERO;
    for &(date, qty, price, fee) in fills {
        if qty > Decimal::ZERO {
            held += qty;
            cost += qty * price + fee;
            continue;
        }
        let sold = (-qty).min(held);
        if sold.is_zero() {
            continue;
        }
        let avg = cost / held;
        let pnl = sold * (price - avg) - fee;
        held -= sold;
        cost -= sold * avg;
        total += pnl;
        match by_day.last_mut() {
            Some((d, v)) if *d == date => *v += pnl,
            _ => by_day.push((date, pnl)),
        }
    }
    (total.round_dp(2), by_day.into_iter().map(|(d, v)| (d, v.round_dp(2))).collect())
}

#[cfg(test)]
#[path = "performance_tests.rs"]
mod tests;
