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

use crate::util::{
    escape_html, is_plain_text, is_token_text, iso8601, json_body, media_type, now_secs, open_db,
    random_token, rate_limited, sha256_hex, ApiError, RateLimit, Secret,
};

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
}

pub struct Sandbox {
    apps: Vec<RegisteredApp>,
    rate_limit_per_minute: u32,
    db: Mutex<rusqlite::Connection>,
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

/// Data types of `GET /api/v2/human/{type}`, with unit and a value range.
const TYPES: &[(&str, &str, f64, f64)] = &[
    ("weights", "kg", 68.0, 74.0),
    ("heart_rates", "bpm", 52.0, 96.0),
    ("steps", "steps", 2_000.0, 14_000.0),
    ("lab_results", "mg/dL", 150.0, 220.0),
];

impl Sandbox {
    pub fn open(config: SandboxConfig) -> rusqlite::Result<Arc<Sandbox>> {
        Ok(Arc::new(Sandbox {
            apps: config.apps,
            rate_limit_per_minute: config.rate_limit_per_minute,
            db: Mutex::new(open_db(&config.db_path, SCHEMA)?),
            token_ttl_secs: config.token_ttl_secs,
        }))
    }

    fn app(&self, client_id: &str) -> Option<&RegisteredApp> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    fn db(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Mints a one-time specialToken bound to app, user and sources.
    fn mint(
        &self,
        client_id: &str,
        client_user_id: &str,
        sources: &[String],
    ) -> Result<String, ApiError> {
        let token = random_token(32);
        self.db().execute(
            "INSERT INTO special_tokens (token_hash, client_id, client_user_id, sources, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![sha256_hex(&token), client_id, client_user_id, sources.join(","), now_secs() + self.token_ttl_secs],
        )?;
        Ok(token)
    }
}

pub fn router(sandbox: Arc<Sandbox>) -> Router {
    let limit = || {
        axum::middleware::from_fn_with_state(
            RateLimit::per_minute(sandbox.rate_limit_per_minute),
            rate_limited,
        )
    };
    Router::new()
        .route("/connect", get(connect_page).layer(limit()))
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
        .route("/connect/finish", post(connect_finish).layer(limit()))
        .route(
            "/oauth/v2/get-access-token",
            post(get_access_token).layer(limit()),
        )
        .route("/api/v2/app/create-user", post(create_user))
        .route("/api/v2/human/{kind}", get(human_data))
        .layer(RequestBodyLimitLayer::new(16 * 1024))
        .with_state(sandbox)
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
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: FinishRequest = json_body(&headers, &body)?;
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
    let token = s.mint(&app.client_id, &req.client_user_id, &sources)?;
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

/// Parses a body sent as JSON or as a form, as ZivaCare accepts both.
fn parse_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, ApiError> {
    let parsed = match media_type(headers).as_str() {
        "application/json" => serde_json::from_slice(body).ok(),
        "application/x-www-form-urlencoded" => serde_urlencoded::from_bytes(body).ok(),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send application/json or application/x-www-form-urlencoded",
            ))
        }
    };
    parsed.ok_or_else(|| ApiError::bad_request("invalid_request", "Malformed request body"))
}

async fn get_access_token(
    State(s): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: TokenRequest = parse_body(&headers, &body)?;
    let token = req
        .special_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::bad_request("invalid_token", "Missing specialToken"))?;
    let secret = req
        .client_secret
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::bad_request("0007", "Missing clientSecret"))?;
    let hash = sha256_hex(&token);
    let db = s.db();
    let row: Option<(String, String, String, i64, bool)> = db
        .query_row(
            "SELECT client_id, client_user_id, sources, expires_at, used FROM special_tokens WHERE token_hash = ?1",
            [&hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((client_id, client_user_id, sources, expires_at, used)) = row else {
        return Err(ApiError::bad_request(
            "invalid_token",
            "Unknown specialToken",
        ));
    };
    // A wrong secret consumes nothing: the rightful server can still exchange it.
    if !s
        .app(&client_id)
        .is_some_and(|a| a.client_secret.matches(&secret))
    {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "0011",
            "Application not recognised: wrong clientSecret",
        ));
    }
    if used {
        return Err(ApiError::bad_request(
            "used_token",
            "This specialToken was already used",
        ));
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
        return Err(ApiError::bad_request(
            "used_token",
            "This specialToken was already used",
        ));
    }
    let (code, name, email) = user(&db, &client_id, &client_user_id, None)?;
    let access_token = random_token(32);
    db.execute(
        "INSERT INTO access_tokens (token_hash, ziva_user_code, sources) VALUES (?1, ?2, ?3)",
        params![sha256_hex(&access_token), code, sources],
    )?;
    Ok(Json(
        json!({ "ziva_user_code": code, "name": name, "email": email, "access_token": access_token }),
    ))
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

