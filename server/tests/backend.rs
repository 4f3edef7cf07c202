//! The reference backend's endpoints: the CSRF defences, strict parsing,
//! idempotent exchange and upstream failures. Each negative case also checks
//! that nothing was exchanged or stored.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::routing::post as route_post;
use axum::Router;
use common::*;

async fn stored(w: &World) -> (i64, i64) {
    (
        backend_count(w.dir.path(), "connections").await,
        backend_count(w.dir.path(), "exchanges").await,
    )
}

fn used_tokens(w: &World) -> i64 {
    let db = rusqlite::Connection::open(w.dir.path().join("sandbox.db")).unwrap();
    db.query_row(
        "SELECT COUNT(*) FROM special_tokens WHERE used = 1",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test]
async fn a_forward_is_exchanged_stored_once_and_answered_without_the_access_token() {
    let w = world().await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    let r = send(&w.backend, forward(&token, "ann@example.com")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    assert_eq!(body["connected"], true);
    let code = body["zivaUserCode"].as_str().unwrap().to_owned();
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "nothing else, no access token: {body}"
    );
    assert_eq!(stored(&w).await, (1, 1));
    // The SDK's retry of the same token: same answer, no second exchange or row.
    let again = send(&w.backend, forward(&token, "ann@example.com")).await;
    assert_eq!(
        (again.status, again.json()["zivaUserCode"].as_str()),
        (200, Some(code.as_str()))
    );
    assert_eq!(stored(&w).await, (1, 1));
    assert_eq!(used_tokens(&w), 1);
    // The same token for another user is a conflict, and changes nothing.
    let other = send(&w.backend, forward(&token, "mallory@example.com")).await;
    assert_eq!(other.status, 409);
    assert_eq!(stored(&w).await, (1, 1));
    // Status and data for the connected user.
    let s = send(
        &w.backend,
        get("/api/zivacare/status?clientUserId=ann%40example.com"),
    )
    .await
    .json();
    assert_eq!(
        (s["connected"].as_bool(), s["zivaUserCode"].as_str()),
        (Some(true), Some(code.as_str()))
    );
    let d = send(
        &w.backend,
        get("/api/zivacare/data/steps?clientUserId=ann%40example.com"),
    )
    .await;
    assert_eq!(d.status, 200);
    assert_eq!(d.json()["steps"].as_array().unwrap().len(), 7);
    assert_eq!(d.json()["total"], 30);
    let none = send(&w.backend, get("/api/zivacare/status?clientUserId=nobody"))
        .await
        .json();
    assert_eq!(none["connected"], false);
    assert_eq!(
        send(
            &w.backend,
            get("/api/zivacare/data/steps?clientUserId=nobody")
        )
        .await
        .status,
        404
    );
    assert_eq!(
        send(
            &w.backend,
            get("/api/zivacare/data/passwords?clientUserId=ann%40example.com")
        )
        .await
        .status,
        404
    );
    assert_eq!(
        send(&w.backend, get("/api/zivacare/status")).await.status,
        400
    );
}

/// What the backend's database holds: the SQLite file and its WAL, byte for
/// byte; on PostgreSQL, every row of its tables as text.
async fn at_rest(dir: &std::path::Path, store: &zivacare_dev::store::Store) -> Vec<Vec<u8>> {
    match database(dir).await {
        zivacare_dev::store::Database::Sqlite(file) => {
            let mut wal = file.clone().into_os_string();
            wal.push("-wal");
            vec![
                std::fs::read(&file).unwrap(),
                std::fs::read(wal).unwrap_or_default(),
            ]
        }
        zivacare_dev::store::Database::Postgres { .. } => {
            let mut rows = Vec::new();
            for table in ["connections", "exchanges"] {
                let sql = format!("SELECT string_agg(t::text, ' ') FROM {table} t");
                let row = store.row(&sql, &[]).await.unwrap().unwrap();
                let text = row[0].text().expect("rows").to_owned();
                rows.push(text.into_bytes());
            }
            rows
        }
    }
}

#[tokio::test]
async fn t13_t14_the_access_token_and_secret_never_reach_a_browser() {
    let w = world().await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    send(&w.backend, forward(&token, "ann@example.com")).await;
    let store = zivacare_dev::store::Store::open(&database(w.dir.path()).await, "")
        .await
        .unwrap();
    let row = store
        .row("SELECT key_id, access_token_sealed FROM connections", &[])
        .await
        .unwrap()
        .unwrap();
    let access = zivacare_dev::util::Keyring::parse(KEYS)
        .unwrap()
        .open(row[0].text().unwrap(), row[1].text().unwrap())
        .unwrap();
    assert!(access.len() >= 32);
    // t14: tokens at rest: what the database holds has no plaintext token.
    let rest = at_rest(w.dir.path(), &store).await;
    for bytes in &rest {
        assert!(
            !bytes
                .windows(access.len())
                .any(|win| win == access.as_bytes()),
            "plaintext accessToken at rest"
        );
    }
    for uri in [
        "/api/zivacare/config",
        "/api/zivacare/status?clientUserId=ann%40example.com",
        "/api/zivacare/data/steps?clientUserId=ann%40example.com",
    ] {
        let r = send(&w.backend, get(uri)).await;
        assert_eq!(r.status, 200, "{uri}");
        assert!(
            !r.text.contains(&access) && !r.text.contains(SECRET),
            "{uri}: {}",
            r.text
        );
    }
    // Only a hash of the specialToken is kept.
    for bytes in &rest {
        assert!(!bytes
            .windows(token.len())
            .any(|win| win == token.as_bytes()));
    }
}

fn with_headers(body: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut req = Request::post("/api/zivacare/token");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(Body::from(body.to_owned())).unwrap()
}

#[tokio::test]
async fn t10_csrf_defences_refuse_before_any_exchange() {
    let w = world().await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    let body = serde_json::json!({ "specialToken": token, "clientId": CLIENT_ID, "clientUserId": "ann", "state": "st4te" }).to_string();
    let form = format!("specialToken={token}&clientId={CLIENT_ID}&clientUserId=ann&state=st4te");
    let json = ("content-type", "application/json");
    let marker = ("x-zivacare-connect", "1");
    let origin = ("origin", APP_ORIGIN);
    let cases: Vec<(Request<Body>, u16, &str)> = vec![
        (with_headers(&body, &[json, origin]), 403, "missing header"),
        (with_headers(&body, &[json, marker]), 403, "missing Origin"),
        (
            with_headers(&body, &[json, marker, ("origin", "null")]),
            403,
            "null Origin",
        ),
        (
            with_headers(&body, &[json, marker, ("origin", "http://127.0.0.1:9999")]),
            403,
            "foreign Origin",
        ),
        (
            with_headers(&body, &[json, marker, ("origin", "http://localhost:8080")]),
            403,
            "look-alike Origin",
        ),
        (
            with_headers(
                &form,
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    marker,
                    origin,
                ],
            ),
            415,
            "form body",
        ),
        (
            with_headers(&body, &[("content-type", "text/plain"), marker, origin]),
            415,
            "text body",
        ),
        (
            with_headers(&body, &[marker, origin]),
            415,
            "no content type",
        ),
    ];
    for (req, status, why) in cases {
        let r = send(&w.backend, req).await;
        assert_eq!(r.status, status, "{why}: {}", r.text);
        assert!(!r.text.contains("SENTINEL"));
    }
    assert_eq!(stored(&w).await, (0, 0));
    assert_eq!(used_tokens(&w), 0, "nothing was exchanged");
}

