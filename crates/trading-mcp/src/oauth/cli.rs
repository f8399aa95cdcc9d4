//! `ibkr-mcp auth ...` / `crypto-mcp auth ...`: list and revoke OAuth clients and tokens.
//! Revocations take effect at once: the server looks every token up on every request.

use std::{collections::HashMap, path::PathBuf};

use trading_core::config::Settings;

use super::Store;

pub const USAGE: &str = "usage: <server> auth [--db PATH] COMMAND
commands:
  clients                    registered clients (id, name, when, redirect URIs, revoked)
  tokens                     tokens (id, kind, state, client, scope, expiry); never the tokens themselves
  revoke-client CLIENT_ID    revoke a client and every token it holds
  revoke-token TOKEN_ID      revoke tokens by the id `tokens` lists (at least 8 hex digits)
The database is --db, else OAUTH_DB_PATH, else <server>-oauth.sqlite in $XDG_STATE_HOME/tradegate.";

fn when(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

/// Runs one command; the text to print, or what went wrong.
pub fn run(args: &[String], env: &HashMap<String, String>, server: &str) -> Result<String, String> {
    let mut db: Option<PathBuf> = None;
    let mut rest: Vec<&str> = vec![];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--db" => db = Some(it.next().ok_or("--db needs a path")?.into()),
            "-h" | "--help" => return Ok(USAGE.into()),
            other => rest.push(other),
        }
    }
    let path = db.unwrap_or_else(|| crate::settings::oauth_db_path(&Settings(env), server));
    if !path.exists() {
        return Err(format!("no OAuth database at {} (has the server run with AUTH_MODE=oauth?)", path.display()));
    }
    let store = Store::open(&path).map_err(|e| e.to_string())?;
    let mut out = String::new();
    match rest.as_slice() {
        ["clients"] => {
            for c in store.clients().map_err(|e| e.to_string())? {
                out.push_str(&format!(
                    "{}  {:<24} {}  {}{}\n",
                    c.client_id,
                    c.client_name,
                    when(c.created_at),
                    c.redirect_uris.join(" "),
                    if c.revoked { "  REVOKED" } else { "" }
                ));
            }
        }
        ["tokens"] => {
            let now = chrono::Utc::now().timestamp();
            for t in store.tokens().map_err(|e| e.to_string())? {
                let state = if t.revoked {
                    "revoked"
                } else if t.expires_at <= now {
                    "expired"
                } else {
                    "active"
                };
                out.push_str(&format!(
                    "{}  {:<7}  {:<7}  {}  [{}]  until {}\n",
                    t.id,
                    t.kind,
                    state,
                    t.client_id,
                    t.scope,
                    when(t.expires_at)
                ));
            }
        }
        ["revoke-client", id] => {
            if !store.revoke_client(id).map_err(|e| e.to_string())? {
                return Err(format!("no client {id}"));
            }
            out = format!("revoked client {id} and its tokens\n");
        }
        ["revoke-token", id] => {
            if id.len() < 8 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err("TOKEN_ID: give at least 8 hex digits of an id from `auth tokens`".into());
            }
            match store.revoke_token_id(id).map_err(|e| e.to_string())? {
                0 => return Err(format!("no token with id {id}")),
                n => out = format!("revoked {n} token(s)\n"),
            }
        }
        _ => return Err(USAGE.into()),
    }
    Ok(out)
}
