//! The SDK's forward as a ready axum route (feature `axum`), and the pieces
//! of it an application uses for its own routes: the `{code, message}`
//! refusal, the JSON extractor that answers with it, the origin check, rate
//! limits by client address and request logs that never show a query.
//!
//! The route never decides who the user is: it takes the application's own
//! extractor (anything that is [`FromRequestParts`] and [`ConnectUser`]), and
//! a [`Ledger`] for the exactly-once record of exchanges.
//!
//! ```
//! use axum::{extract::FromRequestParts, http::request::Parts, Router};
//! use zivacare::axum::{ConnectUser, Refusal, TokenRoute};
//! use zivacare::{Client, MemoryLedger};
//!
//! /// Your signed-in user, from your session (here: a header your proxy sets).
//! struct User(String);
//!
//! impl<S: Send + Sync> FromRequestParts<S> for User {
//!     type Rejection = Refusal;
//!     async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Refusal> {
//!         let user = parts.headers.get("x-user").and_then(|v| v.to_str().ok());
//!         user.map(|u| User(u.to_owned())).ok_or_else(Refusal::unauthenticated)
//!     }
//! }
//!
//! impl ConnectUser for User {
//!     fn client_user_id(&self) -> &str {
//!         &self.0
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sandbox = zivacare_sandbox::spawn_demo().await?;
//! # std::env::set_var("ZIVACARE_CLIENT_ID", "demo-client");
//! # std::env::set_var("ZIVACARE_CLIENT_SECRET", "sandbox-demo-secret");
//! # std::env::set_var("ZIVACARE_API_URL", &sandbox.url);
//! let tokens = TokenRoute::new(Client::from_env()?, MemoryLedger::new())
//!     .allowed_origins(["https://app.example.com"]);
//! let app: Router = Router::new().route("/api/zivacare/token", tokens.post::<User, _>());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let url = format!("http://{}/api/zivacare/token", listener.local_addr()?);
//! tokio::spawn(async move { axum::serve(listener, app).await });
//! # // The SDK's forward, from the app's page, for the signed-in user:
//! # let special_token = sandbox.mint("demo-client", "ann@example.com", &[]).await?;
//! # let answer = reqwest::Client::new().post(url)
//! #     .header("origin", "https://app.example.com").header("x-zivacare-connect", "1")
//! #     .header("x-user", "ann@example.com")
//! #     .json(&serde_json::json!({ "specialToken": special_token, "clientId": "demo-client",
//! #         "clientUserId": "ann@example.com", "state": "s" }))
//! #     .send().await?;
//! # assert_eq!(answer.status(), 200);
//! # assert_eq!(answer.json::<serde_json::Value>().await?["connected"], true);
//! # Ok(()) }
//! ```

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};
use axum::{Json, Router};
use serde::Deserialize;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::client::Client;
use crate::error::Error;
use crate::ledger::{exchange_once, ExchangeError, Ledger};
use crate::secret::SpecialToken;
use crate::text::{is_plain_text, is_token_text};

/// An answer that refuses: a status, a stable code and a message for people,
/// written `{"code", "message"}`. Internal details go to the log, never here.
///
/// ```
/// use axum::response::IntoResponse;
/// let refusal = zivacare::axum::Refusal::forbidden("Origin not allowed");
/// assert_eq!(refusal.into_response().status(), 403);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code, e.g. `token_rejected`.
    pub code: &'static str,
    /// What happened, for people.
    pub message: String,
}

