//! Option chains and quotes: the months from `/iserver/secdef/search`, strikes from
//! `/iserver/secdef/strikes`, contracts from `/iserver/secdef/info`, and one snapshot batch
//! with the greek fields (7308–7311, 7633, 7638). Contract lookups are kept for the process,
//! so a chain asked again costs only its snapshots.

use std::{collections::HashMap, sync::Mutex};

use rust_decimal::Decimal;
use trading_core::{
    error::VenueError,
    money::{Price, Qty},
    options::{ChainRequest, OptionChain, OptionQuote, OptionSymbol, Right, month_code, strikes_around},
};

use super::{GatewayVenue, account::ibkr_ticker, v_err, ymd};
use crate::cpapi::wire;

/// Snapshot fields of an option: last, bid, ask, availability, greeks, IV %, open interest.
const OPTION_FIELDS: &str = "31,84,86,6509,7308,7309,7310,7311,7633,7638";

/// What IBKR told us about listed contracts (they do not change within a process).
#[derive(Debug, Default)]
pub(super) struct OptionCache {
    months: Mutex<HashMap<i64, Vec<String>>>,
    strikes: Mutex<HashMap<(i64, String), wire::Strikes>>,
    contracts: Mutex<HashMap<(i64, String, Decimal), Vec<wire::SecdefInfo>>>,
    /// The underlying's last price seen with its chain (where the next chain is centred).
    spots: Mutex<HashMap<i64, Decimal>>,
}

impl GatewayVenue {
    /// The expiry months IBKR lists for `symbol`'s options (`secdef/search`, which IBKR also
    /// wants before any derivative request).
    async fn option_months(&self, symbol: &str, conid: i64) -> Result<Vec<String>, VenueError> {
        if let Some(m) = self.options.months.lock().unwrap_or_else(|p| p.into_inner()).get(&conid) {
            return Ok(m.clone());
        }
        let found: Vec<wire::SecdefMatch> =
            self.get_as("/iserver/secdef/search", &[("symbol", ibkr_ticker(symbol))]).await.map_err(v_err)?;
        let entry = found.iter().find(|m| m.conid.as_deref() == Some(&conid.to_string())).or(found.first());
        let months: Vec<String> = entry
            .into_iter()
            .flat_map(|m| m.sections.iter())
            .filter(|s| s.sec_type.as_deref() == Some("OPT"))
            .flat_map(|s| s.months.as_deref().unwrap_or_default().split(';'))
            .map(|m| m.trim().to_ascii_uppercase())
            .filter(|m| !m.is_empty())
            .collect();
        if months.is_empty() {
            return Err(VenueError::NotFound(format!("IBKR lists no options on {symbol}")));
        }
        self.options.months.lock().unwrap_or_else(|p| p.into_inner()).insert(conid, months.clone());
        Ok(months)
    }

    async fn option_strikes(&self, conid: i64, month: &str) -> Result<wire::Strikes, VenueError> {
        let key = (conid, month.to_string());
        if let Some(s) = self.options.strikes.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(s.clone());
        }
        let q = [("conid", conid.to_string()), ("sectype", "OPT".to_string()), ("month", month.to_string())];
        let s: wire::Strikes = self.get_as("/iserver/secdef/strikes", &q).await.map_err(v_err)?;
        self.options.strikes.lock().unwrap_or_else(|p| p.into_inner()).insert(key, s.clone());
        Ok(s)
    }

    /// Every contract of one strike in one month (both rights, each weekly expiry).
    async fn option_contracts(
        &self,
        conid: i64,
        month: &str,
        strike: Decimal,
    ) -> Result<Vec<wire::SecdefInfo>, VenueError> {
        let key = (conid, month.to_string(), strike);
        if let Some(c) = self.options.contracts.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(c.clone());
        }
        let q = [
            ("conid", conid.to_string()),
            ("sectype", "OPT".to_string()),
            ("month", month.to_string()),
            ("strike", strike.normalize().to_string()),
        ];
        let v = self.get("/iserver/secdef/info", &q).await.map_err(v_err)?;
        let c = wire::SecdefInfo::list(v).map_err(v_err)?;
        self.options.contracts.lock().unwrap_or_else(|p| p.into_inner()).insert(key, c.clone());
        Ok(c)
    }

    /// Snapshot rows of `conids` with the option fields, retried while the stream warms up.
    async fn option_rows(&self, conids: &[i64]) -> Result<HashMap<i64, wire::SnapshotRow>, VenueError> {
        self.snapshot_rows(conids, OPTION_FIELDS, |r| r.bid.is_some() || r.last.is_some() || r.delta.is_some()).await
    }
}

