//! The IBKR venue over the Client Portal Gateway: the trading-core ports mapped onto CPAPI,
//! with IBKR's quirks handled where they arise (accounts first, snapshot warm-up, reply
//! questions, 503 on order post, eventually consistent positions).

use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::time::Instant;
use trading_core::{
    account::{
        AccountIdentity, AccountSummary, Bar, Capabilities, ContractMatch, MarketHoursModel, Position, Quote,
        ScanRequest, ScanRow,
    },
    error::VenueError,
    guard::Approved,
    money::{Money, Price, Qty},
    order::{BracketRequest, Fill, OrderRequest, OrderResult, OrderStatus, OrderType, Size, Trail},
    ports::{Account, BracketIds, Broker, MarketData, VenuePreview},
};

use crate::{
    cpapi::{CpapiError, GatewayHttp, http::error_text},
    parse,
    session::SessionKeeper,
};

/// The confirmation questions answered "yes" by default: the reference's set, which leaves
/// out o2137 (a sell that would cross a position) on purpose.
pub const DEFAULT_CONFIRM_ALLOWLIST: &[&str] = &["o354", "o163", "o10152", "o10164", "o10223", "o10151", "o10153"];

/// Adapter settings.
#[derive(Clone, Debug)]
pub struct GatewaySettings {
    /// The account to trade (`IBKR_ACCOUNT_ID`); the gateway's selected account when absent.
    pub account_id: Option<String>,
    /// Question ids answered "yes" (`IBKR_CONFIRM_ALLOWLIST`); any other question declines the order.
    pub confirm_allowlist: BTreeSet<String>,
    pub identity_ttl: Duration,
    /// Spacing of snapshot retries while the market-data stream warms up.
    pub quote_retry_delay: Duration,
    pub quote_attempts: u32,
    pub max_reply_rounds: usize,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            account_id: None,
            confirm_allowlist: DEFAULT_CONFIRM_ALLOWLIST.iter().map(|s| s.to_string()).collect(),
            identity_ttl: Duration::from_secs(30),
            quote_retry_delay: Duration::from_millis(400),
            quote_attempts: 3,
            max_reply_rounds: 12,
        }
    }
}

#[derive(Clone, Debug)]
struct Identity {
    account: String,
    is_paper: Option<bool>,
    raw: Value,
}

/// The IBKR venue.
#[derive(Debug)]
pub struct GatewayVenue {
    http: Arc<GatewayHttp>,
    keeper: Arc<SessionKeeper>,
    settings: GatewaySettings,
    identity: Mutex<Option<(Instant, Identity)>>,
    conids: Mutex<HashMap<String, i64>>,
    /// Sectors never change within a process: one contract-info request per symbol.
    sectors: Mutex<HashMap<String, Option<String>>>,
    portfolio_ready: AtomicBool,
}

const NAME: &str = "IBKR (Client Portal Gateway)";

fn v_err(e: CpapiError) -> VenueError {
    e.into()
}

fn money(v: &Value) -> Option<Money> {
    parse::dec(v).map(|d| Money(d.round_dp(2)))
}

/// An account-summary value: `{"amount": 1000.5, ...}` or a bare number.
fn summary_amount(v: &Value) -> Option<Money> {
    if v.is_object() { money(&v["amount"]) } else { money(v) }
}

/// A Decimal as a JSON number whose text is the decimal's own digits (f64's shortest
/// round-trip repr reproduces them), never an arithmetic conversion.
fn wire(d: Decimal) -> Value {
    d.normalize().to_string().parse::<f64>().map(Value::from).unwrap_or(Value::Null)
}

/// The order ticket IBKR expects for `o` on `conid`.
pub fn ticket(o: &OrderRequest, conid: i64, coid: &str) -> Value {
    let mut t = json!({
        "conid": conid,
        "orderType": o.order_type.as_str(),
        "side": o.side.as_str(),
        "tif": o.tif.as_str(),
        "cOID": coid,
    });
    match o.size {
        Size::Cash(c) => t["cashQty"] = wire(c.0),
        Size::Quantity(q) => t["quantity"] = wire(q.0),
    }
    match o.order_type {
        OrderType::Limit => t["price"] = wire(o.limit_price.map(|p| p.0).unwrap_or_default()),
        // STP carries its trigger in `price`; IBKR rejects an auxPrice on STP.
        OrderType::Stop => t["price"] = wire(o.stop_price.map(|p| p.0).unwrap_or_default()),
        OrderType::StopLimit => {
            t["price"] = wire(o.limit_price.map(|p| p.0).unwrap_or_default());
            t["auxPrice"] = wire(o.stop_price.map(|p| p.0).unwrap_or_default());
        }
        OrderType::Trail => match o.trail {
            Some(Trail::Amount(a)) => {
                t["trailingAmt"] = wire(a.0);
                t["trailingType"] = json!("amt");
            }
            Some(Trail::Percent(p)) => {
                t["trailingAmt"] = wire(p);
                t["trailingType"] = json!("%");
            }
            None => {}
        },
        OrderType::Market => {}
    }
    t
}

/// What an order post or reply answered.
enum Answer {
    Acks(Vec<Value>),
    Question { id: String, ids: Vec<String>, text: String },
    Reject(String),
    Unparseable(String),
}

