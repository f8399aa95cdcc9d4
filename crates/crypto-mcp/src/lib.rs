//! crypto-mcp: the crypto exchange venue (or the spot simulator) composed with tradegate's
//! tool surface. Binaries: crypto-mcp, crypto-healthcheck.
#![forbid(unsafe_code)]

pub mod config;

/// What crypto-mcp tells the model about itself.
pub const INSTRUCTIONS: &str = "Trade a spot crypto exchange account safely. Symbols are pairs: BTC means BTC against the quote currency (BTC/USDT); amounts and limits are in that quote currency. Orders are two-step: call preview_order with the order's parameters, show the preview to the user, then call the order tool (buy, sell, close_position, stop_order) with the same parameters and the confirmation_token it returned. Spot only: no shorting, no trailing stops or brackets; an unsupported order says which capability is missing. Every refusal says which rule refused and which setting governs it. session_status shows the exchange, sandbox or live, and what would stop a trade. price_history and the analytics tools work on pairs.";
