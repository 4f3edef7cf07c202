//! Options validation, table-driven: what a page may pass and what it is told.
#![cfg(not(target_arch = "wasm32"))]

use zivacare_connect::error::Code;
use zivacare_connect::options::{
    check_keys, label_for, validate, Credentials, ParsedUrl, RawOptions, UxMode,
};

fn url(href: &str) -> ParsedUrl {
    // A tiny stand-in for the browser's URL parser, enough for these cases.
    let (protocol, rest) = href.split_once("//").unwrap();
    let authority = rest.split(['/', '?', '#']).next().unwrap();
    let host = authority.rsplit('@').next().unwrap();
    let hostname = match host.find(']') {
        Some(end) => host[..=end].to_owned(),
        None => host.split(':').next().unwrap().to_lowercase(),
    };
    ParsedUrl {
        href: href.into(),
        origin: format!("{protocol}//{}", host.to_lowercase()),
        protocol: protocol.into(),
        hostname,
        has_credentials: authority.contains('@'),
        has_hash: href.contains('#'),
    }
}

fn base() -> RawOptions {
    RawOptions {
        client_id: Some("demo-client".into()),
        client_user_id: Some("ann@example.com".into()),
        has_finish: true,
        ..RawOptions::default()
    }
}

#[test]
fn minimal_options_get_documented_defaults() {
    let c = validate(base(), true).unwrap();
    assert_eq!(c.connect_url, "https://developer.zivacare.com/connect");
    assert_eq!(c.connect_origin, "https://developer.zivacare.com");
    assert_eq!(c.server_url, None);
    assert_eq!(c.state, None);
    assert_eq!(c.credentials, Credentials::SameOrigin);
    assert_eq!(c.timeout_ms, 600_000);
    assert_eq!((c.popup_width, c.popup_height), (500, 720));
}

/// The options of a page at `http://127.0.0.1:8080/app` with `returnUrl` and `uxMode`.
fn with_return(return_url: Option<&str>, ux_mode: Option<&str>) -> RawOptions {
    RawOptions {
        return_url: return_url.map(|u| Ok(url(u))),
        ux_mode: ux_mode.map(Into::into),
        page_origin: Some("http://127.0.0.1:8080".into()),
        ..base()
    }
}

#[test]
fn a_return_url_is_of_the_pages_origin_without_fragment_and_the_redirect_modes_need_one() {
    let c = validate(
        with_return(Some("http://127.0.0.1:8080/back?x=1"), Some("auto")),
        true,
    )
    .unwrap();
    assert_eq!(
        (c.return_url.as_deref(), c.ux_mode),
        (Some("http://127.0.0.1:8080/back?x=1"), UxMode::Auto)
    );
    assert_eq!(
        validate(base(), true).unwrap().ux_mode,
        UxMode::Popup,
        "popup by default"
    );
    let c = validate(with_return(Some("http://127.0.0.1:8080/"), None), true).unwrap();
    assert_eq!(
        c.ux_mode,
        UxMode::Popup,
        "a return URL alone keeps the popup"
    );
    for (return_url, mode, field, problem) in [
        (
            Some("http://127.0.0.1:9090/back"),
            None,
            "returnUrl",
            "origin",
        ),
        (
            Some("https://127.0.0.1:8080/back"),
            None,
            "returnUrl",
            "origin",
        ),
        (
            Some("http://evil.example/back"),
            Some("redirect"),
            "returnUrl",
            "origin",
        ),
        (
            Some("http://127.0.0.1:8080/back#x"),
            None,
            "returnUrl",
            "fragment",
        ),
        (
            Some("http://127.0.0.1:8080/back#"),
            None,
            "returnUrl",
            "fragment",
        ),
        (
            Some("http://u:p@127.0.0.1:8080/back"),
            None,
            "returnUrl",
            "password",
        ),
        (Some("ftp://127.0.0.1:8080/back"), None, "returnUrl", "http"),
        (None, Some("redirect"), "returnUrl", "required"),
        (None, Some("auto"), "returnUrl", "required"),
        (
            Some("http://127.0.0.1:8080/"),
            Some("Redirect"),
            "uxMode",
            "\"redirect\"",
        ),
        (
            Some("http://127.0.0.1:8080/"),
            Some(""),
            "uxMode",
            "\"auto\"",
        ),
    ] {
        let e = validate(with_return(return_url, mode), true).unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            (Code::InvalidOptions, Some(field)),
            "{return_url:?} {mode:?}"
        );
        assert!(e.message().contains(problem), "{}", e.message());
    }
    let unparsable = RawOptions {
        return_url: Some(Err("/relative".into())),
        ..with_return(None, None)
    };
    assert_eq!(
        validate(unparsable, true).unwrap_err().field(),
        Some("returnUrl")
    );
    assert!(check_keys(&["returnUrl", "uxMode"], true).is_ok());
}

