//! Configuration: `zivacare-dev [demo|sandbox|backend]`, each setting an
//! option or an environment variable (see docs/server.md), read with clap.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use zivacare::axum::ClientIp;
use zivacare::ClientSecret;
use zivacare_sandbox::{demo_app, load_apps, SandboxConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};

use crate::auth::Sessions;
use crate::backend::BackendConfig;
use crate::crypto::Keyring;
use crate::store::Database;

#[derive(Parser, Debug)]
#[command(
    name = "zivacare-dev",
    about = "The local ZivaCare sandbox and the reference backend of ZivaCare Connect"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The whole flow on this machine: the sandbox, and the backend serving the demo app.
    Demo {
        #[command(flatten)]
        sandbox: SandboxArgs,
        #[command(flatten)]
        backend: BackendArgs,
        #[command(flatten)]
        limits: Limits,
    },
    /// The local ZivaCare sandbox: the Connect page and ZivaCare's API.
    Sandbox {
        #[command(flatten)]
        sandbox: SandboxArgs,
        #[command(flatten)]
        limits: Limits,
        /// Origins of the built-in demo app (without ZIVACARE_APPS).
        #[arg(long, env = "ZIVACARE_APP_ORIGINS", value_delimiter = ',')]
        app_origins: Option<Vec<String>>,
    },
    /// The reference backend: your server, against ZivaCare or the sandbox.
    Backend {
        #[command(flatten)]
        backend: BackendArgs,
        #[command(flatten)]
        limits: Limits,
    },
}

#[derive(Args, Debug)]
pub struct SandboxArgs {
    #[arg(long, env = "ZIVACARE_SANDBOX_ADDR", default_value = "127.0.0.1:8081")]
    pub sandbox_addr: String,
    /// A JSON file of registered apps: [{clientId, clientSecret, name, origins}].
    #[arg(long, env = "ZIVACARE_APPS")]
    pub apps: Option<PathBuf>,
    #[arg(long, env = "ZIVACARE_SANDBOX_DB", default_value = "data/sandbox.db")]
    pub sandbox_db: PathBuf,
    /// How long a specialToken stays valid, in seconds.
    #[arg(long, env = "ZIVACARE_TOKEN_TTL_SECS", default_value_t = 600)]
    pub token_ttl_secs: i64,
}

#[derive(Args, Debug)]
pub struct BackendArgs {
    #[arg(long, env = "ZIVACARE_BACKEND_ADDR", default_value = "127.0.0.1:8080")]
    pub backend_addr: String,
    #[arg(long, env = "ZIVACARE_CLIENT_ID", default_value = DEMO_CLIENT_ID)]
    pub client_id: String,
    /// Your app's clientSecret; never sent to a browser or logged.
    #[arg(long, env = "ZIVACARE_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// Keys that encrypt stored accessTokens: id:base64 of 32 bytes, comma-separated.
    #[arg(long, env = "ZIVACARE_KEYS", hide_env_values = true)]
    pub keys: Option<String>,
    /// The key that signs session cookies: base64 of at least 64 bytes.
    #[arg(long, env = "ZIVACARE_SESSION_KEY", hide_env_values = true)]
    pub session_key: Option<String>,
    /// One base URL for ZivaCare's calls, such as the sandbox's (default:
    /// ZivaCare's production hosts).
    #[arg(long, env = "ZIVACARE_API_URL")]
    pub api_url: Option<String>,
    /// The Connect page the demo app opens (default: {API URL}/connect, or
    /// the SDK's default Connect page without an API URL).
    #[arg(long, env = "ZIVACARE_CONNECT_URL")]
    pub connect_url: Option<String>,
    /// Origins allowed to POST (default: the backend's own).
    #[arg(long, env = "ZIVACARE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Option<Vec<String>>,
    #[arg(long, env = "ZIVACARE_DB", default_value = "data/backend.db")]
    pub db: PathBuf,
    /// postgres://…: keep the backend's data in PostgreSQL instead of SQLite.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// A PEM file of further CA certificates to trust for PostgreSQL's.
    #[arg(long, env = "ZIVACARE_DATABASE_CA")]
    pub database_ca: Option<PathBuf>,
    #[arg(long, env = "ZIVACARE_WWW", default_value = "www")]
    pub www: PathBuf,
    #[arg(long, env = "ZIVACARE_PKG", default_value = "pkg")]
    pub pkg: PathBuf,
    #[arg(long, env = "ZIVACARE_UPSTREAM_TIMEOUT_MS", default_value_t = 10_000)]
    pub upstream_timeout_ms: u64,
}

#[derive(Args, Debug)]
pub struct Limits {
    /// Requests a client address may make a minute to the rate-limited endpoints.
    #[arg(long, env = "ZIVACARE_RATE_LIMIT", default_value_t = 120)]
    pub rate_limit: u32,
    /// Where a client's address comes from: `peer`, or a header a trusted proxy
    /// sets, such as `x-forwarded-for`.
    #[arg(long, env = "ZIVACARE_CLIENT_IP", default_value = "peer")]
    pub client_ip: String,
}

