//! tradegate's MCP surface: the mirrored tools every venue serves, over the trading-core
//! ports and the guarded broker.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod analytics;
pub mod approval;
pub mod arguments;
pub mod console;
pub mod envelope;
pub mod equity;
pub mod figures;
pub mod manifest;
pub mod outputs;
pub mod params;
pub mod server;
pub mod settings;
pub mod stdio;
mod tools;

pub use server::{ServerSettings, TradingServer, WRITE_TOOLS};
pub mod http;
pub mod launch;
pub mod oauth;
