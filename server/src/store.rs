//! The backend's database: an embedded SQLite file by default, or PostgreSQL
//! (`DATABASE_URL=postgres://…`, TLS with rustls) when several backend
//! instances share one store.
//!
//! Both run the same SQL: statements are written with PostgreSQL's `$1`
//! placeholders, which become SQLite's `?1`, and `{now}` for the database's
//! clock in seconds. Guarantees that span instances (one exchange per
//! specialToken) come from the schema's constraints, never from process memory,
//! so they hold the same on either. SQLite calls run on Tokio's blocking
//! threads, never on the async workers. The schema is made and changed by
//! versioned [`Migration`]s, applied once, under a lock, at start-up.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_postgres::types::{ToSql, Type};

/// How long a statement, or the wait for a connection, may take: a request
/// holding a claim on a token is bounded by it.
pub const DB_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the backend keeps its data.
#[derive(Clone, Debug)]
pub enum Database {
    Sqlite(PathBuf),
    /// A `postgres://` URL. Connections use TLS when the server offers it
    /// (`sslmode=prefer`, the default) or always (`sslmode=require`); the server's
    /// certificate must verify against the system's roots or `ca`, a PEM file.
    Postgres {
        url: String,
        ca: Option<PathBuf>,
    },
}

impl Database {
    /// `DATABASE_URL` if set (it must be PostgreSQL's, with `ca` its extra
    /// trusted certificates), else the SQLite file.
    pub fn from_url(
        url: Option<String>,
        ca: Option<PathBuf>,
        sqlite_path: PathBuf,
    ) -> Result<Database, String> {
        match url {
            None => Ok(Database::Sqlite(sqlite_path)),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Database::Postgres { url, ca })
            }
            Some(_) => {
                Err("DATABASE_URL must be a postgres:// URL (unset it to use SQLite)".into())
            }
        }
    }
}

/// TLS for PostgreSQL: the system's trusted roots, plus the certificates in `ca`.
fn tls(ca: Option<&std::path::Path>) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca {
        let bad = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
            roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Opens (creating if needed) a SQLite file with the settings both services
/// use: WAL, full sync, and a busy timeout so that a statement waits for
/// another writer at most [`DB_TIMEOUT`].
pub fn open_sqlite(path: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    let db = rusqlite::Connection::open(path)?;
    db.busy_timeout(DB_TIMEOUT)?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.pragma_update(None, "synchronous", "FULL")?;
    Ok(db)
}

/// A value bound to a placeholder or read from a column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    Text(String),
    Int(i64),
    Null,
}

impl Val {
    pub fn text(&self) -> Option<&str> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn into_text(self) -> Option<String> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Text(s.to_owned())
    }
}

impl From<&String> for Val {
    fn from(s: &String) -> Val {
        Val::Text(s.clone())
    }
}

impl From<i64> for Val {
    fn from(i: i64) -> Val {
        Val::Int(i)
    }
}

/// A database failure; its detail goes to the log, never to a client.
#[derive(Debug)]
pub enum StoreError {
    /// A statement of a transaction did not change exactly the rows it had to
    /// (a claim that is no longer this request's): rolled back.
    Fenced(String),
    Db(String),
}

impl StoreError {
    fn db(e: impl std::fmt::Display) -> StoreError {
        StoreError::Db(e.to_string())
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Fenced(what) => write!(f, "refused: {what}"),
            StoreError::Db(e) => f.write_str(e),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::db(e)
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        // The source carries the server's message (constraint, syntax, …).
        match std::error::Error::source(&e) {
            Some(s) => StoreError::Db(format!("{e}: {s}")),
            None => StoreError::db(e),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Db(format!("no database connection: {}", with_causes(&e)))
    }
}

/// An error and its causes, `a: b: c` (the pool's own message names none).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text = format!("{text}: {c}");
        cause = c.source();
    }
    text
}

/// One statement of a [`Store::transaction`]: its SQL, its parameters, and the
/// number of rows it must change (`None`: any).
#[derive(Clone, Debug)]
pub struct Step {
    pub sql: &'static str,
    pub params: Vec<Val>,
    pub expect_rows: Option<u64>,
}

impl Step {
    pub fn new(sql: &'static str, params: Vec<Val>) -> Step {
        Step {
            sql,
            params,
            expect_rows: None,
        }
    }

    /// This step must change exactly one row, or the transaction rolls back.
    pub fn exactly_one(mut self) -> Step {
        self.expect_rows = Some(1);
        self
    }
}

