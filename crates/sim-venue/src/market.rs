//! Seeded price paths: one per symbol, advanced in lock-step by the simulator's step counter,
//! so the price at step n depends only on the seed and the symbol.

use std::collections::HashMap;

use rust_decimal::{Decimal, RoundingStrategy};

/// A small, fast, well-mixed generator (SplitMix64): deterministic and dependency-free.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Starting prices of the familiar tickers (rough late-2026 levels; only the shape matters).
pub const FAMILIAR: &[(&str, i64)] = &[
    ("AAPL", 23000),
    ("MSFT", 42000),
    ("NVDA", 14000),
    ("AMZN", 20000),
    ("GOOGL", 17500),
    ("META", 56000),
    ("TSLA", 25000),
    ("SPY", 59000),
    ("QQQ", 51000),
    ("KO", 6200),
];

/// How strongly a symbol follows the simulated market (SPY is 1).
fn symbol_beta(symbol: &str) -> Decimal {
    const BETAS: &[(&str, i64)] = &[
        ("SPY", 100),
        ("QQQ", 115),
        ("AAPL", 120),
        ("MSFT", 110),
        ("NVDA", 160),
        ("AMZN", 130),
        ("GOOGL", 110),
        ("META", 130),
        ("TSLA", 180),
        ("KO", 60),
    ];
    let b = BETAS
        .iter()
        .find(|(s, _)| *s == symbol)
        .map(|(_, b)| *b)
        .unwrap_or_else(|| 50 + i64::try_from(fnv1a(symbol) % 100).unwrap_or(0));
    Decimal::new(b, 2)
}

/// Sectors of the familiar tickers (ETFs as their own group).
pub const SECTORS: &[(&str, &str)] = &[
    ("AAPL", "Technology"),
    ("MSFT", "Technology"),
    ("NVDA", "Technology"),
    ("AMZN", "Consumer Discretionary"),
    ("TSLA", "Consumer Discretionary"),
    ("GOOGL", "Communication Services"),
    ("META", "Communication Services"),
    ("KO", "Consumer Staples"),
    ("SPY", "ETF"),
    ("QQQ", "ETF"),
];

/// Company names of the familiar tickers.
pub const NAMES: &[(&str, &str)] = &[
    ("AAPL", "APPLE INC"),
    ("MSFT", "MICROSOFT CORP"),
    ("NVDA", "NVIDIA CORP"),
    ("AMZN", "AMAZON.COM INC"),
    ("GOOGL", "ALPHABET INC-CL A"),
    ("META", "META PLATFORMS INC-CLASS A"),
    ("TSLA", "TESLA INC"),
    ("SPY", "SPDR S&P 500 ETF TRUST"),
    ("QQQ", "INVESCO QQQ TRUST SERIES 1"),
    ("KO", "COCA-COLA CO/THE"),
];

/// The company name of a familiar ticker.
pub fn name_of(symbol: &str) -> Option<&'static str> {
    NAMES.iter().find(|(s, _)| *s == symbol).map(|(_, n)| *n)
}

/// The sector of a familiar ticker.
pub fn sector_of(symbol: &str) -> Option<&'static str> {
    SECTORS.iter().find(|(s, _)| *s == symbol).map(|(_, x)| *x)
}

/// What one unit of each currency is worth in US dollars, in ten-thousandths (rough late-2026
/// levels; the simulator's rates do not move).
pub const FX_TO_USD: &[(&str, i64)] = &[
    ("USD", 10_000),
    ("EUR", 10_850),
    ("GBP", 12_700),
    ("CHF", 11_300),
    ("JPY", 67),
    ("CAD", 7_300),
    ("AUD", 6_500),
    ("HKD", 1_280),
];

/// Units of `to` per unit of `from` (8 decimals), when both are in [`FX_TO_USD`].
pub fn fx_rate(from: &str, to: &str) -> Option<Decimal> {
    let usd =
        |c: &str| FX_TO_USD.iter().find(|(k, _)| k.eq_ignore_ascii_case(c.trim())).map(|(_, v)| Decimal::from(*v));
    Some((usd(from)? / usd(to)?).round_dp(8))
}

/// Largest single-step move, in basis points.
const MAX_STEP_BPS: u64 = 20;

#[derive(Clone, Debug)]
struct Path {
    rng: SplitMix64,
    price: Decimal,
    step: u64,
}

/// Bid, last and ask at one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tick {
    pub bid: Decimal,
    pub last: Decimal,
    pub ask: Decimal,
}

