//! The IBKR venue over the Client Portal Gateway: the trading-core ports mapped onto CPAPI's
//! typed wire models ([`crate::cpapi::wire`]), with IBKR's quirks handled where they arise
//! (accounts first, snapshot warm-up, reply questions, 503 on order post, cached positions).
//! One module per concern: [`account`] (identity, balances, positions), [`market`] (quotes,
//! history, research), [`orders`] (entry, status, cancel, executions).

mod account;
mod market;
mod options;
mod orders;

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex, atomic::AtomicBool},
    time::Duration,
};

use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;
use trading_core::{
    error::VenueError,
    money::Money,
    performance::{PerfPeriod, Performance},
};

pub use account::position as position_of_row;
pub use orders::ticket;

use crate::{
    cpapi::{CpapiError, GatewayHttp, wire},
    session::SessionKeeper,
};

/// The confirmation questions answered "yes" by default: the reference's set plus `o10331`,
/// IBKR's stop-order risk notice (ibind's STOP_ORDER_RISKS; without it every stop, stop-limit
/// and bracket stop-loss is declined). It leaves out o2137 (a sell that would cross a
/// position) on purpose.
pub const DEFAULT_CONFIRM_ALLOWLIST: &[&str] =
    &["o354", "o163", "o10152", "o10164", "o10223", "o10151", "o10153", "o10331"];

/// How the adapter behaves: the account it expects, the confirmation questions it may answer
/// yes to, and its retry spacing.
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
    /// How many days of executions `/iserver/account/trades` is asked for (IBKR allows up to 7).
    pub trade_days: u32,
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
            trade_days: 7,
        }
    }
}

#[derive(Clone, Debug)]
struct Identity {
    account: String,
    is_paper: Option<bool>,
    accounts: wire::IserverAccounts,
}

/// The IBKR venue: trading-core's ports over the Client Portal API, with the caches (account,
/// conids, sectors) that spare IBKR's paced endpoints.
#[derive(Debug)]
pub struct GatewayVenue {
    http: Arc<GatewayHttp>,
    keeper: Arc<SessionKeeper>,
    settings: GatewaySettings,
    identity: Mutex<Option<(Instant, Identity)>>,
    conids: Mutex<HashMap<String, i64>>,
    /// Sectors never change within a process: one contract-info request per symbol.
    sectors: Mutex<HashMap<String, Option<String>>>,
    /// `/portfolio/accounts`, read once (IBKR wants it before the other portfolio endpoints).
    portfolio_accounts: Mutex<Option<Vec<wire::PortfolioAccount>>>,
    /// The last daily P&L and when it was read: IBKR allows one request per 5 s.
    pnl: Mutex<Option<(Instant, wire::PnlRow)>>,
    /// Performance by period: IBKR answers `/pa/performance` once per 15 minutes.
    performance: Mutex<HashMap<PerfPeriod, (Instant, Performance)>>,
    options: options::OptionCache,
    /// Set by any order activity of this server (placement, modify, cancel, a fill seen):
    /// IBKR caches positions, so the next positions read invalidates the cache first.
    positions_stale: AtomicBool,
}

const NAME: &str = "IBKR (Client Portal Gateway)";

fn v_err(e: CpapiError) -> VenueError {
    e.into()
}

/// IBKR's `YYYYMMDD` dates (expiries, maturities, schedule days, analyst dates).
fn ymd(s: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y%m%d").ok()
}

fn money(d: Option<Decimal>) -> Option<Money> {
    d.map(|d| Money(d.round_dp(2)))
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
            portfolio_accounts: Mutex::new(None),
            pnl: Mutex::new(None),
            performance: Mutex::new(HashMap::new()),
            options: options::OptionCache::default(),
            positions_stale: AtomicBool::new(false),
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

    /// A GET decoded into its wire model.
    async fn get_as<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, CpapiError> {
        wire::decode(path, self.get(path, query).await?)
    }

    /// Notes order activity: the next positions read asks IBKR to refresh its cache.
    fn order_activity(&self) {
        self.positions_stale.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
