//! Several accounts of one login seen as one book: each account's balances and holdings,
//! valued in the trading account's base currency. Read-only: orders stay bound to the one
//! configured account.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::{Value, json};
use trading_core::{error::TradeError, ports::Venue};

/// A money figure in `from` converted to `base` (rates asked once per currency).
struct Rates<'a> {
    venue: &'a dyn Venue,
    base: String,
    known: BTreeMap<String, Result<Decimal, String>>,
}

impl Rates<'_> {
    async fn in_base(&mut self, amount: Decimal, from: &str) -> Result<Decimal, String> {
        if from == self.base {
            return Ok(amount);
        }
        if !self.known.contains_key(from) {
            let r = self.venue.fx_rate(from, &self.base).await.map(|p| p.0).map_err(|e| e.to_string());
            self.known.insert(from.to_string(), r);
        }
        match &self.known[from] {
            Ok(rate) => Ok((amount * rate).round_dp(2)),
            Err(e) => Err(format!("no {from}/{} rate: {e}", self.base)),
        }
    }
}

/// Every account's net liquidation and cash, and the holdings summed by instrument, in the
/// trading account's base currency.
pub async fn consolidated(venue: &dyn Venue) -> Result<Value, TradeError> {
    let accounts = venue.accounts().await?;
    summed(venue, &accounts).await
}

/// [`consolidated`], only when the login sees more than one account (briefing, console).
pub async fn when_several(venue: &dyn Venue) -> Option<Value> {
    let accounts = venue.accounts().await.ok().filter(|a| a.len() > 1)?;
    summed(venue, &accounts).await.ok()
}

async fn summed(venue: &dyn Venue, accounts: &[trading_core::account::AccountInfo]) -> Result<Value, TradeError> {
    let trading = accounts.iter().find(|a| a.trading).or(accounts.first());
    let base = trading.and_then(|a| a.currency.clone()).unwrap_or_else(|| venue.capabilities().quote_currency);
    let mut rates = Rates { venue, base: base.clone(), known: BTreeMap::new() };
    let mut rows = vec![];
    let mut notes = vec![];
    let (mut total_nlv, mut total_cash) = (Decimal::ZERO, Decimal::ZERO);
    // symbol → (asset class, quantity, value in base, accounts)
    let mut holdings: BTreeMap<String, (String, Decimal, Decimal, Vec<String>)> = BTreeMap::new();
    for a in accounts {
        // The trading account through its own reads (they honour the venue's caches of our orders).
        let (summary, positions) = if a.trading {
            (venue.summary().await?, venue.positions().await?)
        } else {
            (venue.summary_of(&a.account_id).await?, venue.positions_of(&a.account_id).await?)
        };
        let nlv = summary.net_liquidation.map(|m| m.0).unwrap_or_default();
        let cash = summary.cash.map(|m| m.0).unwrap_or_default();
        let (nlv_base, cash_base) =
            match (rates.in_base(nlv, &summary.currency).await, rates.in_base(cash, &summary.currency).await) {
                (Ok(n), Ok(c)) => (Some(n), Some(c)),
                (Err(e), _) | (_, Err(e)) => {
                    notes.push(format!("{} left out of the totals: {e}", a.account_id));
                    (None, None)
                }
            };
        total_nlv += nlv_base.unwrap_or_default();
        total_cash += cash_base.unwrap_or_default();
        for p in &positions {
            let ccy = p.currency.clone().unwrap_or_else(|| summary.currency.clone());
            let Some(value) = p.market_value.map(|m| m.0) else { continue };
            match rates.in_base(value, &ccy).await {
                Ok(v) => {
                    let e = holdings
                        .entry(p.symbol.clone())
                        .or_insert_with(|| (p.asset_class.as_str().to_string(), Decimal::ZERO, Decimal::ZERO, vec![]));
                    e.1 += p.quantity.0;
                    e.2 += v;
                    e.3.push(a.account_id.clone());
                }
                Err(e) => notes.push(format!("{} in {}: {e}", p.symbol, a.account_id)),
            }
        }
        rows.push(json!({
            "account_id": a.account_id, "name": a.name, "trading": a.trading, "currency": summary.currency,
            "net_liquidation": summary.net_liquidation, "cash": summary.cash,
            "net_liquidation_in_base": nlv_base, "cash_in_base": cash_base, "positions": positions.len(),
        }));
    }
    let mut positions: Vec<Value> = holdings
        .into_iter()
        .map(|(symbol, (class, qty, value, accts))| {
            let weight = (!total_nlv.is_zero()).then(|| (value / total_nlv * Decimal::ONE_HUNDRED).round_dp(2));
            json!({ "symbol": symbol, "asset_class": class, "quantity": qty.normalize(), "market_value_in_base": value.round_dp(2), "weight_pct": weight, "accounts": accts })
        })
        .collect();
    positions.sort_by_key(|p| {
        std::cmp::Reverse(
            p["market_value_in_base"].as_str().and_then(|v| v.parse::<Decimal>().ok()).unwrap_or_default().abs(),
        )
    });
    Ok(json!({
        "base_currency": base,
        "accounts": rows,
        "total_net_liquidation": total_nlv.round_dp(2),
        "total_cash": total_cash.round_dp(2),
        "positions": positions,
        "notes": notes,
        "orders_go_to": trading.map(|a| a.account_id.clone()),
    }))
}
