use super::*;

#[tokio::test(start_paused = true)]
async fn spaced_endpoints_wait_their_turn() {
    let p = Pacer::new(PacingLimits::ibkr());
    let t0 = Instant::now();
    p.admit("/iserver/account/orders").await.unwrap();
    p.admit("/iserver/account/orders").await.unwrap();
    assert!(Instant::now() - t0 >= Duration::from_secs(5));
    // Other endpoints wait only for the even global spacing, not for the 5 s.
    let t1 = Instant::now();
    p.admit("/iserver/accounts").await.unwrap();
    assert!(Instant::now() - t1 <= Duration::from_millis(110));
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

/// As the gateway counts them: no one-second window holds more than 10 admissions,
/// even when arrivals drift by tens of milliseconds.
#[tokio::test(start_paused = true)]
async fn requests_are_spaced_evenly_never_in_bursts() {
    let p = Pacer::new(PacingLimits::ibkr());
    let t0 = Instant::now();
    let mut at = vec![];
    for _ in 0..40 {
        p.admit("/iserver/marketdata/snapshot").await.unwrap();
        at.push(Instant::now() - t0);
    }
    for w in at.windows(2) {
        assert!(w[1] - w[0] >= Duration::from_millis(110), "gap {:?}", w[1] - w[0]);
    }
    let worst = at
        .iter()
        .map(|start| at.iter().filter(|t| **t >= *start && **t < *start + Duration::from_millis(1050)).count())
        .max()
        .unwrap();
    assert!(worst <= 10, "{worst} requests within 1.05 s");
}

#[tokio::test(start_paused = true)]
async fn a_penalty_box_fails_fast_and_escalates() {
    let p = Pacer::new(PacingLimits::ibkr());
    assert_eq!(p.penalize(None), Duration::from_secs(600), "IBKR's box lasts 10-15 minutes");
    let e = p.admit("/iserver/accounts").await.unwrap_err();
    assert!(matches!(e, CpapiError::RateLimited { .. }));
    assert!(p.penalty_left().is_some_and(|d| d > Duration::from_secs(590)));
    tokio::time::advance(Duration::from_secs(120)).await;
    assert!(p.admit("/iserver/accounts").await.is_err(), "still boxed after 2 minutes");
    tokio::time::advance(Duration::from_secs(481)).await;
    assert!(p.admit("/iserver/accounts").await.is_ok());
    assert_eq!(p.penalty_left(), None);
    assert_eq!(p.penalize(None), Duration::from_secs(900), "a repeat escalates to the 15-minute cap");
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

#[tokio::test(start_paused = true)]
async fn once_per_window_endpoints_refuse_at_once_with_the_wait_instead_of_sleeping() {
    let p = Pacer::new(PacingLimits::ibkr());
    p.admit("/pa/performance").await.unwrap();
    let t0 = Instant::now();
    match p.admit("/pa/performance").await {
        Err(CpapiError::RateLimited { retry_after }) => {
            assert!(
                retry_after > Duration::from_secs(890) && retry_after <= Duration::from_secs(900),
                "{retry_after:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(Instant::now(), t0, "no waiting inside a tool call");
    // Another analyst endpoint has its own window; after 15 minutes the first is open again.
    p.admit("/pa/transactions").await.unwrap();
    tokio::time::advance(Duration::from_secs(901)).await;
    p.admit("/pa/performance").await.unwrap();
}
