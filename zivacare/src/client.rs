//! The [`Client`]: one application's credentials and one HTTP client, cheap
//! to clone, for ZivaCare's one-time calls (the specialToken exchange and user
//! creation); [`Client::user`] opens the data API for one user.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use crate::data::UnitSystem;
use crate::error::Error;
use crate::http::{send_once, Call};
use crate::secret::{AccessToken, ClientSecret, SpecialToken};

/// ZivaCare's developer host: the token exchange and user creation.
///
/// ```
/// assert_eq!(zivacare::PRODUCTION_DEVELOPER_URL, "https://developer.zivacare.com");
/// ```
pub const PRODUCTION_DEVELOPER_URL: &str = "https://developer.zivacare.com";
/// ZivaCare's API host: the data API.
///
/// ```
/// assert_eq!(zivacare::PRODUCTION_API_URL, "https://api.zivacare.com");
/// ```
pub const PRODUCTION_API_URL: &str = "https://api.zivacare.com";

/// Where the client sends its requests.
///
/// ```
/// use zivacare::Environment;
/// assert_eq!(Environment::default(), Environment::Production);
/// let sandbox = Environment::Local("http://127.0.0.1:8081".into());
/// # let _ = sandbox;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Environment {
    /// ZivaCare's two documented hosts: [`PRODUCTION_DEVELOPER_URL`] and
    /// [`PRODUCTION_API_URL`].
    #[default]
    Production,
    /// One base URL for both, such as the local sandbox's.
    Local(String),
}

/// How long a request may take, whole, unless the builder says otherwise.
///
/// ```
/// let client = zivacare::Client::builder("id", "secret").build().unwrap();
/// assert_eq!(client.timeout(), zivacare::DEFAULT_TIMEOUT);
/// ```
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times a read is tried again, unless the builder says otherwise.
///
/// ```
/// assert_eq!(zivacare::DEFAULT_READ_RETRIES, 2);
/// ```
pub const DEFAULT_READ_RETRIES: u32 = 2;

/// Builds a [`Client`]; see [`Client::builder`]. Every setting has a default.
///
/// ```
/// use std::time::Duration;
/// use zivacare::{Client, Environment, Error, UnitSystem};
///
/// let client = Client::builder("your-client-id", "your-client-secret")
///     .environment(Environment::Production)
///     .timeout(Duration::from_secs(8))
///     .connect_timeout(Duration::from_secs(2))
///     .unit_system(UnitSystem::Uk)
///     .read_retries(1)
///     .build()
///     .unwrap();
/// assert_eq!(client.timeout(), Duration::from_secs(8));
/// // Plain http only to a loopback host: the secret never travels in clear.
/// let err = Client::builder("id", "secret").local("http://zivacare.example.com").build();
/// assert!(matches!(err, Err(Error::Config { .. })));
/// ```
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    client_id: String,
    client_secret: ClientSecret,
    environment: Environment,
    timeout: Duration,
    connect_timeout: Duration,
    unit_system: UnitSystem,
    read_retries: u32,
}

