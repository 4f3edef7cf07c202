//! The sandbox's state: its configuration, its registered apps, and its
//! SQLite database of specialTokens, users, access tokens and the records and
//! profiles users wrote.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::{params, OptionalExtension};
use zivacare::axum::{ClientIp, Refusal};

use crate::apps::RegisteredApp;
use crate::util::{now_secs, random_token, sha256_hex};

/// How the sandbox is set up.
///
/// ```
/// use zivacare_sandbox::{demo_app, SandboxConfig};
/// let config = SandboxConfig { token_ttl_secs: 60, ..SandboxConfig::new(vec![demo_app(vec![])], "data/sandbox.db") };
/// assert_eq!(config.rate_limit_per_minute, 120);
/// ```
pub struct SandboxConfig {
    /// The applications it knows.
    pub apps: Vec<RegisteredApp>,
    /// Its SQLite file (`:memory:` for one that lives as long as the sandbox).
    pub db_path: PathBuf,
    /// How long a specialToken stays valid: ten minutes at ZivaCare.
    pub token_ttl_secs: i64,
    /// Requests a client address may make a minute to the Connect page and
    /// the token endpoint.
    pub rate_limit_per_minute: u32,
    /// Where a client's address comes from, for the rate limits.
    pub client_ip: ClientIp,
}

impl SandboxConfig {
    /// For `apps`, keeping its data in the SQLite file `db_path`; tokens
    /// valid ten minutes, 120 requests a minute per client address.
    ///
    /// ```
    /// let config = zivacare_sandbox::SandboxConfig::new(vec![], "data/sandbox.db");
    /// assert_eq!(config.token_ttl_secs, 600);
    /// ```
    pub fn new(apps: Vec<RegisteredApp>, db_path: impl Into<PathBuf>) -> SandboxConfig {
        SandboxConfig {
            apps,
            db_path: db_path.into(),
            token_ttl_secs: 600,
            rate_limit_per_minute: 120,
            client_ip: ClientIp::Peer,
        }
    }

