//! IBKR's market-scanner catalog: every scan type and filter in IBKR's scan-parameters.xml,
//! with categories (the reference's 16 where it has them, rules for the rest), strategy tags
//! with polarity, inverse pairs, the instruments each scan and filter applies to, and the
//! locations. Built by [`Catalog::from_sources`] (the generator, run by
//! `scanner-catalog-gen`), committed as `data/catalog.json`, and loaded once by
//! [`Catalog::get`]. A test fails when the committed catalog is not current.
#![forbid(unsafe_code)]

pub mod rules;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::OnceLock,
};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One scan type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scan {
    pub code: String,
    pub name: String,
    pub vendor: Option<String>,
    /// Instrument codes from the XML (STK, ETF.EQ.US, BOND, ...).
    pub instruments: Vec<String>,
    pub category: String,
    pub tags: Vec<String>,
    /// "high" or "low": which end of its measure the scan ranks first.
    pub polarity: Option<String>,
    pub inverse: Option<String>,
    pub description: Option<String>,
    /// Words of the code and name, for search (built at load, not stored).
    #[serde(skip)]
    pub words: Vec<String>,
}

/// One choice of a combo filter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub code: String,
    pub name: String,
}

/// One filter parameter (what `/iserver/scanner/run` takes as `filter[].code`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    pub code: String,
    pub name: String,
    /// The filter group's id in the XML (PRICE, MKTCAP, ...).
    pub group: String,
    /// The XML's category for the group (Prices, Volume, ...).
    pub category: String,
    /// number, integer, choice, date, boolean or text.
    pub kind: String,
    /// "min" (…Above) or "max" (…Below) of a range, when it is one.
    pub bound: Option<String>,
    pub unit: Option<String>,
    /// Smallest and largest accepted value, where IBKR's XML gives a real bound (its integer
    /// fields carry only the ±2^31 sentinels, which mean none).
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub choices: Vec<Choice>,
    pub instruments: Vec<String>,
}

/// One instrument type and the filter groups it supports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instrument {
    pub code: String,
    pub name: String,
    pub filter_groups: Vec<String>,
}

/// One scanner location (STK.US.MAJOR, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub code: String,
    pub name: String,
    pub instruments: Vec<String>,
}

/// The whole catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub scans: Vec<Scan>,
    pub filters: Vec<Filter>,
    pub instruments: Vec<Instrument>,
    pub locations: Vec<Location>,
}

fn text(n: roxmltree::Node<'_, '_>, tag: &str) -> Option<String> {
    n.children()
        .find(|c| c.has_tag_name(tag))
        .and_then(|c| c.text())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn list(s: Option<String>) -> Vec<String> {
    s.map(|v| v.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()).unwrap_or_default()
}

fn kind_of(t: &str) -> &'static str {
    match t.rsplit('.').next().unwrap_or("") {
        "DoubleField" => "number",
        "IntField" => "integer",
        "DateField" => "date",
        "BooleanField" => "boolean",
        x if x.starts_with("ComboField") => "choice",
        _ => "text",
    }
}

/// Why the sources could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError(pub String);

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceError {}

/// The committed catalog.
const COMMITTED: &str = include_str!("../data/catalog.json");

