//! Technical indicators over closes, matching pandas: SMA (rolling mean), EMA
//! (`ewm(span, adjust=False)`), RSI (Wilder, `ewm(alpha=1/n, adjust=False)`), MACD, Bollinger
//! (rolling sample standard deviation).

use serde::Serialize;

/// Simple moving average of the last `n` closes.
pub fn sma(x: &[f64], n: usize) -> Option<f64> {
    (n > 0 && x.len() >= n).then(|| x[x.len() - n..].iter().sum::<f64>() / n as f64)
}

fn ewm(x: &[f64], alpha: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for (i, v) in x.iter().enumerate() {
        out.push(if i == 0 { *v } else { alpha * v + (1.0 - alpha) * out[i - 1] });
    }
    out
}

/// Exponential moving average with span `n` (alpha = 2/(n+1)), the whole series.
pub fn ema_series(x: &[f64], n: usize) -> Vec<f64> {
    ewm(x, 2.0 / (n as f64 + 1.0))
}

pub fn ema(x: &[f64], n: usize) -> Option<f64> {
    (n > 0 && !x.is_empty()).then(|| ema_series(x, n)).and_then(|s| s.last().copied())
}

/// Wilder's RSI over `n` periods; 100 when there were no losses, none without enough data.
pub fn rsi(x: &[f64], n: usize) -> Option<f64> {
    if n == 0 || x.len() <= n {
        return None;
    }
    let d: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    let gains: Vec<f64> = d.iter().map(|v| v.max(0.0)).collect();
    let losses: Vec<f64> = d.iter().map(|v| (-v).max(0.0)).collect();
    let a = 1.0 / n as f64;
    let (g, l) = (*ewm(&gains, a).last()?, *ewm(&losses, a).last()?);
    Some(if l == 0.0 { 100.0 } else { 100.0 - 100.0 / (1.0 + g / l) })
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Macd {
    pub macd: f64,
    pub signal: f64,
    pub histogram: f64,
}

/// MACD(12, 26, 9).
pub fn macd(x: &[f64]) -> Option<Macd> {
    if x.len() < 26 {
        return None;
    }
    let (fast, slow) = (ema_series(x, 12), ema_series(x, 26));
    let line: Vec<f64> = fast.iter().zip(&slow).map(|(f, s)| f - s).collect();
    let signal = *ema_series(&line, 9).last()?;
    let m = *line.last()?;
    Some(Macd { macd: m, signal, histogram: m - signal })
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bollinger {
    pub lower: f64,
    pub middle: f64,
    pub upper: f64,
}

/// Bollinger bands: SMA(n) ± k sample standard deviations.
pub fn bollinger(x: &[f64], n: usize, k: f64) -> Option<Bollinger> {
    let mid = sma(x, n)?;
    if n < 2 {
        return None;
    }
    let w = &x[x.len() - n..];
    let sd = (w.iter().map(|v| (v - mid).powi(2)).sum::<f64>() / (n as f64 - 1.0)).sqrt();
    Some(Bollinger { lower: mid - k * sd, middle: mid, upper: mid + k * sd })
}
