//! The approval page: `GET /approve/<id>` shows the exact order and changes nothing; `POST`
//! approves or rejects it with the one-time key (from the link's fragment, put in the form by
//! the page's script), a CSRF token, the digest the page showed, exact Host and Origin,
//! `Sec-Fetch-Site: same-origin` and, when set, the PIN. No external assets; CSP with a
//! per-response script nonce, `frame-ancestors 'none'`, `no-store`, `no-referrer`.

use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use sha2::{Digest, Sha256};
use trading_core::{
    approval::{Approval, ApprovalState},
    broker::Decision,
    money::fmt_money,
};

use super::{ApprovalDesk, PageOrigin, order_line};
use crate::oauth::pages::escape;

type Desk = State<Arc<ApprovalDesk>>;

/// The page's routes (served on the loopback listener, or merged into the HTTP server).
pub fn router(desk: Arc<ApprovalDesk>) -> Router {
    Router::new()
        .route("/approvals", get(list))
        .route("/approve/{id}", get(show).post(answer))
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
        .with_state(desk)
}

/// Serves the page and `also` (the console) on `bind` (loopback) until the process ends;
/// returns where it listens.
pub async fn serve_loopback(desk: Arc<ApprovalDesk>, bind: SocketAddr, also: Router) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    if let Some(origin) = PageOrigin::of(&format!("http://{addr}"), false) {
        let _ = desk.page.set(origin);
    }
    let app = router(desk).merge(also);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("the approval page stopped: {e}");
        }
    });
    Ok(addr)
}

pub(crate) fn csrf_of(a: &Approval) -> String {
    hex::encode(&Sha256::digest(format!("csrf:{}", a.secret).as_bytes())[..16])
}

pub(crate) fn nonce() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        return trading_core::approval::random_id();
    }
    hex::encode(b)
}

pub(crate) fn respond(status: StatusCode, body: String, nonce: &str) -> Response {
    respond_with(status, body, nonce, "")
}

