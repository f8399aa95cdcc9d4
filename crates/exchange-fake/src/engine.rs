//! The fake's book: pairs with their filters, balances, orders and trades. It speaks binance's
//! order vocabulary (MARKET, LIMIT, STOP_LOSS, STOP_LOSS_LIMIT; NEW, PARTIALLY_FILLED, FILLED,
//! CANCELED); each dialect translates its wire format to and from it.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde_json::{Value, json};

/// A spot pair and its filters.
#[derive(Clone, Debug)]
pub struct Pair {
    pub id: String,
    pub base: String,
    pub quote: String,
    pub price: Decimal,
    pub tick: Decimal,
    pub step: Decimal,
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    pub min_notional: Decimal,
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

/// How the exchange charges its taker fee.
#[derive(Clone, Copy, Debug)]
pub struct FeeModel {
    pub rate: Decimal,
    /// Always in the quote currency (kraken's default); else in what is received (binance).
    pub in_quote: bool,
}

pub fn default_pairs() -> Vec<Pair> {
    let p = |id: &str, base: &str, px: &str, step: &str| Pair {
        id: id.into(),
        base: base.into(),
        quote: "USDT".into(),
        price: d(px),
        tick: d("0.01"),
        step: d(step),
        min_qty: d(step),
        max_qty: d("9000"),
        min_notional: d("5"),
    };
    vec![
        p("BTCUSDT", "BTC", "65000", "0.00001"),
        p("ETHUSDT", "ETH", "3200", "0.0001"),
        p("SOLUSDT", "SOL", "150", "0.001"),
    ]
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[derive(Clone, Debug)]
pub struct Order {
    pub id: u64,
    pub coid: String,
    pub symbol: String,
    pub buy: bool,
    pub kind: String,
    pub qty: Decimal,
    pub executed: Decimal,
    pub cum_quote: Decimal,
    pub price: Decimal,
    pub stop: Decimal,
    pub status: &'static str,
    pub tif: String,
    /// Fees paid so far, in the asset `fee_asset`.
    pub fee: Decimal,
    pub fee_asset: String,
    pub time: i64,
    pub update: i64,
    /// A stop-limit whose trigger has not been reached is not working yet.
    pub working: bool,
    pub fills: Vec<Value>,
}

impl Order {
    pub fn is_open(&self) -> bool {
        matches!(self.status, "NEW" | "PARTIALLY_FILLED")
    }
}

#[derive(Debug)]
pub struct Book {
    pairs: BTreeMap<String, Pair>,
    free: HashMap<String, Decimal>,
    locked: HashMap<String, Decimal>,
    orders: BTreeMap<u64, Order>,
    trades: Vec<Value>,
    next_id: u64,
    next_trade: u64,
    fees: FeeModel,
    /// The next N orders that cross the book fill half now; the rest rests (or, for a market
    /// order, expires, as binance's IOC market orders do).
    pub partial_next: u32,
}

type Refusal = (i64, String);

fn refuse<T>(code: i64, msg: &str) -> Result<T, Refusal> {
    Err((code, msg.to_string()))
}

impl Book {
    pub fn new(pairs: &[Pair], balances: &[(String, String)], fees: FeeModel) -> Book {
        Book {
            pairs: pairs.iter().map(|p| (p.id.clone(), p.clone())).collect(),
            free: balances.iter().map(|(a, v)| (a.clone(), d(v))).collect(),
            locked: HashMap::new(),
            orders: BTreeMap::new(),
            trades: vec![],
            next_id: 1000,
            next_trade: 500,
            fees,
            partial_next: 0,
        }
    }

    /// A pair by its id, or by its base asset.
    pub fn pair(&self, id_or_base: &str) -> Option<&Pair> {
        self.pairs.get(id_or_base).or_else(|| self.pairs.values().find(|p| p.base == id_or_base))
    }

    pub fn pairs(&self) -> impl Iterator<Item = &Pair> {
        self.pairs.values()
    }

    pub fn locked(&self, asset: &str) -> Decimal {
        self.locked.get(asset).copied().unwrap_or_default()
    }

    /// Every asset with a balance, sorted.
    pub fn assets(&self) -> Vec<String> {
        let mut assets: Vec<String> = self.free.keys().chain(self.locked.keys()).cloned().collect();
        assets.sort();
        assets.dedup();
        assets
    }

    pub fn orders(&self) -> impl Iterator<Item = &Order> {
        self.orders.values()
    }

    pub fn order(&self, id: u64) -> Option<&Order> {
        self.orders.get(&id)
    }

    pub fn trades(&self) -> &[Value] {
        &self.trades
    }

    pub fn free(&self, asset: &str) -> Decimal {
        self.free.get(asset).copied().unwrap_or_default()
    }

    fn touch(p: &Pair) -> (Decimal, Decimal) {
        (p.price - p.tick, p.price + p.tick)
    }

    pub fn exchange_info(&self) -> Value {
        let symbols: Vec<Value> = self
            .pairs
            .values()
            .map(|p| {
                json!({
                    "symbol": p.id, "status": "TRADING", "baseAsset": p.base, "baseAssetPrecision": 8,
                    "quoteAsset": p.quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
                    "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
                    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"],
                    "icebergAllowed": true, "ocoAllowed": true, "quoteOrderQtyMarketAllowed": true,
                    "allowTrailingStop": true, "cancelReplaceAllowed": true,
                    "isSpotTradingAllowed": true, "isMarginTradingAllowed": false,
                    "filters": [
                        { "filterType": "PRICE_FILTER", "minPrice": p.tick.to_string(), "maxPrice": "1000000.00", "tickSize": p.tick.to_string() },
                        { "filterType": "LOT_SIZE", "minQty": p.min_qty.to_string(), "maxQty": p.max_qty.to_string(), "stepSize": p.step.to_string() },
                        { "filterType": "NOTIONAL", "minNotional": p.min_notional.to_string(), "applyMinToMarket": true, "maxNotional": "9000000.00", "applyMaxToMarket": false, "avgPriceMins": 5 }
                    ],
                    "permissions": [], "permissionSets": [["SPOT"]], "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                    "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"]
                })
            })
            .collect();
        json!({ "timezone": "UTC", "serverTime": now_ms(), "rateLimits": [], "exchangeFilters": [], "symbols": symbols })
    }

    pub fn ticker(&self, id: &str) -> Option<Value> {
        let p = self.pairs.get(id)?;
        let (bid, ask) = Self::touch(p);
        let open = p.price * d("0.98");
        Some(json!({
            "symbol": p.id, "priceChange": (p.price - open).to_string(), "priceChangePercent": "2.041",
            "weightedAvgPrice": p.price.to_string(), "prevClosePrice": open.to_string(), "lastPrice": p.price.to_string(),
            "lastQty": "0.01", "bidPrice": bid.to_string(), "bidQty": "1.5", "askPrice": ask.to_string(), "askQty": "2.0",
            "openPrice": open.to_string(), "highPrice": (p.price * d("1.01")).to_string(), "lowPrice": (open * d("0.99")).to_string(),
            "volume": "1234.5", "quoteVolume": (p.price * d("1234.5")).to_string(),
            "openTime": now_ms() - 86_400_000, "closeTime": now_ms(), "firstId": 1, "lastId": 1000, "count": 1000
        }))
    }

    pub fn tickers(&self, wanted: Option<&[String]>) -> Vec<Value> {
        self.pairs.keys().filter(|k| wanted.is_none_or(|w| w.contains(k))).filter_map(|k| self.ticker(k)).collect()
    }

    /// Daily candles ending today, drifting up to the current price.
    /// `GET /api/v3/klines`: `interval` as Binance spells it (`1m` a minute, `1M` a month);
    /// an unknown symbol or interval is Binance's error code and message.
    pub fn klines(&self, id: &str, interval: Option<&String>, limit: Option<&String>) -> Result<Value, (i64, String)> {
        let p = self.pairs.get(id).ok_or((-1121, "Invalid symbol.".to_string()))?;
        let n: i64 = limit.and_then(|l| l.parse().ok()).unwrap_or(500).clamp(1, 1000);
        let minute = 60_000i64;
        let day = match interval.map(String::as_str).unwrap_or("1d") {
            "1m" => minute,
            "3m" => 3 * minute,
            "5m" => 5 * minute,
            "15m" => 15 * minute,
            "30m" => 30 * minute,
            "1h" => 60 * minute,
            "2h" => 120 * minute,
            "4h" => 240 * minute,
            "6h" => 360 * minute,
            "8h" => 480 * minute,
            "12h" => 720 * minute,
            "1d" => 1440 * minute,
            "3d" => 3 * 1440 * minute,
            "1w" => 7 * 1440 * minute,
            "1M" => 30 * 1440 * minute,
            _ => return Err((-1120, "Invalid interval.".into())),
        };
        let today = now_ms() / day * day;
        let rows: Vec<Value> = (0..n)
            .map(|i| {
                let back = n - 1 - i;
                // A deterministic wiggle: ±3% around a slow climb to today's price.
                let wiggle = Decimal::from((i * 37) % 7 - 3) / Decimal::from(100);
                let trend = Decimal::ONE - Decimal::from(back) / Decimal::from(1000);
                let close = if back == 0 { p.price } else { (p.price * trend * (Decimal::ONE + wiggle)).round_dp(2) };
                let open = (close * d("0.995")).round_dp(2);
                let t = today - back * day;
                json!([
                    t,
                    open.to_string(),
                    (close * d("1.01")).round_dp(2).to_string(),
                    (open * d("0.99")).round_dp(2).to_string(),
                    close.to_string(),
                    "1000.0",
                    t + day - 1,
                    "0",
                    100,
                    "0",
                    "0",
                    "0"
                ])
            })
            .collect();
        Ok(Value::Array(rows))
    }

    pub fn account(&self) -> Value {
        let mut assets: Vec<&String> = self.free.keys().chain(self.locked.keys()).collect();
        assets.sort();
        assets.dedup();
        let balances: Vec<Value> = assets
            .into_iter()
            .map(|a| {
                json!({ "asset": a, "free": self.free(a).to_string(), "locked": self.locked.get(a).copied().unwrap_or_default().to_string() })
            })
            .collect();
        json!({
            "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
            "canTrade": true, "canWithdraw": true, "canDeposit": true, "brokered": false,
            "updateTime": now_ms(), "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"], "uid": 354937868
        })
    }

    fn add(map: &mut HashMap<String, Decimal>, asset: &str, v: Decimal) {
        *map.entry(asset.to_string()).or_default() += v;
    }

    pub fn place(&mut self, p: &HashMap<String, String>) -> Result<Value, Refusal> {
        let Some(pair) = p.get("symbol").and_then(|s| self.pairs.get(s)).cloned() else {
            return refuse(-1121, "Invalid symbol.");
        };
        let buy = match p.get("side").map(String::as_str) {
            Some("BUY") => true,
            Some("SELL") => false,
            _ => return refuse(-1102, "Mandatory parameter 'side' was not sent, was empty/null, or malformed."),
        };
        let kind = p.get("type").cloned().unwrap_or_default();
        let coid = p.get("newClientOrderId").cloned().unwrap_or_else(|| format!("fake{}", self.next_id));
        if self.orders.values().any(|o| o.coid == coid && o.is_open()) {
            return refuse(-2010, "Duplicate order sent.");
        }
        let num = |k: &str| p.get(k).map(|v| v.parse::<Decimal>());
        let price = match num("price") {
            Some(Ok(v)) => v,
            Some(Err(_)) => {
                return refuse(
                    -1100,
                    "Illegal characters found in parameter 'price'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
                );
            }
            None => Decimal::ZERO,
        };
        let stop = match num("stopPrice") {
            Some(Ok(v)) => v,
            Some(Err(_)) => return refuse(-1100, "Illegal characters found in parameter 'stopPrice'."),
            None => Decimal::ZERO,
        };
        let (bid, ask) = Self::touch(&pair);
        let qty = match (num("quantity"), num("quoteOrderQty")) {
            (Some(Ok(q)), _) => q,
            (None, Some(Ok(c))) if kind == "MARKET" => {
                (c / if buy { ask } else { bid } / pair.step).trunc() * pair.step
            }
            _ => return refuse(-1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."),
        };
        match kind.as_str() {
            "MARKET" => {}
            "STOP_LOSS" if stop <= Decimal::ZERO => {
                return refuse(-1102, "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed.");
            }
            "STOP_LOSS" => {}
            "LIMIT" | "STOP_LOSS_LIMIT" if p.get("timeInForce").is_none() => {
                return refuse(-1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.");
            }
            "LIMIT" => {}
            "STOP_LOSS_LIMIT" if stop <= Decimal::ZERO => {
                return refuse(-1102, "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed.");
            }
            "STOP_LOSS_LIMIT" => {}
            _ => return refuse(-1116, "Invalid orderType."),
        }
        let priced = kind == "LIMIT" || kind == "STOP_LOSS_LIMIT";
        if priced && (price <= Decimal::ZERO || (price % pair.tick) != Decimal::ZERO) {
            return refuse(-1013, "Filter failure: PRICE_FILTER");
        }
        if qty < pair.min_qty || qty > pair.max_qty || ((qty - pair.min_qty) % pair.step) != Decimal::ZERO {
            return refuse(-1013, "Filter failure: LOT_SIZE");
        }
        let ref_px = match kind.as_str() {
            "MARKET" if buy => ask,
            "MARKET" => bid,
            "STOP_LOSS" => stop,
            _ => price,
        };
        if qty * ref_px < pair.min_notional {
            return refuse(-1013, "Filter failure: NOTIONAL");
        }
        let (need_asset, need) = if buy { (&pair.quote, qty * ref_px) } else { (&pair.base, qty) };
        if self.free(need_asset) < need {
            return refuse(-2010, "Account has insufficient balance for requested action.");
        }
        let id = self.next_id;
        self.next_id += 1;
        let now = now_ms();
        let mut o = Order {
            id,
            coid,
            symbol: pair.id.clone(),
            buy,
            kind: kind.clone(),
            qty,
            executed: Decimal::ZERO,
            cum_quote: Decimal::ZERO,
            price,
            stop,
            status: "NEW",
            tif: p.get("timeInForce").cloned().unwrap_or_else(|| "GTC".into()),
            fee: Decimal::ZERO,
            fee_asset: String::new(),
            time: now,
            update: now,
            working: !kind.starts_with("STOP_LOSS"),
            fills: vec![],
        };
        let marketable = kind == "MARKET" || (kind == "LIMIT" && if buy { price >= ask } else { price <= bid });
        let touch = if buy { ask } else { bid };
        if marketable && self.partial_next > 0 {
            self.partial_next -= 1;
            let half = ((qty / Decimal::TWO) / pair.step).trunc() * pair.step;
            self.fill(&pair, &mut o, touch, half, false);
            if kind == "MARKET" {
                o.status = "EXPIRED";
            } else {
                // The rest rests at the limit, its funds held.
                let rest = if buy { (qty - half) * price } else { qty - half };
                Self::add(&mut self.free, need_asset, -rest);
                Self::add(&mut self.locked, need_asset, rest);
            }
        } else if marketable {
            self.fill(&pair, &mut o, touch, qty, false);
        } else {
            Self::add(&mut self.free, need_asset, -need);
            Self::add(&mut self.locked, need_asset, need);
        }
        let json = self.order_json(&o, true);
        self.orders.insert(id, o);
        Ok(json)
    }

    /// Fills `qty` of `o` at `px`; `from_locked`: the funds were held for a resting order (a
    /// buy held its limit value, so the difference to the fill price is released).
    fn fill(&mut self, pair: &Pair, o: &mut Order, px: Decimal, qty: Decimal, from_locked: bool) {
        let value = qty * px;
        let (fee_asset, fee) = match (self.fees.in_quote, o.buy) {
            (false, true) => (pair.base.clone(), qty * self.fees.rate),
            _ => (pair.quote.clone(), value * self.fees.rate),
        };
        let quote_fee = if fee_asset == pair.quote { fee } else { Decimal::ZERO };
        let base_fee = fee - quote_fee;
        if o.buy {
            if from_locked {
                let held = qty * o.price;
                Self::add(&mut self.locked, &pair.quote, -held);
                Self::add(&mut self.free, &pair.quote, held - value - quote_fee);
            } else {
                Self::add(&mut self.free, &pair.quote, -value - quote_fee);
            }
            Self::add(&mut self.free, &pair.base, qty - base_fee);
        } else {
            if from_locked {
                Self::add(&mut self.locked, &pair.base, -qty);
            } else {
                Self::add(&mut self.free, &pair.base, -qty);
            }
            Self::add(&mut self.free, &pair.quote, value - quote_fee);
        }
        let trade_id = self.next_trade;
        self.next_trade += 1;
        o.executed += qty;
        o.cum_quote += value;
        o.fee += fee;
        o.fee_asset = fee_asset.clone();
        o.status = if o.executed >= o.qty { "FILLED" } else { "PARTIALLY_FILLED" };
        o.update = now_ms();
        o.fills.push(json!({ "price": px.to_string(), "qty": qty.to_string(), "commission": fee.round_dp(8).to_string(), "commissionAsset": fee_asset, "tradeId": trade_id }));
        self.trades.push(json!({
            "symbol": pair.id, "id": trade_id, "orderId": o.id, "orderListId": -1, "price": px.to_string(),
            "qty": qty.to_string(), "quoteQty": value.to_string(), "commission": fee.round_dp(8).to_string(),
            "commissionAsset": fee_asset, "time": o.update, "isBuyer": o.buy, "isMaker": from_locked, "isBestMatch": true
        }));
    }

    /// Moves a price and fills what it reaches.
    pub fn set_price(&mut self, id: &str, price: Decimal) {
        let Some(pair) = self.pairs.get_mut(id) else { return };
        pair.price = price;
        let pair = pair.clone();
        let (bid, ask) = Self::touch(&pair);
        let ids: Vec<u64> = self.orders.values().filter(|o| o.symbol == id && o.is_open()).map(|o| o.id).collect();
        for oid in ids {
            let Some(mut o) = self.orders.remove(&oid) else { continue };
            if !o.working && (if o.buy { price >= o.stop } else { price <= o.stop }) {
                o.working = true;
                if o.kind == "STOP_LOSS" {
                    // Triggered: a market order at the touch, from the held coins or funds.
                    let rest = o.qty - o.executed;
                    let px = if o.buy { ask } else { bid };
                    o.price = o.stop;
                    self.fill(&pair, &mut o, px, rest, true);
                }
            }
            if o.working && o.is_open() && (if o.buy { ask <= o.price } else { bid >= o.price }) {
                let px = o.price;
                let rest = o.qty - o.executed;
                self.fill(&pair, &mut o, px, rest, true);
            }
            self.orders.insert(oid, o);
        }
    }

    pub fn find_by_client_id(&self, coid: &str) -> Option<&Order> {
        self.orders.values().find(|o| o.coid == coid)
    }

    pub fn lookup(&self, p: &HashMap<String, String>) -> Option<&Order> {
        let sym = p.get("symbol")?;
        let o = match (p.get("orderId"), p.get("origClientOrderId")) {
            (Some(id), _) => self.orders.get(&id.parse::<u64>().ok()?),
            (None, Some(c)) => self.find_by_client_id(c),
            _ => None,
        }?;
        (o.symbol == *sym).then_some(o)
    }

    pub fn cancel(&mut self, p: &HashMap<String, String>) -> Result<Value, Refusal> {
        let Some(id) = self.lookup(p).filter(|o| o.is_open()).map(|o| o.id) else {
            return refuse(-2011, "Unknown order sent.");
        };
        self.cancel_id(id).ok_or((-2011, "Unknown order sent.".to_string()))
    }

    /// Cancels an open order by id, releasing what it held.
    pub fn cancel_id(&mut self, id: u64) -> Option<Value> {
        let mut o = self.orders.remove(&id)?;
        if let Some(pair) = self.pairs.get(&o.symbol).cloned() {
            let rest = o.qty - o.executed;
            let held_px = if o.kind == "STOP_LOSS" { o.stop } else { o.price };
            let (asset, amount) = if o.buy { (pair.quote, rest * held_px) } else { (pair.base, rest) };
            Self::add(&mut self.locked, &asset, -amount);
            Self::add(&mut self.free, &asset, amount);
        }
        o.status = "CANCELED";
        o.update = now_ms();
        let mut json = self.order_json(&o, false);
        json["origClientOrderId"] = json!(o.coid);
        self.orders.insert(id, o);
        Some(json)
    }

    pub fn open_orders(&self, symbol: Option<&str>) -> Value {
        Value::Array(
            self.orders
                .values()
                .filter(|o| o.is_open() && symbol.is_none_or(|s| s == o.symbol))
                .map(|o| self.order_json(o, false))
                .collect(),
        )
    }

    pub fn my_trades(&self, symbol: &str) -> Value {
        Value::Array(self.trades.iter().filter(|t| t["symbol"] == symbol).cloned().collect())
    }

    pub fn order_json(&self, o: &Order, with_fills: bool) -> Value {
        let mut v = json!({
            "symbol": o.symbol, "orderId": o.id, "orderListId": -1, "clientOrderId": o.coid,
            "price": o.price.to_string(), "origQty": o.qty.to_string(), "executedQty": o.executed.to_string(),
            "cummulativeQuoteQty": o.cum_quote.to_string(), "status": o.status, "timeInForce": o.tif,
            "type": o.kind, "side": if o.buy { "BUY" } else { "SELL" }, "stopPrice": o.stop.to_string(),
            "icebergQty": "0.00000000", "time": o.time, "updateTime": o.update, "isWorking": o.working,
            "workingTime": o.time, "origQuoteOrderQty": "0.00000000", "selfTradePreventionMode": "EXPIRE_MAKER"
        });
        if with_fills {
            v["transactTime"] = json!(o.update);
            v["fills"] = Value::Array(o.fills.clone());
        }
        v
    }
}