fn classify(v: &Value) -> Answer {
    if let Some(first) = v.as_array().and_then(|a| a.first()) {
        if first.get("id").is_some() && first.get("message").is_some() {
            let ids = first["messageIds"]
                .as_array()
                .map(|a| a.iter().filter_map(|i| i.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            let text = match &first["message"] {
                Value::Array(m) => m.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "),
                other => other.as_str().unwrap_or_default().to_string(),
            };
            return Answer::Question {
                id: parse::id_text(&first["id"]).unwrap_or_default(),
                ids,
                text: parse::clean_warning(&text),
            };
        }
        if v.as_array().is_some_and(|a| a.iter().all(|x| x.get("order_id").is_some())) {
            return Answer::Acks(v.as_array().cloned().unwrap_or_default());
        }
    }
    let e = error_text(v);
    if !e.is_empty() {
        return Answer::Reject(e);
    }
    Answer::Unparseable(v.to_string().chars().take(300).collect())
}

impl GatewayVenue {
    pub fn new(http: Arc<GatewayHttp>, keeper: Arc<SessionKeeper>, settings: GatewaySettings) -> Self {
        Self {
            http,
            keeper,
            settings,
            identity: Mutex::new(None),
            conids: Mutex::new(HashMap::new()),
            sectors: Mutex::new(HashMap::new()),
            portfolio_ready: AtomicBool::new(false),
        }
    }

    pub fn keeper(&self) -> &Arc<SessionKeeper> {
        &self.keeper
    }

    /// A read with IBKR's recoveries: "query /accounts first" is answered and retried once;
    /// a 401 restores a timed-out session (ssodh) and retries once.
    async fn read<F, Fut>(&self, call: F) -> Result<Value, CpapiError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Value, CpapiError>>,
    {
        self.keeper.ensure_usable()?;
        match call().await {
            Err(CpapiError::AccountsFirst) => {
                self.http.get("/iserver/accounts", &[]).await?;
                call().await
            }
            Err(e @ CpapiError::NotAuthenticated(_)) => {
                self.keeper.observe_error(&e);
                self.keeper.try_restore().await?;
                call().await
            }
            other => other,
        }
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, CpapiError> {
        self.read(|| self.http.get(path, query)).await
    }

    /// The account we trade and whether IBKR says it is paper (cached briefly).
    async fn account(&self) -> Result<Identity, CpapiError> {
        if let Some((at, id)) = self.identity.lock().unwrap_or_else(|p| p.into_inner()).clone()
            && at.elapsed() < self.settings.identity_ttl
        {
            return Ok(id);
        }
        let v = self.get("/iserver/accounts", &[]).await?;
        let accounts: Vec<String> = v["accounts"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let mut selected =
            v["selectedAccount"].as_str().map(str::to_string).or_else(|| accounts.first().cloned()).unwrap_or_default();
        if let Some(want) = &self.settings.account_id
            && want != &selected
            && accounts.contains(want)
        {
            self.http.post("/iserver/account", &json!({ "acctId": want })).await?;
            selected = want.clone();
        }
        if selected.is_empty() {
            return Err(CpapiError::Decode("/iserver/accounts named no account".into()));
        }
        // isPaper is the ground truth; the DU prefix of paper accounts is only a fallback.
        let is_paper = parse::is_paper(&v["isPaper"]).or_else(|| selected.starts_with("DU").then_some(true));
        let id = Identity { account: selected, is_paper, raw: v };
        *self.identity.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), id.clone()));
        Ok(id)
    }

    /// The account's properties from `/iserver/accounts` (supportsCashQty, supportsFractions, ...).
    pub async fn account_properties(&self) -> Result<(String, Value, Value), VenueError> {
        let id = self.account().await.map_err(v_err)?;
        let props = id.raw["acctProps"][&id.account].clone();
        Ok((id.account, props, id.raw["serverInfo"].clone()))
    }

    /// The conids of US listings for `symbols` (one `/trsrv/stocks` call for the unknown ones).
    async fn conids(&self, symbols: &[String]) -> Result<HashMap<String, i64>, CpapiError> {
        let missing: Vec<String> = {
            let c = self.conids.lock().unwrap_or_else(|p| p.into_inner());
            symbols.iter().filter(|s| !c.contains_key(*s)).cloned().collect()
        };
        if !missing.is_empty() {
            let v = self.get("/trsrv/stocks", &[("symbols", missing.join(","))]).await?;
            let mut c = self.conids.lock().unwrap_or_else(|p| p.into_inner());
            for sym in &missing {
                let us = v[sym]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|e| e["contracts"].as_array().into_iter().flatten())
                    .find(|k| k["isUS"].as_bool() == Some(true));
                if let Some(conid) = us.and_then(|k| parse::int(&k["conid"])) {
                    c.insert(sym.clone(), conid);
                }
            }
        }
        let c = self.conids.lock().unwrap_or_else(|p| p.into_inner());
        Ok(symbols.iter().filter_map(|s| c.get(s).map(|id| (s.clone(), *id))).collect())
    }

    async fn conid(&self, symbol: &str) -> Result<i64, VenueError> {
        self.conids(&[symbol.to_string()])
            .await
            .map_err(v_err)?
            .get(symbol)
            .copied()
            .ok_or_else(|| VenueError::NotFound(format!("no US-listed stock '{symbol}' at IBKR")))
    }

    /// IBKR wants `/portfolio/accounts` once before the other portfolio endpoints.
    async fn ensure_portfolio(&self) -> Result<(), CpapiError> {
        if !self.portfolio_ready.load(Ordering::Relaxed) {
            self.get("/portfolio/accounts", &[]).await?;
            self.portfolio_ready.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn positions_raw(&self) -> Result<Vec<Value>, CpapiError> {
        let acct = self.account().await?.account;
        self.ensure_portfolio().await?;
        let mut rows = vec![];
        for page in 0..100 {
            let v = self.get(&format!("/portfolio/{acct}/positions/{page}"), &[]).await?;
            match v.as_array() {
                Some(a) if !a.is_empty() => {
                    // A page shorter than its pageSize is the last one: no request for an empty page.
                    let last = a[0]["pageSize"].as_u64().is_some_and(|size| (a.len() as u64) < size);
                    rows.extend(a.iter().cloned());
                    if last {
                        break;
                    }
                }
                _ => break,
            }
        }
        Ok(rows)
    }

    fn position_symbol(row: &Value) -> String {
        ["ticker", "contractDesc", "symbol"]
            .iter()
            .find_map(|k| row[*k].as_str())
            .unwrap_or_default()
            .to_ascii_uppercase()
    }

    /// Posts an order and walks IBKR's answer to acknowledgements: allow-listed questions are
    /// confirmed, any other is declined and reported; a 503 is resolved by looking the order
    /// up by client order id before anything is resent.
    async fn post_order(&self, path: &str, body: &Value, coid: &str) -> Result<Vec<Value>, VenueError> {
        self.keeper.ensure_usable().map_err(v_err)?;
        let first = match self.http.post(path, body).await {
            Err(CpapiError::AccountsFirst) => {
                // The post was refused before it was considered: answering and resending once is safe.
                self.http.get("/iserver/accounts", &[]).await.map_err(v_err)?;
                self.http.post(path, body).await
            }
            other => other,
        };
        let mut answer = match first {
            Ok(v) => v,
            Err(e) => return self.order_post_failed(e, coid).await,
        };
        for _ in 0..self.settings.max_reply_rounds {
            match classify(&answer) {
                Answer::Acks(a) => return Ok(a),
                Answer::Reject(m) => return Err(VenueError::Rejected(m)),
                Answer::Unparseable(raw) => {
                    return Err(VenueError::Indeterminate(format!(
                        "IBKR's answer to the order could not be understood ({raw}); it may have been placed. It stays unresolved: check open_orders and run reconcile_pending before retrying."
                    )));
                }
                Answer::Question { id, ids, text } => {
                    let approved = !ids.is_empty() && ids.iter().all(|i| self.settings.confirm_allowlist.contains(i));
                    if !approved {
                        let _ = self.http.post(&format!("/iserver/reply/{id}"), &json!({ "confirmed": false })).await;
                        return Err(VenueError::Rejected(format!(
                            "Order blocked by unapproved warning {ids:?}: {text} (declined; to accept this question add its id to IBKR_CONFIRM_ALLOWLIST)"
                        )));
                    }
                    answer = match self.http.post(&format!("/iserver/reply/{id}"), &json!({ "confirmed": true })).await
                    {
                        Ok(v) => v,
                        Err(CpapiError::Status { status: 400, message, .. })
                            if message.contains("reply id not found") =>
                        {
                            return self
                                .lookup_or(coid, "the confirmation question expired before it was answered")
                                .await;
                        }
                        Err(e) => return self.order_post_failed(e, coid).await,
                    };
                }
            }
        }
        if let Answer::Question { id, .. } = classify(&answer) {
            let _ = self.http.post(&format!("/iserver/reply/{id}"), &json!({ "confirmed": false })).await;
        }
        Err(VenueError::Rejected("Too many CPAPI confirmation rounds; order aborted.".into()))
    }

    async fn order_post_failed(&self, e: CpapiError, coid: &str) -> Result<Vec<Value>, VenueError> {
        match e {
            // Refused outright: nothing was placed.
            CpapiError::NotAuthenticated(_)
            | CpapiError::Rejected(_)
            | CpapiError::RateLimited { .. }
            | CpapiError::AccountsFirst => Err(e.into()),
            CpapiError::Status { status, .. } if (400..500).contains(&status) => {
                Err(VenueError::Rejected(e.to_string()))
            }
            // 503, 500, timeouts, dropped connections: the order may have landed.
            other => self.lookup_or(coid, &other.to_string()).await,
        }
    }

    /// After an unclear answer: the order if IBKR has it under our client order id, else
    /// INDETERMINATE (never a resend).
    async fn lookup_or(&self, coid: &str, why: &str) -> Result<Vec<Value>, VenueError> {
        match self.find_by_client_order_id(coid, None).await {
            Ok(Some(r)) => Ok(vec![
                json!({ "order_id": r.order_id, "order_status": "found", "found": serde_json::to_value(&r).unwrap_or(Value::Null) }),
            ]),
            Ok(None) => Err(VenueError::Indeterminate(format!(
                "The order post failed ({why}) and IBKR does not (yet) list client order id {coid}, so it is UNKNOWN whether the order landed. Not resending (would risk a duplicate)."
            ))),
            Err(e) => Err(VenueError::Indeterminate(format!(
                "The order post failed ({why}) and the follow-up lookup failed ({e}), so it is UNKNOWN whether the order landed. Not resending (would risk a duplicate)."
            ))),
        }
    }

    fn ack_result(ack: &Value, o: &OrderRequest, leg: Option<&str>) -> OrderResult {
        if let Some(found) = ack.get("found").and_then(|f| serde_json::from_value::<OrderResult>(f.clone()).ok()) {
            return found;
        }
        OrderResult {
            order_id: parse::id_text(&ack["order_id"]),
            message: ack["text"].as_str().map(str::to_string),
            leg: leg.map(str::to_string),
            ..OrderResult::for_request(
                o,
                ack["order_status"].as_str().map(parse::status).unwrap_or(OrderStatus::Unknown),
            )
        }
    }

    /// Every order of this brokerage session (working, filled, cancelled), with its client order
    /// id. The endpoint needs a pre-flight: an empty first answer is retried once, spaced by
    /// the pacer (never back to back).
    async fn session_orders(&self) -> Result<Vec<(Option<String>, OrderResult)>, CpapiError> {
        let mut v = self.get("/iserver/account/orders", &[]).await?;
        let empty = v["orders"].as_array().is_none_or(|a| a.is_empty());
        if empty && v["snapshot"].as_bool() != Some(true) {
            v = self.get("/iserver/account/orders", &[]).await?;
        }
        Ok(v["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| (o["order_ref"].as_str().map(str::to_string), Self::live_order(o)))
            .collect())
    }

    fn live_order(o: &Value) -> OrderResult {
        let total = parse::dec(&o["totalSize"]);
        let filled = parse::dec(&o["filledQuantity"]);
        let mut status = parse::status(o["status"].as_str().unwrap_or_default());
        if status == OrderStatus::Submitted && filled.is_some_and(|f| f > Decimal::ZERO) {
            status = OrderStatus::PartiallyFilled;
        }
        let order_type = o["orderType"].as_str().and_then(parse::order_type);
        let price = parse::dec(&o["price"]).map(Price);
        OrderResult {
            order_id: parse::id_text(&o["orderId"]),
            client_order_id: o["order_ref"].as_str().map(str::to_string),
            status,
            symbol: o["ticker"].as_str().unwrap_or_default().to_string(),
            side: o["side"].as_str().and_then(parse::side),
            order_type,
            quantity: total.map(Qty),
            filled_quantity: filled.map(Qty),
            avg_price: parse::dec(&o["avgPrice"]).map(Price),
            limit_price: if matches!(order_type, Some(OrderType::Limit | OrderType::StopLimit)) { price } else { None },
            stop_price: if order_type == Some(OrderType::Stop) { price } else { None },
            message: o["orderDesc"].as_str().map(str::to_string),
            dry_run: false,
            leg: None,
        }
    }

    async fn trades_raw(&self) -> Result<Vec<Value>, CpapiError> {
        let v = self.get("/iserver/account/trades", &[]).await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }
}

#[async_trait]
impl MarketData for GatewayVenue {
    async fn quote(&self, symbol: &str) -> Result<Quote, VenueError> {
        let mut q = self.quotes(&[symbol.to_string()]).await?;
        q.pop().ok_or_else(|| VenueError::NotFound(symbol.to_string()))
    }

    async fn quotes(&self, symbols: &[String]) -> Result<Vec<Quote>, VenueError> {
        let conids = self.conids(symbols).await.map_err(v_err)?;
        let mut rows: HashMap<i64, Value> = HashMap::new();
        let wanted: Vec<i64> = conids.values().copied().collect();
        for attempt in 0..self.settings.quote_attempts.max(1) {
            let pending: Vec<i64> = wanted
                .iter()
                .copied()
                .filter(|c| {
                    !rows.get(c).is_some_and(|r| {
                        r.get("31").is_some()
                            || r.get("6509").is_some_and(|m| m.as_str().is_some_and(|m| m.starts_with('N')))
                    })
                })
                .collect();
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                // The first snapshot of a conid only opens its stream: a spaced retry, not a burst.
                tokio::time::sleep(self.settings.quote_retry_delay).await;
            }
            let list = pending.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            let v = self
                .get("/iserver/marketdata/snapshot", &[("conids", list), ("fields", "31,84,86,6509".into())])
                .await
                .map_err(v_err)?;
            for r in v.as_array().into_iter().flatten() {
                if let Some(c) = parse::int(&r["conid"]) {
                    rows.insert(c, r.clone());
                }
            }
        }
        Ok(symbols
            .iter()
            .map(|s| {
                let Some(c) = conids.get(s) else {
                    return Quote {
                        symbol: s.clone(),
                        last: None,
                        bid: None,
                        ask: None,
                        currency: "USD".into(),
                        note: Some(format!("no US-listed stock '{s}' at IBKR")),
                    };
                };
                let r = rows.get(c).cloned().unwrap_or(Value::Null);
                let (last, prefix_note) = parse::last_price(&r["31"]);
                let avail = r["6509"].as_str().unwrap_or_default();
                let note = match (last, avail.chars().next(), prefix_note) {
                    (_, _, Some(n)) => Some(n.to_string()),
                    (None, Some('N'), _) => {
                        Some("no market-data subscription for this instrument (IBKR field 6509 = N)".into())
                    }
                    (None, _, _) => {
                        Some("no price yet: IBKR is still warming up the market-data stream; retry in a moment".into())
                    }
                    (Some(_), Some('D'), _) => Some("delayed market data".into()),
                    _ => None,
                };
                Quote {
                    symbol: s.clone(),
                    last: last.map(Price),
                    bid: parse::dec(&r["84"]).filter(|d| *d > Decimal::ZERO).map(Price),
                    ask: parse::dec(&r["86"]).filter(|d| *d > Decimal::ZERO).map(Price),
                    currency: "USD".into(),
                    note,
                }
            })
            .collect())
    }

    async fn bars(&self, symbol: &str, days: u32) -> Result<Vec<Bar>, VenueError> {
        let conid = self.conid(symbol).await?;
        let q = [
            ("conid", conid.to_string()),
            ("period", history_period(days).to_string()),
            ("bar", "1d".to_string()),
            ("outsideRth", "false".to_string()),
        ];
        let v = self.get("/iserver/marketdata/history", &q).await.map_err(v_err)?;
        let mut bars: Vec<Bar> = v["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| {
                Some(Bar {
                    time: b["t"].as_i64().and_then(chrono::DateTime::from_timestamp_millis)?,
                    open: Price(parse::dec(&b["o"])?),
                    high: Price(parse::dec(&b["h"])?),
                    low: Price(parse::dec(&b["l"])?),
                    close: Price(parse::dec(&b["c"])?),
                    // IBKR reports US stock volume in lots of 100.
                    volume: Qty(parse::dec(&b["v"]).unwrap_or_default() * Decimal::ONE_HUNDRED),
                })
            })
            .collect();
        let keep = usize::try_from(days).unwrap_or(usize::MAX);
        if bars.len() > keep {
            bars.drain(..bars.len() - keep);
        }
        Ok(bars)
    }

    async fn run_scanner(&self, request: &ScanRequest) -> Result<Vec<ScanRow>, VenueError> {
        let filter: Vec<Value> =
            request.filters.iter().map(|(code, value)| json!({ "code": code, "value": value })).collect();
        let body = json!({ "instrument": request.instrument, "type": request.scan_code, "location": request.location, "filter": filter });
        let v = self.read(|| self.http.post("/iserver/scanner/run", &body)).await.map_err(v_err)?;
        let e = error_text(&v);
        if !e.is_empty() {
            return Err(VenueError::Rejected(format!("IBKR's scanner refused the request: {e}")));
        }
        Ok(v["contracts"]
            .as_array()
            .into_iter()
            .flatten()
            .take(request.max_rows.max(1))
            .enumerate()
            .map(|(i, c)| ScanRow {
                rank: i + 1,
                symbol: c["symbol"].as_str().unwrap_or_default().to_string(),
                name: c["company_name"].as_str().map(str::to_string),
                conid: parse::id_text(&c["con_id"]).or(parse::id_text(&c["conidex"])),
                exchange: c["listing_exchange"].as_str().map(str::to_string),
                value: c["scan_data"].as_str().map(str::to_string),
            })
            .collect())
    }

    async fn search_contracts(&self, query: &str) -> Result<Vec<ContractMatch>, VenueError> {
        let v = self
            .get("/iserver/secdef/search", &[("symbol", query.trim().to_string()), ("name", "true".to_string())])
            .await
            .map_err(v_err)?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .map(|c| ContractMatch {
                symbol: c["symbol"].as_str().unwrap_or_default().to_string(),
                name: c["companyName"].as_str().map(str::to_string),
                conid: parse::id_text(&c["conid"]),
                exchange: c["description"].as_str().map(str::to_string),
                sec_types: c["sections"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x["secType"].as_str().map(str::to_string))
                    .collect(),
            })
            .collect())
    }

    async fn contract_details(&self, symbol: &str) -> Result<Value, VenueError> {
        let conid = self.conid(symbol).await?;
        let v = self.get(&format!("/iserver/contract/{conid}/info"), &[]).await.map_err(v_err)?;
        let keep = [
            "con_id",
            "symbol",
            "company_name",
            "industry",
            "category",
            "currency",
            "instrument_type",
            "exchange",
            "valid_exchanges",
            "r_t_h",
            "trading_class",
            "local_symbol",
        ];
        Ok(Value::Object(keep.iter().filter_map(|k| v.get(*k).map(|x| (k.to_string(), x.clone()))).collect()))
    }

    async fn trading_schedule(&self, symbol: &str) -> Result<Value, VenueError> {
        let v = self
            .get("/trsrv/secdef/schedule", &[("assetClass", "STK".to_string()), ("symbol", symbol.to_string())])
            .await
            .map_err(v_err)?;
        // IBKR lists regular ("LIQUID") windows per date in the exchange's time zone.
        let venues: Vec<Value> = v
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let sessions: Vec<Value> = e["schedules"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|d| {
                        let liquid: Vec<Value> = d["tradingtimes"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter(|t| t["prop"].as_str() == Some("LIQUID"))
                            .map(|t| json!({ "open": t["openingTime"], "close": t["closingTime"] }))
                            .collect();
                        json!({ "date": d["tradingScheduleDate"], "regular": liquid })
                    })
                    .collect();
                json!({ "exchange": e["exchange"], "timezone": e["timezone"], "sessions": sessions })
            })
            .collect();
        Ok(json!({ "symbol": symbol, "venues": venues }))
    }

    async fn sector(&self, symbol: &str) -> Result<Option<String>, VenueError> {
        if let Some(known) = self.sectors.lock().unwrap_or_else(|p| p.into_inner()).get(symbol) {
            return Ok(known.clone());
        }
        let conid = self.conid(symbol).await?;
        let v = self.get(&format!("/iserver/contract/{conid}/info"), &[]).await.map_err(v_err)?;
        let sector =
            ["industry", "category"].iter().find_map(|k| v[*k].as_str().filter(|s| !s.is_empty()).map(str::to_string));
        self.sectors.lock().unwrap_or_else(|p| p.into_inner()).insert(symbol.to_string(), sector.clone());
        Ok(sector)
    }
}

