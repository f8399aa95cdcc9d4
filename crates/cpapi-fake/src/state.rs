//! The fake gateway's state: the session state machine, the quirks (accounts first, snapshot
//! warm-up, orders pre-flight, confirmation questions, expiring reply ids), pacing with a
//! penalty box, fault injection, and a recording of every request for contract tests.

use std::{
    collections::{BTreeMap, HashMap, HashSet, VecDeque},
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::Value;
use sim_venue::{Exchange, SimConfig};
use trading_core::ports::SystemClock;

/// The brokerage session, as the gateway reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Session {
    /// Never logged in, logged out, or the daily cap reached: everything is 401.
    NoSession,
    /// Logged in, but the brokerage session timed out: `/iserver/*` is 401 until ssodh/init.
    ReadOnly,
    /// Another platform took the username.
    Competing,
    Authenticated,
}

/// A confirmation question: IBKR's message id and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub id: String,
    pub text: String,
}

impl Question {
    pub fn new(id: &str, text: &str) -> Self {
        Self { id: id.into(), text: text.into() }
    }
}

/// Faults to inject; counters count down as they fire.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// The next N `/iserver` calls answer 401 (a session dropped mid-call).
    pub unauthorized_next: u32,
    /// The next N calls answer 500.
    pub server_error_next: u32,
    /// The next N order posts place the order and then answer 503.
    pub order_post_503_landed: u32,
    /// The next N order posts place the order and then answer 500.
    pub order_post_500_landed: u32,
    /// The next N order posts answer 503 without placing anything.
    pub order_post_503_lost: u32,
    /// Latency added to every answer.
    pub slow: Duration,
    /// The next N requests get their connection closed without an answer.
    pub drop_next: u32,
    /// Answer "Please query /accounts first" with 500 instead of 400 (as some users saw).
    pub accounts_first_as_500: bool,
    /// The next cancel is answered with a confirmation question first.
    pub cancel_question: bool,
    /// The next N order posts place the order and answer with an acknowledgement that has no
    /// order id (an answer a client cannot parse).
    pub garbled_ack_next: u32,
    /// After each `ssodh/init`, the next N auth status reads still say not authenticated
    /// (REC-C-RAW: `established:false` right after init).
    pub init_settles_after: u32,
}

/// One request as received, for contract tests.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// The path after `/v1/api`.
    pub path: String,
    pub query: String,
    pub body: Value,
    pub at: Instant,
}

#[derive(Clone, Debug)]
pub(crate) struct PendingReply {
    pub(crate) tickets: Vec<Value>,
    pub(crate) remaining: VecDeque<Question>,
    pub(crate) created: Instant,
    pub(crate) cancel_of: Option<String>,
}

/// Documented request limits (IBKR's, for the CP Gateway).
#[derive(Clone, Debug)]
pub struct Limits {
    pub global_per_second: usize,
    pub penalty: Duration,
    /// Minimum spacing per path (orders, trades, portfolio accounts: 5 s).
    pub spaced: Vec<(&'static str, Duration)>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            global_per_second: 10,
            penalty: Duration::from_secs(600),
            spaced: vec![
                ("/iserver/account/orders", Duration::from_secs(5)),
                ("/iserver/account/trades", Duration::from_secs(5)),
                ("/iserver/account/pnl/partitioned", Duration::from_secs(5)),
                ("/pa/performance", Duration::from_secs(900)),
                ("/pa/transactions", Duration::from_secs(900)),
                ("/portfolio/accounts", Duration::from_secs(5)),
                ("/iserver/scanner/run", Duration::from_secs(1)),
            ],
        }
    }
}

