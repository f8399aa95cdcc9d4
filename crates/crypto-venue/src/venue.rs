//! The exchange as a venue: ccxt's unified types mapped to ours, Decimal in and out.
//!
//! Amounts cross to ccxt as f64 only at the last step, already cut to the market's step
//! size in Decimal (truncated, so a quantity never grows) and prices to its tick (buys
//! rounded down, sells up, so a limit never gets worse than the one approved).

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use ccxt::{Params, TypedExchangeExt};
use rust_decimal::Decimal;
use trading_core::{
    account::{AccountIdentity, AccountSummary, AssetClass, Bar, Capabilities, MarketHoursModel, Position, Quote},
    bars::HistoryRequest,
    error::VenueError,
    guard::Approved,
    money::{Money, Price, Qty, fmt_money},
    order::{BracketRequest, Fill, OrderRequest, OrderResult, OrderStatus, OrderType, Side, Size, TimeInForce},
    ports::{Account, BracketIds, Broker, MarketData, VenuePreview},
};

use crate::{
    ccxt_client::{CcxtClient, CcxtError},
    exchanges::CoidLookup,
};

use crate::{
    map::{base_of, order_result, ticker_quote, venue_err},
    rules::{MarketRules, dec, dec_opt, float, floor_to_step, price_to_tick},
};

mod market;

/// A spot crypto exchange reached through ccxt.
#[derive(Debug)]
pub struct CryptoVenue {
    client: CcxtClient,
    quote: String,
    markets: tokio::sync::Mutex<Option<Arc<HashMap<String, MarketRules>>>>,
    /// Pairs whose trades `fills` asks for (binance lists trades per symbol only): the
    /// journal's symbols, what is held, and what was traded since start.
    known_symbols: Mutex<BTreeSet<String>>,
}
impl CryptoVenue {
    pub fn new(client: CcxtClient, quote: &str, journal_symbols: impl IntoIterator<Item = String>) -> Self {
        Self {
            client,
            quote: quote.to_string(),
            markets: tokio::sync::Mutex::new(None),
            known_symbols: Mutex::new(journal_symbols.into_iter().filter(|s| s.contains('/')).collect()),
        }
    }

    pub fn client(&self) -> &CcxtClient {
        &self.client
    }

