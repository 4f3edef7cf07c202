//! Forwarding the specialToken to the integrator's server: one POST, retried on
//! network errors and 5xx only (see `protocol::should_retry`).

use gloo_net::http::Request;
use wasm_bindgen::JsValue;
use web_sys::{AbortSignal, RequestCredentials};

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
    let mut req = Request::post(url)
        .header("Content-Type", "application/json")
        .header("X-ZivaCare-Connect", "1")
        .credentials(match c.credentials {
            Credentials::Omit => RequestCredentials::Omit,
            Credentials::SameOrigin => RequestCredentials::SameOrigin,
            Credentials::Include => RequestCredentials::Include,
        })
        .abort_signal(signal);
    for (name, value) in &c.server_headers {
        req = req.header(name, value);
    }
    let Ok(req) = req.body(body) else {
        return Attempt::NoAnswer;
    };
    match req.send().await {
        Ok(resp) => Attempt::Answered(resp.status(), resp.text().await.unwrap_or_default()),
        Err(_) => Attempt::NoAnswer,
    }
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
        gloo_timers::future::TimeoutFuture::new(backoff_ms(retries)).await;
        retries += 1;
    }
}
