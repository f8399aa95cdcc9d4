//! How scans get categories, strategy tags and inverse partners: word-boundary rules over the
//! tokens of the scan code and name (so "rsi" never matches inside "controversies"), with
//! polarity from HIGH/LOW, ASC/DESC, GAIN/LOSE, BULLISH/BEARISH.

/// Lowercase tokens of a code or name: split on anything not a letter or digit, and on
/// camelCase boundaries ("peRatio" → "pe", "ratio"; "EffectiveMaturity" → "effective",
/// "maturity"). Digit runs stay with the letters after them ("52W" → "52w").
pub fn tokens(s: &str) -> Vec<String> {
    let mut out = vec![];
    for word in s.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        let chars: Vec<char> = word.chars().collect();
        let mut cur = String::new();
        for (i, c) in chars.iter().enumerate() {
            let boundary = i > 0 && c.is_ascii_uppercase() && chars[i - 1].is_ascii_lowercase();
            if boundary && !cur.is_empty() {
                out.push(std::mem::take(&mut cur).to_ascii_lowercase());
            }
            cur.push(*c);
        }
        if !cur.is_empty() {
            out.push(cur.to_ascii_lowercase());
        }
    }
    out
}

/// Whether `phrase` (space-separated tokens) appears as consecutive tokens.
fn has(tokens: &[String], phrase: &str) -> bool {
    let p: Vec<&str> = phrase.split(' ').collect();
    tokens.windows(p.len()).any(|w| w.iter().zip(&p).all(|(a, b)| a == b))
}

fn any(tokens: &[String], phrases: &[&str]) -> bool {
    phrases.iter().any(|p| has(tokens, p))
}

/// Which way a scan sorts: the high end of its measure, or the low end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Polarity {
    High,
    Low,
}

impl Polarity {
    pub fn as_str(self) -> &'static str {
        match self {
            Polarity::High => "high",
            Polarity::Low => "low",
        }
    }
}

/// The polarity the code's own words give (ASC sorts lowest first).
pub fn polarity(code_tokens: &[String]) -> Option<Polarity> {
    let high = ["high", "highest", "desc", "gain", "gainers", "bullish", "top", "up", "above", "most"];
    let low = ["low", "lowest", "asc", "lose", "losers", "bearish", "bottom", "down", "below", "least"];
    // The last directional word wins: "TOP_PERC_LOSE" is a loser scan, "SCAN_x_ASC" ascending.
    code_tokens.iter().rev().find_map(|t| {
        if high.contains(&t.as_str()) {
            Some(Polarity::High)
        } else if low.contains(&t.as_str()) {
            Some(Polarity::Low)
        } else {
            None
        }
    })
}

const VALUATION: &[&str] = &[
    "pe",
    "pe ratio",
    "price book",
    "price to book",
    "price tang",
    "price sales",
    "price to sales",
    "price cash",
    "price to cash",
    "ev ebitda",
    "enterprise value",
    "price2bk",
    "price2tanbk",
];
const GROWTH: &[&str] = &[
    "growth",
    "growth rate",
    "eps change",
    "eps chg",
    "rev change",
    "revenue change",
    "revenue growth",
    "sales growth",
    "eps growth",
];
const QUALITY: &[&str] =
    &["roe", "roa", "return on equity", "return on assets", "margin", "quick ratio", "current ratio", "retequity"];
const INCOME: &[&str] = &["dividend", "dividends", "div", "yield", "payout", "divyield", "divib"];