    fn mode(&self) -> &'static str {
        if self.client.sandbox { "sandbox" } else { "live" }
    }

    /// The account as session_status reports it (and CRYPTO_ACCOUNT_ID matches).
    fn account_id(&self) -> String {
        format!("{}-{}", self.client.id, self.mode())
    }

    fn remember(&self, symbol: &str) {
        self.known_symbols.lock().unwrap_or_else(|p| p.into_inner()).insert(symbol.to_string());
    }

    /// The markets, loaded once (a failed load is retried on the next call).
    pub async fn markets(&self) -> Result<Arc<HashMap<String, MarketRules>>, VenueError> {
        let mut slot = self.markets.lock().await;
        if let Some(m) = slot.as_ref() {
            return Ok(m.clone());
        }
        let loaded = self.client.markets().await.map_err(venue_err)?;
        let map: HashMap<String, MarketRules> =
            loaded.iter().filter(|m| m.spot).map(|m| (m.symbol.clone(), MarketRules::from_ccxt(m))).collect();
        let map = Arc::new(map);
        *slot = Some(map.clone());
        Ok(map)
    }

    async fn rules(&self, symbol: &str) -> Result<MarketRules, VenueError> {
        let markets = self.markets().await?;
        match markets.get(symbol) {
            Some(r) if r.active => Ok(r.clone()),
            Some(_) => Err(VenueError::Rejected(format!("{symbol} is not trading on {} right now", self.client.id))),
            None => Err(VenueError::NotFound(format!("{symbol} is not a spot market on {}", self.client.id))),
        }
    }

    async fn ticker(&self, symbol: &str) -> Result<ccxt::types::Ticker, VenueError> {
        let sym = symbol.to_string();
        self.client
            .run(move |ex| Box::pin(async move { ex.fetch_ticker(&sym, Params::none()).await }))
            .await
            .map_err(venue_err)
    }

    async fn balances(&self) -> Result<ccxt::types::Balances, VenueError> {
        self.client.run(|ex| Box::pin(ex.fetch_balance(Params::none()))).await.map_err(venue_err)
    }

    /// Tickers for `symbols` in one request where the exchange allows it.
    async fn tickers(&self, symbols: Vec<String>) -> Result<HashMap<String, ccxt::types::Ticker>, VenueError> {
        if symbols.is_empty() {
            return Ok(HashMap::new());
        }
        if self.client.has.tickers {
            return self
                .client
                .run(move |ex| Box::pin(async move { ex.fetch_tickers(Some(symbols), Params::none()).await }))
                .await
                .map(|t| t.into_iter().collect())
                .map_err(venue_err);
        }
        let mut out = HashMap::new();
        for s in symbols {
            out.insert(s.clone(), self.ticker(&s).await?);
        }
        Ok(out)
    }

    /// Non-zero holdings other than the quote currency, as (BASE/QUOTE, total). Pairs the
    /// exchange lists are remembered, so `fills` asks for their trades.
    fn holdings(&self, b: &ccxt::types::Balances, markets: &HashMap<String, MarketRules>) -> Vec<(String, Decimal)> {
        let mut v: Vec<(String, Decimal)> = b
            .total
            .iter()
            .filter(|(asset, _)| **asset != self.quote)
            .filter_map(|(asset, t)| {
                dec(*t).filter(|d| *d != Decimal::ZERO).map(|d| (format!("{asset}/{}", self.quote), d))
            })
            .collect();
        v.sort();
        for (pair, _) in v.iter().filter(|(p, _)| markets.contains_key(p)) {
            self.remember(pair);
        }
        v
    }

    /// The balances and every holding with its last price in the quote currency (one balance
    /// request, one tickers request); a holding without a listed pair has no price.
    async fn priced_holdings(
        &self,
    ) -> Result<(ccxt::types::Balances, Vec<(String, Decimal, Option<Decimal>)>), VenueError> {
        let b = self.balances().await?;
        let markets = self.markets().await?;
        let holdings = self.holdings(&b, &markets);
        let pairs: Vec<String> = holdings.iter().map(|(p, _)| p.clone()).filter(|p| markets.contains_key(p)).collect();
        let tickers = self.tickers(pairs).await?;
        let priced = holdings
            .into_iter()
            .map(|(pair, qty)| {
                let px = tickers.get(&pair).and_then(|t| dec_opt(t.last.or(t.close)));
                (pair, qty, px)
            })
            .collect();
        Ok((b, priced))
    }

    /// The symbol of an order we know only by id: from the caller, else among open orders.
    async fn symbol_for(&self, order_id: &str, symbol: Option<&str>) -> Result<String, VenueError> {
        if let Some(s) = symbol {
            return Ok(s.to_string());
        }
        let open = self.open_orders().await?;
        open.into_iter().find(|o| o.order_id.as_deref() == Some(order_id)).map(|o| o.symbol).ok_or_else(|| {
            VenueError::NotFound(format!(
                "order {order_id} is not in the journal nor among open orders, and {} looks orders up by symbol: pass symbol",
                self.client.id
            ))
        })
    }

    /// Our order by its client order id, the way this exchange allows (facts.lookup).
    async fn lookup_client_order_id(&self, coid: &str, symbol: &str) -> Result<Option<OrderResult>, VenueError> {
        let (c, s) = (coid.to_string(), symbol.to_string());
        match self.client.facts.lookup {
            CoidLookup::FetchOrderParam => {
                let found = self
                    .client
                    .run(move |ex| {
                        Box::pin(async move {
                            ex.fetch_order("", Some(&s), Params::new().with_str("clientOrderId", &c)).await
                        })
                    })
                    .await;
                match found {
                    Ok(o) => Ok(Some(order_result(&o))),
                    Err(CcxtError::OrderNotFound(_)) => Ok(None),
                    Err(e) => Err(venue_err(e)),
                }
            }
            CoidLookup::RecentOrders if !self.client.has.closed_orders => Err(VenueError::Unsupported {
                venue: self.name(),
                capability: "looking an order up by client order id (it lists no closed orders)",
            }),
            CoidLookup::RecentOrders => {
                let recent = self
                    .client
                    .run(move |ex| {
                        Box::pin(async move {
                            let mut all = ex.fetch_open_orders(Some(&s), None, None, Params::none()).await?;
                            all.extend(ex.fetch_closed_orders(Some(&s), None, Some(50), Params::none()).await?);
                            Ok(all)
                        })
                    })
                    .await
                    .map_err(venue_err)?;
                Ok(recent.iter().find(|o| o.client_order_id.as_deref() == Some(coid)).map(order_result))
            }
        }
    }

    /// An exchange that answers an order post or a cancel with the id alone (kraken's
    /// AddOrder and CancelOrder): its state is read back, one request.
    async fn completed(&self, r: OrderResult, symbol: &str) -> OrderResult {
        if r.status != OrderStatus::Unknown {
            return r;
        }
        let Some(id) = r.order_id.clone() else { return r };
        let sym = symbol.to_string();
        match self
            .client
            .run(move |ex| Box::pin(async move { ex.fetch_order(&id, Some(&sym), Params::none()).await }))
            .await
        {
            Ok(o) => {
                let mut read = order_result(&o);
                read.client_order_id = read.client_order_id.or(r.client_order_id);
                read
            }
            Err(_) => r,
        }
    }

    /// The amount and the f64 arguments of an order, checked against the market's rules.
    async fn sized(&self, o: &OrderRequest, rules: &MarketRules) -> Result<SizedOrder, VenueError> {
        let limit = o.limit_price.map(|p| price_to_tick(p.0, rules.price_tick, o.side));
        let stop = o.stop_price.map(|p| price_to_tick(p.0, rules.price_tick, o.side.opposite()));
        let mut notes = vec![];
        let (amount, cost, ref_price) = match o.size {
            Size::Cash(c)
                if o.order_type == OrderType::Market && o.side == Side::Buy && self.client.has.market_buy_with_cost =>
            {
                if let Some(min) = rules.min_cost.filter(|m| c.0 < *m) {
                    return Err(VenueError::InvalidRequest(format!(
                        "order value {} is below {}'s minimum order value {} (limits.cost.min)",
                        fmt_money(c.0, &rules.quote),
                        rules.symbol,
                        fmt_money(min, &rules.quote)
                    )));
                }
                // The exchange sizes it (quoteOrderQty): no price is needed to send it.
                (None, Some(c.0), None)
            }
            Size::Cash(c) => {
                let t = self.ticker(&o.symbol).await?;
                let px = limit.or(dec_opt(if o.side == Side::Buy { t.ask } else { t.bid })).ok_or_else(|| {
                    VenueError::Rejected(format!("no {} price for {} to size a cash order", o.side, o.symbol))
                })?;
                let amount = floor_to_step(c.0 / px, rules.amount_step);
                notes.push(format!(
                    "{} of {} at ~{px} is {} {}",
                    fmt_money(c.0, &rules.quote),
                    o.symbol,
                    amount,
                    rules.base
                ));
                if o.order_type == OrderType::Market {
                    notes.push(format!(
                        "{} cannot buy by amount spent: the quantity is priced at the {} now, and a market order fills at the book's prices when it lands, so the amount spent can differ by the price moved",
                        self.client.id,
                        if o.side == Side::Buy { "ask" } else { "bid" }
                    ));
                }
                (Some(amount), None, Some(px))
            }
            Size::Quantity(q) => {
                let amount = floor_to_step(q.0, rules.amount_step);
                if amount != q.0 {
                    notes.push(format!(
                        "quantity cut to {amount} ({}'s step is {})",
                        rules.symbol,
                        rules.amount_step.unwrap_or_default().normalize()
                    ));
                }
                let px = match limit.or(stop) {
                    Some(p) => Some(p),
                    None => {
                        let t = self.ticker(&o.symbol).await?;
                        dec_opt(if o.side == Side::Buy { t.ask } else { t.bid }.or(t.last))
                    }
                };
                (Some(amount), None, px)
            }
        };
        match (amount, cost) {
            (_, Some(_)) => {}
            (Some(a), None) => rules.check(a, ref_price)?,
            (None, None) => return Err(VenueError::Rejected(format!("cannot size the {} order", o.symbol))),
        }
        if o.tif == TimeInForce::Day && o.order_type != OrderType::Market {
            notes.push("crypto has no trading day: placed good-till-cancelled".into());
        }
        Ok(SizedOrder { amount, cost, limit, stop, ref_price, notes })
    }
}

