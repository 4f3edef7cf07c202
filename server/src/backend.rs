//! The reference backend, "your server": serves the demo app, signs its user
//! in, receives the SDK's forward, exchanges the specialToken with ZivaCare
//! using the clientSecret, and stores the connection in SQLite or PostgreSQL
//! (`store`). Who the user is always comes from the session ([`AuthUser`]),
//! never from what a request says.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::cookie::SignedCookieJar;
use backon::{ExponentialBuilder, Retryable};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::auth::{valid_user, AuthUser, Sessions};
use crate::crypto::{random_token, sha256_hex, Keyring, Secret};
use crate::error::ApiError;
use crate::http::{api_headers, rate_limited, same_origin, traced, ApiJson, ClientIp};
use crate::store::{Database, Migration, Step, Store, StoreError, Val};
use crate::text::{is_plain_text, is_token_text, iso8601};

/// The demo app's Content-Security-Policy: the strictest the SDK works under.
pub const APP_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
                           connect-src 'self'; require-trusted-types-for 'script'; base-uri 'none'; \
                           frame-ancestors 'none'; form-action 'self'";

/// The largest forward body accepted: the SDK's is a few hundred bytes.
pub const MAX_BODY: usize = 4096;

pub struct BackendConfig {
    pub client_id: String,
    pub client_secret: Secret,
    /// Encrypts the stored accessTokens.
    pub keys: Keyring,
    /// Signs the session cookies.
    pub sessions: Sessions,
    /// ZivaCare's API base URL: the sandbox's, or ZivaCare's own.
    pub zivacare_url: String,
    /// The Connect page the demo app opens.
    pub connect_url: String,
    /// Exact origins allowed to POST (CSRF defence).
    pub allowed_origins: Vec<String>,
    pub database: Database,
    pub www_dir: PathBuf,
    pub pkg_dir: PathBuf,
    pub upstream_timeout: Duration,
    /// Requests a client address may make a minute to the API.
    pub rate_limit_per_minute: u32,
    /// Where a client's address comes from, for the rate limits.
    pub client_ip: ClientIp,
}

/// How long an exchanged token's connection is retried into the database when
/// it refuses the write.
const WRITE_BUDGET: Duration = Duration::from_secs(5);

impl BackendConfig {
    /// A claim older than this was left by an instance that died mid-exchange:
    /// a live one has finished, or given up, well before (its call to ZivaCare
    /// and its retried write are both bounded).
    fn stale_after(&self) -> Duration {
        self.upstream_timeout + WRITE_BUDGET + Duration::from_secs(5)
    }
}

pub struct Backend {
    config: BackendConfig,
    db: Store,
    http: reqwest::Client,
    /// Whether ZivaCare's refusal of our application was logged already.
    misconfiguration_logged: AtomicBool,
}

impl FromRef<Arc<Backend>> for Sessions {
    fn from_ref(b: &Arc<Backend>) -> Sessions {
        b.config.sessions.clone()
    }
}

/// The backend's schema, version by version. `exchanges` is a two-phase record
/// of every specialToken: a row is claimed (a random `claim_id`, no
/// `ziva_user_code`) before ZivaCare is called, and completed, or marked
/// `refused`, by the claim's holder only. Its primary key lets exactly one
/// request, on any instance, hold a token.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "connections and exchanges",
        sql: "CREATE TABLE IF NOT EXISTS connections (
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
)",
    },
    Migration {
        version: 2,
        name: "claims fenced by their id; tokens ZivaCare refused",
        sql: "ALTER TABLE exchanges ADD COLUMN claim_id TEXT;
ALTER TABLE exchanges ADD COLUMN refused TEXT",
    },
    Migration {
        version: 3,
        name: "access tokens sealed for their row",
        sql: "ALTER TABLE connections ADD COLUMN bound INTEGER NOT NULL DEFAULT 0",
    },
];

/// How often a request waits on another's claim of the same token.
const CLAIM_POLL: Duration = Duration::from_millis(25);

