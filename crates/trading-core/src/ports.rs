//! The ports every venue implements. The guard and the MCP surface speak only these.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::{
    account::{
        AccountIdentity, AccountSummary, Bar, Capabilities, ContractMatch, Position, Quote, ScanRequest, ScanRow,
    },
    bars::HistoryRequest,
    error::VenueError,
    guard::Approved,
    money::{Money, Price, Qty},
    order::{BracketRequest, Fill, OrderRequest, OrderResult},
};

/// The time source. Nothing in the core reads the wall clock except [`SystemClock`].
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock; tests pass a fixed one so every rule that reads the time is repeatable.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Market data: quotes, daily bars, scanners and contract lookups; what a venue cannot serve
/// answers `Unsupported` by default.
#[async_trait]
pub trait MarketData: Send + Sync {
    async fn quote(&self, symbol: &str) -> Result<Quote, VenueError>;
    /// Quotes for many symbols in as few venue calls as the venue allows; unknown symbols are
    /// returned with a `note` rather than dropped.
    async fn quotes(&self, symbols: &[String]) -> Result<Vec<Quote>, VenueError>;
    /// The last `days` daily bars, oldest first (today's bar last when the venue has one).
    async fn bars(&self, symbol: &str, days: u32) -> Result<Vec<Bar>, VenueError> {
        let _ = (symbol, days);
        Err(VenueError::Unsupported { venue: "this venue".into(), capability: "price history" })
    }
    /// Bars of `request`'s size over its period, oldest first. By default day bars come from
    /// [`MarketData::bars`], week and month bars are merged from them, and intraday bars are
    /// unsupported.
    async fn history(&self, symbol: &str, request: &HistoryRequest) -> Result<Vec<Bar>, VenueError> {
        if request.bar.is_intraday() {
            return Err(VenueError::Unsupported { venue: "this venue".into(), capability: "intraday bars" });
        }
        let days = u32::try_from(request.period.trading_days()).unwrap_or(u32::MAX);
        Ok(crate::bars::from_daily(self.bars(symbol, days).await?, request.bar))
    }
    /// Runs one of the venue's market scanners (IBKR's; others answer Unsupported).
    async fn run_scanner(&self, request: &ScanRequest) -> Result<Vec<ScanRow>, VenueError> {
        let _ = request;
        Err(VenueError::Unsupported { venue: "this venue".into(), capability: "market scanners" })
    }
    /// Finds contracts by symbol or name.
    async fn search_contracts(&self, query: &str) -> Result<Vec<ContractMatch>, VenueError> {
        let _ = query;
        Err(VenueError::Unsupported { venue: "this venue".into(), capability: "contract search" })
    }
    /// What the venue knows about one instrument.
    async fn contract_details(&self, symbol: &str) -> Result<serde_json::Value, VenueError> {
        let _ = symbol;
        Err(VenueError::Unsupported { venue: "this venue".into(), capability: "contract details" })
    }
    /// Upcoming trading sessions of an instrument.
    async fn trading_schedule(&self, symbol: &str) -> Result<serde_json::Value, VenueError> {
        let _ = symbol;
        Err(VenueError::Unsupported { venue: "this venue".into(), capability: "trading schedules" })
    }
    /// An option chain of `request.underlying`: expirations, and for one expiry the strikes
    /// around the money with prices and greeks.
    async fn option_chain(
        &self,
        request: &crate::options::ChainRequest,
    ) -> Result<crate::options::OptionChain, VenueError> {
        let _ = request;
        Err(VenueError::Unsupported { venue: "this venue".into(), capability: "option chains" })
    }
    /// Price and greeks of one option (`contract_id` when already known, e.g. from a position).
    async fn option_quote(
        &self,
        option: &crate::options::OptionSymbol,
        contract_id: Option<&str>,
    ) -> Result<crate::options::OptionQuote, VenueError> {
        let _ = (option, contract_id);
        Err(VenueError::Unsupported { venue: "this venue".into(), capability: "option quotes" })
    }
    /// A quote of the contract the venue knows by `contract_id` (IBKR's conid): a stock's
    /// quote, or an option's with greeks.
    async fn quote_contract(&self, contract_id: &str) -> Result<serde_json::Value, VenueError> {
        let _ = contract_id;
        Err(VenueError::Unsupported { venue: "this venue".into(), capability: "quotes by contract id" })
    }
    /// Several options at once (positions' greeks), each answered or failed on its own; venues
    /// that can batch override this.
    async fn option_quotes(
        &self,
        options: &[(crate::options::OptionSymbol, Option<String>)],
    ) -> Vec<Result<crate::options::OptionQuote, VenueError>> {
        let mut out = Vec::with_capacity(options.len());
        for (o, id) in options {
            out.push(self.option_quote(o, id.as_deref()).await);
        }
        out
    }
    /// Units of `to` one unit of `from` buys (`fx_rate("USD", "EUR")` ≈ 0.9).
    async fn fx_rate(&self, from: &str, to: &str) -> Result<Price, VenueError> {
        if from.eq_ignore_ascii_case(to) {
            return Ok(Price(Decimal::ONE));
        }
        Err(VenueError::Unsupported { venue: "this venue".into(), capability: "exchange rates" })
    }
    /// The instrument's sector or industry, when the venue knows it.
    async fn sector(&self, symbol: &str) -> Result<Option<String>, VenueError> {
        let _ = symbol;
        Ok(None)
    }
}

