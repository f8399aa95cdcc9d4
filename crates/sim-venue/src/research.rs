//! Research on the simulator: a scanner that ranks the simulated universe for the price and
//! volume scans it can compute honestly (and says which it cannot), contract search and
//! details, and NYSE trading schedules.

use chrono::{Duration, Utc};
use rust_decimal::{Decimal, prelude::ToPrimitive};
use serde_json::{Value, json};
use trading_core::{
    account::{ContractMatch, ScanRequest, ScanRow},
    calendar::NyseCalendar,
    error::VenueError,
};

use crate::{
    Exchange,
    market::{FAMILIAR, name_of, sector_of},
};

/// The scans the simulator computes from its own prices and volumes.
pub const SIM_SCANS: &[&str] = &["TOP_PERC_GAIN", "TOP_PERC_LOSE", "MOST_ACTIVE", "HIGH_VS_52W_HL", "LOW_VS_52W_HL"];

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

fn filter_ok(filters: &[(String, Value)], price: f64, volume: f64, change: f64) -> Result<bool, VenueError> {
    for (code, v) in filters {
        let x = v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or(f64::NAN);
        let pass = match code.as_str() {
            "priceAbove" => price > x,
            "priceBelow" => price < x,
            "volumeAbove" => volume > x,
            "changePercAbove" => change > x,
            "changePercBelow" => change < x,
            other => {
                return Err(VenueError::Unsupported {
                    venue: format!(
                        "the simulator (filter {other}; it applies priceAbove, priceBelow, volumeAbove, changePercAbove, changePercBelow)"
                    ),
                    capability: "this scanner filter",
                });
            }
        };
        if !pass {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Exchange {
    /// Ranks the simulated universe (the familiar US tickers) for a price/volume scan.
    pub fn run_scanner(&self, req: &ScanRequest) -> Result<Vec<ScanRow>, VenueError> {
        if !SIM_SCANS.contains(&req.scan_code.as_str()) {
            return Err(VenueError::Unsupported {
                venue: format!("the simulator (it computes {} from its own prices)", SIM_SCANS.join(", ")),
                capability: "this scan",
            });
        }
        if req.instrument != "STK" && !req.instrument.starts_with("ETF") {
            return Ok(vec![]);
        }
        let mut rows: Vec<(String, f64, String)> = vec![];
        for (sym, _) in FAMILIAR {
            let bars = self.bars(sym, 253);
            let (Some(last), Some(prev)) = (bars.last(), bars.len().checked_sub(2).and_then(|i| bars.get(i))) else {
                continue;
            };
            let change = (f(last.close.0) / f(prev.close.0) - 1.0) * 100.0;
            let volume = f(prev.volume.0);
            if !filter_ok(&req.filters, f(last.close.0), volume, change)? {
                continue;
            }
            let hi = bars.iter().map(|b| f(b.high.0)).fold(f64::MIN, f64::max);
            let lo = bars.iter().map(|b| f(b.low.0)).fold(f64::MAX, f64::min);
            let pos = if hi > lo { (f(last.close.0) - lo) / (hi - lo) * 100.0 } else { 50.0 };
            let (key, shown) = match req.scan_code.as_str() {
                "TOP_PERC_GAIN" => (change, format!("{change:.2}%")),
                "TOP_PERC_LOSE" => (-change, format!("{change:.2}%")),
                "MOST_ACTIVE" => (volume, format!("{volume:.0}")),
                "HIGH_VS_52W_HL" => (pos, format!("{pos:.1}% of 52w range")),
                _ => (-pos, format!("{pos:.1}% of 52w range")),
            };
            rows.push((sym.to_string(), key, shown));
        }
        rows.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(rows
            .into_iter()
            .take(req.max_rows.max(1))
            .enumerate()
            .map(|(i, (symbol, _, value))| ScanRow {
                rank: i + 1,
                name: name_of(&symbol).map(str::to_string),
                conid: None,
                exchange: Some("SIM".into()),
                symbol,
                value: Some(value),
            })
            .collect())
    }

    /// Familiar tickers whose symbol starts with, or whose name contains, the query; any
    /// other plausible ticker matches itself (the simulator quotes any symbol).
    pub fn search_contracts(&self, query: &str) -> Vec<ContractMatch> {
        let q = query.trim().to_ascii_uppercase();
        let mut out: Vec<ContractMatch> = FAMILIAR
            .iter()
            .map(|(s, _)| *s)
            .filter(|s| !q.is_empty() && (s.starts_with(&q) || name_of(s).is_some_and(|n| n.contains(&q))))
            .map(|s| ContractMatch {
                symbol: s.into(),
                name: name_of(s).map(str::to_string),
                conid: None,
                exchange: Some("SIM".into()),
                sec_types: vec!["STK".into()],
            })
            .collect();
        let plausible = (1..=5).contains(&q.len()) && q.chars().all(|c| c.is_ascii_uppercase());
        if out.is_empty() && plausible {
            out.push(ContractMatch {
                symbol: q,
                name: None,
                conid: None,
                exchange: Some("SIM".into()),
                sec_types: vec!["STK".into()],
            });
        }
        out
    }

    pub fn contract_details(&self, symbol: &str) -> Value {
        json!({
            "symbol": symbol, "name": name_of(symbol), "sector": sector_of(symbol), "sec_type": "STK", "currency": "USD",
            "exchange": "SIM", "fractional": true, "cash_quantity": true, "simulator": true,
        })
    }
}

/// The next sessions of the NYSE calendar (the simulator trades US stocks on NYSE hours).
pub fn nyse_schedule(symbol: &str, days: i64) -> Result<Value, VenueError> {
    let cal = NyseCalendar::default();
    let today = Utc::now().with_timezone(&chrono_tz::America::New_York).date_naive();
    let mut sessions = vec![];
    for i in 0..days {
        let d = today + Duration::days(i);
        match cal.session(d) {
            Ok(Some(s)) => {
                sessions.push(json!({ "date": d, "open": s.open, "close": s.close, "early_close": s.early_close }))
            }
            Ok(None) => sessions.push(json!({ "date": d, "closed": true })),
            Err(e) => return Err(VenueError::InvalidRequest(e.to_string())),
        }
    }
    Ok(json!({ "symbol": symbol, "exchange": "NYSE", "timezone": "America/New_York", "sessions": sessions }))
}
