//! Who we are, balances and holdings: `/iserver/accounts`, `/portfolio/{acct}/summary`,
//! `/portfolio/{acct}/positions/{page}`. Holdings are keyed by contract: only stock rows are
//! shares of a ticker; an option on SPY is never "SPY".

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::time::Instant;
use trading_core::{
    account::{AccountIdentity, AccountInfo, AccountSummary, AssetClass, DailyPnl, DerivativeTerms, Position},
    error::VenueError,
    money::{Money, Price, Qty},
    performance::{NavPoint, PerfPeriod, Performance, PeriodReturn, Transaction, Transactions},
    ports::{Account, known_account},
};

use super::{GatewayVenue, Identity, money, v_err, ymd};
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
    Some(ymd(yyyymmdd)?.format("%Y-%m-%d").to_string())
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

/// `Mon Dec 11 00:00:00 EST 2023` → 2023-12-11 (the zone name is dropped: chrono reads none).
fn pa_date(s: &str) -> Option<chrono::NaiveDate> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, month, day, _, _, year] = parts.as_slice() else { return None };
    chrono::NaiveDate::parse_from_str(&format!("{month} {day} {year}"), "%b %d %Y").ok()
}

/// IBKR's performance answer as the domain's: the account's row of each series.
fn performance_of(acct: &str, period: PerfPeriod, pa: &wire::PaPerformance) -> Performance {
    let row = |s: &wire::PaSeries| s.data.iter().find(|r| r.id.as_deref() == Some(acct)).or(s.data.first()).cloned();
    let (nav, cps, tpps) =
        (row(&pa.nav).unwrap_or_default(), row(&pa.cps).unwrap_or_default(), row(&pa.tpps).unwrap_or_default());
    let hundred = Decimal::ONE_HUNDRED;
    let points: Vec<NavPoint> = pa
        .nav
        .dates
        .iter()
        .zip(&nav.navs)
        .enumerate()
        .filter_map(|(i, (d, v))| {
            // cps shares nav's dates in IBKR's answers; a missing return is left out, not zero.
            let c = pa.cps.dates.get(i).filter(|cd| *cd == d).and(cps.returns.get(i))?;
            Some(NavPoint { date: ymd(d)?, nav: Money(v.round_dp(2)), cumulative_pct: (c * hundred).round_dp(2) })
        })
        .collect();
    let monthly_returns = pa
        .tpps
        .dates
        .iter()
        .zip(&tpps.returns)
        .map(|(d, r)| PeriodReturn {
            period: if d.len() == 6 { format!("{}-{}", &d[..4], &d[4..]) } else { d.clone() },
            return_pct: (r * hundred).round_dp(2),
        })
        .collect();
    Performance {
        account_id: acct.to_string(),
        currency: nav.base_currency.clone().unwrap_or_else(|| "USD".into()),
        period,
        start: points.first().map(|p| p.date),
        end: points.last().map(|p| p.date),
        start_nav: nav.start_nav.as_ref().and_then(|s| s.val).map(|v| Money(v.round_dp(2))),
        end_nav: points.last().map(|p| p.nav),
        return_pct: cps.returns.last().map(|c| (c * hundred).round_dp(2)),
        method: match pa.pm.as_deref() {
            Some("TWR") | None => "TWR: time-weighted, deposits and withdrawals do not count as gains (IBKR)".into(),
            Some(other) => format!("{other} (IBKR)"),
        },
        nav: points,
        monthly_returns,
        notes: vec![],
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
        let first =
            self.identity.lock().unwrap_or_else(|p| p.into_inner()).replace((Instant::now(), id.clone())).is_none();
        if first {
            // IBKR's P&L stream answers empty at first: opening it now means a figure is
            // ready by the time anyone asks. A failure here is only a later "warming up".
            let _ = self.fetch_pnl(&id.account).await;
        }
        Ok(id)
    }

    /// One `/iserver/account/pnl/partitioned` request; the account's row is kept when there is
    /// one. Inside IBKR's 5 s spacing the pacer refuses at once (`RateLimited`).
    async fn fetch_pnl(&self, acct: &str) -> Result<Option<wire::PnlRow>, CpapiError> {
        let p: wire::PnlPartitioned = self.get_as("/iserver/account/pnl/partitioned", &[]).await?;
        let row = p.upnl.get(&format!("{acct}.Core")).cloned();
        if let Some(r) = &row {
            *self.pnl.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), r.clone()));
        }
        Ok(row)
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

    /// A Portfolio Analyst POST. IBKR answers each `/pa/` endpoint once per 15 minutes and the
    /// pacer refuses a sooner call at once: that refusal becomes "IBKR answers one {what}",
    /// `what` given the minutes left.
    async fn analyst_post(
        &self,
        path: &str,
        body: &Value,
        what: impl FnOnce(u64) -> String,
    ) -> Result<Value, VenueError> {
        match self.read(|| self.http.post(path, body)).await {
            Ok(v) => Ok(v),
            Err(CpapiError::RateLimited { retry_after }) => Err(VenueError::Transport {
                message: format!("IBKR answers one {}", what(retry_after.as_secs().div_ceil(60).max(1))),
                retryable: true,
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// IBKR wants `/portfolio/accounts` once before the other portfolio endpoints; its
    /// answer (each account's currency and type) is kept.
    pub(super) async fn portfolio_accounts(&self) -> Result<Vec<wire::PortfolioAccount>, CpapiError> {
        if let Some(known) = self.portfolio_accounts.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(known);
        }
        let accounts: Vec<wire::PortfolioAccount> = self.get_as("/portfolio/accounts", &[]).await?;
        *self.portfolio_accounts.lock().unwrap_or_else(|p| p.into_inner()) = Some(accounts.clone());
        Ok(accounts)
    }

    async fn ensure_portfolio(&self) -> Result<(), CpapiError> {
        self.portfolio_accounts().await.map(|_| ())
    }

    /// The base currency of `account` as `/portfolio/accounts` gives it.
    async fn base_currency(&self, account: &str) -> Result<String, CpapiError> {
        Ok(self
            .portfolio_accounts()
            .await?
            .iter()
            .find(|a| a.account_id.as_deref().or(a.id.as_deref()) == Some(account))
            .and_then(|a| a.currency.clone())
            .unwrap_or_else(|| "USD".into()))
    }

    /// `GET /portfolio/{acct}/summary` (REC-C).
    async fn summary_for(&self, acct: String) -> Result<AccountSummary, VenueError> {
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

    /// `GET /portfolio/{acct}/ledger`: each currency's row, and the `BASE` row's total (the
    /// recorded shape: `Portfolio/GET-portfolio-ledger.json`; cpapi-endpoints.md "ledger").
    async fn cash_for(&self, acct: String) -> Result<trading_core::account::CashBalances, VenueError> {
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

    /// Every non-zero position row of the trading account. `fresh` (exits) or any order activity
    /// since the last read invalidates IBKR's position cache first: at most one invalidate per
    /// read.
    async fn position_rows(&self, fresh: bool) -> Result<Vec<wire::PositionRow>, CpapiError> {
        let acct = self.account().await?.account;
        // Our own orders make our account's cache stale, and only its read clears the mark.
        let stale = self.positions_stale.swap(false, Ordering::Relaxed);
        self.position_rows_of(&acct, fresh || stale).await
    }

    /// `invalidate`: ask IBKR to refresh its position cache of `acct` first.
    async fn position_rows_of(&self, acct: &str, invalidate: bool) -> Result<Vec<wire::PositionRow>, CpapiError> {
        self.ensure_portfolio().await?;
        if invalidate {
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
        self.summary_for(acct).await
    }

    async fn summary_of(&self, account: &str) -> Result<AccountSummary, VenueError> {
        known_account(self, account).await?;
        self.summary_for(account.to_string()).await
    }

    async fn positions_of(&self, account: &str) -> Result<Vec<Position>, VenueError> {
        known_account(self, account).await?;
        Ok(self.position_rows_of(account, false).await.map_err(v_err)?.iter().map(position).collect())
    }

    async fn cash_balances_of(&self, account: &str) -> Result<trading_core::account::CashBalances, VenueError> {
        known_account(self, account).await?;
        self.cash_for(account.to_string()).await
    }

    /// `/portfolio/accounts` (names, currencies, types) with `/iserver/accounts` (which the
    /// brokerage session trades, paper or live).
    async fn accounts(&self) -> Result<Vec<AccountInfo>, VenueError> {
        let id = self.account().await.map_err(v_err)?;
        let mut out: Vec<AccountInfo> = self
            .portfolio_accounts()
            .await
            .map_err(v_err)?
            .into_iter()
            .filter_map(|a| {
                let account_id = a.account_id.or(a.id)?;
                Some(AccountInfo {
                    trading: account_id == id.account,
                    name: a.display_name.or(a.alias).filter(|n| n != &account_id),
                    currency: a.currency,
                    kind: a.kind,
                    is_paper: id.is_paper,
                    account_id,
                })
            })
            .collect();
        for extra in &id.accounts.accounts {
            if !out.iter().any(|a| &a.account_id == extra) {
                out.push(AccountInfo {
                    account_id: extra.clone(),
                    name: None,
                    currency: None,
                    kind: None,
                    is_paper: id.is_paper,
                    trading: extra == &id.account,
                });
            }
        }
        Ok(out)
    }
    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        Ok(self.position_rows(false).await.map_err(v_err)?.iter().map(position).collect())
    }

    /// `POST /pa/performance` (SPEC example `success`): NAV, cumulative and monthly returns,
    /// time-weighted. IBKR answers once per 15 minutes: each period's answer is kept that long
    /// and another period asked sooner is refused with the wait, not waited for.
    async fn performance(&self, period: PerfPeriod) -> Result<Performance, VenueError> {
        const KEEP: std::time::Duration = std::time::Duration::from_secs(900);
        if let Some((at, p)) = self.performance.lock().unwrap_or_else(|p| p.into_inner()).get(&period).cloned()
            && at.elapsed() < KEEP
        {
            return Ok(p);
        }
        let acct = self.account().await.map_err(v_err)?.account;
        self.ensure_portfolio().await.map_err(v_err)?;
        let body = serde_json::json!({ "acctIds": [acct], "period": period.as_str() });
        let kept = || {
            let kept: Vec<&str> =
                self.performance.lock().unwrap_or_else(|p| p.into_inner()).keys().map(|p| p.as_str()).collect();
            if kept.is_empty() { String::new() } else { format!(" (ready now: {})", kept.join(", ")) }
        };
        let v = self
            .analyst_post("/pa/performance", &body, |mins| {
                format!("performance request per 15 minutes: {} can be asked in {mins} min{}", period.as_str(), kept())
            })
            .await?;
        let pa: wire::PaPerformance = wire::decode("/pa/performance", v).map_err(v_err)?;
        let p = performance_of(&acct, period, &pa);
        self.performance.lock().unwrap_or_else(|p| p.into_inner()).insert(period, (Instant::now(), p.clone()));
        Ok(p)
    }

    /// `POST /pa/transactions` for one conid (SPEC example `success`; IBKR takes one conid per
    /// call and answers once per 15 minutes: a second symbol sooner is refused with the wait).
    async fn transactions(&self, symbol: &str, days: u32) -> Result<Transactions, VenueError> {
        let acct = self.account().await.map_err(v_err)?.account;
        let conid = self.conid(symbol).await?;
        let currency = self.base_currency(&acct).await.map_err(v_err)?;
        let body = serde_json::json!({ "acctIds": [acct], "conids": [conid], "currency": currency, "days": days });
        let v = self
            .analyst_post("/pa/transactions", &body, |mins| {
                format!("transaction-history request per 15 minutes: ask again in {mins} min")
            })
            .await?;
        let t: wire::PaTransactions = wire::decode("/pa/transactions", v).map_err(v_err)?;
        let currency = t.currency.clone().unwrap_or(currency);
        Ok(Transactions {
            account_id: acct,
            symbol: symbol.to_string(),
            days,
            transactions: t
                .transactions
                .iter()
                .filter_map(|x| {
                    Some(Transaction {
                        date: x.date.as_deref().and_then(pa_date)?,
                        kind: x.kind.clone().unwrap_or_default(),
                        quantity: x.qty,
                        price: x.pr,
                        amount: Money(x.amt?.round_dp(2)),
                        currency: x.cur.clone().unwrap_or_else(|| currency.clone()),
                        description: x.desc.clone(),
                    })
                })
                .collect(),
            realized_pnl: Money(t.rpnl.amt.unwrap_or_default().round_dp(2)),
            realized_by_day: t
                .rpnl
                .data
                .iter()
                .filter_map(|d| Some((ymd(d.date.as_deref()?)?, Money(d.amt?.round_dp(2)))))
                .collect(),
            currency,
            notes: vec![],
        })
    }

    /// Today's P&L from `/iserver/account/pnl/partitioned`, row `{acct}.Core` (SPEC). IBKR's
    /// first answer is `{"upnl":{}}` (REC-C) and it allows one request per 5 s: the stream is
    /// opened when the account is first read, a row is reused for 5 s, and inside the spacing
    /// the last row is given with its age (or "warming up"), never a wait and never a zero.
    async fn daily_pnl(&self) -> Result<DailyPnl, VenueError> {
        let acct = self.account().await.map_err(v_err)?.account;
        let currency = self.base_currency(&acct).await.map_err(v_err)?;
        let fresh = |at: Instant| at.elapsed() < std::time::Duration::from_secs(5);
        let kept = self.pnl.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let row = match kept {
            Some((at, row)) if fresh(at) => Some((at, row)),
            _ => match self.fetch_pnl(&acct).await {
                Ok(Some(row)) => Some((Instant::now(), row)),
                Ok(None) | Err(CpapiError::RateLimited { .. }) => kept,
                Err(e) => return Err(e.into()),
            },
        };
        let answer = DailyPnl {
            account_id: acct,
            currency,
            daily: None,
            unrealized: None,
            net_liquidation: None,
            excess_liquidity: None,
            market_value: None,
            note: Some("IBKR's P&L stream is still warming up: ask again in a few seconds".into()),
        };
        Ok(match row {
            Some((at, row)) => DailyPnl {
                daily: money(row.dpl),
                unrealized: money(row.upl),
                net_liquidation: money(row.nl),
                excess_liquidity: money(row.el),
                market_value: money(row.mv),
                note: (!fresh(at)).then(|| format!("as IBKR gave it {} s ago", at.elapsed().as_secs())),
                ..answer
            },
            None => answer,
        })
    }

    async fn cash_balances(&self) -> Result<trading_core::account::CashBalances, VenueError> {
        let acct = self.account().await.map_err(v_err)?.account;
        self.cash_for(acct).await
    }

    /// Shares of `symbol` only: option, future, crypto and bond rows whose ticker is the same
    /// never count (selling "SPY" while holding a SPY call would open a stock short).
    async fn held_quantity(&self, symbol: &str) -> Result<Decimal, VenueError> {
        let rows = self.position_rows(true).await.map_err(v_err)?;
        Ok(rows.iter().map(position).filter(|p| p.is_tradable_as(symbol)).map(|p| p.quantity.0).sum())
    }
}
