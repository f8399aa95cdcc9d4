use serde_json::json;

use super::*;

fn schema() -> JsonObject {
    json!({
        "$defs": { "Price": { "description": "a decimal number; a JSON number or a string such as \"12.50\"", "type": ["number", "string"] } },
        "properties": {
            "symbol": { "type": "string" },
            "limit_price": { "anyOf": [{ "$ref": "#/$defs/Price" }, { "type": "null" }], "default": null },
            "quantity": { "anyOf": [{ "$ref": "#/$defs/Price" }, { "type": "null" }], "default": null },
            "symbols": { "type": "array", "items": { "type": "string" } },
            "days": { "type": ["integer", "null"] },
        },
        "required": ["symbol"],
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn refuse(args: Value) -> String {
    check("preview_order", &schema(), args.as_object()).err().map(|e| e.message).unwrap_or_default()
}

#[test]
fn a_misspelled_field_is_refused_with_the_name_meant() {
    assert!(
        refuse(json!({"symbol": "AAPL", "limit": 200}))
            .starts_with("`limit` is not a parameter of preview_order; did you mean `limit_price`? Its parameters:")
    );
    assert!(refuse(json!({"symbol": "AAPL", "lmt_price": 200})).contains("did you mean `limit_price`"));
    assert!(refuse(json!({"symbol": "AAPL", "qty": 1})).contains("`qty` is not a parameter"));
    assert!(refuse(json!({"symbol": "AAPL", "quantiy": 1})).contains("did you mean `quantity`?"));
    assert!(
        refuse(json!({"symbol": "AAPL", "price": 1})).contains("did you mean `limit_price`?"),
        "{}",
        refuse(json!({"symbol": "AAPL", "price": 1}))
    );
}

#[test]
fn types_missing_and_decimals_name_the_parameter() {
    assert_eq!(refuse(json!({"limit_price": 1})), "`symbol` is required for preview_order.");
    assert_eq!(
        refuse(json!({"symbol": "AAPL", "quantity": "lots"})),
        "`quantity` must be a decimal number (a JSON number or a string such as \"12.50\"); got \"lots\"."
    );
    assert!(refuse(json!({"symbol": 5})).starts_with("`symbol` must be a string; got 5"));
    assert!(refuse(json!({"symbol": "A", "days": 1.5})).starts_with("`days` must be a whole number"));
    assert!(refuse(json!({"symbol": "A", "symbols": ["A", 3]})).contains("must be a list of a string"));
    assert!(check("x", &schema(), json!({"symbol": "AAPL", "quantity": "1e2", "days": null}).as_object()).is_ok());
}

#[test]
fn echoes_are_capped() {
    let long = "x".repeat(5_000_000);
    let m = refuse(json!({"symbol": "AAPL", "quantity": long}));
    assert!(m.len() < 300, "{}", m.len());
    let m = refuse(json!({ long.clone(): 1, "symbol": "A" }));
    assert!(m.len() < 800, "{}", m.len());
}
