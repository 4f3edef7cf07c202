//! PostgreSQL only: the backend's connections use TLS and verify the server.
//! Run by the test command against its throwaway server, which offers TLS with
//! a certificate from a CA of its own (`scripts/postgres.sh`); ignored without
//! one (`cargo test -- --include-ignored` with ZIVACARE_TEST_DATABASE_URL and
//! ZIVACARE_TEST_DATABASE_CA set).

mod common;

use common::*;
use zivacare_dev::store::{Database, Store};

#[tokio::test]
#[ignore = "needs the test PostgreSQL server (the test command starts one)"]
async fn connections_use_tls_and_refuse_a_server_they_cannot_verify() {
    let dir = tempfile::tempdir().unwrap();
    let Database::Postgres { url, ca } = database(dir.path()).await else {
        panic!("set {PG_VAR} (and {PG_CA_VAR}) to a PostgreSQL server with TLS");
    };
    assert!(ca.is_some(), "set {PG_CA_VAR}");
    let url = format!("{}?sslmode=require", url.split('?').next().unwrap());
    let store = Store::open(&Database::Postgres {
        url: url.clone(),
        ca,
    })
    .await
    .expect("a verified TLS connection");
    let row = store
        .row(
            "SELECT ssl::text, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .expect("this connection");
    assert_eq!(row[0].text(), Some("true"));
    assert!(
        row[1].text().is_some_and(|v| v.starts_with("TLSv1.")),
        "{row:?}"
    );
    // Without the CA that signed the server's certificate: refused, and said why.
    let err = Store::open(&Database::Postgres { url, ca: None })
        .await
        .err()
        .expect("an unverifiable server is refused");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}