/// Everything the fake knows. Tests reach it through [`crate::FakeGateway::with`].
#[derive(Debug)]
pub struct State {
    pub session: Session,
    pub idle_timeout: Duration,
    pub(crate) last_seen: Instant,
    pub accounts: Vec<String>,
    pub selected: String,
    /// What `/iserver/accounts` says for `isPaper` (a bool, a string, 0/1, or null).
    pub is_paper: Value,
    pub(crate) accounts_queried: bool,
    pub(crate) subscribed: HashSet<i64>,
    /// Underlyings asked through `/iserver/secdef/search` (IBKR wants that before strikes).
    pub(crate) searched: HashSet<i64>,
    /// Option contracts handed out by `/iserver/secdef/info` (or [`State::option_position_row`]).
    pub(crate) option_conids: HashMap<i64, trading_core::options::OptionSymbol>,
    /// Whether the P&L stream has been asked for in this brokerage session (its first answer
    /// is empty).
    pub(crate) pnl_warm: bool,
    /// Conids with no market-data subscription (6509 = "N", no prices).
    pub no_market_data: HashSet<i64>,
    /// Conids that are halted (last carries the "H" prefix).
    pub halted: HashSet<i64>,
    pub exchange: Arc<Exchange>,
    pub(crate) conids: BTreeMap<String, i64>,
    /// Question chains for the next order posts, one chain per post.
    pub questions: VecDeque<Vec<Question>>,
    /// Ask IBKR's cash-quantity question (o10223) on cashQty orders when no chain is scripted.
    pub ask_cash_qty_question: bool,
    pub(crate) replies: HashMap<String, PendingReply>,
    pub reply_ttl: Duration,
    pub(crate) orders_preflight_done: bool,
    pub positions_page_size: usize,
    /// Serve one extra zero-quantity row in positions (IBKR's lag after a close).
    pub zero_position_row: bool,
    /// Ask IBKR's stop-order risk question `o10331` on STP and STOP_LIMIT tickets (ibind maps
    /// its STOP_ORDER_RISKS question to that id).
    pub ask_stop_question: bool,
    /// Position rows served after the simulator's stock rows, in IBKR's shapes (e.g. SPEC's
    /// example OPT and CRYPTO rows from [`crate::fixtures::spec_position_rows`]).
    pub extra_position_rows: Vec<Value>,
    /// Cash in other currencies than the account's (currency, amount): the ledger lists each
    /// with the simulator's rate to the base and counts it in `BASE`.
    pub extra_cash: Vec<(String, rust_decimal::Decimal)>,
    /// The books of the other accounts this login sees ([`State::add_account`]); orders go to
    /// `exchange` only.
    pub other_books: HashMap<String, Arc<Exchange>>,
    /// IBKR caches positions: once read, the same rows are served until
    /// `POST /portfolio/{acct}/positions/invalidate` (REF §5.3; the reason the endpoint exists).
    pub cache_positions: bool,
    pub(crate) positions_cache: Option<Vec<Value>>,
    /// Status reads left before a fresh `ssodh/init` session reports authenticated.
    pub(crate) settling: u32,
    pub faults: Faults,
    pub limits: Limits,
    pub enforce_limits: bool,
    pub(crate) recent: VecDeque<Instant>,
    pub(crate) last_by_path: HashMap<&'static str, Instant>,
    pub(crate) penalty_until: Option<Instant>,
    pub requests: Vec<Recorded>,
    pub server_version: String,
    /// Canned answers ("METHOD /path" → body) served instead of the simulated ones.
    pub replay: HashMap<String, Value>,
}

/// Well-known conids, so recorded fixtures and our answers agree.
const KNOWN_CONIDS: &[(&str, i64)] = &[
    ("AAPL", 265598),
    ("IBM", 8314),
    ("SPY", 756733),
    ("MSFT", 272093),
    ("NVDA", 4815747),
    ("KO", 8894),
    ("TSLA", 76792991),
    ("AMZN", 3691937),
    ("GOOGL", 208813719),
    ("META", 107113386),
    ("QQQ", 320227571),
];

impl State {
    pub fn new(sim: SimConfig, account: &str) -> Self {
        Self {
            session: Session::Authenticated,
            idle_timeout: Duration::from_secs(360),
            last_seen: Instant::now(),
            accounts: vec![account.to_string()],
            selected: account.to_string(),
            is_paper: Value::Bool(true),
            accounts_queried: false,
            subscribed: HashSet::new(),
            searched: HashSet::new(),
            option_conids: HashMap::new(),
            pnl_warm: false,
            no_market_data: HashSet::new(),
            halted: HashSet::new(),
            exchange: Arc::new(Exchange::new(sim, Arc::new(SystemClock))),
            conids: KNOWN_CONIDS.iter().map(|(s, c)| (s.to_string(), *c)).collect(),
            questions: VecDeque::new(),
            ask_cash_qty_question: true,
            replies: HashMap::new(),
            reply_ttl: Duration::from_secs(60),
            orders_preflight_done: false,
            positions_page_size: 100,
            zero_position_row: false,
            ask_stop_question: true,
            extra_position_rows: vec![],
            extra_cash: vec![],
            other_books: HashMap::new(),
            settling: 0,
            cache_positions: true,
            positions_cache: None,
            faults: Faults::default(),
            limits: Limits::default(),
            enforce_limits: true,
            recent: VecDeque::new(),
            last_by_path: HashMap::new(),
            penalty_until: None,
            requests: vec![],
            server_version: "Build 10.44.1d, Mar 3, 2026 1:55:32 PM (tradegate fake)".into(),
            replay: HashMap::new(),
        }
    }