/// The history period IBKR is asked for, to cover `days` daily bars (it caps a request at 1000 points).
fn history_period(days: u32) -> &'static str {
    match days {
        0..=20 => "1m",
        21..=60 => "3m",
        61..=120 => "6m",
        121..=250 => "1y",
        251..=500 => "2y",
        _ => "3y",
    }
}

#[async_trait]
impl Account for GatewayVenue {
    async fn identity(&self) -> Result<AccountIdentity, VenueError> {
        let id = self.account().await.map_err(v_err)?;
        Ok(AccountIdentity { account_id: Some(id.account), is_paper: id.is_paper, verified: true })
    }

    async fn summary(&self) -> Result<AccountSummary, VenueError> {
        let acct = self.account().await.map_err(v_err)?.account;
        self.ensure_portfolio().await.map_err(v_err)?;
        let v = self.get(&format!("/portfolio/{acct}/summary"), &[]).await.map_err(v_err)?;
        Ok(AccountSummary {
            account_id: acct,
            currency: v["netliquidation"]["currency"].as_str().unwrap_or("USD").to_string(),
            cash: summary_amount(&v["totalcashvalue"]),
            available_funds: summary_amount(&v["availablefunds"]),
            net_liquidation: summary_amount(&v["netliquidation"]),
            buying_power: summary_amount(&v["buyingpower"]),
            maintenance_margin: summary_amount(&v["maintmarginreq"]),
        })
    }

    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        let rows = self.positions_raw().await.map_err(v_err)?;
        Ok(rows
            .iter()
            .filter(|r| parse::dec(&r["position"]).is_some_and(|q| !q.is_zero()))
            .map(|r| Position {
                symbol: Self::position_symbol(r),
                quantity: Qty(parse::dec(&r["position"]).unwrap_or_default()),
                avg_cost: parse::dec(&r["avgCost"]).map(|d| Price(d.round_dp(4))),
                market_price: parse::dec(&r["mktPrice"]).map(|d| Price(d.round_dp(4))),
                market_value: money(&r["mktValue"]),
                unrealized_pnl: money(&r["unrealizedPnl"]),
            })
            .collect())
    }

    async fn held_quantity(&self, symbol: &str) -> Result<Decimal, VenueError> {
        let acct = self.account().await.map_err(v_err)?.account;
        // Positions are cached by IBKR: invalidate before reading holdings for an exit.
        let _ = self.http.post(&format!("/portfolio/{acct}/positions/invalidate"), &json!({})).await;
        let rows = self.positions_raw().await.map_err(v_err)?;
        Ok(rows.iter().filter(|r| Self::position_symbol(r) == symbol).filter_map(|r| parse::dec(&r["position"])).sum())
    }
}

