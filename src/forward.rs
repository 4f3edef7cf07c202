//! Forwarding the specialToken to the integrator's server: one POST, retried on
//! network errors and 5xx only (see `protocol::should_retry`).
//!
//! The request goes straight through the browser's `fetch`: an HTTP client crate
//! (gloo-net) measured 3.7 KB gzip more for the same one POST.

use alloc::string::String;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use crate::error::{Code, Error};
use crate::flow::Flow;
use crate::js::{get, object, set};
use crate::options::Credentials;
use crate::protocol::{backoff_ms, should_retry};

/// What one attempt gave: a status and body, or no answer at all.
enum Attempt {
    Answered(u16, String),
    NoAnswer,
}

/// `init` for `fetch`, as a plain object (typed bindings would each be an import).
fn request_init(flow: &Flow, body: &str, signal: Option<&AbortSignal>) -> JsValue {
    let c = flow.config();
    let headers: JsValue = js_sys::Object::new().into();
    let fixed = [
        ("Content-Type", "application/json"),
        ("X-ZivaCare-Connect", "1"),
    ];
    let own = c
        .server_headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()));
    for (name, value) in fixed.into_iter().chain(own) {
        set(&headers, name, &value.into());
    }
    let credentials = match c.credentials {
        Credentials::Omit => "omit",
        Credentials::SameOrigin => "same-origin",
        Credentials::Include => "include",
    };
    let init = object(&[
        ("method", &"POST".into()),
        ("headers", &headers),
        ("body", &body.into()),
        ("credentials", &credentials.into()),
    ]);
    if let Some(s) = signal {
        set(&init, "signal", s);
    }
    init
}

async fn attempt(flow: &Flow, url: &str, body: &str, signal: Option<&AbortSignal>) -> Attempt {
    let Some(window) = web_sys::window() else {
        return Attempt::NoAnswer;
    };
    let init = request_init(flow, body, signal);
    // fetch rejects (no answer) on network errors and on headers it refuses.
    let sent = window.fetch_with_str_and_init(url, init.unchecked_ref());
    let Ok(resp) = JsFuture::from(sent).await else {
        return Attempt::NoAnswer;
    };
    let status = get(&resp, "status").as_f64().unwrap_or(0.0) as u16;
    let reading = get(&resp, "text")
        .dyn_into::<js_sys::Function>()
        .and_then(|read| read.call0(&resp));
    let text = match reading {
        Ok(p) => JsFuture::from(js_sys::Promise::from(p))
            .await
            .ok()
            .and_then(|t| t.as_string()),
        Err(_) => None,
    };
    Attempt::Answered(status, text.unwrap_or_default())
}

/// The reply's JSON; `null` for an empty body, the raw text if it is not JSON,
/// so a server that stored the connection never loses its answer.
fn parse_reply(text: &str) -> JsValue {
    if text.chars().all(char::is_whitespace) {
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
