//! The reference backend, "your server": serves the demo app, receives the
//! SDK's forward, exchanges the specialToken with ZivaCare using the
//! clientSecret, and stores the connection in SQLite or PostgreSQL (`store`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::HeaderValue;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// The demo app's Content-Security-Policy: the strictest the SDK works under.
pub const APP_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
                           connect-src 'self'; require-trusted-types-for 'script'; base-uri 'none'; \
                           frame-ancestors 'none'; form-action 'self'";

use crate::store::{Database, Store, Val};
use crate::util::{
    is_plain_text, is_token_text, json_body, now_secs, rate_limited, sha256_hex, ApiError, Keyring,
    RateLimit, Secret,
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
    pub database: Database,
    pub www_dir: PathBuf,
    pub pkg_dir: PathBuf,
    pub upstream_timeout: Duration,
    /// Token requests a client address may make a minute.
    pub rate_limit_per_minute: u32,
}

pub struct Backend {
    config: BackendConfig,
    db: Store,
    http: reqwest::Client,
}

/// The same schema on SQLite and PostgreSQL. `exchanges` is a two-phase record
/// of every specialToken: a row is claimed (no `ziva_user_code`) before ZivaCare
/// is called and completed in the transaction that stores the connection. Its
/// primary key lets exactly one request, on any instance, claim a token.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS connections (
  client_user_id TEXT PRIMARY KEY,
  ziva_user_code TEXT NOT NULL,
  access_token_sealed TEXT NOT NULL,
  key_id TEXT NOT NULL,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  connected_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS exchanges (
  token_hash TEXT PRIMARY KEY,
  client_user_id TEXT NOT NULL,
  claimed_at BIGINT NOT NULL,
  ziva_user_code TEXT,
  exchanged_at BIGINT
);
";

/// How often a request waits on another's claim of the same token.
const CLAIM_POLL: Duration = Duration::from_millis(25);

impl Backend {
    pub async fn open(config: BackendConfig) -> Result<Arc<Backend>, String> {
        let db = Store::open(&config.database, SCHEMA).await?;
        // A database made before `exchanges` became a two-phase record: its rows
        // only matter while their specialTokens live (minutes), so start afresh.
        if db
            .row("SELECT claimed_at FROM exchanges LIMIT 1", &[])
            .await
            .is_err()
        {
            db.batch(&format!("DROP TABLE exchanges; {SCHEMA}"))
                .await
                .map_err(|e| format!("cannot upgrade the exchanges table: {e}"))?;
        }
        let http = reqwest::Client::builder()
            .timeout(config.upstream_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Arc::new(Backend { config, db, http }))
    }

    /// A claim older than this was left by an instance that died mid-exchange
    /// (a live one finishes or gives up within its upstream timeout).
    fn stale_after_secs(&self) -> i64 {
        self.config.upstream_timeout.as_secs() as i64 + 5
    }

    /// Claims `hash` for this request, or returns the outcome of the request
    /// that exchanged it first (waiting while that one is still at ZivaCare).
    async fn claim(&self, hash: &str, user: &str) -> Result<Claim, ApiError> {
        let conflict = || {
            ApiError::new(
                StatusCode::CONFLICT,
                "token_reused",
                "This specialToken was already used",
            )
        };
        loop {
            let now = now_secs();
            let inserted = self
                .db
                .execute(
                    "INSERT INTO exchanges (token_hash, client_user_id, claimed_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (token_hash) DO NOTHING",
                    &[hash.into(), user.into(), now.into()],
                )
                .await?;
            if inserted == 1 {
                return Ok(Claim::Mine);
            }
            let row = self
                .db
                .row(
                    "SELECT client_user_id, ziva_user_code, claimed_at FROM exchanges WHERE token_hash = $1",
                    &[hash.into()],
                )
                .await?;
            // Gone: the other request failed and released it; claim again.
            let Some(mut row) = row else { continue };
            if row[0].text() != Some(user) {
                return Err(conflict());
            }
            if let Some(code) = std::mem::replace(&mut row[1], Val::Null).into_text() {
                return Ok(Claim::Done(code));
            }
            let claimed_at = row[2].int().unwrap_or(0);
            if now - claimed_at > self.stale_after_secs() {
                // Take the abandoned claim over, unless another request just did.
                let taken = self
                    .db
                    .execute(
                        "UPDATE exchanges SET claimed_at = $1 WHERE token_hash = $2 \
                         AND ziva_user_code IS NULL AND claimed_at = $3",
                        &[now.into(), hash.into(), claimed_at.into()],
                    )
                    .await?;
                if taken == 1 {
                    return Ok(Claim::Mine);
                }
            }
            tokio::time::sleep(CLAIM_POLL).await;
        }
    }
}