/// What a request got when it asked for a token.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// This request exchanges the token: its claim id.
    Mine(String),
    /// Another request already did, for the same user: its zivaUserCode.
    Done(String),
    /// ZivaCare refused the token before.
    Refused,
}

/// A connection as ZivaCare's token exchange gives it.
#[derive(Deserialize)]
pub struct Exchanged {
    pub ziva_user_code: String,
    pub name: String,
    pub email: String,
    pub access_token: String,
}

impl Backend {
    pub async fn open(config: BackendConfig) -> Result<Arc<Backend>, String> {
        let db = Store::open(&config.database).await?;
        let applied = db
            .migrate(MIGRATIONS)
            .await
            .map_err(|e| format!("cannot migrate the database: {e}"))?;
        if !applied.is_empty() {
            tracing::info!(?applied, "database migrated");
        }
        let http = reqwest::Client::builder()
            .timeout(config.upstream_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let backend = Backend {
            config,
            db,
            http,
            misconfiguration_logged: AtomicBool::new(false),
        };
        backend
            .bind_sealed_tokens()
            .await
            .map_err(|e| format!("cannot seal stored tokens for their rows: {e}"))?;
        Ok(Arc::new(backend))
    }

    /// The database, for tools and tests.
    pub fn store(&self) -> &Store {
        &self.db
    }

    /// Seals again, for their row, the access tokens stored before sealed
    /// values were bound to their row (migration 3).
    async fn bind_sealed_tokens(&self) -> Result<(), StoreError> {
        let rows = self
            .db
            .rows(
                "SELECT client_user_id, key_id, access_token_sealed FROM connections WHERE bound = 0",
                &[],
            )
            .await?;
        for row in rows {
            let [Val::Text(user), Val::Text(key_id), Val::Text(sealed)] = &row[..] else {
                continue;
            };
            let keys = &self.config.keys;
            let Some((key_id, sealed)) = keys
                .open(key_id, sealed, "")
                .and_then(|token| keys.seal(&token, user))
            else {
                tracing::warn!(key_id = %key_id, "a stored access token cannot be opened: its key is missing");
                continue;
            };
            self.db
                .execute(
                    "UPDATE connections SET access_token_sealed = $1, key_id = $2, bound = 1 \
                     WHERE client_user_id = $3 AND bound = 0",
                    &[sealed.as_str().into(), key_id.as_str().into(), user.into()],
                )
                .await?;
        }
        Ok(())
    }

    /// Claims `hash` for this request, or returns the outcome of the request
    /// that had it first (waiting while that one is still at ZivaCare). A
    /// claim older than [`BackendConfig::stale_after`], by the database's
    /// clock, is taken over.
    pub async fn claim(&self, hash: &str, user: &str) -> Result<Claim, ApiError> {
        let stale = self.config.stale_after().as_secs() as i64;
        loop {
            let mine = random_token(16);
            let inserted = self
                .db
                .execute(
                    "INSERT INTO exchanges (token_hash, client_user_id, claimed_at, claim_id) \
                     VALUES ($1, $2, {now}, $3) ON CONFLICT (token_hash) DO NOTHING",
                    &[hash.into(), user.into(), mine.as_str().into()],
                )
                .await?;
            if inserted == 1 {
                return Ok(Claim::Mine(mine));
            }
            let row = self
                .db
                .row(
                    "SELECT client_user_id, ziva_user_code, refused, claim_id, {now} - claimed_at \
                     FROM exchanges WHERE token_hash = $1",
                    &[hash.into()],
                )
                .await?;
            // Gone: its holder released it; claim again.
            let Some(row) = row else { continue };
            if row[0].text() != Some(user) {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "token_reused",
                    "This specialToken was already used",
                ));
            }
            if let Some(code) = row[1].text() {
                return Ok(Claim::Done(code.to_owned()));
            }
            if row[2].text().is_some() {
                return Ok(Claim::Refused);
            }
            if row[4].int().unwrap_or(0) > stale {
                // Take the abandoned claim over, unless another request just did.
                let taken = self
                    .db
                    .execute(
                        "UPDATE exchanges SET claim_id = $1, claimed_at = {now} WHERE token_hash = $2 \
                         AND ziva_user_code IS NULL AND refused IS NULL AND claim_id IS NOT DISTINCT FROM $3",
                        &[mine.as_str().into(), hash.into(), row[3].clone()],
                    )
                    .await?;
                if taken == 1 {
                    tracing::warn!("a stale claim on a token was taken over");
                    return Ok(Claim::Mine(mine));
                }
            }
            tokio::time::sleep(CLAIM_POLL).await;
        }
    }

    /// Stores the connection `ex` for `user` and completes claim `claim_id` of
    /// `hash`, in one transaction; refused (nothing changed) if the claim is no
    /// longer this one.
    pub async fn complete(
        &self,
        hash: &str,
        claim_id: &str,
        user: &str,
        ex: &Exchanged,
    ) -> Result<(), StoreError> {
        let (key_id, sealed) = self
            .config
            .keys
            .seal(&ex.access_token, user)
            .ok_or_else(|| StoreError::Db("cannot seal the access token".into()))?;
        let code = Val::from(&ex.ziva_user_code);
        self.db
            .transaction(vec![
                Step::new(
                    "INSERT INTO connections (client_user_id, ziva_user_code, access_token_sealed, key_id, name, email, connected_at, bound) \
                     VALUES ($1, $2, $3, $4, $5, $6, {now}, 1) ON CONFLICT (client_user_id) DO UPDATE SET \
                     ziva_user_code = excluded.ziva_user_code, access_token_sealed = excluded.access_token_sealed, \
                     key_id = excluded.key_id, name = excluded.name, email = excluded.email, \
                     connected_at = excluded.connected_at, bound = 1",
                    vec![user.into(), code.clone(), sealed.as_str().into(), key_id.as_str().into(), (&ex.name).into(), (&ex.email).into()],
                ),
                Step::new(
                    "UPDATE exchanges SET ziva_user_code = $1, exchanged_at = {now} \
                     WHERE token_hash = $2 AND claim_id = $3 AND ziva_user_code IS NULL AND refused IS NULL",
                    vec![code, hash.into(), claim_id.into()],
                )
                .exactly_one(),
            ])
            .await
    }

    /// Gives claim `claim_id` of `hash` up (ZivaCare did not exchange the
    /// token), so that a retry may try again; refused if the claim is no
    /// longer this one.
    pub async fn release(&self, hash: &str, claim_id: &str) -> Result<(), StoreError> {
        self.db
            .transaction(vec![Step::new(
                "DELETE FROM exchanges WHERE token_hash = $1 AND claim_id = $2 \
                 AND ziva_user_code IS NULL AND refused IS NULL",
                vec![hash.into(), claim_id.into()],
            )
            .exactly_one()])
            .await
    }

    /// Records that ZivaCare refused the token of claim `claim_id` (`why`, its
    /// code): a repeated POST is refused the same, without asking ZivaCare again.
    pub async fn refuse(&self, hash: &str, claim_id: &str, why: &str) -> Result<(), StoreError> {
        self.db
            .transaction(vec![Step::new(
                "UPDATE exchanges SET refused = $1 WHERE token_hash = $2 AND claim_id = $3 \
                 AND ziva_user_code IS NULL AND refused IS NULL",
                vec![why.into(), hash.into(), claim_id.into()],
            )
            .exactly_one()])
            .await
    }

    /// ZivaCare refused our application or secret: an operator must act. Said
    /// once per process, naming what to check, and reported as such.
    fn misconfigured(&self, what: &str) -> ApiError {
        if !self.misconfiguration_logged.swap(true, Ordering::Relaxed) {
            tracing::error!(
                "configuration error: ZivaCare refused this backend's application ({what}): \
                 check ZIVACARE_CLIENT_ID and ZIVACARE_CLIENT_SECRET"
            );
        }
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "upstream_misconfigured",
            "ZivaCare could not complete the connection",
        )
    }

    /// An answer of ZivaCare that is not a success, as our error.
    async fn refusal(&self, what: &str, resp: reqwest::Response) -> Upstream {
        let status = resp.status();
        let code = resp
            .json::<Value>()
            .await
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        match (status.as_u16(), code.as_str()) {
            // Our application or secret: 0011 (unknown application), 0007 (no secret).
            (400..=499, "0011" | "0007") => Upstream::Failed(self.misconfigured(&code)),
            (400..=499, _) => Upstream::Refused(if code.is_empty() {
                status.as_str().to_owned()
            } else {
                code
            }),
            _ => Upstream::Failed(upstream_failed(
                what,
                &format!("ZivaCare answered {status}"),
            )),
        }
    }

    /// `POST /oauth/v2/get-access-token` at ZivaCare, as a form like its docs.
    async fn exchange(&self, special_token: &str) -> Result<Exchanged, Upstream> {
        let url = format!(
            "{}/oauth/v2/get-access-token",
            self.config.zivacare_url.trim_end_matches('/')
        );
        let form = [
            ("specialToken", special_token),
            ("clientSecret", self.config.client_secret.expose()),
        ];
        let what = "token exchange";
        let resp = self
            .http
            .post(url)
            .form(&form)
            .send()
            .await
            .map_err(|e| Upstream::Failed(unreachable(what, &e)))?;
        if !resp.status().is_success() {
            return Err(self.refusal(what, resp).await);
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| Upstream::Failed(unreachable(what, &e)))?;
        let ex: Exchanged = serde_json::from_slice(&body)
            .map_err(|_| Upstream::Failed(upstream_failed(what, "malformed answer")))?;
        if ex.ziva_user_code.is_empty() || ex.access_token.is_empty() {
            return Err(Upstream::Failed(upstream_failed(
                what,
                "answer without user code or access token",
            )));
        }
        Ok(ex)
    }

    /// Stores an exchanged connection, retrying while the database refuses
    /// (for a bounded time): ZivaCare has spent the token, so its access token
    /// must not be lost to a passing failure. A lost claim is not retried.
    async fn store_exchanged(
        &self,
        hash: &str,
        claim_id: &str,
        user: &str,
        ex: &Exchanged,
    ) -> Result<(), StoreError> {
        let policy = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(50))
            .with_max_delay(Duration::from_secs(1))
            .with_max_times(usize::MAX)
            .with_total_delay(Some(WRITE_BUDGET));
        (|| self.complete(hash, claim_id, user, ex))
            .retry(policy)
            .when(|e| !matches!(e, StoreError::Fenced(_)))
            .notify(|e, wait| tracing::warn!(error = %e, ?wait, "storing an exchanged connection failed; retrying"))
            .await
    }
}

