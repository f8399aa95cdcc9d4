//! Equity history for `drawdown_tracker`: net liquidation sampled by a background task into
//! SQLite, so the peak and the drawdown survive restarts.

use std::{path::Path, sync::Mutex};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum EquityError {
    #[error("equity history {path}: {source}")]
    Sql { path: String, source: rusqlite::Error },
    #[error("equity history {path}: {source} (set EQUITY_HISTORY_PATH to a writable place)")]
    Io { path: String, source: std::io::Error },
}

/// The equity history file. SQLite is opened on first use, so a server that never samples or
/// reads its history does not carry SQLite's pages.
#[derive(Debug)]
pub struct EquityStore {
    path: String,
    conn: Mutex<Option<rusqlite::Connection>>,
}

/// One sample.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sample {
    pub time: DateTime<Utc>,
    pub equity: Decimal,
}

/// Drawdown from the peak of the recorded history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Drawdown {
    pub samples: usize,
    pub first: Option<Sample>,
    pub current: Option<Sample>,
    pub peak: Option<Sample>,
    /// Current drawdown from the peak, in percent (0 at a new high).
    pub drawdown_pct: Decimal,
    /// Worst peak-to-trough fall in the history, in percent.
    pub max_drawdown_pct: Decimal,
}

impl EquityStore {
    /// A store at `path` (its folder is created now; the database on first use).
    pub fn open(path: &Path) -> Result<EquityStore, EquityError> {
        let p = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| EquityError::Io { path: p.clone(), source })?;
        }
        Ok(EquityStore { path: p, conn: Mutex::new(None) })
    }

    fn with_conn<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>) -> Result<T, EquityError> {
        let err = |source| EquityError::Sql { path: self.path.clone(), source };
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let conn = rusqlite::Connection::open(&self.path).map_err(err)?;
            conn.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS equity (ts_ms INTEGER PRIMARY KEY, equity TEXT NOT NULL);")
                .map_err(err)?;
            *guard = Some(conn);
        }
        match guard.as_ref() {
            Some(c) => f(c).map_err(err),
            None => Err(err(rusqlite::Error::InvalidQuery)),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn record(&self, at: DateTime<Utc>, equity: Decimal) -> Result<(), EquityError> {
        self.with_conn(|c| {
            c.execute(
                "INSERT OR REPLACE INTO equity (ts_ms, equity) VALUES (?1, ?2)",
                rusqlite::params![at.timestamp_millis(), equity.normalize().to_string()],
            )
            .map(|_| ())
        })
    }

    pub fn samples(&self) -> Result<Vec<Sample>, EquityError> {
        self.with_conn(|c| {
            let mut stmt = c.prepare("SELECT ts_ms, equity FROM equity ORDER BY ts_ms")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
                .filter_map(Result::ok)
                .filter_map(|(ts, e)| {
                    Some(Sample { time: DateTime::from_timestamp_millis(ts)?, equity: e.parse().ok()? })
                })
                .collect();
            Ok(rows)
        })
    }
}

/// Peak, current and maximum drawdown of a series of samples.
pub fn drawdown(samples: &[Sample]) -> Drawdown {
    let mut peak: Option<&Sample> = None;
    let mut max_dd = Decimal::ZERO;
    for s in samples {
        if peak.is_none_or(|p| s.equity > p.equity) {
            peak = Some(s);
        }
        if let Some(p) = peak.filter(|p| p.equity > Decimal::ZERO) {
            max_dd = max_dd.max((p.equity - s.equity) / p.equity * Decimal::ONE_HUNDRED);
        }
    }
    let current = samples.last().cloned();
    let dd = match (peak, &current) {
        (Some(p), Some(c)) if p.equity > Decimal::ZERO => (p.equity - c.equity) / p.equity * Decimal::ONE_HUNDRED,
        _ => Decimal::ZERO,
    };
    Drawdown {
        samples: samples.len(),
        first: samples.first().cloned(),
        current,
        peak: peak.cloned(),
        drawdown_pct: dd.round_dp(2),
        max_drawdown_pct: max_dd.round_dp(2),
    }
}

/// Samples net liquidation into `store` every `every` (the first after one interval), until
/// dropped.
pub fn spawn_sampler(
    venue: std::sync::Arc<dyn trading_core::ports::Venue>,
    store: std::sync::Arc<EquityStore>,
    clock: std::sync::Arc<dyn trading_core::ports::Clock>,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            sample(venue.as_ref(), &store, clock.now()).await;
        }
    })
}

/// Records the venue's net liquidation now; failures are logged, never fatal.
pub async fn sample(venue: &dyn trading_core::ports::Venue, store: &EquityStore, at: DateTime<Utc>) {
    match venue.summary().await.map(|s| s.net_liquidation) {
        Ok(Some(nlv)) => {
            if let Err(e) = store.record(at, nlv.0) {
                tracing::warn!("equity sample not stored: {e}");
            }
        }
        Ok(None) => tracing::debug!("equity sample skipped: the venue reports no net liquidation"),
        Err(e) => tracing::debug!("equity sample skipped: {e}"),
    }
}

#[cfg(test)]
#[path = "equity_tests.rs"]
mod tests;
