#![allow(clippy::unwrap_used)]
//! The ccxt adapter against two exchanges' REST APIs: one suite of scenarios runs over the
//! Binance fake and the Kraken fake (each in its exchange's own wire format, signatures and
//! errors), so what the adapter promises holds on both. Each scenario states what it expects
//! on the wire in the exchange's own terms (`Wire`).

use std::{collections::HashMap, path::Path, sync::Arc, time::Duration};

use crypto_venue::{
    connect_exchange,
    settings::{CRYPTO_KEYS, ExchangeOptions, Secret},
};
use exchange_fake::{Dialect, FakeConfig, FakeExchange, Faults, Pair};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use test_support::unclear_posts::{self, UnclearRig};
use trading_core::{
    broker::GuardedBroker,
    config::Policy,
    error::{ErrorCode, VenueError},
    journal::Journal,
    money::{Money, Price, Qty},
    order::{OrderIntent, OrderRequest, OrderStatus, OrderType, Side, Size, TimeInForce},
    ports::{SystemClock, Venue},
};

const BINANCE: Dialect = Dialect::Binance;

/// What each exchange's API shows on the wire for the same intent.
struct Wire {
    markets: &'static str,
    balances: &'static str,
    tickers: &'static str,
    candles: &'static str,
    hour_candles: &'static str,
    /// A market buy for 50 in the quote currency.
    buy_by_cost: &'static [&'static str],
    coid: &'static str,
    quantity: &'static str,
    stop_limit: &'static [&'static str],
    stop_market: &'static [&'static str],
    /// The request(s) that look an order up after a lost answer.
    lookup: &'static [&'static str],
    wrong_secret: &'static str,
}

fn wire(d: Dialect) -> Wire {
    match d {
        Dialect::Binance => Wire {
            markets: "/api/v3/exchangeInfo",
            balances: "/api/v3/account",
            tickers: "/api/v3/ticker/24hr",
            candles: "/api/v3/klines",
            hour_candles: "interval=1h",
            buy_by_cost: &["type=MARKET", "quoteOrderQty=50"],
            coid: "newClientOrderId=",
            quantity: "quantity=",
            stop_limit: &["type=STOP_LOSS_LIMIT", "stopPrice=60000", "price=59000"],
            stop_market: &[],
            lookup: &["/api/v3/order"],
            wrong_secret: "not-the-secret",
        },
        // https://docs.kraken.com/api-reference/trading/add-order: viqc is volume in quote
        // currency; a stop-loss-limit's trigger is `price`, its limit `price2`.
        Dialect::Kraken => Wire {
            markets: "/0/public/AssetPairs",
            balances: "/0/private/BalanceEx",
            tickers: "/0/public/Ticker",
            candles: "/0/public/OHLC",
            hour_candles: "interval=60",
            buy_by_cost: &["ordertype=market", "oflags=viqc", "volume=50"],
            coid: "cl_ord_id=",
            quantity: "volume=",
            stop_limit: &["ordertype=stop-loss-limit", "price=60000", "price2=59000"],
            stop_market: &["ordertype=stop-loss", "price=60000"],
            lookup: &["/0/private/OpenOrders", "/0/private/ClosedOrders"],
            // Valid base64, as Kraken's secrets are, but not the fake's.
            wrong_secret: "b3RoZXItc2VjcmV0LW5vdC10aGUtZmFrZXM=",
        },
    }
}

fn options(fake: &FakeExchange, secret: &str) -> ExchangeOptions {
    let cfg = FakeConfig::of(fake.dialect());
    ExchangeOptions {
        id: fake.dialect().exchange_id().into(),
        allow_withdraw_keys: false,
        api_key: Secret::new(&cfg.api_key),
        secret: Secret::new(secret),
        password: Secret::default(),
        sandbox: true,
        base_url: Some(fake.base_url()),
        quote: cfg.pairs[0].quote.clone(),
        timeout: Duration::from_secs(1),
        rate_limit: false,
    }
}