fn option_quote_of(
    symbol: &OptionSymbol,
    conid: i64,
    multiplier: Option<Decimal>,
    r: Option<&wire::SnapshotRow>,
) -> OptionQuote {
    let empty = wire::SnapshotRow::default();
    let r = r.unwrap_or(&empty);
    let (last, _) = crate::parse::last_price(r.last.as_ref().unwrap_or(&serde_json::Value::Null));
    let note = match (r.bid.or(last).or(r.delta), r.availability.as_deref().and_then(|a| a.chars().next())) {
        (None, Some('N')) => Some("no market-data subscription for this option (IBKR field 6509 = N)".to_string()),
        (None, _) => Some("no price yet: IBKR is still warming up the market-data stream; retry in a moment".into()),
        (Some(_), Some('D')) => Some("delayed market data".into()),
        _ => None,
    };
    OptionQuote {
        symbol: symbol.to_string(),
        contract_id: Some(conid.to_string()),
        bid: r.bid.filter(|d| *d > Decimal::ZERO).map(Price),
        ask: r.ask.filter(|d| *d > Decimal::ZERO).map(Price),
        last: last.map(Price),
        implied_vol_pct: r.implied_vol_pct,
        delta: r.delta,
        gamma: r.gamma,
        theta: r.theta,
        vega: r.vega,
        open_interest: r.open_interest.map(Qty),
        multiplier: Qty(multiplier.unwrap_or(Decimal::ONE_HUNDRED)),
        note,
    }
}

fn right_of(info: &wire::SecdefInfo) -> Option<Right> {
    info.right.as_deref().and_then(Right::parse)
}

impl GatewayVenue {
    pub(super) async fn chain(&self, request: &ChainRequest) -> Result<OptionChain, VenueError> {
        let sym = &request.underlying;
        let conid = self.conid(sym).await?;
        let months = self.option_months(sym, conid).await?;
        let month = match request.expiry {
            Some(e) => {
                let m = month_code(e);
                if !months.contains(&m) {
                    return Err(VenueError::NotFound(format!(
                        "IBKR lists no {sym} options in {m}; months: {}",
                        months.join(", ")
                    )));
                }
                m
            }
            None => months[0].clone(),
        };
        let strikes = self.option_strikes(conid, &month).await?;
        let listed: Vec<Decimal> = match request.right {
            Some(Right::Call) => strikes.call.clone(),
            Some(Right::Put) => strikes.put.clone(),
            None => strikes.call.iter().chain(&strikes.put).copied().collect(),
        };
        // The strikes are chosen around the last price seen, and the underlying is asked in the
        // same snapshot batch as its options: a warm chain is one request. Only the first chain
        // of an underlying quotes it first.
        let known = self.options.spots.lock().unwrap_or_else(|p| p.into_inner()).get(&conid).copied();
        let spot = match known {
            Some(s) => s,
            None => {
                let q = trading_core::ports::MarketData::quote(self, sym).await?;
                q.last.or(q.bid).map(|p| p.0).unwrap_or_default()
            }
        };
        let (mut expiry, mut dates, mut picked) = self.pick(sym, conid, &month, &listed, spot, request).await?;
        let mut wanted: Vec<i64> = picked.iter().map(|p| p.1).collect();
        wanted.push(conid);
        let mut rows = self.option_rows(&wanted).await?;
        let fresh = rows
            .get(&conid)
            .and_then(|r| crate::parse::last_price(r.last.as_ref().unwrap_or(&serde_json::Value::Null)).0);
        if let Some(now) = fresh {
            self.options.spots.lock().unwrap_or_else(|p| p.into_inner()).insert(conid, now);
            let n = request.strikes_around_money;
            if strikes_around(&listed, now, n) != strikes_around(&listed, spot, n) {
                // The price moved past a strike since the last chain: centre on the new price.
                (expiry, dates, picked) = self.pick(sym, conid, &month, &listed, now, request).await?;
                let missing: Vec<i64> = picked.iter().map(|p| p.1).filter(|c| !rows.contains_key(c)).collect();
                rows.extend(self.option_rows(&missing).await?);
            }
        }
        let mut expirations = months.clone();
        expirations.extend(dates.iter().map(|d| d.to_string()));
        Ok(OptionChain {
            underlying: sym.clone(),
            underlying_price: fresh.or(Some(spot)).map(Price),
            expiry,
            expirations,
            contracts: picked.iter().map(|(o, c, m)| option_quote_of(o, *c, *m, rows.get(c))).collect(),
            notes: vec![],
        })
    }

