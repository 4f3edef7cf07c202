//! The sandbox's endpoints, good and bad input, without a socket (oneshot).

mod common;

use common::*;

fn connect_uri(client_id: &str, user: &str, origin: &str, state: &str) -> String {
    let enc =
        |s: &str| -> String { serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_owned() };
    format!(
        "/connect?clientId={}&clientUserId={}&origin={}&state={}",
        enc(client_id),
        enc(user),
        enc(origin),
        enc(state)
    )
}

#[tokio::test]
async fn connect_page_is_real_html_with_a_strict_policy_and_escaped_values() {
    let w = world().await;
    let r = send(
        &w.sandbox,
        get(&connect_uri(
            CLIENT_ID,
            "<img src=x onerror=alert(1)>",
            APP_ORIGIN,
            "st4te",
        )),
    )
    .await;
    assert_eq!(r.status, 200);
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(r.text.contains("Finish Connecting Data"));
    assert!(r
        .text
        .contains("<script src=\"/connect.js\" defer></script>"));
    assert!(!r.text.contains("<script>"), "no inline script");
    assert!(!r.text.contains("<img src=x"), "user text is escaped");
    assert!(r.text.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(r.text.contains("Test &lt;App&gt;"));
    for source in ["fitbit", "garmin", "oura", "withings", "quest"] {
        assert!(r.text.contains(&format!("value=\"{source}\"")), "{source}");
    }
    let js = send(&w.sandbox, get("/connect.js")).await;
    assert_eq!(js.status, 200);
    assert!(js.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(
        js.text.contains("postMessage") && !js.text.contains("\"*\""),
        "never posts to *"
    );
}

#[tokio::test]
async fn t16_connect_page_refuses_unknown_apps_foreign_origins_and_bad_links() {
    let w = world().await;
    for (uri, why) in [
        (
            connect_uri("nobody", "ann", APP_ORIGIN, "st4te"),
            "not recognised",
        ),
        (
            connect_uri(CLIENT_ID, "ann", "http://127.0.0.1:9999", "st4te"),
            "not registered",
        ),
        (
            connect_uri(CLIENT_ID, "ann", "https://127.0.0.1:8080", "st4te"),
            "not registered",
        ),
        (
            connect_uri(CLIENT_ID, "ann", APP_ORIGIN, "bad state"),
            "no valid state",
        ),
        (
            connect_uri(CLIENT_ID, "", APP_ORIGIN, "st4te"),
            "names no user",
        ),
        ("/connect".to_owned(), "not recognised"),
        ("/connect?clientId=a&clientId=b".to_owned(), "malformed"),
    ] {
        let r = send(&w.sandbox, get(&uri)).await;
        assert_eq!(r.status, 400, "{uri}");
        assert!(r.text.contains(why), "{uri}: {}", r.text);
        assert!(
            !r.text.contains("data-origin"),
            "an error page gives its script nothing to post"
        );
        assert!(r.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
    }
}

#[tokio::test]
async fn finishing_mints_tokens_only_for_registered_origins_and_known_sources() {
    let w = world().await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    assert!(
        token.len() >= 22 && zivacare_dev::text::is_token_text(&token),
        "{token}"
    );
    let good = serde_json::json!({ "clientId": CLIENT_ID, "clientUserId": "ann", "origin": APP_ORIGIN, "sources": ["fitbit"] });
    let cases = [
        (
            serde_json::json!({ "origin": "http://evil.test" }),
            400,
            "0011",
        ),
        (serde_json::json!({ "clientId": "nobody" }), 400, "0011"),
        (serde_json::json!({ "sources": [] }), 400, "invalid_sources"),
        (
            serde_json::json!({ "sources": ["myspace"] }),
            400,
            "invalid_sources",
        ),
        (serde_json::json!({ "clientUserId": "" }), 400, "0005"),
        (serde_json::json!({ "extra": 1 }), 400, "invalid_request"),
    ];
    for (patch, status, code) in cases {
        let mut body = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = send(
            &w.sandbox,
            post("/connect/finish", "application/json", body.to_string()),
        )
        .await;
        assert_eq!(
            (r.status, r.json()["code"].as_str().unwrap_or("")),
            (status, code),
            "{patch}"
        );
    }
    let r = send(
        &w.sandbox,
        post("/connect/finish", "text/plain", good.to_string()),
    )
    .await;
    assert_eq!(r.status, 415);
    let r = send(
        &w.sandbox,
        post("/connect/finish", "application/json", vec![b'{'; 64 * 1024]),
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(count(w.dir.path(), "sandbox.db", "special_tokens"), 1);
}

async fn exchange(w: &World, content_type: &str, body: String) -> Reply {
    send(
        &w.sandbox,
        post("/oauth/v2/get-access-token", content_type, body),
    )
    .await
}

/// The exchange as ZivaCare's docs show it: a form with the token and the secret.
async fn exchange_form(w: &World, token: &str, secret: &str) -> Reply {
    exchange(w, "application/x-www-form-urlencoded", form(token, secret)).await
}

fn form(token: &str, secret: &str) -> String {
    serde_urlencoded::to_string([("specialToken", token), ("clientSecret", secret)]).unwrap()
}

#[tokio::test]
async fn token_exchange_accepts_json_and_forms_once() {
    let w = world().await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    let r = exchange_form(&w, &token, SECRET).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    let code = body["ziva_user_code"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(code).is_ok(), "{code}");
    assert_eq!(body["email"], "ann@example.com");
    assert_eq!(body["name"], "ann");
    assert!(body["access_token"].as_str().unwrap().len() >= 32);
    // One-time: the same token again is refused.
    let again = exchange_form(&w, &token, SECRET).await;
    assert_eq!(
        (again.status, again.json()["code"].as_str().unwrap()),
        (400, "used_token")
    );
    // JSON works too, and the same user keeps the same code.
    let token2 = mint(&w, "ann@example.com", &["withings"]).await;
    let json = serde_json::json!({ "specialToken": token2, "clientSecret": SECRET }).to_string();
    let r = exchange(&w, "application/json", json).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["ziva_user_code"].as_str().unwrap(), code);
}

#[tokio::test]
async fn token_exchange_errors_consume_nothing() {
    let w = world().await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    let cases = [
        (
            "application/x-www-form-urlencoded",
            form(&token, "sec_SENTINEL_wrong"),
            400,
            "0011",
        ),
        (
            "application/x-www-form-urlencoded",
            form(&token, ""),
            400,
            "0007",
        ),
        (
            "application/x-www-form-urlencoded",
            form("", SECRET),
            400,
            "invalid_token",
        ),
        (
            "application/x-www-form-urlencoded",
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
        let r = exchange(&w, ct, body.clone()).await;
        assert_eq!(
            (r.status, r.json()["code"].as_str().unwrap_or("")),
            (status, code),
            "{ct} {body}"
        );
        assert!(!r.text.contains("SENTINEL") && !r.text.contains(SECRET));
    }
    assert_eq!(count(w.dir.path(), "sandbox.db", "access_tokens"), 0);
    // After all that, the rightful exchange still works.
    let r = exchange_form(&w, &token, SECRET).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let w = world_with(SECRET, 0).await;
    let token = mint(&w, "ann@example.com", &["fitbit"]).await;
    let r = exchange_form(&w, &token, SECRET).await;
    assert_eq!(
        (r.status, r.json()["code"].as_str().unwrap()),
        (400, "expired_token")
    );
}

#[tokio::test]
async fn create_user_follows_zivacares_error_codes() {
    let w = world().await;
    let body = |v: serde_json::Value| v.to_string();
    let full = serde_json::json!({ "clientId": CLIENT_ID, "clientSecret": SECRET, "clientUserId": "zoe@example.com", "clientUserName": "Zoe Z" });
    let r = send(
        &w.sandbox,
        post(
            "/api/v2/app/create-user",
            "application/json",
            body(full.clone()),
        ),
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
        let r = send(
            &w.sandbox,
            post(
                "/api/v2/app/create-user",
                "application/json",
                body(req.clone()),
            ),
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
    let r = send(
        &w.sandbox,
        post(
            "/api/v2/app/create-user",
            "application/x-www-form-urlencoded",
            f,
        ),
    )
    .await;
    assert_eq!(r.status, 200);
}

/// A user with Fitbit and Withings shared, and their access token.
async fn reader(w: &World) -> String {
    let token = mint(w, "ann@example.com", &["fitbit", "withings"]).await;
    exchange_form(w, &token, SECRET).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn human_data_is_deterministic_paged_and_guarded() {
    let w = world().await;
    let access = reader(&w).await;
    let data = |q: &str| {
        send(
            &w.sandbox,
            get(&format!("/api/v2/human/{q}&access_token={access}")),
        )
    };
    let weights = data("weights?limit=5").await;
    assert_eq!(weights.status, 200);
    let body = weights.json();
    assert_eq!(body["total"], 30);
    let list = body["weights"].as_array().unwrap();
    assert_eq!(list.len(), 5);
    let first = &list[0];
    for key in [
        "code",
        "user_code",
        "record_time",
        "source",
        "value",
        "unit",
    ] {
        assert!(!first[key].is_null(), "{key}");
    }
    assert_eq!(
        (first["source"].as_str(), first["unit"].as_str()),
        (Some("withings"), Some("kg"))
    );
    assert_eq!(
        data("weights?limit=5").await.text,
        weights.text,
        "deterministic"
    );
    let page2 = data("weights?limit=5&offset=5").await.json();
    assert_eq!(page2["weights"][0]["record_time"], "2026-10-26 08:00:00+00");
    let window = data("steps?start=2026-10-30&end=2026-10-31%2023:59:59%2B00")
        .await
        .json();
    assert_eq!(window["total"], 2);
    assert_eq!(
        data("heart_rates?limit=1").await.json()["total"],
        30,
        "fitbit only"
    );
    assert_eq!(
        data("lab_results?limit=1").await.json()["total"],
        0,
        "quest not shared"
    );
    assert_eq!(data("cats?limit=1").await.status, 404);
    let r = send(
        &w.sandbox,
        get("/api/v2/human/weights?access_token=tok_SENTINEL_nope"),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        send(&w.sandbox, get("/api/v2/human/weights")).await.status,
        401
    );
}

/// What ZivaCare's API Conventions and Heart Rate pages show: lists keyed by a
/// camelCase plural with their `total`, record times written like
/// `2016-01-01 15:52:01+00`, a record by its code, a day's and a period's records.
#[tokio::test]
async fn human_data_answers_as_zivacare_documents() {
    let w = world().await;
    let access = reader(&w).await;
    let data = |path: &str| {
        send(
            &w.sandbox,
            get(&format!("/api/v2/human/{path}?access_token={access}")),
        )
    };
    let list = data("heart_rates").await.json();
    let keys: Vec<&String> = list.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["heartRates", "total"], "{list}");
    assert_eq!(list["total"], 30);
    let latest = &list["heartRates"][0];
    assert_eq!(latest["record_time"], "2026-10-31 08:00:00+00");
    let time = latest["record_time"].as_str().unwrap();
    let b = time.as_bytes();
    assert!(
        b.len() == 22 && b[10] == b' ' && time.ends_with("+00"),
        "written like 2016-01-01 15:52:01+00: {time}"
    );
    // One record by its code.
    let code = latest["code"].as_str().unwrap();
    let one = data(&format!("heart_rates/{code}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(&one.json(), latest);
    assert_eq!(data("heart_rates/nosuchcode").await.status, 404);
    // A day's readings, and a period's (both days included).
    let day = data("heart_rates/daily/2026-10-31").await.json();
    assert_eq!(day["total"], 1);
    assert_eq!(day["heartRates"][0], *latest);
    let weights = data("weights/daily/2026-10-30").await.json();
    assert_eq!(
        weights["weights"][0]["record_time"],
        "2026-10-30 08:00:00+00"
    );
    let period = data("heart_rates/period/2026-10-25/2026-10-31")
        .await
        .json();
    assert_eq!(period["total"], 7);
    assert_eq!(data("heart_rates/daily/2026-02-30").await.status, 400);
    assert_eq!(
        data("heart_rates/period/2026-10-25/yesterday").await.status,
        400
    );
    let labs = data("lab_results").await.json();
    assert!(labs.get("labResults").is_some(), "{labs}");
}

#[tokio::test]
async fn weights_come_in_pounds_for_the_us_and_uk_unit_systems() {
    let w = world().await;
    let access = reader(&w).await;
    let weights = |system: Option<&str>| {
        let mut req = axum::http::Request::get(format!(
            "/api/v2/human/weights?limit=1&access_token={access}"
        ));
        if let Some(s) = system {
            req = req.header("x-unit-system", s);
        }
        send(&w.sandbox, req.body(axum::body::Body::empty()).unwrap())
    };
    let metric = weights(None).await.json()["weights"][0].clone();
    assert_eq!(weights(Some("metric")).await.json()["weights"][0], metric);
    let kg = metric["value"].as_f64().unwrap();
    assert_eq!(metric["unit"], "kg");
    for system in ["us", "uk"] {
        let w = weights(Some(system)).await.json()["weights"][0].clone();
        assert_eq!(w["unit"], "lb", "{system}");
        let lb = w["value"].as_f64().unwrap();
        // Both are rounded to 0.1 of their unit: the kilograms' ±0.05 is ±0.11 lb.
        assert!(
            (lb - kg * 2.204_622_6).abs() <= 0.17,
            "{kg} kg is not {lb} lb"
        );
        assert_eq!(w["code"], metric["code"], "the same record");
    }
    assert_eq!(weights(Some("imperial")).await.status, 400);
    // Other types keep their units.
    let steps = send(
        &w.sandbox,
        axum::http::Request::get(format!("/api/v2/human/steps?limit=1&access_token={access}"))
            .header("x-unit-system", "us")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .json();
    assert_eq!(steps["steps"][0]["unit"], "steps");
}

#[tokio::test]
async fn the_connect_page_and_token_endpoint_are_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let sb = zivacare_dev::sandbox::Sandbox::open(zivacare_dev::sandbox::SandboxConfig {
        apps: vec![app()],
        db_path: dir.path().join("sandbox.db"),
        token_ttl_secs: 600,
        rate_limit_per_minute: 2,
        client_ip: zivacare_dev::http::ClientIp::Peer,
    })
    .unwrap();
    let router = zivacare_dev::sandbox::router(sb);
    let uri = connect_uri(CLIENT_ID, "ann", APP_ORIGIN, "st4te");
    assert_eq!(send(&router, get(&uri)).await.status, 200);
    assert_eq!(send(&router, get(&uri)).await.status, 200);
    let r = send(&router, get(&uri)).await;
    assert_eq!(r.status, 429);
    assert!(r.headers.contains_key("retry-after"));
    let exchange = || {
        post(
            "/oauth/v2/get-access-token",
            "application/x-www-form-urlencoded",
            form("x", SECRET),
        )
    };
    for _ in 0..2 {
        assert_eq!(send(&router, exchange()).await.status, 400);
    }
    assert_eq!(send(&router, exchange()).await.status, 429);
}
