//! What the sandbox never does, from a local HTTP server of the test's own
//! (never a mock of the client): a redirect, a slow answer, a 429, a dropped
//! connection, garbage. One-time calls are sent once; reads are retried,
//! boundedly; and no error, made with real secrets in flight, shows one.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use zivacare::{Client, DataType, Error, Query, Record};

fn client_of(url: &str, timeout_ms: u64) -> Client {
    Client::builder("app", SECRET_SENTINEL)
        .local(url)
        .timeout(Duration::from_millis(timeout_ms))
        .build()
        .unwrap()
}

/// Every text an error shows: its `Display`, its `Debug`, and its sources'.
fn rendered(e: &Error) -> String {
    let mut text = format!("{e} | {e:?}");
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(&format!(" | {c} | {c:?}"));
        cause = c.source();
    }
    text
}

fn assert_clean(e: &Error) {
    let text = rendered(e);
    for secret in [SECRET_SENTINEL, TOKEN_SENTINEL, ACCESS_SENTINEL, "SENTINEL"] {
        assert!(!text.contains(secret), "{secret} in: {text}");
    }
}

#[tokio::test]
async fn t21_a_redirect_is_not_followed_and_the_secret_is_sent_once() {
    for status in [301, 302, 307, 308] {
        let elsewhere = Stub::start(vec![Answer::json(200, json!({}))]).await;
        let stub = Stub::start(vec![Answer::With(
            status,
            vec![(
                "location",
                format!("{}/oauth/v2/get-access-token", elsewhere.url),
            )],
            String::new(),
        )])
        .await;
        let err = client_of(&stub.url, 2000)
            .exchange(TOKEN_SENTINEL)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Upstream { status: s } if s == status),
            "{err:?}"
        );
        assert!(err.to_string().contains("not followed"));
        let seen = stub.received();
        assert_eq!(seen.len(), 1, "{status}: sent once");
        assert!(
            seen[0].body.contains(SECRET_SENTINEL),
            "the one request carried the secret"
        );
        assert!(
            elsewhere.received().is_empty(),
            "{status}: the secret went nowhere else"
        );
        // User creation follows no redirect either.
        let err = client_of(&stub.url, 2000)
            .create_user("ann", "Ann")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Upstream { .. }));
        assert!(elsewhere.received().is_empty());
    }
}

#[tokio::test]
async fn t22_a_slow_exchange_times_out_and_is_sent_once() {
    let slow = Answer::After(
        Duration::from_secs(3),
        Box::new(Answer::json(200, json!({}))),
    );
    let stub = Stub::start(vec![slow]).await;
    let started = Instant::now();
    let err = client_of(&stub.url, 500)
        .exchange(TOKEN_SENTINEL)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
    assert_eq!(err.code(), "upstream_timeout");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "bounded by the timeout"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stub.received().len(), 1, "never retried");
    // A dropped connection, a 503 and a 429 are not retried either.
    for answer in [
        Answer::Drop,
        Answer::json(503, json!({})),
        Answer::json(429, json!({})),
    ] {
        let stub = Stub::start(vec![answer]).await;
        let err = client_of(&stub.url, 2000)
            .exchange(TOKEN_SENTINEL)
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        assert_eq!(stub.received().len(), 1, "{err:?}");
    }
    // Nor is a write.
    let stub = Stub::start(vec![Answer::json(503, json!({}))]).await;
    let user = client_of(&stub.url, 2000).user(ACCESS_SENTINEL);
    let err = user
        .insert(
            DataType::Steps,
            &[Record::new("app")
                .record_time("2016-01-01T00:00:00Z")
                .value(1.0)],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Upstream { status: 503 }));
    assert_eq!(stub.received().len(), 1);
}

#[tokio::test]
async fn reads_are_retried_on_outages_boundedly() {
    let steps = json!({"steps": [{"code": "c1", "value": 100, "unit": "steps"}], "total": 1});
    // A 503, a dropped connection, a 429 with a short Retry-After, then the answer.
    let stub = Stub::start(vec![
        Answer::json(503, json!({})),
        Answer::Drop,
        Answer::With(429, vec![("retry-after", "1".into())], String::new()),
        Answer::json(200, steps),
    ])
    .await;
    let user = Client::builder("app", SECRET_SENTINEL)
        .local(&stub.url)
        .read_retries(3)
        .build()
        .unwrap()
        .user(ACCESS_SENTINEL);
    let started = Instant::now();
    let page = user.page(DataType::Steps, Query::new()).await.unwrap();
    assert_eq!(page.records[0].value, Some(100.0));
    assert_eq!(stub.received().len(), 4);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited out the Retry-After"
    );
    // Each attempt is the same GET: the token in the query, the unit system,
    // no cache, as ZivaCare's own client sends it.
    for r in stub.received() {
        assert!(
            r.line.starts_with(&format!(
                "GET /api/v2/human/steps?access_token={ACCESS_SENTINEL}"
            )),
            "{}",
            r.line
        );
        let head = r.head.to_ascii_lowercase();
        assert!(
            head.contains("x-unit-system: metric") && head.contains("cache-control: no-cache"),
            "{head}"
        );
    }
    // Past the retries, the last error; a 4xx is never retried; a long
    // Retry-After is given back at once rather than slept through.
    let down = Stub::start(vec![Answer::json(500, json!({}))]).await;
    let err = client_of(&down.url, 2000)
        .user("a")
        .page(DataType::Steps, Query::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Upstream { status: 500 }));
    assert_eq!(
        down.received().len(),
        3,
        "the first try and the default two retries"
    );
    let refused = Stub::start(vec![Answer::json(
        404,
        json!({"code": "not_found", "message": "No"}),
    )])
    .await;
    assert!(client_of(&refused.url, 2000)
        .user("a")
        .record(DataType::Steps, "x")
        .await
        .is_err());
    assert_eq!(refused.received().len(), 1);
    let busy = Stub::start(vec![Answer::With(
        429,
        vec![("retry-after", "120".into())],
        String::new(),
    )])
    .await;
    let started = Instant::now();
    let err = client_of(&busy.url, 2000)
        .user("a")
        .page(DataType::Steps, Query::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(120))
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(busy.received().len(), 1);
}