struct SizedOrder {
    amount: Option<Decimal>,
    /// Market buy by cost (quoteOrderQty).
    cost: Option<Decimal>,
    limit: Option<Decimal>,
    stop: Option<Decimal>,
    ref_price: Option<Decimal>,
    notes: Vec<String>,
}

#[async_trait]
impl Account for CryptoVenue {
    async fn identity(&self) -> Result<AccountIdentity, VenueError> {
        // An exchange does not say whether keys are testnet keys: the mode is our label.
        Ok(AccountIdentity {
            account_id: Some(self.account_id()),
            is_paper: Some(self.client.sandbox),
            verified: false,
        })
    }

    async fn summary(&self) -> Result<AccountSummary, VenueError> {
        let (b, holdings) = self.priced_holdings().await?;
        let mut value = Decimal::ZERO;
        let mut unpriced = vec![];
        for (pair, qty, px) in &holdings {
            match px {
                Some(p) => value += *qty * *p,
                // Dust of delisted coins and Earn (LD*) assets have no market: zero, and said.
                None => unpriced.push(format!("{} {}", qty.normalize(), base_of(pair))),
            }
        }
        let free = b.free.get(&self.quote).copied().and_then(dec).unwrap_or_default();
        let total = b.total.get(&self.quote).copied().and_then(dec).unwrap_or_default();
        Ok(AccountSummary {
            account_id: self.account_id(),
            currency: self.quote.clone(),
            cash: Some(Money(total)),
            available_funds: Some(Money(free)),
            net_liquidation: Some(Money((total + value).round_dp(8))),
            buying_power: Some(Money(free)),
            maintenance_margin: None,
            notes: if unpriced.is_empty() {
                vec![]
            } else {
                vec![format!(
                    "valued at zero (no {} market on {}): {}",
                    self.quote,
                    self.client.id,
                    unpriced.join(", ")
                )]
            },
        })
    }

    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        let (_, holdings) = self.priced_holdings().await?;
        Ok(holdings
            .into_iter()
            .map(|(symbol, qty, px)| Position {
                market_price: px.map(Price),
                market_value: px.map(|p| Money((qty * p).round_dp(8))),
                asset_class: AssetClass::Spot,
                currency: Some(self.quote.clone()),
                ..Position::new(symbol, Qty(qty))
            })
            .collect())
    }

    /// The *free* balance: coins locked by resting orders cannot be sold (binance answers
    /// -2010); a sell of the locked part is refused by the guard, and the preview says which
    /// orders hold it.
    async fn held_quantity(&self, symbol: &str) -> Result<Decimal, VenueError> {
        let b = self.balances().await?;
        Ok(b.free.get(base_of(symbol)).copied().and_then(dec).unwrap_or_default())
    }
}

