//! The popup URL, the message filter, the redirect return (its fragment, the
//! pending record, the checks of a return) and the retry policy, table-driven.
//! The bad inputs come from the security checklist of the project.
#![cfg(not(target_arch = "wasm32"))]

use zivacare_connect::error::Code;
use zivacare_connect::options::{validate, ParsedUrl, RawOptions, UxMode};
use zivacare_connect::protocol::{
    backoff_ms, base64url, check, check_return, decode_component, encode_component,
    is_in_app_browser, parse_return, popup_features, popup_url, should_retry, Data, Field,
    Incoming, Pending, Return, Verdict,
};
use zivacare_connect::Reason;

const CONNECT: &str = "https://developer.zivacare.com";
const STATE: &str = "s7ate-Of_This.Flow~1";
const TOKEN: &str = "tok_SENTINEL_abc-DEF.123~";

fn text(s: &str) -> Field {
    Field::Text(s.into())
}

fn finish(state: Field, token: Field) -> Data {
    Data::Object {
        kind: text("zivacare-connect:finish"),
        state,
        special_token: token,
        code: Field::Missing,
        message: Field::Missing,
    }
}

fn verdict(origin: &str, from_popup: bool, data: &Data) -> Verdict {
    check(
        CONNECT,
        STATE,
        &Incoming {
            origin,
            from_popup,
            data,
        },
    )
}

#[test]
fn a_valid_finish_is_accepted() {
    let v = verdict(CONNECT, true, &finish(text(STATE), text(TOKEN)));
    assert_eq!(
        v,
        Verdict::Finish {
            special_token: TOKEN.into()
        }
    );
}

#[test]
fn foreign_origins_are_rejected() {
    let data = finish(text(STATE), text(TOKEN));
    for origin in [
        "https://developer.zivacare.com.evil.test",
        "https://developer-zivacare.com",
        "http://developer.zivacare.com",
        "https://developer.zivacare.com:8443",
        "https://developer.zivacare.com.",
        "https://CONNECT.zivacare.com",
        "https://developer.zivacare.com/",
        "null",
        "",
        "*",
        "https://app.example.com",
    ] {
        assert_eq!(
            verdict(origin, true, &data),
            Verdict::Reject(Reason::Origin),
            "{origin:?}"
        );
    }
}

#[test]
fn an_unset_or_opaque_expected_origin_fails_closed() {
    let data = finish(text(STATE), text(TOKEN));
    for expected in ["", "null", "*"] {
        let v = check(
            expected,
            STATE,
            &Incoming {
                origin: expected,
                from_popup: true,
                data: &data,
            },
        );
        assert_eq!(v, Verdict::Reject(Reason::Origin), "{expected:?}");
    }
}

#[test]
fn a_message_from_another_window_is_rejected() {
    let v = verdict(CONNECT, false, &finish(text(STATE), text(TOKEN)));
    assert_eq!(v, Verdict::Reject(Reason::Source));
}

#[test]
fn missing_wrong_or_stale_states_are_rejected() {
    for state in [
        Field::Missing,
        Field::Other,
        text(""),
        text("previous-attempt"),
        text(&STATE.to_uppercase()),
        text(&format!("{STATE} ")),
    ] {
        assert_eq!(
            verdict(CONNECT, true, &finish(state.clone(), text(TOKEN))),
            Verdict::Reject(Reason::State),
            "{state:?}"
        );
    }
    // An empty expected state never matches, not even an empty one.
    let data = finish(text(""), text(TOKEN));
    assert_eq!(
        check(
            CONNECT,
            "",
            &Incoming {
                origin: CONNECT,
                from_popup: true,
                data: &data
            }
        ),
        Verdict::Reject(Reason::State)
    );
}

#[test]
fn bad_tokens_are_rejected() {
    let huge = "a".repeat(1 << 20);
    for token in [
        Field::Missing,
        Field::Other,
        text(""),
        text(&"a".repeat(513)),
        text(&huge),
        text("tok\0en"),
        text("tok\ren"),
        text("tok\nen"),
        text("tok\u{202E}en"),
        text("tok en"),
        text("<img src=x onerror=alert(1)>"),
        text("tök"),
    ] {
        assert_eq!(
            verdict(CONNECT, true, &finish(text(STATE), token.clone())),
            Verdict::Reject(Reason::Token),
            "{token:?}"
        );
    }
    assert!(matches!(
        verdict(CONNECT, true, &finish(text(STATE), text(&"a".repeat(512)))),
        Verdict::Finish { .. }
    ));
}