#[async_trait]
impl Broker for GatewayVenue {
    fn name(&self) -> String {
        NAME.into()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::full(MarketHoursModel::Nyse, "USD")
    }

    async fn place(&self, order: &Approved<OrderRequest>, client_order_id: &str) -> Result<OrderResult, VenueError> {
        let o = order.get();
        let conid = self.conid(&o.symbol).await?;
        let acct = self.account().await.map_err(v_err)?.account;
        let body = json!({ "orders": [ticket(o, conid, client_order_id)] });
        let acks = self.post_order(&format!("/iserver/account/{acct}/orders"), &body, client_order_id).await?;
        let first = acks
            .first()
            .ok_or_else(|| VenueError::Indeterminate("IBKR acknowledged the order with an empty list".into()))?;
        Ok(Self::ack_result(first, o, None))
    }

    async fn place_bracket(
        &self,
        order: &Approved<BracketRequest>,
        ids: &BracketIds,
    ) -> Result<Vec<OrderResult>, VenueError> {
        let b = order.get();
        let conid = self.conid(&b.entry.symbol).await?;
        let acct = self.account().await.map_err(v_err)?.account;
        let legs = [
            ("entry", b.entry.clone(), &ids.entry),
            ("take_profit", b.take_profit_leg(), &ids.take_profit),
            ("stop_loss", b.stop_loss_leg(), &ids.stop_loss),
        ];
        let tickets: Vec<Value> = legs
            .iter()
            .map(|(leg, o, coid)| {
                let mut t = ticket(o, conid, coid);
                if *leg != "entry" {
                    t["parentId"] = json!(ids.entry);
                }
                t
            })
            .collect();
        let acks = self
            .post_order(&format!("/iserver/account/{acct}/orders"), &json!({ "orders": tickets }), &ids.entry)
            .await?;
        Ok(acks.iter().zip(legs.iter()).map(|(a, (leg, o, _))| Self::ack_result(a, o, Some(leg))).collect())
    }

