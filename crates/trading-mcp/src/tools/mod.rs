//! The shared tools, one router per concern; `TradingServer::new` composes them.

mod account;
mod analytics;
mod approval;
mod research;
mod session;
mod trading;
pub(crate) mod wait;
