//! IBKR's research tools, served by ibkr-mcp alone: the scanner catalog (scans and filters,
//! generated from IBKR's XML) and running a scanner, checked against the catalog first.

use std::sync::Arc;

use rmcp::{
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::CallToolResult,
    tool, tool_router,
};
use schemars::JsonSchema;
use serde::Deserialize;
use trading_core::{error::TradeError, ports::Venue};
use trading_mcp::{
    TradingServer,
    envelope::{fail, ok},
};

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanCatalogParams {
    /// Words of the scan's name or code, e.g. "dividend yield".
    #[serde(default)]
    pub query: Option<String>,
    /// A category, e.g. "Dividends" (see list_meta).
    #[serde(default)]
    pub category: Option<String>,
    /// A strategy tag, e.g. "income", "value", "momentum_up" (see list_meta).
    #[serde(default)]
    pub strategy: Option<String>,
    /// An instrument code, e.g. "STK" or "ETF.EQ.US".
    #[serde(default)]
    pub instrument: Option<String>,
    /// Return the vocabularies (categories, strategies, instruments, vendors) instead of scans.
    #[serde(default)]
    pub list_meta: bool,
    /// At most this many scans (default 15, at most 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Skip this many matches: the `next` of the previous page.
    #[serde(default)]
    pub offset: Option<usize>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterCatalogParams {
    /// A filter group id (PRICE, MKTCAP, ...) or category (Prices, Fundamentals, ...).
    #[serde(default)]
    pub group: Option<String>,
    /// Only filters that apply to this instrument code, e.g. "STK".
    #[serde(default)]
    pub instrument: Option<String>,
    /// Words of the filter's name or code.
    #[serde(default)]
    pub query: Option<String>,
    /// At most this many filters (default 25, at most 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Skip this many matches: the `next` of the previous page.
    #[serde(default)]
    pub offset: Option<usize>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanFilter {
    /// A filter code from filter_catalog, e.g. "priceAbove".
    pub code: String,
    /// Its value: a number, or a choice code for choice filters.
    pub value: serde_json::Value,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunScannerParams {
    /// A scan code from scan_catalog, e.g. "TOP_PERC_GAIN".
    pub scan_code: String,
    /// Instrument code (default "STK").
    #[serde(default)]
    pub instrument: Option<String>,
    /// Location code (default "STK.US.MAJOR").
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub filters: Option<Vec<ScanFilter>>,
    /// Rows to return (default 25, at most 50).
    #[serde(default)]
    pub max_rows: Option<usize>,
}

/// The handler of IBKR's scanner tools.
pub struct ScannerTools {
    venue: Arc<dyn Venue>,
}

/// The scanner tools as routes of the tool server (the research toolset).
pub fn router(venue: Arc<dyn Venue>) -> ToolRouter<TradingServer> {
    trading_mcp::server::adopt(Arc::new(ScannerTools { venue }), ScannerTools::tool_router())
}

#[tool_router]
impl ScannerTools {
    /// IBKR's market-scanner catalog: every scan with its category, strategy tags (value,
    /// growth, quality, income, momentum_up, ...), instruments and inverse scan. Filter by
    /// query, category, strategy and instrument; list_meta gives the vocabularies.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false))]
    async fn scan_catalog(&self, Parameters(p): Parameters<ScanCatalogParams>) -> CallToolResult {
        let cat = scanner_catalog::Catalog::get();
        if p.list_meta {
            let mut cats: std::collections::BTreeMap<&str, usize> = Default::default();
            let mut tags: std::collections::BTreeMap<&str, usize> = Default::default();
            let mut vendors: std::collections::BTreeMap<&str, usize> = Default::default();
            for s in &cat.scans {
                *cats.entry(s.category.as_str()).or_default() += 1;
                for t in &s.tags {
                    *tags.entry(t.as_str()).or_default() += 1;
                }
                *vendors.entry(s.vendor.as_deref().unwrap_or("IBKR")).or_default() += 1;
            }
            return ok(serde_json::json!({
                "scans": cat.scans.len(), "filters": cat.filters.len(),
                "categories": cats, "strategies": tags, "vendors": vendors,
                "instruments": cat.instruments.iter().map(|i| serde_json::json!({ "code": i.code, "name": i.name })).collect::<Vec<_>>(),
            }));
        }
        let found =
            cat.search(p.query.as_deref(), p.category.as_deref(), p.strategy.as_deref(), p.instrument.as_deref());
        let limit = p.limit.unwrap_or(15).clamp(1, 100);
        let offset = p.offset.unwrap_or(0).min(found.len());
        let results: Vec<_> = found
            .iter()
            .skip(offset)
            .take(limit)
            .map(|s| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                v["inverse_name"] =
                    serde_json::json!(s.inverse.as_deref().and_then(|i| cat.scan(i)).map(|i| i.name.clone()));
                // Where it can run, for the instrument asked about (else its first).
                let instr = p.instrument.clone().or_else(|| s.instruments.first().cloned()).unwrap_or_default();
                v["locations"] = serde_json::json!({
                    "instrument": instr,
                    "codes": cat.locations_for(&instr).iter().map(|l| l.code.as_str()).collect::<Vec<_>>(),
                });
                v
            })
            .collect();
        let mut v =
            serde_json::json!({ "count": found.len(), "offset": offset, "shown": results.len(), "results": results });
        if offset + results.len() < found.len() {
            v["next"] = serde_json::json!(offset + results.len());
        }
        ok(v)
    }

    /// IBKR's scanner filters: code, type (number, integer, choice, ...), unit, choices and the
    /// instruments each applies to. Filter by group or category, instrument and words.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false))]
    async fn filter_catalog(&self, Parameters(p): Parameters<FilterCatalogParams>) -> CallToolResult {
        let cat = scanner_catalog::Catalog::get();
        let words: Vec<String> = p.query.as_deref().map(scanner_catalog::rules::tokens).unwrap_or_default();
        let found: Vec<_> = cat
            .filters
            .iter()
            .filter(|f| {
                p.group.as_deref().is_none_or(|g| f.group.eq_ignore_ascii_case(g) || f.category.eq_ignore_ascii_case(g))
            })
            .filter(|f| p.instrument.as_deref().is_none_or(|i| f.instruments.iter().any(|x| x.eq_ignore_ascii_case(i))))
            .filter(|f| {
                let mut t = scanner_catalog::rules::tokens(&f.code);
                t.extend(scanner_catalog::rules::tokens(&f.name));
                words.iter().all(|w| t.iter().any(|x| x.starts_with(w.as_str())))
            })
            .collect();
        let offset = p.offset.unwrap_or(0).min(found.len());
        let page: Vec<_> = found.iter().skip(offset).take(p.limit.unwrap_or(25).clamp(1, 100)).collect();
        let end = offset + page.len();
        let mut v = serde_json::json!({ "count": found.len(), "offset": offset, "shown": page.len(), "filters": page });
        if end < found.len() {
            v["next"] = serde_json::json!(end);
        }
        ok(v)
    }

    /// Runs an IBKR market scanner, checked against the catalog first so an inapplicable scan,
    /// location or filter is a clear error rather than an empty list.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn run_scanner(&self, Parameters(p): Parameters<RunScannerParams>) -> CallToolResult {
        let cat = scanner_catalog::Catalog::get();
        let instrument = p.instrument.unwrap_or_else(|| "STK".into());
        let location = p.location.unwrap_or_else(|| "STK.US.MAJOR".into());
        let filters: Vec<(String, serde_json::Value)> =
            p.filters.unwrap_or_default().into_iter().map(|f| (f.code, f.value)).collect();
        let scan = match cat.validate(&p.scan_code, &instrument, &location, &filters) {
            Ok(s) => s.clone(),
            Err(e) => return fail(TradeError::validation(e)),
        };
        let req = trading_core::account::ScanRequest {
            scan_code: scan.code.clone(),
            instrument,
            location,
            filters,
            max_rows: p.max_rows.unwrap_or(25).clamp(1, 50),
        };
        match self.venue.run_scanner(&req).await {
            Ok(rows) => ok(serde_json::json!({
                "scan": { "code": scan.code, "name": scan.name, "category": scan.category, "tags": scan.tags, "inverse": scan.inverse },
                "instrument": req.instrument, "location": req.location, "filters": req.filters,
                "rows": rows,
            })),
            Err(e) => fail(e.into()),
        }
    }
}
