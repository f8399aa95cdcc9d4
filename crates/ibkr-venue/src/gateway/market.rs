//! Prices and research: conids (`/trsrv/stocks`), snapshots, history, scanners, contract
//! search and details, trading schedules, sectors.

use std::collections::HashMap;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use trading_core::{
    account::{Bar, ContractMatch, Quote, ScanRequest, ScanRow},
    bars::{BarSize, HistoryRequest, PeriodUnit},
    error::VenueError,
    money::{Price, Qty},
    options::{ChainRequest, OptionChain, OptionQuote, OptionSymbol},
    ports::MarketData,
};

use super::{GatewayVenue, account::ibkr_ticker, v_err, ymd};
use crate::{
    cpapi::{CpapiError, http::error_text, wire},
    parse,
};

impl GatewayVenue {
    /// Snapshot rows of `conids` with `fields`, asked again (spaced) for the rows not yet
    /// `answered`: the first snapshot of a conid only opens its stream. At most 100 conids a
    /// request.
    pub(super) async fn snapshot_rows(
        &self,
        conids: &[i64],
        fields: &str,
        answered: fn(&wire::SnapshotRow) -> bool,
    ) -> Result<HashMap<i64, wire::SnapshotRow>, VenueError> {
        let mut rows: HashMap<i64, wire::SnapshotRow> = HashMap::new();
        for attempt in 0..self.settings.quote_attempts.max(1) {
            let pending: Vec<i64> = conids.iter().copied().filter(|c| !rows.get(c).is_some_and(answered)).collect();
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                // A spaced retry, not a burst.
                tokio::time::sleep(self.settings.quote_retry_delay).await;
            }
            for chunk in pending.chunks(100) {
                let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
                let snap: Vec<wire::SnapshotRow> = self
                    .get_as("/iserver/marketdata/snapshot", &[("conids", list), ("fields", fields.to_string())])
                    .await
                    .map_err(v_err)?;
                for r in snap {
                    if let Some(c) = r.conid {
                        rows.insert(c, r);
                    }
                }
            }
        }
        Ok(rows)
    }

    /// The conids of US listings for `symbols` (one `/trsrv/stocks` call for the unknown ones).
    /// Share classes are asked as IBKR spells them (`BRK.B` → `BRK B`).
    pub(super) async fn conids(&self, symbols: &[String]) -> Result<HashMap<String, i64>, CpapiError> {
        let missing: Vec<String> = {
            let c = self.conids.lock().unwrap_or_else(|p| p.into_inner());
            symbols.iter().filter(|s| !c.contains_key(*s)).cloned().collect()
        };
        if !missing.is_empty() {
            let asked: Vec<String> = missing.iter().map(|s| ibkr_ticker(s)).collect();
            let stocks: wire::Stocks = self.get_as("/trsrv/stocks", &[("symbols", asked.join(","))]).await?;
            let mut c = self.conids.lock().unwrap_or_else(|p| p.into_inner());
            for (sym, ask) in missing.iter().zip(&asked) {
                let us = stocks
                    .get(ask)
                    .into_iter()
                    .flatten()
                    .flat_map(|e| e.contracts.iter())
                    .find(|k| k.is_us == Some(true))
                    .and_then(|k| k.conid);
                if let Some(conid) = us {
                    c.insert(sym.clone(), conid);
                }
            }
        }
        let c = self.conids.lock().unwrap_or_else(|p| p.into_inner());
        Ok(symbols.iter().filter_map(|s| c.get(s).map(|id| (s.clone(), *id))).collect())
    }

    pub(super) async fn conid(&self, symbol: &str) -> Result<i64, VenueError> {
        self.conids(&[symbol.to_string()])
            .await
            .map_err(v_err)?
            .get(symbol)
            .copied()
            .ok_or_else(|| VenueError::NotFound(format!("no US-listed stock '{symbol}' at IBKR")))
    }
}

fn quote_of(symbol: &str, r: Option<&wire::SnapshotRow>) -> Quote {
    let empty = wire::SnapshotRow::default();
    let r = r.unwrap_or(&empty);
    let (last, prefix_note) = parse::last_price(r.last.as_ref().unwrap_or(&Value::Null));
    let avail = r.availability.as_deref().unwrap_or_default();
    let note = match (last, avail.chars().next(), prefix_note) {
        (_, _, Some(n)) => Some(n.to_string()),
        (None, Some('N'), _) => Some("no market-data subscription for this instrument (IBKR field 6509 = N)".into()),
        (None, _, _) => Some("no price yet: IBKR is still warming up the market-data stream; retry in a moment".into()),
        (Some(_), Some('D'), _) => Some("delayed market data".into()),
        (Some(_), Some('Z' | 'Y'), _) => {
            Some("frozen market data: the last price is from the close, not live (IBKR field 6509 = Z/Y)".into())
        }
        _ => None,
    };
    Quote {
        symbol: symbol.to_string(),
        last: last.map(Price),
        bid: r.bid.filter(|d| *d > Decimal::ZERO).map(Price),
        ask: r.ask.filter(|d| *d > Decimal::ZERO).map(Price),
        currency: "USD".into(),
        note,
    }
}