enum Claim {
    /// This request exchanges the token.
    Mine,
    /// Another request already did, for the same user: its zivaUserCode.
    Done(String),
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

/// The SDK's forward, as accepted.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Forward {
    pub special_token: String,
    pub client_id: String,
    pub client_user_id: String,
    pub state: String,
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

/// CSRF defence and input checks, before anything is exchanged: the request
/// comes from an allowed `Origin` with the SDK's header, as JSON of exactly the
/// SDK's shape, for this app, with well-formed values.
pub fn check_forward(
    config: &BackendConfig,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Forward, ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if !origin.is_some_and(|o| config.allowed_origins.iter().any(|a| a == o)) {
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
    if f.client_id != config.client_id {
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
    let f = check_forward(&b.config, &headers, &body)?;
    let hash = sha256_hex(&f.special_token);
    // A retried POST of the same token, here or on another instance, gets the
    // first outcome back instead of a second exchange.
    let code = match b.claim(&hash, &f.client_user_id).await? {
        Claim::Done(code) => code,
        Claim::Mine => match store_exchange(&b, &f, &hash).await {
            Ok(code) => code,
            Err(e) => {
                // Release the claim so that a retry may try again.
                let released =
                    b.db.execute(
                        "DELETE FROM exchanges WHERE token_hash = $1 AND ziva_user_code IS NULL",
                        &[hash.as_str().into()],
                    )
                    .await;
                if let Err(d) = released {
                    eprintln!("database error: {d}");
                }
                return Err(e);
            }
        },
    };
    Ok(Json(json!({ "zivaUserCode": code, "connected": true })))
}

/// Exchanges a claimed token and stores the connection, completing the claim
/// in the same transaction.
async fn store_exchange(b: &Backend, f: &Forward, hash: &str) -> Result<String, ApiError> {
    let ex = exchange(b, &f.special_token).await?;
    let now = now_secs();
    let (key_id, sealed) = b
        .config
        .keys
        .seal(&ex.access_token)
        .ok_or_else(ApiError::internal)?;
    let user = Val::from(&f.client_user_id);
    let code = Val::from(&ex.ziva_user_code);
    b.db.transaction(&[
        (
            "INSERT INTO connections (client_user_id, ziva_user_code, access_token_sealed, key_id, name, email, connected_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (client_user_id) DO UPDATE SET \
             ziva_user_code = excluded.ziva_user_code, access_token_sealed = excluded.access_token_sealed, \
             key_id = excluded.key_id, name = excluded.name, email = excluded.email, connected_at = excluded.connected_at",
            vec![user, code.clone(), sealed.as_str().into(), key_id.as_str().into(), (&ex.name).into(), (&ex.email).into(), now.into()],
        ),
        (
            "UPDATE exchanges SET ziva_user_code = $1, exchanged_at = $2 WHERE token_hash = $3",
            vec![code, now.into(), hash.into()],
        ),
    ])
    .await?;
    Ok(ex.ziva_user_code)
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
    let row =
        b.db.row(
            "SELECT ziva_user_code, name, connected_at FROM connections WHERE client_user_id = $1",
            &[user.as_str().into()],
        )
        .await?;
    Ok(Json(match row {
        Some(r) => json!({
            "connected": true,
            "zivaUserCode": r[0].text(),
            "name": r[1].text(),
            "connectedAt": crate::util::iso8601(r[2].int().unwrap_or(0)),
        }),
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
    let row =
        b.db.row(
            "SELECT key_id, access_token_sealed FROM connections WHERE client_user_id = $1",
            &[user.as_str().into()],
        )
        .await?;
    let (key_id, sealed) = row
        .map(|r| {
            (
                r[0].text().unwrap_or("").to_owned(),
                r[1].text().unwrap_or("").to_owned(),
            )
        })
        .ok_or_else(|| {
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
