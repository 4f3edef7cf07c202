//! `zivacare-sandbox`: the local ZivaCare on its own (`zivacare-dev sandbox`
//! runs the same). Configured by the environment: `ZIVACARE_SANDBOX_ADDR`
//! (default `127.0.0.1:8081`), `ZIVACARE_APPS` (a JSON file of registered
//! apps; default the demo app for `ZIVACARE_APP_ORIGINS`, itself by default
//! `http://127.0.0.1:8080,http://localhost:8080`), `ZIVACARE_SANDBOX_DB`
//! (default `data/sandbox.db`), `ZIVACARE_TOKEN_TTL_SECS` (default 600).

use std::net::SocketAddr;

use tracing_subscriber::EnvFilter;
use zivacare_sandbox::{demo_app, load_apps, router, Sandbox, SandboxConfig};

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

async fn run() -> Result<(), String> {
    let addr = var("ZIVACARE_SANDBOX_ADDR", "127.0.0.1:8081");
    let apps = match std::env::var("ZIVACARE_APPS") {
        Ok(path) => load_apps(path.as_ref())?,
        Err(_) => vec![demo_app(
            var(
                "ZIVACARE_APP_ORIGINS",
                "http://127.0.0.1:8080,http://localhost:8080",
            )
            .split(',')
            .map(|o| o.trim().to_owned())
            .collect(),
        )],
    };
    let mut config = SandboxConfig::new(apps, var("ZIVACARE_SANDBOX_DB", "data/sandbox.db"));
    config.token_ttl_secs = var("ZIVACARE_TOKEN_TTL_SECS", "600")
        .parse()
        .map_err(|_| "ZIVACARE_TOKEN_TTL_SECS is a number of seconds".to_owned())?;
    let sandbox = Sandbox::open(config).map_err(|e| format!("sandbox database: {e}"))?;
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} (ZIVACARE_SANDBOX_ADDR): {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("ZivaCare sandbox:  http://{local}");
    axum::serve(
        listener,
        router(sandbox).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run().await {
        eprintln!("zivacare-sandbox: {e}");
        std::process::exit(2);
    }
}