    /// For `apps`, keeping its data in memory, without rate limits that a
    /// test would reach: for tests.
    ///
    /// ```
    /// let config = zivacare_sandbox::SandboxConfig::in_memory(vec![]);
    /// assert_eq!(config.db_path.to_str(), Some(":memory:"));
    /// ```
    pub fn in_memory(apps: Vec<RegisteredApp>) -> SandboxConfig {
        SandboxConfig {
            rate_limit_per_minute: 100_000,
            ..SandboxConfig::new(apps, ":memory:")
        }
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS special_tokens (
  token_hash TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  client_user_id TEXT NOT NULL,
  sources TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS users (
  client_id TEXT NOT NULL,
  client_user_id TEXT NOT NULL,
  ziva_user_code TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  PRIMARY KEY (client_id, client_user_id)
);
CREATE TABLE IF NOT EXISTS access_tokens (
  token_hash TEXT PRIMARY KEY,
  ziva_user_code TEXT NOT NULL,
  sources TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
  ziva_user_code TEXT NOT NULL,
  kind TEXT NOT NULL,
  code TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (ziva_user_code, kind, code)
);
CREATE TABLE IF NOT EXISTS profiles (
  ziva_user_code TEXT PRIMARY KEY,
  body TEXT NOT NULL
);
";

/// The sandbox: what a router serves (see [`crate::router`] and [`crate::spawn`]).
///
/// ```
/// let sandbox = zivacare_sandbox::Sandbox::open(zivacare_sandbox::SandboxConfig::in_memory(vec![])).unwrap();
/// let app: axum::Router = zivacare_sandbox::router(sandbox);
/// # let _ = app;
/// ```
pub struct Sandbox {
    pub(crate) apps: Vec<RegisteredApp>,
    pub(crate) rate_limit_per_minute: u32,
    pub(crate) client_ip: ClientIp,
    db: Arc<Mutex<rusqlite::Connection>>,
    token_ttl_secs: i64,
}

/// A database failure: logged, and a generic 500 for the client.
pub(crate) fn db_error(e: rusqlite::Error) -> Refusal {
    tracing::error!(error = %e, "sandbox database error");
    Refusal::internal()
}

/// Who an access token is for: their code and the sources they shared.
pub(crate) struct Holder {
    pub user_code: String,
    pub sources: String,
}

impl Sandbox {
    /// Opens the sandbox's database (creating it if needed; see the type's example).
    pub fn open(config: SandboxConfig) -> rusqlite::Result<Arc<Sandbox>> {
        if let Some(dir) = config
            .db_path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            let _ = std::fs::create_dir_all(dir);
        }
        let db = rusqlite::Connection::open(&config.db_path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.execute_batch(SCHEMA)?;
        Ok(Arc::new(Sandbox {
            apps: config.apps,
            rate_limit_per_minute: config.rate_limit_per_minute,
            client_ip: config.client_ip,
            db: Arc::new(Mutex::new(db)),
            token_ttl_secs: config.token_ttl_secs,
        }))
    }

    pub(crate) fn app(&self, client_id: &str) -> Option<&RegisteredApp> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    /// Runs `f` with the database on a blocking thread, off the async workers.
    pub(crate) async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T, Refusal> + Send + 'static,
    ) -> Result<T, Refusal> {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || f(&db.lock().unwrap_or_else(|p| p.into_inner())))
            .await
            .map_err(|_| Refusal::internal())?
    }

    /// Mints a one-time specialToken for `client_user_id` of `client_id`,
    /// granting the sample data of `sources`: what the Connect page's
    /// "Finish Connecting Data" does, for tests that need a token without a
    /// browser.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let running = zivacare_sandbox::spawn_demo().await?;
    /// let token = running.sandbox.mint("demo-client", "ann@example.com", &["fitbit"]).await.map_err(|e| e.message)?;
    /// assert!(zivacare::text::is_token_text(&token));
    /// # Ok(()) }
    /// ```
    pub async fn mint(
        &self,
        client_id: &str,
        client_user_id: &str,
        sources: &[&str],
    ) -> Result<String, Refusal> {
        let token = random_token(32);
        let row = (
            sha256_hex(&token),
            client_id.to_owned(),
            client_user_id.to_owned(),
            sources.join(","),
            now_secs() + self.token_ttl_secs,
        );
        self.with_db(move |db| {
            db.execute(
                "INSERT INTO special_tokens (token_hash, client_id, client_user_id, sources, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![row.0, row.1, row.2, row.3, row.4],
            )
            .map_err(db_error)?;
            Ok(())
        })
        .await?;
        Ok(token)
    }

    /// The user an access token is for; `None` for an unknown token.
    pub(crate) async fn holder(&self, token: String) -> Result<Option<Holder>, Refusal> {
        self.with_db(move |db| {
            db.query_row(
                "SELECT ziva_user_code, sources FROM access_tokens WHERE token_hash = ?1",
                [sha256_hex(&token)],
                |r| {
                    Ok(Holder {
                        user_code: r.get(0)?,
                        sources: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(db_error)
        })
        .await
    }
}

/// The user `client_user_id` of an app, created on first sight: (code, name, e-mail).
pub(crate) fn user(
    db: &rusqlite::Connection,
    client_id: &str,
    client_user_id: &str,
    name: Option<&str>,
) -> rusqlite::Result<(String, String, String)> {
    let found = db
        .query_row(
            "SELECT ziva_user_code, name, email FROM users WHERE client_id = ?1 AND client_user_id = ?2",
            [client_id, client_user_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some(u) = found {
        return Ok(u);
    }
    let code = uuid::Uuid::new_v4().to_string();
    let email = if client_user_id.contains('@') {
        client_user_id.to_owned()
    } else {
        String::new()
    };
    let name = name.map(str::to_owned).unwrap_or_else(|| {
        client_user_id
            .split('@')
            .next()
            .unwrap_or(client_user_id)
            .to_owned()
    });
    db.execute(
        "INSERT INTO users (client_id, client_user_id, ziva_user_code, name, email) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![client_id, client_user_id, code, name, email],
    )?;
    Ok((code, name, email))
}
