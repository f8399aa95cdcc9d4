//! Rigs shared by the test suites, the benchmarks and the demo: a real headless browser for the
//! pages ([`browser`]), an MCP client that drives a server binary as an agent would
//! ([`mcp_client`]), the policy and order builders the venue suites share ([`orders`]), loopback
//! fakes of the approval pushes ([`push_fakes`]) and the approval page's form ([`approval_page`]).
#![forbid(unsafe_code)]

pub mod approval_page;
pub mod browser;
pub mod mcp_client;
pub mod orders;
pub mod push_fakes;
pub mod unclear_posts;

pub use browser::{Browser, BrowserError};
