//! The reference backend, "your server": serves the demo app, receives the
//! SDK's forward, exchanges the specialToken with ZivaCare using the
//! clientSecret, and stores the connection in SQLite.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::HeaderValue;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::{params, OptionalExtension};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// The demo app's Content-Security-Policy: the strictest the SDK works under.
pub const APP_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
                           connect-src 'self'; require-trusted-types-for 'script'; base-uri 'none'; \
                           frame-ancestors 'none'; form-action 'self'";

use crate::util::{
    is_plain_text, is_token_text, json_body, now_secs, open_db, rate_limited, sha256_hex, ApiError,
    Keyring, RateLimit, Secret,
};

/// The largest forward body accepted: the SDK's is a few hundred bytes.
pub const MAX_BODY: usize = 4096;

pub struct BackendConfig {
    pub client_id: String,
    pub client_secret: Secret,
    /// Encrypts the stored accessTokens.
    pub keys: Keyring,
    /// ZivaCare's API base URL: the sandbox's, or ZivaCare's own.
    pub zivacare_url: String,
    /// The Connect page the demo app opens.
    pub connect_url: String,
    /// Exact origins allowed to POST the token (CSRF defence).
    pub allowed_origins: Vec<String>,
    pub db_path: PathBuf,
    pub www_dir: PathBuf,
    pub pkg_dir: PathBuf,
    pub upstream_timeout: Duration,
    /// Token requests a client address may make a minute.
    pub rate_limit_per_minute: u32,
}