/// How a call to ZivaCare did not succeed.
enum Upstream {
    /// ZivaCare refused the token (invalid, expired, used): its code.
    Refused(String),
    /// An outage or a configuration error, ready to answer.
    Failed(ApiError),
}

fn upstream_failed(what: &str, why: &str) -> ApiError {
    tracing::error!(what, why, "call to ZivaCare failed");
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "upstream_error",
        "ZivaCare could not complete the connection",
    )
}

fn unreachable(what: &str, e: &reqwest::Error) -> ApiError {
    if e.is_timeout() {
        tracing::error!(what, "ZivaCare did not answer in time");
        ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "upstream_timeout",
            "ZivaCare did not answer in time",
        )
    } else {
        upstream_failed(what, "ZivaCare unreachable")
    }
}

fn token_rejected() -> ApiError {
    ApiError::bad_request(
        "token_rejected",
        "ZivaCare did not accept this connection: connect again",
    )
}

pub fn router(backend: Arc<Backend>) -> Router {
    let c = &backend.config;
    let limit = |route| rate_limited(route, c.rate_limit_per_minute, &c.client_ip);
    let origins = Arc::new(c.allowed_origins.clone());
    let csrf = || axum::middleware::from_fn_with_state(Arc::clone(&origins), same_origin);
    let api = Router::new()
        .route("/api/zivacare/config", get(config))
        .route(
            "/api/zivacare/session",
            get(whoami)
                .merge(limit(post(sign_in).delete(sign_out)).route_layer(csrf()))
                .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY)),
        )
        .route(
            "/api/zivacare/token",
            limit(post(token))
                .route_layer(csrf())
                .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY)),
        )
        .route("/api/zivacare/status", limit(get(status)))
        .route("/api/zivacare/data/{kind}", limit(get(data)))
        .layer(axum::middleware::from_fn(api_headers));
    // The demo app is served under the strict policy the SDK is built for. The
    // page, its files and the SDK's are revalidated on each use (they keep
    // their names from one build to the next), and compressed.
    let revalidate = || {
        SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        )
    };
    let www = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(APP_CSP),
        ))
        .layer(revalidate())
        .service(ServeDir::new(&c.www_dir));
    let pkg = tower::ServiceBuilder::new()
        .layer(revalidate())
        .service(ServeDir::new(&c.pkg_dir));
    let router = api
        .nest_service("/pkg", pkg)
        .fallback_service(www)
        .layer(CompressionLayer::new().gzip(true).br(true))
        .with_state(backend);
    traced(router)
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
#[serde(deny_unknown_fields)]
struct SignIn {
    user: String,
}

