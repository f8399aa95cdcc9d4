//! The raw Client Portal API layer: HTTP, pacing, errors. Domain mapping lives in
//! [`crate::gateway`].

pub mod error;
pub mod http;
pub mod pacing;
pub mod wire;

pub use error::CpapiError;
pub use http::{GatewayConfig, GatewayHttp, TlsMode};
pub use pacing::PacingLimits;
