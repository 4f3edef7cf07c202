//! The backend's handling of the SDK's forward (the `zivacare` crate's token
//! route), through its real router: any
//! Origin, content type, header and body, from a signed-in page. It must never
//! panic, and reach the exchange (a 502 here: nothing listens at ZivaCare) with
//! nothing but an allowed origin, the SDK's header, and JSON of exactly the
//! SDK's shape, with well-formed values, for the signed-in user.
#![no_main]

use std::sync::LazyLock;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;
use zivacare::axum::ClientIp;
use zivacare::text::{is_plain_text, is_token_text};
use zivacare::ClientSecret;
use zivacare_dev::auth::Sessions;
use zivacare_dev::backend::{self, Backend, BackendConfig};
use zivacare_dev::crypto::Keyring;
use zivacare_dev::store::Database;

const ORIGIN: &str = "http://127.0.0.1:8080";
const USER: &str = "fuzz@example.com";

struct Fixture {
    rt: tokio::runtime::Runtime,
    router: Router,
    cookie: String,
    _dir: tempfile::TempDir,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = BackendConfig {
        client_id: "demo-client".into(),
        client_secret: ClientSecret::new("unused"),
        keys: Keyring::parse("k:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=").unwrap(),
        sessions: Sessions::new(&Sessions::generate_key(), false).unwrap(),
        zivacare_url: Some("http://127.0.0.1:9".into()),
        connect_url: "http://127.0.0.1:9/connect".into(),
        allowed_origins: vec![ORIGIN.into()],
        database: Database::Sqlite(dir.path().join("fuzz.db")),
        www_dir: dir.path().join("www"),
        pkg_dir: dir.path().join("pkg"),
        upstream_timeout: std::time::Duration::from_millis(50),
        rate_limit_per_minute: u32::MAX,
        client_ip: ClientIp::Peer,
    };
    let router = backend::router(rt.block_on(Backend::open(config)).unwrap());
    let sign_in = Request::post("/api/zivacare/session")
        .header("content-type", "application/json")
        .header("origin", ORIGIN)
        .header("x-zivacare-connect", "1")
        .body(Body::from(format!(r#"{{"user":"{USER}"}}"#)))
        .unwrap();
    let resp = rt.block_on(router.clone().oneshot(sign_in)).unwrap();
    let set = resp.headers()["set-cookie"].to_str().unwrap();
    let cookie = set.split(';').next().unwrap().to_owned();
    Fixture {
        rt,
        router,
        cookie,
        _dir: dir,
    }
});

fuzz_target!(|input: (Option<String>, Option<String>, bool, Vec<u8>)| {
    let (origin, content_type, sdk_header, body) = input;
    let f = &*FIXTURE;
    let mut req = Request::post("/api/zivacare/token").header("cookie", &f.cookie);
    for (name, value) in [("origin", &origin), ("content-type", &content_type)] {
        if let Some(v) = value
            .as_deref()
            .and_then(|v| axum::http::HeaderValue::from_str(v).ok())
        {
            req = req.header(name, v);
        }
    }
    if sdk_header {
        req = req.header("x-zivacare-connect", "1");
    }
    let Ok(req) = req.body(Body::from(body.clone())) else {
        return;
    };
    let status = f.rt.block_on(f.router.clone().oneshot(req)).unwrap().status();
    assert!(status != 200 && status != 500, "{status}");
    if status != 502 {
        return;
    }
    // It reached the exchange: it must have been exactly the SDK's forward.
    assert_eq!(origin.as_deref(), Some(ORIGIN));
    assert!(sdk_header);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let o = v.as_object().unwrap();
    assert_eq!(o.len(), 4);
    let text = |k: &str| o[k].as_str().unwrap();
    assert!(is_token_text(text("specialToken")) && is_token_text(text("state")));
    assert_eq!(text("clientId"), "demo-client");
    assert_eq!(text("clientUserId"), USER);
    assert!(is_plain_text(text("clientUserId"), 512));
});
