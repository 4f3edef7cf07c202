//! The Connect page: what the SDK's popup opens. The user picks the sources
//! to share and presses "Finish Connecting Data"; the page's own script
//! (`assets/connect.js`) mints the specialToken through `/connect/finish` and
//! posts it to the app's registered origin, never to `*`.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use zivacare::axum::{AppJson, Refusal};
use zivacare::text::{is_plain_text, is_token_text};

use crate::samples::{source, SOURCES};
use crate::state::Sandbox;
use crate::util::escape_html;

/// A static file of the Connect page, revalidated on each use.
pub async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The page's script.
pub const SCRIPT: &str = include_str!("../assets/connect.js");
/// The page's stylesheet.
pub const STYLE: &str = include_str!("../assets/connect.css");

/// The Connect page's policy: its own script and stylesheet only, never framed.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                        img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A page of the sandbox's: its own script and stylesheet, under its policy,
/// never cached, never framed, sending no `Referer`.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
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
pub struct ConnectQuery {
    client_id: Option<String>,
    client_user_id: Option<String>,
    origin: Option<String>,
    state: Option<String>,
    return_url: Option<String>,
    ux_mode: Option<String>,
}

/// `GET /connect?clientId=…&clientUserId=…&origin=…&state=…[&returnUrl=…&uxMode=…]`.
/// A `returnUrl` must be one the app registered, string for string: any other
/// gets an error page that navigates and links nowhere (no open redirect).
pub async fn connect_page(
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
    let back = match q.return_url {
        None => None,
        Some(url) if app.return_urls.contains(&url) => Some(url),
        Some(_) => return error_page(
            "This page asks to return to an address that is not registered for this application.",
        ),
    };
    let redirect = match q.ux_mode.as_deref() {
        None | Some("popup") => false,
        Some("redirect") if back.is_some() => true,
        Some(_) => return error_page("The Connect link is malformed."),
    };
    let back = match back {
        Some(url) => format!(
            " data-return-url=\"{}\" data-ux-mode=\"{}\"",
            escape_html(&url),
            if redirect { "redirect" } else { "popup" }
        ),
        None => String::new(),
    };
    let sources: String = SOURCES
        .iter()
        .map(|s| {
            format!(
                "<li><label><input type=\"checkbox\" name=\"source\" value=\"{}\"> {}</label></li>\n",
                s.id,
                escape_html(s.label)
            )
        })
        .collect();
    let body = format!(
        "<main id=\"connect\" data-client-id=\"{client_id}\" data-client-user-id=\"{user}\" \
         data-origin=\"{origin}\" data-state=\"{state}\"{back}>\n\
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
pub struct FinishRequest {
    client_id: String,
    client_user_id: String,
    origin: String,
    sources: Vec<String>,
}

/// `POST /connect/finish`, called by the Connect page's own script: mints
/// the specialToken and tells the page the registered origin to post it to.
pub async fn connect_finish(
    State(s): State<Arc<Sandbox>>,
    AppJson(req): AppJson<FinishRequest>,
) -> Result<Json<Value>, Refusal> {
    let app = s
        .app(&req.client_id)
        .ok_or_else(|| Refusal::bad_request("0011", "Application not recognised"))?;
    let origin = app
        .origins
        .iter()
        .find(|o| **o == req.origin)
        .ok_or_else(|| Refusal::bad_request("0011", "Origin not registered for this application"))?
        .clone();
    if !is_plain_text(&req.client_user_id, 512) {
        return Err(Refusal::bad_request("0005", "Missing clientUserId"));
    }
    let mut sources = req.sources;
    sources.sort();
    sources.dedup();
    if sources.is_empty() || !sources.iter().all(|id| source(id).is_some()) {
        return Err(Refusal::bad_request(
            "invalid_sources",
            "Choose at least one known source",
        ));
    }
    let ids: Vec<&str> = sources.iter().map(String::as_str).collect();
    let token = s.mint(&app.client_id, &req.client_user_id, &ids).await?;
    Ok(Json(
        json!({ "specialToken": token, "targetOrigin": origin }),
    ))
}
