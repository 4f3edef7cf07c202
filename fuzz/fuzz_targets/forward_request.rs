//! The backend's checks of the SDK's forward: any Origin, headers and body. They
//! must never panic, and pass on nothing but an allowed origin with the SDK's
//! header and JSON of exactly the SDK's shape, with well-formed values.
#![no_main]

use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use zivacare_dev::backend::{check_forward, BackendConfig};
use zivacare_dev::store::Database;
use zivacare_dev::util::{is_plain_text, is_token_text, Keyring, Secret};

const ORIGIN: &str = "http://127.0.0.1:8080";

static CONFIG: LazyLock<BackendConfig> = LazyLock::new(|| BackendConfig {
    client_id: "demo-client".into(),
    client_secret: Secret::new("unused"),
    keys: Keyring::parse("k:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=").unwrap(),
    zivacare_url: "http://127.0.0.1:9".into(),
    connect_url: "http://127.0.0.1:9/connect".into(),
    allowed_origins: vec![ORIGIN.into()],
    database: Database::Sqlite("unused.db".into()),
    www_dir: "www".into(),
    pkg_dir: "pkg".into(),
    upstream_timeout: std::time::Duration::from_secs(1),
    rate_limit_per_minute: 1,
});

fuzz_target!(|input: (Option<String>, Option<String>, bool, Vec<u8>)| {
    let (origin, content_type, sdk_header, body) = input;
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: Option<String>| {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, v);
        }
    };
    put("origin", origin);
    put("content-type", content_type);
    if sdk_header {
        headers.insert("x-zivacare-connect", HeaderValue::from_static("1"));
    }
    let Ok(f) = check_forward(&CONFIG, &headers, &body) else {
        return;
    };
    assert_eq!(headers["origin"], ORIGIN);
    assert!(headers.contains_key("x-zivacare-connect"));
    let ct = headers["content-type"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(ct.starts_with("application/json"), "{ct}");
    assert!(is_token_text(&f.special_token) && is_token_text(&f.state));
    assert_eq!(f.client_id, "demo-client");
    assert!(is_plain_text(&f.client_user_id, 512));
});
