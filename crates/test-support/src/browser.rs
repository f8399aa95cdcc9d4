//! [`Browser`]: Debian's headless Chromium driven through
//! chromedriver's W3C WebDriver API, so the pages (OAuth login and consent, approval, console)
//! are tested by a real browser submitting its own forms, never by a hand-built POST body.
//!
//! Chromium and chromedriver come from Debian's `chromium` and `chromium-driver` packages
//! (`.ci/run` installs them); `CHROMIUM` and `CHROMEDRIVER` override the paths. Chromium is
//! kept off the network: every host name but localhost resolves to nothing.

use std::{path::Path, process::Stdio, time::Duration};

use base64::Engine;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// Why the browser could not do what a test asked.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error(
        "{0} not found: install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver), or set CHROMIUM / CHROMEDRIVER"
    )]
    Missing(String),
    #[error("chromedriver: {0}")]
    Driver(String),
    #[error("webdriver {0}: {1}")]
    Command(String, String),
}

type Result<T> = std::result::Result<T, BrowserError>;

/// A headless Chromium session. Dropping it ends chromedriver and the browser.
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| BrowserError::Driver(e.to_string()))
}

fn path_of(var: &str, default: &str) -> Result<String> {
    let p = std::env::var(var).unwrap_or_else(|_| default.to_string());
    if Path::new(&p).exists() { Ok(p) } else { Err(BrowserError::Missing(p)) }
}

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium (its own empty profile).
    pub async fn start() -> Result<Browser> {
        let chromium = path_of("CHROMIUM", "/usr/bin/chromium")?;
        let chromedriver = path_of("CHROMEDRIVER", "/usr/bin/chromedriver")?;
        let port = free_port()?;
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| BrowserError::Driver(e.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| BrowserError::Driver(e.to_string()))?;
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.json::<Value>().await.is_ok_and(|v| v["value"]["ready"] == true)
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !ready {
            return Err(BrowserError::Driver("did not become ready in 10 s".into()));
        }
        let profile = tempfile::tempdir().map_err(|e| BrowserError::Driver(e.to_string()))?;
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1100,900".into(),
            // Tests never leave this machine: other hosts do not resolve.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        }}});
        let v: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .map_err(|e| BrowserError::Driver(e.to_string()))?
            .json()
            .await
            .map_err(|e| BrowserError::Driver(e.to_string()))?;
        let session = v["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| BrowserError::Driver(format!("no session: {}", v["value"]["message"])))?
            .to_string();
        Ok(Browser { driver, http, base, session, _profile: profile })
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method.clone(), url);
        if let Some(b) = body {
            req = req.json(&b);
        } else if method == reqwest::Method::POST {
            req = req.json(&json!({}));
        }
        let what = format!("{method} {path}");
        let v: Value = req
            .send()
            .await
            .map_err(|e| BrowserError::Command(what.clone(), e.to_string()))?
            .json()
            .await
            .map_err(|e| BrowserError::Command(what.clone(), e.to_string()))?;
        if let Some(err) = v["value"]["error"].as_str() {
            return Err(BrowserError::Command(what, format!("{err}: {}", v["value"]["message"])));
        }
        Ok(v["value"].clone())
    }

    /// Opens `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await.map(|_| ())
    }

    /// The address bar: where the last navigation (a form's redirect included) went.
    pub async fn url(&self) -> Result<String> {
        Ok(self.cmd(reqwest::Method::GET, "/url", None).await?.as_str().unwrap_or_default().to_string())
    }

    /// The page's HTML as the browser holds it.
    pub async fn source(&self) -> Result<String> {
        Ok(self.cmd(reqwest::Method::GET, "/source", None).await?.as_str().unwrap_or_default().to_string())
    }

    async fn element(&self, css: &str) -> Result<String> {
        let v =
            self.cmd(reqwest::Method::POST, "/element", Some(json!({ "using": "css selector", "value": css }))).await?;
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| BrowserError::Command(format!("find {css}"), v.to_string()))
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> Result<usize> {
        let v = self
            .cmd(reqwest::Method::POST, "/elements", Some(json!({ "using": "css selector", "value": css })))
            .await?;
        Ok(v.as_array().map_or(0, Vec::len))
    }

    /// Clicks the first element matching `css` (a button click submits its form).
    pub async fn click(&self, css: &str) -> Result<()> {
        let id = self.element(css).await?;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/click"), None).await.map(|_| ())
    }

    /// Types `text` into the first element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let id = self.element(css).await?;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({ "text": text })))
            .await
            .map(|_| ())
    }

    /// The rendered text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> Result<String> {
        let id = self.element(css).await?;
        Ok(self
            .cmd(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Whether a checkbox matching `css` is ticked.
    pub async fn is_selected(&self, css: &str) -> Result<bool> {
        let id = self.element(css).await?;
        Ok(self.cmd(reqwest::Method::GET, &format!("/element/{id}/selected"), None).await?.as_bool().unwrap_or(false))
    }

    /// Runs `script` in the page (its `return` value comes back).
    pub async fn execute(&self, script: &str) -> Result<Value> {
        self.cmd(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": [] }))).await
    }

    /// Waits until `css` matches something, up to `timeout`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<()> {
        let until = tokio::time::Instant::now() + timeout;
        loop {
            if self.count(css).await? > 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() > until {
                return Err(BrowserError::Command(format!("wait for {css}"), "timed out".into()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the address bar leaves `from` (a click's navigation may finish after the
    /// click returns), up to `timeout`; returns the new address.
    pub async fn wait_url_change(&self, from: &str, timeout: Duration) -> Result<String> {
        let until = tokio::time::Instant::now() + timeout;
        loop {
            let now = self.url().await?;
            if now != from {
                return Ok(now);
            }
            if tokio::time::Instant::now() > until {
                return Err(BrowserError::Command("wait for navigation".into(), format!("still at {from}")));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG screenshot of the viewport.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .map_err(|e| BrowserError::Command("screenshot".into(), e.to_string()))?;
        std::fs::write(path, png).map_err(|e| BrowserError::Command("screenshot".into(), e.to_string()))
    }

    /// Ends the session (closes the browser) and chromedriver.
    pub async fn close(mut self) {
        let _ = self.http.delete(format!("{}/session/{}", self.base, self.session)).send().await;
        let _ = self.driver.kill().await;
    }
}
