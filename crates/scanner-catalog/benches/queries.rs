//! Catalog load and query times. Run: `cargo bench -p scanner-catalog --bench queries`.

use std::time::{Duration, Instant};

use scanner_catalog::Catalog;
use serde_json::json;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e6
}

fn main() {
    let t = Instant::now();
    let cat = Catalog::get();
    println!(
        "first load (parse the committed catalog.json, {} scans, {} filters): {:.1} ms",
        cat.scans.len(),
        cat.filters.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut n = 0;
    type Case<'a> = (&'a str, Box<dyn Fn() -> usize + 'a>);
    let cases: [Case; 4] = [
        (
            "search strategy=income instrument=STK",
            Box::new(|| cat.search(None, None, Some("income"), Some("STK")).len()),
        ),
        ("search query=dividend yield", Box::new(|| cat.search(Some("dividend yield"), None, None, None).len())),
        ("scan by code", Box::new(|| usize::from(cat.scan("TOP_PERC_GAIN").is_some()))),
        (
            "validate a run with two filters",
            Box::new(|| {
                usize::from(
                    cat.validate(
                        "TOP_PERC_GAIN",
                        "STK",
                        "STK.US.MAJOR",
                        &[("priceAbove".into(), json!(5)), ("marketCapAbove1e6".into(), json!(100))],
                    )
                    .is_ok(),
                )
            }),
        ),
    ];
    for (name, f) in &cases {
        let mut v = vec![];
        for _ in 0..2000 {
            let t = Instant::now();
            n += f();
            v.push(t.elapsed());
        }
        println!("{name:<40} median {:.1} µs", median(v));
    }
    println!("(checksum {n})");
}