/// A versioned change of the schema, applied once per database.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    /// Statements separated by `;`, the same on SQLite and PostgreSQL.
    pub sql: &'static str,
}

/// The migrations table itself, the same on both.
const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
/// PostgreSQL's advisory lock key of the migrations: instances starting together take turns.
const MIGRATION_LOCK: i64 = 4_187_301;

enum Kind {
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
    Postgres(deadpool_postgres::Pool),
}

pub struct Store {
    kind: Kind,
    /// Transactions still to refuse: faults injected by tests.
    faults: AtomicU32,
}

fn pg_params(params: &[Val]) -> Vec<&(dyn ToSql + Sync)> {
    const NULL: Option<String> = None;
    params
        .iter()
        .map(|v| match v {
            Val::Text(s) => s as &(dyn ToSql + Sync),
            Val::Int(i) => i as &(dyn ToSql + Sync),
            Val::Null => &NULL as &(dyn ToSql + Sync),
        })
        .collect()
}

fn pg_row(row: &tokio_postgres::Row) -> Result<Vec<Val>, StoreError> {
    (0..row.len())
        .map(|i| {
            let ty = row.columns()[i].type_();
            Ok(if *ty == Type::INT8 || *ty == Type::INT4 {
                row.try_get::<_, Option<i64>>(i)
                    .or_else(|_| row.try_get::<_, Option<i32>>(i).map(|v| v.map(i64::from)))?
                    .map_or(Val::Null, Val::Int)
            } else {
                row.try_get::<_, Option<String>>(i)?
                    .map_or(Val::Null, Val::Text)
            })
        })
        .collect()
}

