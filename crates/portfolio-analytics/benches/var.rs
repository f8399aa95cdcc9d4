//! VaR and correlation for 200 positions × 252 days.
//! Run: `cargo bench -p portfolio-analytics --bench var`.

use std::time::{Duration, Instant};

use portfolio_analytics::{
    risk::{Z95, Z99, historical_var, parametric_var, portfolio_pnl},
    stats::{correlation_from_covariance, covariance_matrix, daily_returns},
};

fn main() {
    let (k, t) = (200usize, 253usize);
    let closes: Vec<Vec<f64>> = (0..k)
        .map(|i| {
            let mut p = 50.0 + i as f64;
            (0..t)
                .map(|d| {
                    p *= 1.0
                        + 0.01
                            * ((d as f64 * 0.7 + i as f64 * 1.3).sin() + 0.3 * ((d * (i + 3)) % 11) as f64 / 11.0
                                - 0.15);
                    p
                })
                .collect()
        })
        .collect();
    let exposures: Vec<f64> = (0..k).map(|i| 1000.0 + 37.0 * i as f64).collect();
    let mut runs: Vec<Duration> = vec![];
    let mut sink = 0.0;
    for _ in 0..25 {
        let start = Instant::now();
        let returns: Vec<Vec<f64>> = closes.iter().map(|c| daily_returns(c)).collect();
        let cov = covariance_matrix(&returns);
        let corr = correlation_from_covariance(&cov);
        let v95 = parametric_var(&exposures, &cov, Z95);
        let v99 = parametric_var(&exposures, &cov, Z99);
        let pnl = portfolio_pnl(&exposures, &returns);
        let h = historical_var(&pnl, 95.0).unwrap_or(0.0) + historical_var(&pnl, 99.0).unwrap_or(0.0);
        runs.push(start.elapsed());
        sink += v95.var + v99.var + h + corr[1][2];
    }
    runs.sort();
    println!(
        "returns + covariance + correlation + parametric VaR 95/99 with components + historical VaR, {k} positions × {} days: median {:.2} ms, max {:.2} ms (checksum {sink:.3})",
        t - 1,
        runs[runs.len() / 2].as_secs_f64() * 1e3,
        runs[runs.len() - 1].as_secs_f64() * 1e3
    );
}