fn policy(pairs: &[(&str, &str)]) -> Policy {
    let mut env: HashMap<String, String> = [
        ("CRYPTO_DRY_RUN", "false"),
        // The exchange cannot prove a sandbox: real orders need the explicit arm.
        ("CRYPTO_ALLOW_LIVE", "true"),
        ("ORDER_CONFIRMATION", "off"),
        ("DUPLICATE_WINDOW_SECONDS", "0"),
        ("MAX_DAILY_ORDERS", "off"),
        ("MAX_ORDER_VALUE", "off"),
        ("MAX_DAILY_VALUE", "off"),
        ("MAX_POSITION_VALUE", "off"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Policy::from_env(&env, CRYPTO_KEYS).unwrap()
}

struct Rig {
    fake: FakeExchange,
    broker: Arc<GuardedBroker>,
    dir: tempfile::TempDir,
    wire: Wire,
}

fn broker_on(fake: &FakeExchange, journal: &Path, pairs: &[(&str, &str)]) -> Arc<GuardedBroker> {
    let cfg = FakeConfig::of(fake.dialect());
    let journal = Journal::open(journal, CRYPTO_KEYS.journal_tz).unwrap();
    let symbols = journal.with_index(|i| i.symbols());
    let venue = connect_exchange(&options(fake, &cfg.secret), symbols).unwrap();
    Arc::new(GuardedBroker::new(
        Arc::new(venue) as Arc<dyn Venue>,
        policy(pairs),
        Arc::new(journal),
        Arc::new(SystemClock),
    ))
}

async fn rig(d: Dialect, pairs: &[(&str, &str)]) -> Rig {
    let fake = FakeExchange::start(FakeConfig::of(d), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let broker = broker_on(&fake, &dir.path().join("crypto.jsonl"), pairs);
    Rig { fake, broker, dir, wire: wire(d) }
}

impl Rig {
    /// The quote currency of the fake's pairs (USDT, USD).
    fn q(&self) -> String {
        self.pair("BTC").quote
    }
    fn sym(&self, base: &str) -> String {
        format!("{base}/{}", self.q())
    }
    fn pair(&self, base: &str) -> Pair {
        self.fake.pair(base).unwrap()
    }
    fn ask(&self, base: &str) -> Decimal {
        let p = self.pair(base);
        p.price + p.tick
    }
    fn fee_rate(&self) -> Decimal {
        FakeConfig::of(self.fake.dialect()).fees.rate
    }
    fn requests_to(&self, path: &str) -> Vec<exchange_fake::Seen> {
        self.fake.requests().into_iter().filter(|x| x.path == path).collect()
    }
    /// A new process on the same journal and exchange (the old one exits first).
    fn restart(self) -> Rig {
        let Rig { fake, broker, dir, wire } = self;
        drop(broker);
        let broker = broker_on(&fake, &dir.path().join("crypto.jsonl"), &[]);
        Rig { fake, broker, dir, wire }
    }
}

fn floor(v: Decimal, step: Decimal) -> Decimal {
    ((v / step).trunc() * step).normalize()
}

fn order(symbol: &str, side: Side, t: OrderType, size: Size, lmt: Option<&str>, stp: Option<&str>) -> OrderIntent {
    OrderIntent::Single(
        OrderRequest::new(OrderRequest {
            symbol: symbol.into(),
            side,
            order_type: t,
            size,
            limit_price: lmt.map(|p| Price(p.parse().unwrap())),
            stop_price: stp.map(|p| Price(p.parse().unwrap())),
            trail: None,
            tif: TimeInForce::Gtc,
        })
        .unwrap(),
    )
}

fn cash(v: &str) -> Size {
    Size::Cash(Money(v.parse().unwrap()))
}
fn qty(v: &str) -> Size {
    Size::Quantity(Qty(v.parse().unwrap()))
}

/// Each scenario, once per exchange.
macro_rules! on_both_exchanges {
    ($($name:ident),* $(,)?) => {
        mod binance {
            $( #[tokio::test] async fn $name() { super::$name(exchange_fake::Dialect::Binance).await } )*
        }
        mod kraken {
            $( #[tokio::test] async fn $name() { super::$name(exchange_fake::Dialect::Kraken).await } )*
        }
    };
}

on_both_exchanges!(
    quotes_balances_and_positions_in_the_quote_currency,
    a_bare_symbol_is_a_pair_and_a_cash_buy_goes_out_by_cost_with_the_journal_id,
    limits_are_cut_to_the_market_and_orders_are_found_after_a_restart,
    market_minimums_are_refused_before_anything_is_sent,
    exchange_refusals_map_to_clear_errors,
    a_lost_order_response_is_found_by_client_order_id_never_resent,
    an_unplaced_order_is_indeterminate_and_reconcile_looks_it_up,
    stops_follow_the_exchange_capabilities,
    preview_estimates_cost_and_fee_from_market_data,
    coins_held_by_an_open_sell_are_not_sellable_and_the_order_is_named,
    a_partial_fill_is_reported_and_the_rest_can_be_cancelled,
);

async fn quotes_balances_and_positions_in_the_quote_currency(d: Dialect) {
    let r = rig(d, &[]).await;
    let v = r.broker.venue();
    let btc = r.pair("BTC");
    let q = v.quote(&r.sym("BTC")).await.unwrap();
    assert_eq!(
        (q.last.unwrap().0, q.bid.unwrap().0, q.ask.unwrap().0),
        (btc.price, btc.price - btc.tick, r.ask("BTC"))
    );
    assert_eq!(q.currency, r.q());
    let qs = v.quotes(&[r.sym("ETH"), r.sym("NOPE"), r.sym("BTC")]).await.unwrap();
    assert_eq!(qs[0].last.unwrap().0, dec!(3200));
    assert!(qs[1].last.is_none() && qs[1].note.as_deref().unwrap().contains("not a spot market"));
    assert_eq!(qs[2].last.unwrap().0, dec!(65000));
    assert_eq!(r.requests_to(r.wire.markets).len(), 1, "markets load once: {:?}", r.fake.requests());
    let many = r.requests_to(r.wire.tickers).pop().unwrap();
    assert!(
        many.params.contains(&r.pair("ETH").id) && many.params.contains(&btc.id),
        "get_quotes is one tickers request: {many:?}"
    );

    let s = v.summary().await.unwrap();
    assert_eq!(s.currency, r.q());
    assert_eq!(s.available_funds.unwrap().0, dec!(10000));
    assert_eq!(s.net_liquidation.unwrap().0, dec!(13250), "10000 in the quote currency + 0.05 BTC at 65000");
    let p = v.positions().await.unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].symbol.clone(), p[0].quantity.0, p[0].market_value.unwrap().0),
        (r.sym("BTC"), dec!(0.05), dec!(3250))
    );
    assert_eq!(v.held_quantity(&r.sym("BTC")).await.unwrap(), dec!(0.05));
    let signed = r.requests_to(r.wire.balances);
    assert!(!signed.is_empty() && signed.iter().all(|x| x.signed), "balances are signed requests the fake verified");

    let bars = v.bars(&r.sym("BTC"), 30).await.unwrap();
    assert_eq!(bars.len(), 30);
    assert!(bars.windows(2).all(|w| w[0].time < w[1].time));
    assert_eq!(bars.last().unwrap().close.0, dec!(65000));
    // Intraday candles: the period's calendar hours at the exchange's timeframe.
    let req = trading_core::bars::HistoryRequest::new(
        trading_core::bars::BarSize::parse("1h").unwrap(),
        trading_core::bars::Period::parse("1d").unwrap(),
        false,
    )
    .unwrap();
    let hours = v.history(&r.sym("BTC"), &req).await.unwrap();
    assert_eq!(hours.len(), 24, "a day of hour candles around the clock");
    assert_eq!((hours[1].time - hours[0].time).num_minutes(), 60);
    let asked = r.requests_to(r.wire.candles).pop().unwrap();
    assert!(asked.params.contains(r.wire.hour_candles), "{}", asked.params);
    // A day of minute candles is 1,440 around the clock: refused, not cut to the latest 1,000.
    let minutes = trading_core::bars::HistoryRequest::new(
        trading_core::bars::BarSize::parse("1min").unwrap(),
        trading_core::bars::Period::parse("1d").unwrap(),
        false,
    )
    .unwrap();
    let e = v.history(&r.sym("BTC"), &minutes).await.unwrap_err();
    assert!(e.to_string().contains("period: 1d of 1min candles") && e.to_string().contains("1440"), "{e}");
    assert_eq!(r.requests_to(r.wire.candles).len(), 2, "nothing asked");
}

async fn a_bare_symbol_is_a_pair_and_a_cash_buy_goes_out_by_cost_with_the_journal_id(d: Dialect) {
    let r = rig(d, &[]).await;
    let res = r.broker.submit(order("btc", Side::Buy, OrderType::Market, cash("50"), None, None), None).await.unwrap();
    let o = &res[0];
    assert_eq!(o.symbol, r.sym("BTC"));
    assert_eq!(o.status, OrderStatus::Filled, "{o:?}");
    let posts = r.fake.order_posts();
    assert_eq!(posts.len(), 1);
    for part in r.wire.buy_by_cost {
        assert!(posts[0].contains(part), "{part} in {}", posts[0]);
    }
    let coid = o.client_order_id.clone().unwrap();
    assert!(
        posts[0].contains(&format!("{}{coid}", r.wire.coid)),
        "the journal's client order id goes out: {}",
        posts[0]
    );
    // 50 at the ask, cut to the pair's step.
    let bought = floor(dec!(50) / r.ask("BTC"), r.pair("BTC").step);
    assert_eq!(o.filled_quantity.unwrap().0, bought);
    // The fill shows in the trade history, its fee in the quote currency.
    let fills = r.broker.venue().fills().await.unwrap();
    assert_eq!(fills.len(), 1);
    assert_eq!(fills[0].quantity.0, bought);
    let value = bought * r.ask("BTC");
    let fee = (value * r.fee_rate()).round_dp(8);
    match d {
        // Binance takes the fee in what is bought: converted at the fill price.
        Dialect::Binance => {
            assert_eq!(r.fake.free("USDT"), dec!(10000) - value);
            assert_eq!(fills[0].commission.0, (bought * r.fee_rate() * r.ask("BTC")).round_dp(8));
        }
        Dialect::Kraken => {
            assert_eq!(r.fake.free("USD"), dec!(10000) - value - value * r.fee_rate());
            assert_eq!(fills[0].commission.0, fee);
        }
    }
}

async fn limits_are_cut_to_the_market_and_orders_are_found_after_a_restart(d: Dialect) {
    let r = rig(d, &[]).await;
    // The quantity is cut to the pair's step; 60000.005 rounds down for a buy.
    let res = r
        .broker
        .submit(order("BTC", Side::Buy, OrderType::Limit, qty("0.001234567891"), Some("60000.005"), None), None)
        .await
        .unwrap();
    let o = &res[0];
    assert_eq!(o.status, OrderStatus::Submitted, "{o:?}");
    let cut = floor(dec!(0.001234567891), r.pair("BTC").step);
    let post = r.fake.order_posts().pop().unwrap();
    assert!(
        post.contains(&format!("{}{cut}", r.wire.quantity))
            && post.contains("price=60000")
            && !post.contains("60000.005"),
        "{post}"
    );
    assert!(o.message.as_deref().unwrap().contains(&format!("quantity cut to {cut}")), "{:?}", o.message);
    let id = o.order_id.clone().unwrap();

    let open = r.broker.venue().open_orders().await.unwrap();
    assert_eq!(open.len(), 1);
    if d == BINANCE {
        // open_orders asks for every symbol (W-6: binance's warning is acknowledged).
        let req = r.requests_to("/api/v3/openOrders").pop().unwrap();
        assert!(!req.params.contains("symbol="), "{req:?}");
    }

    // A new process: the journal tells the order's symbol, so status and cancel work.
    let r = r.restart();
    let again = r.broker.clone();
    assert_eq!(again.order_status(&id, None).await.unwrap().status, OrderStatus::Submitted);
    let c = again.cancel(&id, None).await.unwrap();
    assert_eq!(c.status, OrderStatus::Cancelled, "{c:?}");
    assert_eq!(r.fake.free(&r.q()), dec!(10000), "cancel released the locked funds");
    // ...and for a closed order, which open orders can no longer tell.
    let filled = again.submit(order("ETH", Side::Buy, OrderType::Market, qty("0.01"), None, None), None).await.unwrap();
    let fid = filled[0].order_id.clone().unwrap();
    drop(again);
    let r = r.restart();
    let third = r.broker.clone();
    assert_eq!(third.order_status(&fid, None).await.unwrap().status, OrderStatus::Filled);
    let e = third.cancel(&fid, None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound, "{e:?}");
    // An order the journal never saw needs its symbol, and says so.
    let e = third.order_status("424242", None).await.unwrap_err();
    assert!(e.message.contains("pass symbol"), "{e:?}");
    let e = third.order_status("424242", Some("btc")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound, "{e:?}");
}

async fn market_minimums_are_refused_before_anything_is_sent(d: Dialect) {
    let r = rig(d, &[]).await;
    let btc = r.pair("BTC");
    // The smallest quantity at a low limit is worth less than the pair's minimum value.
    let e = r
        .broker
        .submit(order("BTC", Side::Buy, OrderType::Limit, qty(&btc.min_qty.to_string()), Some("5000"), None), None)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.message.contains("minimum order value") && e.message.contains("(limits.cost.min)"), "{e:?}");
    let half = (btc.min_notional / Decimal::TWO).to_string();
    let e =
        r.broker.submit(order("BTC", Side::Buy, OrderType::Market, cash(&half), None, None), None).await.unwrap_err();
    assert!(e.message.contains("limits.cost.min"), "{e:?}");
    let e = r
        .broker
        .submit(order("BTC", Side::Buy, OrderType::Market, qty("0.000000001"), None, None), None)
        .await
        .unwrap_err();
    assert!(e.message.contains("rounds to 0"), "{e:?}");
    if btc.min_qty > btc.step {
        // kraken's ordermin is above its step.
        let below = (btc.min_qty - btc.step).to_string();
        let e = r
            .broker
            .submit(order("BTC", Side::Buy, OrderType::Market, qty(&below), None, None), None)
            .await
            .unwrap_err();
        assert!(e.message.contains("minimum order size") && e.message.contains("limits.amount.min"), "{e:?}");
    }
    // The preview refuses the same orders, naming the minimum, and hands out no token.
    let e = r.broker.preview(order("BTC", Side::Buy, OrderType::Market, cash(&half), None, None)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.message.contains("minimum order value"), "{e:?}");
    assert!(r.fake.order_posts().is_empty(), "nothing reached the exchange");
}

async fn exchange_refusals_map_to_clear_errors(d: Dialect) {
    let r = rig(d, &[]).await;
    // Insufficient funds: the exchange's own refusal.
    let e =
        r.broker.submit(order("BTC", Side::Buy, OrderType::Market, cash("20000"), None, None), None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::VenueError);
    assert!(e.message.starts_with("insufficient funds") && e.message.to_lowercase().contains("insufficient"), "{e:?}");
    assert!(!e.retryable);
    // A refused order is journaled as rejected, so it frees the budget and blocks nothing.
    assert!(r.broker.journal().with_index(|i| i.unresolved()).is_empty());
    let e = r.broker.venue().quote(&r.sym("NOPE")).await.unwrap_err();
    assert!(e.to_string().contains(&format!("not a spot market on {}", d.exchange_id())), "{e}");
    // A rate limit is retryable and never turned into an order outcome.
    r.fake.fault(Faults { rate_limit_next: 1, ..Faults::default() });
    let e = r.broker.venue().quote(&r.sym("BTC")).await.unwrap_err();
    assert!(matches!(e, VenueError::Transport { retryable: true, .. }), "{e:?}");
    // A wrong secret: the signature fails and the message names the settings, not the secret.
    let bad = connect_exchange(&options(&r.fake, r.wire.wrong_secret), []).unwrap();
    let e = trading_core::ports::Account::summary(&bad).await.unwrap_err();
    assert!(matches!(e, VenueError::SessionExpired(_)), "{e:?}");
    assert!(e.to_string().contains("CRYPTO_API_KEY") && !e.to_string().contains(r.wire.wrong_secret), "{e}");
    // A slow exchange is a retryable network error and the instance keeps working after it.
    r.fake.fault(Faults { slow_next: 1, slow_ms: 1500, ..Faults::default() });
    let e = r.broker.venue().quote(&r.sym("ETH")).await.unwrap_err();
    assert!(e.to_string().contains("unreachable"), "{e}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(r.broker.venue().quote(&r.sym("ETH")).await.unwrap().last.unwrap().0, dec!(3200));
}

/// The shared unclear-post suite (test-support) through the fake exchange's faults.
impl UnclearRig for Rig {
    fn broker(&self) -> &GuardedBroker {
        &self.broker
    }
    fn order(&self) -> OrderIntent {
        order("BTC", Side::Buy, OrderType::Market, qty("0.001"), None, None)
    }
    fn land_and_lose_the_answer(&self) {
        self.fake.fault(Faults { lose_next_order_response: true, ..Faults::default() });
    }
    fn fail_without_landing(&self) {
        self.fake.fault(Faults { fail_order_posts: 1, ..Faults::default() });
    }
    fn order_posts(&self) -> usize {
        self.fake.order_posts().len()
    }
}

async fn a_lost_order_response_is_found_by_client_order_id_never_resent(d: Dialect) {
    let r = rig(d, &[]).await;
    let res = unclear_posts::a_landed_order_is_found_not_resent(&r).await;
    assert_eq!(res[0].status, OrderStatus::Filled);
    let coid = res[0].client_order_id.clone().unwrap();
    assert!(r.fake.order_by_client_id(&coid).is_some(), "the exchange has it under our id");
}

async fn an_unplaced_order_is_indeterminate_and_reconcile_looks_it_up(d: Dialect) {
    let r = rig(d, &[]).await;
    unclear_posts::a_lost_order_is_indeterminate_and_blocks_its_twin(&r).await;
    for path in r.wire.lookup {
        assert!(!r.requests_to(path).is_empty(), "looked up through {path}: {:?}", r.fake.requests());
    }
    if d == BINANCE {
        let lookups = r.requests_to("/api/v3/order");
        assert!(
            lookups.iter().any(|x| x.params.contains("origClientOrderId=") && x.params.contains("symbol=BTCUSDT")),
            "{lookups:?}"
        );
    }
}

async fn stops_follow_the_exchange_capabilities(d: Dialect) {
    let r = rig(d, &[]).await;
    let caps = r.broker.venue().capabilities();
    assert!(caps.stop_limits && !caps.trailing && !caps.brackets && !caps.shorting);
    let stop = r.broker.submit(order("BTC", Side::Sell, OrderType::Stop, qty("0.01"), None, Some("60000")), None).await;
    if r.wire.stop_market.is_empty() {
        // binance's ccxt class has no stop-market orders: refused, naming the capability.
        assert!(!caps.stops);
        let e = stop.unwrap_err();
        assert_eq!(e.code, ErrorCode::Unsupported);
        assert!(e.message.contains("stop orders"), "{e:?}");
    } else {
        // kraken's stop-loss: ccxt's stopLossPrice becomes the order's `price`.
        assert!(caps.stops);
        let res = stop.unwrap();
        assert_eq!((res[0].status, res[0].order_type), (OrderStatus::Submitted, Some(OrderType::Stop)), "{res:?}");
        assert_eq!(res[0].stop_price.unwrap().0, dec!(60000));
        let post = r.fake.order_posts().pop().unwrap();
        for part in r.wire.stop_market {
            assert!(post.contains(part), "{part} in {post}");
        }
    }
    let res = r
        .broker
        .submit(order("BTC", Side::Sell, OrderType::StopLimit, qty("0.01"), Some("59000"), Some("60000")), None)
        .await
        .unwrap();
    assert_eq!(res[0].status, OrderStatus::Submitted);
    assert_eq!(res[0].order_type, Some(OrderType::StopLimit));
    let post = r.fake.order_posts().pop().unwrap();
    for part in r.wire.stop_limit {
        assert!(post.contains(part), "{part} in {post}");
    }
    // The price falls through both triggers: each fills.
    r.fake.set_price("BTC", dec!(59500));
    let id = res[0].order_id.clone().unwrap();
    assert_eq!(r.broker.order_status(&id, None).await.unwrap().status, OrderStatus::Filled);
    assert!(r.broker.venue().open_orders().await.unwrap().is_empty());
}

async fn preview_estimates_cost_and_fee_from_market_data(d: Dialect) {
    let r = rig(d, &[]).await;
    let p = r.broker.preview(order("BTC", Side::Buy, OrderType::Market, qty("0.01"), None, None)).await.unwrap();
    let v = p.venue_preview.unwrap();
    let value = dec!(0.01) * r.ask("BTC");
    assert_eq!(v.estimated_price.unwrap().0, r.ask("BTC"));
    assert_eq!(v.estimated_value.unwrap().0, value);
    assert_eq!(v.commission.unwrap().0, value * r.fee_rate(), "the exchange's taker fee from its market");
    assert_eq!(v.cash_after.unwrap().0, dec!(10000) - value - value * r.fee_rate());
    let e = r.broker.preview(order("BTC", Side::Buy, OrderType::Market, cash("0.2"), None, None)).await.unwrap_err();
    assert!(e.message.contains("limits.cost.min"), "below the minimum: refused, no token: {e:?}");
    assert!(r.fake.order_posts().is_empty());
}

async fn coins_held_by_an_open_sell_are_not_sellable_and_the_order_is_named(d: Dialect) {
    let r = rig(d, &[]).await;
    // 0.03 of the 0.05 BTC rests in a limit sell far above the market: the exchange holds it.
    let resting = r
        .broker
        .submit(order("BTC", Side::Sell, OrderType::Limit, qty("0.03"), Some("90000"), None), None)
        .await
        .unwrap();
    let id = resting[0].order_id.clone().unwrap();
    assert_eq!(r.broker.venue().held_quantity(&r.sym("BTC")).await.unwrap(), dec!(0.02), "the free balance");
    let e =
        r.broker.submit(order("BTC", Side::Sell, OrderType::Market, qty("0.05"), None, None), None).await.unwrap_err();
    assert_eq!(e.rule, Some("naked_short"));
    assert!(e.message.contains(&id) && e.message.contains("0.03"), "{}", e.message);
    // close_position sells what is free and leaves the reserved part with its order.
    let c = r.broker.close_position("BTC", None).await.unwrap();
    assert!(c.closed, "{c:?}");
    assert_eq!(c.result.unwrap().quantity.unwrap().0, dec!(0.02));
    assert!(c.reason.unwrap().contains(&id));
    assert!(c.cancelled_first.is_empty());
    let open = r.broker.venue().open_orders().await.unwrap();
    assert!(open.iter().any(|o| o.order_id.as_deref() == Some(id.as_str())), "the resting sell still works");
}

async fn a_partial_fill_is_reported_and_the_rest_can_be_cancelled(d: Dialect) {
    let r = rig(d, &[]).await;
    r.fake.fault(Faults { partial_next: 1, ..Faults::default() });
    // A buy limit above the ask crosses the book: half fills at the ask, the rest rests.
    let res = r
        .broker
        .submit(order("BTC", Side::Buy, OrderType::Limit, qty("0.002"), Some("66000"), None), None)
        .await
        .unwrap();
    let o = &res[0];
    assert_eq!(o.status, OrderStatus::PartiallyFilled, "{o:?}");
    assert_eq!((o.quantity.unwrap().0, o.filled_quantity.unwrap().0), (dec!(0.002), dec!(0.001)));
    assert_eq!(o.avg_price.unwrap().0, r.ask("BTC"), "the filled half's price");
    let id = o.order_id.clone().unwrap();
    let open = r.broker.venue().open_orders().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].status, OrderStatus::PartiallyFilled);
    let c = r.broker.cancel(&id, None).await.unwrap();
    assert_eq!(c.status, OrderStatus::Cancelled, "{c:?}");
    let now = r.broker.order_status(&id, None).await.unwrap();
    assert_eq!(now.filled_quantity.unwrap().0, dec!(0.001), "the filled half stays filled: {now:?}");
    let fills = r.broker.venue().fills().await.unwrap();
    assert_eq!(fills.iter().map(|f| f.quantity.0).sum::<Decimal>(), dec!(0.001));
    assert_eq!(r.fake.locked(&r.q()), Decimal::ZERO, "the cancel released what the rest held");
}

