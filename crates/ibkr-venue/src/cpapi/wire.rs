//! Typed models of the CPAPI responses the adapter reads. Each field is named as IBKR sends it;
//! where recordings and the spec spell a field differently, each spelling is its own field and
//! an accessor picks the first present (serde aliases would reject a body that carries two
//! spellings at once, and real bodies do). Numbers are accepted as JSON numbers or strings.
//!
//! Sources, cited per model: REC-C = `shared/reference/fixtures/ibkr-conduit/**` (a paper
//! account, 2026), REC-I = `fixtures/ibind/ibkr_responses.json` (CP Gateway, 2023-24), SPEC =
//! IBKR's OpenAPI 2.28.0, LEGACY = IBKR's Swagger 2.0.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::parse;

/// Number-or-string field helpers.
mod num {
    use super::*;

    pub fn dec<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Ok(parse::dec(&Value::deserialize(d)?))
    }

    pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(parse::id_text(&Value::deserialize(d)?))
    }

    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(parse::int(&Value::deserialize(d)?))
    }

    pub fn boolish<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(parse::is_paper(&Value::deserialize(d)?))
    }

    /// A percentage as a number, `"25.3"` or `"25.3%"`.
    pub fn pct<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => parse::dec(&Value::String(s.trim().trim_end_matches('%').to_string())),
            other => parse::dec(&other),
        })
    }

    /// A list of numbers or numeric strings; entries that are neither are dropped.
    pub fn decs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Decimal>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Array(items) => items.iter().filter_map(parse::dec).collect(),
            _ => vec![],
        })
    }

    /// A string, or nothing for null / a number / an empty string.
    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) if !s.is_empty() => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    }
}

/// Decodes `v` as `T`, naming the endpoint when the body does not fit.
pub fn decode<T: for<'de> Deserialize<'de>>(what: &str, v: Value) -> Result<T, super::CpapiError> {
    serde_json::from_value(v).map_err(|e| super::CpapiError::Decode(format!("{what}: {e}")))
}

/// `serverInfo` of auth status and accounts.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServerInfo {
    #[serde(rename = "serverName", default, deserialize_with = "num::text")]
    pub server_name: Option<String>,
    #[serde(rename = "serverVersion", default, deserialize_with = "num::text")]
    pub server_version: Option<String>,
}

/// `POST /iserver/auth/status` (REC-C Session/GET-auth-status, REC-I auth_status, SPEC).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthStatus {
    #[serde(default, deserialize_with = "num::boolish")]
    pub authenticated: Option<bool>,
    #[serde(default, deserialize_with = "num::boolish")]
    pub competing: Option<bool>,
    #[serde(default, deserialize_with = "num::boolish")]
    pub connected: Option<bool>,
    #[serde(default, deserialize_with = "num::boolish")]
    pub established: Option<bool>,
    #[serde(default, deserialize_with = "num::text")]
    pub fail: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub message: Option<String>,
    #[serde(rename = "serverInfo", default)]
    pub server_info: Option<ServerInfo>,
}

/// `GET /iserver/accounts` (REC-C Accounts/GET-iserver-accounts).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IserverAccounts {
    #[serde(default)]
    pub accounts: Vec<String>,
    #[serde(rename = "selectedAccount", default, deserialize_with = "num::text")]
    pub selected_account: Option<String>,
    /// A bool, "true"/"false", or 0/1 depending on the gateway build.
    #[serde(rename = "isPaper", default, deserialize_with = "num::boolish")]
    pub is_paper: Option<bool>,
    #[serde(rename = "acctProps", default)]
    pub acct_props: BTreeMap<String, Value>,
    #[serde(rename = "serverInfo", default)]
    pub server_info: Option<ServerInfo>,
}

/// One row of `GET /portfolio/accounts` (REC-C, REC-I accounts).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PortfolioAccount {
    #[serde(default, deserialize_with = "num::text")]
    pub id: Option<String>,
    #[serde(rename = "accountId", default, deserialize_with = "num::text")]
    pub account_id: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub currency: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "num::text")]
    pub kind: Option<String>,
    #[serde(rename = "displayName", default, deserialize_with = "num::text")]
    pub display_name: Option<String>,
    #[serde(rename = "accountAlias", default, deserialize_with = "num::text")]
    pub alias: Option<String>,
}

