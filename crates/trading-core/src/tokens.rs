//! Single-use confirmation tokens: `preview_order` issues one bound to the exact order, and the
//! order tool must present it before it expires.

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::{
    error::{ErrorCode, TradeError},
    order::OrderIntent,
};

/// Issued tokens kept at most; the oldest are dropped past this (an agent previews a handful).
const MAX_LIVE_TOKENS: usize = 1024;

#[derive(Debug)]
struct Issued {
    binding: String,
    expires: DateTime<Utc>,
    /// The price the preview saw (an approval's drift check starts from it).
    reference: Option<Decimal>,
}

/// The store of outstanding tokens (in memory: a restart voids them, which fails closed).
#[derive(Debug)]
pub struct TokenStore {
    ttl: Duration,
    issued: Mutex<HashMap<String, Issued>>,
}

fn binding_of(intent: &OrderIntent) -> String {
    hex::encode(Sha256::digest(intent.exact_terms().as_bytes()))
}

impl TokenStore {
    pub fn new(ttl_seconds: u64) -> Self {
        let ttl = Duration::seconds(i64::try_from(ttl_seconds).unwrap_or(i64::MAX / 1000));
        Self { ttl, issued: Mutex::new(HashMap::new()) }
    }

    pub fn ttl_seconds(&self) -> i64 {
        self.ttl.num_seconds()
    }

    /// Issues a token bound to this exact order, valid until `now + ttl`; `reference` is the
    /// price the preview saw.
    pub fn issue(
        &self,
        intent: &OrderIntent,
        now: DateTime<Utc>,
        reference: Option<Decimal>,
    ) -> (String, DateTime<Utc>) {
        let token = format!("ct_{}", uuid::Uuid::new_v4().simple());
        let expires = now + self.ttl;
        let mut map = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, t| t.expires > now);
        if map.len() >= MAX_LIVE_TOKENS
            && let Some(oldest) = map.iter().min_by_key(|(_, t)| t.expires).map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(token.clone(), Issued { binding: binding_of(intent), expires, reference });
        (token, expires)
    }

    /// Consumes `token` for `intent`, giving the price its preview saw. The token is spent
    /// whether or not it matches, so a token can never be tried twice.
    pub fn redeem(
        &self,
        token: Option<&str>,
        intent: &OrderIntent,
        now: DateTime<Utc>,
    ) -> Result<Option<Decimal>, TradeError> {
        let refuse = |msg: String| Err(TradeError::new(ErrorCode::ConfirmationRequired, msg));
        let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
            return refuse(
                "This order needs a confirmation_token: call preview_order with the same parameters first, show the preview to the user, then pass the token it returns. (ORDER_CONFIRMATION=required)".into(),
            );
        };
        let issued = self.issued.lock().unwrap_or_else(|p| p.into_inner()).remove(token);
        match issued {
            None => refuse(format!(
                "confirmation_token '{token}' is unknown or already used (tokens are single-use and do not survive a restart). Call preview_order again."
            )),
            Some(t) if t.expires <= now => refuse(format!(
                "confirmation_token expired at {} (CONFIRMATION_TTL_SECONDS={}). Call preview_order again.",
                t.expires.to_rfc3339(),
                self.ttl.num_seconds()
            )),
            Some(t) if t.binding != binding_of(intent) => refuse(
                "confirmation_token was issued for a different order (symbol, side, type, size and prices must match the preview exactly). Call preview_order again with these parameters.".into(),
            ),
            Some(t) => Ok(t.reference),
        }
    }
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
