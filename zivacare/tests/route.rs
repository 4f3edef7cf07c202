//! The `axum` feature's token route, served on loopback with the test's own
//! user extractor and a [`MemoryLedger`], against the sandbox (or the test's
//! own server, for what the sandbox never does), over real HTTP.
#![cfg(feature = "axum")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::Router;
use common::*;
use serde_json::{json, Value};
use zivacare::axum::{ConnectUser, Refusal, TokenRoute};
use zivacare::{Client, MemoryLedger};
use zivacare_sandbox::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};

const ORIGIN: &str = "https://app.example.com";

/// The signed-in user, from a header the test sets (an app's proxy would).
struct User(String);

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Refusal> {
        parts
            .headers
            .get("x-test-user")
            .and_then(|v| v.to_str().ok())
            .map(|u| User(u.to_owned()))
            .ok_or_else(Refusal::unauthenticated)
    }
}

impl ConnectUser for User {
    fn client_user_id(&self) -> &str {
        &self.0
    }
}

/// The route for `client`, served on loopback: its URL and its ledger.
async fn serve(client: Client) -> (String, Arc<MemoryLedger>) {
    let ledger = Arc::new(MemoryLedger::new());
    let route = TokenRoute::new(client, Arc::clone(&ledger)).allowed_origins([ORIGIN]);
    let app: Router = Router::new().route("/token", route.post::<User, _>());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, ledger)
}

fn forward(token: &str, user: &str) -> Value {
    json!({ "specialToken": token, "clientId": DEMO_CLIENT_ID, "clientUserId": user, "state": "st4te" })
}

/// The SDK's POST, as `user` signed in, with `body`; (status, body, Cache-Control).
async fn post(url: &str, user: Option<&str>, body: &Value) -> (u16, Value, String) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("origin", ORIGIN)
        .header("x-zivacare-connect", "1")
        .json(body);
    if let Some(u) = user {
        req = req.header("x-test-user", u);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let cache = r
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, r.json().await.unwrap_or(Value::Null), cache)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_forward_is_exchanged_once_however_often_it_is_posted() {
    let sb = sandbox().await;
    let (url, ledger) = serve(client(&sb.url)).await;
    let token = sb
        .mint(DEMO_CLIENT_ID, "ann@example.com", &["fitbit"])
        .await
        .unwrap();
    // Ten at once, as a retrying SDK and a double submit might.
    let posts = (0..10).map(|_| {
        let (url, body) = (url.clone(), forward(&token, "ann@example.com"));
        tokio::spawn(async move { post(&url, Some("ann@example.com"), &body).await })
    });
    let answers: Vec<_> = futures_util::future::join_all(posts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let connection = ledger.connection("ann@example.com").expect("stored");
    for (status, body, cache) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(
            body,
            &json!({ "zivaUserCode": connection.ziva_user_code, "connected": true })
        );
        assert_eq!(cache, "no-store");
    }
    assert!(!answers
        .iter()
        .any(|(_, b, _)| b.to_string().contains(connection.access_token.expose())));
    // ZivaCare exchanged it once: it is spent.
    assert!(client(&sb.url).exchange(token.as_str()).await.is_err());
    // The same token for another user is refused, and stores nothing for them.
    let (status, body, _) = post(
        &url,
        Some("bob@example.com"),
        &forward(&token, "bob@example.com"),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("token_reused")));
    assert!(ledger.connection("bob@example.com").is_none());
}