#[tokio::test]
async fn t12_malformed_or_oversized_bodies_are_refused() {
    let w = world().await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    let ok = |extra: &str| {
        format!(
            r#"{{"specialToken":"{token}","clientId":"{CLIENT_ID}","clientUserId":"ann","state":"st4te"{extra}}}"#
        )
    };
    let big = "x".repeat(5 * 1024 * 1024);
    let cases: Vec<(String, u16, &str)> = vec![
        (
            format!(
                r#"{{"specialToken":"{token}","clientId":"{CLIENT_ID}","clientUserId":"{big}","state":"s"}}"#
            ),
            413,
            "5 MB body",
        ),
        ("{not json".into(), 400, "malformed JSON"),
        ("[]".into(), 400, "an array"),
        ("null".into(), 400, "null"),
        (ok(r#","admin":true"#), 400, "unknown key"),
        (
            ok(r#","specialToken":"tok_SENTINEL_dup""#),
            400,
            "duplicate key",
        ),
        (
            format!(
                r#"{{"specialToken":12,"clientId":"{CLIENT_ID}","clientUserId":"ann","state":"s"}}"#
            ),
            400,
            "number token",
        ),
        (
            format!(
                r#"{{"specialToken":"{token}","clientId":"{CLIENT_ID}","clientUserId":["ann"],"state":"s"}}"#
            ),
            400,
            "array user",
        ),
        (
            format!(r#"{{"specialToken":"{token}","clientId":"{CLIENT_ID}","state":"s"}}"#),
            400,
            "missing user",
        ),
        (
            format!(
                r#"{{"specialToken":"tok\nen","clientId":"{CLIENT_ID}","clientUserId":"ann","state":"s"}}"#
            ),
            400,
            "token alphabet",
        ),
        (
            format!(
                r#"{{"specialToken":"{}","clientId":"{CLIENT_ID}","clientUserId":"ann","state":"s"}}"#,
                "a".repeat(513)
            ),
            400,
            "token length",
        ),
        (
            format!(
                r#"{{"specialToken":"{token}","clientId":"other","clientUserId":"ann","state":"s"}}"#
            ),
            400,
            "wrong clientId",
        ),
        (
            format!(
                r#"{{"specialToken":"{token}","clientId":"{CLIENT_ID}","clientUserId":"","state":"s"}}"#
            ),
            400,
            "empty user",
        ),
        (
            format!(
                r#"{{"specialToken":"{token}","clientId":"{CLIENT_ID}","clientUserId":"ann","state":"a b"}}"#
            ),
            400,
            "bad state",
        ),
        (
            format!(
                r#"{{"specialToken":"{token}","clientId":"{CLIENT_ID}","clientUserId":"ann","state":"s","__proto__":{{}}}}"#
            ),
            400,
            "__proto__",
        ),
    ];
    for (body, status, why) in cases {
        let r = send(&w.backend, forward_body(&body)).await;
        assert_eq!(r.status, status, "{why}: {}", r.text);
    }
    assert_eq!(stored(&w).await, (0, 0));
    assert_eq!(used_tokens(&w), 0);
}

#[tokio::test]
async fn t11_unknown_expired_replayed_tokens_and_a_wrong_secret_store_nothing() {
    // Wrong secret: ZivaCare refuses, the browser sees a generic 502.
    let w = world_with("sec_SENTINEL_wrong", 600).await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    let r = send(&w.backend, forward(&token, "ann@example.com")).await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (502, Some("upstream_error"))
    );
    assert!(
        !r.text.contains("0011") && !r.text.contains("SENTINEL") && !r.text.contains("127.0.0.1"),
        "{}",
        r.text
    );
    assert_eq!(stored(&w).await, (0, 0));

    let w = world().await;
    let r = send(
        &w.backend,
        forward("tok_SENTINEL_unknown", "ann@example.com"),
    )
    .await;
    assert_eq!(r.status, 502);
    // Replayed: used by someone else first (not through this backend).
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    let form =
        serde_urlencoded::to_string([("specialToken", token.as_str()), ("clientSecret", SECRET)])
            .unwrap();
    send(
        &w.sandbox,
        post(
            "/oauth/v2/get-access-token",
            "application/x-www-form-urlencoded",
            form,
        ),
    )
    .await;
    assert_eq!(
        send(&w.backend, forward(&token, "ann@example.com"))
            .await
            .status,
        502
    );
    assert_eq!(stored(&w).await, (0, 0));

    let w = world_with(SECRET, 0).await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    assert_eq!(
        send(&w.backend, forward(&token, "ann@example.com"))
            .await
            .status,
        502,
        "expired"
    );
    assert_eq!(stored(&w).await, (0, 0));
}

async fn upstream(router: Router) -> (tempfile::TempDir, Router) {
    let url = serve(router).await;
    let dir = tempfile::tempdir().unwrap();
    let backend = backend_router(dir.path(), &url, SECRET, Duration::from_millis(300)).await;
    (dir, backend)
}

#[tokio::test]
async fn t15_upstream_failures_give_a_generic_502_or_504_and_store_nothing() {
    let token = "tok_SENTINEL_upstream";
    let cases: Vec<(Router, u16, &str)> = vec![
        (
            Router::new().route(
                "/oauth/v2/get-access-token",
                route_post(|| async {
                    (
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        "db down at 10.0.0.7",
                    )
                }),
            ),
            502,
            "5xx",
        ),
        (
            Router::new().route(
                "/oauth/v2/get-access-token",
                route_post(|| async { "<html>garbage" }),
            ),
            502,
            "garbage",
        ),
        (
            Router::new().route(
                "/oauth/v2/get-access-token",
                route_post(|| async { r#"{"ziva_user_code":"u"}"# }),
            ),
            502,
            "missing field",
        ),
        (
            Router::new().route(
                "/oauth/v2/get-access-token",
                route_post(|| async {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    "{}"
                }),
            ),
            504,
            "slow",
        ),
    ];
    for (router, status, why) in cases {
        let (dir, backend) = upstream(router).await;
        let r = send(&backend, forward(token, "ann@example.com")).await;
        assert_eq!(r.status, status, "{why}: {}", r.text);
        assert!(
            !r.text.contains("10.0.0.7")
                && !r.text.contains("garbage")
                && !r.text.contains("SENTINEL"),
            "{why}: {}",
            r.text
        );
        assert_eq!(backend_count(dir.path(), "connections").await, 0, "{why}");
    }
    // Stopped: nothing listens on the port any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let backend = backend_router(dir.path(), &url, SECRET, Duration::from_millis(300)).await;
    let r = send(&backend, forward(token, "ann@example.com")).await;
    assert_eq!(r.status, 502, "{}", r.text);
    assert_eq!(backend_count(dir.path(), "connections").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn t11_ten_concurrent_identical_posts_give_one_exchange_and_one_row() {
    let w = world().await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (backend, req) = (w.backend.clone(), forward(&token, "ann@example.com"));
        set.spawn(async move { send(&backend, req).await });
    }
    let replies = set.join_all().await;
    let codes: Vec<_> = replies
        .iter()
        .map(|r| {
            (
                r.status,
                r.json()["zivaUserCode"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert!(
        codes.iter().all(|c| c == &codes[0] && c.0 == 200),
        "{codes:?}"
    );
    assert_eq!(stored(&w).await, (1, 1));
    assert_eq!(used_tokens(&w), 1);
}

/// Two backend instances on one database (two connections to one SQLite file,
/// or, under ZIVACARE_TEST_DATABASE_URL, to one PostgreSQL database): only the
/// database can keep them from exchanging a token twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn t11_two_instances_sharing_a_database_exchange_a_duplicated_token_once() {
    let w = world().await;
    let second = backend_router(w.dir.path(), &w.sandbox_url, SECRET, Duration::from_secs(5)).await;
    let instances = [w.backend.clone(), second];
    for user in ["ann@example.com", "bob@example.com", "cy@example.com"] {
        let token = mint(&w, user, &["fitbit"]).await;
        let mut set = tokio::task::JoinSet::new();
        for i in 0..10 {
            let (backend, req) = (instances[i % 2].clone(), forward(&token, user));
            set.spawn(async move { send(&backend, req).await });
        }
        let replies = set.join_all().await;
        let first = replies[0].json()["zivaUserCode"].clone();
        assert!(first.is_string(), "{}", replies[0].text);
        for r in &replies {
            assert_eq!(
                (r.status, &r.json()["zivaUserCode"]),
                (200, &first),
                "{}",
                r.text
            );
        }
    }
    assert_eq!(stored(&w).await, (3, 3));
    assert_eq!(used_tokens(&w), 3, "one exchange per token at ZivaCare");
    // The rows are complete: no claim was left half-done.
    let pending = backend_count(w.dir.path(), "exchanges WHERE ziva_user_code IS NULL").await;
    assert_eq!(pending, 0);
}

/// A database made before `exchanges` became a two-phase record (its rows
/// completed at once, no `claimed_at`) is upgraded at start-up, keeping the
/// connections.
#[tokio::test]
async fn a_database_from_before_the_two_phase_record_is_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let old = zivacare_dev::store::Store::open(
        &database(dir.path()).await,
        "CREATE TABLE exchanges (token_hash TEXT PRIMARY KEY, client_user_id TEXT NOT NULL, \
         ziva_user_code TEXT NOT NULL, exchanged_at BIGINT NOT NULL); \
         INSERT INTO exchanges VALUES ('h', 'old@example.com', 'u-old', 1)",
    )
    .await
    .unwrap();
    drop(old);
    let sandbox_url = serve(sandbox_router(dir.path(), 600)).await;
    let backend = backend_router(dir.path(), &sandbox_url, SECRET, Duration::from_secs(5)).await;
    let w = World {
        sandbox: sandbox_router(dir.path(), 600),
        sandbox_url,
        backend,
        dir,
    };
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    let r = send(&w.backend, forward(&token, "ann@example.com")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(stored(&w).await, (1, 1));
}

/// A claim left by an instance that died between claiming a token and storing
/// its exchange is taken over once stale, instead of blocking the token forever.
#[tokio::test]
async fn a_claim_left_by_a_dead_instance_is_taken_over_once_stale() {
    let w = world().await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    let store = zivacare_dev::store::Store::open(&database(w.dir.path()).await, "")
        .await
        .unwrap();
    let hash = zivacare_dev::util::sha256_hex(&token);
    // Claimed an hour ago, never completed.
    let long_ago = zivacare_dev::util::now_secs() - 3600;
    store
        .execute(
            "INSERT INTO exchanges (token_hash, client_user_id, claimed_at) VALUES ($1, $2, $3)",
            &[
                hash.as_str().into(),
                "ann@example.com".into(),
                long_ago.into(),
            ],
        )
        .await
        .unwrap();
    let r = send(&w.backend, forward(&token, "ann@example.com")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(stored(&w).await, (1, 1));
    assert_eq!(used_tokens(&w), 1);
}

#[test]
fn t13_the_backend_refuses_to_start_without_its_secret_or_key() {
    let bin = env!("CARGO_BIN_EXE_zivacare-dev");
    let dir = tempfile::tempdir().unwrap();
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(bin);
        cmd.arg("backend")
            .env_clear()
            .env("ZIVACARE_BACKEND_ADDR", "127.0.0.1:0");
        cmd.env("ZIVACARE_DB", dir.path().join("b.db"));
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let no_secret = run(&[
        ("ZIVACARE_API_URL", "http://127.0.0.1:9"),
        ("ZIVACARE_KEYS", KEYS),
    ]);
    assert_eq!(no_secret.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&no_secret.stderr).contains("ZIVACARE_CLIENT_SECRET is not set")
    );
    let no_key = run(&[
        ("ZIVACARE_API_URL", "http://127.0.0.1:9"),
        ("ZIVACARE_CLIENT_SECRET", SECRET),
    ]);
    assert_eq!(no_key.status.code(), Some(2));
    let err = String::from_utf8_lossy(&no_key.stderr);
    assert!(
        err.contains("ZIVACARE_KEYS is not set") && !err.contains(SECRET),
        "{err}"
    );
    let bad_key = run(&[
        ("ZIVACARE_API_URL", "http://127.0.0.1:9"),
        ("ZIVACARE_CLIENT_SECRET", SECRET),
        ("ZIVACARE_KEYS", "k1:c2hvcnQ="),
    ]);
    assert_eq!(bad_key.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_key.stderr).contains("must be 32 bytes"));
}

#[tokio::test]
async fn the_token_endpoint_is_rate_limited_with_retry_after() {
    let w = world().await;
    let backend = backend_router_limited(
        w.dir.path(),
        &w.sandbox_url,
        SECRET,
        Duration::from_secs(5),
        3,
    )
    .await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    for _ in 0..3 {
        assert_eq!(
            send(&backend, forward(&token, "ann@example.com"))
                .await
                .status,
            200
        );
    }
    let fresh = mint(&w, "bob@example.com", &["fitbit"]).await;
    let r = send(&backend, forward(&fresh, "bob@example.com")).await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (429, Some("rate_limited"))
    );
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    // Refused before anything: bob's token was not exchanged.
    assert_eq!(stored(&w).await, (1, 1));
    assert_eq!(used_tokens(&w), 1);
}