/// The history period IBKR is asked for, to cover `days` daily bars (it caps a request at 1000 points).
fn history_period(days: u32) -> &'static str {
    match days {
        0..=20 => "1m",
        21..=60 => "3m",
        61..=120 => "6m",
        121..=250 => "1y",
        251..=500 => "2y",
        _ => "3y",
    }
}

impl GatewayVenue {
    /// `GET /iserver/marketdata/history` (REC-C `MarketData/GET-history.json`: `t` in epoch ms).
    async fn history_bars(
        &self,
        symbol: &str,
        period: &str,
        bar: &str,
        outside_rth: bool,
    ) -> Result<Vec<Bar>, VenueError> {
        let conid = self.conid(symbol).await?;
        let q = [
            ("conid", conid.to_string()),
            ("period", period.to_string()),
            ("bar", bar.to_string()),
            ("outsideRth", outside_rth.to_string()),
        ];
        let h: wire::History = self.get_as("/iserver/marketdata/history", &q).await.map_err(v_err)?;
        Ok(h.data
            .iter()
            .filter_map(|b| {
                Some(Bar {
                    time: b.t.and_then(chrono::DateTime::from_timestamp_millis)?,
                    open: Price(b.o?),
                    high: Price(b.h?),
                    low: Price(b.l?),
                    close: Price(b.c?),
                    // IBKR reports US stock volume in lots of 100 (REF: inferred from magnitudes).
                    volume: Qty(b.v.unwrap_or_default() * Decimal::ONE_HUNDRED),
                })
            })
            .collect())
    }
}

/// Epoch seconds as an RFC 3339 UTC time.
fn utc(secs: Option<i64>) -> Value {
    secs.and_then(|s| chrono::DateTime::from_timestamp(s, 0)).map(|t| json!(t.to_rfc3339())).unwrap_or(Value::Null)
}

#[async_trait]
impl MarketData for GatewayVenue {
    async fn quote(&self, symbol: &str) -> Result<Quote, VenueError> {
        let mut q = self.quotes(&[symbol.to_string()]).await?;
        q.pop().ok_or_else(|| VenueError::NotFound(symbol.to_string()))
    }

    async fn quotes(&self, symbols: &[String]) -> Result<Vec<Quote>, VenueError> {
        let conids = self.conids(symbols).await.map_err(v_err)?;
        let wanted: Vec<i64> = conids.values().copied().collect();
        let rows = self
            .snapshot_rows(&wanted, "31,84,86,6509", |r| {
                r.last.is_some() || r.availability.as_deref().is_some_and(|m| m.starts_with('N'))
            })
            .await?;
        Ok(symbols
            .iter()
            .map(|s| match conids.get(s) {
                Some(c) => quote_of(s, rows.get(c)),
                None => Quote { note: Some(format!("no US-listed stock '{s}' at IBKR")), ..quote_of(s, None) },
            })
            .collect())
    }

    async fn bars(&self, symbol: &str, days: u32) -> Result<Vec<Bar>, VenueError> {
        let mut bars = self.history_bars(symbol, history_period(days), "1d", false).await?;
        let keep = usize::try_from(days).unwrap_or(usize::MAX);
        if bars.len() > keep {
            bars.drain(..bars.len() - keep);
        }
        Ok(bars)
    }

    /// Day bars over a number of days keep [`MarketData::bars`]' covering period; any other
    /// request is asked as it is (`period`, `bar`, `outsideRth`).
    async fn history(&self, symbol: &str, request: &HistoryRequest) -> Result<Vec<Bar>, VenueError> {
        if request.bar == BarSize::DAY && request.period.unit == PeriodUnit::Day {
            return self.bars(symbol, request.period.count).await;
        }
        self.history_bars(symbol, &request.period.ibkr(), request.bar.ibkr(), request.outside_rth).await
    }

    async fn run_scanner(&self, request: &ScanRequest) -> Result<Vec<ScanRow>, VenueError> {
        let filter: Vec<Value> =
            request.filters.iter().map(|(code, value)| json!({ "code": code, "value": value })).collect();
        let body = json!({ "instrument": request.instrument, "type": request.scan_code, "location": request.location, "filter": filter });
        let v = self.read(|| self.http.post("/iserver/scanner/run", &body)).await.map_err(v_err)?;
        let e = error_text(&v);
        if !e.is_empty() {
            return Err(VenueError::Rejected(format!("IBKR's scanner refused the request: {e}")));
        }
        let run: wire::ScannerRun = wire::decode("/iserver/scanner/run", v).map_err(v_err)?;
        Ok(run
            .contracts
            .into_iter()
            .take(request.max_rows.max(1))
            .enumerate()
            .map(|(i, c)| ScanRow {
                rank: i + 1,
                symbol: c.symbol.unwrap_or_default(),
                name: c.company_name,
                conid: c.con_id.or(c.conidex),
                exchange: c.listing_exchange,
                value: c.scan_data,
            })
            .collect())
    }

