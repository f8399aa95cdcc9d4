//! tradegate for Interactive Brokers: the Client Portal Gateway venue (raw CPAPI client,
//! session keeper, adapter), the server's settings, and the MCP client used by the demo,
//! the end-to-end tests and the benchmarks. Binaries: ibkr-mcp, ibkr-healthcheck,
//! ibkr-keepalive, tradegate-demo.
#![forbid(unsafe_code)]

pub mod config;
pub mod cpapi;
pub mod gateway;
pub use trading_mcp::client as mcp_client;
pub mod parse;
pub mod session;

use std::sync::Arc;

/// Builds the gateway venue and its session keeper from settings.
pub fn connect_gateway(
    opts: &config::GatewayOptions,
) -> Result<(Arc<gateway::GatewayVenue>, Arc<session::SessionKeeper>), cpapi::http::GatewayConfigError> {
    let http = Arc::new(cpapi::GatewayHttp::new(cpapi::GatewayConfig {
        base_url: opts.base_url.clone(),
        tls: opts.tls.clone(),
        timeout: opts.timeout,
        limits: cpapi::PacingLimits::ibkr(),
    })?);
    if opts.tls == cpapi::TlsMode::InsecureLoopback && http.base().scheme() == "https" {
        tracing::warn!(
            "the gateway's TLS certificate is not verified (it is self-signed; accepted on loopback only). Pin it with IBKR_GATEWAY_CERT_SHA256."
        );
    }
    let alerter = session::Alerter::new(opts.webhook.clone(), opts.realert_cycles);
    let keeper = Arc::new(session::SessionKeeper::new(http.clone(), alerter));
    let venue = Arc::new(gateway::GatewayVenue::new(http, keeper.clone(), opts.settings.clone()));
    Ok((venue, keeper))
}