/// `url` as a base URL: `https:`, or `http:` on a loopback host (a local
/// sandbox), without credentials, query or fragment.
fn base_url(url: &str, setting: &str) -> Result<Url, Error> {
    let bad = |why: &str| Error::Config {
        message: format!("{setting} {why}"),
    };
    let parsed = Url::parse(url).map_err(|_| bad("is not a URL"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(bad("must use https: (plain http: only on a loopback host)")),
        _ => return Err(bad("must be an https: URL")),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("must not hold a user name or password"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("must not have a query or a fragment"));
    }
    Ok(parsed)
}

impl ClientBuilder {
    /// Against ZivaCare's production hosts (the default), or `environment`.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// Against one base URL for every call, such as the local sandbox's
    /// (`http://127.0.0.1:8081`).
    pub fn local(self, url: impl Into<String>) -> Self {
        self.environment(Environment::Local(url.into()))
    }

    /// How long a request may take, from sending to the last byte of the
    /// answer (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long connecting may take (default: the timeout, at most 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The units data reads ask for (`X-Unit-System`; default metric).
    pub fn unit_system(mut self, units: UnitSystem) -> Self {
        self.unit_system = units;
        self
    }

    /// How many times a read is tried again after a 5xx, a 429, a timeout or a
    /// failed connection (default 2). One-time calls are never repeated.
    pub fn read_retries(mut self, retries: u32) -> Self {
        self.read_retries = retries;
        self
    }

    /// The client, or a [`Error::Config`] naming what is wrong (see the
    /// builder's example).
    pub fn build(self) -> Result<Client, Error> {
        if self.client_id.trim().is_empty() {
            return Err(Error::Config {
                message: "the clientId is empty".into(),
            });
        }
        if self.client_secret.expose().is_empty() {
            return Err(Error::Config {
                message: "the clientSecret is empty".into(),
            });
        }
        let (developer, api) = match &self.environment {
            Environment::Production => (
                base_url(PRODUCTION_DEVELOPER_URL, "the developer URL")?,
                base_url(PRODUCTION_API_URL, "the API URL")?,
            ),
            Environment::Local(url) => {
                let base = base_url(url, "the base URL")?;
                (base.clone(), base)
            }
        };
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout.min(self.timeout))
            // A 307/308 would send the clientSecret again, wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("zivacare-rust/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| Error::Config {
                message: "the HTTP client cannot be built (TLS)".into(),
            })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                client_id: self.client_id,
                client_secret: self.client_secret,
                developer,
                api,
                unit_system: self.unit_system,
                read_retries: self.read_retries,
                timeout: self.timeout,
            }),
        })
    }
}

pub(crate) struct Inner {
    pub http: reqwest::Client,
    pub client_id: String,
    client_secret: ClientSecret,
    developer: Url,
    pub api: Url,
    pub unit_system: UnitSystem,
    pub read_retries: u32,
    timeout: Duration,
}

/// A client of ZivaCare's API for one application: cheap to clone (one HTTP
/// client inside, shared), safe to share between tasks.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sandbox = zivacare_sandbox::spawn_demo().await?;
/// # let the_special_token = sandbox.mint("demo-client", "ann@example.com", &["fitbit"]).await?;
/// use zivacare::{Client, DataType, Query};
///
/// let client = Client::builder("demo-client", "sandbox-demo-secret")
/// #   .local(&sandbox.url)
///     .build()?;
/// // The specialToken your page forwarded, once:
/// let connection = client.exchange(the_special_token).await?;
/// // Store connection.ziva_user_code and connection.access_token; later:
/// let user = client.user(connection.access_token.clone());
/// let page = user.page(DataType::HeartRates, Query::new().limit(7)).await?;
/// println!("{} heart rate readings", page.total);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.inner.client_id)
            .field("client_secret", &self.inner.client_secret)
            .field("developer", &self.inner.developer.as_str())
            .field("api", &self.inner.api.as_str())
            .finish_non_exhaustive()
    }
}

/// What the token exchange gives: the user's code and access token.
///
/// ```
/// let connection = zivacare::Connection {
///     ziva_user_code: "e231e984-2209-4a10-b634-2257b89c200f".into(),
///     access_token: "acc_secret".into(),
///     name: "Ann".into(),
///     email: "ann@example.com".into(),
/// };
/// assert!(!format!("{connection:?}").contains("acc_secret"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// The user's global code at ZivaCare.
    pub ziva_user_code: String,
    /// The user's access token to the data API (redacted when printed).
    pub access_token: AccessToken,
    /// The user's name, as ZivaCare has it (may be empty).
    pub name: String,
    /// The user's e-mail, as ZivaCare has it (may be empty).
    pub email: String,
}

