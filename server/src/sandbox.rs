//! The local ZivaCare sandbox: the Connect popup page and the API an
//! integrator's server calls, faithful to ZivaCare's documented behaviour.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::{params, OptionalExtension};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::limit::RequestBodyLimitLayer;

use crate::crypto::{random_token, sha256_hex, Secret};
use crate::error::ApiError;
use crate::http::{json_or_form, rate_limited, traced, ApiJson, ClientIp};
use crate::store::open_sqlite;
use crate::text::{escape_html, is_plain_text, is_token_text, now_secs, parse_day, zivacare_time};

/// A registered application: what ZivaCare knows of an integrator.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisteredApp {
    pub client_id: String,
    #[serde(deserialize_with = "secret")]
    pub client_secret: Secret,
    pub name: String,
    /// Exact origins (`scheme://host[:port]`) allowed to open the Connect page.
    pub origins: Vec<String>,
}

fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    String::deserialize(d).map(Secret::new)
}

/// The built-in demo app, registered for the given app origins.
pub fn demo_app(origins: Vec<String>) -> RegisteredApp {
    RegisteredApp {
        client_id: DEMO_CLIENT_ID.into(),
        client_secret: Secret::new(DEMO_CLIENT_SECRET),
        name: "ZivaCare Demo App".into(),
        origins,
    }
}

pub const DEMO_CLIENT_ID: &str = "demo-client";
/// The sandbox's demo secret: public by nature, never valid at ZivaCare.
pub const DEMO_CLIENT_SECRET: &str = "sandbox-demo-secret";

/// Reads registered apps from a JSON file: `[{clientId, clientSecret, name, origins}]`.
pub fn load_apps(path: &std::path::Path) -> Result<Vec<RegisteredApp>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a valid apps file: {e}", path.display()))
}

pub struct SandboxConfig {
    pub apps: Vec<RegisteredApp>,
    pub db_path: PathBuf,
    /// How long a specialToken stays valid: ten minutes at ZivaCare.
    pub token_ttl_secs: i64,
    /// Requests a client address may make a minute to the Connect page and the token endpoint.
    pub rate_limit_per_minute: u32,
    /// Where a client's address comes from, for the rate limits.
    pub client_ip: ClientIp,
}

pub struct Sandbox {
    apps: Vec<RegisteredApp>,
    rate_limit_per_minute: u32,
    client_ip: ClientIp,
    db: Arc<Mutex<rusqlite::Connection>>,
    token_ttl_secs: i64,
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
";

/// The sample sources a user can pick, and what each records.
pub const SOURCES: &[(&str, &str, &[&str])] = &[
    (
        "fitbit",
        "Fitbit Charge (wearable)",
        &["steps", "heart_rates"],
    ),
    (
        "garmin",
        "Garmin Forerunner (wearable)",
        &["steps", "heart_rates"],
    ),
    ("oura", "Oura Ring (wearable)", &["heart_rates"]),
    ("withings", "Withings Body+ (scale)", &["weights"]),
    ("quest", "Quest Diagnostics (lab results)", &["lab_results"]),
];

/// Data types of `GET /api/v2/human/{type}`: the key its lists are under
/// (camelCase plural, as ZivaCare writes them), unit and a value range.
const TYPES: &[(&str, &str, &str, f64, f64)] = &[
    ("weights", "weights", "kg", 68.0, 74.0),
    ("heart_rates", "heartRates", "bpm", 52.0, 96.0),
    ("steps", "steps", "steps", 2_000.0, 14_000.0),
    ("lab_results", "labResults", "mg/dL", 150.0, 220.0),
];

impl Sandbox {
    pub fn open(config: SandboxConfig) -> rusqlite::Result<Arc<Sandbox>> {
        let db = open_sqlite(&config.db_path)?;
        db.execute_batch(SCHEMA)?;
        Ok(Arc::new(Sandbox {
            apps: config.apps,
            rate_limit_per_minute: config.rate_limit_per_minute,
            client_ip: config.client_ip,
            db: Arc::new(Mutex::new(db)),
            token_ttl_secs: config.token_ttl_secs,
        }))
    }

    fn app(&self, client_id: &str) -> Option<&RegisteredApp> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    /// Runs `f` with the database on a blocking thread, off the async workers.
    async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || f(&db.lock().unwrap_or_else(|p| p.into_inner())))
            .await
            .map_err(|_| ApiError::internal())?
    }

    /// Mints a one-time specialToken bound to app, user and sources.
    async fn mint(
        &self,
        client_id: &str,
        client_user_id: &str,
        sources: &[String],
    ) -> Result<String, ApiError> {
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
            )?;
            Ok(())
        })
        .await?;
        Ok(token)
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        tracing::error!(error = %e, "sandbox database error");
        ApiError::internal()
    }
}