impl Refusal {
    /// A refusal with `status`, `code` and `message`.
    ///
    /// ```
    /// use axum::http::StatusCode;
    /// let r = zivacare::axum::Refusal::new(StatusCode::NOT_FOUND, "not_connected", "This user is not connected");
    /// assert_eq!((r.status, r.code), (StatusCode::NOT_FOUND, "not_connected"));
    /// ```
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with `code`.
    ///
    /// ```
    /// assert_eq!(zivacare::axum::Refusal::bad_request("invalid_request", "No").status, 400);
    /// ```
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 403 `forbidden`.
    ///
    /// ```
    /// assert_eq!(zivacare::axum::Refusal::forbidden("Origin not allowed").code, "forbidden");
    /// ```
    pub fn forbidden(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 401 `unauthenticated`: no valid session.
    ///
    /// ```
    /// assert_eq!(zivacare::axum::Refusal::unauthenticated().status, 401);
    /// ```
    pub fn unauthenticated() -> Refusal {
        Refusal::new(StatusCode::UNAUTHORIZED, "unauthenticated", "Sign in first")
    }

    /// 500 `internal_error`, saying nothing of what failed.
    ///
    /// ```
    /// assert_eq!(zivacare::axum::Refusal::internal().message, "Something went wrong");
    /// ```
    pub fn internal() -> Refusal {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong",
        )
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code, "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

/// What a failed call to ZivaCare means for the page: a refused token (the
/// user connects again), ZivaCare refusing the application (an operator must
/// act), or an outage (the SDK retries). Nothing of ZivaCare's answer is passed on.
impl From<&Error> for Refusal {
    fn from(e: &Error) -> Refusal {
        match e {
            Error::TokenRejected { .. } => token_rejected(),
            Error::AccessTokenRejected { .. } => Refusal::new(
                StatusCode::CONFLICT,
                "token_rejected",
                "ZivaCare no longer accepts this connection: connect again",
            ),
            e if e.code() == "upstream_misconfigured" => Refusal::new(
                StatusCode::BAD_GATEWAY,
                "upstream_misconfigured",
                "ZivaCare could not complete the connection",
            ),
            Error::Timeout => Refusal::new(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                "ZivaCare did not answer in time",
            ),
            Error::InvalidInput { .. } | Error::Config { .. } => Refusal::internal(),
            _ => Refusal::new(
                StatusCode::BAD_GATEWAY,
                "upstream_error",
                "ZivaCare could not complete the connection",
            ),
        }
    }
}

fn token_rejected() -> Refusal {
    Refusal::bad_request(
        "token_rejected",
        "ZivaCare did not accept this connection: connect again",
    )
}

/// A JSON body that `axum::Json` refused: the wrong media type (415), too
/// large (413), or not the expected shape (400). Not logged: serde's messages
/// quote the values they refused.
impl From<JsonRejection> for Refusal {
    fn from(rejection: JsonRejection) -> Refusal {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Refusal::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send application/json",
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Refusal::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "The request body is too large",
                )
            }
            _ => Refusal::bad_request("invalid_request", "Malformed request body"),
        }
    }
}

/// A JSON body of exactly type `T`, refused as a [`Refusal`]: 415 for another
/// media type, 413 beyond the route's body limit, 400 for anything that is
/// not `T` (unknown, duplicate or missing keys, wrong types, with
/// `#[serde(deny_unknown_fields)]`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use axum::{body::Body, http::Request, routing::post, Router};
/// use tower::ServiceExt;
/// use zivacare::axum::AppJson;
///
/// #[derive(serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct SignIn { user: String }
///
/// let app: Router = Router::new().route("/session", post(|AppJson(s): AppJson<SignIn>| async move { s.user }));
/// let extra = Request::post("/session").header("content-type", "application/json")
///     .body(Body::from(r#"{"user": "ann", "admin": true}"#)).unwrap();
/// assert_eq!(app.oneshot(extra).await.unwrap().status(), 400);
/// # }
/// ```
#[derive(Debug)]
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &S) -> Result<Self, Refusal> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| AppJson(v))
            .map_err(Refusal::from)
    }
}

/// The header the SDK sends with its forward: a form or a simple
/// cross-origin request cannot send it.
///
/// ```
/// assert_eq!(zivacare::axum::CONNECT_HEADER, "x-zivacare-connect");
/// ```
pub const CONNECT_HEADER: &str = "x-zivacare-connect";

/// The CSRF defence of a request that changes something: it comes from one
/// of `allowed` origins exactly (scheme, host and port, as browsers write
/// `Origin`), with the `X-ZivaCare-Connect` header.
///
/// ```
/// use axum::http::HeaderMap;
/// let mut headers = HeaderMap::new();
/// headers.insert("origin", "https://app.example.com".parse().unwrap());
/// headers.insert("x-zivacare-connect", "1".parse().unwrap());
/// let allowed = ["https://app.example.com".to_owned()];
/// assert!(zivacare::axum::check_origin(&headers, &allowed).is_ok());
/// headers.insert("origin", "https://app.example.com.evil".parse().unwrap());
/// assert!(zivacare::axum::check_origin(&headers, &allowed).is_err());
/// ```
pub fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), Refusal> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if !origin.is_some_and(|o| allowed.iter().any(|a| a == o)) {
        return Err(Refusal::forbidden("Origin not allowed"));
    }
    if headers.get(CONNECT_HEADER).is_none() {
        return Err(Refusal::forbidden("Missing X-ZivaCare-Connect header"));
    }
    Ok(())
}

