//! Forwarding the specialToken to the integrator's server: one POST with
//! gloo-net, retried on network errors and 5xx only (`protocol::should_retry`).
//! It knows nothing of the flow: the flow awaits [`post`] and ends with its result,
//! a [`ConnectResponse`] or an error (an [`Outcome`]).

use gloo_net::http::Request as HttpRequest;
use gloo_timers::future::TimeoutFuture;
use serde::Serialize;
use wasm_bindgen::JsValue;
use web_sys::{AbortSignal, RequestCredentials};

use crate::error::{Code, ConnectError};
use crate::options::{Config, Credentials};
use crate::protocol::{backoff_ms, should_retry};

/// What a finished flow gives: the specialToken and what it was issued for,
/// and, when `server_url` is set, the server's answer to the forward.
///
/// ```no_run
/// use serde::Deserialize;
/// use zivacare_connect::ConnectResponse;
///
/// #[derive(Deserialize)]
/// #[serde(rename_all = "camelCase")]
/// struct Connected {
///     ziva_user_code: String,
/// }
///
/// fn user_code(response: ConnectResponse) -> Option<String> {
///     let reply: Connected = serde_wasm_bindgen::from_value(response.server_response).ok()?;
///     Some(reply.ziva_user_code)
/// }
/// # let _ = user_code;
/// ```
#[derive(Clone, Debug)]
pub struct ConnectResponse {
    /// The one-time token your server exchanges with its clientSecret.
    pub special_token: String,
    /// Your application.
    pub client_id: String,
    /// Your user.
    pub client_user_id: String,
    /// This flow's state, as the Connect page echoed it.
    pub state: String,
    /// The parsed JSON reply of `server_url` (a string if it was not JSON,
    /// `null` if empty); `undefined` without `server_url`.
    pub server_response: JsValue,
}

/// A JavaScript value handed over as it is.
struct Preserved<'a>(&'a JsValue);

impl Serialize for Preserved<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_wasm_bindgen::preserve::serialize(self.0, s)
    }
}

/// `{specialToken, clientId, clientUserId, state, serverResponse?}`. Written
/// as a map, not derived as a struct: serde-wasm-bindgen keeps a cache (a
/// `HashMap`) of the field names of structs, whose code (1.3 KB gzip) the
/// module would carry for a handful of keys.
impl Serialize for ConnectResponse {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("specialToken", &self.special_token)?;
        m.serialize_entry("clientId", &self.client_id)?;
        m.serialize_entry("clientUserId", &self.client_user_id)?;
        m.serialize_entry("state", &self.state)?;
        if !self.server_response.is_undefined() {
            m.serialize_entry("serverResponse", &Preserved(&self.server_response))?;
        }
        m.end()
    }
}

/// How a flow ends: the response, or the error (`popup_closed` for a closed popup).
pub type Outcome = Result<ConnectResponse, ConnectError>;
/// What the forward sends: the same POST on every attempt.
pub struct Request {
    url: String,
    /// `{"specialToken","clientId","clientUserId","state"}`, as JSON.
    body: String,
    headers: Vec<(String, String)>,
    credentials: RequestCredentials,
}

impl Request {
    /// The POST of `response` (before the server's reply) to `url`, with the
    /// page's `serverHeaders` and `credentials`.
    pub fn new(url: String, response: &ConnectResponse, config: &Config) -> Request {
        Request {
            url,
            body: json(response),
            headers: config.server_headers.clone(),
            credentials: match config.credentials {
                Credentials::Omit => RequestCredentials::Omit,
                Credentials::SameOrigin => RequestCredentials::SameOrigin,
                Credentials::Include => RequestCredentials::Include,
            },
        }
    }

    /// A fresh `Request` for one attempt (a body can be sent once). The headers
    /// are set here rather than with gloo-net's builder, whose setter throws out
    /// of the module on a name or value the browser refuses.
    fn build(&self, signal: Option<&AbortSignal>) -> Result<HttpRequest, JsValue> {
        let headers = web_sys::Headers::new()?;
        headers.set("Content-Type", "application/json")?;
        headers.set("X-ZivaCare-Connect", "1")?;
        for (name, value) in &self.headers {
            headers.set(name, value)?;
        }
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&self.body));
        init.set_credentials(self.credentials);
        init.set_signal(signal);
        web_sys::Request::new_with_str_and_init(&self.url, &init).map(HttpRequest::from)
    }
}

/// The body of the POST: the response's fields as JSON, through
/// serde-wasm-bindgen's JSON-compatible serializer and `JSON.stringify`.
fn json(response: &ConnectResponse) -> String {
    use serde::Serialize;
    response
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .ok()
        .and_then(|v| js_sys::JSON::stringify(&v).ok())
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// The reply's JSON; `null` for an empty body, the raw text if it is not JSON,
/// so a server that stored the connection never loses its answer.
fn parse_reply(text: &str) -> JsValue {
    if text.chars().all(char::is_whitespace) {
        return JsValue::NULL;
    }
    js_sys::JSON::parse(text).unwrap_or_else(|_| JsValue::from_str(text))
}

fn network_error() -> ConnectError {
    ConnectError::new(Code::NetworkError, "The server could not be reached")
}

/// POSTs `request`, retrying network errors and 5xx (after 250 ms, 500 ms and
/// 1 s), never a 4xx; `attempt(n)` is told of each attempt. Resolves with the
/// server's parsed reply, or the error. Once `signal` is aborted (the flow
/// ended), it stops.
pub async fn post(
    request: &Request,
    signal: Option<&AbortSignal>,
    attempt: &dyn Fn(u32),
) -> Result<JsValue, ConnectError> {
    let aborted = || signal.is_some_and(AbortSignal::aborted);
    let mut retries = 0;
    loop {
        if aborted() {
            return Err(network_error());
        }
        attempt(retries + 1);
        let sent = match request.build(signal) {
            Ok(req) => req.send().await,
            // A request the browser refuses to make: no retry can help.
            Err(_) => return Err(network_error()),
        };
        let status = match sent {
            Ok(resp) if resp.ok() => {
                let text = resp.text().await.unwrap_or_default();
                return Ok(parse_reply(&text));
            }
            Ok(resp) => Some(resp.status()),
            Err(_) => None,
        };
        if !should_retry(status, retries) {
            return Err(status.map_or_else(network_error, ConnectError::server));
        }
        TimeoutFuture::new(backoff_ms(retries)).await;
        retries += 1;
    }
}