pub fn router(sandbox: Arc<Sandbox>) -> Router {
    let (per_minute, client_ip) = (sandbox.rate_limit_per_minute, sandbox.client_ip.clone());
    let limit = |route| rate_limited(route, per_minute, &client_ip);
    let router = Router::new()
        .route("/connect", limit(get(connect_page)))
        .route(
            "/connect.js",
            get(|| {
                asset(
                    "text/javascript; charset=utf-8",
                    include_str!("../assets/connect.js"),
                )
            }),
        )
        .route(
            "/connect.css",
            get(|| {
                asset(
                    "text/css; charset=utf-8",
                    include_str!("../assets/connect.css"),
                )
            }),
        )
        .route("/connect/finish", limit(post(connect_finish)))
        .route("/oauth/v2/get-access-token", limit(post(get_access_token)))
        .route("/api/v2/app/create-user", post(create_user))
        .route("/api/v2/human/{kind}", get(human_list))
        .route("/api/v2/human/{kind}/{code}", get(human_record))
        .route("/api/v2/human/{kind}/daily/{day}", get(human_daily))
        .route(
            "/api/v2/human/{kind}/period/{start}/{end}",
            get(human_period),
        )
        .layer(RequestBodyLimitLayer::new(16 * 1024))
        .with_state(sandbox);
    traced(router)
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The Connect page's policy: its own script and stylesheet only, never framed.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                        img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · ZivaCare Connect (sandbox)</title>\n\
         <link rel=\"stylesheet\" href=\"/connect.css\">\n\
         <script src=\"/connect.js\" defer></script>\n</head>\n<body>\n{body}\n</body>\n</html>\n",
        title = escape_html(title)
    );
    let mut resp = (status, Html(html)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn error_page(message: &str) -> Response {
    let body = format!(
        "<main class=\"error\">\n<h1>ZivaCare Connect cannot start</h1>\n<p role=\"alert\">{}</p>\n\
         <p>Close this window and contact the app you came from.</p>\n</main>",
        escape_html(message)
    );
    page(StatusCode::BAD_REQUEST, "Cannot connect", &body)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectQuery {
    client_id: Option<String>,
    client_user_id: Option<String>,
    origin: Option<String>,
    state: Option<String>,
}

async fn connect_page(
    State(s): State<Arc<Sandbox>>,
    query: Result<Query<ConnectQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return error_page("The Connect link is malformed.");
    };
    let Some(app) = q.client_id.as_deref().and_then(|id| s.app(id)) else {
        return error_page("This application is not recognised by ZivaCare (0011).");
    };
    let Some(origin) = q.origin.filter(|o| app.origins.iter().any(|a| a == o)) else {
        return error_page(
            "This page was opened from a site that is not registered for this application.",
        );
    };
    let Some(state) = q.state.filter(|s| is_token_text(s)) else {
        return error_page("The Connect link has no valid state.");
    };
    let Some(user) = q.client_user_id.filter(|u| is_plain_text(u, 512)) else {
        return error_page("The Connect link names no user (0005).");
    };
    let sources: String = SOURCES
        .iter()
        .map(|(id, label, _)| {
            format!(
                "<li><label><input type=\"checkbox\" name=\"source\" value=\"{id}\"> {}</label></li>\n",
                escape_html(label)
            )
        })
        .collect();
    let body = format!(
        "<main id=\"connect\" data-client-id=\"{client_id}\" data-client-user-id=\"{user}\" \
         data-origin=\"{origin}\" data-state=\"{state}\">\n\
         <h1>Connect your health data</h1>\n\
         <p><strong>{app_name}</strong> asks to read your health data as <strong>{user}</strong>.</p>\n\
         <form id=\"sources\">\n<fieldset>\n<legend>Choose the sources to share</legend>\n\
         <ul>\n{sources}</ul>\n</fieldset>\n\
         <p id=\"status\" role=\"status\" aria-live=\"polite\"></p>\n\
         <div class=\"actions\">\n<button type=\"submit\" id=\"finish\">Finish Connecting Data</button>\n\
         <button type=\"button\" id=\"cancel\">Cancel</button>\n</div>\n\
         <p class=\"sandbox\">Sandbox only: <button type=\"button\" id=\"simulate-error\">Simulate a ZivaCare error</button></p>\n\
         </form>\n</main>",
        client_id = escape_html(&app.client_id),
        app_name = escape_html(&app.name),
        user = escape_html(&user),
        origin = escape_html(&origin),
    );
    page(StatusCode::OK, "Connect your health data", &body)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FinishRequest {
    client_id: String,
    client_user_id: String,
    origin: String,
    sources: Vec<String>,
}

/// Called by the Connect page's own script: mints the specialToken and tells
/// the page the registered origin to post it to.
async fn connect_finish(
    State(s): State<Arc<Sandbox>>,
    ApiJson(req): ApiJson<FinishRequest>,
) -> Result<Json<Value>, ApiError> {
    let app = s
        .app(&req.client_id)
        .ok_or_else(|| ApiError::bad_request("0011", "Application not recognised"))?;
    let origin = app
        .origins
        .iter()
        .find(|o| **o == req.origin)
        .ok_or_else(|| {
            ApiError::bad_request("0011", "Origin not registered for this application")
        })?;
    if !is_plain_text(&req.client_user_id, 512) {
        return Err(ApiError::bad_request("0005", "Missing clientUserId"));
    }
    let mut sources = req.sources;
    sources.sort();
    sources.dedup();
    if sources.is_empty()
        || !sources
            .iter()
            .all(|id| SOURCES.iter().any(|(s, _, _)| s == id))
    {
        return Err(ApiError::bad_request(
            "invalid_sources",
            "Choose at least one known source",
        ));
    }
    let token = s
        .mint(&app.client_id, &req.client_user_id, &sources)
        .await?;
    Ok(Json(
        json!({ "specialToken": token, "targetOrigin": origin }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenRequest {
    special_token: Option<String>,
    client_secret: Option<String>,
}

/// ZivaCare's token exchange. Its error answers are not documented by ZivaCare:
/// these are the sandbox's own, in ZivaCare's `{code, message}` shape, all 400:
/// `invalid_token`, `expired_token`, `used_token`, `0007` (no clientSecret) and
/// `0011` (a clientSecret that is not the app's, which consumes nothing).
async fn get_access_token(
    State(s): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: TokenRequest = json_or_form(&headers, &body)?;
    let token = req
        .special_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::bad_request("invalid_token", "Missing specialToken"))?;
    let secret = req
        .client_secret
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::bad_request("0007", "Missing clientSecret"))?;
    let hash = sha256_hex(&token);
    let sandbox = Arc::clone(&s);
    s.with_db(move |db| {
        let row: Option<(String, String, String, i64, bool)> = db
            .query_row(
                "SELECT client_id, client_user_id, sources, expires_at, used FROM special_tokens WHERE token_hash = ?1",
                [&hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let Some((client_id, client_user_id, sources, expires_at, used)) = row else {
            return Err(ApiError::bad_request("invalid_token", "Unknown specialToken"));
        };
        // A wrong secret consumes nothing: the rightful server can still exchange it.
        if !sandbox
            .app(&client_id)
            .is_some_and(|a| a.client_secret.matches(&secret))
        {
            return Err(ApiError::bad_request(
                "0011",
                "Application not recognised: wrong clientSecret",
            ));
        }
        let used_error = || ApiError::bad_request("used_token", "This specialToken was already used");
        if used {
            return Err(used_error());
        }
        if expires_at <= now_secs() {
            return Err(ApiError::bad_request(
                "expired_token",
                "This specialToken has expired",
            ));
        }
        let changed = db.execute(
            "UPDATE special_tokens SET used = 1 WHERE token_hash = ?1 AND used = 0",
            [&hash],
        )?;
        if changed != 1 {
            return Err(used_error());
        }
        let (code, name, email) = user(db, &client_id, &client_user_id, None)?;
        let access_token = random_token(32);
        db.execute(
            "INSERT INTO access_tokens (token_hash, ziva_user_code, sources) VALUES (?1, ?2, ?3)",
            params![sha256_hex(&access_token), code, sources],
        )?;
        Ok(Json(
            json!({ "ziva_user_code": code, "name": name, "email": email, "access_token": access_token }),
        ))
    })
    .await
}

/// The user of an app, created on first sight.
fn user(
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateUser {
    client_id: Option<String>,
    client_secret: Option<String>,
    client_user_id: Option<String>,
    client_user_name: Option<String>,
}

/// `POST /api/v2/app/create-user`. Every error is HTTP 400 with ZivaCare's
/// `{code, message}`: `0001` (the clientUserId exists), `0004` (no clientId),
/// `0005` (no clientUserId), `0007` (no clientSecret), `0011` (an unknown
/// application or a wrong secret).
async fn create_user(
    State(s): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: CreateUser = json_or_form(&headers, &body)?;
    let present = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let client_id =
        present(req.client_id).ok_or_else(|| ApiError::bad_request("0004", "Missing clientId"))?;
    let client_user_id = present(req.client_user_id)
        .filter(|u| is_plain_text(u, 512))
        .ok_or_else(|| ApiError::bad_request("0005", "Missing clientUserId"))?;
    let secret = present(req.client_secret)
        .ok_or_else(|| ApiError::bad_request("0007", "Missing clientSecret"))?;
    if !s
        .app(&client_id)
        .is_some_and(|a| a.client_secret.matches(&secret))
    {
        return Err(ApiError::bad_request("0011", "Application not recognised"));
    }
    let name = present(req.client_user_name).unwrap_or_else(|| client_user_id.clone());
    let (id, user_id, user_name) = (client_id.clone(), client_user_id.clone(), name.clone());
    s.with_db(move |db| {
        let exists: bool = db.query_row(
            "SELECT EXISTS (SELECT 1 FROM users WHERE client_id = ?1 AND client_user_id = ?2)",
            [&id, &user_id],
            |r| r.get(0),
        )?;
        if exists {
            return Err(ApiError::bad_request("0001", "Duplicate clientUserId"));
        }
        user(db, &id, &user_id, Some(&user_name))?;
        Ok(())
    })
    .await?;
    let token = s.mint(&client_id, &client_user_id, &[]).await?;
    Ok(Json(json!({
        "specialToken": token,
        "clientId": client_id,
        "clientUserId": client_user_id,
        "clientUserName": name,
    })))
}

#[derive(Deserialize)]
struct DataQuery {
    access_token: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
    start: Option<String>,
    end: Option<String>,
}

/// The day the sample data ends: fixed, so every run gives the same records.
const SAMPLE_END: i64 = 1_793_433_600; // 2026-10-31T08:00:00Z
const SAMPLE_DAYS: i64 = 30;

/// A deterministic number in [0, 1) from the parts.
fn unit(parts: &[&str]) -> f64 {
    let h = sha256_hex(&parts.join("|"));
    u32::from_str_radix(&h[..8], 16).unwrap_or(0) as f64 / f64::from(u32::MAX)
}

/// The units a data request asks for with `X-Unit-System`: `metric` (the
/// default), `us` or `uk`; both of the latter give weights in pounds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Units {
    Metric,
    Imperial,
}

const KG_IN_LB: f64 = 0.453_592_37;

fn units(headers: &HeaderMap) -> Result<Units, ApiError> {
    match headers
        .get("x-unit-system")
        .map(|v| v.to_str().unwrap_or(""))
    {
        None | Some("metric") => Ok(Units::Metric),
        Some("us" | "uk") => Ok(Units::Imperial),
        Some(_) => Err(ApiError::bad_request(
            "invalid_request",
            "X-Unit-System is metric, us or uk",
        )),
    }
}

/// A sample reading.
struct Record {
    code: String,
    source: &'static str,
    time: i64,
    value: f64,
    unit: &'static str,
}

impl Record {
    fn json(&self, user_code: &str) -> Value {
        json!({
            "code": self.code,
            "user_code": user_code,
            "record_time": zivacare_time(self.time),
            "source": self.source,
            "value": self.value,
            "unit": self.unit,
        })
    }
}

/// Who a data request is for: its access token's user and shared sources, and
/// the data type asked for (its list key, unit and range).
struct Reader {
    user_code: String,
    sources: String,
    kind: &'static (&'static str, &'static str, &'static str, f64, f64),
    units: Units,
}

impl Reader {
    async fn of(
        s: &Sandbox,
        kind: &str,
        token: Option<String>,
        headers: &HeaderMap,
    ) -> Result<Reader, ApiError> {
        let unauthorized = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_access_token",
                "Unknown access_token",
            )
        };
        let token = token.ok_or_else(unauthorized)?;
        let found: Option<(String, String)> = s
            .with_db(move |db| {
                Ok(db
                    .query_row(
                        "SELECT ziva_user_code, sources FROM access_tokens WHERE token_hash = ?1",
                        [sha256_hex(&token)],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?)
            })
            .await?;
        let (user_code, sources) = found.ok_or_else(unauthorized)?;
        let kind = TYPES.iter().find(|(t, ..)| *t == kind).ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_type", "Unknown data type")
        })?;
        Ok(Reader {
            user_code,
            sources,
            kind,
            units: units(headers)?,
        })
    }

    /// Every reading of the type from the shared sources, newest first.
    fn records(&self) -> Vec<Record> {
        let &(kind, _, unit_name, low, high) = self.kind;
        let mut records = Vec::new();
        for source in self.sources.split(',').filter(|s| !s.is_empty()) {
            let Some((source, _, kinds)) = SOURCES.iter().find(|(id, ..)| *id == source) else {
                continue;
            };
            if !kinds.contains(&kind) {
                continue;
            }
            for day in 0..SAMPLE_DAYS {
                let day_s = day.to_string();
                let parts = [self.user_code.as_str(), source, kind, day_s.as_str()];
                let raw = low + (high - low) * unit(&parts);
                let (value, unit) = match (unit_name, self.units) {
                    ("steps" | "bpm", _) => (raw.round(), unit_name),
                    ("kg", Units::Imperial) => ((raw / KG_IN_LB * 10.0).round() / 10.0, "lb"),
                    _ => ((raw * 10.0).round() / 10.0, unit_name),
                };
                records.push(Record {
                    code: sha256_hex(&parts.join("|"))[..24].to_owned(),
                    source,
                    time: SAMPLE_END - day * 86_400,
                    value,
                    unit,
                });
            }
        }
        records.sort_by(|a, b| b.time.cmp(&a.time).then(a.source.cmp(b.source)));
        records
    }

    /// `{"<listKey>": [...], "total": N}`: the `limit` (default 50, at most
    /// 200) records from `offset` of those `keep` keeps.
    fn list(&self, q: &DataQuery, keep: impl Fn(&Record) -> bool) -> Json<Value> {
        let records: Vec<Record> = self.records().into_iter().filter(keep).collect();
        let total = records.len();
        let page: Vec<Value> = records
            .iter()
            .skip(q.offset.unwrap_or(0))
            .take(q.limit.unwrap_or(50).min(200))
            .map(|r| r.json(&self.user_code))
            .collect();
        let mut body = serde_json::Map::new();
        body.insert(self.kind.1.to_owned(), Value::Array(page));
        body.insert("total".into(), total.into());
        Json(Value::Object(body))
    }
}

fn query(q: Result<Query<DataQuery>, QueryRejection>) -> Result<DataQuery, ApiError> {
    q.map(|q| q.0)
        .map_err(|_| ApiError::bad_request("invalid_request", "Malformed query"))
}

fn bad_day() -> ApiError {
    ApiError::bad_request("invalid_request", "Days are written YYYY-MM-DD")
}

/// `GET /api/v2/human/{type}`: the list, with `limit`, `offset` and a
/// `start`/`end` window (compared with the record time as written).
async fn human_list(
    State(s): State<Arc<Sandbox>>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    q: Result<Query<DataQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let reader = Reader::of(&s, &kind, q.access_token.clone(), &headers).await?;
    Ok(reader.list(&q, |r| {
        let t = zivacare_time(r.time);
        q.start.as_deref().is_none_or(|s| t.as_str() >= s)
            && q.end.as_deref().is_none_or(|e| t.as_str() <= e)
    }))
}

/// `GET /api/v2/human/{type}/{code}`: one record.
async fn human_record(
    State(s): State<Arc<Sandbox>>,
    Path((kind, code)): Path<(String, String)>,
    headers: HeaderMap,
    q: Result<Query<DataQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let reader = Reader::of(&s, &kind, q.access_token, &headers).await?;
    reader
        .records()
        .iter()
        .find(|r| r.code == code)
        .map(|r| Json(r.json(&reader.user_code)))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such record"))
}

/// `GET /api/v2/human/{type}/daily/{YYYY-MM-DD}`: that day's records.
async fn human_daily(
    State(s): State<Arc<Sandbox>>,
    Path((kind, day)): Path<(String, String)>,
    headers: HeaderMap,
    q: Result<Query<DataQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let start = parse_day(&day).ok_or_else(bad_day)?;
    let reader = Reader::of(&s, &kind, q.access_token.clone(), &headers).await?;
    Ok(reader.list(&q, |r| (start..start + 86_400).contains(&r.time)))
}

/// `GET /api/v2/human/{type}/period/{start}/{end}`: the records of those days,
/// both included.
async fn human_period(
    State(s): State<Arc<Sandbox>>,
    Path((kind, start, end)): Path<(String, String, String)>,
    headers: HeaderMap,
    q: Result<Query<DataQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let from = parse_day(&start).ok_or_else(bad_day)?;
    let to = parse_day(&end).ok_or_else(bad_day)? + 86_400;
    let reader = Reader::of(&s, &kind, q.access_token.clone(), &headers).await?;
    Ok(reader.list(&q, |r| (from..to).contains(&r.time)))
}