    async fn preview(&self, order: &OrderRequest) -> Result<VenuePreview, VenueError> {
        let conid = self.conid(&order.symbol).await?;
        let acct = self.account().await.map_err(v_err)?.account;
        let coid = uuid::Uuid::new_v4().simple().to_string();
        let path = format!("/iserver/account/{acct}/orders/whatif");
        let body = json!({ "orders": [ticket(order, conid, &coid)] });
        let v = self.read(|| self.http.post(&path, &body)).await.map_err(v_err)?;
        let v = if let Some(first) = v.as_array().and_then(|a| a.first()) { first.clone() } else { v };
        let amount = v["amount"]["amount"].as_str().unwrap_or_default();
        let value = parse::first_number(amount);
        let qty = parse::shares(amount).or(order.size.quantity());
        let mut warnings: Vec<String> =
            v["warns"].as_array().into_iter().flatten().filter_map(Value::as_str).map(parse::clean_warning).collect();
        for k in ["warn", "error"] {
            if let Some(w) = v[k].as_str().filter(|s| !s.is_empty()) {
                warnings.push(parse::clean_warning(w));
            }
        }
        Ok(VenuePreview {
            estimated_price: match (value, qty) {
                (Some(v), Some(q)) if !q.is_zero() => Some(Price((v / q).round_dp(4))),
                _ => None,
            },
            estimated_quantity: qty.map(Qty),
            estimated_value: value.map(Money),
            commission: v["amount"]["commission"].as_str().and_then(parse::first_number).map(Money),
            equity_change: v["equity"]["change"].as_str().and_then(parse::first_number).map(Money),
            margin_change: v["initial"]["change"].as_str().and_then(parse::first_number).map(Money),
            cash_after: None,
            warnings,
        })
    }

