#![allow(clippy::unwrap_used)]
//! The ccxt adapter against the fake binance: every port, the error mapping, precision and
//! minimums, lost order responses, and order lookups after a restart.

use std::{collections::HashMap, path::Path, sync::Arc, time::Duration};

use crypto_venue::{
    connect_exchange,
    settings::{CRYPTO_KEYS, ExchangeOptions, Secret},
};
use exchange_fake::{FakeConfig, FakeExchange, Faults};
use rust_decimal_macros::dec;
use test_support::unclear_posts::{self, UnclearRig};
use trading_core::{
    broker::GuardedBroker,
    config::Policy,
    error::ErrorCode,
    journal::Journal,
    money::{Money, Price, Qty},
    order::{OrderIntent, OrderRequest, OrderStatus, OrderType, Side, Size, TimeInForce},
    ports::{SystemClock, Venue},
};

fn options(fake: &FakeExchange, secret: &str) -> ExchangeOptions {
    ExchangeOptions {
        id: "binance".into(),
        allow_withdraw_keys: false,
        api_key: Secret::new("dummykey"),
        secret: Secret::new(secret),
        password: Secret::default(),
        sandbox: true,
        base_url: Some(fake.base_url()),
        quote: "USDT".into(),
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
}

fn broker_on(fake: &FakeExchange, journal: &Path, pairs: &[(&str, &str)]) -> Arc<GuardedBroker> {
    let journal = Journal::open(journal, CRYPTO_KEYS.journal_tz).unwrap();
    let symbols = journal.with_index(|i| i.symbols());
    let venue = connect_exchange(&options(fake, "dummysecret"), symbols).unwrap();
    Arc::new(GuardedBroker::new(
        Arc::new(venue) as Arc<dyn Venue>,
        policy(pairs),
        Arc::new(journal),
        Arc::new(SystemClock),
    ))
}

async fn rig(pairs: &[(&str, &str)]) -> Rig {
    let fake = FakeExchange::start(FakeConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let broker = broker_on(&fake, &dir.path().join("crypto.jsonl"), pairs);
    Rig { fake, broker, dir }
}

impl Rig {
    fn posts(&self) -> Vec<String> {
        self.fake
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == "/api/v3/order")
            .map(|r| r.params)
            .collect()
    }
    /// A new process on the same journal and exchange (the old one exits first).
    fn restart(self) -> Rig {
        let Rig { fake, broker, dir } = self;
        drop(broker);
        let broker = broker_on(&fake, &dir.path().join("crypto.jsonl"), &[]);
        Rig { fake, broker, dir }
    }
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

#[tokio::test]
async fn quotes_balances_and_positions_in_the_quote_currency() {
    let r = rig(&[]).await;
    let v = r.broker.venue();
    let q = v.quote("BTC/USDT").await.unwrap();
    assert_eq!((q.last.unwrap().0, q.bid.unwrap().0, q.ask.unwrap().0), (dec!(65000), dec!(64999.99), dec!(65000.01)));
    assert_eq!(q.currency, "USDT");
    let qs = v.quotes(&["ETH/USDT".into(), "NOPE/USDT".into(), "BTC/USDT".into()]).await.unwrap();
    assert_eq!(qs[0].last.unwrap().0, dec!(3200));
    assert!(qs[1].last.is_none() && qs[1].note.as_deref().unwrap().contains("not a spot market"));
    assert_eq!(qs[2].last.unwrap().0, dec!(65000));
    let reqs = r.fake.requests();
    assert_eq!(reqs.iter().filter(|x| x.path == "/api/v3/exchangeInfo").count(), 1, "markets load once: {reqs:?}");
    assert!(reqs.iter().all(|x| !x.path.starts_with("/sapi") && !x.path.starts_with("/fapi")), "spot only: {reqs:?}");
    let many = reqs.iter().rfind(|x| x.path == "/api/v3/ticker/24hr").unwrap();
    assert!(many.params.contains("symbols="), "get_quotes is one tickers request: {many:?}");

    let s = v.summary().await.unwrap();
    assert_eq!(s.currency, "USDT");
    assert_eq!(s.available_funds.unwrap().0, dec!(10000));
    assert_eq!(s.net_liquidation.unwrap().0, dec!(13250), "10000 USDT + 0.05 BTC at 65000");
    let p = v.positions().await.unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].symbol.as_str(), p[0].quantity.0, p[0].market_value.unwrap().0),
        ("BTC/USDT", dec!(0.05), dec!(3250))
    );
    assert_eq!(v.held_quantity("BTC/USDT").await.unwrap(), dec!(0.05));
    let signed: Vec<_> = r.fake.requests().into_iter().filter(|x| x.path == "/api/v3/account").collect();
    assert!(signed.iter().all(|x| x.signed), "balances are signed requests the fake verified");

    let bars = v.bars("BTC/USDT", 30).await.unwrap();
    assert_eq!(bars.len(), 30);
    assert!(bars.windows(2).all(|w| w[0].time < w[1].time));
    assert_eq!(bars.last().unwrap().close.0, dec!(65000));
    // Intraday candles: the period's calendar hours at ccxt's timeframe.
    let req = trading_core::bars::HistoryRequest::new(
        trading_core::bars::BarSize::parse("1h").unwrap(),
        trading_core::bars::Period::parse("1d").unwrap(),
        false,
    )
    .unwrap();
    let hours = v.history("BTC/USDT", &req).await.unwrap();
    assert_eq!(hours.len(), 24, "a day of hour candles around the clock");
    assert_eq!((hours[1].time - hours[0].time).num_minutes(), 60);
    let asked = r.fake.requests().into_iter().rfind(|x| x.path == "/api/v3/klines").unwrap();
    assert!(asked.params.contains("interval=1h") && asked.params.contains("limit=24"), "{}", asked.params);
}