/// The demo's sign-in: a name or an e-mail, no password.
async fn sign_in(
    State(b): State<Arc<Backend>>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SignIn>,
) -> Result<(SignedCookieJar, Json<Value>), ApiError> {
    let user = req.user.trim();
    if !valid_user(user) {
        return Err(ApiError::bad_request(
            "invalid_request",
            "Enter a name or an e-mail",
        ));
    }
    let sessions = &b.config.sessions;
    let jar = sessions.sign_in(sessions.jar(&headers), user);
    Ok((jar, Json(json!({ "user": user }))))
}

async fn sign_out(
    State(b): State<Arc<Backend>>,
    headers: HeaderMap,
) -> (SignedCookieJar, StatusCode) {
    let sessions = &b.config.sessions;
    (
        sessions.sign_out(sessions.jar(&headers)),
        StatusCode::NO_CONTENT,
    )
}

/// Who is signed in: `{"user": …}`, `null` without a session (a page asks
/// before it knows, so this is not an error).
async fn whoami(State(b): State<Arc<Backend>>, headers: HeaderMap) -> Json<Value> {
    Json(json!({ "user": b.config.sessions.user(&headers) }))
}

/// The SDK's forward, as accepted: exactly these keys.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Forward {
    pub special_token: String,
    pub client_id: String,
    pub client_user_id: String,
    pub state: String,
}