/// As [`respond`], with extra CSP sources (the console's `connect-src 'self'` for its refresh).
pub(crate) fn respond_with(status: StatusCode, body: String, nonce: &str, extra_csp: &str) -> Response {
    let mut r = (status, Html(body)).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'{extra_csp}"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

pub(crate) fn plain(status: StatusCode, message: &str) -> Response {
    respond(status, layout("tradegate: approval", "", &format!("<p class=\"err\">{}</p>", escape(message)), ""), "-")
}

pub(crate) fn layout(title: &str, banner: &str, body: &str, script: &str) -> String {
    let color = match banner {
        "LIVE" => "#b00020",
        "PAPER" => "#1f5fbf",
        _ => "#555",
    };
    let band = if banner.is_empty() {
        String::new()
    } else {
        format!("<div class=\"band\" style=\"background:{color}\">{} ACCOUNT</div>", escape(banner))
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{t}</title><style>body{{font-family:system-ui,sans-serif;max-width:38em;margin:2em auto;padding:0 1em;color:#111}}\
         .band{{color:#fff;font-weight:700;letter-spacing:.1em;padding:.6em 1em;border-radius:.3em;text-align:center}}\
         table{{border-collapse:collapse;width:100%;margin:1em 0}}th{{text-align:left;color:#555;font-weight:500;width:40%}}\
         th,td{{padding:.35em .4em;border-bottom:1px solid #eee}}.fp{{font:700 1.6em ui-monospace,monospace;letter-spacing:.08em}}\
         button{{font-size:1.05em;padding:.6em 1.4em;margin-right:.6em;border-radius:.3em;border:1px solid #888;cursor:pointer}}\
         .yes{{background:#0a7d32;color:#fff;border-color:#0a7d32}}.err{{color:#a00}}.muted{{color:#666;font-size:.9em}}\
         ul{{padding-left:1.2em}}.order{{font-size:1.35em;font-weight:600;margin:.4em 0}}.order .muted{{font-size:.6em;font-weight:400}}</style></head><body>{band}<h1>{t}</h1>{body}{script}</body></html>",
        t = escape(title)
    )
}

pub(crate) fn row(k: &str, v: &str) -> String {
    format!("<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v))
}

pub(crate) fn order_rows(a: &Approval, now: chrono::DateTime<chrono::Utc>) -> String {
    let o = a.order.primary();
    let cur = &a.shown.currency;
    let money = |v: Option<rust_decimal::Decimal>| v.map(|v| fmt_money(v, cur)).unwrap_or_else(|| "not given".into());
    let mut rows = vec![
        row("Account", a.shown.account_id.as_deref().unwrap_or("unknown")),
        row("Venue", &a.shown.venue),
        row("Order", &order_line(&a.order)),
        row("Contract", &o.symbol),
        row("Side", o.side.as_str()),
        row(
            "Size",
            &match (o.size.quantity(), o.size.cash()) {
                (Some(q), _) => format!("{} units", q.normalize()),
                (None, Some(c)) => format!("{} worth", fmt_money(c, cur)),
                _ => String::new(),
            },
        ),
        row("Type", o.order_type.as_str()),
        row("Limit price", &o.limit_price.map(|p| p.to_string()).unwrap_or_else(|| "-".into())),
        row("Stop price", &o.stop_price.map(|p| p.to_string()).unwrap_or_else(|| "-".into())),
        row("Time in force", o.tif.as_str()),
    ];
    if let trading_core::order::OrderIntent::Bracket(b) = &a.order {
        rows.push(row("Legs", &format!("take-profit {} / stop-loss {}", b.take_profit, b.stop_loss)));
    }
    rows.extend([
        row("Estimated value", &money(a.shown.estimated_value)),
        row("Estimated fees", &money(a.shown.estimated_fees)),
        row("Margin impact", &money(a.shown.margin_impact)),
        row(
            "Price at preview",
            &format!(
                "{} (quote {} s old)",
                a.shown.reference_price.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                (now - a.shown.quote_at).num_seconds().max(0)
            ),
        ),
        row("Asked by", &a.principal),
        row("Expires", &a.expires_at.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
    ]);
    rows.concat()
}

fn guards(a: &Approval) -> String {
    let items: String = a.shown.checks.iter().map(|c| format!("<li>{}</li>", escape(c))).collect();
    format!("<p class=\"muted\">Safety checks passed at request:</p><ul class=\"muted\">{items}</ul>")
}

/// The page for `a`; `key` pre-fills the form after a POST that proved it (a wrong PIN).
pub(crate) fn render(desk: &ApprovalDesk, a: &Approval, note: Option<&str>, key: Option<&str>) -> (String, String) {
    let now = desk.broker.now();
    let nonce = nonce();
    let title = match a.state {
        ApprovalState::Pending => "Approve this order?".to_string(),
        s => format!("This order is {}", s.as_str()),
    };
    let note = note.map(|n| format!("<p class=\"err\">{}</p>", escape(n))).unwrap_or_default();
    let fp = format!(
        "<p>Fingerprint <span class=\"fp\">{}</span><br><span class=\"muted\">It must match the fingerprint the agent showed you in chat. If it does not, reject.</span></p>",
        escape(&a.fingerprint)
    );
    let table = format!("<table>{}</table>", order_rows(a, now));
    let (form, script) = if a.state == ApprovalState::Pending {
        let pin = desk.pin_field();
        let secs = (a.expires_at - now).num_seconds().max(0);
        (
            format!(
                "<p id=\"left\" data-left=\"{secs}\">Expires in {secs} s.</p>\
                 <form method=\"post\" action=\"/approve/{id}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <input type=\"hidden\" name=\"key\" id=\"key\" value=\"{key}\"><input type=\"hidden\" name=\"digest\" value=\"{digest}\">{pin}\
                 <p><button class=\"yes\" type=\"submit\" name=\"decision\" value=\"approve\">Approve and send</button>\
                 <button type=\"submit\" name=\"decision\" value=\"reject\">Reject</button></p></form>",
                id = escape(&a.id),
                csrf = csrf_of(a),
                digest = escape(&a.digest),
                key = escape(key.unwrap_or_default()),
            ),
            format!(
                "<script nonce=\"{nonce}\">(function(){{var m=/(?:^|&)k=([0-9a-f]+)/.exec(location.hash.slice(1));\
                 if(m){{document.getElementById('key').value=m[1];}}\
                 var l=document.getElementById('left'),s=+l.dataset.left;\
                 setInterval(function(){{s=Math.max(0,s-1);l.textContent=s?'Expires in '+s+' s.':'Expired: nothing will be sent.';}},1000);}})();</script>"
            ),
        )
    } else {
        let outcome = match (&a.reason, a.results.first()) {
            (Some(r), _) => format!("<p>{}</p>", escape(r)),
            (None, Some(r)) => format!(
                "<p>Sent: order {} is {}.</p>",
                escape(r.order_id.as_deref().unwrap_or("?")),
                escape(r.status.as_str())
            ),
            _ => String::new(),
        };
        (outcome, String::new())
    };
    // What is asked and the buttons first; every detail right below them.
    let line = format!(
        "<p class=\"order\">{}<br><span class=\"muted\">{}</span></p>",
        escape(&order_line(&a.order)),
        escape(&format!(
            "{} account {} · {}",
            a.shown.banner,
            a.shown.account_id.as_deref().unwrap_or("?"),
            a.shown.estimated_value.map(|v| format!("about {}", fmt_money(v, &a.shown.currency))).unwrap_or_default()
        ))
    );
    let body = format!("{note}{line}{fp}{form}{table}{}", guards(a));
    (layout(&title, a.shown.banner, &body, &script), nonce)
}

/// The owner's login, when the page sits behind it (HTTP mode with OAuth).
pub(crate) fn owner_ok(desk: &ApprovalDesk, headers: &HeaderMap) -> bool {
    match desk.owner.get() {
        None => true,
        Some(o) => o.owner_session(headers),
    }
}

/// The owner's login form, coming back to the list of approvals.
pub(crate) fn login() -> Response {
    let nonce = nonce();
    let mut r = respond(StatusCode::UNAUTHORIZED, crate::oauth::pages::login("/approvals", None), &nonce);
    r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ));
    r
}

/// What waits for the owner (HTTP mode, behind the login): each approval's link, key included.
async fn list(State(desk): Desk, headers: HeaderMap) -> Response {
    if let Some(r) = wrong_host(&desk, &headers) {
        return r;
    }
    if desk.owner.get().is_none() {
        return plain(StatusCode::NOT_FOUND, "This list is served behind the owner's login (AUTH_MODE=oauth or both).");
    }
    if !owner_ok(&desk, &headers) {
        return login();
    }
    desk.broker.expire_approvals();
    let pending = desk.broker.approvals().pending();
    let items: String = pending
        .iter()
        .map(|a| {
            format!(
                "<li><a href=\"/approve/{}#k={}\">{}</a> <span class=\"muted\">{} · fingerprint {} · expires {}</span></li>",
                escape(&a.id),
                escape(&a.secret),
                escape(&order_line(&a.order)),
                escape(a.shown.banner),
                escape(&a.fingerprint),
                a.expires_at.format("%H:%M:%S UTC")
            )
        })
        .collect();
    let body = if pending.is_empty() {
        "<p>Nothing waits for your approval.</p>".to_string()
    } else {
        format!("<ul>{items}</ul>")
    };
    respond(StatusCode::OK, layout("Orders waiting for your approval", "", &body, ""), "-")
}

async fn show(State(desk): Desk, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(r) = wrong_host(&desk, &headers) {
        return r;
    }
    if !owner_ok(&desk, &headers) {
        return login();
    }
    desk.broker.expire_approvals();
    match desk.broker.approvals().get(&id) {
        Some(a) => {
            let (body, nonce) = render(&desk, &a, None, None);
            respond(StatusCode::OK, body, &nonce)
        }
        None => plain(StatusCode::NOT_FOUND, "No such approval (approvals do not survive a restart of the server)."),
    }
}

/// The refusal of a request whose Host is not exactly the page's (DNS rebinding), if any.
pub(crate) fn wrong_host(desk: &ApprovalDesk, headers: &HeaderMap) -> Option<Response> {
    let Some(page) = desk.page.get() else { return Some(plain(StatusCode::SERVICE_UNAVAILABLE, "not ready")) };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    (!host.eq_ignore_ascii_case(&page.host)).then(|| plain(StatusCode::FORBIDDEN, "Host not allowed."))
}

/// A POST from the page itself (or the console): Sec-Fetch-Site (set by the browser, never by
/// a page) says same-origin, and Origin is the page's. Under `Referrer-Policy: no-referrer` a
/// browser sends `Origin: null` for its form POSTs (Fetch, "serializing a request origin"), so
/// null passes only together with same-origin; the exact Host check keeps a rebinding name out.
pub(crate) fn same_origin_post(desk: &ApprovalDesk, headers: &HeaderMap) -> Result<(), String> {
    let page = desk.page.get().ok_or("not ready")?;
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    if header("sec-fetch-site") != "same-origin" {
        return Err("Refused: the request did not come from the page itself (Sec-Fetch-Site).".into());
    }
    if header("origin") != page.origin && header("origin") != "null" {
        return Err("Origin not allowed: post from the page itself.".into());
    }
    Ok(())
}

/// Every check a POST must pass before it is read as a person's answer.
fn post_ok(
    desk: &ApprovalDesk,
    headers: &HeaderMap,
    a: &Approval,
    form: &HashMap<String, String>,
) -> Result<(), String> {
    same_origin_post(desk, headers)?;
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if !crate::oauth::same(field("csrf").as_bytes(), csrf_of(a).as_bytes()) {
        return Err("The form's CSRF token is missing or wrong: reload the approval link.".into());
    }
    if !crate::oauth::same(field("key").as_bytes(), a.secret.as_bytes()) {
        return Err("The approval link's key is missing or wrong: open the exact link you were sent.".into());
    }
    Ok(())
}

async fn answer(State(desk): Desk, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    if let Some(r) = wrong_host(&desk, &headers) {
        return r;
    }
    if !owner_ok(&desk, &headers) {
        return login();
    }
    desk.broker.expire_approvals();
    let Some(a) = desk.broker.approvals().get(&id) else {
        return plain(StatusCode::NOT_FOUND, "No such approval (approvals do not survive a restart of the server).");
    };
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if let Err(why) = post_ok(&desk, &headers, &a, &form) {
        tracing::warn!(approval = %id, "an approval POST was refused: {why}");
        return plain(StatusCode::FORBIDDEN, &why);
    }
    if a.state != ApprovalState::Pending {
        let (body, nonce) = render(&desk, &a, Some("Already answered: nothing more was sent."), None);
        return respond(StatusCode::CONFLICT, body, &nonce);
    }
    let by = if desk.owner.get().is_some() { "owner (approval page, logged in)" } else { "approval page" };
    let decision = match form.get("decision").map(String::as_str) {
        Some("approve") => {
            if !desk.pin_ok(form.get("pin").map(String::as_str)) {
                let wrong = {
                    let mut m = desk.wrong_pins.lock().unwrap_or_else(|p| p.into_inner());
                    let n = m.entry(id.clone()).or_default();
                    *n += 1;
                    *n
                };
                if wrong >= 5 {
                    let _ = desk.broker.decide(&id, Decision::Reject("five wrong PINs".into()), by, None).await;
                }
                let a = desk.broker.approvals().get(&id).unwrap_or(a);
                let (body, nonce) = render(&desk, &a, Some("Wrong PIN."), form.get("key").map(String::as_str));
                return respond(StatusCode::FORBIDDEN, body, &nonce);
            }
            Decision::Approve
        }
        Some("reject") => Decision::Reject("the person pressed Reject".into()),
        _ => return plain(StatusCode::BAD_REQUEST, "Choose Approve or Reject."),
    };
    match desk.broker.decide(&id, decision, by, form.get("digest").map(String::as_str)).await {
        Ok(done) => {
            let (body, nonce) = render(&desk, &done, None, None);
            respond(StatusCode::OK, body, &nonce)
        }
        Err(e) => plain(StatusCode::CONFLICT, &e.message),
    }
}
