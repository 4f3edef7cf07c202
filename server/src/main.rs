//! `zivacare-dev [demo|sandbox|backend]`: the local ZivaCare sandbox, the
//! reference backend, or both (the demo). Configured by environment variables;
//! see the README.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::TcpListener;
use zivacare_dev::backend::{self, Backend, BackendConfig};
use zivacare_dev::sandbox::{
    self, demo_app, load_apps, Sandbox, SandboxConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET,
};
use zivacare_dev::store::Database;
use zivacare_dev::util::{Keyring, Secret};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_or(name: &str, default: &str) -> String {
    env(name).unwrap_or_else(|| default.to_owned())
}

async fn bind(var: &str, default: &str) -> Result<(TcpListener, String), String> {
    let addr = env_or(var, default);
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} ({var}): {e}"))?;
    let local: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    Ok((listener, format!("http://{local}")))
}

/// The origins an app page at `url` is seen from: the URL's own, and with
/// `localhost` for `127.0.0.1` so both ways of typing it work.
fn origins_of(url: &str) -> Vec<String> {
    let mut list = vec![url.to_owned()];
    if let Some(rest) = url.strip_prefix("http://127.0.0.1:") {
        list.push(format!("http://localhost:{rest}"));
    }
    list
}

fn list(var: &str) -> Option<Vec<String>> {
    env(var).map(|v| {
        v.split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

async fn serve(listener: TcpListener, app: axum::Router) -> std::io::Result<()> {
    // With the client's address, for the rate limits.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await
}

fn rate_limit() -> Result<u32, String> {
    env_or("ZIVACARE_RATE_LIMIT", "120")
        .parse()
        .map_err(|_| "ZIVACARE_RATE_LIMIT must be a whole number".into())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

fn sandbox_config(app_origins: Vec<String>) -> Result<SandboxConfig, String> {
    let apps = match env("ZIVACARE_APPS") {
        Some(path) => load_apps(std::path::Path::new(&path))?,
        None => vec![demo_app(app_origins)],
    };
    Ok(SandboxConfig {
        apps,
        db_path: PathBuf::from(env_or("ZIVACARE_SANDBOX_DB", "data/sandbox.db")),
        rate_limit_per_minute: rate_limit()?,
        token_ttl_secs: env_or("ZIVACARE_TOKEN_TTL_SECS", "600")
            .parse()
            .map_err(|_| "ZIVACARE_TOKEN_TTL_SECS must be a number")?,
    })
}

fn backend_config(app_url: &str, sandbox_url: Option<&str>) -> Result<BackendConfig, String> {
    let demo = sandbox_url.is_some();
    let secret = match (env("ZIVACARE_CLIENT_SECRET"), demo) {
        (Some(s), _) => s,
        (None, true) => DEMO_CLIENT_SECRET.to_owned(),
        (None, false) => {
            return Err(
                "ZIVACARE_CLIENT_SECRET is not set: the backend needs your app's clientSecret"
                    .into(),
            )
        }
    };
    let db_path = PathBuf::from(env_or("ZIVACARE_DB", "data/backend.db"));
    let keys = match (env("ZIVACARE_KEYS"), demo) {
        (Some(spec), _) => Keyring::parse(&spec).map_err(|e| format!("ZIVACARE_KEYS: {e}"))?,
        (None, true) => demo_keys(&db_path)?,
        (None, false) => {
            return Err("ZIVACARE_KEYS is not set: the backend needs a key to encrypt stored tokens \
                        (id:base64 of 32 random bytes, e.g. `k1:$(head -c32 /dev/urandom | base64)`)"
                .into())
        }
    };
    let zivacare_url = env("ZIVACARE_API_URL")
        .or_else(|| sandbox_url.map(str::to_owned))
        .ok_or("ZIVACARE_API_URL is not set: ZivaCare's (or the sandbox's) base URL")?;
    let connect_url = env("ZIVACARE_CONNECT_URL")
        .unwrap_or_else(|| format!("{}/connect", zivacare_url.trim_end_matches('/')));
    Ok(BackendConfig {
        client_id: env_or("ZIVACARE_CLIENT_ID", DEMO_CLIENT_ID),
        client_secret: Secret::new(secret),
        zivacare_url,
        connect_url,
        allowed_origins: list("ZIVACARE_ALLOWED_ORIGINS").unwrap_or_else(|| origins_of(app_url)),
        keys,
        database: Database::from_url(
            env("DATABASE_URL"),
            env("ZIVACARE_DATABASE_CA").map(PathBuf::from),
            db_path,
        )?,
        www_dir: PathBuf::from(env_or("ZIVACARE_WWW", "www")),
        pkg_dir: PathBuf::from(env_or("ZIVACARE_PKG", "pkg")),
        rate_limit_per_minute: rate_limit()?,
        upstream_timeout: Duration::from_millis(
            env_or("ZIVACARE_UPSTREAM_TIMEOUT_MS", "10000")
                .parse()
                .map_err(|_| "ZIVACARE_UPSTREAM_TIMEOUT_MS must be a number")?,
        ),
    })
}

/// The demo's key: made once and kept beside its database (mode 0600), so a
/// restart still reads what it stored. A real deployment sets ZIVACARE_KEYS.
fn demo_keys(db_path: &std::path::Path) -> Result<Keyring, String> {
    let path = db_path.with_extension("key");
    let spec = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(_) => {
            let spec = Keyring::generate("demo");
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                let _ = std::fs::create_dir_all(dir);
            }
            write_private(&path, &spec)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            spec
        }
    };
    Keyring::parse(spec.trim()).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

async fn run() -> Result<(), String> {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "demo".into());
    match mode.as_str() {
        "demo" => {
            let (app_listener, app_url) = bind("ZIVACARE_BACKEND_ADDR", "127.0.0.1:8080").await?;
            let (sandbox_listener, sandbox_url) =
                bind("ZIVACARE_SANDBOX_ADDR", "127.0.0.1:8081").await?;
            let sb = Sandbox::open(sandbox_config(origins_of(&app_url))?)
                .map_err(|e| format!("sandbox database: {e}"))?;
            let be = Backend::open(backend_config(&app_url, Some(&sandbox_url))?).await?;
            println!("ZivaCare sandbox:  {sandbox_url}");
            println!("Your app (demo):   {app_url}   <- open this");
            let (a, b) = tokio::join!(
                serve(app_listener, backend::router(be)),
                serve(sandbox_listener, sandbox::router(sb))
            );
            a.and(b).map_err(|e| e.to_string())
        }
        "sandbox" => {
            let (listener, url) = bind("ZIVACARE_SANDBOX_ADDR", "127.0.0.1:8081").await?;
            let origins =
                list("ZIVACARE_APP_ORIGINS").unwrap_or_else(|| origins_of("http://127.0.0.1:8080"));
            let sb = Sandbox::open(sandbox_config(origins)?)
                .map_err(|e| format!("sandbox database: {e}"))?;
            println!("ZivaCare sandbox:  {url}");
            serve(listener, sandbox::router(sb))
                .await
                .map_err(|e| e.to_string())
        }
        "backend" => {
            let (listener, url) = bind("ZIVACARE_BACKEND_ADDR", "127.0.0.1:8080").await?;
            let be = Backend::open(backend_config(&url, None)?).await?;
            println!("Your app (backend): {url}");
            serve(listener, backend::router(be))
                .await
                .map_err(|e| e.to_string())
        }
        other => Err(format!(
            "unknown command {other:?}: use demo, sandbox or backend"
        )),
    }
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("zivacare-dev: {e}");
        std::process::exit(2);
    }
}