/// One value of `GET /portfolio/{acct}/summary`: `{"amount": 1.5, "currency": "USD", ...}`
/// (REC-C) or, in older builds, a bare number.
#[derive(Debug, Clone, Default)]
pub struct SummaryValue {
    pub amount: Option<Decimal>,
    pub currency: Option<String>,
}

impl<'de> Deserialize<'de> for SummaryValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(match &v {
            Value::Object(_) => {
                SummaryValue { amount: parse::dec(&v["amount"]), currency: v["currency"].as_str().map(str::to_string) }
            }
            other => SummaryValue { amount: parse::dec(other), currency: None },
        })
    }
}

/// `GET /portfolio/{acct}/summary` (REC-C Portfolio/GET-portfolio-summary; SPEC lists ~120 keys).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PortfolioSummary {
    #[serde(default)]
    pub netliquidation: Option<SummaryValue>,
    #[serde(default)]
    pub totalcashvalue: Option<SummaryValue>,
    #[serde(default)]
    pub availablefunds: Option<SummaryValue>,
    #[serde(default)]
    pub buyingpower: Option<SummaryValue>,
    #[serde(default)]
    pub maintmarginreq: Option<SummaryValue>,
}

/// One currency of `GET /portfolio/{acct}/ledger` (REC-C Portfolio/GET-portfolio-ledger, REC-I ledger).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LedgerEntry {
    #[serde(default, deserialize_with = "num::text")]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "num::dec")]
    pub cashbalance: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub settledcash: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub netliquidationvalue: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub exchangerate: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub unrealizedpnl: Option<Decimal>,
}

/// `GET /portfolio/{acct}/ledger`: currency code (and `BASE`) → entry.
pub type Ledger = BTreeMap<String, LedgerEntry>;

/// One row of `GET /portfolio/{acct}/positions/{page}` (REC-C page0, REC-I positions, and
/// SPEC's example page with an OPT row `ticker:"SPY"` and a CRYPTO row `ticker:"BTC"`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PositionRow {
    #[serde(default, deserialize_with = "num::int")]
    pub conid: Option<i64>,
    #[serde(rename = "contractDesc", default, deserialize_with = "num::text")]
    pub contract_desc: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub ticker: Option<String>,
    #[serde(rename = "undSym", default, deserialize_with = "num::text")]
    pub und_sym: Option<String>,
    #[serde(rename = "fullName", default, deserialize_with = "num::text")]
    pub full_name: Option<String>,
    #[serde(default, deserialize_with = "num::dec")]
    pub position: Option<Decimal>,
    #[serde(rename = "mktPrice", default, deserialize_with = "num::dec")]
    pub mkt_price: Option<Decimal>,
    #[serde(rename = "mktValue", default, deserialize_with = "num::dec")]
    pub mkt_value: Option<Decimal>,
    #[serde(default, deserialize_with = "num::text")]
    pub currency: Option<String>,
    /// Per contract: for an option, premium × multiplier (SPEC: avgCost 5801.04, avgPrice 58.01).
    #[serde(rename = "avgCost", default, deserialize_with = "num::dec")]
    pub avg_cost: Option<Decimal>,
    /// Per unit of price (what a quote shows).
    #[serde(rename = "avgPrice", default, deserialize_with = "num::dec")]
    pub avg_price: Option<Decimal>,
    #[serde(rename = "unrealizedPnl", default, deserialize_with = "num::dec")]
    pub unrealized_pnl: Option<Decimal>,
    #[serde(rename = "assetClass", default, deserialize_with = "num::text")]
    pub asset_class: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub expiry: Option<String>,
    #[serde(rename = "putOrCall", default, deserialize_with = "num::text")]
    pub put_or_call: Option<String>,
    #[serde(default, deserialize_with = "num::dec")]
    pub strike: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub multiplier: Option<Decimal>,
    #[serde(rename = "undConid", default, deserialize_with = "num::int")]
    pub und_conid: Option<i64>,
    #[serde(rename = "pageSize", default)]
    pub page_size: Option<u64>,
}