/// Input checks of a forward, before anything is exchanged: for this app, with
/// well-formed values.
pub fn check_forward(client_id: &str, f: &Forward) -> Result<(), ApiError> {
    let problem = if !is_token_text(&f.special_token) {
        "Invalid specialToken"
    } else if f.client_id != client_id {
        "Unknown clientId"
    } else if !is_plain_text(&f.client_user_id, 512) {
        "Invalid clientUserId"
    } else if !is_token_text(&f.state) {
        "Invalid state"
    } else {
        return Ok(());
    };
    Err(ApiError::bad_request("invalid_request", problem))
}

fn connected(code: &str) -> Json<Value> {
    Json(json!({ "zivaUserCode": code, "connected": true }))
}

/// The SDK's forward: exchanges the specialToken for the signed-in user, once
/// however often it is posted, and stores the connection.
async fn token(
    State(b): State<Arc<Backend>>,
    AuthUser(user): AuthUser,
    ApiJson(f): ApiJson<Forward>,
) -> Result<Json<Value>, ApiError> {
    check_forward(&b.config.client_id, &f)?;
    if f.client_user_id != user {
        return Err(ApiError::forbidden(
            "This connection is for another user than the one signed in",
        ));
    }
    let hash = sha256_hex(&f.special_token);
    let claim_id = match b.claim(&hash, &user).await? {
        Claim::Done(code) => return Ok(connected(&code)),
        Claim::Refused => return Err(token_rejected()),
        Claim::Mine(id) => id,
    };
    let ex = match b.exchange(&f.special_token).await {
        Ok(ex) => ex,
        Err(Upstream::Refused(why)) => {
            tracing::info!(why, "ZivaCare refused a specialToken");
            if let Err(e) = b.refuse(&hash, &claim_id, &why).await {
                tracing::error!(error = %e, "recording a refused token failed");
            }
            return Err(token_rejected());
        }
        Err(Upstream::Failed(e)) => {
            // ZivaCare did not exchange it: give the claim up for a retry.
            if let Err(d) = b.release(&hash, &claim_id).await {
                tracing::error!(error = %d, "releasing a claim failed");
            }
            return Err(e);
        }
    };
    match b.store_exchanged(&hash, &claim_id, &user, &ex).await {
        Ok(()) => Ok(connected(&ex.ziva_user_code)),
        Err(e) => {
            // The claim stays: ZivaCare spent the token, so no retry may
            // exchange it again.
            tracing::error!(error = %e, "an exchanged connection could not be stored");
            Err(ApiError::internal())
        }
    }
}

