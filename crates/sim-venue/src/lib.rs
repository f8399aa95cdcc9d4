//! A deterministic offline market implementing tradegate's ports: seeded price paths, a
//! bid/ask spread, immediate fills for marketable orders, resting limit, stop, stop-limit and
//! trailing orders that fill as the price moves, brackets as OCA groups, fractional sizes,
//! buy by cash amount, and cash and positions that add up. A paper account by definition.
//!
//! [`Exchange`] is the market itself (it takes any well-formed order, like a real exchange);
//! [`SimVenue`] is the venue adapter in front of it, whose order entry takes only
//! guard-approved orders. The fake IBKR gateway serves the same exchange over CPAPI.
#![forbid(unsafe_code)]

mod exchange;
mod intraday;
mod market;
pub mod options;
mod research;

use std::{collections::HashMap, sync::Arc};

use async_trait::async_trait;
use rust_decimal::Decimal;
use trading_core::{
    account::{
        AccountIdentity, AccountSummary, Bar, Capabilities, ContractMatch, MarketHoursModel, Position, Quote,
        ScanRequest, ScanRow,
    },
    bars::HistoryRequest,
    error::VenueError,
    guard::Approved,
    money::Price,
    options::{ChainRequest, OptionChain, OptionQuote, OptionSymbol, Right},
    order::{BracketRequest, Fill, OrderRequest, OrderResult},
    performance::{PerfPeriod, Performance},
    ports::{Account, BracketIds, Broker, Clock, MarketData, VenuePreview},
};

pub use exchange::{Exchange, commission};
pub use market::{DailyBar, FAMILIAR, FX_TO_USD, Market, NAMES, SECTORS, Tick, fx_rate, name_of, sector_of};
pub use research::{SIM_SCANS, nyse_schedule};

/// What the simulator starts from: seed, cash, prices, market hours and the profile (a stock
/// broker, or a spot exchange in one quote currency).
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    pub starting_cash: Decimal,
    /// Starting prices that override the built-in ones and add symbols to the universe.
    pub prices: HashMap<String, Decimal>,
    pub market_hours: MarketHoursModel,
    pub account_id: String,
    /// Fill half of each order first and the rest a step later (to exercise partial fills).
    pub partial_fills: bool,
    pub profile: SimProfile,
    /// Pose as a LIVE (real-money) account, so the live lock can be tried offline.
    pub live: bool,
}

/// What kind of market the simulator plays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimProfile {
    /// A US stock broker: USD, every order form, shorting, stock research.
    Stocks,
    /// A spot crypto exchange: `BASE/QUOTE` pairs priced in `quote`, no shorting, no
    /// trailing stops or brackets, no stock research.
    Spot { quote: String },
}

impl SimProfile {
    pub fn currency(&self) -> &str {
        match self {
            SimProfile::Stocks => "USD",
            SimProfile::Spot { quote } => quote,
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            starting_cash: Decimal::from(100_000),
            prices: HashMap::new(),
            market_hours: MarketHoursModel::AlwaysOpen,
            account_id: "DUSIM0001".into(),
            partial_fills: false,
            profile: SimProfile::Stocks,
            live: false,
        }
    }
}

/// The simulator as a venue: the ports over an [`Exchange`].
#[derive(Debug, Clone)]
pub struct SimVenue {
    exchange: Arc<Exchange>,
}

impl SimVenue {
    fn unsupported_on_spot(&self, capability: &'static str) -> Result<(), VenueError> {
        match self.exchange.config().profile {
            SimProfile::Stocks => Ok(()),
            SimProfile::Spot { .. } => Err(VenueError::Unsupported { venue: self.name(), capability }),
        }
    }

    pub fn new(cfg: SimConfig, clock: Arc<dyn Clock>) -> Self {
        Self { exchange: Arc::new(Exchange::new(cfg, clock)) }
    }

    /// The exchange behind this venue (tests move its market).
    pub fn exchange(&self) -> &Arc<Exchange> {
        &self.exchange
    }

    /// Moves the market `n` steps, filling whatever resting orders the moves reach.
    pub fn advance(&self, n: u64) {
        self.exchange.advance(n);
    }
}