/// What user creation gives: the new user's specialToken, to exchange
/// (see [`Client::create_user`]).
///
/// ```
/// let created = zivacare::CreatedUser {
///     special_token: "tok_secret".into(),
///     client_id: "your-client-id".into(),
///     client_user_id: "ann@example.com".into(),
///     client_user_name: "Ann".into(),
/// };
/// assert!(!format!("{created:?}").contains("tok_secret"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedUser {
    /// The one-time token to exchange with [`Client::exchange`].
    pub special_token: SpecialToken,
    /// Your application.
    pub client_id: String,
    /// Your user's id.
    pub client_user_id: String,
    /// Your user's name.
    pub client_user_name: String,
}

#[derive(Deserialize)]
struct RawConnection {
    ziva_user_code: Option<String>,
    access_token: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCreated {
    special_token: Option<String>,
    client_id: Option<String>,
    client_user_id: Option<String>,
    client_user_name: Option<String>,
}

/// `base` with `path` (written from the root, `/a/b`) in place of its own.
pub(crate) fn at(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

impl Client {
    /// A builder for your application (`client_id`, `client_secret`: from its
    /// settings at ZivaCare), against ZivaCare's production hosts unless told
    /// otherwise.
    ///
    /// ```
    /// use std::time::Duration;
    /// use zivacare::{Client, UnitSystem};
    ///
    /// let client = Client::builder("your-client-id", "your-client-secret")
    ///     .local("http://127.0.0.1:8081")
    ///     .timeout(Duration::from_secs(5))
    ///     .unit_system(UnitSystem::Us)
    ///     .build()
    ///     .unwrap();
    /// assert!(!format!("{client:?}").contains("your-client-secret"));
    /// ```
    pub fn builder(
        client_id: impl Into<String>,
        client_secret: impl Into<ClientSecret>,
    ) -> ClientBuilder {
        ClientBuilder {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            environment: Environment::Production,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: Duration::from_secs(5),
            unit_system: UnitSystem::Metric,
            read_retries: DEFAULT_READ_RETRIES,
        }
    }

    /// A client configured by the environment: `ZIVACARE_CLIENT_ID` and
    /// `ZIVACARE_CLIENT_SECRET` (required), and `ZIVACARE_API_URL` (optional:
    /// one base URL for every call, such as the sandbox's; ZivaCare's
    /// production hosts without it). A missing variable is an
    /// [`Error::Config`] that names it.
    ///
    /// ```
    /// // With no ZIVACARE_CLIENT_ID set:
    /// # std::env::remove_var("ZIVACARE_CLIENT_ID");
    /// let err = zivacare::Client::from_env().unwrap_err();
    /// assert!(err.to_string().contains("ZIVACARE_CLIENT_ID"));
    /// ```
    pub fn from_env() -> Result<Client, Error> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let required = |name: &str| {
            var(name).ok_or_else(|| Error::Config {
                message: format!("{name} is not set"),
            })
        };
        let id = required("ZIVACARE_CLIENT_ID")?;
        let secret = required("ZIVACARE_CLIENT_SECRET")?;
        let mut builder = Client::builder(id, secret);
        if let Some(url) = var("ZIVACARE_API_URL") {
            base_url(&url, "ZIVACARE_API_URL")?;
            builder = builder.local(url);
        }
        builder.build()
    }

    /// Your application's clientId.
    ///
    /// ```
    /// let client = zivacare::Client::builder("your-client-id", "secret").build().unwrap();
    /// assert_eq!(client.client_id(), "your-client-id");
    /// ```
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// How long each request may take, as built (see [`DEFAULT_TIMEOUT`]).
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Exchanges a user's one-time `special_token` for their connection:
    /// `POST /oauth/v2/get-access-token` with the token and your
    /// clientSecret, as a form like ZivaCare's docs. Sent once: a specialToken
    /// is single-use, so a request that may have reached ZivaCare is never
    /// repeated, and a redirect is never followed (it would send the
    /// clientSecret again).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// # let client = sandbox.client();
    /// # let the_special_token = sandbox.mint("demo-client", "ann@example.com", &[]).await?;
    /// match client.exchange(the_special_token.as_str()).await {
    ///     Ok(connection) => println!("connected {}", connection.ziva_user_code),
    ///     Err(zivacare::Error::TokenRejected { .. }) => println!("connect again"),
    ///     Err(e) => eprintln!("{e} ({})", e.code()),
    /// }
    /// // Once only: the same token again is refused.
    /// let again = client.exchange(the_special_token).await.unwrap_err();
    /// assert_eq!(again.code(), "token_rejected");
    /// # Ok(()) }
    /// ```
    pub async fn exchange(
        &self,
        special_token: impl Into<SpecialToken>,
    ) -> Result<Connection, Error> {
        let token = special_token.into();
        let secret = self.inner.client_secret.expose();
        let secrets = [token.expose(), secret];
        let request = self
            .inner
            .http
            .post(at(
                &self.inner.developer,
                &["oauth", "v2", "get-access-token"],
            ))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[("specialToken", token.expose()), ("clientSecret", secret)]);
        let answer = send_once(request, Call::Exchange, &secrets).await?;
        let raw: RawConnection =
            serde_json::from_value(answer.json()?).map_err(|_| Error::InvalidResponse {
                problem: "the exchange's answer is not an object",
            })?;
        match (raw.ziva_user_code, raw.access_token) {
            (Some(code), Some(token)) if !code.is_empty() && !token.is_empty() => Ok(Connection {
                ziva_user_code: code,
                access_token: AccessToken::new(token),
                name: raw.name.unwrap_or_default(),
                email: raw.email.unwrap_or_default(),
            }),
            _ => Err(Error::InvalidResponse {
                problem: "the exchange's answer has no ziva_user_code or access_token",
            }),
        }
    }

