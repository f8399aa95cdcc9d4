//! Value at risk (parametric by the covariance method, and historical) and beta.

use serde::Serialize;

use crate::stats::{Matrix, covariance, percentile, variance};

/// One-sided standard normal quantiles.
pub const Z95: f64 = 1.6448536269514722;
pub const Z99: f64 = 2.3263478740408408;

/// Parametric VaR of a portfolio of money exposures under a covariance of returns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParametricVar {
    /// Portfolio standard deviation of one-day P&L, in money.
    pub sigma: f64,
    pub var: f64,
    /// Each position's share of the VaR; they add up to `var`.
    pub components: Vec<f64>,
}

/// `var = z·sqrt(wᵀΣw)`, components `z·w_i(Σw)_i/σ` (zero-mean one-day returns).
pub fn parametric_var(exposures: &[f64], cov: &Matrix, z: f64) -> ParametricVar {
    let sw: Vec<f64> = cov.iter().map(|row| row.iter().zip(exposures).map(|(c, w)| c * w).sum()).collect();
    let var_p: f64 = exposures.iter().zip(&sw).map(|(w, s)| w * s).sum::<f64>().max(0.0);
    let sigma = var_p.sqrt();
    let components = if sigma > 0.0 {
        exposures.iter().zip(&sw).map(|(w, s)| z * w * s / sigma).collect()
    } else {
        vec![0.0; exposures.len()]
    };
    ParametricVar { sigma, var: z * sigma, components }
}

/// Historical VaR: the loss at the `(100 − confidence)` percentile of the portfolio's
/// one-day P&L series (linear interpolation).
pub fn historical_var(pnl: &[f64], confidence: f64) -> Option<f64> {
    percentile(pnl, 100.0 - confidence).map(|q| -q)
}

/// Daily P&L of money exposures over return series aligned at their ends (the most recent
/// day last), over the days every series has.
pub fn portfolio_pnl(exposures: &[f64], returns: &[Vec<f64>]) -> Vec<f64> {
    let n = returns.iter().map(Vec::len).min().unwrap_or(0);
    (0..n).map(|t| exposures.iter().zip(returns).map(|(w, r)| w * r[r.len() - n + t]).sum()).collect()
}

/// Beta of an asset to a benchmark: cov(a, b) / var(b); none when the benchmark is flat.
pub fn beta(asset: &[f64], bench: &[f64]) -> Option<f64> {
    let n = asset.len().min(bench.len());
    let vb = variance(&bench[bench.len() - n..]);
    (vb > 0.0).then(|| covariance(&asset[asset.len() - n..], &bench[bench.len() - n..]) / vb)
}

/// Beta of the book: betas weighted by |exposure| share.
pub fn weighted_beta(exposures: &[f64], betas: &[f64]) -> f64 {
    let gross: f64 = exposures.iter().map(|e| e.abs()).sum();
    if gross <= 0.0 {
        return 0.0;
    }
    exposures.iter().zip(betas).map(|(e, b)| e / gross * b).sum()
}
