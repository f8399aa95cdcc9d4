//! tradegate's core: domain types, ports, the guard, the journal, the NYSE calendar and
//! confirmation tokens. No HTTP, no MCP, no venue code; nothing here reads the wall clock
//! except `ports::SystemClock`.
#![forbid(unsafe_code)]

pub mod account;
pub mod approval;
pub mod bars;
pub mod broker;
pub mod calendar;
pub mod config;
pub mod crash;
pub mod error;
pub mod guard;
pub mod instrument;
pub mod journal;
pub mod money;
pub mod options;
pub mod order;
pub mod performance;
pub mod ports;
pub mod suggest;
pub mod tokens;
