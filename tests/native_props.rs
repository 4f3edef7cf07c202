//! Property tests of the message filter and the options validation: no input
//! panics, and nothing outside the accepted set is accepted.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use zivacare_connect::invariants;
use zivacare_connect::options::{validate, ParsedUrl, RawOptions};
use zivacare_connect::protocol::{check, parse_return, Data, Field, Incoming, Pending};

const ORIGIN: &str = "https://developer.zivacare.com";
const STATE: &str = "st4te_of-this.flow~";

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        Just(Field::Missing),
        Just(Field::Other),
        any::<String>().prop_map(Field::Text),
        Just(Field::Text(STATE.into())),
        Just(Field::Text("zivacare-connect:finish".into())),
        Just(Field::Text("zivacare-connect:close".into())),
        Just(Field::Text("zivacare-connect:error".into())),
        "[A-Za-z0-9_.~-]{0,600}".prop_map(Field::Text),
    ]
}

fn data() -> impl Strategy<Value = Data> {
    prop_oneof![
        Just(Data::NotObject),
        (field(), field(), field(), field(), field()).prop_map(
            |(kind, state, special_token, code, message)| {
                Data::Object {
                    kind,
                    state,
                    special_token,
                    code,
                    message,
                }
            }
        ),
    ]
}

fn origin() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(ORIGIN.to_owned()),
        any::<String>(),
        "https?://[a-z.]{1,30}(:[0-9]{1,5})?"
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn the_filter_accepts_only_the_right_origin_window_state_and_shape(
        origin in origin(), from_popup in any::<bool>(), data in data()
    ) {
        let msg = Incoming { origin: &origin, from_popup, data: &data };
        let verdict = check(ORIGIN, STATE, &msg);
        if let Err(broken) = invariants::message_verdict(ORIGIN, STATE, &msg, &verdict) {
            return Err(TestCaseError::fail(broken));
        }
    }

    #[test]
    fn validation_never_panics_and_accepted_configs_hold_their_invariants(
        client_id in proptest::option::of(any::<String>()),
        client_user_id in proptest::option::of(any::<String>()),
        state in proptest::option::of(any::<String>()),
        credentials in proptest::option::of(any::<String>()),
        timeout in proptest::option::of(any::<f64>()),
        width in proptest::option::of(any::<f64>()),
        label in proptest::option::of(any::<String>()),
        locale in proptest::option::of(any::<String>()),
        headers in proptest::collection::vec((any::<String>(), any::<String>()), 0..3),
        protocol in prop_oneof![Just("https:".to_owned()), Just("http:".to_owned()), any::<String>()],
        hostname in prop_oneof![Just("127.0.0.1".to_owned()), Just("developer.zivacare.com".to_owned()), any::<String>()],
    ) {
        let connect = ParsedUrl {
            href: format!("{protocol}//{hostname}/connect"),
            origin: format!("{protocol}//{hostname}"),
            protocol: protocol.clone(),
            hostname: hostname.clone(),
            ..ParsedUrl::default()
        };
        let raw = RawOptions {
            client_id, client_user_id, state, credentials, label, locale,
            connect_url: Some(Ok(connect.clone())),
            server_headers: headers,
            timeout_ms: timeout,
            popup_width: width,
            has_finish: true,
            ..RawOptions::default()
        };
        if let Ok(c) = validate(raw, true) {
            if let Err(broken) = invariants::accepted_config(&connect, &c) {
                return Err(TestCaseError::fail(broken));
            }
        }
    }
}

/// Parts of a return fragment: its keys (and others), values of every kind.
fn fragment() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("zc_v".to_owned()),
        Just("zc_state".to_owned()),
        Just("zc_result".to_owned()),
        Just("zc_token".to_owned()),
        Just("zc_code".to_owned()),
        Just("zc_message".to_owned()),
        "zc_[a-z]{0,6}",
        "[a-z/]{0,8}",
    ];
    let value = prop_oneof![
        Just("1".to_owned()),
        Just("finish".to_owned()),
        Just("close".to_owned()),
        Just("error".to_owned()),
        "[A-Za-z0-9_.~-]{0,40}",
        "(%[0-9A-Fa-f]{2}|[ -~]){0,30}",
        any::<String>(),
    ];
    proptest::collection::vec((key, value), 0..8).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn no_fragment_panics_the_return_parser_and_what_it_accepts_holds(f in fragment()) {
        if let Some(Ok(r)) = parse_return(&f) {
            if let Err(broken) = invariants::accepted_return(&f, &r) {
                panic!("{broken}: {f}");
            }
        }
    }

    #[test]
    fn a_pending_record_reads_back_as_written(
        state in any::<String>(), user in any::<String>(), url in any::<String>(),
        redirect in any::<bool>(), expires in 0.0..1e15f64, noise in any::<String>(),
    ) {
        let p = Pending {
            state, client_id: user.clone(), client_user_id: user, connect_origin: url.clone(),
            return_url: url, redirect, expires,
        };
        if let Err(broken) = invariants::pending_round_trip(&p) {
            panic!("{broken}: {p:?}");
        }
        let _ = Pending::decode(&noise);
    }
}