#[tokio::test]
async fn a_bare_symbol_is_a_pair_and_a_cash_buy_goes_out_by_cost_with_the_journal_id() {
    let r = rig(&[]).await;
    let res = r.broker.submit(order("btc", Side::Buy, OrderType::Market, cash("50"), None, None), None).await.unwrap();
    let o = &res[0];
    assert_eq!(o.symbol, "BTC/USDT");
    assert_eq!(o.status, OrderStatus::Filled);
    let posts = r.posts();
    assert_eq!(posts.len(), 1);
    assert!(posts[0].contains("type=MARKET") && posts[0].contains("quoteOrderQty=50"), "{}", posts[0]);
    let coid = o.client_order_id.clone().unwrap();
    assert!(
        posts[0].contains(&format!("newClientOrderId={coid}")),
        "the journal's client order id goes out: {}",
        posts[0]
    );
    // 50 USDT at the ask buys 0.00076 BTC (step 0.00001).
    assert_eq!(o.filled_quantity.unwrap().0, dec!(0.00076));
    assert_eq!(r.fake.free("USDT"), dec!(10000) - dec!(0.00076) * dec!(65000.01));
    // The fill shows in the trade history, its fee (paid in BTC) converted to USDT.
    let fills = r.broker.venue().fills().await.unwrap();
    assert_eq!(fills.len(), 1);
    assert_eq!(fills[0].quantity.0, dec!(0.00076));
    assert_eq!(fills[0].commission.0, (dec!(0.00000076) * dec!(65000.01)).round_dp(8));
}

