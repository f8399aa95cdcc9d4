//! Always offered: the session, the account's kind and the safety posture, and the market clock.

use rmcp::{model::CallToolResult, tool, tool_router};
use serde_json::json;
use trading_core::{
    account::MarketHoursModel,
    error::{ErrorCode, TradeError},
};

use crate::{
    TradingServer,
    envelope::{fail, ok},
};

#[tool_router(router = session_router, vis = "pub(crate)")]
impl TradingServer {
    /// Connection, account (paper or live, as the venue reports it) and the safety posture:
    /// what would stop a trade right now.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn session_status(&self) -> CallToolResult {
        let venue = self.broker.venue();
        let session = venue.session().await.unwrap_or_else(|e| json!({ "error": e.to_string() }));
        let identity = venue.identity().await.map_err(|e| e.to_string());
        let account_type = match &identity {
            Ok(i) => match i.is_paper {
                Some(true) => "PAPER",
                Some(false) => "LIVE",
                None => "UNKNOWN",
            },
            Err(_) => "UNKNOWN",
        };
        let simulator = self.settings.backend == "sim";
        let mut data = json!({
            "server": self.settings.name,
            "version": crate::launch::VERSION,
            "venue": venue.name(),
            "backend": self.settings.backend,
            "simulator": simulator,
            "session": session,
            "account_type": account_type,
            "identity": identity.as_ref().ok(),
            "capabilities": venue.capabilities(),
            "read_only": self.settings.read_only,
            "posture": self.broker.posture().await,
            "approval": self.approval_mode(),
        });
        if simulator {
            data["notice"] = json!(
                "SIMULATOR: an offline simulated market. Prices are a seeded random walk; no order reaches a broker."
            );
        } else if account_type == "LIVE" {
            data["warning"] = json!("LIVE account: orders use real money.");
        }
        match identity {
            Ok(i) if !i.verified && !simulator => {
                let k = &self.broker.policy().keys;
                data["identity_warning"] = json!(format!(
                    "{account_type} comes from the {} label: {} cannot confirm it, so real orders also need {}=true.",
                    k.trading_mode, k.venue, k.allow_live
                ));
            }
            Ok(_) => {}
            Err(e) => data["identity_error"] = json!(e),
        }
        ok(data)
    }

    /// Whether the market is open now (NYSE hours, holidays and early closes), and when it
    /// next opens.
    #[tool(annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false))]
    async fn market_status(&self) -> CallToolResult {
        let policy = self.broker.policy();
        let caps = self.broker.venue().capabilities();
        let nyse = policy.calendar.state_at(self.broker.now());
        let data = match (caps.market_hours, nyse) {
            (MarketHoursModel::AlwaysOpen, nyse) => json!({
                "market_open": true,
                "reason": "this venue accepts and fills orders at any hour",
                "nyse": nyse.ok(),
            }),
            (MarketHoursModel::Nyse, Ok(s)) => json!({
                "market_open": s.market_open,
                "reason": s.reason,
                "session": s.session,
                "next_open": s.next_open,
                "market_orders_allowed_now": s.market_open || !policy.enforce_market_hours,
            }),
            (MarketHoursModel::Nyse, Err(e)) => {
                return fail(TradeError::new(ErrorCode::Internal, e.to_string()));
            }
        };
        ok(data)
    }
}