/// All price paths of one simulated market.
#[derive(Clone, Debug)]
pub struct Market {
    seed: u64,
    overrides: HashMap<String, Decimal>,
    paths: HashMap<String, Path>,
}

fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
}

impl Market {
    /// A market whose paths derive from `seed`; `overrides` set starting prices.
    pub fn new(seed: u64, overrides: HashMap<String, Decimal>) -> Self {
        Self { seed, overrides, paths: HashMap::new() }
    }

    fn start_price(&self, symbol: &str) -> Decimal {
        if let Some(p) = self.overrides.get(symbol) {
            return *p;
        }
        if let Some((_, c)) = FAMILIAR.iter().find(|(s, _)| *s == symbol) {
            return Decimal::new(*c, 2);
        }
        // Any other symbol gets a stable price between 10 and 500.
        Decimal::new(1000 + i64::try_from(fnv1a(symbol) % 49_000).unwrap_or(0), 2)
    }

    /// The tick of `symbol` at `step`, advancing its path as needed.
    pub fn tick(&mut self, symbol: &str, step: u64) -> Tick {
        let start = self.start_price(symbol);
        let seed = self.seed ^ fnv1a(symbol);
        let path = self.paths.entry(symbol.to_string()).or_insert_with(|| Path {
            rng: SplitMix64::new(seed),
            price: start,
            step: 0,
        });
        while path.step < step {
            let r = path.rng.next_u64() % (2 * MAX_STEP_BPS + 1);
            let bps = Decimal::from(i64::try_from(r).unwrap_or(0) - i64::try_from(MAX_STEP_BPS).unwrap_or(0));
            let moved = cents(path.price * (Decimal::ONE + bps / Decimal::from(10_000)));
            path.price = moved.max(Decimal::new(1, 2));
            path.step += 1;
        }
        let last = path.price;
        let half = cents(last * Decimal::new(2, 4)).max(Decimal::new(1, 2));
        Tick { bid: (last - half).max(Decimal::new(1, 2)), last, ask: last + half }
    }
}

/// One day of simulated history: open, high, low, close (cents) and volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DailyBar {
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: Decimal,
}

impl Market {
    /// `days` past daily bars of `symbol`, oldest first, ending the day before `today_close`.
    /// Depends only on the seed and the symbol (a daily walk of about 1.4% volatility ending
    /// at the symbol's starting price), so history is stable while the intraday price moves.
    pub fn daily_history(&self, symbol: &str, days: usize) -> Vec<DailyBar> {
        let mut rng = SplitMix64::new(self.seed ^ fnv1a(symbol) ^ 0x0DA1_1B4B);
        // One market factor shared by every symbol (SPY is the market), so correlations and
        // betas in the simulator look like a real book's.
        let mut market = SplitMix64::new(self.seed ^ 0x4D41_524B_4554);
        let beta = symbol_beta(symbol);
        let idio = if symbol == "SPY" { 20 } else { 140 };
        let bps = |r: &mut SplitMix64, amp: u64| {
            Decimal::from(i64::try_from(r.next_u64() % (2 * amp + 1)).unwrap_or(0) - i64::try_from(amp).unwrap_or(0))
        };
        let mut closes = Vec::with_capacity(days + 1);
        let mut p = self.start_price(symbol);
        closes.push(p);
        // Walk backwards from today's start price.
        for _ in 0..days {
            let m = bps(&mut market, 180);
            let r = (beta * m + bps(&mut rng, idio)) / Decimal::from(10_000);
            p = cents(p / (Decimal::ONE + r)).max(Decimal::new(1, 2));
            closes.push(p);
        }
        closes.reverse();
        closes
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let (prev, close) = (w[0], w[1]);
                // Each day's range from its own stream (by days back from today), so a day's
                // bar is the same however many days are asked.
                let back = u64::try_from(days - i).unwrap_or(0);
                let mut rng = SplitMix64::new(self.seed ^ fnv1a(symbol) ^ back.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let wiggle = |r: u64| Decimal::new(i64::try_from(r % 80).unwrap_or(0), 4);
                let open = cents(prev * (Decimal::ONE + wiggle(rng.next_u64()) - Decimal::new(40, 4)));
                let high = cents(open.max(close) * (Decimal::ONE + wiggle(rng.next_u64())));
                let low = cents(open.min(close) * (Decimal::ONE - wiggle(rng.next_u64())));
                let volume = Decimal::from(500_000 + rng.next_u64() % 4_500_000);
                DailyBar { open, high, low, close, volume }
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "market_tests.rs"]
mod tests;
