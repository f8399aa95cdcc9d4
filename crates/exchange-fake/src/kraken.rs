//! Kraken's spot REST API (https://docs.kraken.com/api-reference/): every answer is
//! `{"error": [...], "result": {...}}` with HTTP 200, errors are strings like
//! `EOrder:Insufficient funds`; private calls are form POSTs to `/0/private/<Method>` with a
//! growing `nonce`, signed in `API-Sign` = base64(HMAC-SHA512(base64-decoded secret,
//! path + SHA256(nonce + body))) with the key in `API-Key`. Assets carry Kraken's legacy names
//! (XXBT, ZUSD) and pairs their ids and altnames (XXBTZUSD, XBTUSD). Shapes follow the API
//! reference pages named at each route and the examples ccxt's kraken class cites.

use std::collections::HashMap;

use axum::{
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256, Sha512};

use crate::{
    Fault, Inner, Refuse, Request, Seen,
    binance::parse_params,
    engine::{self, Order, Pair},
};

/// The fake's key, and its secret as Kraken hands secrets out (base64).
pub const API_KEY: &str = "krakenfakekey0000000000000000000000000000000000000000000";
pub const API_SECRET: &str = "a3Jha2VuLWZha2Utc2VjcmV0LWZvci10ZXN0cy1vbmx5";

