//! The owner's login and consent pages: plain HTML, every value escaped.

use super::SCOPES;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{t}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:34em;margin:3em auto;padding:0 1em}}\
         button{{padding:.5em 1.2em;margin-right:.5em}}.err{{color:#a00}}code{{background:#eee;padding:0 .2em}}</style></head>\
         <body><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    )
}

pub fn login(next: &str, error: Option<&str>) -> String {
    let err = error.map(|e| format!("<p class=\"err\">{}</p>", escape(e))).unwrap_or_default();
    page(
        "tradegate: owner login",
        &format!(
            "<p>{}</p>{err}\
             <form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"next\" value=\"{}\">\
             <p><label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" autofocus required></label></p>\
             <p><button type=\"submit\">Log in</button></p></form>",
            if next == "/approvals" {
                "Orders may be waiting for your approval. Log in as the owner of this tradegate server to review them."
            } else {
                "An application asks to connect to this tradegate server. Log in as its owner to review the request."
            },
            escape(next)
        ),
    )
}

/// The consent form: every authorize parameter rides along (and is checked again on submit).
/// The scope checkboxes are inside the form, so a browser submits the ticked ones; `admin`
/// is never ticked for the owner.
pub fn consent(
    client_name: &str,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[String],
    hidden: &[(&str, &str)],
    csrf: &str,
) -> String {
    let host = url::Url::parse(redirect_uri).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    let items: String = scopes
        .iter()
        .map(|s| {
            let what = SCOPES.iter().find(|(k, _)| k == s).map(|(_, w)| *w).unwrap_or("");
            format!(
                "<li><label><input type=\"checkbox\" name=\"grant\" value=\"{0}\"{2}> <code>{0}</code>: {1}</label></li>",
                escape(s),
                escape(what),
                if s == "admin" { "" } else { " checked" }
            )
        })
        .collect();
    let fields: String = hidden
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(k), escape(v)))
        .collect();
    page(
        "tradegate: allow access?",
        &format!(
            "<p><b>{}</b> (client <code>{}</code>) wants access to this tradegate server. After you allow it, it is sent back to <b>{}</b>.</p>\
             <form method=\"post\" action=\"/authorize\">{fields}<input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <p>It asks to:</p><ul>{items}</ul><p>Untick what it should not get. You can revoke it later with the server's <code>auth revoke-client</code> command.</p>\
             <p><button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button>\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></p></form>",
            escape(client_name),
            escape(client_id),
            escape(&host),
            escape(csrf)
        ),
    )
}

pub fn error(message: &str) -> String {
    page("tradegate: cannot continue", &format!("<p class=\"err\">{}</p>", escape(message)))
}
