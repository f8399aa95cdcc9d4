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
