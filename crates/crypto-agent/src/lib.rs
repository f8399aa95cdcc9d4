//! tradegate for crypto exchanges: the ccxt client, the exchange venue (spot), and the
//! crypto-mcp server's settings. Binaries: crypto-mcp, crypto-healthcheck.
#![forbid(unsafe_code)]

pub mod ccxt_client;
pub mod config;
pub mod venue;

pub use ccxt_client::{CcxtClient, CcxtError};
pub use venue::CryptoVenue;

/// Builds the exchange venue from settings; `journal_symbols` are the pairs the journal has
/// orders for (their trades are listed by trade_history).
pub fn connect_exchange(
    opts: &config::ExchangeOptions,
    journal_symbols: impl IntoIterator<Item = String>,
) -> Result<CryptoVenue, CcxtError> {
    let client = CcxtClient::new(opts)?;
    Ok(CryptoVenue::new(client, &opts.quote, journal_symbols))
}
