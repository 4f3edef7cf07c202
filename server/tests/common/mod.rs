//! Shared set-up of the handler tests: a real sandbox on a loopback port, a
//! backend pointed at it, each on its own SQLite file in a temporary folder.
#![allow(dead_code)]

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response};
use axum::Router;
use http_body_util::BodyExt;
use std::sync::Arc;
use tower::ServiceExt;

use zivacare::axum::ClientIp;
use zivacare::ClientSecret;
use zivacare_dev::auth::Sessions;
use zivacare_dev::backend::{self, Backend, BackendConfig};
use zivacare_dev::crypto::Keyring;
use zivacare_dev::store::{Database, Store, Val};
use zivacare_sandbox::{self as sandbox, RegisteredApp, Sandbox, SandboxConfig};

pub const APP_ORIGIN: &str = "http://127.0.0.1:8080";
pub const CLIENT_ID: &str = "demo-client";
pub const SECRET: &str = "sec_SENTINEL_handler-secret";
/// A fixed test key (32 bytes of 7).
pub const KEYS: &str = "t1:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
/// A fixed session key (64 bytes of 9).
pub const SESSION_KEY: &str =
    "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQ==";

pub fn app() -> RegisteredApp {
    RegisteredApp {
        client_id: CLIENT_ID.into(),
        client_secret: ClientSecret::new(SECRET),
        name: "Test <App>".into(),
        origins: vec![APP_ORIGIN.into()],
        return_urls: vec![format!("{APP_ORIGIN}/")],
    }
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub sandbox: Router,
    pub sandbox_url: String,
    pub backend: Router,
    /// The backend behind `backend`, for what its routes do not show.
    pub instance: Arc<Backend>,
}

pub fn sandbox_router(dir: &std::path::Path, ttl: i64) -> Router {
    let sb = Sandbox::open(SandboxConfig {
        token_ttl_secs: ttl,
        rate_limit_per_minute: 10_000,
        ..SandboxConfig::new(vec![app()], dir.join("sandbox.db"))
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
        &zivacare_dev::crypto::sha256_hex(&dir.display().to_string())[..24]
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
    let store = Store::open(&database(dir).await).await.unwrap();
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

/// What a test backend is given: ZivaCare's URL, the clientSecret, the
/// upstream timeout and the rate limit.
pub struct Setup<'a> {
    pub zivacare_url: &'a str,
    pub secret: &'a str,
    pub timeout: Duration,
    pub rate_limit_per_minute: u32,
    pub client_ip: ClientIp,
}

impl<'a> Setup<'a> {
    pub fn new(zivacare_url: &'a str) -> Setup<'a> {
        Setup {
            zivacare_url,
            secret: SECRET,
            timeout: Duration::from_secs(5),
            rate_limit_per_minute: 10_000,
            client_ip: ClientIp::Peer,
        }
    }

    pub fn config(&self, database: Database, dir: &std::path::Path) -> BackendConfig {
        BackendConfig {
            client_id: CLIENT_ID.into(),
            client_secret: ClientSecret::new(self.secret),
            keys: Keyring::parse(KEYS).unwrap(),
            sessions: Sessions::new(SESSION_KEY, false).unwrap(),
            zivacare_url: Some(self.zivacare_url.into()),
            connect_url: format!("{}/connect", self.zivacare_url),
            allowed_origins: vec![APP_ORIGIN.into()],
            database,
            www_dir: dir.join("www"),
            pkg_dir: dir.join("pkg"),
            upstream_timeout: self.timeout,
            rate_limit_per_minute: self.rate_limit_per_minute,
            client_ip: self.client_ip.clone(),
        }
    }

    /// A backend instance working in `dir` (its database: see [`database`]).
    pub async fn open(&self, dir: &std::path::Path) -> Arc<Backend> {
        Backend::open(self.config(database(dir).await, dir))
            .await
            .expect("backend")
    }
}

pub async fn backend_router(
    dir: &std::path::Path,
    zivacare_url: &str,
    secret: &str,
    timeout: Duration,
) -> Router {
    let setup = Setup {
        secret,
        timeout,
        ..Setup::new(zivacare_url)
    };
    backend::router(setup.open(dir).await)
}

pub async fn world() -> World {
    world_with(SECRET, 600).await
}

pub async fn world_with(backend_secret: &str, ttl: i64) -> World {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox_router(dir.path(), ttl);
    let sandbox_url = serve(sandbox.clone()).await;
    let instance = Setup {
        secret: backend_secret,
        ..Setup::new(&sandbox_url)
    }
    .open(dir.path())
    .await;
    World {
        dir,
        sandbox,
        sandbox_url,
        backend: backend::router(Arc::clone(&instance)),
        instance,
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

/// Signs `user` in at `backend` through its own sign-in, as the demo page
/// does; the `Cookie` header of the session.
pub async fn session(backend: &Router, user: &str) -> String {
    let req = Request::post("/api/zivacare/session")
        .header("content-type", "application/json")
        .header("x-zivacare-connect", "1")
        .header("origin", APP_ORIGIN)
        .body(Body::from(serde_json::json!({ "user": user }).to_string()))
        .unwrap();
    let r = send(backend, req).await;
    assert_eq!(r.status, 200, "sign-in: {}", r.text);
    let set = r.headers["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// The SDK's forward to the backend, with every header it sends, from a page
/// where `cookie` (a session) is signed in.
pub fn forward(token: &str, user: &str, cookie: &str) -> Request<Body> {
    let body = serde_json::json!({ "specialToken": token, "clientId": CLIENT_ID, "clientUserId": user, "state": "st4te" });
    forward_body(&body.to_string(), cookie)
}

pub fn forward_body(body: &str, cookie: &str) -> Request<Body> {
    Request::post("/api/zivacare/token")
        .header("content-type", "application/json")
        .header("x-zivacare-connect", "1")
        .header("origin", APP_ORIGIN)
        .header("cookie", cookie)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// A GET with a session's cookie.
pub fn get_as(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap()
}

impl World {
    /// The forward of `token` by `user`, signed in as themselves.
    pub async fn forward(&self, token: &str, user: &str) -> Reply {
        let cookie = session(&self.backend, user).await;
        send(&self.backend, forward(token, user, &cookie)).await
    }
}

/// Requests to `path` that reached a router, counted by a layer around it.
#[derive(Clone, Default)]
pub struct Counter(Arc<std::sync::Mutex<Vec<String>>>);

impl Counter {
    /// `router`, counting the requests it receives, by path.
    pub fn around(&self, router: Router) -> Router {
        let seen = Arc::clone(&self.0);
        router.layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                seen.lock().unwrap().push(req.uri().path().to_owned());
                next.run(req)
            },
        ))
    }

    pub fn count(&self, path: &str) -> usize {
        self.0.lock().unwrap().iter().filter(|p| *p == path).count()
    }
}

pub fn count(dir: &std::path::Path, file: &str, table: &str) -> i64 {
    let db = rusqlite::Connection::open(dir.join(file)).unwrap();
    db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}
