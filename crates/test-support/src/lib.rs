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

/// The Python the tests that drive Python packages run (the MCP SDK client, the reference JSON
/// Schema validator): `TRADEGATE_PYTHON`, else the workspace's `.venv-mcp`, which README's
/// set-up line and `.ci/run` make. `None` when neither exists; the caller names what to install.
pub fn python() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("TRADEGATE_PYTHON") {
        return Some(p.into());
    }
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-mcp/bin/python");
    venv.exists().then_some(venv)
}