/// One row of `GET /iserver/marketdata/snapshot` (REC-C MarketData/GET-snapshot; LEGACY field codes).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SnapshotRow {
    #[serde(default, deserialize_with = "num::int")]
    pub conid: Option<i64>,
    /// Last price, possibly prefixed `C` (prior close) or `H` (halted).
    #[serde(rename = "31", default)]
    pub last: Option<Value>,
    #[serde(rename = "84", default, deserialize_with = "num::dec")]
    pub bid: Option<Decimal>,
    #[serde(rename = "86", default, deserialize_with = "num::dec")]
    pub ask: Option<Decimal>,
    /// Market-data availability: first letter R (real time), D (delayed), Z/Y (frozen), N (none).
    #[serde(rename = "6509", default, deserialize_with = "num::text")]
    pub availability: Option<String>,
    /// Option greeks (per share) and implied volatility %, open interest (SPEC field codes).
    #[serde(rename = "7308", default, deserialize_with = "num::dec")]
    pub delta: Option<Decimal>,
    #[serde(rename = "7309", default, deserialize_with = "num::dec")]
    pub gamma: Option<Decimal>,
    #[serde(rename = "7310", default, deserialize_with = "num::dec")]
    pub theta: Option<Decimal>,
    #[serde(rename = "7311", default, deserialize_with = "num::dec")]
    pub vega: Option<Decimal>,
    #[serde(rename = "7633", default, deserialize_with = "num::pct")]
    pub implied_vol_pct: Option<Decimal>,
    #[serde(rename = "7638", default, deserialize_with = "num::dec")]
    pub open_interest: Option<Decimal>,
}

/// `GET /trsrv/stocks?symbols=…` (REC-C Contracts/GET-trsrv-stocks, REC-I stocks): symbol → listings.
pub type Stocks = BTreeMap<String, Vec<StockEntry>>;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct StockEntry {
    #[serde(default, deserialize_with = "num::text")]
    pub name: Option<String>,
    #[serde(default)]
    pub contracts: Vec<StockContract>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct StockContract {
    #[serde(default, deserialize_with = "num::int")]
    pub conid: Option<i64>,
    #[serde(default, deserialize_with = "num::text")]
    pub exchange: Option<String>,
    #[serde(rename = "isUS", default)]
    pub is_us: Option<bool>,
}

/// One match of `GET /iserver/secdef/search` (REC-C Contracts/GET-secdef-search).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecdefMatch {
    #[serde(default, deserialize_with = "num::text")]
    pub symbol: Option<String>,
    #[serde(rename = "companyName", default, deserialize_with = "num::text")]
    pub company_name: Option<String>,
    #[serde(default, deserialize_with = "num::id")]
    pub conid: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub description: Option<String>,
    #[serde(default)]
    pub sections: Vec<SecdefSection>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecdefSection {
    #[serde(rename = "secType", default, deserialize_with = "num::text")]
    pub sec_type: Option<String>,
    /// For OPT: `APR26;MAY26;JUN26` (REC-C).
    #[serde(default, deserialize_with = "num::text")]
    pub months: Option<String>,
}

/// `GET /iserver/secdef/strikes?conid=&sectype=OPT&month=` (SPEC: `{"call":[70.0,…],"put":[…]}`;
/// the legacy spec has strings).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Strikes {
    #[serde(default, deserialize_with = "num::decs")]
    pub call: Vec<Decimal>,
    #[serde(default, deserialize_with = "num::decs")]
    pub put: Vec<Decimal>,
}

/// One contract of `GET /iserver/secdef/info` (legacy spec: an array of these for options;
/// SPEC: one object for a stock).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecdefInfo {
    #[serde(default, deserialize_with = "num::int")]
    pub conid: Option<i64>,
    #[serde(default, deserialize_with = "num::text")]
    pub symbol: Option<String>,
    #[serde(rename = "secType", default, deserialize_with = "num::text")]
    pub sec_type: Option<String>,
    /// "C" or "P".
    #[serde(default, deserialize_with = "num::text")]
    pub right: Option<String>,
    #[serde(default, deserialize_with = "num::dec")]
    pub strike: Option<Decimal>,
    /// `YYYYMMDD`.
    #[serde(rename = "maturityDate", default, deserialize_with = "num::text")]
    pub maturity_date: Option<String>,
    #[serde(default, deserialize_with = "num::dec")]
    pub multiplier: Option<Decimal>,
}