/// Balances, holdings and who we are.
#[async_trait]
pub trait Account: Send + Sync {
    async fn identity(&self) -> Result<AccountIdentity, VenueError>;
    async fn summary(&self) -> Result<AccountSummary, VenueError>;
    async fn positions(&self) -> Result<Vec<Position>, VenueError>;
    /// The signed quantity held in `symbol`, read fresh (exits are sized from it).
    async fn held_quantity(&self, symbol: &str) -> Result<Decimal, VenueError>;
    /// Every account the login sees. By default the one this venue trades.
    async fn accounts(&self) -> Result<Vec<crate::account::AccountInfo>, VenueError> {
        let id = self.identity().await?;
        let summary = self.summary().await?;
        Ok(vec![crate::account::AccountInfo {
            account_id: id.account_id.unwrap_or(summary.account_id),
            name: None,
            currency: Some(summary.currency),
            kind: None,
            is_paper: id.is_paper,
            trading: true,
        }])
    }
    /// Balances of another account the login sees (read-only). By default only this venue's own.
    async fn summary_of(&self, account: &str) -> Result<AccountSummary, VenueError> {
        known_account(self, account).await?;
        self.summary().await
    }
    /// Holdings of another account the login sees (read-only).
    async fn positions_of(&self, account: &str) -> Result<Vec<Position>, VenueError> {
        known_account(self, account).await?;
        self.positions().await
    }
    /// Cash by currency of another account the login sees (read-only).
    async fn cash_balances_of(&self, account: &str) -> Result<crate::account::CashBalances, VenueError> {
        known_account(self, account).await?;
        self.cash_balances().await
    }
    /// Returns and NAV over one of IBKR's Portfolio Analyst periods.
    async fn performance(
        &self,
        period: crate::performance::PerfPeriod,
    ) -> Result<crate::performance::Performance, VenueError> {
        let _ = period;
        Err(VenueError::Unsupported { venue: "this venue".into(), capability: "account performance" })
    }
    /// Buys, sells and dividends in `symbol` over the last `days` days, and the P&L they
    /// realized.
    async fn transactions(&self, symbol: &str, days: u32) -> Result<crate::performance::Transactions, VenueError> {
        let _ = (symbol, days);
        Err(VenueError::Unsupported { venue: "this venue".into(), capability: "transaction history" })
    }
    /// Today's P&L of the account.
    async fn daily_pnl(&self) -> Result<crate::account::DailyPnl, VenueError> {
        Err(VenueError::Unsupported { venue: "this venue".into(), capability: "daily P&L" })
    }
    /// Cash in each currency and the total in the base currency.
    async fn cash_balances(&self) -> Result<crate::account::CashBalances, VenueError> {
        Err(VenueError::Unsupported { venue: "this venue".into(), capability: "cash balances by currency" })
    }
}