/// Strategy tags for a scan, from its code, name and vendor.
pub fn tags(code: &str, name: &str, vendor: Option<&str>) -> Vec<&'static str> {
    let ct = tokens(code);
    let mut t = ct.clone();
    t.extend(tokens(name));
    let pol = polarity(&ct);
    let mut out: Vec<&'static str> = vec![];
    let mut add = |tag: &'static str, yes: bool| {
        if yes && !out.contains(&tag) {
            out.push(tag);
        }
    };
    let bond = any(&t, &["bond", "bonds", "coupon", "maturity", "cusip", "moody", "treasuries", "cds"])
        || matches!(vendor, Some("MOODY" | "SP"));
    add("bonds", bond);
    let valuation = any(&t, VALUATION);
    add("value", valuation && pol == Some(Polarity::Low));
    add("overvalued", valuation && pol == Some(Polarity::High));
    add("growth", any(&t, GROWTH) && pol != Some(Polarity::Low));
    add("quality", any(&t, QUALITY) && pol != Some(Polarity::Low));
    add("income", !bond && any(&t, INCOME) && pol != Some(Polarity::Low));
    let mover = any(&t, &["perc gain", "perc lose", "gainers", "losers", "gainer", "loser", "change", "chg"])
        && !any(&t, GROWTH);
    let technical = any(
        &t,
        &["ema", "macd", "rsi", "ppo", "bollinger", "moving average", "stochastic", "sma", "bullish", "bearish"],
    );
    add("momentum_up", (mover || technical) && pol == Some(Polarity::High) && !any(&t, &["volat", "imp", "iv"]));
    add("momentum_down", (mover || technical) && pol == Some(Polarity::Low) && !any(&t, &["volat", "imp", "iv"]));
    add("technical", technical);
    add(
        "analyst",
        any(&t, &["analyst", "price target", "avgrating", "avg rating", "rating", "ratings", "target"]) && !bond,
    );
    add("gap", any(&t, &["gap", "opengap"]));
    add("volatility", any(&t, &["volat", "volatility", "imp volat", "implied", "hv", "iv", "histvol"]));
    add(
        "events",
        any(&t, &["earnings", "event", "events", "meeting", "ex date", "exdate", "wsh", "ipo", "split"])
            || vendor == Some("WSH"),
    );
    add("leverage", any(&t, &["debt", "leverage", "lt debt"]));
    add("efficiency", any(&t, &["turnover", "return on investment", "roi", "cash per share"]));
    add(
        "risk_adjusted",
        any(&t, &["sharpe", "sortino", "treynor", "information ratio", "max drawdown", "drawdown", "risk"]),
    );
    add("esg", any(&t, &["esg", "carbon", "emissions", "controversies", "sustainability"]));
    add(
        "short_interest",
        any(&t, &["short interest", "days to cover", "short ratio", "shortable", "short sale", "shortsale"]),
    );
    add("stock_loan", any(&t, &["slb", "fee rate", "feerate", "rebate", "borrow", "utilization"]));
    add(
        "activity",
        any(&t, &["most active", "volume", "trade count", "hot", "active", "tradecount"])
            && !any(&t, &["opt", "option", "options"]),
    );
    add("options_flow", any(&t, &["opt", "option", "options", "put call", "open interest", "optvolume"]));
    add("high_low", any(&t, &["13w", "26w", "52w", "week high", "week low", "weeks high", "weeks low"]));
    add("imbalance", any(&t, &["imbalance"]));
    add(
        "ownership",
        any(&t, &["insider", "institutional", "institution", "ownership", "owner"]) || vendor == Some("MSOWN"),
    );
    add("etf", vendor == Some("ALV") || any(&t, &["etf", "etfs"]));
    add("funds", any(&t, &["lipper", "fund", "funds"]));
    out
}

/// The category of a scan the reference leaves uncategorised (or in its "Other" bucket).
pub fn category(code: &str, name: &str, vendor: Option<&str>) -> &'static str {
    let mut t = tokens(code);
    t.extend(tokens(name));
    match vendor {
        Some("ALV") => return "ETFs",
        Some("MOODY" | "SP") => return "Bonds",
        Some("WSH") => return "Events & Earnings",
        Some("MSOWN") => return "Ownership",
        Some("RCG") => return "Technical Signals",
        _ => {}
    }
    if has(&t, "lipper") {
        "Funds"
    } else if any(&t, &["esg", "carbon", "emissions", "controversies"]) {
        "ESG"
    } else if any(&t, &["bond", "bonds", "coupon", "maturity", "cusip"]) {
        "Bonds"
    } else if any(&t, &["ema", "macd", "rsi", "ppo", "bullish", "bearish", "sma", "bollinger"]) {
        "Technical Signals"
    } else if vendor == Some("REUTFUND") || (has(&t, "scan") && any(&t, &["asc", "desc"])) {
        "Fundamentals"
    } else {
        "Other"
    }
}

/// Word pairs whose swap turns a scan into its inverse.
const INVERSES: &[(&str, &str)] = &[
    ("HIGH", "LOW"),
    ("HIGHEST", "LOWEST"),
    ("ASC", "DESC"),
    ("GAIN", "LOSE"),
    ("GAINERS", "LOSERS"),
    ("BULLISH", "BEARISH"),
    ("NEXT", "PREV"),
    ("FAR", "NEAR"),
    ("AZ", "ZA"),
    ("BUY", "SELL"),
    ("UP", "DOWN"),
    ("TOP", "BOTTOM"),
    ("ABOVE", "BELOW"),
];

/// Candidate inverse codes of `code`, most specific first: one `_`-separated word swapped.
pub fn inverse_candidates(code: &str) -> Vec<String> {
    let words: Vec<&str> = code.split('_').collect();
    let mut out = vec![];
    for (i, w) in words.iter().enumerate().rev() {
        for (a, b) in INVERSES {
            let swapped = if w == a {
                Some(b)
            } else if w == b {
                Some(a)
            } else {
                None
            };
            if let Some(s) = swapped {
                let mut c = words.clone();
                c[i] = s;
                out.push(c.join("_"));
            }
        }
    }
    out
}