#[test]
fn sandbox_without_a_testnet_never_trades() {
    // kraken has no spot testnet: sandbox with its own URLs sends no order; a base URL (a fake)
    // or live mode does. Building the client makes no request.
    let base = ExchangeOptions {
        id: "kraken".into(),
        allow_withdraw_keys: false,
        api_key: Secret::default(),
        secret: Secret::default(),
        password: Secret::default(),
        sandbox: true,
        base_url: None,
        quote: "USD".into(),
        timeout: Duration::from_secs(1),
        rate_limit: true,
    };
    let can = |o: &ExchangeOptions| connect_exchange(o, []).unwrap().client().can_trade;
    assert!(!can(&base));
    assert!(can(&ExchangeOptions { sandbox: false, ..base.clone() }));
    assert!(can(&ExchangeOptions { base_url: Some("http://127.0.0.1:9".into()), ..base.clone() }));
    assert!(can(&ExchangeOptions { id: "bybit".into(), ..base.clone() }), "bybit has a testnet");
    assert!(can(&ExchangeOptions { id: "binance".into(), ..base }));
}

// Binance-only behaviour: the guards are the venue's, dust and clock skew are binance's.

#[tokio::test]
async fn spot_guards_short_arm_and_per_venue_lists() {
    let r = rig(BINANCE, &[]).await;
    // Spot only: no short, and no arm allows one (IBKR's never applies here).
    let e = r.broker.submit(order("BTC", Side::Sell, OrderType::Market, qty("1"), None, None), None).await.unwrap_err();
    assert_eq!(e.rule, Some("naked_short"));
    assert!(e.message.contains("spot only"), "{e:?}");
    let shorty = rig(BINANCE, &[("TRADING_ALLOW_SHORT", "true")]).await;
    let e = shorty
        .broker
        .submit(order("BTC", Side::Sell, OrderType::Market, qty("1"), None, None), None)
        .await
        .unwrap_err();
    assert_eq!(e.rule, Some("naked_short"));
    // A deny of BTC blocks BTC/USDT; an IBKR list never applies here.
    let denied = rig(BINANCE, &[("CRYPTO_SYMBOL_DENYLIST", "BTC"), ("SYMBOL_ALLOWLIST", "AAPL")]).await;
    let e = denied
        .broker
        .submit(order("btc", Side::Buy, OrderType::Market, cash("10"), None, None), None)
        .await
        .unwrap_err();
    assert_eq!(e.setting, Some("CRYPTO_SYMBOL_DENYLIST"));
    denied.broker.submit(order("eth", Side::Buy, OrderType::Market, cash("10"), None, None), None).await.unwrap();
    // Sandbox is only a label: without CRYPTO_ALLOW_LIVE a real order is refused.
    let unarmed = rig(BINANCE, &[("CRYPTO_ALLOW_LIVE", "false")]).await;
    let e = unarmed
        .broker
        .submit(order("eth", Side::Buy, OrderType::Market, cash("10"), None, None), None)
        .await
        .unwrap_err();
    assert_eq!((e.rule, e.setting), (Some("unverified_identity"), Some("CRYPTO_ALLOW_LIVE")));
    // The value cap is in the quote currency and says so.
    let capped = rig(BINANCE, &[("MAX_ORDER_VALUE", "20")]).await;
    let e = capped
        .broker
        .submit(order("eth", Side::Buy, OrderType::Market, cash("50"), None, None), None)
        .await
        .unwrap_err();
    assert!(e.message.contains("20 USDT") && !e.message.contains("US$"), "{e:?}");
    for rig in [&r, &shorty, &denied, &unarmed, &capped] {
        assert!(rig.fake.order_posts().len() <= 1);
    }
}