#[test]
fn wrong_shapes_and_types_are_rejected() {
    assert_eq!(
        verdict(CONNECT, true, &Data::NotObject),
        Verdict::Reject(Reason::Shape)
    );
    let with_kind = |kind: Field| Data::Object {
        kind,
        state: text(STATE),
        special_token: text(TOKEN),
        code: Field::Missing,
        message: Field::Missing,
    };
    assert_eq!(
        verdict(CONNECT, true, &with_kind(Field::Missing)),
        Verdict::Reject(Reason::Shape)
    );
    assert_eq!(
        verdict(CONNECT, true, &with_kind(Field::Other)),
        Verdict::Reject(Reason::Shape)
    );
    for kind in [
        "ZIVACARE-CONNECT:FINISH",
        "zivacare-connect:Finish",
        "finish",
        "zivacare-connect:finish ",
    ] {
        assert_eq!(
            verdict(CONNECT, true, &with_kind(text(kind))),
            Verdict::Reject(Reason::Type),
            "{kind}"
        );
    }
}

#[test]
fn close_and_error_messages() {
    let close = Data::Object {
        kind: text("zivacare-connect:close"),
        state: text(STATE),
        special_token: Field::Missing,
        code: Field::Missing,
        message: Field::Missing,
    };
    assert_eq!(verdict(CONNECT, true, &close), Verdict::Close);
    let error = |code: Field, message: Field| Data::Object {
        kind: text("zivacare-connect:error"),
        state: text(STATE),
        special_token: Field::Missing,
        code,
        message,
    };
    assert_eq!(
        verdict(
            CONNECT,
            true,
            &error(text("0011"), text("<img src=x onerror=alert(1)>"))
        ),
        Verdict::Error {
            code: "0011".into(),
            message: "<img src=x onerror=alert(1)>".into()
        }
    );
    assert_eq!(
        verdict(CONNECT, true, &error(text("0011"), Field::Missing)),
        Verdict::Error {
            code: "0011".into(),
            message: String::new()
        }
    );
    let long = "m".repeat(10_000);
    match verdict(CONNECT, true, &error(text("0001"), text(&long))) {
        Verdict::Error { message, .. } => assert_eq!(message.len(), 500),
        v => panic!("{v:?}"),
    }
    for code in [
        Field::Missing,
        Field::Other,
        text(""),
        text("00 11"),
        text(&"9".repeat(33)),
    ] {
        assert_eq!(
            verdict(CONNECT, true, &error(code.clone(), Field::Missing)),
            Verdict::Reject(Reason::Shape),
            "{code:?}"
        );
    }
    assert_eq!(
        verdict(CONNECT, true, &error(text("0011"), Field::Other)),
        Verdict::Reject(Reason::Shape)
    );
}

fn config(connect_url: &str) -> zivacare_connect::options::Config {
    let raw = RawOptions {
        client_id: Some("demo client&1".into()),
        client_user_id: Some("ann+test@example.com".into()),
        connect_url: Some(Ok(ParsedUrl {
            href: connect_url.into(),
            origin: "http://127.0.0.1:8081".into(),
            protocol: "http:".into(),
            hostname: "127.0.0.1".into(),
            ..ParsedUrl::default()
        })),
        has_finish: true,
        ..RawOptions::default()
    };
    validate(raw, true).unwrap()
}

#[test]
fn popup_url_encodes_every_value() {
    let url = popup_url(
        &config("http://127.0.0.1:8081/connect"),
        "http://localhost:8080",
        "abc_123",
        UxMode::Popup,
    );
    assert_eq!(
        url,
        "http://127.0.0.1:8081/connect?clientId=demo%20client%261&clientUserId=ann%2Btest%40example.com\
         &origin=http%3A%2F%2Flocalhost%3A8080&state=abc_123"
    );
    let url = popup_url(
        &config("http://127.0.0.1:8081/connect?lang=es"),
        "https://a.example",
        "s",
        UxMode::Redirect,
    );
    assert!(
        url.starts_with("http://127.0.0.1:8081/connect?lang=es&clientId="),
        "{url}"
    );
}

