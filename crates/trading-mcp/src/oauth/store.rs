//! OAuth state in SQLite: registered clients, authorization codes and tokens. Codes and
//! tokens are stored only as SHA-256 hashes, so the database file grants nothing by itself.

use std::{
    path::{Path, PathBuf},
    sync::Mutex,
};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A storage failure, naming the database file.
#[derive(Debug, thiserror::Error)]
#[error("OAuth database {path}: {source}")]
pub struct StoreError {
    path: String,
    source: rusqlite::Error,
}

/// A registered client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Client {
    pub client_id: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub created_at: i64,
    pub revoked: bool,
}

/// A stored token (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenRow {
    /// The first 12 hex digits of the token's hash: enough to name it, useless to use it.
    pub id: String,
    pub kind: String,
    pub client_id: String,
    pub scope: String,
    pub resource: String,
    pub expires_at: i64,
    pub revoked: bool,
    /// Tokens from one authorization share a family; a replayed refresh token revokes it.
    pub family: String,
}

/// A redeemed authorization code's grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
    pub resource: String,
    pub expires_at: i64,
    /// Set when the code had been redeemed before (a replay).
    pub already_used: bool,
    pub family: String,
}

pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The database, one connection behind a lock (every operation is a few rows).
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT PRIMARY KEY,
    client_name TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    scope TEXT NOT NULL,
    resource TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    family TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    resource TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    family TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_family ON tokens(family);
