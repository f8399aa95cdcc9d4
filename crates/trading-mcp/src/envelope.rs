//! The result envelope: `{"ok": true, "data": ...}` or `{"ok": false, "error": {...}}`, as
//! text and as structured content, with `isError` set on failures.

use rmcp::model::CallToolResult;
use serde::Serialize;
use serde_json::json;
use trading_core::error::{ErrorCode, TradeError};

/// A success envelope around `data`.
pub fn ok(data: impl Serialize) -> CallToolResult {
    match serde_json::to_value(data) {
        Ok(v) => CallToolResult::structured(json!({ "ok": true, "data": v })),
        Err(e) => fail(TradeError::new(ErrorCode::Internal, format!("result could not be encoded: {e}"))),
    }
}

/// A failure envelope: the model sees it (`isError: true`) and can react.
pub fn fail(e: TradeError) -> CallToolResult {
    let v = serde_json::to_value(&e).unwrap_or_else(|_| json!({ "code": "INTERNAL", "message": e.message }));
    CallToolResult::structured_error(json!({ "ok": false, "error": v }))
}

/// Either envelope from a result whose error converts into a [`TradeError`].
pub fn respond<T: Serialize, E: Into<TradeError>>(r: Result<T, E>) -> CallToolResult {
    match r {
        Ok(v) => ok(v),
        Err(e) => fail(e.into()),
    }
}