fn sqlite_row(row: &rusqlite::Row) -> rusqlite::Result<Vec<Val>> {
    use rusqlite::types::ValueRef;
    (0..row.as_ref().column_count())
        .map(|i| {
            Ok(match row.get_ref(i)? {
                ValueRef::Integer(n) => Val::Int(n),
                ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
                _ => Val::Null,
            })
        })
        .collect()
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Val::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

/// `sql` in SQLite's words: numbered `?1` placeholders, `unixepoch()` for now.
fn sqlite_sql(sql: &str) -> String {
    sql.replace("{now}", "unixepoch()").replace('$', "?")
}

/// `sql` in PostgreSQL's words: the database's clock in whole seconds for now.
fn pg_sql(sql: &str) -> String {
    sql.replace("{now}", "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)")
}

fn fenced(sql: &str, changed: u64, expected: u64) -> StoreError {
    let statement = sql.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    StoreError::Fenced(format!(
        "`{statement} …` changed {changed} rows, not {expected}"
    ))
}

impl Store {
    /// Opens the database; the schema comes from [`Store::migrate`].
    pub async fn open(db: &Database) -> Result<Store, String> {
        let kind = match db {
            Database::Sqlite(path) => open_sqlite(path)
                .map(|c| Kind::Sqlite(Arc::new(Mutex::new(c))))
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?,
            Database::Postgres { url, ca } => {
                let mut config: tokio_postgres::Config = url
                    .parse()
                    .map_err(|e| format!("DATABASE_URL is not a valid PostgreSQL URL: {e}"))?;
                config.options(format!("-c statement_timeout={}", DB_TIMEOUT.as_millis()));
                config.connect_timeout(DB_TIMEOUT);
                let manager = deadpool_postgres::Manager::new(config, tls(ca.as_deref())?);
                let pool = deadpool_postgres::Pool::builder(manager)
                    .max_size(16)
                    .wait_timeout(Some(DB_TIMEOUT))
                    .create_timeout(Some(DB_TIMEOUT))
                    .recycle_timeout(Some(DB_TIMEOUT))
                    .runtime(deadpool_postgres::Runtime::Tokio1)
                    .build()
                    .map_err(|e| format!("cannot set up the PostgreSQL pool: {e}"))?;
                let client = pool
                    .get()
                    .await
                    .map_err(|e| format!("cannot connect to PostgreSQL: {}", with_causes(&e)))?;
                drop(client);
                Kind::Postgres(pool)
            }
        };
        Ok(Store {
            kind,
            faults: AtomicU32::new(0),
        })
    }

    /// Makes the next `n` transactions fail before they run, as a database
    /// refusing writes would (for tests of what survives that).
    #[doc(hidden)]
    pub fn inject_faults(&self, n: u32) {
        self.faults.store(n, Ordering::SeqCst);
    }

    fn take_fault(&self) -> Result<(), StoreError> {
        let left = self
            .faults
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        match left {
            Ok(_) => Err(StoreError::Db(
                "injected fault: the database refused".into(),
            )),
            Err(_) => Ok(()),
        }
    }

    /// Runs `f` with the SQLite connection on a blocking thread.
    async fn sqlite<T: Send + 'static>(
        c: &Arc<Mutex<rusqlite::Connection>>,
        f: impl FnOnce(&mut rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let c = Arc::clone(c);
        tokio::task::spawn_blocking(move || {
            let mut conn = c.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(StoreError::db)?
    }

    /// Applies the `migrations` this database has not seen, in order of version,
    /// each recorded in `schema_migrations`; all in one transaction, under a
    /// lock that instances starting together take turns at. Returns the
    /// versions applied now. Nothing is ever dropped: a database from before
    /// a migration is changed in place.
    pub async fn migrate(&self, migrations: &'static [Migration]) -> Result<Vec<i64>, StoreError> {
        match &self.kind {
            Kind::Sqlite(c) => {
                Self::sqlite(c, move |conn| {
                    // IMMEDIATE takes the write lock at once: another process
                    // migrating the same file waits (busy timeout) for this one.
                    let tx = conn
                        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                    tx.execute_batch(MIGRATIONS_TABLE)?;
                    let done: BTreeSet<i64> = tx
                        .prepare("SELECT version FROM schema_migrations")?
                        .query_map([], |r| r.get(0))?
                        .collect::<rusqlite::Result<_>>()?;
                    let mut applied = Vec::new();
                    for m in migrations.iter().filter(|m| !done.contains(&m.version)) {
                        tx.execute_batch(m.sql)?;
                        tx.execute(
                            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, unixepoch())",
                            rusqlite::params![m.version, m.name],
                        )?;
                        applied.push(m.version);
                    }
                    tx.commit()?;
                    Ok(applied)
                })
                .await
            }
            Kind::Postgres(pool) => {
                let mut client = pool.get().await?;
                let tx = client.transaction().await?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                    .await?;
                tx.batch_execute(MIGRATIONS_TABLE).await?;
                let done: BTreeSet<i64> = tx
                    .query("SELECT version FROM schema_migrations", &[])
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                let mut applied = Vec::new();
                for m in migrations.iter().filter(|m| !done.contains(&m.version)) {
                    tx.batch_execute(m.sql).await?;
                    tx.execute(
                        &pg_sql("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, {now})"),
                        &[&m.version, &m.name],
                    )
                    .await?;
                    applied.push(m.version);
                }
                tx.commit().await?;
                Ok(applied)
            }
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub async fn execute(&self, sql: &str, params: &[Val]) -> Result<u64, StoreError> {
        match &self.kind {
            Kind::Sqlite(c) => {
                let (sql, params) = (sqlite_sql(sql), params.to_vec());
                Self::sqlite(c, move |conn| {
                    Ok(conn.execute(&sql, rusqlite::params_from_iter(&params))? as u64)
                })
                .await
            }
            Kind::Postgres(pool) => {
                let client = pool.get().await?;
                Ok(client.execute(&pg_sql(sql), &pg_params(params)).await?)
            }
        }
    }

    /// Every row of a query.
    pub async fn rows(&self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>, StoreError> {
        match &self.kind {
            Kind::Sqlite(c) => {
                let (sql, params) = (sqlite_sql(sql), params.to_vec());
                Self::sqlite(c, move |conn| {
                    let mut stmt = conn.prepare(&sql)?;
                    let rows = stmt
                        .query_map(rusqlite::params_from_iter(&params), sqlite_row)?
                        .collect::<rusqlite::Result<_>>()?;
                    Ok(rows)
                })
                .await
            }
            Kind::Postgres(pool) => {
                let client = pool.get().await?;
                let rows = client.query(&pg_sql(sql), &pg_params(params)).await?;
                rows.iter().map(pg_row).collect()
            }
        }
    }

    /// The first row of a query, if any.
    pub async fn row(&self, sql: &str, params: &[Val]) -> Result<Option<Vec<Val>>, StoreError> {
        Ok(self.rows(sql, params).await?.into_iter().next())
    }

    /// Runs the steps in one transaction: all of them or none. A step that
    /// changes another number of rows than it must rolls everything back
    /// ([`StoreError::Fenced`]).
    pub async fn transaction(&self, steps: Vec<Step>) -> Result<(), StoreError> {
        self.take_fault()?;
        match &self.kind {
            Kind::Sqlite(c) => {
                Self::sqlite(c, move |conn| {
                    let tx = conn.transaction()?;
                    for step in &steps {
                        let changed = tx.execute(
                            &sqlite_sql(step.sql),
                            rusqlite::params_from_iter(&step.params),
                        )? as u64;
                        if let Some(n) = step.expect_rows.filter(|n| *n != changed) {
                            return Err(fenced(step.sql, changed, n)); // dropped: rolled back
                        }
                    }
                    tx.commit()?;
                    Ok(())
                })
                .await
            }
            Kind::Postgres(pool) => {
                let mut client = pool.get().await?;
                let tx = client.transaction().await?;
                for step in &steps {
                    let changed = tx
                        .execute(&pg_sql(step.sql), &pg_params(&step.params))
                        .await?;
                    if let Some(n) = step.expect_rows.filter(|n| *n != changed) {
                        return Err(fenced(step.sql, changed, n));
                    }
                }
                tx.commit().await?;
                Ok(())
            }
        }
    }

    /// Runs `sql`, statements separated by `;`, in one transaction (for tests
    /// and tools that set up a database by hand).
    pub async fn batch(&self, sql: &str) -> Result<(), StoreError> {
        match &self.kind {
            Kind::Sqlite(c) => {
                let sql = sql.to_owned();
                Self::sqlite(c, move |conn| {
                    let tx = conn.transaction()?;
                    tx.execute_batch(&sql)?;
                    Ok(tx.commit()?)
                })
                .await
            }
            Kind::Postgres(pool) => {
                let mut client = pool.get().await?;
                let tx = client.transaction().await?;
                tx.batch_execute(sql).await?;
                Ok(tx.commit().await?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_written_once_for_both_databases() {
        assert_eq!(
            sqlite_sql("UPDATE t SET a = $2, at = {now} WHERE b = $1"),
            "UPDATE t SET a = ?2, at = unixepoch() WHERE b = ?1"
        );
        assert_eq!(
            pg_sql("SELECT {now} - claimed_at"),
            "SELECT CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) - claimed_at"
        );
    }

    #[tokio::test]
    async fn an_unreachable_postgres_or_a_missing_ca_file_is_named() {
        let down = Database::Postgres {
            url: "postgres://u@127.0.0.1:1/db".into(),
            ca: None,
        };
        let err = Store::open(&down).await.err().expect("refused");
        assert!(
            err.starts_with("cannot connect to PostgreSQL") && err.contains("refused"),
            "{err}"
        );
        let missing_ca = Database::Postgres {
            url: "postgres://u@127.0.0.1:1/db".into(),
            ca: Some("/nonexistent/ca.pem".into()),
        };
        let err = Store::open(&missing_ca).await.err().expect("refused");
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn only_postgres_urls_select_postgres() {
        let file = PathBuf::from("x.db");
        assert!(matches!(
            Database::from_url(None, None, file.clone()),
            Ok(Database::Sqlite(_))
        ));
        assert!(matches!(
            Database::from_url(
                Some("postgresql://u@127.0.0.1/db".into()),
                None,
                file.clone()
            ),
            Ok(Database::Postgres { .. })
        ));
        assert!(Database::from_url(Some("mysql://u@h/db".into()), None, file).is_err());
    }

    #[tokio::test]
    async fn a_step_that_changes_other_rows_than_it_must_rolls_the_transaction_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&Database::Sqlite(dir.path().join("t.db")))
            .await
            .unwrap();
        store
            .batch("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)")
            .await
            .unwrap();
        let err = store
            .transaction(vec![
                Step::new(
                    "INSERT INTO t (k, v) VALUES ($1, $2)",
                    vec!["a".into(), "1".into()],
                ),
                Step::new(
                    "UPDATE t SET v = $1 WHERE k = $2",
                    vec!["2".into(), "b".into()],
                )
                .exactly_one(),
            ])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Fenced(_)), "{err}");
        assert_eq!(store.rows("SELECT * FROM t", &[]).await.unwrap().len(), 0);
        store.inject_faults(1);
        let step = || {
            Step::new(
                "INSERT INTO t (k, v) VALUES ($1, $2)",
                vec!["a".into(), "1".into()],
            )
        };
        assert!(
            store.transaction(vec![step()]).await.is_err(),
            "refused once"
        );
        store.transaction(vec![step()]).await.unwrap();
        assert_eq!(store.rows("SELECT * FROM t", &[]).await.unwrap().len(), 1);
    }
}