#[test]
fn with_a_return_url_the_connect_url_names_it_and_how_the_flow_went() {
    let mut c = config("http://127.0.0.1:8081/connect");
    c.return_url = Some("http://localhost:8080/back?x=1".into());
    let url = popup_url(&c, "http://localhost:8080", "s", UxMode::Redirect);
    assert!(
        url.ends_with(
            "&state=s&returnUrl=http%3A%2F%2Flocalhost%3A8080%2Fback%3Fx%3D1&uxMode=redirect"
        ),
        "{url}"
    );
    assert!(popup_url(&c, "o", "s", UxMode::Popup).ends_with("&uxMode=popup"));
}

fn ret(fragment: &str) -> Option<Result<Return, ()>> {
    parse_return(fragment)
}

#[test]
fn returns_are_read_exactly_and_anything_else_is_invalid() {
    let finish = ret("zc_v=1&zc_state=st4te&zc_result=finish&zc_token=tok_1.2~3")
        .unwrap()
        .unwrap();
    assert_eq!(
        finish,
        Return {
            state: "st4te".into(),
            outcome: Verdict::Finish {
                special_token: "tok_1.2~3".into()
            }
        }
    );
    assert_eq!(
        ret("zc_state=s&zc_v=1&zc_result=close")
            .unwrap()
            .unwrap()
            .outcome,
        Verdict::Close
    );
    let error = ret("zc_v=1&zc_state=s&zc_result=error&zc_code=0011&zc_message=Not%20recognised%20%3Cb%3E%E2%9C%93").unwrap().unwrap();
    assert_eq!(
        error.outcome,
        Verdict::Error {
            code: "0011".into(),
            message: "Not recognised <b>✓".into()
        }
    );
    let long = format!(
        "zc_v=1&zc_state=s&zc_result=error&zc_code=x&zc_message={}",
        "a".repeat(900)
    );
    assert!(
        matches!(ret(&long).unwrap().unwrap().outcome, Verdict::Error { message, .. } if message.len() == 500)
    );
    // Not a return: no zc_ key (a hash router's fragment, or none).
    for fragment in ["", "/inbox", "tab=zc_v", "zcv=1", "ZC_V=1"] {
        assert_eq!(ret(fragment), None, "{fragment:?}");
    }
    // A return, malformed: invalid_return, whatever else it holds.
    for fragment in [
        "zc_v=1",
        "zc_v=2&zc_state=s&zc_result=close",
        "zc_state=s&zc_result=close",
        "zc_v=1&zc_result=close",
        "zc_v=1&zc_state=bad%20state&zc_result=close",
        "zc_v=1&zc_state=s&zc_result=done",
        "zc_v=1&zc_state=s&zc_result=finish",
        "zc_v=1&zc_state=s&zc_result=finish&zc_token=",
        "zc_v=1&zc_state=s&zc_result=finish&zc_token=a%0Ab",
        "zc_v=1&zc_state=s&zc_result=finish&zc_token=a&zc_token=b",
        "zc_v=1&zc_state=s&zc_result=finish&zc_token=a&zc_code=x",
        "zc_v=1&zc_state=s&zc_result=close&zc_token=a",
        "zc_v=1&zc_state=s&zc_result=error",
        "zc_v=1&zc_state=s&zc_result=error&zc_code=no%20spaces",
        "zc_v=1&zc_state=s&zc_result=close&zc_extra=1",
        "zc_v=1&zc_state=s&zc_result=close&zc_state=t",
        "zc_v=1&zc_state=s%ZZ&zc_result=close",
        "zc_v=1&zc_state=s&zc_result=close&zc_message=%FF",
        "zc_v=1&zc_state=%E2%80%AEs&zc_result=close",
    ] {
        assert_eq!(ret(fragment), Some(Err(())), "{fragment:?}");
    }
    let huge = format!(
        "zc_v=1&zc_state=s&zc_result=finish&zc_token=t&x={}",
        "y".repeat(5000)
    );
    assert_eq!(ret(&huge), Some(Err(())));
}

#[test]
fn percent_decoding_is_encode_uri_components_inverse() {
    let mut encoded = String::new();
    let text = "a b&c=d/é✓%";
    encode_component(text, &mut encoded);
    assert_eq!(decode_component(encoded.as_bytes()).as_deref(), Some(text));
    for bad in ["%", "%4", "%G0", "%C3"] {
        assert_eq!(decode_component(bad.as_bytes()), None, "{bad}");
    }
}

fn pending(state: &str, expires: f64) -> Pending {
    Pending {
        state: state.into(),
        client_id: "demo client&1".into(),
        client_user_id: "ann+test@example.com".into(),
        connect_origin: "http://127.0.0.1:8081".into(),
        return_url: "http://localhost:8080/back".into(),
        redirect: true,
        expires,
    }
}

