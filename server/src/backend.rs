//! The reference backend, "your server": serves the demo app, signs its user
//! in, and keeps its users' connections in SQLite or PostgreSQL (`store`).
//! Everything that is ZivaCare's comes from the `zivacare` crate: the SDK's
//! forward is its ready route (with this backend's session as the user and
//! its store as the record of exchanges, `exchanges`), and the readings come
//! from its data API client. Who the user is always comes from the session
//! ([`AuthUser`]), never from what a request says.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::cookie::SignedCookieJar;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use zivacare::axum::{
    personal, rate_limited, request_log, require_origin, AppJson, ClientIp, Refusal, TokenRoute,
};
use zivacare::{Client, ClientSecret, DataType, Query, Timestamp};

use crate::auth::{valid_user, AuthUser, Sessions};
use crate::crypto::Keyring;
use crate::exchanges::Exchanges;
use crate::store::{Database, Migration, Store, StoreError, Val};

/// The demo app's Content-Security-Policy: the strictest the SDK works under.
pub const APP_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
                           connect-src 'self'; require-trusted-types-for 'script'; base-uri 'none'; \
                           frame-ancestors 'none'; form-action 'self'";

/// The largest body of the demo's sign-in: a few hundred bytes.
pub const MAX_BODY: usize = 4096;

