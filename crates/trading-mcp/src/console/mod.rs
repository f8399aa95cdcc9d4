//! The console: the person's own pages beside the agent, served by the same binary (the
//! approval page's loopback listener in stdio mode; the HTTP server behind the owner's login).
//! Overview with the kill switch, holdings with charts, the agent's activity from the journal,
//! and the approvals. Read-only but for the approval buttons and the kill switch; every figure
//! comes from the venue's ports, the journal or the equity history. Tables work without script;
//! a few lines of script refresh the view every few seconds.

use std::collections::HashMap;

use axum::{
    Router,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use trading_core::{approval::ApprovalState, broker::Decision, journal::RecordKind, money::fmt_money};

use crate::{
    TradingServer,
    approval::{
        order_line,
        page::{layout, login, nonce, order_rows, owner_ok, plain, respond_with, same_origin_post, wrong_host},
    },
    oauth::pages::escape,
};

mod charts;

type Srv = State<TradingServer>;

/// The console's routes.
pub fn router(server: TradingServer) -> Router {
    Router::new()
        .route("/console", get(overview))
        .route("/console/holdings", get(holdings))
        .route("/console/activity", get(activity))
        .route("/console/approvals", get(approvals))
        .route("/console/halt", post(halt))
        .route("/console/approve/{id}", post(approve))
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
        .with_state(server)
}

/// The synchronizer token of the console's forms (one per process).
fn csrf(s: &TradingServer) -> String {
    hex::encode(&Sha256::digest(format!("console:{}", s.desk.console_secret).as_bytes())[..16])
}

fn query(raw: Option<String>) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect()
}

const TABS: [(&str, &str); 4] = [
    ("/console", "Overview"),
    ("/console/holdings", "Holdings"),
    ("/console/activity", "Agent activity"),
    ("/console/approvals", "Approvals"),
];

const STYLE: &str = "<style>body{max-width:64em}nav a{margin-right:1.2em;text-decoration:none;color:#1f5fbf}\
nav a.on{font-weight:700;color:#111;border-bottom:2px solid #111}.grid{display:flex;flex-wrap:wrap;gap:1em}\
.card{border:1px solid #ddd;border-radius:.4em;padding:.6em 1em;min-width:10em}.card b{display:block;font-size:1.3em}\
.neg{color:#b00020}.pos{color:#0a7d32}.chart{display:flex;gap:1em;align-items:center}.legend{list-style:none;padding:0;font-size:.9em}\
.sw{display:inline-block;width:.8em;height:.8em;margin-right:.4em;border-radius:.15em}svg.equity polyline{stroke:#1f5fbf}\
svg.drawdown polyline{stroke:#b00020}svg circle.point{fill:#555}td.num,th.num{text-align:right}.stop{background:#b00020;color:#fff;border-color:#b00020;font-weight:700}\
table.list th{width:auto}meter{width:16em;height:1.2em}</style>";

/// A whole page: banner, tabs, the view in `<main>`, the refresh stamp and its script.
async fn frame(s: &TradingServer, path: &str, title: &str, main: String, partial: bool) -> Response {
    if partial {
        let mut r = (StatusCode::OK, main).into_response();
        r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        return r;
    }
    let banner = banner(s).await;
    let nav: String = TABS
        .iter()
        .map(|(href, name)| {
            format!("<a href=\"{href}\"{}>{name}</a>", if *href == path { " class=\"on\"" } else { "" })
        })
        .collect();
    let nonce = nonce();
    let script = format!(
        "<script nonce=\"{nonce}\">(function(){{var t=0,s=document.getElementById('stamp');\
         setInterval(function(){{t++;s.textContent=t;}},1000);\
         setInterval(function(){{var q=location.search?location.search+'&':'?';\
         fetch(location.pathname+q+'partial=1',{{credentials:'same-origin'}}).then(function(r){{return r.ok?r.text():null;}})\
         .then(function(h){{if(h!==null&&!document.querySelector('main :focus')){{document.querySelector('main').innerHTML=h;t=0;s.textContent=0;}}}});}},3000);}})();</script>"
    );
    let body = format!(
        "{STYLE}<nav>{nav}</nav><p class=\"muted\">{} · refreshed <span id=\"stamp\">0</span> s ago</p><main>{main}</main>",
        escape(&s.settings.name)
    );
    respond_with(StatusCode::OK, layout(title, banner, &body, &script), &nonce, "; connect-src 'self'")
}

