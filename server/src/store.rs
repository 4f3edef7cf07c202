//! The backend's database: an embedded SQLite file by default, or PostgreSQL
//! (`DATABASE_URL=postgres://…`, TLS with rustls) when several backend
//! instances share one store.
//!
//! Both run the same SQL: statements are written with PostgreSQL's `$1`
//! placeholders, which become SQLite's `?1`. Guarantees that span instances
//! (one exchange per specialToken) come from the schema's constraints, never
//! from process memory, so they hold the same on either.

use std::path::PathBuf;
use std::sync::Mutex;

use tokio_postgres::types::{ToSql, Type};

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
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
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
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        // The source carries the server's message (constraint, syntax, …).
        match std::error::Error::source(&e) {
            Some(s) => StoreError(format!("{e}: {s}")),
            None => StoreError(e.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError(format!("no database connection: {}", with_causes(&e)))
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

pub type Statement<'a> = (&'a str, Vec<Val>);

pub enum Store {
    Sqlite(Mutex<rusqlite::Connection>),
    Postgres(deadpool_postgres::Pool),
}

/// PostgreSQL's `$1` placeholders as SQLite's numbered `?1` (our SQL has no other `$`).
fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
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

impl Store {
    /// Opens the database and creates the schema (`statements` separated by `;`).
    pub async fn open(db: &Database, schema: &str) -> Result<Store, String> {
        match db {
            Database::Sqlite(path) => crate::util::open_db(path, schema)
                .map(|c| Store::Sqlite(Mutex::new(c)))
                .map_err(|e| format!("cannot open {}: {e}", path.display())),
            Database::Postgres { url, ca } => {
                let config: tokio_postgres::Config = url
                    .parse()
                    .map_err(|e| format!("DATABASE_URL is not a valid PostgreSQL URL: {e}"))?;
                let manager = deadpool_postgres::Manager::new(config, tls(ca.as_deref())?);
                let pool = deadpool_postgres::Pool::builder(manager)
                    .max_size(16)
                    .build()
                    .map_err(|e| format!("cannot set up the PostgreSQL pool: {e}"))?;
                let client = pool
                    .get()
                    .await
                    .map_err(|e| format!("cannot connect to PostgreSQL: {}", with_causes(&e)))?;
                drop(client);
                let store = Store::Postgres(pool);
                store
                    .batch(schema)
                    .await
                    .map_err(|e| format!("cannot create the schema: {e}"))?;
                Ok(store)
            }
        }
    }

    /// Runs `sql`, statements separated by `;`, in one transaction. On
    /// PostgreSQL, instances starting together take turns (an advisory lock),
    /// since concurrent `CREATE TABLE IF NOT EXISTS` can collide there.
    pub async fn batch(&self, sql: &str) -> Result<(), StoreError> {
        match self {
            // A failure rolls back (the transaction is dropped) and leaves the
            // connection usable, rather than inside an aborted transaction.
            Store::Sqlite(c) => {
                let mut c = Self::sqlite(c);
                let tx = c.transaction()?;
                tx.execute_batch(sql)?;
                Ok(tx.commit()?)
            }
            Store::Postgres(pool) => {
                let mut client = pool.get().await?;
                let tx = client.transaction().await?;
                tx.batch_execute("SELECT pg_advisory_xact_lock(4187301)")
                    .await?;
                tx.batch_execute(sql).await?;
                Ok(tx.commit().await?)
            }
        }
    }

    fn sqlite(c: &Mutex<rusqlite::Connection>) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        c.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one statement; the number of rows it changed.
    pub async fn execute(&self, sql: &str, params: &[Val]) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(c) => {
                let n = Self::sqlite(c)
                    .execute(&sqlite_sql(sql), rusqlite::params_from_iter(params))?;
                Ok(n as u64)
            }
            Store::Postgres(pool) => Ok(pool.get().await?.execute(sql, &pg_params(params)).await?),
        }
    }

    /// The first row of a query, if any.
    pub async fn row(&self, sql: &str, params: &[Val]) -> Result<Option<Vec<Val>>, StoreError> {
        match self {
            Store::Sqlite(c) => {
                use rusqlite::OptionalExtension;
                Ok(Self::sqlite(c)
                    .query_row(
                        &sqlite_sql(sql),
                        rusqlite::params_from_iter(params),
                        sqlite_row,
                    )
                    .optional()?)
            }
            Store::Postgres(pool) => {
                let client = pool.get().await?;
                match client.query_opt(sql, &pg_params(params)).await? {
                    Some(r) => Ok(Some(pg_row(&r)?)),
                    None => Ok(None),
                }
            }
        }
    }

    /// Runs the statements in one transaction: all of them or none.
    pub async fn transaction(&self, statements: &[Statement<'_>]) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(c) => {
                let mut c = Self::sqlite(c);
                let tx = c.transaction()?;
                for (sql, params) in statements {
                    tx.execute(&sqlite_sql(sql), rusqlite::params_from_iter(params))?;
                }
                tx.commit()?;
                Ok(())
            }
            Store::Postgres(pool) => {
                let mut client = pool.get().await?;
                let tx = client.transaction().await?;
                for (sql, params) in statements {
                    tx.execute(*sql, &pg_params(params)).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_sqlite_numbered_parameters() {
        assert_eq!(
            sqlite_sql("UPDATE t SET a = $2 WHERE b = $1"),
            "UPDATE t SET a = ?2 WHERE b = ?1"
        );
    }

    #[tokio::test]
    async fn an_unreachable_postgres_or_a_missing_ca_file_is_named() {
        let down = Database::Postgres {
            url: "postgres://u@127.0.0.1:1/db".into(),
            ca: None,
        };
        let err = Store::open(&down, "").await.err().expect("refused");
        assert!(
            err.starts_with("cannot connect to PostgreSQL") && err.contains("refused"),
            "{err}"
        );
        let missing_ca = Database::Postgres {
            url: "postgres://u@127.0.0.1:1/db".into(),
            ca: Some("/nonexistent/ca.pem".into()),
        };
        let err = Store::open(&missing_ca, "").await.err().expect("refused");
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
}