    /// Another account of the same login, with its own simulated book.
    pub fn add_account(&mut self, account: &str, sim: SimConfig) -> Arc<Exchange> {
        let book = Arc::new(Exchange::new(sim, Arc::new(SystemClock)));
        self.accounts.push(account.to_string());
        self.other_books.insert(account.to_string(), book.clone());
        book
    }

    /// A position row holding `quantity` contracts of `option`, in IBKR's shape (SPEC positions
    /// example's OPT row), whose conid the fake then quotes with greeks.
    pub fn option_position_row(&mut self, option: &trading_core::options::OptionSymbol, quantity: i64) -> Value {
        let conid = sim_venue::options::contract_id(option);
        self.option_conids.insert(conid, option.clone());
        let spot = self.exchange.quote(&option.underlying).ok().and_then(|q| q.last).map(|p| p.0).unwrap_or_default();
        let q = sim_venue::options::quote(option, spot, self.exchange.now().date_naive());
        let px = q.last.map(|p| p.0).unwrap_or_default();
        let f = |d: rust_decimal::Decimal| rust_decimal::prelude::ToPrimitive::to_f64(&d).unwrap_or(0.0);
        serde_json::json!({
            "acctId": self.selected, "conid": conid,
            "contractDesc": format!("{} {} {} {} [{}]", option.underlying, option.expiry.format("%b%y").to_string().to_ascii_uppercase(), option.strike, option.right.letter(), option.underlying),
            "position": quantity, "mktPrice": f(px), "mktValue": f(px * rust_decimal::Decimal::from(quantity * 100)),
            "currency": "USD", "avgCost": f(px * rust_decimal::Decimal::ONE_HUNDRED), "avgPrice": f(px), "unrealizedPnl": 0.0,
            "assetClass": "OPT", "expiry": option.expiry.format("%Y%m%d").to_string(), "putOrCall": option.right.letter(),
            "multiplier": 100.0, "strike": option.strike.to_string(), "undSym": option.underlying, "ticker": option.underlying,
        })
    }

    /// The book of `account` (the main one unless it was added).
    pub fn book(&self, account: &str) -> Arc<Exchange> {
        self.other_books.get(account).cloned().unwrap_or_else(|| self.exchange.clone())
    }

    /// The conid of a US stock symbol: known ones, else a stable made-up id for plausible
    /// tickers (1–5 letters), else none.
    pub fn conid_of(&mut self, symbol: &str) -> Option<i64> {
        if let Some(c) = self.conids.get(symbol) {
            return Some(*c);
        }
        let plausible = (1..=5).contains(&symbol.len()) && symbol.chars().all(|c| c.is_ascii_uppercase());
        if !plausible {
            return None;
        }
        let c = 900_000 + symbol.bytes().fold(0i64, |h, b| (h * 31 + i64::from(b)) % 9_000_000);
        self.conids.insert(symbol.to_string(), c);
        Some(c)
    }

    pub fn symbol_of(&self, conid: i64) -> Option<String> {
        self.conids.iter().find(|(_, c)| **c == conid).map(|(s, _)| s.clone())
    }

    /// Requests recorded so far to `path` (after `/v1/api`), any method.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests.iter().filter(|r| r.path == path).cloned().collect()
    }

    /// Serves a recorded real response (see [`crate::fixtures::RECORDED`]) for its path.
    pub fn replay_recorded(&mut self, name: &str) -> bool {
        match crate::fixtures::recorded(name) {
            Some((method, path, body)) => {
                self.replay.insert(format!("{method} {path}"), body);
                true
            }
            None => false,
        }
    }

    /// Serves IBKR's OpenAPI example for `route` ("GET /iserver/exchangerate") verbatim.
    pub fn replay_spec(&mut self, route: &str) -> bool {
        match crate::fixtures::spec_example(route) {
            Some(body) => {
                self.replay.insert(route.to_string(), body);
                true
            }
            None => false,
        }
    }

    /// Simulates the user logging in at the gateway's page.
    pub fn log_in(&mut self) {
        self.session = Session::Authenticated;
        self.reset_brokerage_session();
    }

    pub(crate) fn reset_brokerage_session(&mut self) {
        self.accounts_queried = false;
        self.subscribed.clear();
        self.pnl_warm = false;
        self.orders_preflight_done = false;
        self.replies.clear();
        self.last_seen = Instant::now();
    }
}
