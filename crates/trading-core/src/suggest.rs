//! "Did you mean": the valid names a misspelled one most likely meant (tool parameters,
//! symbols a simulator lists). Case is ignored.

/// Edit distance counting a swap of neighbours as one edit (`APPL` is one from `AAPL`).
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The valid names a misspelled one most likely meant: those that contain it or are
/// contained in it (`limit` → `limit_price`, `price` → `limit_price` or `stop_price`), else the
/// closest by edit distance within a third of its length.
pub fn nearest<'a>(wrong: &str, valid: &[&'a str]) -> Vec<&'a str> {
    let w = wrong.to_ascii_lowercase();
    if w.is_empty() {
        return vec![];
    }
    let w = w.as_str();
    let lower: Vec<(String, &str)> = valid.iter().map(|v| (v.to_ascii_lowercase(), *v)).collect();
    let related: Vec<&str> = lower
        .iter()
        .filter(|(l, _)| l.starts_with(w) || w.starts_with(l.as_str()) || l.split(['_', '/']).any(|p| p == w))
        .map(|(_, v)| *v)
        .collect();
    if !related.is_empty() {
        return related;
    }
    let best = lower
        .iter()
        .map(|(l, v)| (distance(w, l), *v, l.len()))
        .filter(|(d, _, len)| *d <= ((*len).max(w.len()) / 3).max(1))
        .min_by_key(|(d, _, _)| *d);
    best.map(|(_, v, _)| vec![v]).unwrap_or_default()
}

#[cfg(test)]
#[path = "suggest_tests.rs"]
mod tests;