fn d(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

/// XBT/USD, ETH/USD and SOL/USD with Kraken's precisions (`pair_decimals`, `lot_decimals`)
/// and minimums (`ordermin`, `costmin`) as AssetPairs reports them.
pub fn default_pairs() -> Vec<Pair> {
    let p = |id: &str, base: &str, px: &str, tick: &str, min: &str| Pair {
        id: id.into(),
        base: base.into(),
        quote: "USD".into(),
        price: d(px),
        tick: d(tick),
        step: d("0.00000001"),
        min_qty: d(min),
        max_qty: d("100000000"),
        min_notional: d("0.5"),
    };
    vec![
        p("XXBTZUSD", "BTC", "65000", "0.1", "0.00005"),
        p("XETHZUSD", "ETH", "3200", "0.01", "0.002"),
        p("SOLUSD", "SOL", "150", "0.01", "0.02"),
    ]
}

/// Kraken's name of an asset: the legacy X/Z prefixes of the oldest ones.
fn wire_asset(asset: &str) -> String {
    match asset {
        "BTC" => "XXBT".into(),
        "ETH" => "XETH".into(),
        "USD" | "EUR" | "GBP" => format!("Z{asset}"),
        a => a.into(),
    }
}

/// A pair's altname (`XBTUSD`) and wsname (`XBT/USD`).
fn altname(p: &Pair) -> (String, String) {
    let base = if p.base == "BTC" { "XBT" } else { p.base.as_str() };
    (format!("{base}{}", p.quote), format!("{base}/{}", p.quote))
}

/// Kraken order ids look like `OQCLML-BW3P3-BUCMWZ`; the fake's carry the book's number.
fn txid(id: u64) -> String {
    format!("OK{id:04}-FAKE0-KRAKEN")
}

fn id_of(txid: &str) -> Option<u64> {
    txid.strip_prefix("OK")?.split('-').next()?.parse().ok()
}

fn secs(ms: i64) -> Value {
    // Kraken times are seconds with a fraction.
    json!(Decimal::new(ms, 3))
}

fn ok(result: Value) -> Response {
    (StatusCode::OK, axum::Json(json!({ "error": [], "result": result }))).into_response()
}

fn fail(status: StatusCode, error: &str) -> Response {
    (status, axum::Json(json!({ "error": [error] }))).into_response()
}

fn refused(error: &str) -> Response {
    fail(StatusCode::OK, error)
}

pub(crate) fn handle(g: &mut Inner, req: Request, fault: Fault) -> Response {
    let Request { method, path, query, headers, body } = req;
    let private = path.starts_with("/0/private/");
    let payload = if private { body.clone() } else { query };
    let signature = headers.get("API-Sign").and_then(|v| v.to_str().ok()).map(str::to_string);
    let params = parse_params(&payload);
    g.seen.push(Seen {
        method: method.to_string(),
        path: path.clone(),
        params: payload.split('&').filter(|kv| !kv.starts_with("nonce=")).collect::<Vec<_>>().join("&"),
        signed: signature.is_some(),
    });
    if let Some(r) = fault.refuse {
        return match r {
            Refuse::RateLimited => refused("EAPI:Rate limit exceeded"),
            Refuse::Failed(status) => fail(status, "EService:Unavailable"),
            Refuse::ClockSkew => refused("EAPI:Invalid nonce"),
            Refuse::OrderPostFailed => fail(StatusCode::SERVICE_UNAVAILABLE, "EService:Unavailable"),
        };
    }
    if private {
        if method != Method::POST {
            return refused("EGeneral:Invalid arguments");
        }
        let key = headers.get("API-Key").and_then(|v| v.to_str().ok()).unwrap_or("");
        if key != g.cfg.api_key {
            return refused("EAPI:Invalid key");
        }
        if signature.as_deref() != Some(sign(&g.cfg.secret, &path, &params, &body).as_str()) {
            return refused("EAPI:Invalid signature");
        }
        match params.get("nonce").and_then(|n| n.parse::<u64>().ok()) {
            Some(n) if n > g.last_nonce => g.last_nonce = n,
            _ => return refused("EAPI:Invalid nonce"),
        }
    }
    let reply = route(g, &path, &params);
    if fault.lose {
        // The order was placed; its answer never arrives.
        return fail(StatusCode::SERVICE_UNAVAILABLE, "EService:Unavailable");
    }
    reply
}

/// API-Sign: base64(HMAC-SHA512(base64-decoded secret, path + SHA256(nonce + body))).
fn sign(secret: &str, path: &str, params: &HashMap<String, String>, body: &str) -> String {
    let nonce = params.get("nonce").cloned().unwrap_or_default();
    let hash = Sha256::digest(format!("{nonce}{body}").as_bytes());
    let Ok(key) = STANDARD.decode(secret) else { return String::new() };
    let Ok(mut mac) = Hmac::<Sha512>::new_from_slice(&key) else { return String::new() };
    mac.update(path.as_bytes());
    mac.update(&hash);
    STANDARD.encode(mac.finalize().into_bytes())
}

fn route(g: &mut Inner, path: &str, p: &HashMap<String, String>) -> Response {
    match path {
        // https://docs.kraken.com/api-reference/market-data/get-server-time
        "/0/public/Time" => {
            let now = engine::now_ms() / 1000;
            ok(json!({ "unixtime": now, "rfc1123": chrono::Utc::now().to_rfc2822() }))
        }
        // https://docs.kraken.com/api-reference/market-data/get-tradable-asset-pairs
        "/0/public/AssetPairs" => ok(asset_pairs(g)),
        // https://docs.kraken.com/api-reference/market-data/get-ticker-information
        "/0/public/Ticker" => {
            let wanted: Vec<&str> = p.get("pair").map(|s| s.split(',').collect()).unwrap_or_default();
            let mut out = Map::new();
            for pair in g.book.pairs().filter(|x| wanted.is_empty() || wanted.contains(&x.id.as_str())) {
                out.insert(pair.id.clone(), ticker(pair));
            }
            if out.is_empty() || out.len() < wanted.len() {
                return refused("EQuery:Unknown asset pair");
            }
            ok(Value::Object(out))
        }
        // https://docs.kraken.com/api-reference/market-data/get-ohlc-data
        "/0/public/OHLC" => ohlc(g, p),
        // https://docs.kraken.com/api-reference/account-data/get-extended-balance
        "/0/private/BalanceEx" => {
            let mut out = Map::new();
            for a in g.book.assets() {
                let (free, held) = (g.book.free(&a), g.book.locked(&a));
                out.insert(
                    wire_asset(&a),
                    json!({ "balance": format!("{:.8}", free + held), "hold_trade": format!("{:.8}", held) }),
                );
            }
            ok(Value::Object(out))
        }
        // https://docs.kraken.com/api-reference/trading/add-order
        "/0/private/AddOrder" => add_order(g, p),
        // https://docs.kraken.com/api-reference/account-data/get-orders-info
        "/0/private/QueryOrders" => {
            let mut out = Map::new();
            for t in p.get("txid").map(|s| s.split(',').collect::<Vec<_>>()).unwrap_or_default() {
                match id_of(t).and_then(|id| g.book.order(id)) {
                    Some(o) => out.insert(t.to_string(), order_info(g, o)),
                    None => return refused("EOrder:Unknown order"),
                };
            }
            ok(Value::Object(out))
        }
        // https://docs.kraken.com/api-reference/account-data/get-open-orders
        "/0/private/OpenOrders" => ok(json!({ "open": orders(g, p, true) })),
        // https://docs.kraken.com/api-reference/account-data/get-closed-orders
        "/0/private/ClosedOrders" => {
            let closed = orders(g, p, false);
            let count = closed.as_object().map_or(0, Map::len);
            ok(json!({ "closed": closed, "count": count }))
        }
        // https://docs.kraken.com/api-reference/trading/cancel-order
        "/0/private/CancelOrder" => {
            let target = match (p.get("txid"), p.get("cl_ord_id")) {
                (Some(t), _) => id_of(t),
                (None, Some(c)) => g.book.find_by_client_id(c).map(|o| o.id),
                _ => return refused("EGeneral:Invalid arguments"),
            };
            match target.filter(|id| g.book.order(*id).is_some_and(Order::is_open)) {
                Some(id) if g.book.cancel_id(id).is_some() => ok(json!({ "count": 1 })),
                _ => refused("EOrder:Unknown order"),
            }
        }
        // https://docs.kraken.com/api-reference/account-data/get-trade-history
        "/0/private/TradesHistory" => ok(trades_history(g)),
        _ => fail(StatusCode::NOT_FOUND, "EGeneral:Unknown method"),
    }
}

fn asset_pairs(g: &Inner) -> Value {
    let mut out = Map::new();
    for p in g.book.pairs() {
        let (alt, ws) = altname(p);
        out.insert(
            p.id.clone(),
            json!({
                "altname": alt, "wsname": ws, "aclass_base": "currency", "base": wire_asset(&p.base),
                "aclass_quote": "currency", "quote": wire_asset(&p.quote), "lot": "unit",
                "cost_decimals": 5, "pair_decimals": p.tick.scale(), "lot_decimals": p.step.scale(),
                "lot_multiplier": 1, "leverage_buy": [2, 3], "leverage_sell": [2, 3],
                "fees": [[0, 0.4], [10000, 0.35], [50000, 0.24]],
                "fees_maker": [[0, 0.25], [10000, 0.2], [50000, 0.14]],
                "fee_volume_currency": "ZUSD", "margin_call": 80, "margin_stop": 40,
                "ordermin": p.min_qty.normalize().to_string(), "costmin": p.min_notional.normalize().to_string(),
                "tick_size": p.tick.normalize().to_string(), "status": "online"
            }),
        );
    }
    Value::Object(out)
}

fn ticker(p: &Pair) -> Value {
    let (bid, ask) = (p.price - p.tick, p.price + p.tick);
    let open = (p.price * d("0.98")).round_dp(p.tick.scale());
    json!({
        "a": [ask.to_string(), "1", "1.000"], "b": [bid.to_string(), "2", "2.000"],
        "c": [p.price.to_string(), "0.00100000"], "v": ["1234.50000000", "2469.00000000"],
        "p": [p.price.to_string(), p.price.to_string()], "t": [1000, 2000],
        "l": [(open * d("0.99")).round_dp(p.tick.scale()).to_string(), open.to_string()],
        "h": [(p.price * d("1.01")).round_dp(p.tick.scale()).to_string(), p.price.to_string()],
        "o": open.to_string()
    })
}

/// 720 candles, Kraken's fixed count, ending at the current price; `interval` in minutes.
fn ohlc(g: &Inner, p: &HashMap<String, String>) -> Response {
    let Some(pair) = p.get("pair").and_then(|id| g.book.pair(id)).filter(|x| p.get("pair") == Some(&x.id)) else {
        return refused("EQuery:Unknown asset pair");
    };
    let interval: i64 = match p.get("interval").map(String::as_str).unwrap_or("1") {
        i @ ("1" | "5" | "15" | "30" | "60" | "240" | "1440" | "10080" | "21600") => i.parse().unwrap_or(1),
        _ => return refused("EGeneral:Invalid arguments"),
    };
    let step = interval * 60;
    let now = engine::now_ms() / 1000 / step * step;
    let rows: Vec<Value> = (0..720i64)
        .map(|i| {
            let back = 719 - i;
            let wiggle = Decimal::from((i * 37) % 7 - 3) / Decimal::from(100);
            let trend = Decimal::ONE - Decimal::from(back) / Decimal::from(1000);
            let dp = pair.tick.scale();
            let close =
                if back == 0 { pair.price } else { (pair.price * trend * (Decimal::ONE + wiggle)).round_dp(dp) };
            let open = (close * d("0.995")).round_dp(dp);
            json!([
                now - back * step,
                open.to_string(),
                (close * d("1.01")).round_dp(dp).to_string(),
                (open * d("0.99")).round_dp(dp).to_string(),
                close.to_string(),
                close.to_string(),
                "12.50000000",
                100
            ])
        })
        .collect();
    ok(json!({ pair.id.clone(): rows, "last": now }))
}

/// AddOrder's form, in the book's vocabulary, or Kraken's error string.
fn add_order(g: &mut Inner, p: &HashMap<String, String>) -> Response {
    let Some(pair) = p.get("pair").and_then(|id| g.book.pair(id)).cloned() else {
        return refused("EQuery:Unknown asset pair");
    };
    let mut b: HashMap<String, String> = HashMap::new();
    b.insert("symbol".into(), pair.id.clone());
    match p.get("type").map(String::as_str) {
        Some("buy") => b.insert("side".into(), "BUY".into()),
        Some("sell") => b.insert("side".into(), "SELL".into()),
        _ => return refused("EGeneral:Invalid arguments:type"),
    };
    let (price, price2) = (p.get("price").cloned(), p.get("price2").cloned());
    let kind = match p.get("ordertype").map(String::as_str) {
        Some("market") => "MARKET",
        Some("limit") => {
            b.insert("price".into(), price.unwrap_or_default());
            "LIMIT"
        }
        Some("stop-loss") => {
            b.insert("stopPrice".into(), price.unwrap_or_default());
            "STOP_LOSS"
        }
        Some("stop-loss-limit") => {
            b.insert("stopPrice".into(), price.unwrap_or_default());
            b.insert("price".into(), price2.unwrap_or_default());
            "STOP_LOSS_LIMIT"
        }
        _ => return refused("EGeneral:Invalid arguments:ordertype"),
    };
    b.insert("type".into(), kind.into());
    b.insert("timeInForce".into(), p.get("timeinforce").cloned().unwrap_or_else(|| "GTC".into()));
    let volume = p.get("volume").cloned().unwrap_or_default();
    let viqc = p.get("oflags").is_some_and(|f| f.split(',').any(|x| x == "viqc"));
    if viqc {
        // Volume in quote currency: market buys only.
        if kind != "MARKET" || b.get("side").map(String::as_str) != Some("BUY") {
            return refused("EGeneral:Invalid arguments:viqc");
        }
        b.insert("quoteOrderQty".into(), volume);
    } else {
        if volume.parse::<Decimal>().is_ok_and(|v| v < pair.min_qty) {
            return refused("EOrder:Order minimum not met");
        }
        b.insert("quantity".into(), volume);
    }
    if let Some(c) = p.get("cl_ord_id") {
        b.insert("newClientOrderId".into(), c.clone());
    }
    let placed = match g.book.place(&b) {
        Ok(v) => v,
        Err((code, msg)) => {
            let (alt, _) = altname(&pair);
            return refused(&match (code, msg.as_str()) {
                (-2010, m) if m.starts_with("Duplicate") => "EGeneral:Invalid arguments:cl_ord_id".to_string(),
                (-2010, _) => "EOrder:Insufficient funds".into(),
                (-1013, "Filter failure: PRICE_FILTER") => format!(
                    "EOrder:Invalid price:{alt} price can only be specified up to {} decimals.",
                    pair.tick.scale()
                ),
                (-1013, "Filter failure: NOTIONAL") => "EOrder:Cost minimum not met".into(),
                (-1013, _) => "EGeneral:Invalid arguments:volume".into(),
                _ => "EGeneral:Invalid arguments".into(),
            });
        }
    };
    let id = placed["orderId"].as_u64().unwrap_or_default();
    let Some(o) = g.book.order(id) else { return fail(StatusCode::INTERNAL_SERVER_ERROR, "EGeneral:Internal error") };
    let descr = if viqc {
        format!("buy {} {} @ market", p.get("volume").cloned().unwrap_or_default(), altname(&pair).0)
    } else {
        description(o, &pair)
    };
    ok(json!({ "descr": { "order": descr }, "txid": [txid(id)] }))
}

/// `descr.order`: "buy 0.00123000 XBTUSD @ limit 60000.0".
fn description(o: &Order, pair: &Pair) -> String {
    let side = if o.buy { "buy" } else { "sell" };
    let dp = pair.tick.scale() as usize;
    let px = |v: Decimal| format!("{v:.dp$}");
    let at = match o.kind.as_str() {
        "MARKET" => "market".to_string(),
        "LIMIT" => format!("limit {}", px(o.price)),
        "STOP_LOSS" => format!("stop loss {}", px(o.stop)),
        _ => format!("stop loss {} -> limit {}", px(o.stop), px(o.price)),
    };
    format!("{side} {:.8} {} @ {at}", o.qty, altname(pair).0)
}

/// An order as QueryOrders, OpenOrders and ClosedOrders report it.
fn order_info(g: &Inner, o: &Order) -> Value {
    let Some(pair) = g.book.pair(&o.symbol) else { return Value::Null };
    let dp = pair.tick.scale() as usize;
    let (ordertype, price, price2) = match o.kind.as_str() {
        "MARKET" => ("market", Decimal::ZERO, Decimal::ZERO),
        "LIMIT" => ("limit", o.price, Decimal::ZERO),
        "STOP_LOSS" => ("stop-loss", o.stop, Decimal::ZERO),
        _ => ("stop-loss-limit", o.stop, o.price),
    };
    let status = match o.status {
        "NEW" | "PARTIALLY_FILLED" => "open",
        "FILLED" => "closed",
        "EXPIRED" => "expired",
        _ => "canceled",
    };
    let avg = if o.executed > Decimal::ZERO { o.cum_quote / o.executed } else { Decimal::ZERO };
    let trades: Vec<Value> =
        o.fills.iter().filter_map(|f| f["tradeId"].as_u64()).map(|t| json!(format!("TK{t:04}-FAKE0-KRAKEN"))).collect();
    let mut v = json!({
        "refid": null, "userref": 0, "cl_ord_id": o.coid, "status": status, "reason": null,
        "opentm": secs(o.time), "starttm": 0, "expiretm": 0,
        "descr": {
            "pair": altname(pair).0, "type": if o.buy { "buy" } else { "sell" }, "ordertype": ordertype,
            "price": format!("{price:.dp$}"), "price2": format!("{price2:.dp$}"), "leverage": "none",
            "order": description(o, pair), "close": ""
        },
        "vol": format!("{:.8}", o.qty), "vol_exec": format!("{:.8}", o.executed),
        "cost": format!("{:.5}", o.cum_quote), "fee": format!("{:.5}", o.fee),
        "price": format!("{:.5}", avg.round_dp(5)), "stopprice": format!("{:.5}", o.stop),
        "limitprice": format!("{:.5}", o.price), "misc": "", "oflags": "fciq", "trades": trades
    });
    if status != "open" {
        v["closetm"] = secs(o.update);
    }
    v
}

/// Open or closed orders, newest first, filtered by `cl_ord_id` when given (closed: 50 at most).
fn orders(g: &Inner, p: &HashMap<String, String>, open: bool) -> Value {
    let mut list: Vec<&Order> = g
        .book
        .orders()
        .filter(|o| o.is_open() == open)
        .filter(|o| p.get("cl_ord_id").is_none_or(|c| *c == o.coid))
        .collect();
    list.sort_by_key(|o| std::cmp::Reverse(o.id));
    list.into_iter().take(50).map(|o| (txid(o.id), order_info(g, o))).collect::<Map<String, Value>>().into()
}

/// The book's trades in TradesHistory's shape (fees in the quote currency).
fn trades_history(g: &Inner) -> Value {
    let mut out = Map::new();
    for t in g.book.trades().iter().rev() {
        let (Some(id), Some(order)) = (t["id"].as_u64(), t["orderId"].as_u64()) else { continue };
        let kind = g.book.order(order).map(|o| o.kind.to_ascii_lowercase().replace('_', "-")).unwrap_or_default();
        out.insert(
            format!("TK{id:04}-FAKE0-KRAKEN"),
            json!({
                "ordertxid": txid(order), "postxid": "TKH2SE-M7IF5-CFI7LT", "pair": t["symbol"],
                "time": secs(t["time"].as_i64().unwrap_or_default()),
                "type": if t["isBuyer"] == true { "buy" } else { "sell" },
                "ordertype": if kind == "stop-loss-limit" { "stop-loss-limit".to_string() } else { kind },
                "price": t["price"], "cost": t["quoteQty"], "fee": t["commission"], "vol": t["qty"],
                "margin": "0.00000", "leverage": "0", "misc": "", "trade_id": id, "maker": t["isMaker"]
            }),
        );
    }
    let count = out.len();
    json!({ "trades": out, "count": count })
}
