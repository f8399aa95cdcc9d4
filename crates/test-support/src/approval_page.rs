//! Submits the approval page's own form as a browser does (the demo's "person"): reads the
//! page, takes its hidden fields and the one-time key from the link's fragment, and posts
//! from the page's origin. Tests use a real Chromium instead ([`crate::browser`]).

use anyhow::{Context, bail};

/// The value of `<input ... name="NAME" value="...">` in `html`.
fn field(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let v = rest.find("value=\"")? + 7;
    let end = rest[v..].find('"')?;
    Some(rest[v..v + end].to_string())
}

/// Opens `link` (`http://host/approve/<id>#k=<key>`) and presses "approve" or "reject";
/// returns the page's answer (HTTP status and text).
pub async fn answer(link: &str, decision: &str) -> anyhow::Result<(u16, String)> {
    let (url, fragment) = link.split_once('#').context("the approval link has no key fragment")?;
    let key = fragment.strip_prefix("k=").context("the fragment is not k=<key>")?;
    let parsed = reqwest::Url::parse(url)?;
    let origin = parsed.origin().ascii_serialization();
    let http = reqwest::Client::new();
    let page = http.get(url).send().await?.text().await?;
    let (Some(csrf), Some(digest)) = (field(&page, "csrf"), field(&page, "digest")) else {
        bail!("the approval page shows no form (already answered or expired?)");
    };
    let body = format!("csrf={csrf}&key={key}&digest={digest}&decision={decision}");
    let resp = http
        .post(url)
        .header("origin", origin)
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?;
    let status = resp.status().as_u16();
    Ok((status, resp.text().await?))
}