#[test]
fn the_pending_record_reads_back_what_it_wrote_and_nothing_else() {
    let p = pending("st4te", 1_800_000_000_123.0);
    let text = p.encode();
    assert!(
        !text.contains(';') && !text.contains(' ') && !text.contains(','),
        "fits a cookie: {text}"
    );
    assert_eq!(Pending::decode(&text), Some(p.clone()));
    let popup = Pending {
        redirect: false,
        ..p
    };
    assert_eq!(Pending::decode(&popup.encode()), Some(popup));
    for bad in [
        "",
        "2|a|b|c|d|e|r|1",
        "1|a|b|c|d|e|r",
        "1|a|b|c|d|e|r|x",
        "1|a|b|c|d|e|r|1|extra",
        "1|%Z|b|c|d|e|r|1",
    ] {
        assert_eq!(Pending::decode(bad), None, "{bad}");
    }
}

#[test]
fn a_return_is_forwarded_only_for_this_tabs_pending_flow_in_time() {
    let mut c = config("http://127.0.0.1:8081/connect");
    c.return_url = Some("http://localhost:8080/back".into());
    let r = Return {
        state: "st4te".into(),
        outcome: Verdict::Close,
    };
    let now = 1_800_000_000_000.0;
    assert_eq!(
        check_return(Some(&pending("st4te", now + 1.0)), &r, &c, now),
        Ok(())
    );
    assert_eq!(
        check_return(None, &r, &c, now),
        Err(Code::RedirectStateLost)
    );
    assert_eq!(
        check_return(Some(&pending("other", now + 1.0)), &r, &c, now),
        Err(Code::StateMismatch)
    );
    assert_eq!(
        check_return(Some(&pending("st4te", now - 1.0)), &r, &c, now),
        Err(Code::Timeout)
    );
    for edit in [
        (|p: &mut Pending| p.client_id = "other".into()) as fn(&mut Pending),
        |p| p.client_user_id = "mallory@example.com".into(),
        |p| p.connect_origin = "https://evil.example".into(),
        |p| p.return_url = "http://localhost:8080/other".into(),
    ] {
        let mut p = pending("st4te", now + 1.0);
        edit(&mut p);
        assert_eq!(
            check_return(Some(&p), &r, &c, now),
            Err(Code::StateMismatch),
            "{p:?}"
        );
    }
}

#[test]
fn in_app_browsers_are_told_from_browsers() {
    for ua in [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 [FBAN/FBIOS;FBAV/450.0.0.33.111]",
        "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36 Instagram 310.0.0.40.109 Android",
        "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 LinkedInApp",
        "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 Chrome/118 Mobile Safari/537.36 trill_310 musical_ly_2023",
    ] {
        assert!(is_in_app_browser(ua), "{ua}");
    }
    for ua in [
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1",
        "",
    ] {
        assert!(!is_in_app_browser(ua), "{ua}");
    }
}

#[test]
fn base64url_matches_known_vectors() {
    for (input, out) in [
        (&b""[..], ""),
        (b"f", "Zg"),
        (b"fo", "Zm8"),
        (b"foo", "Zm9v"),
        (b"foob", "Zm9vYg"),
        (&[0xfb, 0xff, 0xbf][..], "-_-_"),
    ] {
        assert_eq!(base64url(input), out);
    }
    assert_eq!(base64url(&[7u8; 16]).len(), 22);
}

#[test]
fn retries_only_network_errors_and_5xx_three_times() {
    for (status, retry) in [
        (None, true),
        (Some(500), true),
        (Some(503), true),
        (Some(400), false),
        (Some(404), false),
        (Some(409), false),
        (Some(429), false),
    ] {
        assert_eq!(should_retry(status, 0), retry, "{status:?}");
    }
    assert!(should_retry(None, 2));
    assert!(!should_retry(None, 3));
    assert!(!should_retry(Some(502), 3));
    assert_eq!(
        [backoff_ms(0), backoff_ms(1), backoff_ms(2)],
        [250, 500, 1000]
    );
}

#[test]
fn popup_features_are_written_in_decimal() {
    assert_eq!(
        popup_features(500, 720, 0, -8),
        "popup=yes,width=500,height=720,left=0,top=-8"
    );
    assert_eq!(
        popup_features(4000, 200, 2_147_483_647, -2_147_483_648),
        "popup=yes,width=4000,height=200,left=2147483647,top=-2147483648"
    );
}