/// Fails unless `venue`'s login sees `account`, naming the accounts it does see.
pub async fn known_account<A: Account + ?Sized>(venue: &A, account: &str) -> Result<(), VenueError> {
    let known = venue.accounts().await?;
    if known.iter().any(|a| a.account_id == account) {
        return Ok(());
    }
    Err(VenueError::NotFound(format!(
        "account {account} is not one this login sees ({})",
        known.iter().map(|a| a.account_id.as_str()).collect::<Vec<_>>().join(", ")
    )))
}

/// The venue's own estimate of an order's cost, before it is placed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VenuePreview {
    pub estimated_price: Option<Price>,
    pub estimated_quantity: Option<Qty>,
    pub estimated_value: Option<Money>,
    pub commission: Option<Money>,
    /// Change of equity with loan value (IBKR what-if).
    pub equity_change: Option<Money>,
    /// Change of initial margin (IBKR what-if).
    pub margin_change: Option<Money>,
    pub cash_after: Option<Money>,
    pub warnings: Vec<String>,
}

/// Client order ids for the three legs of a bracket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BracketIds {
    pub entry: String,
    pub take_profit: String,
    pub stop_loss: String,
}

/// Order entry and order state. `place` and `place_bracket` take an [`Approved`] request,
/// which only the guard can create: the unchecked path does not compile.
#[async_trait]
pub trait Broker: Send + Sync {
    /// A short human name of the venue and backend, e.g. "IBKR (simulator)".
    fn name(&self) -> String;
    fn capabilities(&self) -> Capabilities;
    async fn place(&self, order: &Approved<OrderRequest>, client_order_id: &str) -> Result<OrderResult, VenueError>;
    async fn place_bracket(
        &self,
        order: &Approved<BracketRequest>,
        ids: &BracketIds,
    ) -> Result<Vec<OrderResult>, VenueError>;
    async fn preview(&self, order: &OrderRequest) -> Result<VenuePreview, VenueError>;
    /// Changes a working order to `order` (same symbol, side, type and time in force; new
    /// size and prices). `parent` is a bracket child's parent client order id, for venues
    /// that want it repeated.
    async fn modify(
        &self,
        order_id: &str,
        order: &Approved<OrderRequest>,
        parent: Option<&str>,
    ) -> Result<OrderResult, VenueError> {
        let _ = (order_id, order, parent);
        Err(VenueError::Unsupported { venue: self.name(), capability: "modify_order" })
    }
    /// `symbol` is the order's instrument when known (the journal keeps it); venues that
    /// look orders up by id alone ignore it.
    async fn order_status(&self, order_id: &str, symbol: Option<&str>) -> Result<OrderResult, VenueError>;
    async fn cancel(&self, order_id: &str, symbol: Option<&str>) -> Result<OrderResult, VenueError>;
    async fn open_orders(&self) -> Result<Vec<OrderResult>, VenueError>;
    async fn fills(&self) -> Result<Vec<Fill>, VenueError>;
    /// Looks an order up by the client order id we sent with it (reconciliation).
    async fn find_by_client_order_id(
        &self,
        client_order_id: &str,
        symbol: Option<&str>,
    ) -> Result<Option<OrderResult>, VenueError>;
    /// Venue-specific session facts for `session_status` (connected, server version, ...).
    async fn session(&self) -> Result<serde_json::Value, VenueError>;
}

/// Everything a venue provides.
pub trait Venue: MarketData + Account + Broker {}
impl<T: MarketData + Account + Broker> Venue for T {}