impl SecdefInfo {
    /// An array of contracts, or the one object IBKR sends for a single contract.
    pub fn list(v: Value) -> Result<Vec<SecdefInfo>, super::CpapiError> {
        match v {
            Value::Array(_) => decode("/iserver/secdef/info", v),
            Value::Object(_) => Ok(vec![decode("/iserver/secdef/info", v)?]),
            _ => Ok(vec![]),
        }
    }
}

/// `GET /iserver/marketdata/history` (REC-C MarketData/GET-history, REC-I history).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct History {
    #[serde(default)]
    pub data: Vec<HistoryBar>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryBar {
    /// Epoch milliseconds.
    #[serde(default, deserialize_with = "num::int")]
    pub t: Option<i64>,
    #[serde(default, deserialize_with = "num::dec")]
    pub o: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub h: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub l: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub c: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub v: Option<Decimal>,
}

/// `GET /iserver/account/orders` (REC-C Orders/GET-live-orders, REC-I live_orders).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LiveOrders {
    #[serde(default)]
    pub orders: Vec<LiveOrder>,
    #[serde(default)]
    pub snapshot: Option<bool>,
}

/// One row of the live-orders list. `price` is the limit (LMT) or the trigger (STP); REC-C's
/// filled market order carries `"price": ""`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LiveOrder {
    #[serde(rename = "orderId", default, deserialize_with = "num::id")]
    pub order_id: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub order_ref: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub ticker: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub side: Option<String>,
    #[serde(rename = "orderType", default, deserialize_with = "num::text")]
    pub order_type: Option<String>,
    #[serde(rename = "totalSize", default, deserialize_with = "num::dec")]
    pub total_size: Option<Decimal>,
    #[serde(rename = "filledQuantity", default, deserialize_with = "num::dec")]
    pub filled_quantity: Option<Decimal>,
    #[serde(rename = "avgPrice", default, deserialize_with = "num::dec")]
    pub avg_price: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub price: Option<Decimal>,
    /// Only seen in our fake and peers' code; a STOP_LIMIT row's trigger when present.
    #[serde(rename = "auxPrice", default, deserialize_with = "num::dec")]
    pub aux_price: Option<Decimal>,
    #[serde(rename = "orderDesc", default, deserialize_with = "num::text")]
    pub order_desc: Option<String>,
    #[serde(rename = "timeInForce", default, deserialize_with = "num::text")]
    pub time_in_force: Option<String>,
    #[serde(rename = "secType", default, deserialize_with = "num::text")]
    pub sec_type: Option<String>,
    #[serde(default, deserialize_with = "num::int")]
    pub conid: Option<i64>,
}

/// `GET /iserver/account/order/status/{id}`. Three recorded spellings of the same facts:
/// REC-C (a filled MKT): `avg_fill_price`, `filled_quantity`, `"price":"0.0"`;
/// REC-I (a resting LMT): `limit_price`, `cum_fill`, no `price`; SPEC: `average_price`, `cum_fill`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrderStatusBody {
    #[serde(default, deserialize_with = "num::id")]
    pub order_id: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub order_status: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub symbol: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub ticker: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub side: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub order_type: Option<String>,
    #[serde(default, deserialize_with = "num::dec")]
    pub total_size: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub cum_fill: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub filled_quantity: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub average_price: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub avg_fill_price: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub avg_price: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub price: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub limit_price: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub stop_price: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub aux_price: Option<Decimal>,
    #[serde(default, deserialize_with = "num::text")]
    pub tif: Option<String>,
    #[serde(default, deserialize_with = "num::boolish")]
    pub outside_rth: Option<bool>,
    #[serde(default, deserialize_with = "num::text")]
    pub order_description: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub sec_type: Option<String>,
}

fn first_positive(candidates: &[Option<Decimal>]) -> Option<Decimal> {
    candidates.iter().flatten().copied().find(|d| *d > Decimal::ZERO)
}