pub struct Backend {
    config: BackendConfig,
    db: Mutex<rusqlite::Connection>,
    http: reqwest::Client,
    /// One lock per specialToken being exchanged, so concurrent retries of the
    /// same token wait for the first instead of exchanging twice.
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS connections (
  client_user_id TEXT PRIMARY KEY,
  ziva_user_code TEXT NOT NULL,
  access_token_sealed TEXT NOT NULL,
  key_id TEXT NOT NULL,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  connected_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS exchanges (
  token_hash TEXT PRIMARY KEY,
  client_user_id TEXT NOT NULL,
  ziva_user_code TEXT NOT NULL,
  exchanged_at INTEGER NOT NULL
);
";

impl Backend {
    pub fn open(config: BackendConfig) -> Result<Arc<Backend>, String> {
        let db = open_db(&config.db_path, SCHEMA)
            .map_err(|e| format!("cannot open {}: {e}", config.db_path.display()))?;
        let http = reqwest::Client::builder()
            .timeout(config.upstream_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Arc::new(Backend {
            config,
            db: Mutex::new(db),
            http,
            in_flight: Mutex::default(),
        }))
    }

    fn db(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn token_lock(&self, hash: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(hash.to_owned()).or_default().clone()
    }

    fn release(&self, hash: &str) {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(hash).is_some_and(|l| Arc::strong_count(l) == 1) {
            map.remove(hash);
        }
    }
}

pub fn router(backend: Arc<Backend>) -> Router {
    // The demo app is served under the strict policy the SDK is built for.
    let www = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(APP_CSP),
        ))
        .service(ServeDir::new(&backend.config.www_dir));
    let pkg = ServeDir::new(&backend.config.pkg_dir);
    Router::new()
        .route("/api/zivacare/config", get(config))
        .route(
            "/api/zivacare/token",
            post(token).layer(DefaultBodyLimit::max(MAX_BODY)).layer(
                axum::middleware::from_fn_with_state(
                    RateLimit::per_minute(backend.config.rate_limit_per_minute),
                    rate_limited,
                ),
            ),
        )
        .route("/api/zivacare/status", get(status))
        .route("/api/zivacare/data/{kind}", get(data))
        .nest_service("/pkg", pkg)
        .fallback_service(www)
        .with_state(backend)
}

/// What the demo page needs to render the button; nothing secret.
async fn config(State(b): State<Arc<Backend>>) -> Json<Value> {
    Json(json!({
        "clientId": b.config.client_id,
        "connectUrl": b.config.connect_url,
        "serverUrl": "/api/zivacare/token",
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Forward {
    special_token: String,
    client_id: String,
    client_user_id: String,
    state: String,
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

/// CSRF defence and input checks, before anything is exchanged.
fn check_forward(b: &Backend, headers: &HeaderMap, body: &[u8]) -> Result<Forward, ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if !origin.is_some_and(|o| b.config.allowed_origins.iter().any(|a| a == o)) {
        return Err(forbidden("Origin not allowed"));
    }
    if headers.get("x-zivacare-connect").is_none() {
        return Err(forbidden("Missing X-ZivaCare-Connect header"));
    }
    let f: Forward = json_body(headers, body)?;
    if !is_token_text(&f.special_token) {
        return Err(ApiError::bad_request(
            "invalid_request",
            "Invalid specialToken",
        ));
    }
    if f.client_id != b.config.client_id {
        return Err(ApiError::bad_request("invalid_request", "Unknown clientId"));
    }
    if !is_plain_text(&f.client_user_id, 512) {
        return Err(ApiError::bad_request(
            "invalid_request",
            "Invalid clientUserId",
        ));
    }
    if !is_token_text(&f.state) {
        return Err(ApiError::bad_request("invalid_request", "Invalid state"));
    }
    Ok(f)
}

#[derive(Deserialize)]
struct Exchanged {
    ziva_user_code: String,
    name: String,
    email: String,
    access_token: String,
}

fn upstream_failed(why: &str) -> ApiError {
    eprintln!("token exchange failed: {why}");
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "upstream_error",
        "ZivaCare could not complete the connection",
    )
}

/// `POST /oauth/v2/get-access-token` at ZivaCare, as a form like its docs.
async fn exchange(b: &Backend, special_token: &str) -> Result<Exchanged, ApiError> {
    let url = format!(
        "{}/oauth/v2/get-access-token",
        b.config.zivacare_url.trim_end_matches('/')
    );
    let form = [
        ("specialToken", special_token),
        ("clientSecret", b.config.client_secret.expose()),
    ];
    let resp = b.http.post(url).form(&form).send().await.map_err(|e| {
        if e.is_timeout() {
            eprintln!("token exchange failed: ZivaCare timed out");
            ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                "ZivaCare did not answer in time",
            )
        } else {
            upstream_failed("ZivaCare unreachable")
        }
    })?;
    let status = resp.status();
    if !status.is_success() {
        return Err(upstream_failed(&format!("ZivaCare answered {status}")));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|_| upstream_failed("unreadable answer"))?;
    let ex: Exchanged =
        serde_json::from_slice(&body).map_err(|_| upstream_failed("malformed answer"))?;
    if ex.ziva_user_code.is_empty() || ex.access_token.is_empty() {
        return Err(upstream_failed("answer without user code or access token"));
    }
    Ok(ex)
}

async fn token(
    State(b): State<Arc<Backend>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let f = check_forward(&b, &headers, &body)?;
    let hash = sha256_hex(&f.special_token);
    let lock = b.token_lock(&hash);
    let result = async {
        let _guard = lock.lock().await;
        // A retried POST of the same token gets the first outcome back.
        let done: Option<(String, String)> = b
            .db()
            .query_row(
                "SELECT client_user_id, ziva_user_code FROM exchanges WHERE token_hash = ?1",
                [&hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((user, code)) = done {
            if user != f.client_user_id {
                return Err(ApiError::new(StatusCode::CONFLICT, "token_reused", "This specialToken was already used"));
            }
            return Ok(code);
        }
        let ex = exchange(&b, &f.special_token).await?;
        let mut db = b.db();
        let tx = db.transaction()?;
        let now = now_secs();
        let (key_id, sealed) = b.config.keys.seal(&ex.access_token).ok_or_else(ApiError::internal)?;
        tx.execute(
            "INSERT INTO connections (client_user_id, ziva_user_code, access_token_sealed, key_id, name, email, connected_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (client_user_id) DO UPDATE SET \
             ziva_user_code = excluded.ziva_user_code, access_token_sealed = excluded.access_token_sealed, \
             key_id = excluded.key_id, name = excluded.name, email = excluded.email, connected_at = excluded.connected_at",
            params![f.client_user_id, ex.ziva_user_code, sealed, key_id, ex.name, ex.email, now],
        )?;
        tx.execute(
            "INSERT INTO exchanges (token_hash, client_user_id, ziva_user_code, exchanged_at) VALUES (?1, ?2, ?3, ?4)",
            params![hash, f.client_user_id, ex.ziva_user_code, now],
        )?;
        tx.commit()?;
        Ok(ex.ziva_user_code)
    }
    .await;
    drop(lock);
    b.release(&hash);
    let code = result?;
    Ok(Json(json!({ "zivaUserCode": code, "connected": true })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserQuery {
    client_user_id: String,
}

fn user_query(q: Result<Query<UserQuery>, QueryRejection>) -> Result<String, ApiError> {
    q.ok()
        .map(|q| q.0.client_user_id)
        .filter(|u| is_plain_text(u, 512))
        .ok_or_else(|| ApiError::bad_request("invalid_request", "clientUserId is required"))
}

async fn status(
    State(b): State<Arc<Backend>>,
    q: Result<Query<UserQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let user = user_query(q)?;
    let row: Option<(String, String, i64)> = b
        .db()
        .query_row(
            "SELECT ziva_user_code, name, connected_at FROM connections WHERE client_user_id = ?1",
            [&user],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(Json(match row {
        Some((code, name, at)) => {
            json!({ "connected": true, "zivaUserCode": code, "name": name, "connectedAt": crate::util::iso8601(at) })
        }
        None => json!({ "connected": false }),
    }))
}

const DATA_TYPES: &[&str] = &["weights", "heart_rates", "steps", "lab_results"];

/// Proxies ZivaCare's data API with the stored accessToken, which never leaves the server.
async fn data(
    State(b): State<Arc<Backend>>,
    Path(kind): Path<String>,
    q: Result<Query<UserQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let user = user_query(q)?;
    if !DATA_TYPES.contains(&kind.as_str()) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_type",
            "Unknown data type",
        ));
    }
    let row: Option<(String, String)> = b
        .db()
        .query_row(
            "SELECT key_id, access_token_sealed FROM connections WHERE client_user_id = ?1",
            [&user],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (key_id, sealed) = row.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_connected",
            "This user is not connected",
        )
    })?;
    let token = b.config.keys.open(&key_id, &sealed).ok_or_else(|| {
        eprintln!("stored access token for a user cannot be decrypted (key {key_id} missing or data altered)");
        ApiError::internal()
    })?;
    let url = format!(
        "{}/api/v2/human/{kind}",
        b.config.zivacare_url.trim_end_matches('/')
    );
    let resp = b
        .http
        .get(url)
        .query(&[("access_token", token.as_str()), ("limit", "7")])
        .send()
        .await
        .map_err(|_| upstream_failed("data request failed"))?;
    if !resp.status().is_success() {
        return Err(upstream_failed(&format!(
            "data request answered {}",
            resp.status()
        )));
    }
    let body: Value = resp
        .json()
        .await
        .map_err(|_| upstream_failed("malformed data"))?;
    Ok(Json(body))
}
