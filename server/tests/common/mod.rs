//! Shared set-up of the handler tests: a real sandbox on a loopback port, a
//! backend pointed at it, each on its own SQLite file in a temporary folder.
#![allow(dead_code)]

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;
use zivacare_dev::backend::{self, Backend, BackendConfig};
use zivacare_dev::sandbox::{self, RegisteredApp, Sandbox, SandboxConfig};
use zivacare_dev::store::{Database, Store, Val};
use zivacare_dev::util::{Keyring, Secret};

pub const APP_ORIGIN: &str = "http://127.0.0.1:8080";
pub const CLIENT_ID: &str = "demo-client";
pub const SECRET: &str = "sec_SENTINEL_handler-secret";
/// A fixed test key (32 bytes of 7).
pub const KEYS: &str = "t1:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

pub fn app() -> RegisteredApp {
    RegisteredApp {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(SECRET),
        name: "Test <App>".into(),
        origins: vec![APP_ORIGIN.into()],
    }
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub sandbox: Router,
    pub sandbox_url: String,
    pub backend: Router,
}

pub fn sandbox_router(dir: &std::path::Path, ttl: i64) -> Router {
    let sb = Sandbox::open(SandboxConfig {
        apps: vec![app()],
        db_path: dir.join("sandbox.db"),
        token_ttl_secs: ttl,
        rate_limit_per_minute: 10_000,
    })
    .expect("sandbox db");
    sandbox::router(sb)
}

/// Serves `router` on a free loopback port; returns its base URL.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

/// The variable that points the backend tests at a PostgreSQL server
/// (`postgres://user@host:port`, no database: each test makes its own; a
/// `?query` such as `?sslmode=require` applies to every test database).
pub const PG_VAR: &str = "ZIVACARE_TEST_DATABASE_URL";
/// A PEM file of the CA that signed that server's certificate, if it uses TLS.
pub const PG_CA_VAR: &str = "ZIVACARE_TEST_DATABASE_CA";

/// The backend's database for the test working in `dir`: `dir/backend.db`, or,
/// when `ZIVACARE_TEST_DATABASE_URL` is set, a database of that PostgreSQL
/// server named after `dir` (made on first use). Two backends given the same
/// `dir` share one database, as two instances of a deployment do.
pub async fn database(dir: &std::path::Path) -> Database {
    let Ok(server) = std::env::var(PG_VAR) else {
        return Database::Sqlite(dir.join("backend.db"));
    };
    let (server, query) = server.split_once('?').unwrap_or((&server, ""));
    let server = server.trim_end_matches('/');
    let name = format!(
        "t_{}",
        &zivacare_dev::util::sha256_hex(&dir.display().to_string())[..24]
    );
    // Made over a plain connection: only the backend's own must use TLS.
    let (admin, conn) =
        tokio_postgres::connect(&format!("{server}/postgres"), tokio_postgres::NoTls)
            .await
            .expect("the test PostgreSQL server");
    tokio::spawn(conn);
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .unwrap()
        .is_some();
    if !exists {
        // Two backends of one test may race to make it; one wins.
        let _ = admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await;
    }
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    Database::Postgres {
        url: format!("{server}/{name}{query}"),
        ca: std::env::var(PG_CA_VAR).ok().map(Into::into),
    }
}

/// Rows in a table of the backend's database for the test working in `dir`.
pub async fn backend_count(dir: &std::path::Path, table: &str) -> i64 {
    let store = Store::open(&database(dir).await, "").await.unwrap();
    let row = store
        .row(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .await
        .unwrap()
        .unwrap();
    match row[0] {
        Val::Int(n) => n,
        ref other => panic!("COUNT(*) gave {other:?}"),
    }
}

pub async fn backend_router(
    dir: &std::path::Path,
    zivacare_url: &str,
    secret: &str,
    timeout: Duration,
) -> Router {
    backend_router_limited(dir, zivacare_url, secret, timeout, 10_000).await
}

pub async fn backend_router_limited(
    dir: &std::path::Path,
    zivacare_url: &str,
    secret: &str,
    timeout: Duration,
    rate_limit_per_minute: u32,
) -> Router {
    let be = Backend::open(BackendConfig {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(secret),
        keys: Keyring::parse(KEYS).unwrap(),
        zivacare_url: zivacare_url.into(),
        connect_url: format!("{zivacare_url}/connect"),
        allowed_origins: vec![APP_ORIGIN.into()],
        database: database(dir).await,
        www_dir: dir.join("www"),
        pkg_dir: dir.join("pkg"),
        upstream_timeout: timeout,
        rate_limit_per_minute,
    })
    .await
    .expect("backend");
    backend::router(be)
}

pub async fn world() -> World {
    world_with(SECRET, 600).await
}

pub async fn world_with(backend_secret: &str, ttl: i64) -> World {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox_router(dir.path(), ttl);
    let sandbox_url = serve(sandbox.clone()).await;
    let backend = backend_router(
        dir.path(),
        &sandbox_url,
        backend_secret,
        Duration::from_secs(5),
    )
    .await;
    World {
        dir,
        sandbox,
        sandbox_url,
        backend,
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or(serde_json::Value::Null)
    }
}

pub async fn send(router: &Router, req: Request<Body>) -> Reply {
    let resp: Response<Body> = router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

pub fn post(uri: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header("content-type", content_type)
        .body(body.into())
        .unwrap()
}

/// Mints a specialToken through the Connect page's own finish endpoint.
pub async fn mint(w: &World, user: &str, sources: &[&str]) -> String {
    let body = serde_json::json!({ "clientId": CLIENT_ID, "clientUserId": user, "origin": APP_ORIGIN, "sources": sources });
    let r = send(
        &w.sandbox,
        post("/connect/finish", "application/json", body.to_string()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["specialToken"].as_str().unwrap().to_owned()
}

/// The SDK's forward to the backend, with every header it sends.
pub fn forward(token: &str, user: &str) -> Request<Body> {
    let body = serde_json::json!({ "specialToken": token, "clientId": CLIENT_ID, "clientUserId": user, "state": "st4te" });
    forward_body(&body.to_string())
}

pub fn forward_body(body: &str) -> Request<Body> {
    Request::post("/api/zivacare/token")
        .header("content-type", "application/json")
        .header("x-zivacare-connect", "1")
        .header("origin", APP_ORIGIN)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

pub fn count(dir: &std::path::Path, file: &str, table: &str) -> i64 {
    let db = rusqlite::Connection::open(dir.join(file)).unwrap();
    db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}
