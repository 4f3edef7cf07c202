//! The SDK's options validation: any values of any option, `returnUrl` and
//! `uxMode` among them. It must never
//! panic, and every configuration it accepts must hold its invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zivacare_connect::invariants;
use zivacare_connect::options::{validate, ParsedUrl, RawOptions};

type Texts = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fuzz_target!(|input: (
    Texts,
    Texts,
    [Option<f64>; 3],
    Vec<(String, String)>,
    (String, String, bool, bool),
    bool,
    (Option<(String, String, bool, bool)>, Option<String>, Option<String>)
)| {
    let (
        (client_id, client_user_id, state, credentials),
        (label, locale, server_url, _),
        numbers,
        headers,
        url,
        callbacks,
        (ret, ux_mode, page_origin),
    ) = input;
    let ret = ret.map(|(protocol, host, has_credentials, has_hash)| ParsedUrl {
        href: format!("{protocol}//{host}/back"),
        origin: format!("{protocol}//{host}"),
        protocol,
        hostname: host,
        has_credentials,
        has_hash,
    });
    let (protocol, hostname, has_credentials, has_hash) = url;
    let connect = ParsedUrl {
        href: format!("{protocol}//{hostname}/connect"),
        origin: format!("{protocol}//{hostname}"),
        protocol,
        hostname,
        has_credentials,
        has_hash,
    };
    let raw = RawOptions {
        client_id,
        client_user_id,
        connect_url: Some(Ok(connect.clone())),
        server_url: server_url.map(|href| {
            Ok(ParsedUrl {
                href,
                protocol: "https:".into(),
                ..ParsedUrl::default()
            })
        }),
        state,
        server_headers: headers,
        credentials,
        timeout_ms: numbers[0],
        popup_width: numbers[1],
        popup_height: numbers[2],
        label,
        locale,
        return_url: ret.clone().map(Ok),
        ux_mode,
        page_origin: page_origin.clone(),
        has_finish: callbacks,
    };
    if let Ok(c) = validate(raw, callbacks) {
        if let Err(broken) = invariants::accepted_config(&connect, &c)
            .and_then(|()| invariants::accepted_return_url(ret.as_ref(), page_origin.as_deref(), &c))
        {
            panic!("{broken}");
        }
    }
});