/// LIVE, PAPER or SIMULATOR, from what the venue says.
async fn banner(s: &TradingServer) -> &'static str {
    match s.broker.venue().identity().await.ok().and_then(|i| i.is_paper) {
        Some(false) => "LIVE",
        _ if s.settings.backend == "sim" => "SIMULATOR",
        Some(true) => "PAPER",
        None => "UNKNOWN",
    }
}

/// Refuses a request from elsewhere: the exact Host, the owner's login (HTTP with OAuth).
fn gate(s: &TradingServer, headers: &HeaderMap) -> Option<Response> {
    if let Some(r) = wrong_host(&s.desk, headers) {
        return Some(r);
    }
    (!owner_ok(&s.desk, headers)).then(login)
}

fn money(v: Option<Decimal>, ccy: &str) -> String {
    v.map(|v| fmt_money(v, ccy)).unwrap_or_else(|| "—".into())
}

fn signed(v: Option<Decimal>, ccy: &str) -> String {
    match v {
        Some(v) => format!(
            "<span class=\"{}\">{}</span>",
            if v < Decimal::ZERO { "neg" } else { "pos" },
            escape(&fmt_money(v, ccy))
        ),
        None => "—".into(),
    }
}

async fn overview(State(s): Srv, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = gate(&s, &headers) {
        return r;
    }
    let venue = s.broker.venue();
    let summary = venue.summary().await;
    let positions = venue.positions().await.unwrap_or_default();
    let posture = s.broker.posture().await;
    let approval = s.approval_mode();
    let ccy = summary.as_ref().map(|x| x.currency.clone()).unwrap_or_else(|_| posture.currency.clone());
    let equity = summary.as_ref().ok().and_then(|x| x.net_liquidation.map(|m| m.0));
    let unrealized: Option<Decimal> = positions.iter().map(|p| p.unrealized_pnl.map(|m| m.0)).sum();
    // The venue's own day P&L (IBKR's pnl row, the simulator's day), else the equity samples'.
    let day_pnl = match venue.daily_pnl().await.ok().and_then(|p| p.daily) {
        Some(d) => Some(d.0),
        None => equity.zip(day_start_equity(&s)).map(|(now, start)| now - start),
    };
    let session = venue.session().await;
    let connection = match &session {
        Ok(v) => {
            let fields: String = v
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, x)| x.is_string() || x.is_boolean() || x.is_number())
                .map(|(k, x)| format!("{k}: {}", x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())))
                .collect::<Vec<_>>()
                .join(" · ");
            if v.get("authenticated").and_then(|a| a.as_bool()) == Some(false) {
                format!(
                    "{fields} — the IBKR session is gone: log in again at the Client Portal Gateway (https://localhost:5000)"
                )
            } else {
                fields
            }
        }
        Err(e) => format!("not connected: {e}"),
    };
    let card = |k: &str, v: String| format!("<div class=\"card\">{}<b>{v}</b></div>", escape(k));
    let cards = [
        card("Account", escape(summary.as_ref().map(|x| x.account_id.as_str()).unwrap_or("?"))),
        card("Equity", escape(&money(equity, &ccy))),
        card("Cash", escape(&money(summary.as_ref().ok().and_then(|x| x.cash.map(|m| m.0)), &ccy))),
        card("Day P&L", signed(day_pnl, &ccy)),
        card("Unrealized P&L", signed(unrealized, &ccy)),
        card("Approval", escape(approval["mode"].as_str().unwrap_or("?"))),
    ]
    .concat();
    let halt = if posture.halted {
        let pin = s.desk.pin_field();
        format!(
            "<h2>Trading is HALTED</h2><p>{}</p><form method=\"post\" action=\"/console/halt\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <input type=\"hidden\" name=\"action\" value=\"resume\">{pin}<button type=\"submit\">Resume trading</button></form>",
            escape(posture.halted_by.as_deref().unwrap_or("TRADING_HALTED=true in the settings")),
            csrf(&s)
        )
    } else {
        format!(
            "<h2>Kill switch</h2><form method=\"post\" action=\"/console/halt\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <input type=\"hidden\" name=\"action\" value=\"halt\"><label><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> \
             stop every new order now (exits and cancels still work)</label> <button class=\"stop\" type=\"submit\">HALT TRADING</button></form>",
            csrf(&s)
        )
    };
    let stops = if posture.trade_stops.is_empty() {
        "<p class=\"pos\">Nothing stops a trade right now.</p>".to_string()
    } else {
        format!(
            "<ul>{}</ul>",
            posture.trade_stops.iter().map(|t| format!("<li class=\"neg\">{}</li>", escape(t))).collect::<String>()
        )
    };
    let accounts = all_accounts(venue.as_ref()).await;
    let main = format!(
        "<div class=\"grid\" id=\"overview\">{cards}</div>{accounts}<p>Connection: {}</p><p>Mode: {} · dry-run {} · approval {} ({})</p>{stops}{halt}",
        escape(&connection),
        escape(posture.mode_label),
        posture.dry_run,
        escape(approval["mode"].as_str().unwrap_or("?")),
        escape(approval["setting"].as_str().unwrap_or("")),
    );
    frame(&s, "/console", "Overview", main, query(q).contains_key("partial")).await
}