#[test]
fn every_bad_option_names_its_field() {
    type Edit = fn(&mut RawOptions);
    let cases: &[(&str, Edit)] = &[
        ("clientId", |o| o.client_id = None),
        ("clientId", |o| o.client_id = Some("  ".into())),
        ("clientId", |o| o.client_id = Some("a\nb".into())),
        ("clientId", |o| o.client_id = Some("x".repeat(513))),
        ("clientUserId", |o| o.client_user_id = None),
        ("clientUserId", |o| o.client_user_id = Some(String::new())),
        ("clientUserId", |o| {
            o.client_user_id = Some("ann\u{0}".into())
        }),
        ("finish", |o| o.has_finish = false),
        ("connectUrl", |o| {
            o.connect_url = Some(Err("not a url".into()))
        }),
        ("connectUrl", |o| {
            o.connect_url = Some(Ok(url("http://connect.example.com/c")))
        }),
        ("connectUrl", |o| {
            o.connect_url = Some(Ok(url("ftp://127.0.0.1/c")))
        }),
        ("connectUrl", |o| {
            o.connect_url = Some(Ok(url("https://u:p@connect.example.com/")))
        }),
        ("connectUrl", |o| {
            o.connect_url = Some(Ok(url("https://connect.example.com/#x")))
        }),
        ("connectUrl", |o| {
            o.connect_url = Some(Ok(ParsedUrl {
                origin: "null".into(),
                ..url("https://x.test/")
            }))
        }),
        ("serverUrl", |o| o.server_url = Some(Err("::".into()))),
        ("serverUrl", |o| {
            o.server_url = Some(Ok(url("javascript://alert(1)")))
        }),
        ("serverUrl", |o| {
            o.server_url = Some(Ok(url("https://u:p@api.example.com/t")))
        }),
        ("state", |o| o.state = Some(String::new())),
        ("state", |o| o.state = Some("has space".into())),
        ("state", |o| o.state = Some("ü".into())),
        ("state", |o| o.state = Some("a".repeat(513))),
        ("serverHeaders", |o| {
            o.server_headers = vec![("Bad Name".into(), "v".into())]
        }),
        ("serverHeaders", |o| {
            o.server_headers = vec![("X-Csrf".into(), "a\r\nb".into())]
        }),
        ("serverHeaders", |o| {
            o.server_headers = vec![("content-type".into(), "text/plain".into())]
        }),
        ("serverHeaders", |o| {
            o.server_headers = vec![("X-ZivaCare-Connect".into(), "0".into())]
        }),
        ("serverHeaders", |o| {
            o.server_headers = vec![("X-Price".into(), "10 €".into())]
        }),
        ("credentials", |o| o.credentials = Some("all".into())),
        ("timeoutMs", |o| o.timeout_ms = Some(0.0)),
        ("timeoutMs", |o| o.timeout_ms = Some(1.5)),
        ("timeoutMs", |o| o.timeout_ms = Some(f64::NAN)),
        ("timeoutMs", |o| o.timeout_ms = Some(1e12)),
        ("popupWidth", |o| o.popup_width = Some(10.0)),
        ("popupHeight", |o| o.popup_height = Some(-700.0)),
        ("label", |o| o.label = Some(String::new())),
        ("locale", |o| o.locale = Some("español".into())),
        ("locale", |o| o.locale = Some("e".into())),
        ("locale", |o| o.locale = Some("es--MX".into())),
    ];
    for (field, edit) in cases {
        let mut raw = base();
        edit(&mut raw);
        let err = validate(raw, true).expect_err(field);
        assert_eq!(err.code(), Code::InvalidOptions, "{field}");
        assert_eq!(err.field(), Some(*field), "{}", err.message());
        assert!(err.message().starts_with(field), "{}", err.message());
    }
}