#[tokio::test]
async fn t10_t12_what_is_not_the_sdks_forward_from_the_app_is_refused_before_any_exchange() {
    // ZivaCare here is the test's server: it counts what reaches it.
    let zivacare = Stub::start(vec![Answer::json(500, json!({}))]).await;
    let (url, ledger) = serve(
        Client::builder(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
            .local(&zivacare.url)
            .build()
            .unwrap(),
    )
    .await;
    let good = forward("tok123", "ann@example.com");
    let send = |origin: Option<&'static str>,
                header: bool,
                user: Option<&'static str>,
                ct: &'static str,
                body: String| {
        let url = url.clone();
        async move {
            let mut req = reqwest::Client::new()
                .post(&url)
                .header("content-type", ct)
                .body(body);
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            if header {
                req = req.header("x-zivacare-connect", "1");
            }
            if let Some(u) = user {
                req = req.header("x-test-user", u);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (
                status,
                r.json::<Value>().await.unwrap_or(Value::Null)["code"]
                    .as_str()
                    .map(str::to_owned),
            )
        }
    };
    let json_ct = "application/json";
    let ann = Some("ann@example.com");
    let cases = [
        (send(None, true, ann, json_ct, good.to_string()).await, 403, "forbidden"),
        (send(Some("https://app.example.com.evil"), true, ann, json_ct, good.to_string()).await, 403, "forbidden"),
        (send(Some("null"), true, ann, json_ct, good.to_string()).await, 403, "forbidden"),
        (send(Some(ORIGIN), false, ann, json_ct, good.to_string()).await, 403, "forbidden"),
        (send(Some(ORIGIN), true, None, json_ct, good.to_string()).await, 401, "unauthenticated"),
        (send(Some(ORIGIN), true, Some("bob@example.com"), json_ct, good.to_string()).await, 403, "forbidden"),
        (send(Some(ORIGIN), true, ann, "text/plain", good.to_string()).await, 415, "unsupported_media_type"),
        (send(Some(ORIGIN), true, ann, "application/x-www-form-urlencoded", "specialToken=tok123".into()).await, 415, "unsupported_media_type"),
        (send(Some(ORIGIN), true, ann, json_ct, "x".repeat(64 << 10)).await, 413, "body_too_large"),
        (send(Some(ORIGIN), true, ann, json_ct, "{".into()).await, 400, "invalid_request"),
        (send(Some(ORIGIN), true, ann, json_ct, json!({"specialToken": "tok123"}).to_string()).await, 400, "invalid_request"),
        (send(Some(ORIGIN), true, ann, json_ct, { let mut b = good.clone(); b["extra"] = json!(1); b.to_string() }).await, 400, "invalid_request"),
        (send(Some(ORIGIN), true, ann, json_ct, { let mut b = good.clone(); b["clientId"] = json!("other"); b.to_string() }).await, 400, "invalid_request"),
        (send(Some(ORIGIN), true, ann, json_ct, { let mut b = good.clone(); b["specialToken"] = json!("tok\n1"); b.to_string() }).await, 400, "invalid_request"),
        (send(Some(ORIGIN), true, ann, json_ct, r#"{"specialToken":"a","specialToken":"b","clientId":"demo-client","clientUserId":"ann@example.com","state":"s"}"#.into()).await, 400, "invalid_request"),
    ];
    for (i, ((status, code), want_status, want_code)) in cases.iter().enumerate() {
        assert_eq!(
            (*status, code.as_deref()),
            (*want_status, Some(*want_code)),
            "case {i}"
        );
    }
    assert!(zivacare.received().is_empty(), "nothing reached ZivaCare");
    assert!(ledger.connection("ann@example.com").is_none());
}

#[tokio::test]
async fn t15_zivacares_refusals_and_outages_are_told_apart_and_store_nothing() {
    // A refused token: asked once, then answered from the ledger.
    let refusing = Stub::start(vec![Answer::json(
        400,
        json!({"code": "invalid_token", "message": "Unknown"}),
    )])
    .await;
    let (url, ledger) = serve(client(&refusing.url)).await;
    for _ in 0..2 {
        let (status, body, _) = post(
            &url,
            Some("ann@example.com"),
            &forward("tok1", "ann@example.com"),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("token_rejected"))
        );
    }
    assert_eq!(
        refusing.received().len(),
        1,
        "a repeat does not ask ZivaCare again"
    );
    assert!(ledger.connection("ann@example.com").is_none());
    // Our application refused: an operator's problem, not the user's.
    let sb = sandbox().await;
    let (url, _) = serve(
        Client::builder(DEMO_CLIENT_ID, "wrong-secret")
            .local(&sb.url)
            .build()
            .unwrap(),
    )
    .await;
    let token = sb
        .mint(DEMO_CLIENT_ID, "ann@example.com", &[])
        .await
        .unwrap();
    let (status, body, _) = post(
        &url,
        Some("ann@example.com"),
        &forward(&token, "ann@example.com"),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("upstream_misconfigured"))
    );
    client(&sb.url)
        .exchange(token)
        .await
        .expect("the token was not spent");
    // Outages: the claim is released, so the SDK's retry asks again.
    for (answer, want) in [
        (Answer::json(503, json!({})), (502, "upstream_error")),
        (
            Answer::With(200, vec![], "garbage".into()),
            (502, "upstream_error"),
        ),
        (
            Answer::json(200, json!({"name": "no code"})),
            (502, "upstream_error"),
        ),
        (
            Answer::After(
                Duration::from_secs(3),
                Box::new(Answer::json(200, json!({}))),
            ),
            (504, "upstream_timeout"),
        ),
        (Answer::Drop, (502, "upstream_error")),
    ] {
        let down = Stub::start(vec![answer]).await;
        let slow = Client::builder(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
            .local(&down.url)
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap();
        let (url, ledger) = serve(slow).await;
        for _ in 0..2 {
            let (status, body, _) = post(
                &url,
                Some("ann@example.com"),
                &forward("tok2", "ann@example.com"),
            )
            .await;
            assert_eq!(
                (status, body["code"].as_str()),
                (want.0, Some(want.1)),
                "{body}"
            );
            assert_eq!(
                body["message"],
                match want.1 {
                    "upstream_timeout" => "ZivaCare did not answer in time",
                    _ => "ZivaCare could not complete the connection",
                }
            );
        }
        assert_eq!(
            down.received().len(),
            2,
            "{want:?}: released, so asked again"
        );
        assert!(ledger.connection("ann@example.com").is_none());
    }
}