impl OrderStatusBody {
    pub fn status_text(&self) -> &str {
        self.order_status.as_deref().or(self.status.as_deref()).unwrap_or_default()
    }
    pub fn symbol(&self) -> &str {
        self.symbol.as_deref().or(self.ticker.as_deref()).unwrap_or_default()
    }
    pub fn filled(&self) -> Option<Decimal> {
        self.cum_fill.or(self.filled_quantity)
    }
    /// The average fill price under any of its spellings (a "0.0" means none yet).
    pub fn average_fill(&self) -> Option<Decimal> {
        first_positive(&[self.average_price, self.avg_fill_price, self.avg_price])
    }
    /// The limit of a LMT or STOP_LIMIT: `limit_price` (REC-I), else `price` (SPEC, LEGACY).
    pub fn limit(&self) -> Option<Decimal> {
        first_positive(&[self.limit_price, self.price])
    }
    /// The trigger of a STP (`stop_price`, else `price`) or a STOP_LIMIT (`stop_price`, else `aux_price`).
    pub fn stop_trigger(&self, stop_limit: bool) -> Option<Decimal> {
        if stop_limit {
            first_positive(&[self.stop_price, self.aux_price])
        } else {
            first_positive(&[self.stop_price, self.price])
        }
    }
}

/// One acknowledgement of an order post or reply (REC-C Orders/POST-place-order-submitted,
/// POST-reply-submitted, POST-modify-order-submitted).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrderAck {
    #[serde(default, deserialize_with = "num::id")]
    pub order_id: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub order_status: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub text: Option<String>,
}

/// A confirmation question (REC-C Orders/POST-place-order-confirmation; SPEC shape 2).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrderQuestion {
    #[serde(deserialize_with = "num::id")]
    pub id: Option<String>,
    /// A list of strings (REC-C) or one string.
    pub message: Value,
    #[serde(rename = "messageIds", default)]
    pub message_ids: Vec<String>,
}

/// SPEC shape 4 (`advancedOrderReject`): a prompt object, e.g. `p12` "Use the Price
/// Management Algo?", answered through `POST /iserver/notification` or left rejected.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AdvancedReject {
    #[serde(rename = "orderId", default, deserialize_with = "num::id")]
    pub order_id: Option<String>,
    #[serde(rename = "reqId", default, deserialize_with = "num::id")]
    pub req_id: Option<String>,
    #[serde(rename = "messageId", default, deserialize_with = "num::text")]
    pub message_id: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub text: Option<String>,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub prompt: Option<bool>,
}

/// What an order post, reply or modify answered.
#[derive(Debug, Clone)]
pub enum OrderAnswer {
    Acks(Vec<OrderAck>),
    Question { id: String, ids: Vec<String>, text: String },
    Prompt(AdvancedReject),
    Reject(String),
    Unparseable(String),
}

impl OrderAnswer {
    pub fn read(v: &Value) -> OrderAnswer {
        if let Some(items) = v.as_array()
            && let Some(first) = items.first()
        {
            if first.get("id").is_some()
                && first.get("message").is_some()
                && let Ok(q) = serde_json::from_value::<OrderQuestion>(first.clone())
            {
                let text = match &q.message {
                    Value::Array(m) => m.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "),
                    other => other.as_str().unwrap_or_default().to_string(),
                };
                return OrderAnswer::Question {
                    id: q.id.unwrap_or_default(),
                    ids: q.message_ids,
                    text: parse::clean_warning(&text),
                };
            }
            if items.iter().all(|x| x.get("order_id").is_some())
                && let Ok(acks) = serde_json::from_value::<Vec<OrderAck>>(v.clone())
            {
                return OrderAnswer::Acks(acks);
            }
        }
        if v.get("messageId").is_some()
            && v.get("prompt").is_some()
            && let Ok(p) = serde_json::from_value::<AdvancedReject>(v.clone())
        {
            return OrderAnswer::Prompt(p);
        }
        let e = super::http::error_text(v);
        if !e.is_empty() {
            return OrderAnswer::Reject(e);
        }
        OrderAnswer::Unparseable(v.to_string().chars().take(300).collect())
    }
}

