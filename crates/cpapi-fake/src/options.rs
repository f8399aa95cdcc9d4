//! Listed options over the simulator's contracts, in IBKR's shapes: months in
//! `/iserver/secdef/search`, `/iserver/secdef/strikes` (empty before a search, as SPEC says),
//! `/iserver/secdef/info` (an array of contracts, legacy spec) and snapshot greek fields.

use std::collections::HashMap;

use axum::http::StatusCode;
use rust_decimal::{Decimal, prelude::ToPrimitive};
use serde_json::{Value, json};
use sim_venue::options;
use trading_core::options::{OptionSymbol, Right, month_code};

use crate::{
    gateway::{Answer, err},
    state::State,
};

fn f(d: Decimal) -> Value {
    json!(d.to_f64().unwrap_or(0.0))
}

fn spot(st: &State, symbol: &str) -> Decimal {
    st.exchange.quote(symbol).ok().and_then(|q| q.last).map(|p| p.0).unwrap_or_default()
}

/// The `months` of the OPT section: each month with a simulated expiry, `;`-separated.
pub(crate) fn months(st: &State) -> String {
    let mut m: Vec<String> = vec![];
    for d in options::expirations(st.exchange.now().date_naive()) {
        let code = month_code(d);
        if !m.contains(&code) {
            m.push(code);
        }
    }
    m.join(";")
}

fn expiries_in(st: &State, month: &str) -> Vec<chrono::NaiveDate> {
    options::expirations(st.exchange.now().date_naive()).into_iter().filter(|d| month_code(*d) == month).collect()
}

fn underlying(st: &State, q: &HashMap<String, String>) -> Option<(i64, String)> {
    let conid = q.get("conid")?.parse::<i64>().ok()?;
    Some((conid, st.symbol_of(conid)?))
}

/// `GET /iserver/secdef/strikes?conid=&sectype=OPT&month=`: `{"call":[…],"put":[…]}`.
pub(crate) fn strikes(st: &mut State, q: &HashMap<String, String>) -> Answer {
    let Some((conid, symbol)) = underlying(st, q) else {
        return err(StatusCode::BAD_REQUEST, "Bad Request: invalid conid");
    };
    if q.get("sectype").map(String::as_str) != Some("OPT") {
        return err(StatusCode::BAD_REQUEST, "Bad Request: sectype must be OPT, FOP or WAR");
    }
    let month = q.get("month").cloned().unwrap_or_default().to_ascii_uppercase();
    if !st.searched.contains(&conid) || expiries_in(st, &month).is_empty() {
        return (StatusCode::OK, json!({ "call": [], "put": [] }));
    }
    let k: Vec<Value> = options::strikes(spot(st, &symbol)).into_iter().map(f).collect();
    (StatusCode::OK, json!({ "call": k, "put": k }))
}

/// `GET /iserver/secdef/info?conid=&sectype=OPT&month=&strike=[&right=]`: every contract of
/// that strike in the month (each expiry, both rights unless one is asked).
pub(crate) fn info(st: &mut State, q: &HashMap<String, String>) -> Answer {
    let Some((_, symbol)) = underlying(st, q) else {
        return err(StatusCode::BAD_REQUEST, "Bad Request: invalid conid");
    };
    let month = q.get("month").cloned().unwrap_or_default().to_ascii_uppercase();
    let Some(strike) = q.get("strike").and_then(|s| s.parse::<Decimal>().ok()) else {
        return err(StatusCode::BAD_REQUEST, "Bad Request: strike is required for OPT");
    };
    if !options::strikes(spot(st, &symbol)).contains(&strike) {
        return err(StatusCode::BAD_REQUEST, &format!("Bad Request: no {symbol} strike {strike} in {month}"));
    }
    let rights: Vec<Right> = match q.get("right").and_then(|r| Right::parse(r)) {
        Some(r) => vec![r],
        None => vec![Right::Call, Right::Put],
    };
    let mut out = vec![];
    for expiry in expiries_in(st, &month) {
        for right in &rights {
            let o = OptionSymbol { underlying: symbol.clone(), expiry, strike: strike.normalize(), right: *right };
            let conid = options::contract_id(&o);
            st.option_conids.insert(conid, o.clone());
            out.push(json!({
                "conid": conid, "symbol": symbol, "secType": "OPT", "exchange": "SMART", "listingExchange": null,
                "right": right.letter(), "strike": f(strike), "currency": "USD", "cusip": null, "coupon": "No Coupon",
                "desc1": symbol, "desc2": format!("{} {} {}", expiry.format("%b %d '%y").to_string().to_ascii_uppercase(), strike.normalize(), if *right == Right::Call { "Call" } else { "Put" }),
                "maturityDate": expiry.format("%Y%m%d").to_string(), "multiplier": "100", "tradingClass": symbol,
                "validExchanges": "SMART,AMEX,CBOE,PHLX,PSE,ISE,BOX,BATS,NASDAQOM,CBOE2,NASDAQBX,MIAX,GEMINI,EDGX,MERCURY,PEARL,EMERALD,MEMX,IBUSOPT",
            }));
        }
    }
    (StatusCode::OK, Value::Array(out))
}

/// An option's snapshot fields, when `conid` is one the fake handed out.
pub(crate) fn snapshot_fields(st: &State, conid: i64, row: &mut Value) -> bool {
    let Some(o) = st.option_conids.get(&conid) else { return false };
    let q = options::quote(o, spot(st, &o.underlying), st.exchange.now().date_naive());
    let d = |x: Option<Decimal>| x.map(|v| json!(v.to_string())).unwrap_or(Value::Null);
    row["31"] = d(q.last.map(|p| p.0));
    row["84"] = d(q.bid.map(|p| p.0));
    row["86"] = d(q.ask.map(|p| p.0));
    row["7308"] = d(q.delta);
    row["7309"] = d(q.gamma);
    row["7310"] = d(q.theta);
    row["7311"] = d(q.vega);
    row["7633"] = json!(format!("{}%", q.implied_vol_pct.unwrap_or_default()));
    row["7638"] = d(q.open_interest.map(|x| x.0));
    row["6509"] = json!("RpB");
    true
}
