//! What every accepted input must satisfy, checked by the property tests
//! (`tests/native_props.rs`) and the fuzz targets (`fuzz/`) alike. Each check
//! names the broken invariant. Not used by the module itself, so it costs the
//! `.wasm` nothing.

use crate::options::{is_token_text, Config, ParsedUrl, MAX_TEXT};
use crate::protocol::{Data, Field, Incoming, Verdict};

fn ensure(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what.to_owned())
    }
}

/// A message the filter did not reject came from the expected origin and
/// window, with this flow's state; a finish carries a valid token.
pub fn message_verdict(
    expected_origin: &str,
    expected_state: &str,
    msg: &Incoming,
    verdict: &Verdict,
) -> Result<(), String> {
    if !matches!(verdict, Verdict::Reject(_)) {
        ensure(
            msg.origin == expected_origin,
            "accepted from another origin",
        )?;
        ensure(msg.from_popup, "accepted from another window")?;
        let Data::Object { state, .. } = msg.data else {
            return Err("accepted a message that is not a plain object".into());
        };
        ensure(
            *state == Field::Text(expected_state.into()),
            "accepted another state",
        )?;
    }
    match verdict {
        Verdict::Finish { special_token } => ensure(
            is_token_text(special_token) && special_token.len() <= MAX_TEXT,
            "accepted an invalid specialToken",
        ),
        Verdict::Error { message, .. } => ensure(
            message.chars().count() <= 500,
            "passed on an over-long error message",
        ),
        _ => Ok(()),
    }
}

/// An accepted configuration has texts without control characters, numbers in
/// range, a secure Connect page and header values that cannot split a request.
pub fn accepted_config(connect: &ParsedUrl, c: &Config) -> Result<(), String> {
    let text = |s: &str| {
        !s.trim().is_empty() && s.chars().count() <= MAX_TEXT && !s.chars().any(char::is_control)
    };
    ensure(text(&c.client_id), "clientId")?;
    ensure(text(&c.client_user_id), "clientUserId")?;
    ensure(c.state.as_deref().is_none_or(is_token_text), "state")?;
    ensure((1..=86_400_000).contains(&c.timeout_ms), "timeoutMs")?;
    ensure((200..=4000).contains(&c.popup_width), "popupWidth")?;
    ensure((200..=4000).contains(&c.popup_height), "popupHeight")?;
    let host = connect.hostname.as_str();
    let loopback = host == "localhost"
        || host.ends_with(".localhost")
        || host == "[::1]"
        || host.starts_with("127.");
    ensure(
        connect.protocol == "https:" || (connect.protocol == "http:" && loopback),
        "connectUrl is neither https: nor loopback http:",
    )?;
    ensure(
        c.connect_origin == connect.origin && !c.connect_origin.is_empty(),
        "connect origin",
    )?;
    for (name, value) in &c.server_headers {
        ensure(
            !name.is_empty() && !value.contains(['\r', '\n', '\0']),
            "serverHeaders",
        )?;
    }
    Ok(())
}
