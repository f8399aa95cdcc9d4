//! What `tools/list` says beyond names and inputs: a title for every tool, and an output
//! schema for the read tools whose result has a fixed shape. The schema describes the result
//! envelope (`{"ok": true, "data": …}` or `{"ok": false, "error": …}`) with `data` generated
//! from the same types the tools answer with, so it cannot drift.

use std::sync::Arc;

use rmcp::{handler::server::router::tool::ToolRouter, model::JsonObject};
use schemars::{JsonSchema, generate::SchemaSettings};
use serde::Serialize;
use serde_json::{Value, json};
use trading_core::{
    account::{AccountInfo, AccountSummary, CashBalances, DailyPnl, Quote},
    money::Price,
    options::OptionChain,
    performance::Performance,
};

/// `fx_rate`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FxRate {
    pub from: String,
    pub to: String,
    /// Units of `to` per unit of `from`.
    pub rate: Price,
    /// "1 EUR = 1.085 USD".
    pub meaning: String,
}

/// Today's P&L, or why there is none (a venue without it, another account).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum PnlAnswer {
    Pnl(DailyPnl),
    Unavailable { unavailable: String },
}

/// `account_summary`'s answer: the balances and today's P&L.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SummaryAnswer {
    #[serde(flatten)]
    pub summary: AccountSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_pnl: Option<PnlAnswer>,
}

const TITLES: &[(&str, &str)] = &[
    ("account_summary", "Account summary"),
    ("accounts", "Accounts"),
    ("bracket_order", "Bracket order"),
    ("briefing", "Morning briefing"),
    ("buy", "Buy"),
    ("cancel_approval", "Cancel an approval request"),
    ("cancel_order", "Cancel an order"),
    ("cash_balances", "Cash by currency"),
    ("close_position", "Close a position"),
    ("contract_details", "Contract details"),
    ("drawdown_tracker", "Equity and drawdown"),
    ("exposure", "Exposure and concentration"),
    ("fx_rate", "Exchange rate"),
    ("get_quote", "Quote"),
    ("get_quotes", "Quotes"),
    ("market_status", "Market status"),
    ("modify_order", "Modify an order"),
    ("open_orders", "Open orders"),
    ("option_chain", "Option chain"),
    ("order_status", "Order status"),
    ("pending_approvals", "Orders awaiting approval"),
    ("performance", "Account performance"),
    ("portfolio", "Portfolio"),
    ("position_detail", "Position detail"),
    ("positions", "Positions"),
    ("preview_order", "Preview an order"),
    ("price_history", "Price history"),
    ("rebalance_plan", "Rebalance plan"),
    ("reconcile_pending", "Reconcile unclear orders"),
    ("risk_report", "Risk report"),
    ("search_contracts", "Search contracts"),
    ("sell", "Sell"),
    ("session_status", "Session and safety status"),
    ("stop_order", "Stop order"),
    ("stress_test", "Stress test"),
    ("technicals", "Technical indicators"),
    ("trade_history", "Trade history"),
    ("transactions", "Transactions and realized P&L"),
    ("trading_schedule", "Trading schedule"),
    ("trailing_stop", "Trailing stop"),
    ("wait_approval", "Wait for approval"),
    ("wait_for_fill", "Wait for a fill"),
    ("what_if", "What if"),
    ("scan_catalog", "Scanner catalog"),
    ("filter_catalog", "Scanner filters"),
    ("run_scanner", "Run a market scanner"),
];

/// Builds one output schema.
type SchemaOf = fn() -> Arc<JsonObject>;

/// The envelope around `T`, inlined and without descriptions (they are in the tool's own
/// description; `tools/list` stays small).
fn envelope<T: JsonSchema>() -> Arc<JsonObject> {
    let mut settings = SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    let data = settings.into_generator().into_root_schema_for::<T>();
    let mut data = serde_json::to_value(data).unwrap_or(Value::Null);
    strip(&mut data);
    let schema = json!({
        "type": "object",
        "properties": {
            "ok": { "type": "boolean" },
            "data": data,
            "error": { "type": "object" },
        },
        "required": ["ok"],
    });
    Arc::new(match schema {
        Value::Object(m) => m,
        _ => JsonObject::new(),
    })
}

/// Drops `description`, `title`, `$schema` and `format` keys (not the properties named so).
fn strip(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in ["description", "title", "$schema", "format"] {
                if m.get(k).is_some_and(|x| !x.is_object()) {
                    m.remove(k);
                }
            }
            m.values_mut().for_each(strip);
        }
        Value::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

/// An input schema without what says nothing: the root `$schema` (2020-12 is MCP's default)
/// and `"default": null` on optional fields.
fn compact_input(schema: &JsonObject) -> Arc<JsonObject> {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if m.get("default") == Some(&Value::Null) {
                    m.remove("default");
                }
                m.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut v = Value::Object(schema.clone());
    if let Value::Object(m) = &mut v {
        m.remove("$schema");
    }
    walk(&mut v);
    Arc::new(match v {
        Value::Object(m) => m,
        _ => JsonObject::new(),
    })
}

/// Sets each tool's title, compacts its input schema, and gives the fixed-shape read tools
/// an output schema.
pub fn describe<S>(router: &mut ToolRouter<S>) {
    let schemas: [(&str, SchemaOf); 7] = [
        ("account_summary", envelope::<SummaryAnswer>),
        ("accounts", envelope::<Vec<AccountInfo>>),
        ("cash_balances", envelope::<CashBalances>),
        ("get_quotes", envelope::<Vec<Quote>>),
        ("fx_rate", envelope::<FxRate>),
        ("performance", envelope::<Performance>),
        ("option_chain", envelope::<OptionChain>),
    ];
    for (name, route) in router.map.iter_mut() {
        route.attr.input_schema = compact_input(&route.attr.input_schema);
        if let Some((_, title)) = TITLES.iter().find(|(n, _)| *n == name.as_ref()) {
            route.attr.title = Some((*title).to_string());
        }
        if let Some((_, schema)) = schemas.iter().find(|(n, _)| *n == name.as_ref()) {
            route.attr.output_schema = Some(schema());
        }
    }
}
