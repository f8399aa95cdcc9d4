//! Rigs shared by the test suites, the benchmarks and the demo: a real headless browser for the
//! pages ([`browser`]), an MCP client that drives a server binary as an agent would
//! ([`mcp_client`]), and the policy and order builders the venue suites share ([`orders`]).
#![forbid(unsafe_code)]

pub mod browser;
pub mod mcp_client;
pub mod orders;
pub mod unclear_posts;

pub use browser::{Browser, BrowserError};
