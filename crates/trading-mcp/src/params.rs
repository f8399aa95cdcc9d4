//! Tool parameters, named as the reference names them, and the one builder that turns them
//! into an order, so `preview_order` and the order tools describe exactly the same order.

use schemars::JsonSchema;
use serde::Deserialize;
use trading_core::{
    error::TradeError,
    money::{Money, Price, Qty},
    order::{BracketRequest, OrderIntent, OrderRequest, OrderType, Side, Size, TimeInForce, Trail},
};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SymbolParams {
    /// Ticker symbol, e.g. "AAPL".
    pub symbol: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SymbolsParams {
    /// Ticker symbols, e.g. ["AAPL", "MSFT"].
    pub symbols: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderIdParams {
    /// The venue's order id (from an order result or open_orders).
    pub order_id: String,
    /// The order's symbol. Only needed on crypto exchanges for an order placed outside
    /// tradegate; the journal knows it for every order placed here.
    #[serde(default)]
    pub symbol: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitParams {
    /// The venue's order id.
    pub order_id: String,
    /// The order's symbol (as for order_status; rarely needed).
    #[serde(default)]
    pub symbol: Option<String>,
    /// How long to wait for a terminal status, 0 to 50 seconds (default 30); call again to wait longer.
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountParams {
    /// Another account this login sees (from `accounts`), read-only; default: the trading
    /// account.
    #[serde(default)]
    pub account: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerformanceParams {
    /// 1D, 7D, MTD, 1M, 3M, 6M, 12M (default) or YTD.
    #[serde(default)]
    pub period: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionsParams {
    pub symbol: String,
    /// How many days back (default 90, at most 3650).
    #[serde(default)]
    pub days: Option<u32>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortfolioParams {
    /// Another account this login sees (from `accounts`), or "all" for every account summed in
    /// the trading account's currency; default: the trading account.
    #[serde(default)]
    pub account: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// How many journal records and executions to return, newest last (default 10, at most 200).
    #[serde(default)]
    pub limit: Option<usize>,
    /// The page before this cursor (from a previous answer's `next.before`); absent: the newest.
    #[serde(default)]
    pub before: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconcileParams {
    /// Mark dispatches the venue does not know as resolved (status unknown). Default false.
    #[serde(default)]
    pub resolve_missing: bool,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskParams {
    /// History window in trading days: 60 or 252 (default 252).
    #[serde(default)]
    pub lookback_days: Option<u32>,
    /// Benchmark for beta (default SPY; BTC on a crypto exchange).
    #[serde(default)]
    pub benchmark: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StressParams {
    /// Market-wide drawdowns to test, in percent (default 10, 20, 30, 40).
    #[serde(default)]
    pub drawdown_pct: Option<Vec<Qty>>,
    /// Currency moves to test: a currency and a signed percentage, e.g. ["USD +5%", "EUR -10%"]
    /// ("USD +5%" is the dollar strengthening 5% against every other currency).
    #[serde(default)]
    pub fx_shock: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionChainParams {
    /// The underlying stock or ETF, e.g. "SPY".
    pub symbol: String,
    /// Expiry date as YYYY-MM-DD (default: the nearest; the answer lists the others).
    #[serde(default)]
    pub expiry: Option<String>,
    /// Strikes on each side of the current price (default 10, at most 50).
    #[serde(default)]
    pub strikes_around_money: Option<usize>,
    /// "C" for calls or "P" for puts (default both).
    #[serde(default)]
    pub right: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FxRateParams {
    /// Currency converted from (three letters, e.g. "USD").
    pub from: String,
    /// Currency converted to (e.g. "EUR").
    pub to: String,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExposureParams {
    /// How many largest positions to sum for the top-N share (default 5).
    #[serde(default)]
    pub top_n: Option<usize>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebalanceParams {
    /// Target weights of equity, e.g. "AAPL:40,MSFT:30,SPY:30". Held symbols not listed go to 0%.
    pub targets: String,
    /// Fractional shares (default: what the venue supports).
    #[serde(default)]
    pub fractional: Option<bool>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TechnicalsParams {
    pub symbol: String,
    /// Daily bars to use (default 250; SMA200 needs at least 200).
    #[serde(default)]
    pub days: Option<u32>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BriefingParams {
    /// A few lines instead of the full briefing.
    #[serde(default)]
    pub compact: Option<bool>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// A symbol or company name, e.g. "AAPL" or "apple".
    pub query: String,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceHistoryParams {
    pub symbol: String,
    /// Bar size: 1min, 2min, 3min, 5min, 10min, 15min, 30min, 1h, 2h, 3h, 4h, 8h, 1d (default),
    /// 1w or 1month.
    #[serde(default)]
    pub bar: Option<String>,
    /// How far back: a count and a unit (min, h, d, w, m for months, y), e.g. "1d", "2w", "6m",
    /// "1y". Default: 1d for minute bars, 1w for hour bars, `days` for day bars, 2y for week and
    /// 5y for month bars. At most about 1000 bars per request.
    #[serde(default)]
    pub period: Option<String>,
    /// Day bars only: how many trading days to look through (default 60, at most 1000).
    #[serde(default)]
    pub days: Option<u32>,
    /// Include pre- and post-market bars (intraday bars; default false).
    #[serde(default)]
    pub outside_rth: Option<bool>,
    /// At most this many bars in one answer, the latest first chosen (default 60, at most 250).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Only bars before this time: the `next` of the previous page (YYYY-MM-DD for day bars,
    /// an RFC 3339 time for intraday bars).
    #[serde(default)]
    pub before: Option<String>,
}

/// "DAY" (default) or "GTC".
fn tif(raw: Option<&str>) -> Result<TimeInForce, TradeError> {
    match raw.map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        None | Some("") | Some("DAY") => Ok(TimeInForce::Day),
        Some("GTC") => Ok(TimeInForce::Gtc),
        Some(v) => Err(TradeError::validation(format!("tif: '{v}' is not DAY or GTC"))),
    }
}

fn side(raw: Option<&str>, default: Side) -> Result<Side, TradeError> {
    raw.map_or(Ok(default), str::parse)
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyParams {
    pub symbol: String,
    /// Money to spend (market buy by value, fractional shares). Give this or quantity.
    #[serde(default)]
    pub cash_amount: Option<Money>,
    /// Shares to buy (fractions allowed). Give this or cash_amount.
    #[serde(default)]
    pub quantity: Option<Qty>,
    /// Limit price: a LMT order (needs quantity) instead of a market order.
    #[serde(default)]
    pub limit_price: Option<Price>,
    /// "DAY" (default) or "GTC".
    #[serde(default)]
    pub tif: Option<String>,
    /// The token preview_order returned for exactly this order.
    #[serde(default)]
    pub confirmation_token: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SellParams {
    pub symbol: String,
    /// Shares to sell (fractions allowed).
    pub quantity: Qty,
    /// Limit price: a LMT order instead of a market order.
    #[serde(default)]
    pub limit_price: Option<Price>,
    /// "DAY" (default) or "GTC".
    #[serde(default)]
    pub tif: Option<String>,
    #[serde(default)]
    pub confirmation_token: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseParams {
    pub symbol: String,
    #[serde(default)]
    pub confirmation_token: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StopParams {
    pub symbol: String,
    /// "BUY" or "SELL".
    pub side: String,
    pub quantity: Qty,
    /// Trigger price.
    pub stop_price: Price,
    /// With a limit price the order is STOP_LIMIT, else STP.
    #[serde(default)]
    pub limit_price: Option<Price>,
    /// "DAY" (default) or "GTC" (a protective stop that survives the session).
    #[serde(default)]
    pub tif: Option<String>,
    #[serde(default)]
    pub confirmation_token: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrailParams {
    pub symbol: String,
    /// "BUY" or "SELL".
    pub side: String,
    pub quantity: Qty,
    /// Trail by a fixed amount. Give this or trail_percent.
    #[serde(default)]
    pub trail_amount: Option<Price>,
    /// Trail by a percentage (e.g. 5 for 5%). Give this or trail_amount.
    #[serde(default)]
    pub trail_percent: Option<Qty>,
    /// "DAY" (default) or "GTC".
    #[serde(default)]
    pub tif: Option<String>,
    #[serde(default)]
    pub confirmation_token: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BracketParams {
    pub symbol: String,
    pub quantity: Qty,
    pub take_profit: Price,
    pub stop_loss: Price,
    /// "BUY" (default) or "SELL".
    #[serde(default)]
    pub side: Option<String>,
    /// Entry as a LMT order at this price; market entry when absent.
    #[serde(default)]
    pub entry_limit_price: Option<Price>,
    #[serde(default)]
    pub confirmation_token: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModifyParams {
    /// The working order to change.
    pub order_id: String,
    /// New total quantity (absent: unchanged).
    #[serde(default)]
    pub quantity: Option<Qty>,
    /// New limit price (LMT, STOP_LIMIT).
    #[serde(default)]
    pub limit_price: Option<Price>,
    /// New stop trigger (STP, STOP_LIMIT).
    #[serde(default)]
    pub stop_price: Option<Price>,
    #[serde(default)]
    pub confirmation_token: Option<String>,
}

/// Everything an order can say; `preview_order` takes it whole.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewParams {
    pub symbol: String,
    /// "BUY" (default) or "SELL".
    #[serde(default)]
    pub side: Option<String>,
    #[serde(default)]
    pub cash_amount: Option<Money>,
    #[serde(default)]
    pub quantity: Option<Qty>,
    /// Limit price (LMT, STOP_LIMIT, or a bracket's entry limit).
    #[serde(default)]
    pub limit_price: Option<Price>,
    /// Stop trigger (STP or STOP_LIMIT).
    #[serde(default)]
    pub stop_price: Option<Price>,
    #[serde(default)]
    pub trail_amount: Option<Price>,
    #[serde(default)]
    pub trail_percent: Option<Qty>,
    /// With stop_loss: preview a bracket.
    #[serde(default)]
    pub take_profit: Option<Price>,
    #[serde(default)]
    pub stop_loss: Option<Price>,
    #[serde(default)]
    pub tif: Option<String>,
}

fn size(cash: Option<Money>, qty: Option<Qty>) -> Result<Size, TradeError> {
    match (cash, qty) {
        (Some(c), None) => Ok(Size::Cash(c)),
        (None, Some(q)) => Ok(Size::Quantity(q)),
        _ => Err(TradeError::validation("Provide exactly one of 'quantity' and 'cash_amount'.")),
    }
}

fn trail(amount: Option<Price>, pct: Option<Qty>) -> Result<Option<Trail>, TradeError> {
    match (amount, pct) {
        (Some(a), None) => Ok(Some(Trail::Amount(a))),
        (None, Some(p)) => Ok(Some(Trail::Percent(p.0))),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(TradeError::validation("Provide exactly one of 'trail_amount' and 'trail_percent'.")),
    }
}

impl PreviewParams {
    /// The order these parameters describe; the order tools build theirs through this too.
    pub fn intent(&self) -> Result<OrderIntent, TradeError> {
        let side = side(self.side.as_deref(), Side::Buy)?;
        let trail = trail(self.trail_amount, self.trail_percent)?;
        if self.cash_amount.is_some() && self.limit_price.is_some() {
            return Err(TradeError::validation(
                "LIMIT orders use 'quantity', not 'cash_amount' (cashQty is market-only).",
            ));
        }
        let order_type = match (trail, self.stop_price, self.limit_price) {
            (Some(_), _, _) => OrderType::Trail,
            (None, Some(_), Some(_)) => OrderType::StopLimit,
            (None, Some(_), None) => OrderType::Stop,
            (None, None, Some(_)) => OrderType::Limit,
            (None, None, None) => OrderType::Market,
        };
        let order = OrderRequest {
            symbol: self.symbol.clone(),
            side,
            order_type,
            size: size(self.cash_amount, self.quantity)?,
            limit_price: self.limit_price,
            stop_price: self.stop_price,
            trail,
            tif: tif(self.tif.as_deref())?,
        };
        match (self.take_profit, self.stop_loss) {
            (None, None) => Ok(OrderIntent::Single(OrderRequest::new(order)?)),
            (Some(take_profit), Some(stop_loss)) => {
                Ok(OrderIntent::Bracket(BracketRequest::new(BracketRequest { entry: order, take_profit, stop_loss })?))
            }
            _ => Err(TradeError::validation("A bracket needs both 'take_profit' and 'stop_loss'.")),
        }
    }
}

impl BuyParams {
    pub fn intent(&self) -> Result<OrderIntent, TradeError> {
        if self.limit_price.is_some() && self.cash_amount.is_some() {
            return Err(TradeError::validation(
                "LIMIT orders use 'quantity', not 'cash_amount' (cashQty is market-only).",
            ));
        }
        PreviewParams {
            symbol: self.symbol.clone(),
            side: Some("BUY".into()),
            cash_amount: self.cash_amount,
            quantity: self.quantity,
            limit_price: self.limit_price,
            tif: self.tif.clone(),
            ..Default::default()
        }
        .intent()
    }
}

impl SellParams {
    pub fn intent(&self) -> Result<OrderIntent, TradeError> {
        PreviewParams {
            symbol: self.symbol.clone(),
            side: Some("SELL".into()),
            quantity: Some(self.quantity),
            limit_price: self.limit_price,
            tif: self.tif.clone(),
            ..Default::default()
        }
        .intent()
    }
}

impl StopParams {
    pub fn intent(&self) -> Result<OrderIntent, TradeError> {
        PreviewParams {
            symbol: self.symbol.clone(),
            side: Some(self.side.clone()),
            quantity: Some(self.quantity),
            stop_price: Some(self.stop_price),
            limit_price: self.limit_price,
            tif: self.tif.clone(),
            ..Default::default()
        }
        .intent()
    }
}

impl TrailParams {
    pub fn intent(&self) -> Result<OrderIntent, TradeError> {
        if self.trail_amount.is_none() && self.trail_percent.is_none() {
            return Err(TradeError::validation("Provide exactly one of 'trail_amount' and 'trail_percent'."));
        }
        PreviewParams {
            symbol: self.symbol.clone(),
            side: Some(self.side.clone()),
            quantity: Some(self.quantity),
            trail_amount: self.trail_amount,
            trail_percent: self.trail_percent,
            tif: self.tif.clone(),
            ..Default::default()
        }
        .intent()
    }
}

impl BracketParams {
    pub fn intent(&self) -> Result<OrderIntent, TradeError> {
        PreviewParams {
            symbol: self.symbol.clone(),
            side: self.side.clone(),
            quantity: Some(self.quantity),
            limit_price: self.entry_limit_price,
            take_profit: Some(self.take_profit),
            stop_loss: Some(self.stop_loss),
            ..Default::default()
        }
        .intent()
    }
}

#[cfg(test)]
#[path = "params_tests.rs"]
mod tests;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitApprovalParams {
    /// The approval_id an order tool returned with status pending_approval.
    pub approval_id: String,
    /// How long to wait for the person's answer, 0 to 50 seconds (default 30); call again to wait longer.
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalIdParams {
    /// The approval_id an order tool returned with status pending_approval.
    pub approval_id: String,
}