#[test]
fn good_variants_are_accepted() {
    let mut raw = base();
    raw.connect_url = Some(Ok(url("http://127.0.0.1:8081/connect")));
    raw.server_url = Some(Ok(url("http://127.0.0.1:8080/api/zivacare/token")));
    raw.state = Some("server-Nonce_1.2~3".into());
    raw.server_headers = vec![("X-CSRF-Token".into(), "abc".into())];
    raw.credentials = Some("include".into());
    raw.timeout_ms = Some(1000.0);
    raw.label = Some("Conectar datos de salud".into());
    let c = validate(raw, true).unwrap();
    assert_eq!(c.connect_origin, "http://127.0.0.1:8081");
    assert_eq!(
        c.server_url.as_deref(),
        Some("http://127.0.0.1:8080/api/zivacare/token")
    );
    assert_eq!(c.state.as_deref(), Some("server-Nonce_1.2~3"));
    assert_eq!(c.credentials, Credentials::Include);
    assert_eq!(c.timeout_ms, 1000);
    for host in [
        "http://localhost:9/c",
        "http://app.localhost/c",
        "http://[::1]:9/c",
    ] {
        let mut raw = base();
        raw.connect_url = Some(Ok(url(host)));
        assert!(validate(raw, true).is_ok(), "{host}");
    }
}

#[test]
fn finish_is_required_only_for_callback_calls() {
    let mut raw = base();
    raw.has_finish = false;
    assert!(validate(raw, false).is_ok());
}

#[test]
fn unknown_keys_are_reported_not_dropped() {
    assert!(check_keys(&["clientId", "clientUserId", "finish", "onEvent"], true).is_ok());
    let err = check_keys(&["clientId", "clientID"], true).unwrap_err();
    assert_eq!(err.field(), Some("clientID"));
    let err = check_keys(&["clientId", "finish"], false).unwrap_err();
    assert_eq!(err.field(), Some("finish"));
    assert!(check_keys(&["__proto__"], true).is_err());
}

#[test]
fn locale_must_be_a_language_tag() {
    for locale in [
        "en",
        "es",
        "es-MX",
        "FR-ca",
        "de",
        "it",
        "zh-Hant-TW",
        "ast",
        "es-419",
        "de-1996",
    ] {
        let mut raw = base();
        raw.locale = Some(locale.into());
        assert!(validate(raw, true).is_ok(), "{locale}");
    }
    for locale in [
        "",
        "e",
        "english",
        "es_MX",
        "1a",
        "es--MX",
        "es-MX!",
        "-es",
        "es-",
        "abcd",
        "es-123456789",
        "e1",
    ] {
        let mut raw = base();
        raw.locale = Some(locale.into());
        let err = validate(raw, true).unwrap_err();
        assert_eq!(err.field(), Some("locale"), "{locale}");
    }
}

#[test]
fn the_label_is_the_options_or_the_locales_language() {
    let label = |label: Option<&str>, locale: Option<&str>| {
        let mut raw = base();
        raw.label = label.map(Into::into);
        raw.locale = locale.map(Into::into);
        validate(raw, true).unwrap().label
    };
    assert_eq!(label(None, None), "Connect Health Data");
    assert_eq!(label(None, Some("es-MX")), "Conectar datos de salud");
    assert_eq!(label(None, Some("FR-ca")), "Connecter mes données de santé");
    assert_eq!(label(None, Some("de")), "Gesundheitsdaten verbinden");
    assert_eq!(label(None, Some("it")), "Connect Health Data");
    assert_eq!(label(Some("Share"), Some("de")), "Share");
    assert_eq!(label_for(Some("e")), "Connect Health Data");
}

#[test]
fn header_values_in_latin_1_are_accepted() {
    let mut raw = base();
    raw.server_headers = vec![("X-Name".into(), "Zoë Müller".into())];
    assert!(validate(raw, true).is_ok());
}
