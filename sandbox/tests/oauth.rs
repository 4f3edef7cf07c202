//! The token exchange and user creation, over real HTTP, as ZivaCare's pages
//! and its own clients (the Android SDK sends JSON) call them.

mod common;

use common::*;

#[tokio::test]
async fn token_exchange_accepts_json_and_forms_once() {
    let w = world().await;
    let token = w.mint("ann@example.com", &["fitbit"]).await;
    let r = w.exchange_form(&token, SECRET).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    let code = body["ziva_user_code"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(code).is_ok(), "{code}");
    assert_eq!(body["email"], "ann@example.com");
    assert_eq!(body["name"], "ann");
    assert!(body["access_token"].as_str().unwrap().len() >= 32);
    // One-time: the same token again is refused.
    let again = w.exchange_form(&token, SECRET).await;
    assert_eq!(
        (again.status, again.json()["code"].as_str().unwrap()),
        (400, "used_token")
    );
    // JSON (as ZivaCare's Android SDK sends it) works too, and the same user
    // keeps the same code.
    let token2 = w.mint("ann@example.com", &["withings"]).await;
    let json = serde_json::json!({ "specialToken": token2, "clientSecret": SECRET }).to_string();
    let r = w
        .post("/oauth/v2/get-access-token", "application/json", json)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["ziva_user_code"].as_str().unwrap(), code);
}

#[tokio::test]
async fn token_exchange_errors_consume_nothing() {
    let w = world().await;
    let token = w.mint("ann@example.com", &["fitbit"]).await;
    let form_ct = "application/x-www-form-urlencoded";
    let cases = [
        (form_ct, form(&token, "sec_SENTINEL_wrong"), 400, "0011"),
        (form_ct, form(&token, ""), 400, "0007"),
        (form_ct, form("", SECRET), 400, "invalid_token"),
        (
            form_ct,
            form("tok_SENTINEL_unknown", SECRET),
            400,
            "invalid_token",
        ),
        (
            "application/json",
            "{\"specialToken\": 1}".to_owned(),
            400,
            "invalid_request",
        ),
        (
            "application/json",
            "{not json".to_owned(),
            400,
            "invalid_request",
        ),
        (
            "text/plain",
            form(&token, SECRET),
            415,
            "unsupported_media_type",
        ),
    ];
    for (ct, body, status, code) in cases {
        let r = w.post("/oauth/v2/get-access-token", ct, body.clone()).await;
        assert_eq!(
            (r.status, r.json()["code"].as_str().unwrap_or("")),
            (status, code),
            "{ct} {body}"
        );
        assert!(!r.text.contains("SENTINEL") && !r.text.contains(SECRET));
    }
    assert_eq!(w.count("access_tokens"), 0);
    // After all that, the rightful exchange still works.
    assert_eq!(w.exchange_form(&token, SECRET).await.status, 200);
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let w = world_with(0, 100_000).await;
    let token = w.mint("ann@example.com", &["fitbit"]).await;
    let r = w.exchange_form(&token, SECRET).await;
    assert_eq!(
        (r.status, r.json()["code"].as_str().unwrap()),
        (400, "expired_token")
    );
}

#[tokio::test]
async fn create_user_follows_zivacares_error_codes_on_both_versions() {
    let w = world().await;
    let full = serde_json::json!({ "clientId": CLIENT_ID, "clientSecret": SECRET, "clientUserId": "zoe@example.com", "clientUserName": "Zoe Z" });
    // ZivaCare's Android SDK calls v1, its Manage Users page shows v2.
    let r = w
        .post(
            "/api/v1/app/create-user",
            "application/json",
            full.to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let created = r.json();
    assert_eq!(
        (
            created["clientId"].as_str(),
            created["clientUserId"].as_str(),
            created["clientUserName"].as_str()
        ),
        (Some(CLIENT_ID), Some("zoe@example.com"), Some("Zoe Z"))
    );
    assert!(created["specialToken"]
        .as_str()
        .is_some_and(|t| t.len() >= 22));
    let without = |key: &str| {
        let mut v = full.clone();
        v.as_object_mut().unwrap().remove(key);
        v
    };
    let mut wrong = full.clone();
    wrong["clientSecret"] = "sec_SENTINEL_wrong".into();
    let mut unknown = full.clone();
    unknown["clientId"] = "nobody".into();
    for (req, code) in [
        (full.clone(), "0001"),
        (without("clientId"), "0004"),
        (without("clientUserId"), "0005"),
        (without("clientSecret"), "0007"),
        (wrong, "0011"),
        (unknown, "0011"),
    ] {
        let r = w
            .post(
                "/api/v2/app/create-user",
                "application/json",
                req.to_string(),
            )
            .await;
        // As ZivaCare's Manage Users page documents: HTTP 400, {code, message}.
        assert_eq!(r.status, 400, "{req}");
        assert_eq!(r.json()["code"], code, "{req}");
        assert!(r.json()["message"].is_string(), "{req}");
        assert_eq!(r.json().as_object().unwrap().len(), 2, "{req}");
    }
    // The form the original docs use works too.
    let f = serde_urlencoded::to_string([
        ("clientId", CLIENT_ID),
        ("clientSecret", SECRET),
        ("clientUserId", "yan"),
        ("clientUserName", "Yan"),
    ])
    .unwrap();
    let r = w
        .post(
            "/api/v2/app/create-user",
            "application/x-www-form-urlencoded",
            f,
        )
        .await;
    assert_eq!(r.status, 200);
    let r = w
        .post(
            "/api/v3/app/create-user",
            "application/json",
            full.to_string(),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (404, Some("not_found"))
    );
}