/// [`check_origin`] as middleware, for an application's own routes that
/// change something: `middleware::from_fn_with_state(Arc::new(origins), require_origin)`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::sync::Arc;
/// use axum::{body::Body, http::Request, middleware, routing::post, Router};
/// use tower::ServiceExt;
///
/// let origins = Arc::new(vec!["https://app.example.com".to_owned()]);
/// let app: Router = Router::new()
///     .route("/sign-out", post(|| async { "bye" }))
///     .route_layer(middleware::from_fn_with_state(origins, zivacare::axum::require_origin));
/// let forged = Request::post("/sign-out").header("origin", "https://evil.example").body(Body::empty()).unwrap();
/// assert_eq!(app.oneshot(forged).await.unwrap().status(), 403);
/// # }
/// ```
pub async fn require_origin(
    State(allowed): State<Arc<Vec<String>>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    match check_origin(req.headers(), &allowed) {
        Ok(()) => next.run(req).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// Where a client's address comes from, for rate limits: the TCP peer, or a
/// header set by a trusted reverse proxy in front (its first address).
#[derive(Clone, Debug, Default)]
pub enum ClientIp {
    /// The TCP peer (serve with `into_make_service_with_connect_info`).
    #[default]
    Peer,
    /// A header the proxy in front always overwrites, such as `x-forwarded-for`.
    Header(HeaderName),
}

impl ClientIp {
    /// `peer`, or the name of a header such as `x-forwarded-for`.
    ///
    /// ```
    /// use zivacare::axum::ClientIp;
    /// assert!(matches!(ClientIp::parse("peer"), Ok(ClientIp::Peer)));
    /// assert!(ClientIp::parse("not a header").is_err());
    /// ```
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
    ///
    /// ```
    /// use zivacare::axum::ClientIp;
    /// let req = axum::http::Request::get("/").header("x-forwarded-for", "192.0.2.1, 10.0.0.1").body(()).unwrap();
    /// assert_eq!(ClientIp::parse("x-forwarded-for").unwrap().of(&req), Some("192.0.2.1".parse().unwrap()));
    /// assert_eq!(ClientIp::Peer.of(&req), None);
    /// ```
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
/// bucket that refills steadily); beyond it, 429 `rate_limited` with
/// `Retry-After`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use axum::{body::Body, http::Request, routing::get, Router};
/// use tower::ServiceExt;
/// use zivacare::axum::{rate_limited, ClientIp};
///
/// let app: Router = Router::new().route("/status", rate_limited(get(|| async { "ok" }), 1, &ClientIp::Peer));
/// let status = || Request::get("/status").body(Body::empty()).unwrap();
/// assert_eq!(app.clone().oneshot(status()).await.unwrap().status(), 200);
/// let limited = app.oneshot(status()).await.unwrap();
/// assert_eq!(limited.status(), 429);
/// assert!(limited.headers().contains_key("retry-after"));
/// # }
/// ```
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
            let mut resp = Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests; try again later",
            )
            .into_response();
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait_time.max(1)));
            resp
        }
        _ => Refusal::internal().into_response(),
    }))
}

/// `router` with request logs: one span per request with its method and path,
/// never its query (where ZivaCare's data API takes an access_token) nor any
/// header; each answer logged with its status and latency.
///
/// ```
/// use axum::{routing::get, Router};
/// let app: Router = zivacare::axum::request_log(Router::new().route("/", get(|| async { "ok" })));
/// # let _ = app;
/// ```
pub fn request_log<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(
        TraceLayer::new_for_http()
            .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            })
            .on_request(())
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
    )
}

