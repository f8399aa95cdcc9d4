//! Every statistic against values computed independently with numpy and pandas
//! (tests/fixtures/gen.py → tests/fixtures/reference.json), plus edge cases.

#![allow(clippy::unwrap_used)] // test code

use std::collections::HashMap;

use portfolio_analytics::{
    book::{Holding, concentration, exposure_by, margin_breach_level, stress},
    rebalance::{parse_targets, plan},
    risk::{Z95, Z99, beta, historical_var, parametric_var, portfolio_pnl, weighted_beta},
    stats::{correlation_from_covariance, covariance_matrix, daily_returns, percentile, tail},
    technicals::{bollinger, ema, macd, rsi, sma},
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::Value;

fn reference() -> Value {
    serde_json::from_str(include_str!("fixtures/reference.json")).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

fn assert_close(a: f64, b: f64, what: &str) {
    assert!(close(a, b), "{what}: ours {a} vs reference {b}");
}

fn series(r: &Value, s: &str) -> Vec<f64> {
    r["closes"][s].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
}

const HELD: [&str; 3] = ["AAA", "BBB", "CCC"];

fn exposures(r: &Value) -> Vec<f64> {
    HELD.iter().map(|s| r["quantity"][s].as_f64().unwrap() * series(r, s).last().unwrap()).collect()
}

#[test]
fn returns_match() {
    let r = reference();
    for s in ["AAA", "SPY"] {
        let ours = daily_returns(&series(&r, s));
        assert_eq!(ours.len() as u64, r["returns_len"].as_u64().unwrap());
        for (i, want) in r["returns_first3"][s].as_array().unwrap().iter().enumerate() {
            assert_close(ours[i], want.as_f64().unwrap(), &format!("{s} return {i}"));
        }
    }
}

#[test]
fn covariance_correlation_var_and_beta_match_for_60_and_252_days() {
    let r = reference();
    let rets: Vec<Vec<f64>> = HELD.iter().map(|s| daily_returns(&series(&r, s))).collect();
    let bench = daily_returns(&series(&r, "SPY"));
    let w = exposures(&r);
    for lb in [60usize, 252] {
        let want = &r[format!("lb{lb}")];
        let window: Vec<Vec<f64>> = rets.iter().map(|x| tail(x, lb).to_vec()).collect();
        let cov = covariance_matrix(&window);
        let corr = correlation_from_covariance(&cov);
        for i in 0..3 {
            for j in 0..3 {
                assert_close(cov[i][j], want["cov"][i][j].as_f64().unwrap(), &format!("cov{lb}[{i}][{j}]"));
                assert_close(corr[i][j], want["corr"][i][j].as_f64().unwrap(), &format!("corr{lb}[{i}][{j}]"));
            }
        }
        for (conf, z) in [(95, Z95), (99, Z99)] {
            let p = parametric_var(&w, &cov, z);
            assert_close(p.sigma, want["sigma"].as_f64().unwrap(), "sigma");
            assert_close(p.var, want[format!("var{conf}")].as_f64().unwrap(), &format!("var{conf}"));
            for (i, c) in p.components.iter().enumerate() {
                assert_close(
                    *c,
                    want[format!("component{conf}")][i].as_f64().unwrap(),
                    &format!("component{conf}[{i}]"),
                );
            }
            assert_close(p.components.iter().sum(), p.var, "components add up to the VaR");
            let pnl = portfolio_pnl(&w, &window);
            assert_close(
                historical_var(&pnl, conf as f64).unwrap(),
                want[format!("hist{conf}")].as_f64().unwrap(),
                &format!("hist{conf}"),
            );
        }
        let b = tail(&bench, lb);
        let betas: Vec<f64> = window.iter().map(|a| beta(a, b).unwrap()).collect();
        for (i, be) in betas.iter().enumerate() {
            assert_close(*be, want["betas"][i].as_f64().unwrap(), &format!("beta{lb}[{i}]"));
        }
        assert_close(weighted_beta(&w, &betas), want["weighted_beta"].as_f64().unwrap(), "weighted beta");
    }
}

#[test]
fn technicals_match_pandas() {
    let r = reference();
    let s = series(&r, "AAA");
    assert_close(sma(&s, 20).unwrap(), r["sma20"].as_f64().unwrap(), "sma20");
    assert_close(ema(&s, 12).unwrap(), r["ema12"].as_f64().unwrap(), "ema12");
    assert_close(rsi(&s, 14).unwrap(), r["rsi14"].as_f64().unwrap(), "rsi14");
    let m = macd(&s).unwrap();
    let want: Vec<f64> = r["macd"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_close(m.macd, want[0], "macd");
    assert_close(m.signal, want[1], "signal");
    assert_close(m.histogram, want[2], "histogram");
    let b = bollinger(&s, 20, 2.0).unwrap();
    let want: Vec<f64> = r["bollinger"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_close(b.lower, want[0], "bollinger lower");
    assert_close(b.middle, want[1], "bollinger middle");
    assert_close(b.upper, want[2], "bollinger upper");
}

fn holding(sym: &str, q: Decimal, p: Decimal, sector: &str, ccy: &str) -> Holding {
    Holding { symbol: sym.into(), quantity: q, price: p, currency: ccy.into(), sector: Some(sector.into()) }
}

#[test]
fn hhi_matches_and_weights_are_on_gross() {
    let r = reference();
    let w = exposures(&r);
    let hs: Vec<Holding> = HELD
        .iter()
        .zip(&w)
        .map(|(s, e)| {
            let q = Decimal::try_from(r["quantity"][s].as_f64().unwrap()).unwrap();
            let p = Decimal::try_from(e / r["quantity"][s].as_f64().unwrap()).unwrap();
            holding(s, q, p, "X", "USD")
        })
        .collect();
    let c = concentration(&hs, 2);
    let hhi: f64 = c.hhi.to_string().parse().unwrap();
    assert!((hhi - r["hhi"].as_f64().unwrap()).abs() < 0.01, "{hhi} vs {}", r["hhi"]);
    assert_eq!(c.weights.len(), 3);
    assert!(c.weights[0].value.abs() >= c.weights[1].value.abs());
}

#[test]
fn one_position_and_empty_books() {
    let one = [holding("AAPL", dec!(10), dec!(200), "Technology", "USD")];
    let c = concentration(&one, 5);
    assert_eq!((c.hhi, c.top_n_pct, c.effective_positions), (dec!(10000), dec!(100), dec!(1)));
    let none = concentration(&[], 5);
    assert_eq!((none.hhi, none.gross_exposure), (dec!(0), dec!(0)));
    // One asset: its VaR is z·|exposure|·sd.
    let cov = vec![vec![0.0004]];
    let p = parametric_var(&[1000.0], &cov, Z95);
    assert!(close(p.var, Z95 * 1000.0 * 0.02));
    assert!(close(p.components[0], p.var));
}

#[test]
fn constant_prices_and_short_history() {
    let flat = vec![100.0; 30];
    let r = daily_returns(&flat);
    assert!(r.iter().all(|x| *x == 0.0));
    let cov = covariance_matrix(&[r.clone(), daily_returns(&(0..30).map(|i| 100.0 + i as f64).collect::<Vec<_>>())]);
    let corr = correlation_from_covariance(&cov);
    assert_eq!(corr[0][1], 0.0, "a flat series correlates 0, not NaN");
    assert_eq!(corr[0][0], 1.0);
    assert_eq!(beta(&r, &r), None, "no beta against a flat benchmark");
    let p = parametric_var(&[1000.0, 500.0], &covariance_matrix(&[r.clone(), r.clone()]), Z99);
    assert_eq!((p.var, p.components.clone()), (0.0, vec![0.0, 0.0]));
    assert_eq!(rsi(&flat[..10], 14), None);
    assert_eq!(rsi(&(0..20).map(|i| i as f64).collect::<Vec<_>>(), 14), Some(100.0), "no losses is RSI 100");
    assert_eq!(macd(&flat[..20]), None);
    assert_eq!(percentile(&[], 5.0), None);
    assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
}

#[test]
fn exposure_by_sector_and_currency() {
    let hs = [
        holding("AAPL", dec!(10), dec!(200), "Technology", "USD"),
        holding("MSFT", dec!(5), dec!(400), "Technology", "USD"),
        holding("SAP", dec!(-4), dec!(250), "Technology", "EUR"),
        holding("KO", dec!(10), dec!(60), "Consumer Staples", "USD"),
    ];
    let by = exposure_by(&hs, |h| h.sector.clone().unwrap_or_default());
    assert_eq!(by[0].key, "Technology");
    assert_eq!((by[0].net_value, by[0].gross_value), (dec!(3000), dec!(5000)));
    assert_eq!(by[0].weight_pct, dec!(89.29));
    let ccy = exposure_by(&hs, |h| h.currency.clone());
    assert_eq!(ccy.iter().find(|b| b.key == "EUR").unwrap().net_value, dec!(-1000));
}

#[test]
fn drawdown_stress_and_margin_breach() {
    let hs = [holding("AAPL", dec!(100), dec!(200), "T", "USD"), holding("TSLA", dec!(-10), dec!(250), "C", "USD")];
    // Net long 20,000 − 2,500 = 17,500: a 20% fall loses 3,500.
    let s = stress(&hs, dec!(10000), dec!(20), Some(dec!(3000)));
    assert_eq!((s.loss, s.stressed_equity, s.equity_change_pct), (dec!(3500), dec!(6500), dec!(-35)));
    assert_eq!(s.margin_breached, Some(false));
    // Maintenance moves with |value|, which shrinks by (1 − d) for the long and the short alike:
    // breach when 10,000 − 17,500·d < 3,000·(1 − d), i.e. d > 48.28%: the first 1% step is 49%.
    let level = margin_breach_level(&hs, dec!(10000), dec!(3000), dec!(1)).unwrap();
    assert_eq!(level, dec!(49));
    assert_eq!(stress(&hs, dec!(10000), level, Some(dec!(3000))).margin_breached, Some(true));
    assert_eq!(stress(&hs, dec!(10000), level - dec!(1), Some(dec!(3000))).margin_breached, Some(false));
    assert_eq!(
        margin_breach_level(&[holding("KO", dec!(1), dec!(60), "S", "USD")], dec!(10000), dec!(10), dec!(1)),
        None
    );
}

#[test]
fn rebalance_plans_whole_and_fractional_shares() {
    let hs = [holding("AAPL", dec!(10), dec!(200), "T", "USD"), holding("KO", dec!(20), dec!(60), "S", "USD")];
    let prices: HashMap<String, Decimal> = [("MSFT".to_string(), dec!(400))].into();
    let t = parse_targets("aapl:50, MSFT:30%").unwrap();
    let p = plan(&t, &hs, &prices, dec!(10000), dec!(6800), false).unwrap();
    let line = |s: &str| p.lines.iter().find(|l| l.symbol == s).unwrap().clone();
    assert_eq!((line("AAPL").side.as_deref(), line("AAPL").quantity), (Some("BUY"), dec!(15)));
    assert_eq!(
        (line("MSFT").side.as_deref(), line("MSFT").quantity),
        (Some("BUY"), dec!(7)),
        "whole shares round toward zero"
    );
    assert_eq!(
        (line("KO").side.as_deref(), line("KO").quantity, line("KO").target_pct),
        (Some("SELL"), dec!(20), dec!(0))
    );
    assert!(p.warnings.iter().any(|w| w.contains("sum to 80%")), "{:?}", p.warnings);
    assert!(p.warnings.iter().any(|w| w.contains("KO is held but has no target")));
    assert_eq!(p.cash_after, dec!(6800) - dec!(3000) - dec!(2800) + dec!(1200));
    let f = plan(&t, &hs, &prices, dec!(10000), dec!(6800), true).unwrap();
    assert_eq!(f.lines.iter().find(|l| l.symbol == "MSFT").unwrap().quantity, dec!(7.5));
    assert!(parse_targets("AAPL=40").unwrap_err().to_string().contains("'AAPL=40' is not SYMBOL:PERCENT"));
    assert!(parse_targets("AAPL:140").is_err());
    assert!(parse_targets("AAPL:40,aapl:10").unwrap_err().to_string().contains("listed twice"));
    assert!(
        plan(&parse_targets("XYZ:10").unwrap(), &[], &HashMap::new(), dec!(1000), dec!(1000), true)
            .unwrap_err()
            .to_string()
            .contains("no price for XYZ")
    );
}

#[test]
fn missing_bars_align_at_the_most_recent_day() {
    // One series lacks its first three observations: both align on their last days.
    let long: Vec<f64> = (0..10).map(|i| (i as f64 * 0.7).sin() / 100.0).collect();
    let short: Vec<f64> = long[3..].iter().map(|x| x * 2.0).collect();
    let cov = covariance_matrix(&[long.clone(), short.clone()]);
    assert!(close(cov[0][1], portfolio_analytics::stats::covariance(&long[3..], &short)));
    let corr = correlation_from_covariance(&cov);
    assert!(close(corr[0][1], 1.0), "the short series is the long one doubled, aligned at the end");
    let pnl = portfolio_pnl(&[1.0, 1.0], &[long.clone(), short.clone()]);
    assert_eq!(pnl.len(), 7, "P&L only over days both series have");
    assert!(close(pnl[6], long[9] + short[6]));
}