/// Equity at the start of today (the last sample before the journal's day began).
/// Every account of the login in the trading account's currency, when there is more than one
/// (orders still go to the trading account only).
async fn all_accounts(venue: &dyn trading_core::ports::Venue) -> String {
    let Some(all) = crate::accounts::when_several(venue).await else { return String::new() };
    let base = all["base_currency"].as_str().unwrap_or("").to_string();
    let amount = |v: &serde_json::Value| {
        escape(&v.as_str().and_then(|x| x.parse::<Decimal>().ok()).map(|d| fmt_money(d, &base)).unwrap_or("—".into()))
    };
    let rows: String = all["accounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            format!(
                "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(a["account_id"].as_str().unwrap_or("?")),
                if a["trading"] == true { " (orders)" } else { "" },
                amount(&a["net_liquidation_in_base"]),
                amount(&a["cash_in_base"]),
                a["positions"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    format!(
        "<h2>All accounts</h2><table id=\"accounts\"><thead><tr><th>account</th><th>net liquidation</th><th>cash</th><th>positions</th></tr></thead>\
         <tbody>{rows}</tbody><tfoot><tr><td>total</td><td id=\"accounts-total\">{}</td><td>{}</td><td></td></tr></tfoot></table>",
        amount(&all["total_net_liquidation"]),
        amount(&all["total_cash"]),
    )
}

fn day_start_equity(s: &TradingServer) -> Option<Decimal> {
    let store = s.settings.equity.as_ref()?;
    let samples = store.samples().ok()?;
    let today = s.broker.journal().day_of(s.broker.now());
    samples.iter().rev().find(|x| s.broker.journal().day_of(x.time) < today).map(|x| x.equity)
}

async fn holdings(State(s): Srv, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = gate(&s, &headers) {
        return r;
    }
    let venue = s.broker.venue();
    let positions = venue.positions().await.unwrap_or_default();
    let ccy = venue.capabilities().quote_currency;
    let total: Decimal = positions.iter().filter_map(|p| p.market_value.map(|m| m.0)).sum();
    let num = |v: Option<Decimal>| v.map(|v| v.round_dp(4).normalize().to_string()).unwrap_or_else(|| "—".into());
    let rows: String = positions
        .iter()
        .map(|p| {
            let value = p.market_value.map(|m| m.0);
            let weight = value.filter(|_| total > Decimal::ZERO).map(|v| (v / total * Decimal::ONE_HUNDRED).round_dp(1));
            format!(
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(&p.symbol),
                p.quantity.0.normalize(),
                num(p.avg_cost.map(|x| x.0)),
                num(p.market_price.map(|x| x.0)),
                escape(&money(value, &ccy)),
                signed(p.unrealized_pnl.map(|m| m.0), &ccy),
                weight.map(|w| format!("{w}%")).unwrap_or_else(|| "—".into())
            )
        })
        .collect();
    let table = format!(
        "<table class=\"list\" id=\"positions\"><tr><th>Symbol</th><th class=\"num\">Quantity</th><th class=\"num\">Avg cost</th><th class=\"num\">Price</th><th class=\"num\">Value</th><th class=\"num\">Unrealized</th><th class=\"num\">Weight</th></tr>{rows}</table>"
    );
    let by_position: Vec<(String, Decimal)> =
        positions.iter().filter_map(|p| Some((p.symbol.clone(), p.market_value?.0))).collect();
    let mut sectors: std::collections::BTreeMap<String, Decimal> = Default::default();
    for p in &positions {
        let sector = venue.sector(&p.symbol).await.ok().flatten().unwrap_or_else(|| "unknown".into());
        *sectors.entry(sector).or_default() += p.market_value.map(|m| m.0).unwrap_or_default();
    }
    let by_sector: Vec<(String, Decimal)> = sectors.into_iter().collect();
    let samples = s.settings.equity.as_ref().and_then(|e| e.samples().ok()).unwrap_or_default();
    let label = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    let equity: Vec<(String, Decimal)> = samples.iter().map(|x| (label(x.time), x.equity)).collect();
    let mut peak = Decimal::MIN;
    let drawdown: Vec<(String, Decimal)> = samples
        .iter()
        .map(|x| {
            peak = peak.max(x.equity);
            let dd = if peak > Decimal::ZERO { (x.equity - peak) / peak * Decimal::ONE_HUNDRED } else { Decimal::ZERO };
            (label(x.time), dd)
        })
        .collect();
    let main = format!(
        "{table}<h2>Allocation by position</h2>{}<h2>Allocation by sector</h2>{}<h2>Equity</h2>{}<h2>Drawdown from the peak (%)</h2>{}",
        charts::pie("by-position", &by_position),
        charts::pie("by-sector", &by_sector),
        charts::line("equity-curve", "equity", &equity),
        charts::line("drawdown-curve", "drawdown", &drawdown),
    );
    frame(&s, "/console/holdings", "Holdings", main, query(q).contains_key("partial")).await
}

/// Journal lines shown at most on one page of the timeline.
const TIMELINE: usize = 200;

async fn activity(State(s): Srv, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = gate(&s, &headers) {
        return r;
    }
    let q = query(q);
    let journal = s.broker.journal();
    let today = journal.day_of(s.broker.now());
    let day = q.get("day").and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()).unwrap_or(today);
    let kind = q.get("kind").map(String::as_str).filter(|k| !k.is_empty() && *k != "all");
    let (records, _) = journal.tail(0).unwrap_or_default();
    let kind_name = |k: RecordKind| match k {
        RecordKind::Intent => "intent",
        RecordKind::Outcome => "outcome",
        RecordKind::Resolution => "resolution",
        RecordKind::Call => "call",
        RecordKind::Acknowledgement => "acknowledgement",
        RecordKind::Approval => "approval",
    };
    let day_of =
        |ts: &str| chrono::DateTime::parse_from_rfc3339(ts).ok().map(|t| journal.day_of(t.with_timezone(&chrono::Utc)));
    let shown: Vec<_> = records
        .iter()
        .rev()
        .filter(|r| day_of(&r.timestamp) == Some(day))
        .filter(|r| kind.is_none_or(|k| kind_name(r.kind) == k || (k == "refusal" && r.status == "blocked")))
        .take(TIMELINE)
        .collect();
    let rows: String = shown
        .iter()
        .map(|r| {
            let size = r
                .cash_qty
                .map(|c| format!("${}", c.0.normalize()))
                .or(r.quantity.map(|x| x.0.normalize().to_string()))
                .unwrap_or_default();
            let class = if r.status == "blocked" || r.status == "rejected" { " class=\"neg\"" } else { "" };
            format!(
                "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(r.timestamp.get(11..19).unwrap_or(&r.timestamp)),
                kind_name(r.kind),
                escape(r.symbol.as_deref().unwrap_or("")),
                r.side.map(|x| x.as_str()).unwrap_or(""),
                r.order_type.map(|x| x.as_str()).unwrap_or(""),
                escape(&size),
                // A refusal names its setting first, the thing a person would change.
                match &r.setting {
                    Some(setting) => format!("{} ({})", escape(&r.status), escape(setting)),
                    None => escape(&r.status),
                },
                escape(r.message.as_deref().or(r.tool.as_deref()).unwrap_or(""))
            )
        })
        .collect();
    let kinds = ["all", "intent", "outcome", "refusal", "approval", "resolution", "call"];
    let options: String = kinds
        .iter()
        .map(|k| {
            format!(
                "<option{}>{k}</option>",
                if Some(*k) == kind || (*k == "all" && kind.is_none()) { " selected" } else { "" }
            )
        })
        .collect();
    let filter = format!(
        "<form method=\"get\" action=\"/console/activity\"><label>Day <input type=\"date\" name=\"day\" value=\"{day}\"></label> \
         <label>Kind <select name=\"kind\">{options}</select></label> <button type=\"submit\">Show</button></form>"
    );
    let posture = s.broker.posture().await;
    let ccy = posture.currency.clone();
    let spent = journal.with_index(|i| i.spent_on(today));
    let gauge = |label: &str, now: Decimal, cap: Option<Decimal>, shown: String| match cap {
        Some(c) => format!(
            "<p>{label}: <meter min=\"0\" max=\"{c}\" high=\"{}\" value=\"{now}\"></meter> {shown}</p>",
            c * Decimal::new(8, 1)
        ),
        None => format!("<p>{label}: {shown} (no cap)</p>"),
    };
    let p = s.broker.policy();
    let gauges = [
        gauge(
            "Spent today",
            spent,
            p.max_daily_value,
            format!("{} of {}", fmt_money(spent, &ccy), money(p.max_daily_value, &ccy)),
        ),
        gauge(
            "Orders today",
            Decimal::from(posture.orders_today),
            p.max_daily_orders.map(Decimal::from),
            format!(
                "{} of {}",
                posture.orders_today,
                p.max_daily_orders.map(|m| m.to_string()).unwrap_or_else(|| "—".into())
            ),
        ),
    ]
    .concat();
    let open = s.broker.venue().open_orders().await.unwrap_or_default();
    let open_rows: String = open
        .iter()
        .map(|o| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                escape(o.order_id.as_deref().unwrap_or("")),
                escape(&o.symbol),
                o.side.map(|x| x.as_str()).unwrap_or(""),
                o.order_type.map(|x| x.as_str()).unwrap_or(""),
                o.quantity.map(|x| x.0.normalize().to_string()).unwrap_or_default(),
                escape(o.status.as_str())
            )
        })
        .collect();
    let main = format!(
        "<div id=\"gauges\">{gauges}</div><h2>Open orders</h2><table class=\"list\" id=\"open-orders\"><tr><th>Order</th><th>Symbol</th><th>Side</th><th>Type</th><th class=\"num\">Qty</th><th>Status</th></tr>{open_rows}</table>\
         <h2>Timeline</h2>{filter}<table class=\"list\" id=\"timeline\"><tr><th>Time</th><th>Kind</th><th>Symbol</th><th>Side</th><th>Type</th><th>Size</th><th>Status</th><th>Message</th></tr>{rows}</table>\
         <p class=\"muted\">{} line(s) shown, newest first (at most {TIMELINE}).</p>",
        shown.len()
    );
    frame(&s, "/console/activity", "Agent activity", main, q.contains_key("partial")).await
}

