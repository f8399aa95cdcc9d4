//! Pacing for IBKR's documented limits: a global rate, minimum spacing per endpoint, a cap on
//! concurrent history requests, and a penalty box after a 429 that we never hammer.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::Duration,
};

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
                ("/iserver/account/pnl/partitioned", Duration::from_secs(5)),
                ("/portfolio/accounts", Duration::from_secs(5)),
                ("/portfolio/subaccounts", Duration::from_secs(5)),
                ("/iserver/scanner/run", Duration::from_secs(1)),
                ("/iserver/scanner/params", Duration::from_secs(900)),
                ("/tickle", Duration::from_secs(1)),
                ("/sso/validate", Duration::from_secs(60)),
            ],
            history_concurrency: 5,
            first_penalty: Duration::from_secs(60),
            max_penalty: Duration::from_secs(900),
        }
    }

    /// The same limits with every spacing multiplied by `factor` (tests use small factors
    /// against a fake with the same scaled limits).
    pub fn scaled(mut self, factor: f64) -> Self {
        for (_, d) in &mut self.spaced {
            *d = d.mul_f64(factor);
        }
        self.first_penalty = self.first_penalty.mul_f64(factor);
        self.max_penalty = self.max_penalty.mul_f64(factor);
        self
    }
}

/// The global window, with a margin: the gateway counts arrivals, which jitter after we
/// admit, so a window of exactly one second can look like eleven requests to it.
const WINDOW: Duration = Duration::from_millis(1100);

/// The least margin added to a per-endpoint spacing.
const JITTER_MARGIN: Duration = Duration::from_millis(50);

#[derive(Debug, Default)]
struct Book {
    recent: VecDeque<Instant>,
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
                while b.recent.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                    b.recent.pop_front();
                }
                let global_wait = if b.recent.len() >= self.limits.global_per_second {
                    b.recent.front().map(|t| *t + WINDOW - now)
                } else {
                    None
                };
                let path_wait = spaced.and_then(|(p, _)| b.next_allowed.get(p)).filter(|t| **t > now).map(|t| *t - now);
                match global_wait.into_iter().chain(path_wait).max() {
                    Some(w) => w,
                    None => {
                        b.recent.push_back(now);
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
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaced_endpoints_wait_their_turn() {
        let p = Pacer::new(PacingLimits::ibkr());
        let t0 = Instant::now();
        p.admit("/iserver/account/orders").await.unwrap();
        p.admit("/iserver/account/orders").await.unwrap();
        assert!(Instant::now() - t0 >= Duration::from_secs(5));
        // Other endpoints are not held up by it.
        let t1 = Instant::now();
        p.admit("/iserver/accounts").await.unwrap();
        assert_eq!(Instant::now(), t1);
    }

    #[tokio::test(start_paused = true)]
    async fn no_burst_above_the_global_rate() {
        let p = Pacer::new(PacingLimits::ibkr());
        let t0 = Instant::now();
        for _ in 0..25 {
            p.admit("/iserver/marketdata/snapshot").await.unwrap();
        }
        assert!(Instant::now() - t0 >= Duration::from_secs(2), "25 requests at 10/s take at least 2 s");
    }

    #[tokio::test(start_paused = true)]
    async fn a_penalty_box_fails_fast_and_escalates() {
        let p = Pacer::new(PacingLimits::ibkr());
        assert_eq!(p.penalize(None), Duration::from_secs(60));
        let e = p.admit("/iserver/accounts").await.unwrap_err();
        assert!(matches!(e, CpapiError::RateLimited { .. }));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(p.admit("/iserver/accounts").await.is_ok());
        assert_eq!(p.penalize(None), Duration::from_secs(120), "a repeat doubles");
        assert_eq!(p.penalize(Some(Duration::from_secs(7))), Duration::from_secs(7), "Retry-After wins");
    }

    #[tokio::test(start_paused = true)]
    async fn history_is_capped_at_five_concurrent() {
        let p = std::sync::Arc::new(Pacer::new(PacingLimits::ibkr()));
        let mut held = vec![];
        for _ in 0..5 {
            held.push(p.admit("/iserver/marketdata/history").await.unwrap());
        }
        let p2 = p.clone();
        let sixth = tokio::spawn(async move { p2.admit("/iserver/marketdata/history").await.map(|_| ()) });
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(!sixth.is_finished());
        held.pop();
        sixth.await.unwrap().unwrap();
    }
}
