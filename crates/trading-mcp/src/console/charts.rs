//! Small inline SVG charts drawn on the server: a pie (allocation) and a line (equity, its
//! drawdown). No script, no external asset; every value has a `<title>` for a hover.

use rust_decimal::{Decimal, prelude::ToPrimitive};

use crate::oauth::pages::escape;

const COLORS: [&str; 10] =
    ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// A pie of `slices` (label, value); non-positive values are left out. Each slice is a
/// `.slice` element, with a legend beside it.
pub fn pie(id: &str, slices: &[(String, Decimal)]) -> String {
    let parts: Vec<(&String, f64)> = slices.iter().map(|(l, v)| (l, f(*v))).filter(|(_, v)| *v > 0.0).collect();
    let total: f64 = parts.iter().map(|(_, v)| v).sum();
    if parts.is_empty() || total <= 0.0 {
        return format!("<p class=\"muted\" id=\"{id}\">Nothing to chart.</p>");
    }
    let mut shapes = String::new();
    let mut legend = String::new();
    let mut angle = -std::f64::consts::FRAC_PI_2;
    for (i, (label, v)) in parts.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let share = v / total;
        let title = format!("{} {:.1}%", escape(label), share * 100.0);
        if parts.len() == 1 {
            shapes
                .push_str(&format!("<circle class=\"slice\" r=\"1\" fill=\"{color}\"><title>{title}</title></circle>"));
        } else {
            let end = angle + share * std::f64::consts::TAU;
            let large = i32::from(share > 0.5);
            shapes.push_str(&format!(
                "<path class=\"slice\" fill=\"{color}\" d=\"M0 0 L{:.4} {:.4} A1 1 0 {large} 1 {:.4} {:.4} Z\"><title>{title}</title></path>",
                angle.cos(),
                angle.sin(),
                end.cos(),
                end.sin()
            ));
            angle = end;
        }
        legend.push_str(&format!("<li><span class=\"sw\" style=\"background:{color}\"></span>{title}</li>"));
    }
    format!(
        "<div class=\"chart\" id=\"{id}\"><svg viewBox=\"-1.05 -1.05 2.1 2.1\" width=\"180\" height=\"180\" role=\"img\">{shapes}</svg><ul class=\"legend\">{legend}</ul></div>"
    )
}

/// A line through `points` (time label, value), scaled to the box; one `.point` per value.
pub fn line(id: &str, class: &str, points: &[(String, Decimal)]) -> String {
    if points.is_empty() {
        return format!(
            "<p class=\"muted\" id=\"{id}\">No history yet (the equity sampler records one point every EQUITY_SAMPLE_SECONDS).</p>"
        );
    }
    let values: Vec<f64> = points.iter().map(|(_, v)| f(*v)).collect();
    let (lo, hi) = values.iter().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let (w, h) = (600.0, 160.0);
    let n = values.len();
    let x = |i: usize| if n == 1 { w / 2.0 } else { i as f64 * w / (n - 1) as f64 };
    let y = |v: f64| h - 8.0 - (v - lo) / span * (h - 16.0);
    let coords: Vec<String> = values.iter().enumerate().map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v))).collect();
    let dots: String = points
        .iter()
        .zip(&values)
        .enumerate()
        .map(|(i, ((t, d), v))| {
            format!(
                "<circle class=\"point\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\"><title>{} {}</title></circle>",
                x(i),
                y(*v),
                escape(t),
                d.round_dp(2)
            )
        })
        .collect();
    format!(
        "<svg id=\"{id}\" class=\"{class}\" viewBox=\"0 0 {w} {h}\" width=\"100%\" height=\"{h}\" preserveAspectRatio=\"none\" role=\"img\" data-points=\"{n}\">\
         <polyline fill=\"none\" stroke-width=\"1.5\" points=\"{}\"/>{dots}</svg>\
         <p class=\"muted\">low {} · high {}</p>",
        coords.join(" "),
        Decimal::from_f64_retain(lo).unwrap_or_default().round_dp(2),
        Decimal::from_f64_retain(hi).unwrap_or_default().round_dp(2)
    )
}