/// Marks an answer personal: never cached (`Cache-Control: no-store`), never
/// sniffed (`X-Content-Type-Options: nosniff`). The token route's answers are;
/// an application's own API answers about its user should be too.
///
/// ```
/// let mut headers = axum::http::HeaderMap::new();
/// zivacare::axum::personal(&mut headers);
/// assert_eq!(headers["cache-control"], "no-store");
/// ```
pub fn personal(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// The signed-in user of a request, as the application's extractor gives it
/// (see the module's example for the extractor itself).
///
/// ```
/// struct SessionUser { email: String }
/// impl zivacare::axum::ConnectUser for SessionUser {
///     fn client_user_id(&self) -> &str { &self.email }
/// }
/// # let _ = SessionUser { email: String::new() }.email;
/// ```
pub trait ConnectUser {
    /// The user's id, the one the page passes as `clientUserId`.
    fn client_user_id(&self) -> &str;
}

/// The largest forward accepted: the SDK's is a few hundred bytes.
///
/// ```
/// assert_eq!(zivacare::axum::MAX_FORWARD_BODY, 4096);
/// ```
pub const MAX_FORWARD_BODY: usize = 4096;

/// The SDK's forward, as accepted: exactly these keys.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Forward {
    special_token: String,
    client_id: String,
    client_user_id: String,
    state: String,
}

impl Forward {
    /// For this app, with well-formed values.
    fn check(&self, client_id: &str) -> Result<(), Refusal> {
        let problem = if !is_token_text(&self.special_token) {
            "Invalid specialToken"
        } else if self.client_id != client_id {
            "Unknown clientId"
        } else if !is_plain_text(&self.client_user_id, 512) {
            "Invalid clientUserId"
        } else if !is_token_text(&self.state) {
            "Invalid state"
        } else {
            return Ok(());
        };
        Err(Refusal::bad_request("invalid_request", problem))
    }
}

/// The SDK's forward (`POST serverUrl`) as a route: it checks the request
/// (the app's `Origin`, the `X-ZivaCare-Connect` header, who is signed in,
/// exactly the SDK's JSON, that `clientUserId` is that user), exchanges the
/// specialToken once through the [`Ledger`], and answers
/// `{"zivaUserCode", "connected": true}`, or a [`Refusal`]:
///
/// | status, code | when |
/// | --- | --- |
/// | 403 `forbidden` | a foreign `Origin`, no `X-ZivaCare-Connect`, or another user's `clientUserId` |
/// | the extractor's | no signed-in user (the application's own rejection, e.g. 401) |
/// | 400 `invalid_request`, 415, 413 | not exactly the SDK's JSON, not JSON, over 4 KiB |
/// | 400 `token_rejected` | ZivaCare refused the token; a repeat is answered the same without asking again |
/// | 409 `token_reused` | the token was exchanged for another user |
/// | 502 `upstream_misconfigured` | ZivaCare refused the application (`0011`, `0007`): logged once, naming the variables to check |
/// | 502 `upstream_error`, 504 `upstream_timeout` | ZivaCare down, unreachable, answering garbage, or too slow |
/// | 429 `rate_limited` | over [`TokenRoute::rate_limit`] |
/// | 500 `internal_error` | the ledger failed (details in the log only) |
///
/// The module's example serves one and forwards a token through it; here, the
/// settings:
///
/// ```
/// use std::sync::Arc;
/// use zivacare::axum::{ClientIp, TokenRoute};
/// # struct User(String);
/// # impl<S: Send + Sync> axum::extract::FromRequestParts<S> for User {
/// #     type Rejection = zivacare::axum::Refusal;
/// #     async fn from_request_parts(_: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
/// #         Err(zivacare::axum::Refusal::unauthenticated())
/// #     }
/// # }
/// # impl zivacare::axum::ConnectUser for User { fn client_user_id(&self) -> &str { &self.0 } }
/// let client = zivacare::Client::builder("your-client-id", "your-client-secret").build().unwrap();
/// let ledger = Arc::new(zivacare::MemoryLedger::new()); // yours: over your database
/// let route: axum::routing::MethodRouter = TokenRoute::new(client, Arc::clone(&ledger))
///     .allowed_origins(["https://app.example.com", "https://www.example.com"])
///     .rate_limit(120, ClientIp::parse("x-forwarded-for").unwrap())
///     .post::<User, _>();
/// # let _ = route;
/// ```
pub struct TokenRoute<L> {
    client: Client,
    ledger: L,
    allowed_origins: Vec<String>,
    rate_limit: Option<(u32, ClientIp)>,
    misconfiguration_logged: AtomicBool,
}