async fn status(
    State(b): State<Arc<Backend>>,
    AuthUser(user): AuthUser,
) -> Result<Json<Value>, ApiError> {
    let row =
        b.db.row(
            "SELECT ziva_user_code, name, connected_at FROM connections WHERE client_user_id = $1",
            &[user.as_str().into()],
        )
        .await?;
    Ok(Json(match row {
        Some(r) => json!({
            "user": user,
            "connected": true,
            "zivaUserCode": r[0].text(),
            "name": r[1].text(),
            "connectedAt": iso8601(r[2].int().unwrap_or(0)),
        }),
        None => json!({ "user": user, "connected": false }),
    }))
}

/// The data types the demo shows, with the key ZivaCare lists them under.
pub const DATA_TYPES: &[(&str, &str)] = &[
    ("weights", "weights"),
    ("heart_rates", "heartRates"),
    ("steps", "steps"),
    ("lab_results", "labResults"),
];

/// The signed-in user's latest readings of `kind`, from ZivaCare's data API
/// with the stored accessToken, which never leaves the server.
async fn data(
    State(b): State<Arc<Backend>>,
    AuthUser(user): AuthUser,
    Path(kind): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !DATA_TYPES.iter().any(|(t, _)| *t == kind) {
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
    let token = b.config.keys.open(&key_id, &sealed, &user).ok_or_else(|| {
        tracing::error!(key_id = %key_id, "a stored access token cannot be opened (key missing or data altered)");
        ApiError::internal()
    })?;
    let url = format!(
        "{}/api/v2/human/{kind}",
        b.config.zivacare_url.trim_end_matches('/')
    );
    let what = "data request";
    let resp = b
        .http
        .get(url)
        .query(&[("access_token", token.as_str()), ("limit", "7")])
        .send()
        .await
        .map_err(|e| unreachable(what, &e))?;
    if !resp.status().is_success() {
        return Err(match b.refusal(what, resp).await {
            Upstream::Refused(why) => {
                tracing::info!(why, "ZivaCare refused a stored access token");
                ApiError::new(
                    StatusCode::CONFLICT,
                    "token_rejected",
                    "ZivaCare no longer accepts this connection: connect again",
                )
            }
            Upstream::Failed(e) => e,
        });
    }
    let body: Value = resp
        .json()
        .await
        .map_err(|_| upstream_failed(what, "malformed data"))?;
    Ok(Json(body))
}
