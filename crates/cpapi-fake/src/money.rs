//! The account's money over time: today's P&L (`/iserver/account/pnl/partitioned`) and
//! exchange rates (`/iserver/exchangerate`), in IBKR's documented shapes.

use axum::http::StatusCode;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use crate::{
    gateway::{Answer, err},
    state::State,
};

fn num(d: Option<trading_core::money::Money>) -> Value {
    json!(d.map(|m| m.0).unwrap_or_default().to_f64().unwrap_or(0.0))
}

/// SPEC `pnlPartitionedResponse`: `{"upnl":{"{acct}.Core":{"rowType":1,"dpl":…,"nl":…,"upl":…,
/// "el":…,"mv":…}}}`; the first request of a brokerage session gets `{"upnl":{}}` (REC-C).
pub(crate) fn pnl_partitioned(st: &mut State) -> Answer {
    if !st.pnl_warm {
        st.pnl_warm = true;
        return (StatusCode::OK, json!({ "upnl": {} }));
    }
    match st.exchange.daily_pnl() {
        Ok(p) => {
            let row = json!({
                "rowType": 1, "dpl": num(p.daily), "nl": num(p.net_liquidation), "upl": num(p.unrealized),
                "el": num(p.excess_liquidity), "mv": num(p.market_value),
            });
            (StatusCode::OK, json!({ "upnl": { format!("{}.Core", st.selected): row } }))
        }
        Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `POST /pa/performance {"acctIds":[…],"period":"YTD"}` in the SPEC example's shape: `nav`
/// (daily NAV, `startNAV`), `cps` (cumulative returns as fractions) and `tpps` (monthly
/// returns, dates `YYYYMM`), from the simulator's NAV at each close.
pub(crate) fn performance(st: &mut State, body: &Value) -> Answer {
    let Some(acct) = body["acctIds"].as_array().and_then(|a| a.first()).and_then(Value::as_str).map(str::to_string)
    else {
        return err(StatusCode::BAD_REQUEST, "Bad Request: acctIds is required");
    };
    if !st.accounts.contains(&acct) {
        return err(StatusCode::BAD_REQUEST, &format!("Bad Request: accountId is not valid: {acct}"));
    }
    let period = body["period"].as_str().unwrap_or("12M");
    let Ok(period) = trading_core::performance::PerfPeriod::parse(period) else {
        return err(StatusCode::BAD_REQUEST, &format!("Bad Request: invalid period {period}"));
    };
    let book = st.book(&acct);
    let today = book.now().date_naive();
    let span = (today - period.start(today)).num_days();
    let series = book.nav_history(u32::try_from(span * 5 / 7 + 5).unwrap_or(300));
    let ccy = book.config().profile.currency().to_string();
    let p = trading_core::performance::from_nav(&acct, &ccy, period, today, &series);
    let ymd = |d: chrono::NaiveDate| d.format("%Y%m%d").to_string();
    let f = |d: rust_decimal::Decimal| json!(d.to_f64().unwrap_or(0.0));
    let dates: Vec<String> = p.nav.iter().map(|n| ymd(n.date)).collect();
    let (start, end) = (dates.first().cloned().unwrap_or_default(), dates.last().cloned().unwrap_or_default());
    let start_nav_date = series.iter().rev().find(|(d, _)| *d < period.start(today)).map(|(d, _)| ymd(*d));
    let hundred = rust_decimal::Decimal::ONE_HUNDRED;
    (
        StatusCode::OK,
        json!({
            "currencyType": "base", "rc": 0, "nd": dates.len(), "id": "getPerformanceData", "included": [acct], "pm": "TWR",
            "nav": { "data": [{ "idType": "acctid", "navs": p.nav.iter().map(|n| f(n.nav.0)).collect::<Vec<_>>(), "start": start, "end": end, "id": acct,
                                "startNAV": { "date": start_nav_date.unwrap_or_else(|| start.clone()), "val": f(p.start_nav.map(|m| m.0).unwrap_or_default()) }, "baseCurrency": ccy }],
                     "freq": "D", "dates": dates },
            "cps": { "data": [{ "idType": "acctid", "start": start, "end": end, "returns": p.nav.iter().map(|n| f(n.cumulative_pct / hundred)).collect::<Vec<_>>(), "id": acct, "baseCurrency": ccy }],
                     "freq": "D", "dates": dates },
            "tpps": { "data": [{ "idType": "acctid", "start": start, "end": end, "returns": p.monthly_returns.iter().map(|m| f(m.return_pct / hundred)).collect::<Vec<_>>(), "id": acct, "baseCurrency": ccy }],
                      "freq": "M", "dates": p.monthly_returns.iter().map(|m| m.period.replace('-', "")).collect::<Vec<_>>() },
        }),
    )
}

/// `POST /pa/transactions {"acctIds":[…],"conids":[one],"currency":"USD","days":90}` in the SPEC
/// example's shape: `transactions` (date as `Mon Dec 11 00:00:00 EST 2023`, signed `qty`,
/// `pr`, `amt`, `type`), and `rpnl` (realized P&L by day and its total, as strings).
pub(crate) fn transactions(st: &mut State, body: &Value) -> Answer {
    let Some(acct) = body["acctIds"].as_array().and_then(|a| a.first()).and_then(Value::as_str).map(str::to_string)
    else {
        return err(StatusCode::BAD_REQUEST, "Bad Request: acctIds is required");
    };
    let conids = body["conids"].as_array().cloned().unwrap_or_default();
    if conids.len() != 1 {
        return err(StatusCode::BAD_REQUEST, "Bad Request: exactly one conid is supported");
    }
    let conid = conids[0].as_i64().or_else(|| conids[0].as_str().and_then(|c| c.parse().ok())).unwrap_or(0);
    let Some(symbol) = st.symbol_of(conid) else { return err(StatusCode::BAD_REQUEST, "Bad Request: invalid conid") };
    let days = u32::try_from(body["days"].as_u64().unwrap_or(90)).unwrap_or(90);
    let t = st.book(&acct).transactions(&symbol, days);
    let f = |d: rust_decimal::Decimal| json!(d.to_f64().unwrap_or(0.0));
    let rows: Vec<Value> = t
        .transactions
        .iter()
        .map(|x| {
            json!({
                "date": x.date.format("%a %b %d 00:00:00 EST %Y").to_string(), "cur": x.currency, "fxRate": 1,
                "pr": f(x.price.unwrap_or_default()), "qty": f(x.quantity.unwrap_or_default()), "acctid": acct,
                "amt": f(x.amount.0), "conid": conid, "type": x.kind, "desc": x.description,
            })
        })
        .collect();
    let rpnl: Vec<Value> = t
        .realized_by_day
        .iter()
        .map(|(d, v)| json!({ "date": d.format("%Y%m%d").to_string(), "cur": t.currency, "fxRate": 1, "side": "L", "acctid": acct, "amt": v.0.to_string(), "conid": conid.to_string() }))
        .collect();
    (
        StatusCode::OK,
        json!({
            "rc": 0, "nd": days, "id": "getTransactions", "currency": t.currency, "includesRealTime": true,
            "rpnl": { "data": rpnl, "amt": t.realized_pnl.0.to_string() }, "transactions": rows,
        }),
    )
}

/// SPEC: `GET /iserver/exchangerate?source=USD&target=EUR` → `{"rate": 0.91324199}`; both
/// parameters are required.
pub(crate) fn exchange_rate(source: Option<&String>, target: Option<&String>) -> Answer {
    let (Some(source), Some(target)) = (source, target) else {
        return err(StatusCode::BAD_REQUEST, "Bad Request: source and target are required");
    };
    match sim_venue::fx_rate(source, target) {
        Some(r) => (StatusCode::OK, json!({ "rate": r.to_f64().unwrap_or(0.0) })),
        None => err(StatusCode::BAD_REQUEST, &format!("Bad Request: no rate for {source}/{target}")),
    }
}