    /// The contracts of the strikes around `spot` for one expiry (the request's, or the nearest
    /// from today), strike ascending, calls first; and every expiry date seen in the month.
    async fn pick(
        &self,
        sym: &str,
        conid: i64,
        month: &str,
        listed: &[Decimal],
        spot: Decimal,
        request: &ChainRequest,
    ) -> Result<(chrono::NaiveDate, Vec<chrono::NaiveDate>, Vec<(OptionSymbol, i64, Option<Decimal>)>), VenueError>
    {
        let chosen = strikes_around(listed, spot, request.strikes_around_money);
        let mut infos = vec![];
        for k in &chosen {
            infos.extend(self.option_contracts(conid, month, *k).await?);
        }
        let today = chrono::Utc::now().date_naive();
        let mut dates: Vec<chrono::NaiveDate> =
            infos.iter().filter_map(|i| i.maturity_date.as_deref().and_then(ymd)).collect();
        dates.sort();
        dates.dedup();
        let expiry = match request.expiry {
            Some(e) if dates.contains(&e) => e,
            Some(e) => {
                return Err(VenueError::NotFound(format!(
                    "no {sym} options expire on {e}; in {month}: {}",
                    dates.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
                )));
            }
            None => dates
                .iter()
                .find(|d| **d >= today)
                .or(dates.first())
                .copied()
                .ok_or_else(|| VenueError::NotFound(format!("IBKR returned no {sym} contracts for {month}")))?,
        };
        let mut picked: Vec<(OptionSymbol, i64, Option<Decimal>)> = infos
            .iter()
            .filter(|i| i.maturity_date.as_deref().and_then(ymd) == Some(expiry))
            .filter(|i| request.right.is_none() || right_of(i) == request.right)
            .filter_map(|i| {
                let o = OptionSymbol {
                    underlying: sym.to_string(),
                    expiry,
                    strike: i.strike?.normalize(),
                    right: right_of(i)?,
                };
                Some((o, i.conid?, i.multiplier))
            })
            .collect();
        picked.sort_by(|a, b| {
            a.0.strike.cmp(&b.0.strike).then((a.0.right == Right::Put).cmp(&(b.0.right == Right::Put)))
        });
        picked.dedup_by(|a, b| a.1 == b.1);
        Ok((expiry, dates, picked))
    }