async fn approvals(State(s): Srv, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    if let Some(r) = gate(&s, &headers) {
        return r;
    }
    s.broker.expire_approvals();
    let now = s.broker.now();
    let pin = s.desk.pin_field();
    let pending: String = s
        .broker
        .approvals()
        .pending()
        .iter()
        .filter(|a| a.state == ApprovalState::Pending)
        .map(|a| {
            format!(
                "<section class=\"approval\"><h2>{} <span class=\"muted\">{} · fingerprint <b>{}</b></span></h2>\
                 <form method=\"post\" action=\"/console/approve/{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                 <input type=\"hidden\" name=\"digest\" value=\"{}\">{pin}<button class=\"yes\" type=\"submit\" name=\"decision\" value=\"approve\">Approve and send</button>\
                 <button type=\"submit\" name=\"decision\" value=\"reject\">Reject</button></form><table>{}</table></section>",
                escape(&order_line(&a.order)),
                escape(a.shown.banner),
                escape(&a.fingerprint),
                escape(&a.id),
                csrf(&s),
                escape(&a.digest),
                order_rows(a, now)
            )
        })
        .collect();
    let pending =
        if pending.is_empty() { "<p id=\"no-pending\">Nothing waits for your approval.</p>".into() } else { pending };
    let (records, _) = s.broker.journal().tail(0).unwrap_or_default();
    let recent: String = records
        .iter()
        .rev()
        .filter(|r| r.kind == RecordKind::Approval && r.status != "approval_pending")
        .take(20)
        .map(|r| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&r.timestamp.get(..19).unwrap_or(&r.timestamp).replace('T', " ")),
                escape(&r.status),
                r.side.map(|x| x.as_str()).unwrap_or(""),
                escape(r.symbol.as_deref().unwrap_or("")),
                escape(r.channel.as_deref().unwrap_or("")),
                escape(r.caller.as_deref().unwrap_or("")),
                escape(r.message.as_deref().unwrap_or(""))
            )
        })
        .collect();
    let main = format!(
        "{pending}<h2>Recent decisions</h2><table class=\"list\" id=\"decisions\"><tr><th>When</th><th>Outcome</th><th>Order</th><th>Channel</th><th>By</th><th>Note</th></tr>{recent}</table>"
    );
    frame(&s, "/console/approvals", "Approvals", main, query(q).contains_key("partial")).await
}

