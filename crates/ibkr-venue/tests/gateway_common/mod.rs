#![allow(dead_code, clippy::unwrap_used)] // test code

use std::{collections::HashMap, sync::Arc, time::Duration};

use cpapi_fake::{FakeGateway, State};
use ibkr_venue::{
    cpapi::{GatewayConfig, GatewayHttp, PacingLimits, TlsMode},
    gateway::{GatewaySettings, GatewayVenue},
    session::{Alerter, SessionKeeper},
    settings::IBKR_KEYS,
};
use serde_json::Value;
use sim_venue::SimConfig;
use trading_core::{
    broker::GuardedBroker,
    config::Policy,
    journal::Journal,
    ports::{SystemClock, Venue},
};

pub const ACCT: &str = "DU1234567";
/// Pacing scaled down 100x on both sides (5 s spacing becomes 50 ms).
pub const SCALE: f64 = 0.01;

pub fn fake_state() -> State {
    let mut st = State::new(SimConfig::default(), ACCT);
    st.limits.spaced = st.limits.spaced.iter().map(|(p, d)| (*p, d.mul_f64(SCALE))).collect();
    st.limits.penalty = Duration::from_secs(2);
    st
}

pub struct Rig {
    pub fake: FakeGateway,
    pub venue: Arc<GatewayVenue>,
    pub keeper: Arc<SessionKeeper>,
    pub broker: Arc<GuardedBroker>,
    pub _dir: tempfile::TempDir,
}

pub fn policy(pairs: &[(&str, &str)]) -> Policy {
    let mut env: HashMap<String, String> = [
        ("TRADING_DRY_RUN", "false"),
        ("ORDER_CONFIRMATION", "off"),
        ("ENFORCE_MARKET_HOURS", "false"),
        ("DUPLICATE_WINDOW_SECONDS", "0"),
        ("MAX_DAILY_ORDERS", "off"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Policy::from_env(&env, IBKR_KEYS).unwrap()
}

pub async fn rig_with(state: State, settings: GatewaySettings, pairs: &[(&str, &str)]) -> Rig {
    let fake = FakeGateway::start(state, 0).await.unwrap();
    let http = Arc::new(
        GatewayHttp::new(GatewayConfig {
            base_url: fake.base_url(),
            tls: TlsMode::InsecureLoopback,
            timeout: Duration::from_secs(5),
            limits: PacingLimits::ibkr().scaled(SCALE),
        })
        .unwrap(),
    );
    let keeper = Arc::new(SessionKeeper::new(http.clone(), Alerter::new(None, 10)));
    let settings = GatewaySettings { quote_retry_delay: Duration::from_millis(30), ..settings };
    let venue = Arc::new(GatewayVenue::new(http, keeper.clone(), settings));
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(&dir.path().join("trades.jsonl"), IBKR_KEYS.journal_tz).unwrap());
    let broker =
        Arc::new(GuardedBroker::new(venue.clone() as Arc<dyn Venue>, policy(pairs), journal, Arc::new(SystemClock)));
    Rig { fake, venue, keeper, broker, _dir: dir }
}

pub async fn rig(pairs: &[(&str, &str)]) -> Rig {
    rig_with(fake_state(), GatewaySettings::default(), pairs).await
}

impl Rig {
    /// Bodies posted to the order endpoint.
    pub fn order_posts(&self) -> Vec<Value> {
        self.fake
            .with(|s| s.requests_to(&format!("/iserver/account/{ACCT}/orders")).into_iter().map(|r| r.body).collect())
    }
    pub fn count(&self, path: &str) -> usize {
        self.fake.with(|s| s.requests_to(path).len())
    }
}