    async fn modify(&self, order_id: &str, order: &Approved<OrderRequest>) -> Result<OrderResult, VenueError> {
        let o = order.get();
        let conid = self.conid(&o.symbol).await?;
        let acct = self.account().await.map_err(v_err)?.account;
        let mut t = ticket(o, conid, "");
        if let Value::Object(m) = &mut t {
            m.remove("cOID");
        }
        let acks = self.post_order(&format!("/iserver/account/{acct}/order/{order_id}"), &t, "").await?;
        let first = acks
            .first()
            .ok_or_else(|| VenueError::Indeterminate("IBKR acknowledged the modification with an empty list".into()))?;
        Ok(OrderResult { order_id: Some(order_id.to_string()), ..Self::ack_result(first, o, None) })
    }

    async fn order_status(&self, order_id: &str, _symbol: Option<&str>) -> Result<OrderResult, VenueError> {
        let v = self.get(&format!("/iserver/account/order/status/{order_id}"), &[]).await.map_err(|e| match e {
            CpapiError::Unavailable(_) => VenueError::NotFound(format!(
                "IBKR does not report order {order_id} in this brokerage session (it only knows the current session's orders; see trade_history), or the service is briefly unavailable"
            )),
            other => other.into(),
        })?;
        let total = parse::dec(&v["total_size"]);
        let filled = parse::dec(&v["cum_fill"]).or(parse::dec(&v["filled_quantity"]));
        let mut status = parse::status(v["order_status"].as_str().or(v["status"].as_str()).unwrap_or_default());
        if status == OrderStatus::Submitted && filled.is_some_and(|f| f > Decimal::ZERO) {
            status = OrderStatus::PartiallyFilled;
        }
        let order_type = v["order_type"].as_str().and_then(parse::order_type);
        let price = parse::dec(&v["price"]).filter(|p| *p > Decimal::ZERO).map(Price);
        let aux = parse::dec(&v["aux_price"]).filter(|p| *p > Decimal::ZERO).map(Price);
        Ok(OrderResult {
            order_id: parse::id_text(&v["order_id"]).or(Some(order_id.to_string())),
            client_order_id: None,
            status,
            symbol: v["symbol"].as_str().or(v["ticker"].as_str()).unwrap_or_default().to_string(),
            side: v["side"].as_str().and_then(parse::side),
            order_type,
            quantity: total.map(Qty),
            filled_quantity: filled.map(Qty),
            avg_price: parse::dec(&v["average_price"])
                .or(parse::dec(&v["avg_price"]))
                .filter(|p| *p > Decimal::ZERO)
                .map(Price),
            limit_price: match order_type {
                Some(OrderType::Limit | OrderType::StopLimit) => price,
                _ => None,
            },
            stop_price: match order_type {
                Some(OrderType::Stop) => price,
                Some(OrderType::StopLimit) => aux,
                _ => None,
            },
            message: v["order_description"].as_str().map(str::to_string),
            dry_run: false,
            leg: None,
        })
    }

