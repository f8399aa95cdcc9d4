//! Market data and research in CPAPI's shapes: history, contract info, the scanner, contract
//! search and trading schedules, over the simulated exchange.

use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use trading_core::bars::{BarSize, HistoryRequest, Period};

use crate::{
    gateway::{Answer, err, num, reject},
    state::State,
};

/// `GET /iserver/marketdata/history` in REC-C's shape; `bar` and `period` in IBKR's units
/// (`1m` is a month bar), at most 1000 points, as IBKR answers.
pub(crate) fn history(st: &mut State, q: &std::collections::HashMap<String, String>) -> Answer {
    let Some(symbol) = q.get("conid").and_then(|c| c.parse::<i64>().ok()).and_then(|c| st.symbol_of(c)) else {
        return reject("unknown conid");
    };
    let period = q.get("period").map(String::as_str).unwrap_or("1m");
    let bar = q.get("bar").map(String::as_str).unwrap_or("1d");
    let outside_rth = q.get("outsideRth").is_some_and(|v| v == "true");
    let size = if bar == "1m" { BarSize::parse("1month") } else { BarSize::parse(bar) };
    let request = match (size, Period::parse(period)) {
        (Ok(b), Ok(p)) => HistoryRequest { bar: b, period: p, outside_rth },
        _ => return err(StatusCode::BAD_REQUEST, &format!("Bad Request: invalid period {period} or bar {bar}")),
    };
    let mut bars = st.exchange.history(&symbol, &request);
    let cap = usize::try_from(trading_core::bars::MAX_POINTS).unwrap_or(1000);
    if bars.len() > cap {
        bars.drain(..bars.len() - cap);
    }
    let data: Vec<Value> = bars
        .iter()
        .map(|b| json!({ "o": num(b.open.0), "c": num(b.close.0), "h": num(b.high.0), "l": num(b.low.0), "v": num(b.volume.0 / Decimal::ONE_HUNDRED), "t": b.time.timestamp_millis() }))
        .collect();
    let bar_seconds = match request.bar.minutes() {
        0 => 86_400,
        m => m * 60,
    };
    (
        StatusCode::OK,
        json!({ "symbol": symbol, "timePeriod": period, "barLength": bar_seconds, "outsideRth": outside_rth, "mdAvailability": "S", "priceFactor": 100, "points": data.len(), "data": data }),
    )
}

pub(crate) fn contract_info(st: &mut State, conid: &str) -> Answer {
    if let Some(o) = conid.parse::<i64>().ok().and_then(|c| st.option_conids.get(&c)) {
        // SPEC's option fields: strike a string, right CALL/PUT, multiplier "100".
        return (
            StatusCode::OK,
            json!({
                "con_id": conid.parse::<i64>().ok(), "symbol": o.underlying, "instrument_type": "OPT", "currency": "USD",
                "maturity_date": o.expiry.format("%Y%m%d").to_string(), "strike": o.strike.to_string(),
                "right": if o.right == trading_core::options::Right::Call { "CALL" } else { "PUT" }, "multiplier": "100",
                "exchange": "SMART", "trading_class": o.underlying,
                "text": format!("{} '{} {} {}", o.expiry.format("%b %d").to_string().to_ascii_uppercase(), o.expiry.format("%y"), o.strike, if o.right == trading_core::options::Right::Call { "Call" } else { "Put" }),
            }),
        );
    }
    let Some(symbol) = conid.parse::<i64>().ok().and_then(|c| st.symbol_of(c)) else {
        return err(StatusCode::BAD_REQUEST, "Bad Request: invalid conid");
    };
    (
        StatusCode::OK,
        json!({
            "con_id": conid.parse::<i64>().ok(), "symbol": symbol, "company_name": format!("{symbol} INC"),
            "industry": sim_venue::sector_of(&symbol), "category": null, "currency": "USD", "instrument_type": "STK",
            "exchange": "SMART", "valid_exchanges": "SMART,NASDAQ,NYSE", "r_t_h": true,
        }),
    )
}

/// The scanner: the simulated universe ranked by the simulator where it can, IBKR's shape.
pub(crate) fn scanner_run(st: &mut State, body: &Value) -> Answer {
    let (Some(instrument), Some(scan), Some(location)) =
        (body["instrument"].as_str(), body["type"].as_str(), body["location"].as_str())
    else {
        return err(StatusCode::BAD_REQUEST, "instrument, type and location are required");
    };
    let filters: Vec<(String, Value)> = body["filter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| Some((f["code"].as_str()?.to_string(), f["value"].clone())))
        .collect();
    let req = trading_core::account::ScanRequest {
        scan_code: scan.into(),
        instrument: instrument.into(),
        location: location.into(),
        filters,
        max_rows: 50,
    };
    let rows = match st.exchange.run_scanner(&req) {
        Ok(r) => r,
        // IBKR runs every scan; the simulator ranks only price and volume scans. For the rest
        // the fake ranks its universe by a stable made-up measure, as a stand-in for IBKR's data.
        Err(_) => synthetic_rows(scan),
    };
    let contracts: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let conid = st.conid_of(&r.symbol);
            json!({ "server_id": i.to_string(), "symbol": r.symbol, "con_id": conid, "conidex": conid.map(|c| c.to_string()), "company_name": r.name, "listing_exchange": "NASDAQ.NMS", "sec_type": "STK", "scan_data": r.value })
        })
        .collect();
    (StatusCode::OK, json!({ "contracts": contracts, "scan_data_column_name": "Chg%" }))
}