pub struct BackendConfig {
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// Encrypts the stored accessTokens.
    pub keys: Keyring,
    /// Signs the session cookies.
    pub sessions: Sessions,
    /// One base URL for ZivaCare's calls (the sandbox's); `None`: ZivaCare's
    /// production hosts.
    pub zivacare_url: Option<String>,
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

pub struct Backend {
    config: BackendConfig,
    db: Arc<Store>,
    zivacare: Client,
    exchanges: Arc<Exchanges>,
}

impl FromRef<Arc<Backend>> for Sessions {
    fn from_ref(b: &Arc<Backend>) -> Sessions {
        b.config.sessions.clone()
    }
}

/// The backend's schema, version by version. `exchanges` is the record of
/// every specialToken the token route claimed (see `exchanges`): a row is
/// claimed (a random `claim_id`, no `ziva_user_code`) before ZivaCare is
/// called, and completed, or marked `refused`, by the claim's holder only. Its
/// primary key lets exactly one request, on any instance, hold a token.
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

/// A database failure: logged, and a generic 500 for the client.
fn db_failed(e: StoreError) -> Refusal {
    tracing::error!(error = %e, "database error");
    Refusal::internal()
}

impl Backend {
    pub async fn open(config: BackendConfig) -> Result<Arc<Backend>, String> {
        let mut client = Client::builder(config.client_id.clone(), config.client_secret.clone())
            .timeout(config.upstream_timeout);
        if let Some(url) = &config.zivacare_url {
            client = client.local(url);
        }
        let zivacare = client
            .build()
            .map_err(|e| format!("ZIVACARE_API_URL: {e}"))?;
        let db = Arc::new(Store::open(&config.database).await?);
        let applied = db
            .migrate(MIGRATIONS)
            .await
            .map_err(|e| format!("cannot migrate the database: {e}"))?;
        if !applied.is_empty() {
            tracing::info!(?applied, "database migrated");
        }
        let exchanges = Arc::new(Exchanges::new(Arc::clone(&db), config.keys.clone()));
        let backend = Backend {
            config,
            db,
            zivacare,
            exchanges,
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

    /// The record of exchanges the token route runs on, for tests.
    pub fn exchanges(&self) -> &Exchanges {
        &self.exchanges
    }

    /// How old a claim must be to be taken over (see `zivacare::stale_after`).
    pub fn stale_after(&self) -> Duration {
        zivacare::stale_after(&self.zivacare)
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
}

/// Answers of the JSON API are personal and never cached, and never sniffed.
async fn api_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    personal(resp.headers_mut());
    resp
}

pub fn router(backend: Arc<Backend>) -> Router {
    let c = &backend.config;
    let limit = |route| rate_limited(route, c.rate_limit_per_minute, &c.client_ip);
    let origins = Arc::new(c.allowed_origins.clone());
    let csrf = || axum::middleware::from_fn_with_state(Arc::clone(&origins), require_origin);
    // The SDK's forward: the crate's route, with this backend's session as
    // the user and its store as the record of exchanges.
    let tokens = TokenRoute::new(backend.zivacare.clone(), Arc::clone(&backend.exchanges))
        .allowed_origins(c.allowed_origins.clone())
        .rate_limit(c.rate_limit_per_minute, c.client_ip.clone());
    let api = Router::new()
        .route("/api/zivacare/config", get(config))
        .route(
            "/api/zivacare/session",
            get(whoami)
                .merge(limit(post(sign_in).delete(sign_out)).route_layer(csrf()))
                .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY)),
        )
        .route("/api/zivacare/token", tokens.post::<AuthUser, _>())
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
    request_log(router)
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
    AppJson(req): AppJson<SignIn>,
) -> Result<(SignedCookieJar, Json<Value>), Refusal> {
    let user = req.user.trim();
    if !valid_user(user) {
        return Err(Refusal::bad_request(
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

async fn status(
    State(b): State<Arc<Backend>>,
    AuthUser(user): AuthUser,
) -> Result<Json<Value>, Refusal> {
    let row =
        b.db.row(
            "SELECT ziva_user_code, name, connected_at FROM connections WHERE client_user_id = $1",
            &[user.as_str().into()],
        )
        .await
        .map_err(db_failed)?;
    Ok(Json(match row {
        Some(r) => json!({
            "user": user,
            "connected": true,
            "zivaUserCode": r[0].text(),
            "name": r[1].text(),
            "connectedAt": Timestamp::from_unix(r[2].int().unwrap_or(0)).to_iso8601(),
        }),
        None => json!({ "user": user, "connected": false }),
    }))
}

/// How many readings of a type the demo shows.
const LATEST: u32 = 7;

/// The signed-in user's latest readings of `kind` (any of ZivaCare's list
/// types), from ZivaCare's data API with the stored accessToken, which never
/// leaves the server: `{"<listKey>": [...], "total": N}`, as ZivaCare lists them.
async fn data(
    State(b): State<Arc<Backend>>,
    AuthUser(user): AuthUser,
    Path(kind): Path<String>,
) -> Result<Json<Value>, Refusal> {
    let kind: DataType = kind
        .parse()
        .ok()
        .filter(|k: &DataType| k.is_list())
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "unknown_type", "Unknown data type"))?;
    let row =
        b.db.row(
            "SELECT key_id, access_token_sealed, ziva_user_code FROM connections WHERE client_user_id = $1",
            &[user.as_str().into()],
        )
        .await
        .map_err(db_failed)?
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::NOT_FOUND,
                "not_connected",
                "This user is not connected",
            )
        })?;
    let (key_id, sealed) = (row[0].text().unwrap_or(""), row[1].text().unwrap_or(""));
    let token = b.config.keys.open(key_id, sealed, &user).ok_or_else(|| {
        tracing::error!(key_id = %key_id, "a stored access token cannot be opened (key missing or data altered)");
        Refusal::internal()
    })?;
    let page = b
        .zivacare
        .user(token)
        .page(kind, Query::new().limit(LATEST))
        .await
        .map_err(|e| {
            match e.code() {
                "access_token_rejected" => tracing::info!("ZivaCare refused a stored access token"),
                _ => tracing::error!(error = %e, "a data request to ZivaCare failed"),
            }
            Refusal::from(&e)
        })?;
    let records = page
        .records
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
        .collect();
    let mut body = Map::new();
    body.insert(kind.list_key().to_owned(), Value::Array(records));
    body.insert("total".into(), page.total.into());
    Ok(Json(Value::Object(body)))
}