/// The checks every console POST passes: Host and login (gate), same-origin, the CSRF token.
fn post_gate(s: &TradingServer, headers: &HeaderMap, form: &HashMap<String, String>) -> Option<Response> {
    if let Some(r) = gate(s, headers) {
        return Some(r);
    }
    if let Err(why) = same_origin_post(&s.desk, headers) {
        return Some(plain(StatusCode::FORBIDDEN, &why));
    }
    let sent = form.get("csrf").map(String::as_str).unwrap_or("");
    (!crate::oauth::same(sent.as_bytes(), csrf(s).as_bytes()))
        .then(|| plain(StatusCode::FORBIDDEN, "The form's CSRF token is missing or wrong: reload the console."))
}

fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn who(s: &TradingServer) -> &'static str {
    if s.desk.owner.get().is_some() { "the owner (console, logged in)" } else { "the console" }
}

async fn halt(State(s): Srv, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if let Some(r) = post_gate(&s, &headers, &form) {
        return r;
    }
    let done = match form.get("action").map(String::as_str) {
        Some("halt") if form.get("confirm").map(String::as_str) == Some("yes") => s.broker.halt(who(&s)),
        Some("halt") => return plain(StatusCode::BAD_REQUEST, "Tick the box to confirm the halt."),
        Some("resume") if s.desk.pin_ok(form.get("pin").map(String::as_str)) => s.broker.resume(),
        Some("resume") => return plain(StatusCode::FORBIDDEN, "Wrong PIN: trading stays halted."),
        _ => return plain(StatusCode::BAD_REQUEST, "Choose halt or resume."),
    };
    match done {
        Ok(()) => {
            tracing::warn!("kill switch: {} by {}", form.get("action").map(String::as_str).unwrap_or(""), who(&s));
            see_other("/console")
        }
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, &e.message),
    }
}

async fn approve(State(s): Srv, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if let Some(r) = post_gate(&s, &headers, &form) {
        return r;
    }
    let decision = match form.get("decision").map(String::as_str) {
        Some("approve") if s.desk.pin_ok(form.get("pin").map(String::as_str)) => Decision::Approve,
        Some("approve") => return plain(StatusCode::FORBIDDEN, "Wrong PIN: nothing was sent."),
        Some("reject") => Decision::Reject("the person pressed Reject in the console".into()),
        _ => return plain(StatusCode::BAD_REQUEST, "Choose Approve or Reject."),
    };
    match s.broker.decide(&id, decision, who(&s), form.get("digest").map(String::as_str)).await {
        Ok(a) => {
            let mut r = see_other("/console/approvals");
            if a.state != ApprovalState::Placed && a.state != ApprovalState::Rejected {
                r = plain(
                    StatusCode::CONFLICT,
                    &format!("This order is {}: {}", a.state.as_str(), a.reason.unwrap_or_default()),
                );
            }
            r
        }
        Err(e) => plain(StatusCode::CONFLICT, &e.message),
    }
}
