//! Who we are, balances and holdings: `/iserver/accounts`, `/portfolio/{acct}/summary`,
//! `/portfolio/{acct}/positions/{page}`. Holdings are keyed by contract: only stock rows are
//! shares of a ticker; an option on SPY is never "SPY".

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::time::Instant;
use trading_core::{
    account::{AccountIdentity, AccountSummary, AssetClass, DerivativeTerms, Position},
    error::VenueError,
    money::{Price, Qty},
    ports::Account,
};

use super::{GatewayVenue, Identity, money, v_err};
use crate::cpapi::{CpapiError, wire};

/// IBKR spells share classes with a space (`BRK B`); tradegate's key uses a dot (`BRK.B`).
pub(super) fn ibkr_ticker(symbol: &str) -> String {
    symbol.replace(['.', '-'], " ")
}

pub(super) fn from_ibkr_ticker(ticker: &str) -> String {
    ticker.split_whitespace().collect::<Vec<_>>().join(".").to_ascii_uppercase()
}

/// `20250117` → `2025-01-17`.
fn iso_date(yyyymmdd: &str) -> Option<String> {
    let d = chrono::NaiveDate::parse_from_str(yyyymmdd.trim(), "%Y%m%d").ok()?;
    Some(d.format("%Y-%m-%d").to_string())
}

/// A position row as a domain position: shares keep their ticker; an option reads
/// `SPY 2025-01-17 440 C`; other classes keep IBKR's description and their class.
pub fn position(r: &wire::PositionRow) -> Position {
    let class = AssetClass::from_ibkr(r.asset_class.as_deref().unwrap_or("STK"));
    let ticker = r.ticker.clone().or_else(|| r.contract_desc.clone()).unwrap_or_default();
    let underlying = r.und_sym.clone().or_else(|| r.ticker.clone());
    let derivative =
        matches!(class, AssetClass::Option | AssetClass::Future | AssetClass::FutureOption).then(|| DerivativeTerms {
            underlying: underlying.clone().map(|u| from_ibkr_ticker(&u)),
            expiry: r.expiry.as_deref().and_then(iso_date),
            strike: r.strike.filter(|s| !s.is_zero()).map(|s| Price(s.normalize())),
            right: r.put_or_call.clone().map(|p| p.to_ascii_uppercase()),
            multiplier: r.multiplier.filter(|m| !m.is_zero()).map(|m| Qty(m.normalize())),
        });
    let symbol = match (&class, &derivative) {
        (AssetClass::Stock, _) => from_ibkr_ticker(&ticker),
        (_, Some(d)) => {
            let mut parts = vec![d.underlying.clone().unwrap_or_else(|| from_ibkr_ticker(&ticker))];
            parts.extend(d.expiry.clone());
            parts.extend(d.strike.map(|s| s.0.to_string()));
            parts.extend(d.right.clone());
            parts.join(" ")
        }
        _ => r.contract_desc.clone().unwrap_or(ticker).trim().to_string(),
    };
    Position {
        symbol,
        quantity: Qty(r.position.unwrap_or_default()),
        // Per unit of price: for an option avgPrice is the premium, avgCost the per-contract cost.
        avg_cost: r.avg_price.or(r.avg_cost).map(|d| Price(d.round_dp(4))),
        market_price: r.mkt_price.map(|d| Price(d.round_dp(4))),
        market_value: money(r.mkt_value),
        unrealized_pnl: money(r.unrealized_pnl),
        asset_class: class,
        contract_id: r.conid.map(|c| c.to_string()),
        currency: r.currency.clone(),
        derivative,
    }
}