CREATE INDEX IF NOT EXISTS tokens_client ON tokens(client_id);
";

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let fail = |source| StoreError { path: path.display().to_string(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(fail)?;
        conn.execute_batch(SCHEMA).map_err(fail)?;
        Ok(Store { conn: Mutex::new(conn), path: path.to_path_buf() })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn).map_err(|source| StoreError { path: self.path.display().to_string(), source })
    }

    pub fn client_count(&self) -> Result<i64, StoreError> {
        self.with(|c| c.query_row("SELECT COUNT(*) FROM clients", [], |r| r.get(0)))
    }

    pub fn add_client(&self, client: &Client) -> Result<(), StoreError> {
        let uris = serde_json::to_string(&client.redirect_uris).unwrap_or_else(|_| "[]".into());
        self.with(|c| {
            c.execute(
                "INSERT INTO clients (client_id, client_name, redirect_uris, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![client.client_id, client.client_name, uris, client.created_at],
            )
            .map(|_| ())
        })
    }

    fn client_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Client> {
        let uris: String = r.get(2)?;
        Ok(Client {
            client_id: r.get(0)?,
            client_name: r.get(1)?,
            redirect_uris: serde_json::from_str(&uris).unwrap_or_default(),
            created_at: r.get(3)?,
            revoked: r.get::<_, i64>(4)? != 0,
        })
    }

    /// A client that is registered and not revoked.
    pub fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT client_id, client_name, redirect_uris, created_at, revoked FROM clients WHERE client_id = ?1",
                [client_id],
                Self::client_row,
            )
            .optional()
        })
        .map(|c| c.filter(|c| !c.revoked))
    }

    pub fn clients(&self) -> Result<Vec<Client>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT client_id, client_name, redirect_uris, created_at, revoked FROM clients ORDER BY created_at",
            )?;
            st.query_map([], Self::client_row)?.collect()
        })
    }

    /// Revokes a client and every token it holds. False when there is no such client.
    pub fn revoke_client(&self, client_id: &str) -> Result<bool, StoreError> {
        self.with(|c| {
            let n = c.execute("UPDATE clients SET revoked = 1 WHERE client_id = ?1", [client_id])?;
            c.execute("UPDATE tokens SET revoked = 1 WHERE client_id = ?1", [client_id])?;
            Ok(n > 0)
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub fn add_code(
        &self,
        code: &str,
        client_id: &str,
        redirect_uri: &str,
        challenge: &str,
        scope: &str,
        resource: &str,
        expires_at: i64,
        family: &str,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO codes (code_hash, client_id, redirect_uri, code_challenge, scope, resource, expires_at, family) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![hash(code), client_id, redirect_uri, challenge, scope, resource, expires_at, family],
            )
            .map(|_| ())
        })
    }

    /// Marks a code used and returns its grant (with `already_used` when it was replayed).
    pub fn redeem_code(&self, code: &str) -> Result<Option<CodeGrant>, StoreError> {
        let h = hash(code);
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let grant = tx
                .query_row(
                    "SELECT client_id, redirect_uri, code_challenge, scope, resource, expires_at, used, family FROM codes WHERE code_hash = ?1",
                    [&h],
                    |r| {
                        Ok(CodeGrant {
                            client_id: r.get(0)?,
                            redirect_uri: r.get(1)?,
                            code_challenge: r.get(2)?,
                            scope: r.get(3)?,
                            resource: r.get(4)?,
                            expires_at: r.get(5)?,
                            already_used: r.get::<_, i64>(6)? != 0,
                            family: r.get(7)?,
                        })
                    },
                )
                .optional()?;
            tx.execute("UPDATE codes SET used = 1 WHERE code_hash = ?1", [&h])?;
            tx.commit()?;
            Ok(grant)
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub fn add_token(
        &self,
        token: &str,
        kind: &str,
        client_id: &str,
        scope: &str,
        resource: &str,
        expires_at: i64,
        family: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO tokens (token_hash, kind, client_id, scope, resource, expires_at, family, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![hash(token), kind, client_id, scope, resource, expires_at, family, now],
            )
            .map(|_| ())
        })
    }

    fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRow> {
        let h: String = r.get(0)?;
        Ok(TokenRow {
            id: h.chars().take(12).collect(),
            kind: r.get(1)?,
            client_id: r.get(2)?,
            scope: r.get(3)?,
            resource: r.get(4)?,
            expires_at: r.get(5)?,
            revoked: r.get::<_, i64>(6)? != 0,
            family: r.get(7)?,
        })
    }

    /// A token by its value (whatever its state: the caller checks expiry and revocation).
    pub fn token(&self, token: &str) -> Result<Option<TokenRow>, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT token_hash, kind, client_id, scope, resource, expires_at, revoked, family FROM tokens WHERE token_hash = ?1",
                [hash(token)],
                Self::token_row,
            )
            .optional()
        })
    }

    pub fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT token_hash, kind, client_id, scope, resource, expires_at, revoked, family FROM tokens ORDER BY created_at",
            )?;
            st.query_map([], Self::token_row)?.collect()
        })
    }

    /// Revokes one token by value; with `family`, every token of its authorization.
    pub fn revoke_token(&self, token: &str, family: bool) -> Result<bool, StoreError> {
        let h = hash(token);
        self.with(|c| {
            let n = if family {
                c.execute(
                    "UPDATE tokens SET revoked = 1 WHERE family = (SELECT family FROM tokens WHERE token_hash = ?1)",
                    [&h],
                )?
            } else {
                c.execute("UPDATE tokens SET revoked = 1 WHERE token_hash = ?1", [&h])?
            };
            Ok(n > 0)
        })
    }

    /// Revokes tokens whose id (hash prefix, as listed) starts with `id_prefix`.
    pub fn revoke_token_id(&self, id_prefix: &str) -> Result<usize, StoreError> {
        let pattern = format!("{}%", id_prefix.to_ascii_lowercase().replace(['%', '_'], ""));
        self.with(|c| c.execute("UPDATE tokens SET revoked = 1 WHERE token_hash LIKE ?1", [pattern]))
    }

    /// Revokes every token of an authorization (a replayed code or refresh token).
    pub fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        self.with(|c| c.execute("UPDATE tokens SET revoked = 1 WHERE family = ?1", [family]).map(|_| ()))
    }

    /// Drops expired codes and tokens long past their expiry.
    pub fn sweep(&self, now: i64) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute("DELETE FROM codes WHERE expires_at < ?1", [now - 3600])?;
            c.execute("DELETE FROM tokens WHERE expires_at < ?1", [now - 7 * 86_400])?;
            Ok(())
        })
    }
}