    /// Creates a user of your application without the Connect popup
    /// (`POST /api/v2/app/create-user`, ZivaCare's "Manage Users"): your
    /// `client_user_id` (an e-mail or any id of yours) and their name. Gives
    /// the user's specialToken, to [`exchange`](Client::exchange). Sent once.
    /// A user that exists already is [`Error::DuplicateUser`] (`0001`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// # let client = sandbox.client();
    /// let created = client.create_user("ann@example.com", "Ann Example").await?;
    /// let connection = client.exchange(created.special_token).await?;
    /// assert_eq!(connection.name, "Ann Example");
    /// let again = client.create_user("ann@example.com", "Ann").await.unwrap_err();
    /// assert!(matches!(again, zivacare::Error::DuplicateUser { .. }));
    /// # Ok(()) }
    /// ```
    pub async fn create_user(
        &self,
        client_user_id: &str,
        client_user_name: &str,
    ) -> Result<CreatedUser, Error> {
        let secret = self.inner.client_secret.expose();
        let request = self
            .inner
            .http
            .post(at(
                &self.inner.developer,
                &["api", "v2", "app", "create-user"],
            ))
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&serde_json::json!({
                "clientId": self.inner.client_id,
                "clientSecret": secret,
                "clientUserId": client_user_id,
                "clientUserName": client_user_name,
            }));
        let answer = send_once(request, Call::CreateUser, &[secret]).await?;
        let raw: RawCreated =
            serde_json::from_value(answer.json()?).map_err(|_| Error::InvalidResponse {
                problem: "create-user's answer is not an object",
            })?;
        let token = raw
            .special_token
            .filter(|t| !t.is_empty())
            .ok_or(Error::InvalidResponse {
                problem: "create-user's answer has no specialToken",
            })?;
        Ok(CreatedUser {
            special_token: SpecialToken::new(token),
            client_id: raw
                .client_id
                .unwrap_or_else(|| self.inner.client_id.clone()),
            client_user_id: raw
                .client_user_id
                .unwrap_or_else(|| client_user_id.to_owned()),
            client_user_name: raw
                .client_user_name
                .unwrap_or_else(|| client_user_name.to_owned()),
        })
    }
}