/// `POST /iserver/account/{acct}/orders/whatif` (REC-C Orders/POST-whatif-order; the peer's
/// live cash-order body has `equity`/`initial` null and `warns[]`, `data[]`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WhatIf {
    #[serde(default)]
    pub amount: Option<WhatIfAmount>,
    #[serde(default)]
    pub equity: Option<WhatIfChange>,
    #[serde(default)]
    pub initial: Option<WhatIfChange>,
    #[serde(default)]
    pub warns: Vec<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub warn: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub error: Option<String>,
    /// `[{"N":"CURRENT_FUNDS"|"AFTER_FUNDS","V":[...]}]` rows.
    #[serde(default)]
    pub data: Vec<WhatIfData>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WhatIfAmount {
    #[serde(default, deserialize_with = "num::text")]
    pub amount: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub commission: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub total: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WhatIfChange {
    #[serde(default, deserialize_with = "num::text")]
    pub current: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub change: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub after: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WhatIfData {
    #[serde(rename = "N", default, deserialize_with = "num::text")]
    pub name: Option<String>,
    #[serde(rename = "V", default)]
    pub values: Vec<Value>,
}

/// One execution of `GET /iserver/account/trades` (REC-C Orders/GET-trades, trimmed; SPEC).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Trade {
    #[serde(default, deserialize_with = "num::id")]
    pub execution_id: Option<String>,
    #[serde(default, deserialize_with = "num::id")]
    pub order_id: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub order_ref: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub symbol: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub side: Option<String>,
    #[serde(default, deserialize_with = "num::dec")]
    pub size: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub price: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub commission: Option<Decimal>,
    /// Epoch milliseconds.
    #[serde(default, deserialize_with = "num::int")]
    pub trade_time_r: Option<i64>,
    /// "YYYYMMDD-hh:mm:ss" (UTC), when `trade_time_r` is missing.
    #[serde(default, deserialize_with = "num::text")]
    pub trade_time: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub sec_type: Option<String>,
}

impl Trade {
    pub fn time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.trade_time_r.and_then(chrono::DateTime::from_timestamp_millis).or_else(|| {
            let t = self.trade_time.as_deref()?;
            chrono::NaiveDateTime::parse_from_str(t, "%Y%m%d-%H:%M:%S").ok().map(|n| n.and_utc())
        })
    }
}

/// `DELETE /iserver/account/{acct}/order/{id}` (REC-C Orders/DELETE-cancel-order).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CancelAnswer {
    #[serde(default, deserialize_with = "num::text")]
    pub msg: Option<String>,
    #[serde(default, deserialize_with = "num::id")]
    pub order_id: Option<String>,
    /// `-1` with `account: null` means cancelled at once (IBKR's doc text).
    #[serde(default, deserialize_with = "num::int")]
    pub conid: Option<i64>,
    #[serde(default, deserialize_with = "num::text")]
    pub order_status: Option<String>,
}

/// `POST /iserver/scanner/run` (REC-C Scanner/POST-scanner-run).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScannerRun {
    #[serde(default)]
    pub contracts: Vec<ScanContract>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScanContract {
    #[serde(default, deserialize_with = "num::text")]
    pub symbol: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub company_name: Option<String>,
    #[serde(default, deserialize_with = "num::id")]
    pub con_id: Option<String>,
    #[serde(default, deserialize_with = "num::id")]
    pub conidex: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub listing_exchange: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub scan_data: Option<String>,
}

/// `GET /iserver/contract/{conid}/info` (REC-C Contracts/GET-contract-info: snake_case, not SPEC's camelCase).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContractInfo {
    #[serde(default, deserialize_with = "num::text")]
    pub industry: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub category: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub symbol: Option<String>,
    /// STK, OPT, FUT, ...
    #[serde(default, deserialize_with = "num::text")]
    pub instrument_type: Option<String>,
    /// Options: `YYYYMMDD`.
    #[serde(default, deserialize_with = "num::text")]
    pub maturity_date: Option<String>,
    /// Options: a string, e.g. "187.5" (SPEC).
    #[serde(default, deserialize_with = "num::dec")]
    pub strike: Option<Decimal>,
    /// Options: "CALL" or "PUT" (SPEC).
    #[serde(default, deserialize_with = "num::text")]
    pub right: Option<String>,
}

