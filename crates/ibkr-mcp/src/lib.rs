//! ibkr-mcp: the IBKR venue (or the simulator) composed with tradegate's tool surface, plus
//! IBKR's own research tools (its scanner catalog). Binaries: ibkr-mcp, ibkr-healthcheck,
//! ibkr-keepalive, tradegate-demo.
#![forbid(unsafe_code)]

pub mod config;
pub mod scanner;

/// What ibkr-mcp tells the model about itself.
pub const INSTRUCTIONS: &str = "Trade a brokerage account safely. Orders are two-step: call preview_order with the order's parameters, show the preview to the user, then call the order tool (buy, sell, close_position, stop_order, trailing_stop, bracket_order) with the same parameters and the confirmation_token it returned. Every refusal says which rule refused and which setting governs it. session_status shows whether this is a simulator, paper or live account and what would stop a trade. Research: scan_catalog and filter_catalog describe IBKR's 636 scanners, run_scanner runs one, price_history, contract_details and trading_schedule look instruments up. There is no news tool: IBKR's Client Portal API publishes no news endpoint.";