#[async_trait]
impl Broker for CryptoVenue {
    fn name(&self) -> String {
        format!("{} ({})", self.client.id, self.mode())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            fractional: true,
            buy_by_cash: true,
            stops: self.client.has.stop_market,
            stop_limits: self.client.has.stop_limit,
            trailing: false,
            brackets: false,
            shorting: false,
            market_hours: MarketHoursModel::AlwaysOpen,
            quote_currency: self.quote.clone(),
            default_quote: Some(self.quote.clone()),
            benchmark: format!("BTC/{}", self.quote),
            reserves_holdings: true,
        }
    }

    async fn place(&self, order: &Approved<OrderRequest>, client_order_id: &str) -> Result<OrderResult, VenueError> {
        let o = order.get();
        if !self.client.can_trade {
            return Err(VenueError::Rejected(self.client.facts.no_testnet()));
        }
        let rules = self.rules(&o.symbol).await?;
        let s = self.sized(o, &rules).await?;
        self.remember(&o.symbol);
        let params = Params::new().with_str("clientOrderId", client_order_id);
        let (sym, side) = (o.symbol.clone(), o.side.as_str().to_ascii_lowercase());
        let stop_param = self.client.facts.stop_param.name();
        let sent = match (o.order_type, s.cost) {
            (OrderType::Market, Some(cost)) => {
                let cost = float(cost)?;
                self.client
                    .run(move |ex| {
                        Box::pin(async move { ex.create_market_buy_order_with_cost(&sym, cost, params).await })
                    })
                    .await
            }
            (t, _) => {
                let amount = float(s.amount.unwrap_or_default())?;
                let (kind, price, params) = match t {
                    OrderType::Market => ("market", None, params),
                    OrderType::Limit => ("limit", s.limit, params.with_str("timeInForce", "GTC")),
                    OrderType::Stop => {
                        ("market", None, params.with_float(stop_param, float(s.stop.unwrap_or_default())?))
                    }
                    OrderType::StopLimit => (
                        "limit",
                        s.limit,
                        params
                            .with_float(stop_param, float(s.stop.unwrap_or_default())?)
                            .with_str("timeInForce", "GTC"),
                    ),
                    OrderType::Trail => {
                        return Err(VenueError::Unsupported { venue: self.name(), capability: "trailing stops" });
                    }
                };
                let price = price.map(float).transpose()?;
                self.client
                    .run(move |ex| {
                        Box::pin(async move { ex.create_order(&sym, kind, &side, amount, price, params).await })
                    })
                    .await
            }
        };
        let mut r = match sent {
            Ok(placed) => self.completed(order_result(&placed), &o.symbol).await,
            Err(e) if e.is_definitive_refusal() => return Err(venue_err(e)),
            // The request may have landed: the guarded broker looks it up, nothing is resent.
            Err(e) => return Err(VenueError::Unclear(e.to_string())),
        };
        if r.symbol.is_empty() {
            r.symbol = o.symbol.clone();
        }
        if r.client_order_id.is_none() {
            r.client_order_id = Some(client_order_id.to_string());
        }
        if !s.notes.is_empty() {
            r.message = Some(s.notes.join("; "));
        }
        Ok(r)
    }

    async fn place_bracket(
        &self,
        _order: &Approved<BracketRequest>,
        _ids: &BracketIds,
    ) -> Result<Vec<OrderResult>, VenueError> {
        Err(VenueError::Unsupported { venue: self.name(), capability: "bracket orders" })
    }

    async fn preview(&self, o: &OrderRequest) -> Result<VenuePreview, VenueError> {
        let rules = self.rules(&o.symbol).await?;
        // A minimum or a step the order breaks is an error here too: previewing it must not
        // hand out a token for an order the exchange would refuse.
        let s = self.sized(o, &rules).await?;
        let mut warnings = s.notes.clone();
        let (amount, ref_price) = match s.cost {
            // A buy by cost: estimate what it gets at the ask.
            Some(c) => {
                let ask = dec_opt(self.ticker(&o.symbol).await?.ask);
                (ask.map(|p| floor_to_step(c / p, rules.amount_step)), ask)
            }
            None => (s.amount, s.ref_price),
        };
        let value = s.cost.or_else(|| Some(amount? * ref_price?));
        let fee = value.map(|v| (v * rules.taker_fee.unwrap_or(Decimal::new(1, 3))).round_dp(8));
        let cash_after = if o.side == Side::Buy {
            let b = self.balances().await?;
            let free = b.free.get(&rules.quote).copied().and_then(dec).unwrap_or_default();
            value.map(|v| Money((free - v - fee.unwrap_or_default()).round_dp(8)))
        } else {
            None
        };
        if cash_after.is_some_and(|c| c.0 < Decimal::ZERO) {
            warnings.push(format!("the free {} balance does not cover this order", rules.quote));
        }
        Ok(VenuePreview {
            estimated_price: s.limit.or(ref_price).map(Price),
            estimated_quantity: amount.map(Qty),
            estimated_value: value.map(|v| Money(v.round_dp(8))),
            commission: fee.map(Money),
            equity_change: None,
            margin_change: None,
            cash_after,
            warnings,
        })
    }

    async fn order_status(&self, order_id: &str, symbol: Option<&str>) -> Result<OrderResult, VenueError> {
        let sym = self.symbol_for(order_id, symbol).await?;
        let id = order_id.to_string();
        let o = self
            .client
            .run(move |ex| Box::pin(async move { ex.fetch_order(&id, Some(&sym), Params::none()).await }))
            .await
            .map_err(venue_err)?;
        Ok(order_result(&o))
    }

    async fn cancel(&self, order_id: &str, symbol: Option<&str>) -> Result<OrderResult, VenueError> {
        let sym = self.symbol_for(order_id, symbol).await?;
        let sym_again = sym.clone();
        let id = order_id.to_string();
        let o = self
            .client
            .run(move |ex| Box::pin(async move { ex.cancel_order(&id, Some(&sym), Params::none()).await }))
            .await
            .map_err(|e| match e {
                CcxtError::OrderNotFound(m) => VenueError::NotFound(format!(
                    "order {order_id} is not open (already filled, cancelled or unknown): {m}"
                )),
                e => venue_err(e),
            })?;
        let mut r = order_result(&o);
        // kraken's CancelOrder answers a count only.
        r.order_id = r.order_id.or_else(|| Some(order_id.to_string()));
        Ok(self.completed(r, &sym_again).await)
    }

    async fn open_orders(&self) -> Result<Vec<OrderResult>, VenueError> {
        let orders = self
            .client
            .run(|ex| Box::pin(ex.fetch_open_orders(None, None, None, Params::none())))
            .await
            .map_err(venue_err)?;
        Ok(orders.iter().map(order_result).collect())
    }

    async fn fills(&self) -> Result<Vec<Fill>, VenueError> {
        if !self.client.has.my_trades {
            return Err(VenueError::Unsupported { venue: self.name(), capability: "trade history (fetchMyTrades)" });
        }
        // Held pairs join the known ones, so a holding bought elsewhere shows its trades too
        // (no prices needed here; an unreadable balance only leaves the known pairs).
        let markets = self.markets().await?;
        if let Ok(b) = self.balances().await {
            self.holdings(&b, &markets);
        }
        let symbols: Vec<String> =
            self.known_symbols.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect();
        let mut fills = vec![];
        for sym in symbols.into_iter().filter(|s| markets.contains_key(s)) {
            let s = sym.clone();
            let trades = self
                .client
                .run(move |ex| {
                    Box::pin(async move { ex.fetch_my_trades(Some(&s), None, Some(100), Params::none()).await })
                })
                .await
                .map_err(venue_err)?;
            for t in trades {
                let (Some(price), Some(qty)) = (dec_opt(t.price), dec_opt(t.amount)) else { continue };
                let fee = t.fee.as_ref().and_then(|f| Some((f.currency.clone()?, dec_opt(f.cost)?)));
                let base = base_of(&sym).to_string();
                let commission = match fee {
                    Some((ccy, c)) if ccy == self.quote => c,
                    Some((ccy, c)) if ccy == base => (c * price).round_dp(8),
                    // Paid in a third asset (BNB): not convertible without its price here.
                    _ => Decimal::ZERO,
                };
                fills.push(Fill {
                    order_id: t.order.clone().unwrap_or_default(),
                    client_order_id: None,
                    symbol: sym.clone(),
                    side: if t.side.as_deref() == Some("sell") { Side::Sell } else { Side::Buy },
                    quantity: Qty(qty),
                    price: Price(price),
                    commission: Money(commission),
                    time: t.timestamp.and_then(chrono::DateTime::from_timestamp_millis).unwrap_or_default(),
                });
            }
        }
        fills.sort_by_key(|f| f.time);
        Ok(fills)
    }

    async fn find_by_client_order_id(
        &self,
        client_order_id: &str,
        symbol: Option<&str>,
    ) -> Result<Option<OrderResult>, VenueError> {
        match symbol {
            Some(s) => self.lookup_client_order_id(client_order_id, s).await,
            None => Err(VenueError::InvalidRequest(format!(
                "{} looks orders up by symbol and the journal line of {client_order_id} has none",
                self.client.id
            ))),
        }
    }

    async fn session(&self) -> Result<serde_json::Value, VenueError> {
        let markets = self.markets().await;
        let balance = self.balances().await;
        let f = self.client.facts;
        Ok(serde_json::json!({
            "backend": "exchange",
            "exchange": self.client.id,
            "exchange_name": f.name,
            "mode": self.mode(),
            "testnet": f.testnet,
            "orders_sent": self.client.can_trade,
            "orders_note": (!self.client.can_trade).then(|| f.no_testnet()),
            "quote_currency": self.quote,
            "connected": markets.is_ok(),
            "markets": markets.as_ref().map(|m| m.len()).ok(),
            "authenticated": balance.is_ok(),
            "auth_error": balance.err().map(|e| e.to_string()),
            "market_error": markets.err().map(|e| e.to_string()),
            "identity_note": "An exchange does not report whether keys are testnet or real-money keys: the mode is the CRYPTO_TRADING_MODE label, so real orders need CRYPTO_ALLOW_LIVE=true even in sandbox.",
            "capabilities": {
                "market_buy_with_cost": self.client.has.market_buy_with_cost,
                "stop_market": self.client.has.stop_market,
                "stop_limit": self.client.has.stop_limit,
                "ohlcv": self.client.has.ohlcv,
                "trade_history": self.client.has.my_trades,
                "client_order_id": f.client_order_id_param,
                "lost_order_lookup": match f.lookup {
                    CoidLookup::FetchOrderParam => "by client order id",
                    CoidLookup::RecentOrders => "among open and recent closed orders",
                },
                "spot_only": true,
            },
            "notes": f.notes,
        }))
    }
}