#[tokio::test]
async fn dust_without_a_market_is_valued_at_zero_and_named() {
    let mut cfg = FakeConfig::default();
    cfg.balances.push(("LDBTC".into(), "0.4".into()));
    let fake = FakeExchange::start(cfg, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let broker = broker_on(&fake, &dir.path().join("crypto.jsonl"), &[]);
    let s = broker.venue().summary().await.unwrap();
    let nl = s.net_liquidation.expect("net liquidation survives an unpriced asset").0;
    assert_eq!(nl, dec!(10000) + dec!(0.05) * dec!(65000), "USDT plus BTC at last; LDBTC counts zero");
    assert!(s.notes.iter().any(|n| n.contains("LDBTC") && n.contains("zero")), "{:?}", s.notes);
}

#[tokio::test]
async fn a_clock_skew_rejection_is_a_clear_refusal_not_an_unknown() {
    let r = rig(BINANCE, &[]).await;
    r.fake.fault(Faults { clock_skew_order_posts: 1, ..Default::default() });
    let e =
        r.broker.submit(order("BTC", Side::Buy, OrderType::Market, cash("20"), None, None), None).await.unwrap_err();
    assert_ne!(e.code, ErrorCode::Indeterminate, "{e:?}");
    assert!(e.message.contains("clock"), "{}", e.message);
    assert!(r.broker.journal().with_index(|i| i.unresolved()).is_empty(), "binance never considered it");
}