#[async_trait]
impl MarketData for SimVenue {
    async fn quote(&self, symbol: &str) -> Result<Quote, VenueError> {
        self.exchange.quote(symbol)
    }
    async fn quotes(&self, symbols: &[String]) -> Result<Vec<Quote>, VenueError> {
        self.exchange.quotes(symbols)
    }
    async fn bars(&self, symbol: &str, days: u32) -> Result<Vec<Bar>, VenueError> {
        match self.exchange.unknown(symbol) {
            Some(e) => Err(e),
            None => Ok(self.exchange.bars(symbol, days)),
        }
    }
    async fn history(&self, symbol: &str, request: &HistoryRequest) -> Result<Vec<Bar>, VenueError> {
        match self.exchange.unknown(symbol) {
            Some(e) => Err(e),
            None => Ok(self.exchange.history(symbol, request)),
        }
    }
    async fn option_chain(&self, request: &ChainRequest) -> Result<OptionChain, VenueError> {
        self.unsupported_on_spot("option chains")?;
        let sym = &request.underlying;
        if let Some(e) = self.exchange.unknown(sym) {
            return Err(e);
        }
        let q = self.exchange.quote(sym)?;
        let spot = q.last.map(|p| p.0).unwrap_or_default();
        let today = self.exchange.now().date_naive();
        let listed = options::expirations(today);
        let expiry = match request.expiry {
            Some(e) if listed.contains(&e) => e,
            Some(e) => {
                return Err(VenueError::NotFound(format!(
                    "no {sym} options expire on {e}; listed: {}",
                    listed.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
                )));
            }
            None => listed.first().copied().unwrap_or(today),
        };
        let strikes =
            trading_core::options::strikes_around(&options::strikes(spot), spot, request.strikes_around_money);
        let rights: &[Right] = match request.right {
            Some(Right::Call) => &[Right::Call],
            Some(Right::Put) => &[Right::Put],
            None => &[Right::Call, Right::Put],
        };
        let contracts = strikes
            .iter()
            .flat_map(|k| {
                rights.iter().map(move |r| OptionSymbol { underlying: sym.clone(), expiry, strike: *k, right: *r })
            })
            .map(|o| options::quote(&o, spot, today))
            .collect();
        Ok(OptionChain {
            underlying: sym.clone(),
            underlying_price: q.last,
            expiry,
            expirations: listed.iter().map(|d| d.to_string()).collect(),
            contracts,
            notes: vec!["simulated: Black-Scholes prices at a fixed volatility per symbol".into()],
        })
    }
    async fn option_quote(&self, option: &OptionSymbol, _contract_id: Option<&str>) -> Result<OptionQuote, VenueError> {
        self.unsupported_on_spot("option quotes")?;
        if let Some(e) = self.exchange.unknown(&option.underlying) {
            return Err(e);
        }
        let today = self.exchange.now().date_naive();
        if option.expiry < today {
            return Err(VenueError::NotFound(format!("{option} has expired")));
        }
        let spot = self.exchange.quote(&option.underlying)?.last.map(|p| p.0).unwrap_or_default();
        Ok(options::quote(option, spot, today))
    }
    async fn fx_rate(&self, from: &str, to: &str) -> Result<Price, VenueError> {
        self.unsupported_on_spot("exchange rates")?;
        self.exchange.fx_rate(from, to)
    }
    async fn sector(&self, symbol: &str) -> Result<Option<String>, VenueError> {
        if self.unsupported_on_spot("sectors").is_err() {
            return Ok(None);
        }
        Ok(sector_of(symbol).map(str::to_string))
    }
    async fn run_scanner(&self, request: &ScanRequest) -> Result<Vec<ScanRow>, VenueError> {
        self.unsupported_on_spot("market scanners")?;
        self.exchange.run_scanner(request)
    }
    async fn search_contracts(&self, query: &str) -> Result<Vec<ContractMatch>, VenueError> {
        self.unsupported_on_spot("contract search")?;
        Ok(self.exchange.search_contracts(query))
    }
    async fn contract_details(&self, symbol: &str) -> Result<serde_json::Value, VenueError> {
        self.unsupported_on_spot("contract details")?;
        Ok(self.exchange.contract_details(symbol))
    }
    async fn trading_schedule(&self, symbol: &str) -> Result<serde_json::Value, VenueError> {
        self.unsupported_on_spot("trading schedules (crypto trades around the clock)")?;
        nyse_schedule(symbol, 7)
    }
}