    async fn cancel(&self, order_id: &str, _symbol: Option<&str>) -> Result<OrderResult, VenueError> {
        let acct = self.account().await.map_err(v_err)?.account;
        let known = self.order_status(order_id, None).await.ok();
        let path = format!("/iserver/account/{acct}/order/{order_id}");
        let mut v = self.read(|| self.http.delete(&path)).await.map_err(v_err)?;
        // A cancel only reduces risk: its confirmation questions are answered yes.
        for _ in 0..self.settings.max_reply_rounds {
            match classify(&v) {
                Answer::Question { id, .. } => {
                    v = self
                        .http
                        .post(&format!("/iserver/reply/{id}"), &json!({ "confirmed": true }))
                        .await
                        .map_err(v_err)?;
                }
                _ => break,
            }
        }
        let err = error_text(&v);
        if err.contains("doesn't exist") {
            return Err(VenueError::NotFound(err));
        }
        if !err.is_empty() {
            return Err(VenueError::Rejected(err));
        }
        let row = v.as_array().and_then(|a| a.first()).cloned().unwrap_or(v.clone());
        let status = match row["order_status"].as_str() {
            Some(s) => parse::status(s),
            None if parse::int(&row["conid"]) == Some(-1) => OrderStatus::Cancelled,
            None => OrderStatus::Pending,
        };
        let base = known.unwrap_or(OrderResult {
            order_id: Some(order_id.into()),
            client_order_id: None,
            status,
            symbol: String::new(),
            side: None,
            order_type: None,
            quantity: None,
            filled_quantity: None,
            avg_price: None,
            limit_price: None,
            stop_price: None,
            message: None,
            dry_run: false,
            leg: None,
        });
        let message = row["msg"].as_str().map(|m| match status {
            OrderStatus::Cancelled => format!("{m}: cancelled"),
            _ => format!("{m}: cancel requested; check order_status for the outcome"),
        });
        Ok(OrderResult { status, message, ..base })
    }