#[tokio::test]
async fn t20_no_error_shows_a_secret_or_a_token() {
    let mut errors: Vec<Error> = Vec::new();
    // ZivaCare's documented codes, with messages that quote what was sent.
    for code in ["0001", "0004", "0005", "0007", "0011", "used_token"] {
        let stub = Stub::start(vec![
            Answer::json(400, json!({"code": code, "message": format!("bad {TOKEN_SENTINEL} with {SECRET_SENTINEL}")})),
            Answer::json(400, json!({"code": code, "message": format!("no user with {SECRET_SENTINEL}")})),
        ])
        .await;
        let client = client_of(&stub.url, 2000);
        errors.push(client.exchange(TOKEN_SENTINEL).await.unwrap_err());
        errors.push(client.create_user("ann", "Ann").await.unwrap_err());
    }
    // The data API, where the access token rides in the query of every request.
    let stub = Stub::start(vec![
        Answer::json(
            401,
            json!({"code": "invalid_access_token", "message": ACCESS_SENTINEL}),
        ),
        Answer::json(
            418,
            json!({"code": "teapot", "message": format!("no {ACCESS_SENTINEL}")}),
        ),
        Answer::With(429, vec![("retry-after", "60".into())], String::new()),
        Answer::json(502, json!({})),
        Answer::With(200, vec![], "not json".into()),
        Answer::json(200, json!({"elsewhere": []})),
        Answer::After(
            Duration::from_secs(3),
            Box::new(Answer::json(200, json!({}))),
        ),
        Answer::Drop,
    ])
    .await;
    let user = Client::builder("app", SECRET_SENTINEL)
        .local(&stub.url)
        .timeout(Duration::from_millis(500))
        .read_retries(0)
        .build()
        .unwrap()
        .user(ACCESS_SENTINEL);
    for _ in 0..8 {
        errors.push(
            user.page(DataType::Weights, Query::new())
                .await
                .unwrap_err(),
        );
    }
    // Nothing listening at all.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    errors.push(
        client_of(&closed, 2000)
            .user(ACCESS_SENTINEL)
            .page(DataType::Steps, Query::new())
            .await
            .unwrap_err(),
    );
    errors.push(
        client_of(&closed, 2000)
            .exchange(TOKEN_SENTINEL)
            .await
            .unwrap_err(),
    );
    // What the application asked for, and how it configured the client.
    errors.push(
        user.update(DataType::Weights, &[Record::new("app")])
            .await
            .unwrap_err(),
    );
    errors.push(
        Client::builder("app", SECRET_SENTINEL)
            .local(format!("http://example.com/{SECRET_SENTINEL}"))
            .build()
            .unwrap_err(),
    );
    // Every variant was made, and none shows a secret.
    let variants: std::collections::BTreeSet<String> = errors
        .iter()
        .map(|e| {
            format!("{e:?}")
                .split([' ', '{', '('])
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    let all = [
        "Api",
        "AccessTokenRejected",
        "Config",
        "DuplicateUser",
        "InvalidInput",
        "InvalidResponse",
        "MissingClientId",
        "MissingClientSecret",
        "MissingClientUserId",
        "RateLimited",
        "Timeout",
        "TokenRejected",
        "Transport",
        "UnknownApplication",
        "Upstream",
    ];
    assert_eq!(
        variants,
        all.iter().map(|s| s.to_string()).collect(),
        "every variant of Error"
    );
    for e in &errors {
        assert_clean(e);
        assert!(!e.code().is_empty());
    }
    // What the messages say, with the secrets cut out.
    let text = errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("bad <redacted> with <redacted>"), "{text}");
    // The secret-holding types print nothing either.
    let client = client_of(&stub.url, 2000);
    let shown = format!(
        "{client:?} {:?} {:?}",
        client.user(ACCESS_SENTINEL),
        zivacare::SpecialToken::new(TOKEN_SENTINEL)
    );
    assert!(!shown.contains("SENTINEL"), "{shown}");
}
