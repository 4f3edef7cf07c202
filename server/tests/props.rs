//! Property test of the backend's request parsing: no body, header or content
//! type panics it, and nothing outside the accepted shape, for the signed-in
//! user, is exchanged or stored.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::*;
use proptest::prelude::*;

fn body() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        Just("\"specialToken\"".to_owned()),
        Just("\"clientId\"".to_owned()),
        Just("\"clientUserId\"".to_owned()),
        Just("\"state\"".to_owned()),
        Just("\"__proto__\"".to_owned()),
        "\"[a-zA-Z]{0,12}\"",
    ];
    let value = prop_oneof![
        Just("\"demo-client\"".to_owned()),
        Just(format!("\"{USER}\"")),
        Just("null".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        "-?[0-9]{1,20}(\\.[0-9]+)?",
        "\"[ -~]{0,80}\"",
        "\"[A-Za-z0-9_.~-]{0,600}\"",
    ];
    prop_oneof![
        any::<String>(),
        proptest::collection::vec((field, value), 0..7).prop_map(|pairs| {
            let inner: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
            format!("{{{}}}", inner.join(","))
        }),
    ]
}

/// The signed-in user of every case.
const USER: &str = "prop@example.com";

/// One backend for every case, and a session. Nothing listens at its ZivaCare:
/// an attempted exchange would be a 502.
struct Fixture {
    dir: tempfile::TempDir,
    backend: axum::Router,
    cookie: String,
    rt: tokio::runtime::Runtime,
}

static FIXTURE: std::sync::LazyLock<Fixture> = std::sync::LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let backend = rt.block_on(backend_router(
        dir.path(),
        "http://127.0.0.1:9",
        SECRET,
        std::time::Duration::from_millis(200),
    ));
    let cookie = rt.block_on(session(&backend, USER));
    Fixture {
        dir,
        backend,
        cookie,
        rt,
    }
});

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_request_is_exchanged_unless_it_has_the_exact_shape(
        body in body(),
        content_type in prop_oneof![Just("application/json".to_owned()), Just("text/plain".to_owned()), "[a-z/;= -]{0,30}"],
        with_header in any::<bool>(),
        origin in prop_oneof![Just(APP_ORIGIN.to_owned()), Just("null".to_owned()), "https?://[a-z0-9.:]{0,20}"],
    ) {
        let f = &*FIXTURE;
        f.rt.block_on(async {
            let mut req = Request::post("/api/zivacare/token")
                .header("origin", origin.as_str())
                .header("cookie", f.cookie.as_str());
            if !content_type.is_empty() {
                req = req.header("content-type", content_type.as_str());
            }
            if with_header {
                req = req.header("x-zivacare-connect", "1");
            }
            let r = send(&f.backend, req.body(Body::from(body.clone())).unwrap()).await;
            prop_assert!(r.status != 200 && r.status != 500, "{} for {body}", r.status);
            if r.status == 502 {
                // Reached the exchange: only the exact shape may get this far.
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
                prop_assert_eq!(keys.len(), 4);
                prop_assert_eq!(v["clientUserId"].as_str(), Some(USER));
                prop_assert!(with_header && origin == APP_ORIGIN && content_type.starts_with("application/json"));
            }
            prop_assert_eq!(backend_count(f.dir.path(), "connections").await, 0);
            Ok(())
        })?;
    }
}
