//! A local ZivaCare, faithful to what ZivaCare documents, for tests and
//! demos: the Connect page the SDK's popup opens, the token exchange and user
//! creation an integrator's server calls, and the whole data API, every
//! documented type read and written, on `/api/v1/` and `/api/v2/`.
//!
//! [`spawn`] starts one on a free loopback port in one call:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use zivacare_sandbox::{demo_app, spawn, SandboxConfig, DEMO_CLIENT_SECRET};
//!
//! let sandbox = spawn(SandboxConfig::in_memory(vec![demo_app(vec![
//!     "http://127.0.0.1:8080".into(),
//! ])]))
//! .await?;
//! // What "Finish Connecting Data" gives, without a browser:
//! let token = sandbox.mint("demo-client", "ann@example.com", &["fitbit"]).await?;
//! let answer = reqwest::Client::new()
//!     .post(format!("{}/oauth/v2/get-access-token", sandbox.url))
//!     .form(&[("specialToken", token.as_str()), ("clientSecret", DEMO_CLIENT_SECRET)])
//!     .send()
//!     .await?;
//! assert_eq!(answer.status(), 200);
//! # Ok(()) }
//! ```
//!
//! Where ZivaCare's pages are silent (the exchange's errors, the profile's
//! fields, the answer to a write), the sandbox's answers are its own, in
//! ZivaCare's `{code, message}` shape; docs/server.md lists them. Modules, from
//! the bottom: `util`, `apps`, `samples` (the sample readings and unit
//! conversions), `state` (the database), then the endpoints: `connect` (the
//! Connect page), `oauth` (exchange and user creation) and `human` (the data API).

#![warn(missing_docs)]

mod apps;
mod connect;
mod human;
mod oauth;
mod samples;
mod state;
mod util;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use zivacare::axum::{rate_limited, request_log, Refusal};

pub use apps::{demo_app, load_apps, RegisteredApp, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
pub use samples::{Source, SOURCES};
pub use state::{Sandbox, SandboxConfig};

/// The largest request body: a write of many records.
const MAX_BODY: usize = 256 * 1024;

/// The sandbox's routes, to serve on a listener of your own (see [`spawn`]
/// for one on a free port).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::net::SocketAddr;
/// let sandbox = zivacare_sandbox::Sandbox::open(zivacare_sandbox::SandboxConfig::in_memory(vec![]))?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let app = zivacare_sandbox::router(sandbox).into_make_service_with_connect_info::<SocketAddr>();
/// tokio::spawn(async move { axum::serve(listener, app).await });
/// # Ok(()) }
/// ```
pub fn router(sandbox: Arc<Sandbox>) -> Router {
    let (per_minute, client_ip) = (sandbox.rate_limit_per_minute, sandbox.client_ip.clone());
    let limit = |route| rate_limited(route, per_minute, &client_ip);
    let router = Router::new()
        .route("/connect", limit(get(connect::connect_page)))
        .route(
            "/connect.js",
            get(|| connect::asset("text/javascript; charset=utf-8", connect::SCRIPT)),
        )
        .route(
            "/connect.css",
            get(|| connect::asset("text/css; charset=utf-8", connect::STYLE)),
        )
        .route("/connect/finish", limit(post(connect::connect_finish)))
        .route(
            "/oauth/v2/get-access-token",
            limit(post(oauth::get_access_token)),
        )
        .route("/api/{version}/app/create-user", post(oauth::create_user))
        .route(
            "/api/{version}/human/{kind}",
            get(human::list).post(human::write),
        )
        .route("/api/{version}/human/{kind}/{code}", get(human::record))
        .route("/api/{version}/human/{kind}/daily/{day}", get(human::daily))
        .route(
            "/api/{version}/human/{kind}/period/{start}/{end}",
            get(human::period),
        )
        .fallback(|| async {
            Refusal::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "No such endpoint",
            )
        })
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .with_state(sandbox);
    request_log(router)
}

/// A sandbox serving on loopback, until dropped (see [`spawn`]).
pub struct Running {
    /// Its base URL, `http://127.0.0.1:PORT`: ZivaCare's hosts, both.
    pub url: String,
    /// The sandbox itself.
    pub sandbox: Arc<Sandbox>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// A client of the built-in demo app against this sandbox: what an
    /// application's own tests use instead of ZivaCare.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// let token = sandbox.mint("demo-client", "ann@example.com", &["omron"]).await?;
    /// let connection = sandbox.client().exchange(token).await?;
    /// assert_eq!(connection.email, "ann@example.com");
    /// # Ok(()) }
    /// ```
    pub fn client(&self) -> zivacare::Client {
        zivacare::Client::builder(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
            .local(&self.url)
            .build()
            .expect("a loopback URL and the demo's credentials")
    }

    /// Mints a specialToken for `client_user_id` of `client_id`, granting the
    /// sample data of `sources` (ids of [`SOURCES`]), as the Connect page's
    /// "Finish Connecting Data" does.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// let token = sandbox.mint("demo-client", "ann@example.com", &["omron", "oura"]).await?;
    /// let user = sandbox.client().user(sandbox.client().exchange(token).await?.access_token);
    /// let pressures = user.page(zivacare::DataType::BloodPressures, zivacare::Query::new()).await?;
    /// assert_eq!(pressures.total, 30);
    /// # Ok(()) }
    /// ```
    pub async fn mint(
        &self,
        client_id: &str,
        client_user_id: &str,
        sources: &[&str],
    ) -> Result<String, String> {
        self.sandbox
            .mint(client_id, client_user_id, sources)
            .await
            .map_err(|e| e.message)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a sandbox with `config` on a free port of 127.0.0.1, serving in
/// this runtime until the [`Running`] is dropped.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use zivacare_sandbox::{demo_app, spawn, SandboxConfig};
/// let sandbox = spawn(SandboxConfig::in_memory(vec![demo_app(vec!["https://app.example.com".into()])])).await?;
/// assert!(sandbox.url.starts_with("http://127.0.0.1:"));
/// # Ok(()) }
/// ```
pub async fn spawn(config: SandboxConfig) -> std::io::Result<Running> {
    let sandbox = Sandbox::open(config).map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = router(Arc::clone(&sandbox)).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Running { url, sandbox, task })
}

/// [`spawn`] with the built-in demo app (registered for the origins
/// `http://127.0.0.1:8080` and `http://localhost:8080`), in memory.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let sandbox = zivacare_sandbox::spawn_demo().await?;
/// # let _ = sandbox;
/// # Ok(()) }
/// ```
pub async fn spawn_demo() -> std::io::Result<Running> {
    spawn(SandboxConfig::in_memory(vec![demo_app(vec![
        "http://127.0.0.1:8080".into(),
        "http://localhost:8080".into(),
    ])]))
    .await
}
