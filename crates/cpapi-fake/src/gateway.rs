//! Request handling: CPAPI paths over the simulated exchange, with IBKR's shapes and quirks.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use rust_decimal::{Decimal, prelude::ToPrimitive};
use serde_json::{Value, json};
use trading_core::money::Money;

use crate::{
    orders::{cancel, live_orders, modify, order_status, post_orders, reply, trades, whatif},
    research::{contract_info, history, scanner_run, schedule, secdef_search, trading_schedule},
    state::{Recorded, Session, State},
};

/// An answer: status and JSON body.
pub(crate) type Answer = (StatusCode, Value);

pub(crate) fn err(status: StatusCode, msg: &str) -> Answer {
    (status, json!({ "error": msg, "statusCode": status.as_u16() }))
}

/// An order reject: IBKR sends these as HTTP 200 with an `error` field.
pub(crate) fn reject(msg: &str) -> Answer {
    (StatusCode::OK, json!({ "error": msg }))
}

pub(crate) fn num(d: Decimal) -> Value {
    json!(d.to_f64().unwrap_or(0.0))
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub(crate) fn dec(v: &Value) -> Option<Decimal> {
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

pub(crate) fn check_account(st: &State, acct: &str) -> Option<Answer> {
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
