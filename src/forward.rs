//! Forwarding the specialToken to the integrator's server: one POST, retried on
//! network errors and 5xx only (see `protocol::should_retry`).
//!
//! The request goes straight through the browser's `fetch`: an HTTP client crate
//! (gloo-net) measured 3.7 KB gzip more for the same one POST. Its promises are
//! followed with callbacks rather than `async` (the futures executor and its
//! state machines measured 3 KB gzip more): each callback is handed to both
//! outcomes of a `then`, so exactly one call frees it.

use alloc::rc::Rc;
use alloc::string::String;
use core::cell::Cell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

use crate::error::{Code, Error};
use crate::flow::{Flow, Outcome};
use crate::js::{get, object, set};
use crate::options::Credentials;
use crate::protocol::{backoff_ms, should_retry};
use crate::web::set_timeout;

#[wasm_bindgen]
extern "C" {
    /// A promise, for `then` with plain functions.
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then_either(this: &Thenable, fulfilled: &JsValue, rejected: &JsValue);
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

/// The reply's JSON; `null` for an empty body, the raw text if it is not JSON,
/// so a server that stored the connection never loses its answer.
fn parse_reply(text: &str) -> JsValue {
    if text.chars().all(char::is_whitespace) {
        return JsValue::NULL;
    }
    js_sys::JSON::parse(text).unwrap_or_else(|_| JsValue::from_str(text))
}

/// One forward in flight: its flow, what it posts, and how many retries so far.
struct Forward {
    flow: Rc<Flow>,
    url: String,
    body: String,
    /// The flow's response, which gets `serverResponse` once the server answers.
    response: JsValue,
    signal: Option<AbortSignal>,
    retries: Cell<u32>,
}

/// `then(f, f)`: `f` runs once, with the value or the reason.
fn settle(promise: &JsValue, f: impl FnOnce(JsValue) + 'static) {
    let f = Closure::once_into_js(f);
    promise.unchecked_ref::<Thenable>().then_either(&f, &f);
}

/// POSTs `{specialToken, clientId, clientUserId, state}` (`response`) to `url`,
/// then ends the flow: done with the server's reply in `serverResponse`, or failed.
pub fn post(flow: Rc<Flow>, url: String, response: JsValue, signal: Option<AbortSignal>) {
    let body = js_sys::JSON::stringify(&response)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    attempt(Rc::new(Forward {
        flow,
        url,
        body,
        response,
        signal,
        retries: Cell::new(0),
    }));
}

fn attempt(f: Rc<Forward>) {
    if f.flow.is_ended() {
        return;
    }
    f.flow.callbacks().event(
        "server_request",
        &object(&[("attempt", &(f.retries.get() + 1).into())]),
    );
    let Some(window) = crate::web::window() else {
        return answered(f, None, None);
    };
    let init = request_init(&f.flow, &f.body, f.signal.as_ref());
    // fetch rejects (no answer) on network errors and on headers it refuses.
    let sent = window.fetch_with_str_and_init(&f.url, init.unchecked_ref());
    settle(&sent, move |resp| {
        let Some(status) = get(&resp, "status").as_f64() else {
            return answered(f, None, None);
        };
        let reading = get(&resp, "text")
            .dyn_into::<js_sys::Function>()
            .and_then(|read| read.call0(&resp));
        match reading {
            Ok(text) => settle(&text, move |text| {
                answered(f, Some(status as u16), text.as_string())
            }),
            Err(_) => answered(f, Some(status as u16), None),
        }
    });
}

/// One attempt's outcome: a status and body, or (`None`) no answer at all.
fn answered(f: Rc<Forward>, status: Option<u16>, text: Option<String>) {
    let flow = &f.flow;
    if flow.is_ended() {
        return; // closed, timed out or aborted meanwhile
    }
    if let Some(200..=299) = status {
        let reply = parse_reply(&text.unwrap_or_default());
        set(&f.response, "serverResponse", &reply);
        return flow.end(Outcome::Done(f.response.clone()));
    }
    let retries = f.retries.get();
    if should_retry(status, retries) {
        f.retries.set(retries + 1);
        let ms = backoff_ms(retries);
        let again = Closure::once_into_js(move || attempt(f));
        set_timeout(&again, ms as i32);
        return;
    }
    flow.end(Outcome::Failed(match status {
        Some(s) => {
            let mut e = Error::new(
                Code::ServerError,
                "The server did not accept the connection",
            );
            e.status = Some(s);
            e
        }
        None => Error::new(Code::NetworkError, "The server could not be reached"),
    }));
}