async fn create_user(
    State(s): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: CreateUser = parse_body(&headers, &body)?;
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
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "0011",
            "Application not recognised",
        ));
    }
    let name = present(req.client_user_name).unwrap_or_else(|| client_user_id.clone());
    {
        let db = s.db();
        let exists: bool = db.query_row(
            "SELECT EXISTS (SELECT 1 FROM users WHERE client_id = ?1 AND client_user_id = ?2)",
            [&client_id, &client_user_id],
            |r| r.get(0),
        )?;
        if exists {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "0001",
                "Duplicate clientUserId",
            ));
        }
        user(&db, &client_id, &client_user_id, Some(&name))?;
    }
    let token = s.mint(&client_id, &client_user_id, &[])?;
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

async fn human_data(
    State(s): State<Arc<Sandbox>>,
    Path(kind): Path<String>,
    query: Result<Query<DataQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query
        .ok()
        .map(|q| q.0)
        .ok_or_else(|| ApiError::bad_request("invalid_request", "Malformed query"))?;
    let unauthorized = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_access_token",
            "Unknown access_token",
        )
    };
    let token = q.access_token.ok_or_else(unauthorized)?;
    let found: Option<(String, String)> = s
        .db()
        .query_row(
            "SELECT ziva_user_code, sources FROM access_tokens WHERE token_hash = ?1",
            [sha256_hex(&token)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (user_code, sources) = found.ok_or_else(unauthorized)?;
    let &(_, unit_name, low, high) = TYPES
        .iter()
        .find(|(t, ..)| *t == kind)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "unknown_type", "Unknown data type"))?;
    let mut records = Vec::new();
    for source in sources.split(',').filter(|s| !s.is_empty()) {
        let Some((_, _, kinds)) = SOURCES.iter().find(|(id, ..)| *id == source) else {
            continue;
        };
        if !kinds.contains(&kind.as_str()) {
            continue;
        }
        for day in 0..SAMPLE_DAYS {
            let day_s = day.to_string();
            let parts = [user_code.as_str(), source, kind.as_str(), day_s.as_str()];
            let mut value = low + (high - low) * unit(&parts);
            value = if unit_name == "steps" || unit_name == "bpm" {
                value.round()
            } else {
                (value * 10.0).round() / 10.0
            };
            records.push(json!({
                "code": sha256_hex(&parts.join("|"))[..24],
                "user_code": user_code,
                "record_time": iso8601(SAMPLE_END - day * 86_400),
                "source": source,
                "value": value,
                "unit": unit_name,
            }));
        }
    }
    let time = |r: &Value| r["record_time"].as_str().unwrap_or("").to_owned();
    records.retain(|r| {
        let t = time(r);
        q.start.as_deref().is_none_or(|s| t.as_str() >= s)
            && q.end.as_deref().is_none_or(|e| t.as_str() <= e)
    });
    records.sort_by(|a, b| {
        time(b)
            .cmp(&time(a))
            .then_with(|| a["source"].as_str().cmp(&b["source"].as_str()))
    });
    let total = records.len();
    let limit = q.limit.unwrap_or(50).min(200);
    let page: Vec<Value> = records
        .into_iter()
        .skip(q.offset.unwrap_or(0))
        .take(limit)
        .collect();
    let mut body = serde_json::Map::new();
    body.insert(kind, Value::Array(page));
    body.insert("total".into(), total.into());
    Ok(Json(Value::Object(body)))
}