/// `GET /contract/trading-schedule?conid=` (REC-C Contracts/GET-trading-schedule): real dates
/// with epoch-second windows.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TradingSchedule {
    #[serde(default, deserialize_with = "num::text")]
    pub exchange_time_zone: Option<String>,
    #[serde(default)]
    pub schedules: BTreeMap<String, ScheduleDay>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScheduleDay {
    #[serde(default)]
    pub liquid_hours: Vec<ScheduleWindow>,
    #[serde(default)]
    pub extended_hours: Vec<ScheduleWindow>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScheduleWindow {
    #[serde(default, deserialize_with = "num::int")]
    pub opening: Option<i64>,
    #[serde(default, deserialize_with = "num::int")]
    pub closing: Option<i64>,
}

/// `GET /iserver/account/pnl/partitioned` (REC-C: `{"upnl":{}}` before the stream warms up;
/// SPEC: `{"upnl":{"U123.Core":{"dpl":…,"nl":…,"upl":…}}}`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PnlPartitioned {
    #[serde(default)]
    pub upnl: BTreeMap<String, PnlRow>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PnlRow {
    #[serde(default, deserialize_with = "num::dec")]
    pub dpl: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub nl: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub upl: Option<Decimal>,
    /// Excess liquidity.
    #[serde(default, deserialize_with = "num::dec")]
    pub el: Option<Decimal>,
    /// Market value.
    #[serde(default, deserialize_with = "num::dec")]
    pub mv: Option<Decimal>,
}

/// `GET /iserver/exchangerate?source=&target=` (SPEC example `{"rate": 0.91324199}`: units of
/// the target per unit of the source).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExchangeRate {
    #[serde(default, deserialize_with = "num::dec")]
    pub rate: Option<Decimal>,
}

/// `POST /pa/performance` (SPEC example `success`): `nav` (daily NAV and `startNAV`), `cps`
/// (cumulative returns, fractions) and `tpps` (returns per sub-period, `freq` "M").
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaPerformance {
    #[serde(default)]
    pub nav: PaSeries,
    #[serde(default)]
    pub cps: PaSeries,
    #[serde(default)]
    pub tpps: PaSeries,
    /// Performance method, "TWR".
    #[serde(default, deserialize_with = "num::text")]
    pub pm: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaSeries {
    #[serde(default)]
    pub data: Vec<PaRow>,
    /// `YYYYMMDD` (daily) or `YYYYMM` (monthly).
    #[serde(default)]
    pub dates: Vec<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub freq: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaRow {
    #[serde(default, deserialize_with = "num::text")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "num::decs")]
    pub navs: Vec<Decimal>,
    #[serde(default, deserialize_with = "num::decs")]
    pub returns: Vec<Decimal>,
    #[serde(rename = "startNAV", default)]
    pub start_nav: Option<PaStartNav>,
    #[serde(rename = "baseCurrency", default, deserialize_with = "num::text")]
    pub base_currency: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaStartNav {
    #[serde(default, deserialize_with = "num::text")]
    pub date: Option<String>,
    #[serde(default, deserialize_with = "num::dec")]
    pub val: Option<Decimal>,
}

/// `POST /pa/transactions` (SPEC example `success`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaTransactions {
    #[serde(default, deserialize_with = "num::text")]
    pub currency: Option<String>,
    #[serde(default)]
    pub transactions: Vec<PaTransaction>,
    #[serde(default)]
    pub rpnl: PaRealized,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaTransaction {
    /// `Mon Dec 11 00:00:00 EST 2023`.
    #[serde(default, deserialize_with = "num::text")]
    pub date: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub cur: Option<String>,
    #[serde(default, deserialize_with = "num::dec")]
    pub pr: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub qty: Option<Decimal>,
    #[serde(default, deserialize_with = "num::dec")]
    pub amt: Option<Decimal>,
    #[serde(rename = "type", default, deserialize_with = "num::text")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "num::text")]
    pub desc: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaRealized {
    #[serde(default)]
    pub data: Vec<PaRealizedDay>,
    #[serde(default, deserialize_with = "num::dec")]
    pub amt: Option<Decimal>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaRealizedDay {
    /// `YYYYMMDD`.
    #[serde(default, deserialize_with = "num::text")]
    pub date: Option<String>,
    #[serde(default, deserialize_with = "num::dec")]
    pub amt: Option<Decimal>,
}
