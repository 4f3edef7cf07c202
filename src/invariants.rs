//! What every accepted input must satisfy, checked by the property tests
//! (`tests/native_props.rs`) and the fuzz targets (`fuzz/`) alike. Each check
//! names the broken invariant. Not used by the module itself, so it costs the
//! `.wasm` nothing.

use crate::options::{is_token_text, Config, ParsedUrl, UxMode, MAX_TEXT};
use crate::protocol::{Data, Field, Incoming, Pending, Return, Verdict};

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

/// An accepted `returnUrl` is an absolute `http(s)` URL of the page's own
/// origin without a fragment or credentials; the redirect modes have one.
pub fn accepted_return_url(
    parsed: Option<&ParsedUrl>,
    page_origin: Option<&str>,
    c: &Config,
) -> Result<(), String> {
    ensure(
        c.ux_mode == UxMode::Popup || c.return_url.is_some(),
        "a redirect mode without returnUrl",
    )?;
    let Some(url) = c.return_url.as_deref() else {
        return Ok(());
    };
    let parsed = parsed.ok_or("a returnUrl out of nothing")?;
    ensure(url == parsed.href, "returnUrl is not the URL given")?;
    ensure(
        !parsed.has_hash && !url.contains('#'),
        "returnUrl with a fragment",
    )?;
    ensure(!parsed.has_credentials, "returnUrl with credentials")?;
    ensure(
        parsed.protocol == "https:" || parsed.protocol == "http:",
        "returnUrl is not http(s)",
    )?;
    ensure(
        page_origin.is_none_or(|o| o == parsed.origin),
        "returnUrl of another origin",
    )
}

/// A return the parser took from `fragment` had version 1 and each of its
/// keys once; its state (and token) are in the token alphabet, its message
/// bounded.
pub fn accepted_return(fragment: &str, r: &Return) -> Result<(), String> {
    let parts: Vec<&str> = fragment
        .split('&')
        .filter(|p| p.starts_with("zc_"))
        .collect();
    ensure(parts.contains(&"zc_v=1"), "a return without zc_v=1")?;
    let mut keys: Vec<&str> = parts
        .iter()
        .map(|p| p.split('=').next().unwrap_or(""))
        .collect();
    let n = keys.len();
    keys.sort_unstable();
    keys.dedup();
    ensure(keys.len() == n, "a return with a key twice")?;
    ensure(
        is_token_text(&r.state),
        "a return's state outside the alphabet",
    )?;
    match &r.outcome {
        Verdict::Finish { special_token } => {
            ensure(is_token_text(special_token), "a return's token")
        }
        Verdict::Error { message, .. } => {
            ensure(message.chars().count() <= 500, "a return's message")
        }
        Verdict::Close => Ok(()),
        Verdict::Reject(_) => Err("a return that is a rejection".into()),
    }
}

/// A pending record reads back as written.
pub fn pending_round_trip(p: &Pending) -> Result<(), String> {
    let mut expected = p.clone();
    expected.expires = expected.expires.max(0.0) as i64 as f64;
    ensure(
        Pending::decode(&p.encode()).as_ref() == Some(&expected),
        "a pending record does not read back as written",
    )
}
