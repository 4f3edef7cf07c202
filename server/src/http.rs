//! HTTP pieces both services use: the JSON extractor with our error shape,
//! bodies as JSON or forms, the CSRF check, rate limits by client address,
//! request logs, and the headers of API answers.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Router;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::error::ApiError;

/// A JSON body of exactly type `T`, refused with our error shape: 415 for
/// another media type, 413 beyond the route's body limit, 400 for anything
/// that is not `T` (unknown, duplicate or missing keys, wrong types).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// The media type of a request, lower case, without parameters.
pub fn media_type(headers: &HeaderMap) -> String {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Parses a body sent as JSON or as a form, as ZivaCare accepts both.
pub fn json_or_form<T: serde::de::DeserializeOwned>(
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

/// The CSRF defence of requests that change something: they come from one of
/// `allowed` origins exactly, with the `X-ZivaCare-Connect` header (which a
/// form or a simple cross-origin request cannot send).
pub async fn same_origin(
    axum::extract::State(allowed): axum::extract::State<Arc<Vec<String>>>,
    req: Request,
    next: Next,
) -> Response {
    let headers = req.headers();
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if !origin.is_some_and(|o| allowed.iter().any(|a| a == o)) {
        return ApiError::forbidden("Origin not allowed").into_response();
    }
    if headers.get("x-zivacare-connect").is_none() {
        return ApiError::forbidden("Missing X-ZivaCare-Connect header").into_response();
    }
    next.run(req).await
}

/// Answers of the JSON API are personal and never cached, and never sniffed.
pub async fn api_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// Where a client's address comes from, for rate limits: the TCP peer, or a
/// header set by a trusted reverse proxy in front (its first address).
#[derive(Clone, Debug, Default)]
pub enum ClientIp {
    #[default]
    Peer,
    Header(HeaderName),
}

impl ClientIp {
    /// `peer`, or the name of a header such as `x-forwarded-for` or `x-real-ip`.
    pub fn parse(source: &str) -> Result<ClientIp, String> {
        if source.eq_ignore_ascii_case("peer") {
            return Ok(ClientIp::Peer);
        }
        HeaderName::try_from(source)
            .map(ClientIp::Header)
            .map_err(|_| format!("{source:?} is neither `peer` nor a header name"))
    }

    /// The client's address; `None` when unknown (in-process requests, or no
    /// such header: those share one limit).
    pub fn of<T>(&self, req: &axum::http::Request<T>) -> Option<IpAddr> {
        match self {
            ClientIp::Peer => req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
            ClientIp::Header(name) => req
                .headers()
                .get(name)?
                .to_str()
                .ok()?
                .split(',')
                .next()?
                .trim()
                .parse()
                .ok(),
        }
    }
}

impl KeyExtractor for ClientIp {
    type Key = Option<IpAddr>;

    fn extract<T>(&self, req: &axum::http::Request<T>) -> Result<Self::Key, GovernorError> {
        Ok(self.of(req))
    }
}

/// `route`, limited to `per_minute` requests a minute per client address (a
/// bucket that refills steadily); beyond it, 429 with `Retry-After`.
pub fn rate_limited<S: Clone + Send + Sync + 'static>(
    route: MethodRouter<S>,
    per_minute: u32,
    client_ip: &ClientIp,
) -> MethodRouter<S> {
    let per_minute = per_minute.max(1);
    let period =
        Duration::from_millis(60_000 / u64::from(per_minute)).max(Duration::from_millis(1));
    let config = GovernorConfigBuilder::default()
        .key_extractor(client_ip.clone())
        .period(period)
        .burst_size(per_minute)
        .finish()
        .expect("a positive period and burst size");
    route.layer(GovernorLayer::new(config).error_handler(|e| match e {
        GovernorError::TooManyRequests { wait_time, .. } => {
            let mut resp = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests; try again later",
            )
            .into_response();
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait_time.max(1)));
            resp
        }
        _ => ApiError::internal().into_response(),
    }))
}

/// `router` with request logs: one span per request with its method and path,
/// never its query (where the sandbox's data API takes an access_token) nor any
/// header; each answer logged with its status and latency.
pub fn traced<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(
        TraceLayer::new_for_http()
            .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            })
            .on_request(())
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
    )
}
