//! The reference backend's endpoints: the user from the session, the CSRF
//! defences, strict parsing, idempotent and fenced exchanges, ZivaCare's
//! refusals and outages, migrations. Each negative case also checks that
//! nothing was exchanged or stored. On SQLite, and again on PostgreSQL under
//! ZIVACARE_TEST_DATABASE_URL (the test command does both).

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::routing::post as route_post;
use axum::Router;
use common::*;
use zivacare::axum::ClientIp;
use zivacare::{AccessToken, Claim, Claimed, Connection, Ledger, SpecialToken};
use zivacare_dev::backend;
use zivacare_dev::crypto::{sha256_hex, Keyring};
use zivacare_dev::store::{Database, Store};

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
    let ann = session(&w.backend, "ann@example.com").await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    let r = send(&w.backend, forward(&token, "ann@example.com", &ann)).await;
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
    let again = send(&w.backend, forward(&token, "ann@example.com", &ann)).await;
    assert_eq!(
        (again.status, again.json()["zivaUserCode"].as_str()),
        (200, Some(code.as_str()))
    );
    assert_eq!(stored(&w).await, (1, 1));
    assert_eq!(used_tokens(&w), 1);
    // The same token posted by someone signed in as another user: refused.
    let mallory = session(&w.backend, "mallory@example.com").await;
    let other = send(&w.backend, forward(&token, "mallory@example.com", &mallory)).await;
    assert_eq!(other.status, 409);
    assert_eq!(stored(&w).await, (1, 1));
    // Status and data of the signed-in user.
    let s = send(&w.backend, get_as("/api/zivacare/status", &ann))
        .await
        .json();
    assert_eq!(
        (s["connected"].as_bool(), s["zivaUserCode"].as_str()),
        (Some(true), Some(code.as_str()))
    );
    let d = send(&w.backend, get_as("/api/zivacare/data/steps", &ann)).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.json()["steps"].as_array().unwrap().len(), 7);
    assert_eq!(d.json()["total"], 30);
    let nobody = session(&w.backend, "nobody").await;
    let none = send(&w.backend, get_as("/api/zivacare/status", &nobody))
        .await
        .json();
    assert_eq!(none["connected"], false);
    let not_connected = send(&w.backend, get_as("/api/zivacare/data/steps", &nobody)).await;
    assert_eq!(not_connected.status, 404);
    let unknown = send(&w.backend, get_as("/api/zivacare/data/passwords", &ann)).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn sessions_decide_who_the_user_is_and_nothing_else_does() {
    let w = world().await;
    let ann = session(&w.backend, "ann@example.com").await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    assert_eq!(w.forward(&token, "ann@example.com").await.status, 200);
    let bob = session(&w.backend, "bob@example.com").await;
    let bob_token = mint(&w, "bob@example.com", &["fitbit"]).await;
    // A tampered session: one character of the signed value changed.
    let tampered = {
        let (name, value) = ann.split_once('=').unwrap();
        let mut v: Vec<char> = value.chars().collect();
        let i = v.len() / 2;
        v[i] = if v[i] == 'a' { 'b' } else { 'a' };
        format!("{name}={}", v.into_iter().collect::<String>())
    };
    // A forged one: the right shape, signed with another key.
    let forged = {
        let other =
            zivacare_dev::auth::Sessions::new(&zivacare_dev::auth::Sessions::generate_key(), false)
                .unwrap();
        let jar = other.sign_in(other.jar(&Default::default()), "ann@example.com");
        let resp = axum::response::IntoResponse::into_response((jar, ()));
        let set = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
        set.split(';').next().unwrap().to_owned()
    };
    let unsigned = "zivacare_session=1.YW5uQGV4YW1wbGUuY29t".to_owned();
    for (cookie, why) in [
        (String::new(), "no session"),
        (tampered, "tampered"),
        (forged, "forged"),
        (unsigned, "unsigned"),
    ] {
        let r = send(&w.backend, forward(&bob_token, "bob@example.com", &cookie)).await;
        assert_eq!(
            (r.status, r.json()["code"].as_str()),
            (401, Some("unauthenticated")),
            "{why}"
        );
        for uri in ["/api/zivacare/status", "/api/zivacare/data/steps"] {
            let r = send(&w.backend, get_as(uri, &cookie)).await;
            assert_eq!(r.status, 401, "{why} {uri}");
            assert!(!r.text.contains("zivaUserCode") && !r.text.contains("steps"));
        }
    }
    // Bob's session posting Ann's id (with Bob's own token): refused, nothing exchanged.
    let r = send(&w.backend, forward(&bob_token, "ann@example.com", &bob)).await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (403, Some("forbidden"))
    );
    assert_eq!(stored(&w).await, (1, 1));
    assert_eq!(used_tokens(&w), 1, "bob's token was never exchanged");
    // Naming Ann in the query changes nothing: Bob sees Bob.
    for uri in [
        "/api/zivacare/status?clientUserId=ann%40example.com",
        "/api/zivacare/data/steps?clientUserId=ann%40example.com",
    ] {
        let r = send(&w.backend, get_as(uri, &bob)).await;
        assert!(
            r.text.contains("\"connected\":false") || r.status == 404,
            "{uri}: {} {}",
            r.status,
            r.text
        );
    }
    // Sign-in and sign-out, and who the session is.
    let me = send(&w.backend, get_as("/api/zivacare/session", &bob)).await;
    assert_eq!(me.json()["user"], "bob@example.com");
    let nobody = send(&w.backend, get("/api/zivacare/session")).await;
    assert_eq!(
        (nobody.status, nobody.json()["user"].is_null()),
        (200, true)
    );
    let out = Request::delete("/api/zivacare/session")
        .header("origin", APP_ORIGIN)
        .header("x-zivacare-connect", "1")
        .header("cookie", &bob)
        .body(Body::empty())
        .unwrap();
    let r = send(&w.backend, out).await;
    assert_eq!(r.status, 204);
    let cleared = r.headers["set-cookie"].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The cookie is HttpOnly and SameSite=Lax (not Secure: this app is on http).
    let sign_in = Request::post("/api/zivacare/session")
        .header("content-type", "application/json")
        .header("origin", APP_ORIGIN)
        .header("x-zivacare-connect", "1")
        .body(Body::from(r#"{"user":"cy@example.com"}"#))
        .unwrap();
    let set = send(&w.backend, sign_in).await.headers["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && !set.contains("Secure"),
        "{set}"
    );
    // Signing in is a state change: the CSRF defences apply.
    let foreign = Request::post("/api/zivacare/session")
        .header("content-type", "application/json")
        .header("origin", "http://127.0.0.1:9999")
        .header("x-zivacare-connect", "1")
        .body(Body::from(r#"{"user":"cy@example.com"}"#))
        .unwrap();
    let r = send(&w.backend, foreign).await;
    assert_eq!(r.status, 403);
    assert!(!r.headers.contains_key("set-cookie"));
}

#[tokio::test]
async fn the_session_cookie_is_secure_where_the_app_is_served_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let mut config =
        Setup::new("http://127.0.0.1:9").config(database(dir.path()).await, dir.path());
    config.allowed_origins = vec!["https://app.example".into()];
    config.sessions = zivacare_dev::auth::Sessions::new(SESSION_KEY, true).unwrap();
    let backend = backend::router(backend::Backend::open(config).await.unwrap());
    let req = Request::post("/api/zivacare/session")
        .header("content-type", "application/json")
        .header("origin", "https://app.example")
        .header("x-zivacare-connect", "1")
        .body(Body::from(r#"{"user":"ann@example.com"}"#))
        .unwrap();
    let r = send(&backend, req).await;
    let set = r.headers["set-cookie"].to_str().unwrap();
    assert!(set.contains("Secure") && set.contains("HttpOnly"), "{set}");
}

#[tokio::test]
async fn api_answers_are_never_cached_nor_sniffed() {
    let w = world().await;
    let ann = session(&w.backend, "ann@example.com").await;
    for (req, status) in [
        (get("/api/zivacare/config"), 200),
        (get_as("/api/zivacare/status", &ann), 200),
        (get("/api/zivacare/status"), 401),
        (get_as("/api/zivacare/data/steps", &ann), 404),
        (forward("tok", "ann@example.com", &ann), 400),
    ] {
        let r = send(&w.backend, req).await;
        assert_eq!(r.status, status, "{}", r.text);
        assert_eq!(r.headers["cache-control"], "no-store");
        assert_eq!(r.headers["x-content-type-options"], "nosniff");
    }
}

/// What the backend's database holds: the SQLite file and its WAL, byte for
/// byte; on PostgreSQL, every row of its tables as text.
async fn at_rest(dir: &std::path::Path, store: &Store) -> Vec<Vec<u8>> {
    match database(dir).await {
        Database::Sqlite(file) => {
            let mut wal = file.clone().into_os_string();
            wal.push("-wal");
            vec![
                std::fs::read(&file).unwrap(),
                std::fs::read(wal).unwrap_or_default(),
            ]
        }
        Database::Postgres { .. } => {
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
    let ann = session(&w.backend, "ann@example.com").await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    send(&w.backend, forward(&token, "ann@example.com", &ann)).await;
    let store = Store::open(&database(w.dir.path()).await).await.unwrap();
    let row = store
        .row("SELECT key_id, access_token_sealed FROM connections", &[])
        .await
        .unwrap()
        .unwrap();
    let keys = Keyring::parse(KEYS).unwrap();
    let (key_id, sealed) = (row[0].text().unwrap(), row[1].text().unwrap());
    let access = keys.open(key_id, sealed, "ann@example.com").unwrap();
    assert!(access.len() >= 32);
    // Sealed for Ann's row: it opens for no other row.
    assert_eq!(keys.open(key_id, sealed, "mallory@example.com"), None);
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
        "/api/zivacare/status",
        "/api/zivacare/data/steps",
    ] {
        let r = send(&w.backend, get_as(uri, &ann)).await;
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

#[tokio::test]
async fn a_sealed_token_moved_to_another_row_does_not_open() {
    let w = world().await;
    for user in ["ann@example.com", "mallory@example.com"] {
        let token = mint(&w, user, &["fitbit"]).await;
        assert_eq!(w.forward(&token, user).await.status, 200);
    }
    // Someone with write access to the database copies Ann's sealed token into Mallory's row.
    w.instance
        .store()
        .execute(
            "UPDATE connections SET access_token_sealed = \
             (SELECT access_token_sealed FROM connections WHERE client_user_id = $1) \
             WHERE client_user_id = $2",
            &["ann@example.com".into(), "mallory@example.com".into()],
        )
        .await
        .unwrap();
    let mallory = session(&w.backend, "mallory@example.com").await;
    let r = send(&w.backend, get_as("/api/zivacare/data/steps", &mallory)).await;
    assert_eq!(r.status, 500, "{}", r.text);
    assert!(
        !r.text.contains("steps"),
        "none of Ann's readings: {}",
        r.text
    );
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
    let cookie = session(&w.backend, "ann").await;
    let token = mint(&w, "ann", &["fitbit"]).await;
    let body = serde_json::json!({ "specialToken": token, "clientId": CLIENT_ID, "clientUserId": "ann", "state": "st4te" }).to_string();
    let form = format!("specialToken={token}&clientId={CLIENT_ID}&clientUserId=ann&state=st4te");
    let json = ("content-type", "application/json");
    let marker = ("x-zivacare-connect", "1");
    let origin = ("origin", APP_ORIGIN);
    let session = ("cookie", cookie.as_str());
    let cases: Vec<(Request<Body>, u16, &str)> = vec![
        (
            with_headers(&body, &[json, origin, session]),
            403,
            "missing header",
        ),
        (
            with_headers(&body, &[json, marker, session]),
            403,
            "missing Origin",
        ),
        (
            with_headers(&body, &[json, marker, session, ("origin", "null")]),
            403,
            "null Origin",
        ),
        (
            with_headers(
                &body,
                &[json, marker, session, ("origin", "http://127.0.0.1:9999")],
            ),
            403,
            "foreign Origin",
        ),
        (
            with_headers(
                &body,
                &[json, marker, session, ("origin", "http://localhost:8080")],
            ),
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
                    session,
                ],
            ),
            415,
            "form body",
        ),
        (
            with_headers(
                &body,
                &[("content-type", "text/plain"), marker, origin, session],
            ),
            415,
            "text body",
        ),
        (
            with_headers(&body, &[marker, origin, session]),
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
    let cookie = session(&w.backend, "ann").await;
    let token = mint(&w, "ann", &["fitbit"]).await;
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
        let r = send(&w.backend, forward_body(&body, &cookie)).await;
        assert_eq!(r.status, status, "{why}: {}", r.text);
        assert!(!r.text.contains("SENTINEL"), "{why}: {}", r.text);
    }
    assert_eq!(stored(&w).await, (0, 0));
    assert_eq!(used_tokens(&w), 0);
}

/// A world whose sandbox counts the requests it receives.
async fn counted_world(backend_secret: &str, ttl: i64) -> (World, Counter) {
    let counter = Counter::default();
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox_router(dir.path(), ttl);
    let sandbox_url = serve(counter.around(sandbox.clone())).await;
    let instance = Setup {
        secret: backend_secret,
        ..Setup::new(&sandbox_url)
    }
    .open(dir.path())
    .await;
    let w = World {
        dir,
        sandbox,
        sandbox_url,
        backend: backend::router(instance.clone()),
        instance,
    };
    (w, counter)
}

const EXCHANGE: &str = "/oauth/v2/get-access-token";

#[tokio::test]
async fn zivacares_refusals_are_not_outages_and_reach_it_once() {
    // A wrong secret: our configuration, not the user's token, nor an outage.
    let (w, calls) = counted_world("sec_SENTINEL_wrong", 600).await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    let r = w.forward(&token, "ann@example.com").await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (502, Some("upstream_misconfigured"))
    );
    assert!(
        !r.text.contains("0011") && !r.text.contains("SENTINEL") && !r.text.contains("127.0.0.1"),
        "{}",
        r.text
    );
    assert_eq!(
        stored(&w).await,
        (0, 0),
        "released: the token was not spent"
    );
    assert_eq!(calls.count(EXCHANGE), 1);

    // Unknown, already used, expired: the token is refused (4xx, which the SDK
    // never retries), and a repeat is answered without asking ZivaCare again.
    let (w, calls) = counted_world(SECRET, 600).await;
    let r = w.forward("tok_SENTINEL_unknown", "ann@example.com").await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (400, Some("token_rejected"))
    );
    let used = mint(&w, "ann@example.com", &["fitbit"]).await;
    let form =
        serde_urlencoded::to_string([("specialToken", used.as_str()), ("clientSecret", SECRET)])
            .unwrap();
    send(
        &w.sandbox,
        post(EXCHANGE, "application/x-www-form-urlencoded", form),
    )
    .await;
    for _ in 0..4 {
        let r = w.forward(&used, "ann@example.com").await;
        assert_eq!(
            (r.status, r.json()["code"].as_str()),
            (400, Some("token_rejected"))
        );
    }
    assert_eq!(
        calls.count(EXCHANGE),
        2,
        "the used token reached ZivaCare once"
    );
    assert_eq!(backend_count(w.dir.path(), "connections").await, 0);

    let (w, calls) = counted_world(SECRET, 0).await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    let r = w.forward(&token, "ann@example.com").await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (400, Some("token_rejected")),
        "expired"
    );
    assert_eq!(calls.count(EXCHANGE), 1);
    assert_eq!(backend_count(w.dir.path(), "connections").await, 0);
}

#[tokio::test]
async fn the_data_api_tells_a_refused_access_token_from_an_outage() {
    let w = world().await;
    let ann = session(&w.backend, "ann@example.com").await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    assert_eq!(w.forward(&token, "ann@example.com").await.status, 200);
    // ZivaCare revokes the access token.
    let db = rusqlite::Connection::open(w.dir.path().join("sandbox.db")).unwrap();
    db.execute("DELETE FROM access_tokens", []).unwrap();
    let r = send(&w.backend, get_as("/api/zivacare/data/steps", &ann)).await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (409, Some("token_rejected"))
    );
    // Its data API down or slow: 502 and 504, as for the exchange.
    for (router, status) in [
        (
            Router::new().route(
                "/api/v2/human/steps",
                axum::routing::get(|| async {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down")
                }),
            ),
            502,
        ),
        (
            Router::new().route(
                "/api/v2/human/steps",
                axum::routing::get(|| async {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    "{}"
                }),
            ),
            504,
        ),
    ] {
        let url = serve(router).await;
        let setup = Setup {
            timeout: Duration::from_millis(300),
            ..Setup::new(&url)
        };
        // The same database: Ann's connection is there.
        let backend = backend::router(setup.open(w.dir.path()).await);
        let r = send(&backend, get_as("/api/zivacare/data/steps", &ann)).await;
        assert_eq!(r.status, status, "{}", r.text);
    }
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
                EXCHANGE,
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
            Router::new().route(EXCHANGE, route_post(|| async { "<html>garbage" })),
            502,
            "garbage",
        ),
        (
            Router::new().route(
                EXCHANGE,
                route_post(|| async { r#"{"ziva_user_code":"u"}"# }),
            ),
            502,
            "missing field",
        ),
        (
            Router::new().route(
                EXCHANGE,
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
        let cookie = session(&backend, "ann@example.com").await;
        let r = send(&backend, forward(token, "ann@example.com", &cookie)).await;
        assert_eq!(r.status, status, "{why}: {}", r.text);
        assert!(
            !r.text.contains("10.0.0.7")
                && !r.text.contains("garbage")
                && !r.text.contains("SENTINEL"),
            "{why}: {}",
            r.text
        );
        assert_eq!(backend_count(dir.path(), "connections").await, 0, "{why}");
        assert_eq!(
            backend_count(dir.path(), "exchanges").await,
            0,
            "{why}: released"
        );
    }
    // Stopped: nothing listens on the port any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let backend = backend_router(dir.path(), &url, SECRET, Duration::from_millis(300)).await;
    let cookie = session(&backend, "ann@example.com").await;
    let r = send(&backend, forward(token, "ann@example.com", &cookie)).await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (502, Some("upstream_error"))
    );
    assert_eq!(backend_count(dir.path(), "connections").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn t11_ten_concurrent_identical_posts_give_one_exchange_and_one_row() {
    let w = world().await;
    let cookie = session(&w.backend, "ann@example.com").await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (backend, req) = (
            w.backend.clone(),
            forward(&token, "ann@example.com", &cookie),
        );
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
        // A session made by one instance is good at the other.
        let cookie = session(&instances[1], user).await;
        let token = mint(&w, user, &["fitbit"]).await;
        let mut set = tokio::task::JoinSet::new();
        for i in 0..10 {
            let (backend, req) = (instances[i % 2].clone(), forward(&token, user, &cookie));
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

/// Makes the claim on `hash` an hour old, as if its holder had been slow.
async fn age_claim(w: &World, hash: &str) {
    w.instance
        .store()
        .execute(
            "UPDATE exchanges SET claimed_at = claimed_at - 3600 WHERE token_hash = $1",
            &[hash.into()],
        )
        .await
        .unwrap();
}

/// A claim taken over (its first holder was slow past the stale limit) fences
/// the first holder out: its release and its completion change nothing.
#[tokio::test]
async fn t11_a_claim_taken_over_fences_out_its_first_holder() {
    let w = world().await;
    let user = "ann@example.com";
    let token = mint(&w, user, &["fitbit"]).await;
    let hash = sha256_hex(&token);
    let (ledger, stale) = (w.instance.exchanges(), w.instance.stale_after());
    let first = Claim::new(&SpecialToken::new(&token), user);
    assert_eq!(
        ledger.claim(&first, stale).await,
        Ok(Claimed::New),
        "the first claim is the first holder's"
    );
    // The first holder is still working, but its claim looks stale: an hour old.
    age_claim(&w, &hash).await;
    // A retry takes it over, exchanges the token and stores the connection.
    let r = w.forward(&token, user).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let code = r.json()["zivaUserCode"].as_str().unwrap().to_owned();
    // The first holder comes back: its release and completion are refused.
    assert!(ledger.release(&first).await.is_err());
    let late = Connection {
        ziva_user_code: "u-late".into(),
        name: "Late".into(),
        email: "late@example.com".into(),
        access_token: AccessToken::new("tok_SENTINEL_late"),
    };
    assert!(ledger.complete(&first, &late).await.is_err());
    assert!(ledger.refuse(&first, "used_token").await.is_err());
    assert_eq!(stored(&w).await, (1, 1));
    let row = w
        .instance
        .store()
        .row(
            "SELECT c.ziva_user_code, e.ziva_user_code, c.name FROM connections c, exchanges e",
            &[],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row[0].text(), row[1].text(), row[2].text()),
        (Some(code.as_str()), Some(code.as_str()), Some("ann")),
        "the second holder's outcome stands"
    );
    assert_eq!(used_tokens(&w), 1, "one exchange at ZivaCare");
    // While the second holder works, the first cannot release its claim either.
    let token = SpecialToken::new(mint(&w, user, &["oura"]).await);
    let hash = sha256_hex(token.expose());
    let old = Claim::new(&token, user);
    assert_eq!(ledger.claim(&old, stale).await, Ok(Claimed::New));
    age_claim(&w, &hash).await;
    let new = Claim::new(&token, user);
    assert_eq!(
        ledger.claim(&new, stale).await,
        Ok(Claimed::TakenOver),
        "a stale claim is taken over"
    );
    assert_ne!(old.id(), new.id());
    assert!(ledger.release(&old).await.is_err());
    assert_eq!(
        backend_count(w.dir.path(), "exchanges WHERE ziva_user_code IS NULL").await,
        1,
        "the new holder's claim is still there"
    );
    ledger.release(&new).await.unwrap();
}

/// A claim left by an instance that died between claiming a token and storing
/// its exchange is taken over once stale, instead of blocking the token forever.
#[tokio::test]
async fn a_claim_left_by_a_dead_instance_is_taken_over_once_stale() {
    let w = world().await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    let hash = sha256_hex(&token);
    // Claimed an hour ago by the database's clock, never completed.
    w.instance
        .store()
        .execute(
            "INSERT INTO exchanges (token_hash, client_user_id, claimed_at, claim_id) \
             VALUES ($1, $2, {now} - 3600, 'dead')",
            &[hash.as_str().into(), "ann@example.com".into()],
        )
        .await
        .unwrap();
    let r = w.forward(&token, "ann@example.com").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(stored(&w).await, (1, 1));
    assert_eq!(used_tokens(&w), 1);
}

#[tokio::test]
async fn an_exchanged_token_survives_the_database_refusing_its_first_writes() {
    let (w, calls) = counted_world(SECRET, 600).await;
    let cookie = session(&w.backend, "ann@example.com").await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    w.instance.store().inject_faults(3);
    let r = send(&w.backend, forward(&token, "ann@example.com", &cookie)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(stored(&w).await, (1, 1));
    assert_eq!(calls.count(EXCHANGE), 1, "one exchange at ZivaCare");
    let s = send(&w.backend, get_as("/api/zivacare/status", &cookie))
        .await
        .json();
    assert_eq!(s["connected"], true);
    // A database that keeps refusing past the bound: an error, and the claim
    // stays (ZivaCare spent the token: no retry may exchange it again).
    let token = mint(&w, "ann@example.com", &["oura"]).await;
    w.instance.store().inject_faults(u32::MAX);
    let r = send(&w.backend, forward(&token, "ann@example.com", &cookie)).await;
    w.instance.store().inject_faults(0);
    assert_eq!(r.status, 500, "{}", r.text);
    assert_eq!(calls.count(EXCHANGE), 2);
    assert_eq!(
        backend_count(w.dir.path(), "exchanges WHERE ziva_user_code IS NULL").await,
        1,
        "the claim was not released"
    );
}

/// The schema of the `connections` and `exchanges` tables before versioned
/// migrations, exactly as that backend made it.
const OLD_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS connections (
  client_user_id TEXT PRIMARY KEY, ziva_user_code TEXT NOT NULL, access_token_sealed TEXT NOT NULL,
  key_id TEXT NOT NULL, name TEXT NOT NULL, email TEXT NOT NULL, connected_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS exchanges (
  token_hash TEXT PRIMARY KEY, client_user_id TEXT NOT NULL, claimed_at BIGINT NOT NULL,
  ziva_user_code TEXT, exchanged_at BIGINT);
";

#[tokio::test]
async fn a_database_at_the_previous_schema_is_migrated_in_place_keeping_its_rows() {
    let w = world().await;
    // A connection made by the previous backend: its access token sealed
    // without a row to bind it to.
    let token = mint(&w, "old@example.com", &["fitbit"]).await;
    let form =
        serde_urlencoded::to_string([("specialToken", token.as_str()), ("clientSecret", SECRET)])
            .unwrap();
    let ex = send(
        &w.sandbox,
        post(EXCHANGE, "application/x-www-form-urlencoded", form),
    )
    .await
    .json();
    let (key_id, sealed) = Keyring::parse(KEYS)
        .unwrap()
        .seal(ex["access_token"].as_str().unwrap(), "")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let old = Store::open(&database(dir.path()).await).await.unwrap();
    old.batch(OLD_SCHEMA).await.unwrap();
    old.execute(
        "INSERT INTO connections VALUES ('old@example.com', $1, $2, $3, 'old', 'old@example.com', 1)",
        &[
            ex["ziva_user_code"].as_str().unwrap().into(),
            sealed.as_str().into(),
            key_id.as_str().into(),
        ],
    )
    .await
    .unwrap();
    old.execute(
        "INSERT INTO exchanges VALUES ($1, 'old@example.com', 1, $2, 1)",
        &[
            sha256_hex(&token).as_str().into(),
            ex["ziva_user_code"].as_str().unwrap().into(),
        ],
    )
    .await
    .unwrap();
    drop(old);
    let backend = backend::router(Setup::new(&w.sandbox_url).open(dir.path()).await);
    let versions = Store::open(&database(dir.path()).await)
        .await
        .unwrap()
        .rows(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(versions.len(), backend::MIGRATIONS.len());
    assert_eq!(backend_count(dir.path(), "connections").await, 1);
    assert_eq!(backend_count(dir.path(), "exchanges").await, 1);
    // The old connection still works: its token is sealed for its row now.
    let old_user = session(&backend, "old@example.com").await;
    let s = send(&backend, get_as("/api/zivacare/status", &old_user))
        .await
        .json();
    assert_eq!(s["connected"], true);
    let d = send(&backend, get_as("/api/zivacare/data/steps", &old_user)).await;
    assert_eq!(d.status, 200, "{}", d.text);
    // The old exchange still answers a repeated POST of its token, unexchanged.
    let r = send(&backend, forward(&token, "old@example.com", &old_user)).await;
    assert_eq!(
        (r.status, r.json()["zivaUserCode"].as_str()),
        (200, ex["ziva_user_code"].as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_together_migrate_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = "http://127.0.0.1:9";
    let setup = Setup::new(url);
    let (a, b, c) = tokio::join!(
        setup.open(dir.path()),
        setup.open(dir.path()),
        setup.open(dir.path())
    );
    drop((a, b, c));
    let store = Store::open(&database(dir.path()).await).await.unwrap();
    let rows = store
        .rows(
            "SELECT version, name FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), backend::MIGRATIONS.len(), "{rows:?}");
}

#[tokio::test]
async fn a_start_that_fails_on_an_unexpected_schema_drops_nothing() {
    // An `exchanges` table the backend does not know (no `claimed_at`): where
    // the previous backend's probe failed and dropped the table, the rows stay.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&database(dir.path()).await).await.unwrap();
    store
        .batch(
            "CREATE TABLE exchanges (token_hash TEXT PRIMARY KEY, client_user_id TEXT NOT NULL, \
             ziva_user_code TEXT NOT NULL, exchanged_at BIGINT NOT NULL); \
             INSERT INTO exchanges VALUES ('h', 'old@example.com', 'u-old', 1)",
        )
        .await
        .unwrap();
    let _ = zivacare_dev::backend::Backend::open(
        Setup::new("http://127.0.0.1:9").config(database(dir.path()).await, dir.path()),
    )
    .await;
    let rows = store
        .rows("SELECT token_hash, ziva_user_code FROM exchanges", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "nothing dropped");
    assert_eq!(rows[0][1].text(), Some("u-old"));
}

#[test]
fn t13_the_backend_refuses_to_start_without_its_secret_or_keys() {
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
    let api = ("ZIVACARE_API_URL", "http://127.0.0.1:9");
    let no_secret = run(&[
        api,
        ("ZIVACARE_KEYS", KEYS),
        ("ZIVACARE_SESSION_KEY", SESSION_KEY),
    ]);
    assert_eq!(no_secret.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&no_secret.stderr).contains("ZIVACARE_CLIENT_SECRET is not set")
    );
    let no_key = run(&[
        api,
        ("ZIVACARE_CLIENT_SECRET", SECRET),
        ("ZIVACARE_SESSION_KEY", SESSION_KEY),
    ]);
    assert_eq!(no_key.status.code(), Some(2));
    let err = String::from_utf8_lossy(&no_key.stderr);
    assert!(
        err.contains("ZIVACARE_KEYS is not set") && !err.contains(SECRET),
        "{err}"
    );
    let no_session_key = run(&[
        api,
        ("ZIVACARE_CLIENT_SECRET", SECRET),
        ("ZIVACARE_KEYS", KEYS),
    ]);
    assert_eq!(no_session_key.status.code(), Some(2));
    let err = String::from_utf8_lossy(&no_session_key.stderr);
    assert!(err.contains("ZIVACARE_SESSION_KEY is not set"), "{err}");
    let bad_key = run(&[
        api,
        ("ZIVACARE_CLIENT_SECRET", SECRET),
        ("ZIVACARE_KEYS", "k1:c2hvcnQ="),
        ("ZIVACARE_SESSION_KEY", SESSION_KEY),
    ]);
    assert_eq!(bad_key.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_key.stderr).contains("must be 32 bytes"));
    let short_session_key = run(&[
        api,
        ("ZIVACARE_CLIENT_SECRET", SECRET),
        ("ZIVACARE_KEYS", KEYS),
        ("ZIVACARE_SESSION_KEY", "c2hvcnQ="),
    ]);
    assert_eq!(short_session_key.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&short_session_key.stderr).contains("at least 64 bytes"));
}

#[tokio::test]
async fn the_api_is_rate_limited_per_client_address_with_retry_after() {
    let w = world().await;
    let limited = |client_ip| {
        let url = w.sandbox_url.clone();
        let dir = w.dir.path().to_owned();
        async move {
            let setup = Setup {
                rate_limit_per_minute: 3,
                client_ip,
                ..Setup::new(&url)
            };
            backend::router(setup.open(&dir).await)
        }
    };
    let backend = limited(ClientIp::Peer).await;
    let cookie = session(&backend, "ann@example.com").await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    for _ in 0..3 {
        assert_eq!(
            send(&backend, forward(&token, "ann@example.com", &cookie))
                .await
                .status,
            200
        );
    }
    let fresh = mint(&w, "ann@example.com", &["oura"]).await;
    let r = send(&backend, forward(&fresh, "ann@example.com", &cookie)).await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (429, Some("rate_limited"))
    );
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    // Refused before anything: the fresh token was not exchanged.
    assert_eq!(stored(&w).await, (1, 1));
    assert_eq!(used_tokens(&w), 1);
    // Status and data are limited too.
    for uri in ["/api/zivacare/status", "/api/zivacare/data/steps"] {
        let codes: Vec<u16> = {
            let mut v = Vec::new();
            for _ in 0..4 {
                v.push(send(&backend, get_as(uri, &cookie)).await.status);
            }
            v
        };
        assert_eq!(codes[3], 429, "{uri}: {codes:?}");
    }
    // Behind a trusted proxy, each client address has its own limit.
    let proxied = limited(ClientIp::parse("x-forwarded-for").unwrap()).await;
    let from = |ip: &str| {
        Request::get("/api/zivacare/status")
            .header("cookie", &cookie)
            .header("x-forwarded-for", format!("{ip}, 10.0.0.1"))
            .body(Body::empty())
            .unwrap()
    };
    for _ in 0..3 {
        assert_eq!(send(&proxied, from("192.0.2.1")).await.status, 200);
    }
    assert_eq!(send(&proxied, from("192.0.2.1")).await.status, 429);
    assert_eq!(send(&proxied, from("192.0.2.2")).await.status, 200);
}

#[tokio::test]
async fn the_demo_and_the_sdk_are_served_compressed_and_revalidated() {
    let dir = tempfile::tempdir().unwrap();
    let page = format!(
        "<!doctype html><title>t</title>{}",
        "<p>hello</p>".repeat(200)
    );
    std::fs::create_dir_all(dir.path().join("www")).unwrap();
    std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
    std::fs::write(dir.path().join("www/index.html"), &page).unwrap();
    std::fs::write(
        dir.path().join("pkg/connect.js"),
        "var x = 1;\n".repeat(300),
    )
    .unwrap();
    let backend = backend::router(Setup::new("http://127.0.0.1:9").open(dir.path()).await);
    for (uri, encoding) in [("/", "gzip"), ("/pkg/connect.js", "br")] {
        let req = Request::get(uri)
            .header("accept-encoding", encoding)
            .body(Body::empty())
            .unwrap();
        let r = send(&backend, req).await;
        assert_eq!(r.status, 200, "{uri}");
        assert_eq!(r.headers["content-encoding"], encoding, "{uri}");
        assert_eq!(r.headers["cache-control"], "no-cache", "{uri}");
        assert!(
            r.headers.contains_key("last-modified"),
            "{uri}: revalidated"
        );
    }
    let r = send(&backend, get("/")).await;
    assert!(r.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("require-trusted-types-for 'script'"));
}
