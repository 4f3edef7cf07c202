//! Forwarding the specialToken to the integrator's server: one POST, retried on
//! network errors and 5xx only (see `protocol::should_retry`).
//!
//! The request goes straight through the browser's `fetch`: an HTTP client crate
//! (gloo-net) measured 3.7 KB gzip more for the same one POST.

use alloc::string::String;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, RequestCredentials, RequestInit, Response};

use crate::error::{Code, Error};
use crate::flow::Flow;
use crate::js::object;
use crate::options::Credentials;
use crate::protocol::{backoff_ms, should_retry};

/// What one attempt gave: a status and body, or no answer at all.
enum Attempt {
    Answered(u16, String),
    NoAnswer,
}

async fn attempt(flow: &Flow, url: &str, body: &str, signal: Option<&AbortSignal>) -> Attempt {
    let c = flow.config();
    let Ok(headers) = Headers::new() else {
        return Attempt::NoAnswer;
    };
    let fixed = [
        ("Content-Type", "application/json"),
        ("X-ZivaCare-Connect", "1"),
    ];
    let own = c
        .server_headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()));
    for (name, value) in fixed.into_iter().chain(own) {
        if headers.set(name, value).is_err() {
            return Attempt::NoAnswer;
        }
    }
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&body.into());
    init.set_signal(signal);
    init.set_credentials(match c.credentials {
        Credentials::Omit => RequestCredentials::Omit,
        Credentials::SameOrigin => RequestCredentials::SameOrigin,
        Credentials::Include => RequestCredentials::Include,
    });
    let Some(window) = web_sys::window() else {
        return Attempt::NoAnswer;
    };
    let Ok(resp) = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await else {
        return Attempt::NoAnswer;
    };
    let resp: Response = resp.unchecked_into();
    let text = match resp.text() {
        Ok(p) => JsFuture::from(p).await.ok().and_then(|t| t.as_string()),
        Err(_) => None,
    };
    Attempt::Answered(resp.status(), text.unwrap_or_default())
}

/// The reply's JSON; `null` for an empty body, the raw text if it is not JSON,
/// so a server that stored the connection never loses its answer.
fn parse_reply(text: &str) -> JsValue {
    if text.trim().is_empty() {
        return JsValue::NULL;
    }
    js_sys::JSON::parse(text).unwrap_or_else(|_| JsValue::from_str(text))
}

/// POSTs `{specialToken, clientId, clientUserId, state}` and returns the parsed reply.
pub async fn post(
    flow: &Flow,
    url: &str,
    payload: &JsValue,
    signal: Option<&AbortSignal>,
) -> Result<JsValue, Error> {
    let body = js_sys::JSON::stringify(payload)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    let mut retries = 0;
    loop {
        flow.callbacks().event(
            "server_request",
            &object(&[("attempt", &(retries + 1).into())]),
        );
        let result = attempt(flow, url, &body, signal).await;
        if flow.is_ended() {
            return Err(Error::new(
                Code::NetworkError,
                "The flow ended during the request",
            ));
        }
        let status = match &result {
            Attempt::Answered(s, text) if (200..300).contains(s) => return Ok(parse_reply(text)),
            Attempt::Answered(s, _) => Some(*s),
            Attempt::NoAnswer => None,
        };
        if !should_retry(status, retries) {
            return Err(match status {
                Some(s) => {
                    let mut e = Error::new(
                        Code::ServerError,
                        "The server did not accept the connection",
                    );
                    e.status = Some(s);
                    e
                }
                None => Error::new(Code::NetworkError, "The server could not be reached"),
            });
        }
        crate::web::sleep(backoff_ms(retries)).await;
        retries += 1;
    }
}
