//! The Connect page and its finish endpoint, over real HTTP: real HTML under
//! a strict policy, escaped values, and tokens minted only for registered
//! origins and known sources.

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
    let r = w
        .get(&connect_uri(
            CLIENT_ID,
            "<img src=x onerror=alert(1)>",
            APP_ORIGIN,
            "st4te",
        ))
        .await;
    assert_eq!(r.status, 200);
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(r.headers["referrer-policy"], "no-referrer");
    assert!(r.text.contains("Finish Connecting Data"));
    assert!(r
        .text
        .contains("<script src=\"/connect.js\" defer></script>"));
    assert!(!r.text.contains("<script>"), "no inline script");
    assert!(!r.text.contains("<img src=x"), "user text is escaped");
    assert!(r.text.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(r.text.contains("Test &lt;App&gt;"));
    for source in zivacare_sandbox::SOURCES {
        assert!(
            r.text.contains(&format!("value=\"{}\"", source.id)),
            "{}",
            source.id
        );
    }
    let js = w.get("/connect.js").await;
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
        let r = w.get(&uri).await;
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
async fn t19_a_return_url_is_only_one_the_app_registered_string_for_string() {
    let w = world().await;
    let with = |return_url: &str, mode: &str| {
        let enc = |s: &str| -> String {
            serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_owned()
        };
        format!(
            "{}&returnUrl={}&uxMode={mode}",
            connect_uri(CLIENT_ID, "ann", APP_ORIGIN, "st4te"),
            enc(return_url)
        )
    };
    for mode in ["redirect", "popup"] {
        let r = w.get(&with(RETURN_URL, mode)).await;
        assert_eq!(r.status, 200);
        assert!(
            r.text.contains(&format!(
                "data-return-url=\"{RETURN_URL}\" data-ux-mode=\"{mode}\""
            )),
            "{}",
            r.text
        );
        assert_eq!(r.headers["referrer-policy"], "no-referrer");
    }
    for other in [
        "http://127.0.0.1:8080/connected/",
        "http://127.0.0.1:8081/connected",
        "http://127.0.0.1:8080/Connected",
        "http://127.0.0.1:8080/connected?x=1",
        "https://127.0.0.1:8080/connected",
        "http://evil.example/connected",
        "javascript:alert(1)",
    ] {
        let r = w.get(&with(other, "redirect")).await;
        assert_eq!(r.status, 400, "{other}");
        assert!(r.text.contains("not registered"), "{other}: {}", r.text);
        // A page that goes nowhere: no return address, no link, no script of its own to run.
        assert!(
            !r.text.contains("data-return-url")
                && !r.text.contains("<a ")
                && !r.text.contains(other),
            "{other}: {}",
            r.text
        );
    }
    assert_eq!(
        w.get(&format!(
            "{}&uxMode=redirect",
            connect_uri(CLIENT_ID, "ann", APP_ORIGIN, "st4te")
        ))
        .await
        .status,
        400,
        "redirect needs a return URL"
    );
    assert_eq!(w.get(&with(RETURN_URL, "sideways")).await.status, 400);
    // The page's script goes back by location.replace, with the outcome in the fragment.
    let js = w.get("/connect.js").await.text;
    assert!(
        js.contains("location.replace(returnUrl + \"#\"") && js.contains("zc_token"),
        "{js}"
    );
}

#[tokio::test]
async fn finishing_mints_tokens_only_for_registered_origins_and_known_sources() {
    let w = world().await;
    let token = w.mint("ann@example.com", &["fitbit"]).await;
    assert!(
        token.len() >= 22 && zivacare::text::is_token_text(&token),
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
        let r = w
            .post("/connect/finish", "application/json", body.to_string())
            .await;
        assert_eq!(
            (r.status, r.json()["code"].as_str().unwrap_or("")),
            (status, code),
            "{patch}"
        );
    }
    let r = w
        .post("/connect/finish", "text/plain", good.to_string())
        .await;
    assert_eq!(r.status, 415);
    let r = w
        .post(
            "/connect/finish",
            "application/json",
            vec![b'{'; 300 * 1024],
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(w.count("special_tokens"), 1);
}

#[tokio::test]
async fn the_connect_page_and_token_endpoint_are_rate_limited() {
    let w = world_with(600, 2).await;
    let uri = connect_uri(CLIENT_ID, "ann", APP_ORIGIN, "st4te");
    assert_eq!(w.get(&uri).await.status, 200);
    assert_eq!(w.get(&uri).await.status, 200);
    let r = w.get(&uri).await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (429, Some("rate_limited"))
    );
    assert!(r.headers.contains_key("retry-after"));
    for _ in 0..2 {
        assert_eq!(w.exchange_form("x", SECRET).await.status, 400);
    }
    assert_eq!(w.exchange_form("x", SECRET).await.status, 429);
}