    async fn open_orders(&self) -> Result<Vec<OrderResult>, VenueError> {
        let all = self.session_orders().await.map_err(v_err)?;
        Ok(all.into_iter().map(|(_, r)| r).filter(|r| !r.status.is_terminal()).collect())
    }

    async fn fills(&self) -> Result<Vec<Fill>, VenueError> {
        let rows = self.trades_raw().await.map_err(v_err)?;
        Ok(rows
            .iter()
            .filter_map(|t| {
                Some(Fill {
                    order_id: parse::id_text(&t["order_id"]).unwrap_or_default(),
                    client_order_id: t["order_ref"].as_str().map(str::to_string),
                    symbol: t["symbol"].as_str()?.to_string(),
                    side: t["side"].as_str().and_then(parse::side)?,
                    quantity: Qty(parse::dec(&t["size"])?),
                    price: Price(parse::dec(&t["price"])?),
                    commission: Money(parse::dec(&t["commission"]).unwrap_or_default()),
                    time: t["trade_time_r"]
                        .as_i64()
                        .and_then(chrono::DateTime::from_timestamp_millis)
                        .unwrap_or_default(),
                })
            })
            .collect())
    }

    async fn find_by_client_order_id(
        &self,
        client_order_id: &str,
        _symbol: Option<&str>,
    ) -> Result<Option<OrderResult>, VenueError> {
        if client_order_id.is_empty() {
            return Ok(None);
        }
        let orders = self.session_orders().await.map_err(v_err)?;
        if let Some((_, r)) = orders.into_iter().find(|(c, _)| c.as_deref() == Some(client_order_id)) {
            return Ok(Some(r));
        }
        // Orders of earlier sessions are gone from the orders list; their executions remain.
        let fills: Vec<Fill> =
            self.fills().await?.into_iter().filter(|f| f.client_order_id.as_deref() == Some(client_order_id)).collect();
        let Some(first) = fills.first() else { return Ok(None) };
        let qty: Decimal = fills.iter().map(|f| f.quantity.0).sum();
        Ok(Some(OrderResult {
            order_id: Some(first.order_id.clone()),
            client_order_id: Some(client_order_id.into()),
            status: OrderStatus::Filled,
            symbol: first.symbol.clone(),
            side: Some(first.side),
            order_type: None,
            quantity: Some(Qty(qty)),
            filled_quantity: Some(Qty(qty)),
            avg_price: Some(first.price),
            limit_price: None,
            stop_price: None,
            message: Some("found among executions".into()),
            dry_run: false,
            leg: None,
        }))
    }

    async fn session(&self) -> Result<Value, VenueError> {
        let (state, raw) = match self.keeper.status().await {
            Ok((s, v)) => (s, v),
            Err(e) => (self.keeper.state(), json!({ "error": e.to_string() })),
        };
        Ok(json!({
            "backend": "gateway",
            "gateway": self.http.base().to_string(),
            "session": state,
            "authenticated": raw["authenticated"],
            "connected": raw["connected"],
            "competing": raw["competing"],
            "server_version": raw["serverInfo"]["serverVersion"],
            "login_hint": if state == crate::session::SessionState::Authenticated {
                Value::Null
            } else {
                json!(format!("{} Login page: {}", crate::cpapi::error::LOGIN_HINT, self.http.login_url()))
            },
        }))
    }
}