impl Catalog {
    /// The catalog, parsed from the committed JSON on first use.
    pub fn get() -> &'static Catalog {
        static CAT: OnceLock<Catalog> = OnceLock::new();
        CAT.get_or_init(|| {
            let mut c: Catalog = serde_json::from_str(COMMITTED).unwrap_or(Catalog {
                scans: vec![],
                filters: vec![],
                instruments: vec![],
                locations: vec![],
            });
            c.index();
            c
        })
    }

    fn index(&mut self) {
        for s in &mut self.scans {
            s.words = rules::tokens(&s.code);
            s.words.extend(rules::tokens(&s.name));
        }
    }

    /// Builds the catalog from IBKR's XML and the reference's categories (the generator).
    pub fn from_sources(xml: &str, reference_json: &str) -> Result<Catalog, SourceError> {
        let doc = roxmltree::Document::parse(xml).map_err(|e| SourceError(format!("scan-parameters.xml: {e}")))?;
        let reference: Value =
            serde_json::from_str(reference_json).map_err(|e| SourceError(format!("scanner_reference.json: {e}")))?;
        let mut ref_cat: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
        if let Some(by) = reference["scanners_by_category"].as_object() {
            for (cat, scans) in by {
                for s in scans.as_array().into_iter().flatten() {
                    if let Some(code) = s["code"].as_str() {
                        ref_cat
                            .entry(code.to_string())
                            .or_insert((cat.clone(), s["description"].as_str().map(str::to_string)));
                    }
                }
            }
        }
        let root = doc.root_element();

        let mut instruments: BTreeMap<String, Instrument> = BTreeMap::new();
        for i in root
            .descendants()
            .filter(|n| n.has_tag_name("Instrument") && n.parent().is_some_and(|p| p.has_tag_name("InstrumentList")))
        {
            let Some(code) = text(i, "type") else { continue };
            let e = instruments.entry(code.clone()).or_insert(Instrument {
                code,
                name: text(i, "name").unwrap_or_default(),
                filter_groups: vec![],
            });
            for g in list(text(i, "filters")) {
                if !e.filter_groups.contains(&g) {
                    e.filter_groups.push(g);
                }
            }
        }

        let mut filters: BTreeMap<String, Filter> = BTreeMap::new();
        for fl in root.children().filter(|n| n.has_tag_name("FilterList")) {
            for f in fl.children().filter(|n| n.is_element()) {
                let Some(group) = text(f, "id") else { continue };
                let category = text(f, "category").unwrap_or_else(|| "Other".into());
                let applies: Vec<String> =
                    instruments.values().filter(|i| i.filter_groups.contains(&group)).map(|i| i.code.clone()).collect();
                for a in f.descendants().filter(|n| n.has_tag_name("AbstractField")) {
                    let Some(code) = text(a, "code") else { continue };
                    let name = text(a, "displayName").unwrap_or_else(|| code.clone());
                    let choices: Vec<Choice> = a
                        .descendants()
                        .filter(|n| n.has_tag_name("ComboValue"))
                        .filter_map(|c| {
                            Some(Choice { code: text(c, "code")?, name: text(c, "displayName").unwrap_or_default() })
                        })
                        .collect();
                    let suffix = text(a, "suffix").or_else(|| text(a, "prefix"));
                    let unit = if let Some(sfx) = suffix {
                        Some(sfx)
                    } else if name.contains('%') || code.to_ascii_lowercase().contains("perc") {
                        Some("%".to_string())
                    } else if name.contains("($)") || code.to_ascii_lowercase().contains("usd") {
                        Some("USD".to_string())
                    } else {
                        None
                    };
                    filters.entry(code.clone()).or_insert(Filter {
                        code,
                        name,
                        group: group.clone(),
                        category: category.clone(),
                        kind: kind_of(a.attribute("type").unwrap_or("")).into(),
                        bound: a.attribute("varName").filter(|v| matches!(*v, "min" | "max")).map(str::to_string),
                        unit,
                        // IBKR's int sentinels (±2^31) mean "no bound".
                        min: text(a, "minValue").and_then(|v| v.parse::<f64>().ok()).filter(|v| *v > -2_147_483_648.0),
                        max: text(a, "maxValue").and_then(|v| v.parse::<f64>().ok()).filter(|v| *v < 2_147_483_647.0),
                        choices,
                        instruments: applies.clone(),
                    });
                }
            }
        }

        let mut locations: BTreeMap<String, Location> = BTreeMap::new();
        for l in root.descendants().filter(|n| n.has_tag_name("Location")) {
            let Some(code) = text(l, "locationCode") else { continue };
            locations.entry(code.clone()).or_insert(Location {
                code,
                name: text(l, "displayName").unwrap_or_default(),
                instruments: list(text(l, "instruments")),
            });
        }

        let mut scans: BTreeMap<String, Scan> = BTreeMap::new();
        for s in root.descendants().filter(|n| n.has_tag_name("ScanType")) {
            let Some(code) = text(s, "scanCode") else { continue };
            let name = text(s, "displayName").or_else(|| text(s, "searchName")).unwrap_or_else(|| code.clone());
            let vendor = text(s, "vendor");
            let (category, description) = match ref_cat.get(&code) {
                Some((c, d)) if c != "Other" => (c.clone(), d.clone()),
                Some((_, d)) => (rules::category(&code, &name, vendor.as_deref()).to_string(), d.clone()),
                None => (rules::category(&code, &name, vendor.as_deref()).to_string(), None),
            };
            let tags = rules::tags(&code, &name, vendor.as_deref()).into_iter().map(str::to_string).collect();
            let polarity = rules::polarity(&rules::tokens(&code)).map(|p| p.as_str().to_string());
            scans.entry(code.clone()).or_insert(Scan {
                code,
                name,
                vendor,
                instruments: list(text(s, "instruments")),
                category,
                tags,
                polarity,
                inverse: None,
                description,
                words: vec![],
            });
        }
        let codes: BTreeSet<String> = scans.keys().cloned().collect();
        for s in scans.values_mut() {
            s.inverse = rules::inverse_candidates(&s.code).into_iter().find(|c| codes.contains(c));
        }
        let mut cat = Catalog {
            scans: scans.into_values().collect(),
            filters: filters.into_values().collect(),
            instruments: instruments.into_values().collect(),
            locations: locations.into_values().collect(),
        };
        cat.index();
        Ok(cat)
    }

    pub fn scan(&self, code: &str) -> Option<&Scan> {
        self.scans.iter().find(|s| s.code == code)
    }

    pub fn filter(&self, code: &str) -> Option<&Filter> {
        self.filters.iter().find(|f| f.code == code)
    }

    /// Scans matching every given criterion; `query` matches words of the name or code.
    pub fn search(
        &self,
        query: Option<&str>,
        category: Option<&str>,
        strategy: Option<&str>,
        instrument: Option<&str>,
    ) -> Vec<&Scan> {
        let q: Vec<String> = query.map(rules::tokens).unwrap_or_default();
        self.scans
            .iter()
            .filter(|s| category.is_none_or(|c| s.category.eq_ignore_ascii_case(c)))
            .filter(|s| strategy.is_none_or(|t| s.tags.iter().any(|x| x.eq_ignore_ascii_case(t))))
            .filter(|s| instrument.is_none_or(|i| s.instruments.iter().any(|x| x.eq_ignore_ascii_case(i))))
            .filter(|s| {
                if q.is_empty() {
                    return true;
                }
                q.iter().all(|w| s.words.iter().any(|x| x.starts_with(w.as_str())))
            })
            .collect()
    }

    /// Locations that serve an instrument.
    pub fn locations_for(&self, instrument: &str) -> Vec<&Location> {
        self.locations.iter().filter(|l| l.instruments.iter().any(|i| i == instrument)).collect()
    }

    /// Checks a scanner request against the catalog, so an inapplicable scan, location or
    /// filter is a clear error instead of an empty result.
    pub fn validate(
        &self,
        scan_code: &str,
        instrument: &str,
        location: &str,
        filters: &[(String, Value)],
    ) -> Result<&Scan, String> {
        let scan = self
            .scan(scan_code)
            .ok_or_else(|| format!("scan_code: '{scan_code}' is not an IBKR scan (see scan_catalog)"))?;
        if !scan.instruments.iter().any(|i| i == instrument) {
            return Err(format!(
                "instrument: scan {scan_code} does not apply to {instrument}; it applies to {}",
                scan.instruments.join(", ")
            ));
        }
        let loc = self
            .locations
            .iter()
            .find(|l| l.code == location)
            .ok_or_else(|| format!("location: '{location}' is not an IBKR scanner location"))?;
        if !loc.instruments.iter().any(|i| i == instrument) {
            return Err(format!(
                "location: {location} has no {instrument} instruments (it serves {})",
                loc.instruments.join(", ")
            ));
        }
        for (code, value) in filters {
            let f = self
                .filter(code)
                .ok_or_else(|| format!("filters: '{code}' is not an IBKR scanner filter (see filter_catalog)"))?;
            if !f.instruments.iter().any(|i| i == instrument) {
                return Err(format!("filters: {code} does not apply to {instrument}"));
            }
            let ok = match f.kind.as_str() {
                "number" => value.as_f64().is_some() || value.as_str().is_some_and(|s| s.trim().parse::<f64>().is_ok()),
                "integer" => {
                    value.as_i64().is_some() || value.as_str().is_some_and(|s| s.trim().parse::<i64>().is_ok())
                }
                "boolean" => value.is_boolean() || value.as_str().is_some_and(|s| matches!(s, "true" | "false")),
                "choice" => value.as_str().is_some_and(|s| f.choices.iter().any(|c| c.code == s)),
                _ => value.is_string(),
            };
            let number = value.as_f64().or_else(|| value.as_str().and_then(|s| s.trim().parse::<f64>().ok()));
            if let (true, Some(x)) = (ok, number)
                && (f.min.is_some_and(|m| x < m) || f.max.is_some_and(|m| x > m))
            {
                let lo = f.min.map(|m| m.to_string()).unwrap_or("-inf".into());
                let hi = f.max.map(|m| m.to_string()).unwrap_or("+inf".into());
                return Err(format!("filters: {code} must be between {lo} and {hi}, not {x}"));
            }
            if !ok {
                let want = match f.kind.as_str() {
                    "choice" => {
                        format!("one of {}", f.choices.iter().map(|c| c.code.as_str()).collect::<Vec<_>>().join(", "))
                    }
                    k => format!("a {k}"),
                };
                return Err(format!("filters: {code} takes {want}, not {value}"));
            }
        }
        Ok(scan)
    }
}
