//! The ibkr-mcp server: settings and composition. The Client Portal gateway backend lands
//! here next; for now the simulator backs every tool.
#![forbid(unsafe_code)]

pub mod config;
pub mod mcp_client;
