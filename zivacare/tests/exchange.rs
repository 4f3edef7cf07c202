//! The one-time calls, against the sandbox over real HTTP: the specialToken
//! exchange and user creation, their documented errors, and what must never
//! happen twice.

mod common;

use common::*;
use zivacare::{Client, Error};
use zivacare_sandbox::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};

#[tokio::test]
async fn a_special_token_is_exchanged_once_for_the_users_connection() {
    let sb = sandbox().await;
    let client = client(&sb.url);
    let token = sb
        .mint(DEMO_CLIENT_ID, "ann@example.com", &["fitbit"])
        .await
        .unwrap();
    let connection = client.exchange(token.as_str()).await.unwrap();
    assert_eq!(connection.email, "ann@example.com");
    assert_eq!(connection.name, "ann");
    assert_eq!(connection.ziva_user_code.len(), 36, "a UUID");
    assert!(!connection.access_token.expose().is_empty());
    assert!(!format!("{connection:?}").contains(connection.access_token.expose()));
    // The same token again: ZivaCare refuses it, and says why.
    let again = client.exchange(token.as_str()).await.unwrap_err();
    assert!(
        matches!(&again, Error::TokenRejected { code, .. } if code == "used_token"),
        "{again:?}"
    );
    assert_eq!(again.code(), "token_rejected");
    // An unknown one.
    let unknown = client.exchange("tok_nosuchtoken").await.unwrap_err();
    assert!(matches!(&unknown, Error::TokenRejected { code, .. } if code == "invalid_token"));
}

#[tokio::test]
async fn a_wrong_secret_is_the_applications_fault_and_spends_nothing() {
    let sb = sandbox().await;
    let token = sb
        .mint(DEMO_CLIENT_ID, "bob@example.com", &["oura"])
        .await
        .unwrap();
    let wrong = Client::builder(DEMO_CLIENT_ID, SECRET_SENTINEL)
        .local(&sb.url)
        .build()
        .unwrap();
    let err = wrong.exchange(token.as_str()).await.unwrap_err();
    assert!(matches!(err, Error::UnknownApplication { .. }), "{err:?}");
    assert_eq!(
        (err.code(), err.zivacare_code()),
        ("upstream_misconfigured", Some("0011"))
    );
    assert!(!format!("{err} {err:?}").contains(SECRET_SENTINEL));
    // The rightful server still exchanges it.
    client(&sb.url).exchange(token).await.unwrap();
}

#[tokio::test]
async fn an_expired_token_is_refused_as_expired() {
    let sb = zivacare_sandbox::spawn(zivacare_sandbox::SandboxConfig {
        token_ttl_secs: -1,
        ..zivacare_sandbox::SandboxConfig::in_memory(vec![zivacare_sandbox::demo_app(vec![])])
    })
    .await
    .unwrap();
    let token = sb
        .mint(DEMO_CLIENT_ID, "cy@example.com", &[])
        .await
        .unwrap();
    let err = client(&sb.url).exchange(token).await.unwrap_err();
    assert!(
        matches!(&err, Error::TokenRejected { code, .. } if code == "expired_token"),
        "{err:?}"
    );
}

#[tokio::test]
async fn create_user_gives_a_token_to_exchange_and_zivacares_documented_errors() {
    let sb = sandbox().await;
    let client = client(&sb.url);
    let created = client
        .create_user("dee@example.com", "Dee Example")
        .await
        .unwrap();
    assert_eq!(
        (
            created.client_id.as_str(),
            created.client_user_id.as_str(),
            created.client_user_name.as_str()
        ),
        (DEMO_CLIENT_ID, "dee@example.com", "Dee Example")
    );
    let connection = client.exchange(created.special_token).await.unwrap();
    let profile = client
        .user(connection.access_token)
        .profile()
        .await
        .unwrap();
    assert_eq!(profile.fields["name"], "Dee Example");
    assert_eq!(
        profile.user_code.as_deref(),
        Some(connection.ziva_user_code.as_str())
    );
    // 0001: the same user again.
    let err = client
        .create_user("dee@example.com", "Dee")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateUser { message } if message.contains("duplicate")),
        "{err:?}"
    );
    assert_eq!(
        (err.code(), err.zivacare_code()),
        ("duplicate_user", Some("0001"))
    );
    // 0005: no user id.
    let err = client.create_user("  ", "Nobody").await.unwrap_err();
    assert!(matches!(err, Error::MissingClientUserId { .. }), "{err:?}");
    // 0011: a wrong secret.
    let wrong = Client::builder(DEMO_CLIENT_ID, "wrong")
        .local(&sb.url)
        .build()
        .unwrap();
    let err = wrong
        .create_user("eve@example.com", "Eve")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownApplication { .. }), "{err:?}");
    // 0004 and 0007 cannot come from this client (it refuses to be built
    // without either); the sandbox answers them to any other.
    let raw = reqwest::Client::new();
    for (body, code) in [
        (
            serde_json::json!({"clientSecret": DEMO_CLIENT_SECRET, "clientUserId": "x"}),
            "0004",
        ),
        (
            serde_json::json!({"clientId": DEMO_CLIENT_ID, "clientUserId": "x"}),
            "0007",
        ),
    ] {
        let r = raw
            .post(format!("{}/api/v2/app/create-user", sb.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.json::<serde_json::Value>().await.unwrap()["code"], code);
    }
    assert!(Client::builder("", "x").build().is_err());
    assert!(Client::builder("x", "").build().is_err());
}

#[tokio::test]
async fn the_client_is_configured_from_the_environment_and_names_what_is_missing() {
    // One test sets the variables (the process's environment is shared).
    std::env::remove_var("ZIVACARE_CLIENT_ID");
    std::env::remove_var("ZIVACARE_CLIENT_SECRET");
    std::env::remove_var("ZIVACARE_API_URL");
    let err = Client::from_env().unwrap_err();
    assert!(
        matches!(&err, Error::Config { message } if message == "ZIVACARE_CLIENT_ID is not set"),
        "{err:?}"
    );
    std::env::set_var("ZIVACARE_CLIENT_ID", DEMO_CLIENT_ID);
    let err = Client::from_env().unwrap_err();
    assert!(err.to_string().contains("ZIVACARE_CLIENT_SECRET"), "{err}");
    std::env::set_var("ZIVACARE_CLIENT_SECRET", DEMO_CLIENT_SECRET);
    std::env::set_var("ZIVACARE_API_URL", "http://zivacare.example.com");
    let err = Client::from_env().unwrap_err();
    assert!(
        err.to_string().contains("ZIVACARE_API_URL must use https:"),
        "{err}"
    );
    // Against the sandbox: a real exchange.
    let sb = sandbox().await;
    std::env::set_var("ZIVACARE_API_URL", &sb.url);
    let client = Client::from_env().unwrap();
    let token = sb
        .mint(DEMO_CLIENT_ID, "env@example.com", &[])
        .await
        .unwrap();
    client.exchange(token).await.unwrap();
    // Without a base URL: ZivaCare's production hosts.
    std::env::remove_var("ZIVACARE_API_URL");
    let production = format!("{:?}", Client::from_env().unwrap());
    assert!(
        production.contains("https://developer.zivacare.com")
            && production.contains("https://api.zivacare.com"),
        "{production}"
    );
    assert!(!production.contains(DEMO_CLIENT_SECRET));
}
