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

/// The exchange's word on the key's withdrawal permission, as one line for a person; `Err`
/// when the key can withdraw and `allow` (CRYPTO_ALLOW_WITHDRAW_KEYS) is false. Trading never
/// needs that permission, and a leaked key that can withdraw empties the account.
pub async fn check_withdraw_permission(venue: &CryptoVenue, allow: bool) -> Result<String, String> {
    let c = venue.client();
    let Some(probe) = c.facts.permissions else {
        return Ok(format!(
            "Key permissions: {} does not report them; make sure the key cannot withdraw",
            c.facts.name
        ));
    };
    match c.can_withdraw().await {
        Ok(Some(true)) if !allow => Err(format!(
            "the API key can withdraw funds ({} reports {}): tradegate never needs that; make a key without withdrawal permission, or set CRYPTO_ALLOW_WITHDRAW_KEYS=true",
            c.id, probe.withdraw_field
        )),
        Ok(Some(true)) => Ok("Key permissions: CAN WITHDRAW (accepted: CRYPTO_ALLOW_WITHDRAW_KEYS=true)".into()),
        Ok(Some(false)) => Ok(format!("Key permissions: no withdrawals ({} {}=false)", c.id, probe.withdraw_field)),
        Ok(None) => Ok(format!("Key permissions: {} did not say ({} missing)", c.id, probe.withdraw_field)),
        Err(e) => Ok(format!("Key permissions: unreadable ({e})")),
    }
}