impl Limits {
    pub fn client_ip(&self) -> Result<ClientIp, String> {
        ClientIp::parse(&self.client_ip).map_err(|e| format!("ZIVACARE_CLIENT_IP: {e}"))
    }
}

/// The origins an app page at `url` is seen from: the URL's own, and with
/// `localhost` for `127.0.0.1` so both ways of typing it work.
pub fn origins_of(url: &str) -> Vec<String> {
    let mut list = vec![url.to_owned()];
    if let Some(rest) = url.strip_prefix("http://127.0.0.1:") {
        list.push(format!("http://localhost:{rest}"));
    }
    list
}

impl SandboxArgs {
    pub fn config(
        &self,
        limits: &Limits,
        app_origins: Vec<String>,
    ) -> Result<SandboxConfig, String> {
        let apps = match &self.apps {
            Some(path) => load_apps(path)?,
            None => vec![demo_app(app_origins)],
        };
        Ok(SandboxConfig {
            rate_limit_per_minute: limits.rate_limit,
            client_ip: limits.client_ip()?,
            token_ttl_secs: self.token_ttl_secs,
            ..SandboxConfig::new(apps, self.sandbox_db.clone())
        })
    }
}

/// A secret of the demo: made once and kept beside its database (mode 0600),
/// so a restart still reads what it stored. A real deployment sets its variable.
fn demo_secret(path: &Path, make: impl FnOnce() -> String) -> Result<String, String> {
    if let Ok(s) = std::fs::read_to_string(path) {
        return Ok(s.trim().to_owned());
    }
    let secret = make();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    write_private(path, &secret).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(secret)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

impl BackendArgs {
    /// The backend's configuration, serving at `app_url`; in the demo, against
    /// the sandbox at `sandbox_url`, with the demo's own secret and keys.
    pub fn config(
        &self,
        limits: &Limits,
        app_url: &str,
        sandbox_url: Option<&str>,
    ) -> Result<BackendConfig, String> {
        let demo = sandbox_url.is_some();
        let secret =
            match (&self.client_secret, demo) {
                (Some(s), _) => s.clone(),
                (None, true) => DEMO_CLIENT_SECRET.to_owned(),
                (None, false) => return Err(
                    "ZIVACARE_CLIENT_SECRET is not set: the backend needs your app's clientSecret"
                        .into(),
                ),
            };
        let keys = match (&self.keys, demo) {
            (Some(spec), _) => spec.clone(),
            (None, true) => demo_secret(&self.db.with_extension("key"), || Keyring::generate("demo"))?,
            (None, false) => {
                return Err("ZIVACARE_KEYS is not set: the backend needs a key to encrypt stored tokens \
                            (id:base64 of 32 random bytes, e.g. `k1:$(head -c32 /dev/urandom | base64)`)"
                    .into())
            }
        };
        let keys = Keyring::parse(&keys).map_err(|e| format!("ZIVACARE_KEYS: {e}"))?;
        let session_key = match (&self.session_key, demo) {
            (Some(k), _) => k.clone(),
            (None, true) => demo_secret(&self.db.with_extension("session-key"), Sessions::generate_key)?,
            (None, false) => {
                return Err("ZIVACARE_SESSION_KEY is not set: the backend needs a key to sign session \
                            cookies (base64 of 64 random bytes, e.g. `$(head -c64 /dev/urandom | base64 -w0)`)"
                    .into())
            }
        };
        let zivacare_url = self
            .api_url
            .clone()
            .or_else(|| sandbox_url.map(str::to_owned));
        let connect_url = self
            .connect_url
            .clone()
            .unwrap_or_else(|| match &zivacare_url {
                Some(url) => format!("{}/connect", url.trim_end_matches('/')),
                None => zivacare_connect::DEFAULT_CONNECT_URL.to_owned(),
            });
        let allowed_origins = self
            .allowed_origins
            .clone()
            .unwrap_or_else(|| origins_of(app_url));
        // Cookies are Secure where the app is served over HTTPS.
        let secure = allowed_origins.iter().all(|o| o.starts_with("https://"));
        Ok(BackendConfig {
            client_id: self.client_id.clone(),
            client_secret: ClientSecret::new(secret),
            keys,
            sessions: Sessions::new(&session_key, secure)
                .map_err(|e| format!("ZIVACARE_SESSION_KEY: {e}"))?,
            zivacare_url,
            connect_url,
            allowed_origins,
            database: Database::from_url(
                self.database_url.clone(),
                self.database_ca.clone(),
                self.db.clone(),
            )?,
            www_dir: self.www.clone(),
            pkg_dir: self.pkg.clone(),
            rate_limit_per_minute: limits.rate_limit,
            client_ip: limits.client_ip()?,
            upstream_timeout: Duration::from_millis(self.upstream_timeout_ms),
        })
    }
}