impl GatewayVenue {
    /// The account we trade and whether IBKR says it is paper (cached briefly).
    pub(super) async fn account(&self) -> Result<Identity, CpapiError> {
        if let Some((at, id)) = self.identity.lock().unwrap_or_else(|p| p.into_inner()).clone()
            && at.elapsed() < self.settings.identity_ttl
        {
            return Ok(id);
        }
        let accounts: wire::IserverAccounts = self.get_as("/iserver/accounts", &[]).await?;
        let mut selected =
            accounts.selected_account.clone().or_else(|| accounts.accounts.first().cloned()).unwrap_or_default();
        if let Some(want) = &self.settings.account_id
            && want != &selected
            && accounts.accounts.contains(want)
        {
            self.http.post("/iserver/account", &json!({ "acctId": want })).await?;
            selected = want.clone();
        }
        if selected.is_empty() {
            return Err(CpapiError::Decode("/iserver/accounts named no account".into()));
        }
        // isPaper is the ground truth; the DU prefix of paper accounts is only a fallback.
        let is_paper = accounts.is_paper.or_else(|| selected.starts_with("DU").then_some(true));
        let id = Identity { account: selected, is_paper, accounts };
        *self.identity.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), id.clone()));
        Ok(id)
    }

    /// The account's properties from `/iserver/accounts` (supportsCashQty, supportsFractions, ...).
    pub async fn account_properties(&self) -> Result<(String, Value, Value), VenueError> {
        let id = self.account().await.map_err(v_err)?;
        let props = id.accounts.acct_props.get(&id.account).cloned().unwrap_or(Value::Null);
        let server = id
            .accounts
            .server_info
            .map(|s| json!({ "serverName": s.server_name, "serverVersion": s.server_version }))
            .unwrap_or(Value::Null);
        Ok((id.account, props, server))
    }

    /// IBKR wants `/portfolio/accounts` once before the other portfolio endpoints.
    async fn ensure_portfolio(&self) -> Result<(), CpapiError> {
        if !self.portfolio_ready.load(Ordering::Relaxed) {
            let _: Vec<wire::PortfolioAccount> = self.get_as("/portfolio/accounts", &[]).await?;
            self.portfolio_ready.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Every non-zero position row. `fresh` (exits) or any order activity since the last read
    /// invalidates IBKR's position cache first: at most one invalidate per read.
    async fn position_rows(&self, fresh: bool) -> Result<Vec<wire::PositionRow>, CpapiError> {
        let acct = self.account().await?.account;
        self.ensure_portfolio().await?;
        if self.positions_stale.swap(false, Ordering::Relaxed) || fresh {
            // Best effort: a failed invalidate still leaves a (possibly stale) read.
            let _ = self.http.post(&format!("/portfolio/{acct}/positions/invalidate"), &json!({})).await;
        }
        let mut rows = vec![];
        for page in 0..100 {
            let page_rows: Vec<wire::PositionRow> =
                self.get_as(&format!("/portfolio/{acct}/positions/{page}"), &[]).await?;
            let Some(first) = page_rows.first() else { break };
            // A page shorter than its pageSize is the last one: no request for an empty page.
            let last = first.page_size.is_some_and(|size| (page_rows.len() as u64) < size);
            rows.extend(page_rows);
            if last {
                break;
            }
        }
        rows.retain(|r| r.position.is_some_and(|q| !q.is_zero()));
        Ok(rows)
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
        let s: wire::PortfolioSummary = self.get_as(&format!("/portfolio/{acct}/summary"), &[]).await.map_err(v_err)?;
        let amount = |v: &Option<wire::SummaryValue>| money(v.as_ref().and_then(|v| v.amount));
        Ok(AccountSummary {
            account_id: acct,
            currency: s.netliquidation.as_ref().and_then(|v| v.currency.clone()).unwrap_or_else(|| "USD".into()),
            cash: amount(&s.totalcashvalue),
            available_funds: amount(&s.availablefunds),
            net_liquidation: amount(&s.netliquidation),
            buying_power: amount(&s.buyingpower),
            maintenance_margin: amount(&s.maintmarginreq),
            notes: vec![],
        })
    }

    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        Ok(self.position_rows(false).await.map_err(v_err)?.iter().map(position).collect())
    }

    /// `GET /portfolio/{acct}/ledger`: each currency's row, and the `BASE` row's total (the
    /// recorded shape: `Portfolio/GET-portfolio-ledger.json`; cpapi-endpoints.md "ledger").
    async fn cash_balances(&self) -> Result<trading_core::account::CashBalances, VenueError> {
        let acct = self.account().await.map_err(v_err)?.account;
        self.ensure_portfolio().await.map_err(v_err)?;
        let ledger: wire::Ledger = self.get_as(&format!("/portfolio/{acct}/ledger"), &[]).await.map_err(v_err)?;
        let base = ledger.get("BASE");
        // The base currency is the one whose rate to BASE is 1 (IBKR names it nowhere else).
        let base_currency = ledger
            .iter()
            .find(|(k, e)| k.as_str() != "BASE" && e.exchangerate == Some(Decimal::ONE))
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| "USD".into());
        let balances = ledger
            .iter()
            .filter(|(k, _)| k.as_str() != "BASE")
            .map(|(k, e)| trading_core::account::CashBalance {
                currency: e.currency.clone().unwrap_or_else(|| k.clone()),
                cash: trading_core::money::Money(e.cashbalance.unwrap_or_default()),
                settled_cash: money(e.settledcash),
                exchange_rate: e.exchangerate.map(trading_core::money::Price),
                cash_in_base: e
                    .cashbalance
                    .zip(e.exchangerate)
                    .map(|(c, r)| trading_core::money::Money((c * r).round_dp(2))),
            })
            .collect();
        Ok(trading_core::account::CashBalances {
            account_id: acct,
            base_currency,
            balances,
            total_in_base: money(base.and_then(|b| b.cashbalance)),
        })
    }

    /// Shares of `symbol` only: option, future, crypto and bond rows whose ticker is the same
    /// never count (selling "SPY" while holding a SPY call would open a stock short).
    async fn held_quantity(&self, symbol: &str) -> Result<Decimal, VenueError> {
        let rows = self.position_rows(true).await.map_err(v_err)?;
        Ok(rows.iter().map(position).filter(|p| p.is_tradable_as(symbol)).map(|p| p.quantity.0).sum())
    }
}