#[tokio::test]
async fn limits_are_cut_to_the_market_and_orders_are_found_after_a_restart() {
    let r = rig(&[]).await;
    // 0.0012345 BTC is cut to the 0.00001 step; 60000.005 rounds down for a buy.
    let res = r
        .broker
        .submit(order("BTC/USDT", Side::Buy, OrderType::Limit, qty("0.0012345"), Some("60000.005"), None), None)
        .await
        .unwrap();
    let o = &res[0];
    assert_eq!(o.status, OrderStatus::Submitted);
    let post = r.posts().pop().unwrap();
    assert!(post.contains("quantity=0.00123") && post.contains("price=60000") && !post.contains("60000.005"), "{post}");
    assert!(o.message.as_deref().unwrap().contains("quantity cut to 0.00123"), "{:?}", o.message);
    let id = o.order_id.clone().unwrap();

    // open_orders asks for every symbol (W-6: binance's warning is acknowledged).
    let open = r.broker.venue().open_orders().await.unwrap();
    assert_eq!(open.len(), 1);
    let req = r.fake.requests().into_iter().rfind(|x| x.path == "/api/v3/openOrders").unwrap();
    assert!(!req.params.contains("symbol="), "{req:?}");

    // A new process: the journal tells the order's symbol, so status and cancel work.
    let r = r.restart();
    let again = r.broker.clone();
    assert_eq!(again.order_status(&id, None).await.unwrap().status, OrderStatus::Submitted);
    let c = again.cancel(&id, None).await.unwrap();
    assert_eq!(c.status, OrderStatus::Cancelled);
    assert_eq!(r.fake.free("USDT"), dec!(10000), "cancel released the locked funds");
    // ...and for a closed order, which open orders can no longer tell.
    let filled = again.submit(order("ETH", Side::Buy, OrderType::Market, qty("0.01"), None, None), None).await.unwrap();
    let fid = filled[0].order_id.clone().unwrap();
    drop(again);
    let r = r.restart();
    let third = r.broker.clone();
    assert_eq!(third.order_status(&fid, None).await.unwrap().status, OrderStatus::Filled);
    let e = third.cancel(&fid, None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    // An order the journal never saw needs its symbol, and says so.
    let e = third.order_status("424242", None).await.unwrap_err();
    assert!(e.message.contains("pass symbol"), "{e:?}");
    let e = third.order_status("424242", Some("btc")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn market_minimums_are_refused_before_anything_is_sent() {
    let r = rig(&[]).await;
    let e = r
        .broker
        .submit(order("BTC", Side::Buy, OrderType::Limit, qty("0.00005"), Some("50000"), None), None)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert_eq!(e.message, "order value 2.5 USDT is below BTC/USDT's minimum order value 5 USDT (limits.cost.min)");
    let e = r.broker.submit(order("BTC", Side::Buy, OrderType::Market, cash("3"), None, None), None).await.unwrap_err();
    assert!(e.message.contains("limits.cost.min"), "{e:?}");
    let e = r
        .broker
        .submit(order("BTC", Side::Buy, OrderType::Market, qty("0.000001"), None, None), None)
        .await
        .unwrap_err();
    assert!(e.message.contains("rounds to 0"), "{e:?}");
    // The preview refuses the same orders, naming the minimum, and hands out no token.
    let e = r.broker.preview(order("BTC", Side::Buy, OrderType::Market, cash("3"), None, None)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.message.contains("minimum order value 5 USDT"), "{e:?}");
    assert!(r.posts().is_empty(), "nothing reached the exchange");
}

#[tokio::test]
async fn exchange_refusals_map_to_clear_errors() {
    let r = rig(&[]).await;
    // Insufficient funds: binance's real -2010 message.
    let e =
        r.broker.submit(order("BTC", Side::Buy, OrderType::Market, cash("20000"), None, None), None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::VenueError);
    assert!(e.message.starts_with("insufficient funds") && e.message.contains("insufficient balance"), "{e:?}");
    assert!(!e.retryable);
    // A refused order is journaled as rejected, so it frees the budget and blocks nothing.
    assert!(r.broker.journal().with_index(|i| i.unresolved()).is_empty());
    // Unknown pair.
    let e = r.broker.venue().quote("NOPE/USDT").await.unwrap_err();
    assert!(e.to_string().contains("not a spot market on binance"), "{e}");
    // 429 is retryable and never turned into an order outcome.
    r.fake.fault(Faults { rate_limit_next: 1, ..Faults::default() });
    let e = r.broker.venue().quote("BTC/USDT").await.unwrap_err();
    assert!(matches!(e, trading_core::error::VenueError::Transport { retryable: true, .. }), "{e:?}");
    // A wrong secret: the signature fails and the message names the settings, not the secret.
    let bad = connect_exchange(&options(&r.fake, "not-the-secret"), []).unwrap();
    let e = trading_core::ports::Account::summary(&bad).await.unwrap_err();
    assert!(matches!(e, trading_core::error::VenueError::SessionExpired(_)), "{e:?}");
    assert!(e.to_string().contains("CRYPTO_API_KEY") && !e.to_string().contains("not-the-secret"), "{e}");
    // A slow exchange is a retryable network error and the instance keeps working after it.
    r.fake.fault(Faults { slow_next: 1, slow_ms: 1500, ..Faults::default() });
    let e = r.broker.venue().quote("ETH/USDT").await.unwrap_err();
    assert!(e.to_string().contains("unreachable"), "{e}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(r.broker.venue().quote("ETH/USDT").await.unwrap().last.unwrap().0, dec!(3200));
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
        self.posts().len()
    }
}

#[tokio::test]
async fn a_lost_order_response_is_found_by_client_order_id_never_resent() {
    let r = rig(&[]).await;
    let res = unclear_posts::a_landed_order_is_found_not_resent(&r).await;
    assert_eq!(res[0].status, OrderStatus::Filled);
    let coid = res[0].client_order_id.clone().unwrap();
    assert!(r.fake.order_by_client_id(&coid).is_some(), "the exchange has it under our id");
}

#[tokio::test]
async fn an_unplaced_order_is_indeterminate_and_reconcile_asks_by_id_and_symbol() {
    let r = rig(&[]).await;
    unclear_posts::a_lost_order_is_indeterminate_and_blocks_its_twin(&r).await;
    let lookups: Vec<_> =
        r.fake.requests().into_iter().filter(|x| x.method == "GET" && x.path == "/api/v3/order").collect();
    assert!(
        lookups.iter().any(|x| x.params.contains("origClientOrderId=") && x.params.contains("symbol=BTCUSDT")),
        "{lookups:?}"
    );
}

#[tokio::test]
async fn stops_follow_the_exchange_capabilities() {
    let r = rig(&[]).await;
    let caps = r.broker.venue().capabilities();
    assert!(!caps.stops && caps.stop_limits && !caps.trailing && !caps.brackets && !caps.shorting);
    // binance's ccxt class has no stop-market orders: refused, naming the capability.
    let e = r
        .broker
        .submit(order("BTC", Side::Sell, OrderType::Stop, qty("0.01"), None, Some("60000")), None)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Unsupported);
    assert!(e.message.contains("stop orders"), "{e:?}");
    // A stop-limit goes out as STOP_LOSS_LIMIT and fills when the price falls through.
    let res = r
        .broker
        .submit(order("BTC", Side::Sell, OrderType::StopLimit, qty("0.01"), Some("59000"), Some("60000")), None)
        .await
        .unwrap();
    assert_eq!(res[0].status, OrderStatus::Submitted);
    assert_eq!(res[0].order_type, Some(OrderType::StopLimit));
    let post = r.posts().pop().unwrap();
    assert!(
        post.contains("type=STOP_LOSS_LIMIT") && post.contains("stopPrice=60000") && post.contains("price=59000"),
        "{post}"
    );
    r.fake.set_price("BTCUSDT", dec!(59500));
    let id = res[0].order_id.clone().unwrap();
    assert_eq!(r.broker.order_status(&id, None).await.unwrap().status, OrderStatus::Filled);
}

#[tokio::test]
async fn spot_guards_short_arm_and_per_venue_lists() {
    let r = rig(&[]).await;
    // Spot only: no short, and no arm allows one (IBKR's never applies here).
    let e = r.broker.submit(order("BTC", Side::Sell, OrderType::Market, qty("1"), None, None), None).await.unwrap_err();
    assert_eq!(e.rule, Some("naked_short"));
    assert!(e.message.contains("spot only"), "{e:?}");
    let shorty = rig(&[("TRADING_ALLOW_SHORT", "true")]).await;
    let e = shorty
        .broker
        .submit(order("BTC", Side::Sell, OrderType::Market, qty("1"), None, None), None)
        .await
        .unwrap_err();
    assert_eq!(e.rule, Some("naked_short"));
    // A deny of BTC blocks BTC/USDT; an IBKR list never applies here.
    let denied = rig(&[("CRYPTO_SYMBOL_DENYLIST", "BTC"), ("SYMBOL_ALLOWLIST", "AAPL")]).await;
    let e = denied
        .broker
        .submit(order("btc", Side::Buy, OrderType::Market, cash("10"), None, None), None)
        .await
        .unwrap_err();
    assert_eq!(e.setting, Some("CRYPTO_SYMBOL_DENYLIST"));
    denied.broker.submit(order("eth", Side::Buy, OrderType::Market, cash("10"), None, None), None).await.unwrap();
    // Sandbox is only a label: without CRYPTO_ALLOW_LIVE a real order is refused.
    let unarmed = rig(&[("CRYPTO_ALLOW_LIVE", "false")]).await;
    let e = unarmed
        .broker
        .submit(order("eth", Side::Buy, OrderType::Market, cash("10"), None, None), None)
        .await
        .unwrap_err();
    assert_eq!((e.rule, e.setting), (Some("unverified_identity"), Some("CRYPTO_ALLOW_LIVE")));
    // The value cap is in the quote currency and says so.
    let capped = rig(&[("MAX_ORDER_VALUE", "20")]).await;
    let e = capped
        .broker
        .submit(order("eth", Side::Buy, OrderType::Market, cash("50"), None, None), None)
        .await
        .unwrap_err();
    assert!(e.message.contains("20 USDT") && !e.message.contains("US$"), "{e:?}");
    for rig in [&r, &shorty, &denied, &unarmed, &capped] {
        assert!(rig.posts().len() <= 1);
    }
}

#[tokio::test]
async fn preview_estimates_cost_and_fee_from_market_data() {
    let r = rig(&[]).await;
    let p = r.broker.preview(order("BTC", Side::Buy, OrderType::Market, qty("0.01"), None, None)).await.unwrap();
    let v = p.venue_preview.unwrap();
    assert_eq!(v.estimated_price.unwrap().0, dec!(65000.01));
    assert_eq!(v.estimated_value.unwrap().0, dec!(650.0001));
    assert_eq!(v.commission.unwrap().0, dec!(0.6500001), "binance's taker fee (0.1%) from the market");
    assert_eq!(v.cash_after.unwrap().0, dec!(10000) - dec!(650.0001) - dec!(0.6500001));
    let e = r.broker.preview(order("BTC", Side::Buy, OrderType::Market, cash("2"), None, None)).await.unwrap_err();
    assert!(e.message.contains("limits.cost.min"), "below the minimum: refused, no token: {e:?}");
    assert!(r.posts().is_empty());
}

#[tokio::test]
async fn coins_held_by_an_open_sell_are_not_sellable_and_the_order_is_named() {
    let r = rig(&[]).await;
    // 0.03 of the 0.05 BTC rests in a limit sell far above the market: binance reserves it.
    let resting = r
        .broker
        .submit(order("BTC", Side::Sell, OrderType::Limit, qty("0.03"), Some("90000"), None), None)
        .await
        .unwrap();
    let id = resting[0].order_id.clone().unwrap();
    assert_eq!(r.broker.venue().held_quantity("BTC/USDT").await.unwrap(), dec!(0.02), "the free balance");
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
    let r = rig(&[]).await;
    r.fake.fault(Faults { clock_skew_order_posts: 1, ..Default::default() });
    let e =
        r.broker.submit(order("BTC", Side::Buy, OrderType::Market, cash("20"), None, None), None).await.unwrap_err();
    assert_ne!(e.code, ErrorCode::Indeterminate, "{e:?}");
    assert!(e.message.contains("clock"), "{}", e.message);
    assert!(r.broker.journal().with_index(|i| i.unresolved()).is_empty(), "binance never considered it");
}
