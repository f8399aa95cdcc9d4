//! Prices of the exchange: tickers, OHLCV candles at ccxt's timeframes.

use super::*;

#[async_trait]
impl MarketData for CryptoVenue {
    async fn quote(&self, symbol: &str) -> Result<Quote, VenueError> {
        let rules = self.rules(symbol).await?;
        Ok(ticker_quote(symbol, &self.ticker(symbol).await?, &rules.quote))
    }

    async fn quotes(&self, symbols: &[String]) -> Result<Vec<Quote>, VenueError> {
        let markets = self.markets().await?;
        let listed: Vec<String> = symbols.iter().filter(|s| markets.contains_key(*s)).cloned().collect();
        let tickers = self.tickers(listed).await?;
        Ok(symbols
            .iter()
            .map(|s| match (markets.get(s), tickers.get(s)) {
                (Some(r), Some(t)) => ticker_quote(s, t, &r.quote),
                (listed, _) => Quote {
                    symbol: s.clone(),
                    last: None,
                    bid: None,
                    ask: None,
                    currency: self.quote.clone(),
                    note: Some(if listed.is_some() {
                        "the exchange returned no ticker".into()
                    } else {
                        format!("not a spot market on {}", self.client.id)
                    }),
                },
            })
            .collect())
    }

    async fn bars(&self, symbol: &str, days: u32) -> Result<Vec<Bar>, VenueError> {
        self.candles(symbol, "1d", i64::from(days.clamp(1, 1000))).await
    }

    /// ccxt's timeframes (`1m` is a minute there, `1M` a month); the market trades around the
    /// clock, so the period's calendar minutes decide how many candles are asked (at most 1000).
    async fn history(&self, symbol: &str, request: &HistoryRequest) -> Result<Vec<Bar>, VenueError> {
        let timeframe = match request.bar.name {
            "1min" => "1m",
            "3min" => "3m",
            "5min" => "5m",
            "15min" => "15m",
            "30min" => "30m",
            "1h" => "1h",
            "2h" => "2h",
            "4h" => "4h",
            "8h" => "8h",
            "1d" => "1d",
            "1w" => "1w",
            "1month" => "1M",
            other => {
                return Err(VenueError::Rejected(format!(
                    "bar: {other} candles are not a ccxt timeframe; use 1min, 3min, 5min, 15min, 30min, 1h, 2h, 4h, 8h, 1d, 1w or 1month"
                )));
            }
        };
        let bar_minutes = match request.bar.minutes() {
            0 => match request.bar.name {
                "1w" => 7 * 1440,
                "1month" => 30 * 1440,
                _ => 1440,
            },
            m => m,
        };
        let points = request.period.calendar_minutes() / bar_minutes;
        let max = trading_core::bars::MAX_POINTS;
        if points > max {
            // Around the clock a period holds more candles than the trading-hours estimate
            // the request was checked with; the latest `max` alone would cut it short unsaid.
            return Err(VenueError::InvalidRequest(format!(
                "period: {} of {} candles around the clock is {points} candles, over the {max} one request returns; choose a shorter period or a longer bar",
                request.period, request.bar.name
            )));
        }
        self.candles(symbol, timeframe, i64::try_from(points.max(1)).unwrap_or(1)).await
    }
}

impl CryptoVenue {
    /// The latest `limit` candles of `timeframe` (`fetchOHLCV`).
    async fn candles(&self, symbol: &str, timeframe: &'static str, limit: i64) -> Result<Vec<Bar>, VenueError> {
        if !self.client.has.ohlcv {
            return Err(VenueError::Unsupported { venue: self.name(), capability: "price history (fetchOHLCV)" });
        }
        let known = &self.client.timeframes;
        if !known.is_empty() && !known.iter().any(|t| t == timeframe) {
            return Err(VenueError::InvalidRequest(format!(
                "bar: {} has no {timeframe} candles; it has {}",
                self.client.id,
                known.join(", ")
            )));
        }
        self.rules(symbol).await?;
        let sym = symbol.to_string();
        let candles = self
            .client
            .run(move |ex| {
                Box::pin(async move { ex.fetch_ohlcv(&sym, Some(timeframe), None, Some(limit), Params::none()).await })
            })
            .await
            .map_err(venue_err)?;
        Ok(candles
            .iter()
            .filter_map(|c| {
                #[allow(clippy::cast_possible_truncation)]
                let time = chrono::DateTime::from_timestamp_millis(c[0] as i64)?;
                Some(Bar {
                    time,
                    open: Price(dec(c[1])?),
                    high: Price(dec(c[2])?),
                    low: Price(dec(c[3])?),
                    close: Price(dec(c[4])?),
                    volume: Qty(dec(c[5])?),
                })
            })
            .collect())
    }
}