    pub(super) async fn one_option(
        &self,
        option: &OptionSymbol,
        contract_id: Option<&str>,
    ) -> Result<OptionQuote, VenueError> {
        let (conid, multiplier) = match contract_id.and_then(|c| c.parse::<i64>().ok()) {
            Some(c) => (c, None),
            None => {
                let under = self.conid(&option.underlying).await?;
                let month = option.month_code();
                let months = self.option_months(&option.underlying, under).await?;
                if !months.contains(&month) {
                    return Err(VenueError::NotFound(format!(
                        "IBKR lists no {} options in {month}",
                        option.underlying
                    )));
                }
                let infos = self.option_contracts(under, &month, option.strike).await?;
                let info = infos
                    .iter()
                    .find(|i| {
                        i.maturity_date.as_deref().and_then(ymd) == Some(option.expiry)
                            && right_of(i) == Some(option.right)
                    })
                    .ok_or_else(|| VenueError::NotFound(format!("IBKR lists no contract {option}")))?;
                (
                    info.conid.ok_or_else(|| VenueError::NotFound(format!("IBKR gave no conid for {option}")))?,
                    info.multiplier,
                )
            }
        };
        let rows = self.option_rows(&[conid]).await?;
        Ok(option_quote_of(option, conid, multiplier, rows.get(&conid)))
    }
}

impl GatewayVenue {
    /// Options with known conids in one snapshot batch; the others one by one.
    pub(super) async fn many_options(
        &self,
        options: &[(OptionSymbol, Option<String>)],
    ) -> Vec<Result<OptionQuote, VenueError>> {
        let ids: Vec<Option<i64>> = options.iter().map(|(_, id)| id.as_deref().and_then(|c| c.parse().ok())).collect();
        let known: Vec<i64> = ids.iter().flatten().copied().collect();
        let rows = if known.is_empty() { Ok(HashMap::new()) } else { self.option_rows(&known).await };
        let mut out = Vec::with_capacity(options.len());
        for ((o, _), id) in options.iter().zip(ids) {
            out.push(match (id, &rows) {
                (Some(c), Ok(rows)) => Ok(option_quote_of(o, c, None, rows.get(&c))),
                (Some(_), Err(e)) => Err(e.clone()),
                (None, _) => self.one_option(o, None).await,
            });
        }
        out
    }

    /// `GET /iserver/contract/{conid}/info` says what the conid is; an option is quoted with
    /// its greeks, a stock as a stock.
    pub(super) async fn by_conid(&self, conid: i64) -> Result<serde_json::Value, VenueError> {
        let info: wire::ContractInfo =
            self.get_as(&format!("/iserver/contract/{conid}/info"), &[]).await.map_err(v_err)?;
        let symbol =
            info.symbol.clone().ok_or_else(|| VenueError::NotFound(format!("IBKR knows no contract {conid}")))?;
        match info.instrument_type.as_deref() {
            Some("OPT") => {
                let o = OptionSymbol {
                    underlying: super::account::from_ibkr_ticker(&symbol),
                    expiry: info
                        .maturity_date
                        .as_deref()
                        .and_then(ymd)
                        .ok_or_else(|| VenueError::NotFound(format!("no expiry for option {conid}")))?,
                    strike: info
                        .strike
                        .map(|k| k.normalize())
                        .ok_or_else(|| VenueError::NotFound(format!("no strike for option {conid}")))?,
                    right: info
                        .right
                        .as_deref()
                        .and_then(Right::parse)
                        .ok_or_else(|| VenueError::NotFound(format!("no right for option {conid}")))?,
                };
                Ok(serde_json::json!(self.one_option(&o, Some(&conid.to_string())).await?))
            }
            Some("STK") | None => {
                let sym = super::account::from_ibkr_ticker(&symbol);
                self.conids.lock().unwrap_or_else(|p| p.into_inner()).entry(sym.clone()).or_insert(conid);
                Ok(serde_json::json!(trading_core::ports::MarketData::quote(self, &sym).await?))
            }
            Some(other) => Err(VenueError::Unsupported {
                venue: trading_core::ports::Broker::name(self),
                capability: match other {
                    "FUT" => "quotes of futures by conid",
                    _ => "quotes of this instrument type by conid",
                },
            }),
        }
    }
}
