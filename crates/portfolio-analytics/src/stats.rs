//! Returns, means, sample covariance and Pearson correlation (ddof = 1, like pandas).

/// Simple daily returns `p[t] / p[t-1] - 1`; a non-positive price gives no return for that step.
pub fn daily_returns(closes: &[f64]) -> Vec<f64> {
    closes.windows(2).map(|w| if w[0] > 0.0 { w[1] / w[0] - 1.0 } else { 0.0 }).collect()
}

pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() { 0.0 } else { x.iter().sum::<f64>() / x.len() as f64 }
}

/// Sample covariance of two equally long series (0 when shorter than 2).
pub fn covariance(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 0.0;
    }
    let (ma, mb) = (mean(&a[..n]), mean(&b[..n]));
    a[..n].iter().zip(&b[..n]).map(|(x, y)| (x - ma) * (y - mb)).sum::<f64>() / (n as f64 - 1.0)
}

pub fn variance(a: &[f64]) -> f64 {
    covariance(a, a)
}

/// A square matrix, row-major.
pub type Matrix = Vec<Vec<f64>>;

/// The sample covariance matrix of several return series, aligned at their ends (the most
/// recent observations) and trimmed to the shortest. Each series is de-meaned once and only
/// the upper triangle is computed.
pub fn covariance_matrix(series: &[Vec<f64>]) -> Matrix {
    let k = series.len();
    let n = series.iter().map(Vec::len).min().unwrap_or(0);
    let mut m = vec![vec![0.0; k]; k];
    if n < 2 {
        return m;
    }
    let centered: Vec<Vec<f64>> = series
        .iter()
        .map(|s| {
            let recent = tail(s, n);
            let mu = mean(recent);
            recent.iter().map(|x| x - mu).collect()
        })
        .collect();
    for i in 0..k {
        for j in i..k {
            let c = centered[i].iter().zip(&centered[j]).map(|(a, b)| a * b).sum::<f64>() / (n as f64 - 1.0);
            m[i][j] = c;
            m[j][i] = c;
        }
    }
    m
}

/// Pearson correlations from a covariance matrix; a constant series correlates 0 with others
/// (and 1 with itself) instead of NaN.
pub fn correlation_from_covariance(cov: &Matrix) -> Matrix {
    let sd: Vec<f64> = (0..cov.len()).map(|i| cov[i][i].max(0.0).sqrt()).collect();
    (0..cov.len())
        .map(|i| {
            (0..cov.len())
                .map(|j| match (i == j, sd[i] * sd[j]) {
                    (true, _) => 1.0,
                    (false, d) if d > 0.0 => (cov[i][j] / d).clamp(-1.0, 1.0),
                    _ => 0.0,
                })
                .collect()
        })
        .collect()
}

/// The value at percentile `q` (0..=100) with linear interpolation (numpy's default).
pub fn percentile(x: &[f64], q: f64) -> Option<f64> {
    if x.is_empty() || !(0.0..=100.0).contains(&q) {
        return None;
    }
    let mut v = x.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let pos = q / 100.0 * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

/// The last `n` elements (all when shorter).
pub fn tail(x: &[f64], n: usize) -> &[f64] {
    &x[x.len().saturating_sub(n)..]
}
