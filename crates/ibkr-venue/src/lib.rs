//! The Interactive Brokers venue: the raw Client Portal API client (typed wire models,
//! pacing), the session keeper, and the adapter that implements trading-core's ports. It knows
//! no protocol: the ibkr-mcp server composes it with the tool surface.
#![forbid(unsafe_code)]

pub mod cpapi;
pub mod gateway;
pub mod parse;
pub mod session;
pub mod settings;

use std::sync::Arc;

/// Builds the gateway venue and its session keeper from settings.
pub fn connect_gateway(
    opts: &settings::GatewayOptions,
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
