//! Tool arguments checked against the tool's own input schema before the tool runs, so every
//! bad argument is answered inside the envelope (`VALIDATION`), naming the parameter and what
//! it accepts: an unknown name is refused with the nearest valid one (a misspelled `limit` must
//! never silently turn a limit order into a market order), a missing one is named, a value of
//! the wrong type says what the parameter takes. Echoes of the input are capped.

use rmcp::model::JsonObject;
use serde_json::Value;
use trading_core::{error::TradeError, suggest::nearest};

/// The most of a caller's input any error message repeats.
pub const ECHO_LIMIT: usize = 200;

/// `s` cut to `max` characters, marked when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}… ({} characters)", s.chars().take(max).collect::<String>(), s.chars().count())
    }
}

fn shown(v: &Value) -> String {
    clip(&v.to_string(), 40)
}

/// The schema a `$ref` (`#/$defs/Qty`) points to within `root`.
fn resolve<'a>(root: &'a JsonObject, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
        Some(name) => root.get("$defs").and_then(|d| d.get(name)).unwrap_or(s),
        None => s,
    }
}

fn is_decimal_schema(s: &Value) -> bool {
    s.get("description").and_then(Value::as_str).is_some_and(|d| d.starts_with("a decimal number"))
}

/// Every type name `s` allows (through `anyOf` and `$ref`), and whether it is a decimal.
fn allowed(root: &JsonObject, s: &Value, out: &mut Vec<String>, decimal: &mut bool) {
    let s = resolve(root, s);
    *decimal |= is_decimal_schema(s);
    match s.get("type") {
        Some(Value::String(t)) => out.push(t.clone()),
        Some(Value::Array(ts)) => out.extend(ts.iter().filter_map(Value::as_str).map(str::to_string)),
        _ => {}
    }
    for alt in s.get("anyOf").and_then(Value::as_array).into_iter().flatten() {
        allowed(root, alt, out, decimal);
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn accepts(types: &[String], v: &Value) -> bool {
    let t = type_of(v);
    types.iter().any(|a| a == t || (a == "number" && t == "integer"))
}

fn describe(types: &[String], decimal: bool) -> String {
    if decimal {
        return "a decimal number (a JSON number or a string such as \"12.50\")".into();
    }
    let names: Vec<&str> = types.iter().map(String::as_str).filter(|t| *t != "null").collect();
    match names.as_slice() {
        ["integer"] => "a whole number".into(),
        ["array"] => "a list".into(),
        [one] => format!("a {one}"),
        many => many.join(" or "),
    }
}

/// Checks `args` against `schema` (the tool's input schema). Refusals are `VALIDATION`.
pub fn check(tool: &str, schema: &JsonObject, args: Option<&JsonObject>) -> Result<(), TradeError> {
    let empty = JsonObject::new();
    let args = args.unwrap_or(&empty);
    let props = schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
    let names: Vec<&str> = props.keys().map(String::as_str).collect();
    for key in args.keys() {
        if !props.contains_key(key) {
            let key = clip(key, 40);
            let guesses: Vec<String> = nearest(&key, &names).iter().map(|n| format!("`{n}`")).collect();
            let hint =
                if guesses.is_empty() { ".".into() } else { format!("; did you mean {}?", guesses.join(" or ")) };
            let valid = if names.is_empty() { "none".to_string() } else { names.join(", ") };
            return Err(TradeError::validation(format!(
                "`{key}` is not a parameter of {tool}{hint} Its parameters: {valid}."
            )));
        }
    }
    for req in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        if args.get(req).is_none_or(Value::is_null) {
            return Err(TradeError::validation(format!("`{req}` is required for {tool}.")));
        }
    }
    for (key, v) in args {
        let Some(ps) = props.get(key) else { continue };
        let (mut types, mut decimal) = (vec![], false);
        allowed(schema, ps, &mut types, &mut decimal);
        if types.is_empty() {
            continue;
        }
        let what = describe(&types, decimal);
        if !accepts(&types, v) {
            return Err(TradeError::validation(format!("`{key}` must be {what}; got {}.", shown(v))));
        }
        if decimal && let Value::String(s) = v {
            let t = s.trim();
            if t.parse::<rust_decimal::Decimal>().is_err() && rust_decimal::Decimal::from_scientific(t).is_err() {
                return Err(TradeError::validation(format!("`{key}` must be {what}; got {}.", shown(v))));
            }
        }
        if let (Value::Array(items), Some(item_schema)) = (v, resolve(schema, ps).get("items")) {
            let (mut it, mut idec) = (vec![], false);
            allowed(schema, item_schema, &mut it, &mut idec);
            if let Some(bad) = items.iter().find(|x| !it.is_empty() && !accepts(&it, x)) {
                return Err(TradeError::validation(format!(
                    "`{key}` must be a list of {}; got {}.",
                    describe(&it, idec),
                    shown(bad)
                )));
            }
        }
    }
    Ok(())
}

/// rmcp's own "failed to deserialize parameters: …" (what the schema cannot say, e.g. an
/// enum value) as an envelope error, its echo capped.
pub fn from_rmcp(tool: &str, text: &str) -> TradeError {
    let detail = text.trim_start_matches("failed to deserialize parameters:").trim();
    TradeError::validation(format!("Invalid arguments for {tool}: {}", clip(detail, ECHO_LIMIT)))
}

#[cfg(test)]
#[path = "arguments_tests.rs"]
mod tests;
