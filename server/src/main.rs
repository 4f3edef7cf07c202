//! `zivacare-dev [demo|sandbox|backend]`: the local ZivaCare sandbox, the
//! reference backend, or both (the demo). Configured by options or environment
//! variables; see docs/server.md and `zivacare-dev help`.

use std::net::SocketAddr;

use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use zivacare_dev::backend::{self, Backend};
use zivacare_dev::config::{origins_of, Cli, Command};
use zivacare_sandbox::{self as sandbox, Sandbox};

async fn bind(addr: &str, what: &str) -> Result<(TcpListener, String), String> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} ({what}): {e}"))?;
    let local: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    Ok((listener, format!("http://{local}")))
}

async fn serve(listener: TcpListener, app: axum::Router) -> Result<(), String> {
    // With the client's address, for the rate limits.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await
    .map_err(|e| e.to_string())
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

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Demo {
            sandbox: sb,
            backend: be,
            limits,
        } => {
            let (app_listener, app_url) = bind(&be.backend_addr, "ZIVACARE_BACKEND_ADDR").await?;
            let (sandbox_listener, sandbox_url) =
                bind(&sb.sandbox_addr, "ZIVACARE_SANDBOX_ADDR").await?;
            let sandbox = Sandbox::open(sb.config(&limits, origins_of(&app_url))?)
                .map_err(|e| format!("sandbox database: {e}"))?;
            let backend = Backend::open(be.config(&limits, &app_url, Some(&sandbox_url))?).await?;
            println!("ZivaCare sandbox:  {sandbox_url}");
            println!("Your app (demo):   {app_url}   <- open this");
            let (a, b) = tokio::join!(
                serve(app_listener, backend::router(backend)),
                serve(sandbox_listener, sandbox::router(sandbox))
            );
            a.and(b)
        }
        Command::Sandbox {
            sandbox: sb,
            limits,
            app_origins,
        } => {
            let (listener, url) = bind(&sb.sandbox_addr, "ZIVACARE_SANDBOX_ADDR").await?;
            let origins = app_origins.unwrap_or_else(|| origins_of("http://127.0.0.1:8080"));
            let sandbox = Sandbox::open(sb.config(&limits, origins)?)
                .map_err(|e| format!("sandbox database: {e}"))?;
            println!("ZivaCare sandbox:  {url}");
            serve(listener, sandbox::router(sandbox)).await
        }
        Command::Backend {
            backend: be,
            limits,
        } => {
            let (listener, url) = bind(&be.backend_addr, "ZIVACARE_BACKEND_ADDR").await?;
            let backend = Backend::open(be.config(&limits, &url, None)?).await?;
            println!("Your app (backend): {url}");
            serve(listener, backend::router(backend)).await
        }
    }
}

#[tokio::main]
async fn main() {
    // Logs go to stderr; RUST_LOG chooses what (default: info).
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    // Without a command, the demo.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.len() == 1 {
        args.push("demo".into());
    }
    if let Err(e) = run(Cli::parse_from(args)).await {
        eprintln!("zivacare-dev: {e}");
        std::process::exit(2);
    }
}
