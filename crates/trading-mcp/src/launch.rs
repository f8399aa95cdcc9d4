//! What every server binary does the same way: settings for the transport, where state lives,
//! logging to stderr, and serving over stdio or HTTP until told to stop.

use std::{collections::HashMap, path::PathBuf};

use rmcp::ServiceExt;
use trading_core::config::{ConfigError, Settings};

use crate::TradingServer;

/// How MCP clients reach the server.
#[derive(Clone, Debug)]
pub enum Transport {
    Stdio,
    Http(crate::http::HttpOptions),
}

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { key: key.into(), message: message.into() }
}

/// `$XDG_STATE_HOME/tradegate` or `~/.local/state/tradegate`: a stable place whatever the
/// working directory an MCP client starts us in.
pub fn state_dir(env: &HashMap<String, String>) -> PathBuf {
    let s = Settings(env);
    if let Some(x) = s.get("XDG_STATE_HOME") {
        return PathBuf::from(x).join("tradegate");
    }
    match s.get("HOME") {
        Some(h) => PathBuf::from(h).join(".local/state/tradegate"),
        None => PathBuf::from("logs"),
    }
}

/// Reads the transport from `--transport`/`--bind` (in `args`) or MCP_TRANSPORT/MCP_BIND.
pub fn transport(s: &Settings<'_>, args: &[String]) -> Result<Transport, ConfigError> {
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let kind = flag("--transport").or(s.get("MCP_TRANSPORT").map(str::to_string)).unwrap_or_else(|| "stdio".into());
    match kind.to_ascii_lowercase().as_str() {
        "stdio" => return Ok(Transport::Stdio),
        "http" => {}
        other => return Err(bad("MCP_TRANSPORT", format!("'{other}' is not stdio or http (--transport)"))),
    }
    let bind_raw = flag("--bind").or(s.get("MCP_BIND").map(str::to_string)).unwrap_or_else(|| "127.0.0.1:8000".into());
    let bind: std::net::SocketAddr = bind_raw
        .parse()
        .map_err(|_| bad("MCP_BIND", format!("'{bind_raw}' is not an address like 127.0.0.1:8000 (--bind)")))?;
    let auth = match s.get("AUTH_MODE").map(str::to_ascii_lowercase).as_deref() {
        None | Some("none") => crate::http::HttpAuth::None,
        Some("bearer") => match s.get("STATIC_BEARER_TOKEN") {
            // The token is a secret: messages never echo it.
            Some(t) if t.len() >= 24 => crate::http::HttpAuth::bearer(t),
            Some(_) => {
                return Err(bad(
                    "STATIC_BEARER_TOKEN",
                    "is too short: use at least 24 random characters (e.g. `openssl rand -hex 32`)",
                ));
            }
            None => return Err(bad("STATIC_BEARER_TOKEN", "is required with AUTH_MODE=bearer")),
        },
        Some("oauth" | "both") => {
            return Err(bad(
                "AUTH_MODE",
                "oauth is not available in this build yet (OAuth 2.1 is in progress); use AUTH_MODE=bearer with STATIC_BEARER_TOKEN",
            ));
        }
        Some(v) => return Err(bad("AUTH_MODE", format!("'{v}' is not bearer (or oauth, coming)"))),
    };
    if matches!(auth, crate::http::HttpAuth::None) && !bind.ip().is_loopback() {
        return Err(bad(
            "AUTH_MODE",
            format!(
                "binding {bind} without authentication is refused: set AUTH_MODE=bearer and STATIC_BEARER_TOKEN, or bind 127.0.0.1"
            ),
        ));
    }
    let mut allowed_hosts: Vec<String> =
        s.list("MCP_ALLOWED_HOSTS").into_iter().map(|h| h.to_ascii_lowercase()).collect();
    if let Some(public) = s.get("PUBLIC_BASE_URL") {
        let u = url::Url::parse(public).map_err(|_| bad("PUBLIC_BASE_URL", format!("'{public}' is not a URL")))?;
        if let Some(h) = u.host_str() {
            allowed_hosts.push(h.to_string());
        }
    }
    let allowed_origins = s
        .get("MCP_ALLOWED_ORIGINS")
        .map(|v| v.split(',').map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect())
        .unwrap_or_default();
    Ok(Transport::Http(crate::http::HttpOptions {
        bind,
        auth,
        allowed_hosts,
        allowed_origins,
        max_body_bytes: 1 << 20,
    }))
}

/// Logs go to stderr (stdout carries the MCP protocol), filtered by LOG_LEVEL.
pub fn init_logging(env: &HashMap<String, String>) {
    let level = env.get("LOG_LEVEL").map(String::as_str).unwrap_or("info,rmcp=warn");
    let filter =
        tracing_subscriber::EnvFilter::try_new(level).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).init();
}

/// A failure of the transport itself.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("MCP over stdio failed: {0}")]
    Stdio(String),
    #[error("MCP over HTTP failed: {0}")]
    Http(#[from] std::io::Error),
}

/// Serves `server` until stdin closes (stdio) or SIGTERM / Ctrl-C (HTTP).
pub async fn serve(server: TradingServer, transport: Transport, name: &'static str) -> Result<(), ServeError> {
    match transport {
        Transport::Stdio => {
            let service =
                server.serve(rmcp::transport::stdio_pipes()).await.map_err(|e| ServeError::Stdio(e.to_string()))?;
            service.waiting().await.map_err(|e| ServeError::Stdio(e.to_string()))?;
        }
        Transport::Http(opts) => {
            let shutdown = async move {
                let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => return std::future::pending().await,
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                tracing::info!("{name} shutting down");
            };
            crate::http::serve(server, opts, |addr| tracing::info!("{name} listening on http://{addr}/mcp"), shutdown)
                .await?;
        }
    }
    Ok(())
}