impl<L: Ledger> TokenRoute<L> {
    /// The route for `client`'s application, recording exchanges in `ledger`.
    pub fn new(client: Client, ledger: L) -> TokenRoute<L> {
        TokenRoute {
            client,
            ledger,
            allowed_origins: Vec::new(),
            rate_limit: None,
            misconfiguration_logged: AtomicBool::new(false),
        }
    }

    /// The exact origins the page is served from (`https://app.example.com`):
    /// a forward from any other is refused. Without any, every forward is.
    pub fn allowed_origins<I, O>(mut self, origins: I) -> TokenRoute<L>
    where
        I: IntoIterator<Item = O>,
        O: Into<String>,
    {
        self.allowed_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// At most `per_minute` forwards a minute from one client address.
    pub fn rate_limit(mut self, per_minute: u32, client_ip: ClientIp) -> TokenRoute<L> {
        self.rate_limit = Some((per_minute, client_ip));
        self
    }

    /// The route, for `POST`, with `U` the application's extractor of the
    /// signed-in user.
    pub fn post<U, S>(self) -> MethodRouter<S>
    where
        U: FromRequestParts<S> + ConnectUser + Send + 'static,
        S: Clone + Send + Sync + 'static,
    {
        let limit = self.rate_limit.clone();
        let route = Arc::new(self);
        let handler = move |State(state): State<S>, req: Request| {
            let route = Arc::clone(&route);
            async move {
                let mut resp = match route.forward::<U, S>(&state, req).await {
                    Ok(resp) => resp,
                    Err(refusal) => refusal.into_response(),
                };
                personal(resp.headers_mut());
                resp
            }
        };
        let route = post(handler).layer(DefaultBodyLimit::max(MAX_FORWARD_BODY));
        match limit {
            Some((per_minute, client_ip)) => rate_limited(route, per_minute, &client_ip),
            None => route,
        }
    }

    async fn forward<U, S>(&self, state: &S, req: Request) -> Result<Response, Refusal>
    where
        U: FromRequestParts<S> + ConnectUser,
        S: Send + Sync,
    {
        check_origin(req.headers(), &self.allowed_origins)?;
        let (mut parts, body) = req.into_parts();
        let user = match U::from_request_parts(&mut parts, state).await {
            Ok(user) => user,
            Err(rejection) => return Ok(rejection.into_response()),
        };
        let req = Request::from_parts(parts, body);
        let AppJson(forward) = AppJson::<Forward>::from_request(req, state).await?;
        forward.check(self.client.client_id())?;
        if forward.client_user_id != user.client_user_id() {
            return Err(Refusal::forbidden(
                "This connection is for another user than the one signed in",
            ));
        }
        let token = SpecialToken::new(forward.special_token);
        match exchange_once(&self.client, &self.ledger, user.client_user_id(), &token).await {
            Ok(done) => Ok(Json(serde_json::json!({
                "zivaUserCode": done.ziva_user_code,
                "connected": true,
            }))
            .into_response()),
            Err(e) => Err(self.refusal(&e)),
        }
    }

    /// An exchange that did not connect the user, as the page's answer; what
    /// an operator must know goes to the log.
    fn refusal(&self, e: &ExchangeError) -> Refusal {
        match e {
            ExchangeError::TokenReused => Refusal::new(
                StatusCode::CONFLICT,
                "token_reused",
                "This specialToken was already used",
            ),
            ExchangeError::TokenRejected => {
                tracing::info!("ZivaCare refused a specialToken");
                token_rejected()
            }
            ExchangeError::Zivacare(e) => {
                if e.code() == "upstream_misconfigured" {
                    if !self.misconfiguration_logged.swap(true, Ordering::Relaxed) {
                        tracing::error!(
                            "configuration error: ZivaCare refused this backend's application ({}): \
                             check ZIVACARE_CLIENT_ID and ZIVACARE_CLIENT_SECRET",
                            e.zivacare_code().unwrap_or("?")
                        );
                    }
                } else {
                    tracing::error!(error = %e, "the token exchange with ZivaCare failed");
                }
                Refusal::from(e)
            }
            ExchangeError::Ledger(e) => {
                tracing::error!(error = %e, "an exchange could not be recorded");
                Refusal::internal()
            }
        }
    }
}