    async fn search_contracts(&self, query: &str) -> Result<Vec<ContractMatch>, VenueError> {
        let q = query.trim().to_string();
        // A ticker is asked as a ticker; `name=true` is for company names (SPEC), and a ticker
        // that finds nothing is asked once more as a name.
        let looks_like_ticker =
            !q.is_empty() && q.len() <= 6 && q.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
        let mut found: Vec<wire::SecdefMatch> = if looks_like_ticker {
            self.get_as("/iserver/secdef/search", &[("symbol", ibkr_ticker(&q.to_ascii_uppercase()))])
                .await
                .unwrap_or_default()
        } else {
            vec![]
        };
        if found.is_empty() {
            found = self
                .get_as("/iserver/secdef/search", &[("symbol", q.clone()), ("name", "true".to_string())])
                .await
                .unwrap_or_default();
        }
        Ok(found
            .into_iter()
            .map(|c| ContractMatch {
                symbol: c.symbol.unwrap_or_default(),
                name: c.company_name,
                conid: c.conid,
                exchange: c.description,
                sec_types: c.sections.into_iter().filter_map(|x| x.sec_type).collect(),
            })
            .collect())
    }

    async fn contract_details(&self, symbol: &str) -> Result<Value, VenueError> {
        let conid = self.conid(symbol).await?;
        let v = self.get(&format!("/iserver/contract/{conid}/info"), &[]).await.map_err(v_err)?;
        let keep = [
            "con_id",
            "symbol",
            "company_name",
            "industry",
            "category",
            "currency",
            "instrument_type",
            "exchange",
            "valid_exchanges",
            "r_t_h",
            "trading_class",
            "local_symbol",
        ];
        Ok(Value::Object(keep.iter().filter_map(|k| v.get(*k).map(|x| (k.to_string(), x.clone()))).collect()))
    }

    /// From `GET /contract/trading-schedule` (REC-C): real dates with epoch windows, never the
    /// legacy endpoint's `2000010x` weekday templates.
    async fn trading_schedule(&self, symbol: &str) -> Result<Value, VenueError> {
        let conid = self.conid(symbol).await?;
        let s: wire::TradingSchedule =
            self.get_as("/contract/trading-schedule", &[("conid", conid.to_string())]).await.map_err(v_err)?;
        let window = |w: &wire::ScheduleWindow| json!({ "open": utc(w.opening), "close": utc(w.closing) });
        let sessions: Vec<Value> = s
            .schedules
            .iter()
            .map(|(date, day)| {
                let date = ymd(date).map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_else(|| date.clone());
                json!({
                    "date": date,
                    "regular": day.liquid_hours.iter().map(window).collect::<Vec<_>>(),
                    "extended": day.extended_hours.iter().map(window).collect::<Vec<_>>(),
                    "closed": day.liquid_hours.is_empty(),
                })
            })
            .collect();
        Ok(json!({ "symbol": symbol, "timezone": s.exchange_time_zone, "times": "UTC", "sessions": sessions }))
    }

    async fn option_chain(&self, request: &ChainRequest) -> Result<OptionChain, VenueError> {
        self.chain(request).await
    }

    async fn quote_contract(&self, contract_id: &str) -> Result<Value, VenueError> {
        let conid = contract_id
            .trim()
            .parse::<i64>()
            .map_err(|_| VenueError::InvalidRequest(format!("'{contract_id}' is not an IBKR conid")))?;
        self.by_conid(conid).await
    }

    async fn option_quotes(&self, options: &[(OptionSymbol, Option<String>)]) -> Vec<Result<OptionQuote, VenueError>> {
        self.many_options(options).await
    }

    async fn option_quote(&self, option: &OptionSymbol, contract_id: Option<&str>) -> Result<OptionQuote, VenueError> {
        self.one_option(option, contract_id).await
    }

    /// `GET /iserver/exchangerate?source={from}&target={to}` (SPEC: units of target per source).
    async fn fx_rate(&self, from: &str, to: &str) -> Result<Price, VenueError> {
        let (from, to) = (from.trim().to_ascii_uppercase(), to.trim().to_ascii_uppercase());
        if from == to {
            return Ok(Price(Decimal::ONE));
        }
        let r: wire::ExchangeRate = self
            .get_as("/iserver/exchangerate", &[("source", from.clone()), ("target", to.clone())])
            .await
            .map_err(v_err)?;
        r.rate
            .filter(|r| *r > Decimal::ZERO)
            .map(Price)
            .ok_or_else(|| VenueError::NotFound(format!("IBKR has no exchange rate for {from}/{to}")))
    }

    async fn sector(&self, symbol: &str) -> Result<Option<String>, VenueError> {
        if let Some(known) = self.sectors.lock().unwrap_or_else(|p| p.into_inner()).get(symbol) {
            return Ok(known.clone());
        }
        let conid = self.conid(symbol).await?;
        let info: wire::ContractInfo =
            self.get_as(&format!("/iserver/contract/{conid}/info"), &[]).await.map_err(v_err)?;
        let sector = info.industry.or(info.category).filter(|s| !s.is_empty());
        self.sectors.lock().unwrap_or_else(|p| p.into_inner()).insert(symbol.to_string(), sector.clone());
        Ok(sector)
    }
}
