//! Pacing for IBKR's documented limits: a global rate, minimum spacing per endpoint, a cap on
//! concurrent history requests, and a penalty box after a 429 that we never hammer.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Instant,
};

use super::error::CpapiError;

/// The limits to respect. [`PacingLimits::ibkr`] is IBKR's published set for the gateway.
#[derive(Clone, Debug)]
pub struct PacingLimits {
    /// Requests per second across all endpoints.
    pub global_per_second: usize,
    /// Minimum spacing between two calls of one endpoint (path after `/v1/api`).
    pub spaced: Vec<(&'static str, Duration)>,
    /// Endpoints whose spacing is too long to wait out inside a tool call: a second call
    /// within the window fails at once with the time left.
    pub once_per: Vec<(&'static str, Duration)>,
    /// Concurrent `/iserver/marketdata/history` requests.
    pub history_concurrency: usize,
    /// How long to stay away after a 429 without a Retry-After; doubles on repeats.
    pub first_penalty: Duration,
    pub max_penalty: Duration,
}

impl PacingLimits {
    /// IBKR's documented limits for the Client Portal Gateway.
    pub fn ibkr() -> Self {
        Self {
            global_per_second: 10,
            spaced: vec![
                ("/iserver/account/orders", Duration::from_secs(5)),
                ("/iserver/account/trades", Duration::from_secs(5)),
                ("/portfolio/accounts", Duration::from_secs(5)),
                ("/portfolio/subaccounts", Duration::from_secs(5)),
                ("/iserver/scanner/run", Duration::from_secs(1)),
                ("/iserver/scanner/params", Duration::from_secs(900)),
                ("/tickle", Duration::from_secs(1)),
                ("/sso/validate", Duration::from_secs(60)),
            ],
            once_per: vec![
                ("/iserver/account/pnl/partitioned", Duration::from_secs(5)),
                ("/pa/performance", Duration::from_secs(900)),
                ("/pa/transactions", Duration::from_secs(900)),
            ],
            history_concurrency: 5,
            // IBKR boxes a violator for 10 minutes (DOC-WEB) or 15 (DOC-V1); coming back
            // sooner is a repeat violation.
            first_penalty: Duration::from_secs(600),
            max_penalty: Duration::from_secs(900),
        }
    }

    /// The same limits with every spacing multiplied by `factor` (tests use small factors
    /// against a fake with the same scaled limits).
    pub fn scaled(mut self, factor: f64) -> Self {
        for (_, d) in self.spaced.iter_mut().chain(self.once_per.iter_mut()) {
            *d = d.mul_f64(factor);
        }
        self.first_penalty = self.first_penalty.mul_f64(factor);
        self.max_penalty = self.max_penalty.mul_f64(factor);
        self
    }
}

/// The share of the even global spacing added as margin: the gateway counts arrivals, which
/// jitter after we admit; at 10/s requests leave 110 ms apart, so no second the gateway
/// counts can hold more than 10 unless arrivals drift by over 100 ms.
const GLOBAL_MARGIN_PCT: u32 = 10;

/// The least margin added to a per-endpoint spacing.
const JITTER_MARGIN: Duration = Duration::from_millis(50);

#[derive(Debug, Default)]
struct Book {
    next_global: Option<Instant>,
    next_allowed: HashMap<&'static str, Instant>,
    penalty_until: Option<Instant>,
    penalty: Option<Duration>,
}

/// Admits requests at the pace the limits allow.
#[derive(Debug)]
pub struct Pacer {
    limits: PacingLimits,
    book: Mutex<Book>,
    history: std::sync::Arc<Semaphore>,
}

/// Held while a request is in flight (only history requests hold a real permit).
#[derive(Debug)]
pub struct Admission(#[allow(dead_code)] Option<OwnedSemaphorePermit>);

impl Pacer {
    pub fn new(limits: PacingLimits) -> Self {
        let history = std::sync::Arc::new(Semaphore::new(limits.history_concurrency.max(1)));
        Self { limits, book: Mutex::new(Book::default()), history }
    }

    /// Waits until `path` may be called, or fails at once inside a penalty box.
    pub async fn admit(&self, path: &str) -> Result<Admission, CpapiError> {
        if let Some((p, gap)) = self.limits.once_per.iter().find(|(p, _)| *p == path).copied() {
            let mut b = self.book.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            if let Some(next) = b.next_allowed.get(p).filter(|t| **t > now) {
                return Err(CpapiError::RateLimited { retry_after: *next - now });
            }
            b.next_allowed.insert(p, now + gap);
        }
        let spaced = self.limits.spaced.iter().find(|(p, _)| *p == path).copied();
        loop {
            let wait = {
                let mut b = self.book.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                if let Some(until) = b.penalty_until
                    && now < until
                {
                    return Err(CpapiError::RateLimited { retry_after: until - now });
                }
                let global_wait = b.next_global.filter(|t| *t > now).map(|t| t - now);
                let path_wait = spaced.and_then(|(p, _)| b.next_allowed.get(p)).filter(|t| **t > now).map(|t| *t - now);
                match global_wait.into_iter().chain(path_wait).max() {
                    Some(w) => w,
                    None => {
                        b.next_global = Some(now + self.global_gap());
                        if let Some((p, gap)) = spaced {
                            // An arrival-jitter margin, as for the global window.
                            b.next_allowed.insert(p, now + gap + (gap / 10).max(JITTER_MARGIN));
                        }
                        break;
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
        if path == "/iserver/marketdata/history" {
            let permit =
                self.history.clone().acquire_owned().await.map_err(|_| CpapiError::Transport("pacer closed".into()))?;
            return Ok(Admission(Some(permit)));
        }
        Ok(Admission(None))
    }

    /// The even spacing of all requests: 1 s / the global rate, plus a margin.
    fn global_gap(&self) -> Duration {
        let per = Duration::from_secs(1) / u32::try_from(self.limits.global_per_second.max(1)).unwrap_or(u32::MAX);
        per + per * GLOBAL_MARGIN_PCT / 100
    }

    /// How long the penalty box still holds every request, if it does.
    pub fn penalty_left(&self) -> Option<Duration> {
        let b = self.book.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        b.penalty_until.filter(|t| *t > now).map(|t| t - now)
    }

    /// Records a 429: stay away for `retry_after`, or an escalating default.
    pub fn penalize(&self, retry_after: Option<Duration>) -> Duration {
        let mut b = self.book.lock().unwrap_or_else(|p| p.into_inner());
        let d = retry_after.unwrap_or_else(|| match b.penalty {
            Some(prev) => (prev * 2).min(self.limits.max_penalty),
            None => self.limits.first_penalty,
        });
        b.penalty = Some(d);
        b.penalty_until = Some(Instant::now() + d);
        d
    }

    /// A success after a penalty resets the escalation.
    pub fn clear_penalty(&self) {
        let mut b = self.book.lock().unwrap_or_else(|p| p.into_inner());
        if b.penalty_until.is_some_and(|t| Instant::now() >= t) {
            b.penalty = None;
            b.penalty_until = None;
        }
    }
}

#[cfg(test)]
#[path = "pacing_tests.rs"]
mod tests;