#[async_trait]
impl Account for SimVenue {
    async fn identity(&self) -> Result<AccountIdentity, VenueError> {
        self.exchange.identity()
    }
    async fn summary(&self) -> Result<AccountSummary, VenueError> {
        self.exchange.summary()
    }
    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        self.exchange.positions()
    }
    async fn held_quantity(&self, symbol: &str) -> Result<Decimal, VenueError> {
        self.exchange.held_quantity(symbol)
    }
    /// From the NAV at each past close of this run (fills replayed from the starting cash).
    async fn performance(&self, period: PerfPeriod) -> Result<Performance, VenueError> {
        let today = self.exchange.now().date_naive();
        let span = (today - period.start(today)).num_days();
        let days = u32::try_from(span * 5 / 7 + 5).unwrap_or(300);
        let series = self.exchange.nav_history(days);
        let s = self.exchange.summary()?;
        let mut p = trading_core::performance::from_nav(&s.account_id, &s.currency, period, today, &series);
        p.notes.push("the simulator's history: this run's trades valued at its simulated closes".into());
        Ok(p)
    }
    async fn transactions(
        &self,
        symbol: &str,
        days: u32,
    ) -> Result<trading_core::performance::Transactions, VenueError> {
        if let Some(e) = self.exchange.unknown(symbol) {
            return Err(e);
        }
        Ok(self.exchange.transactions(symbol, days))
    }
    async fn daily_pnl(&self) -> Result<trading_core::account::DailyPnl, VenueError> {
        self.exchange.daily_pnl()
    }
    /// One currency, the simulator's own (its base).
    async fn cash_balances(&self) -> Result<trading_core::account::CashBalances, VenueError> {
        let s = self.exchange.summary()?;
        let cash = s.cash.unwrap_or(trading_core::money::Money(Decimal::ZERO));
        Ok(trading_core::account::CashBalances {
            account_id: s.account_id,
            base_currency: s.currency.clone(),
            balances: vec![trading_core::account::CashBalance {
                currency: s.currency,
                cash,
                settled_cash: Some(cash),
                exchange_rate: Some(trading_core::money::Price(Decimal::ONE)),
                cash_in_base: Some(cash),
            }],
            total_in_base: Some(cash),
        })
    }
}

#[async_trait]
impl Broker for SimVenue {
    fn name(&self) -> String {
        match self.exchange.config().profile {
            SimProfile::Stocks => "IBKR (simulator)".into(),
            SimProfile::Spot { .. } => "crypto (simulator)".into(),
        }
    }
    fn capabilities(&self) -> Capabilities {
        self.exchange.capabilities()
    }
    async fn place(&self, order: &Approved<OrderRequest>, client_order_id: &str) -> Result<OrderResult, VenueError> {
        self.exchange.place(order.get(), client_order_id)
    }
    async fn place_bracket(
        &self,
        order: &Approved<BracketRequest>,
        ids: &BracketIds,
    ) -> Result<Vec<OrderResult>, VenueError> {
        self.exchange.place_bracket(order.get(), ids)
    }
    async fn preview(&self, order: &OrderRequest) -> Result<VenuePreview, VenueError> {
        self.exchange.preview(order)
    }
    async fn modify(
        &self,
        order_id: &str,
        order: &Approved<OrderRequest>,
        _parent: Option<&str>,
    ) -> Result<OrderResult, VenueError> {
        self.exchange.modify(order_id, order.get())
    }
    async fn order_status(&self, order_id: &str, _symbol: Option<&str>) -> Result<OrderResult, VenueError> {
        self.exchange.order_status(order_id)
    }
    async fn cancel(&self, order_id: &str, _symbol: Option<&str>) -> Result<OrderResult, VenueError> {
        self.exchange.cancel(order_id)
    }
    async fn open_orders(&self) -> Result<Vec<OrderResult>, VenueError> {
        self.exchange.open_orders()
    }
    async fn fills(&self) -> Result<Vec<Fill>, VenueError> {
        self.exchange.fills()
    }
    async fn find_by_client_order_id(
        &self,
        client_order_id: &str,
        _symbol: Option<&str>,
    ) -> Result<Option<OrderResult>, VenueError> {
        self.exchange.find_by_client_order_id(client_order_id)
    }
    async fn session(&self) -> Result<serde_json::Value, VenueError> {
        self.exchange.session()
    }
}