pub(crate) fn secdef_search(st: &mut State, symbol: &str) -> Answer {
    let months = crate::options::months(st);
    let rows: Vec<Value> = st
        .exchange
        .search_contracts(symbol)
        .into_iter()
        .filter_map(|m| {
            let conid = st.conid_of(&m.symbol)?;
            Some(json!({ "conid": conid.to_string(), "companyHeader": format!("{} - NASDAQ", m.name.clone().unwrap_or_default()), "companyName": m.name, "symbol": m.symbol, "description": "NASDAQ", "restricted": null, "sections": [{ "secType": "STK" }, { "secType": "OPT", "months": months, "exchange": "SMART;AMEX;CBOE;PHLX;PSE;ISE;BOX;BATS;NASDAQOM;CBOE2;NASDAQBX;MIAX;GEMINI;EDGX;MERCURY;PEARL;EMERALD;MEMX;IBUSOPT" }] }))
        })
        .collect();
    for r in &rows {
        if let Some(c) = r["conid"].as_str().and_then(|c| c.parse::<i64>().ok()) {
            st.searched.insert(c);
        }
    }
    (StatusCode::OK, Value::Array(rows))
}

pub(crate) fn schedule(symbol: &str) -> Answer {
    match sim_venue::nyse_schedule(symbol, 7) {
        Ok(s) => {
            let days: Vec<Value> = s["sessions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| {
                    let date = d["date"].as_str().unwrap_or_default().replace('-', "");
                    let times = if d["closed"] == Value::Bool(true) {
                        json!([])
                    } else {
                        let close = if d["early_close"] == Value::Bool(true) { "1300" } else { "1600" };
                        json!([{ "openingTime": "0930", "closingTime": close, "prop": "LIQUID", "cancelDayOrders": "Y" }, { "openingTime": "0400", "closingTime": "2000", "cancelDayOrders": "Y" }])
                    };
                    json!({ "clearingCycleEndTime": "1700", "tradingScheduleDate": date, "sessions": [], "tradingtimes": times })
                })
                .collect();
            (
                StatusCode::OK,
                json!([{ "id": "p101781", "tradeVenueId": "v13038", "exchange": "NYSE", "description": "New York Stock Exchange", "timezone": "America/New_York", "schedules": days }]),
            )
        }
        Err(e) => reject(&e.to_string()),
    }
}

/// `GET /contract/trading-schedule` in REC-C's shape: real dates, epoch-second windows, from
/// the NYSE calendar (closed days are left out, as IBKR's doc says).
pub(crate) fn trading_schedule(st: &mut State, conid: &str) -> Answer {
    if conid.parse::<i64>().ok().and_then(|c| st.symbol_of(c)).is_none() {
        return err(StatusCode::BAD_REQUEST, "Bad Request: conid is not valid");
    }
    let cal = trading_core::calendar::NyseCalendar::default();
    let today = chrono::Utc::now().date_naive();
    let mut days = serde_json::Map::new();
    for i in -1..6 {
        let d = today + chrono::Duration::days(i);
        if let Ok(Some(s)) = cal.session(d) {
            days.insert(
                d.format("%Y%m%d").to_string(),
                json!({
                    "liquid_hours": [{ "opening": s.open.timestamp(), "closing": s.close.timestamp() }],
                    "extended_hours": [{ "cancel_daily_orders": true, "opening": s.open.timestamp() - 5 * 3600 - 1800, "closing": s.close.timestamp() + 4 * 3600 }],
                }),
            );
        }
    }
    (StatusCode::OK, json!({ "exchange_time_zone": "US/Eastern", "schedules": days }))
}

pub(crate) fn synthetic_rows(scan: &str) -> Vec<trading_core::account::ScanRow> {
    let hash =
        |s: &str| s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let mut rows: Vec<(String, u64)> =
        sim_venue::FAMILIAR.iter().map(|(s, _)| (s.to_string(), hash(&format!("{scan}/{s}")) % 10_000)).collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    rows.into_iter()
        .enumerate()
        .map(|(i, (symbol, v))| trading_core::account::ScanRow {
            rank: i + 1,
            name: sim_venue::name_of(&symbol).map(str::to_string),
            conid: None,
            exchange: None,
            symbol,
            value: Some(format!("{:.2}", v as f64 / 100.0)),
        })
        .collect()
}
