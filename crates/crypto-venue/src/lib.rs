//! The crypto exchange venue: the ccxt client and the spot adapter that implements
//! trading-core's ports. It knows no protocol: the crypto-mcp server composes it.
#![forbid(unsafe_code)]

pub mod ccxt_client;
pub mod exchanges;
mod map;
pub mod rules;
pub mod settings;
pub mod venue;

pub use ccxt_client::{CcxtClient, CcxtError};
pub use venue::CryptoVenue;

/// Builds the exchange venue from settings; `journal_symbols` are the pairs the journal has
/// orders for (their trades are listed by trade_history).
pub fn connect_exchange(
    opts: &settings::ExchangeOptions,
    journal_symbols: impl IntoIterator<Item = String>,
) -> Result<CryptoVenue, CcxtError> {
    let client = CcxtClient::new(opts)?;
    Ok(CryptoVenue::new(client, &opts.quote, journal_symbols))
}
