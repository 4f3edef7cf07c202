//! The protocol with the Connect popup, as pure functions: the popup URL, the
//! message filter, and the retry policy of the forward. See docs/protocol.md.

use crate::error::Code;
use crate::options::{is_token_text, Config};

pub const MSG_FINISH: &str = "zivacare-connect:finish";
pub const MSG_CLOSE: &str = "zivacare-connect:close";
pub const MSG_ERROR: &str = "zivacare-connect:error";
/// Longest error message from the Connect page we pass on; the rest is cut.
pub const MAX_MESSAGE: usize = 500;

/// Percent-encodes like `encodeURIComponent`.
pub fn encode_component(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

/// `{connectUrl}?clientId=…&clientUserId=…&origin=…&state=…`, keeping any query
/// the Connect URL already has.
pub fn popup_url(config: &Config, page_origin: &str, state: &str) -> String {
    let mut url = String::with_capacity(config.connect_url.len() + 128);
    url.push_str(&config.connect_url);
    let mut sep = if config.connect_url.bytes().any(|b| b == b'?') {
        '&'
    } else {
        '?'
    };
    for (key, value) in [
        ("clientId", config.client_id.as_str()),
        ("clientUserId", config.client_user_id.as_str()),
        ("origin", page_origin),
        ("state", state),
    ] {
        url.push(sep);
        url.push_str(key);
        url.push('=');
        encode_component(value, &mut url);
        sep = '&';
    }
    url
}

/// Appends a whole number in decimal, without the weight of `core::fmt`.
fn push_int(out: &mut String, n: i32) {
    if n < 0 {
        out.push('-');
    }
    let mut digits = [0u8; 10];
    let mut len = 0;
    let mut m = n.unsigned_abs();
    loop {
        digits[len] = b'0' + (m % 10) as u8;
        len += 1;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    for &d in digits[..len].iter().rev() {
        out.push(d as char);
    }
}

/// `window.open` features for a popup of `width` × `height` at `left`, `top`.
pub fn popup_features(width: u32, height: u32, left: i32, top: i32) -> String {
    let mut out = String::with_capacity(64);
    for (key, value) in [
        ("popup=yes,width=", width as i32),
        (",height=", height as i32),
        (",left=", left),
        (",top=", top),
    ] {
        out.push_str(key);
        push_int(&mut out, value);
    }
    out
}

/// base64url without padding, for the random state.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// One field of a message's data, as the JS side found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    Missing,
    Text(String),
    /// Present but not a string (a number, object, array, `null`...).
    Other,
}

impl Field {
    fn text(&self) -> Option<&str> {
        match self {
            Field::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// A message's data. Anything that is not a plain object is `NotObject`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    NotObject,
    Object {
        kind: Field,
        state: Field,
        special_token: Field,
        code: Field,
        message: Field,
    },
}

/// What a message from the Connect page means for the flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Finish {
        special_token: String,
    },
    Close,
    Error {
        code: String,
        message: String,
    },
    /// Ignored; the reason is reported through `onEvent("message_rejected")`.
    Reject(Reason),
}

/// Why a message was ignored. Never carries any of the message's content.
///
/// ```
/// use zivacare_connect::{Event, Reason};
/// let event = Event::MessageRejected { reason: Reason::Origin };
/// assert_eq!((event.name(), Reason::Origin.as_str()), ("message_rejected", "origin"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Not from the Connect page's origin.
    Origin,
    /// Not from the popup this flow opened.
    Source,
    /// Not a plain object of the protocol's shape.
    Shape,
    /// Without this flow's state.
    State,
    /// Of an unknown type.
    Type,
    /// A finish whose specialToken is not well-formed.
    Token,
}

impl Reason {
    /// The reason as `onEvent` reports it, e.g. `"origin"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Origin => "origin",
            Reason::Source => "source",
            Reason::Shape => "shape",
            Reason::State => "state",
            Reason::Type => "type",
            Reason::Token => "token",
        }
    }
}

/// A reason is written as its string, as `onEvent` reports it.
impl serde::Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What happens in a flow, for `onEvent(name, details)` and
/// [`ConnectOptions::on_event`](crate::ConnectOptions::on_event). Never carries a token.
///
/// ```
/// use zivacare_connect::{Code, Event};
/// assert_eq!(Event::ServerRequest { attempt: 2 }.name(), "server_request");
/// assert_eq!(Event::Error { code: Code::Timeout }.name(), "error");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Event {
    /// The Connect popup opened.
    PopupOpened,
    /// A message was ignored (see [`Reason`]); the flow goes on.
    MessageRejected {
        /// Why.
        reason: Reason,
    },
    /// A valid finish arrived; the popup closed.
    TokenReceived,
    /// The forward to `server_url` was sent (1 for the first try).
    ServerRequest {
        /// Which try.
        attempt: u32,
    },
    /// The flow finished with a response.
    Finished,
    /// The popup was closed before finishing.
    Closed,
    /// The flow failed.
    Error {
        /// With this code.
        code: Code,
    },
}

impl Event {
    /// The name `onEvent` receives, e.g. `"message_rejected"`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::PopupOpened => "popup_opened",
            Event::MessageRejected { .. } => "message_rejected",
            Event::TokenReceived => "token_received",
            Event::ServerRequest { .. } => "server_request",
            Event::Finished => "finished",
            Event::Closed => "closed",
            Event::Error { .. } => "error",
        }
    }
}

/// Receives every event of a flow.
pub type OnEvent = std::rc::Rc<dyn Fn(&Event)>;

/// A message event, reduced to what the filter decides on.
pub struct Incoming<'a> {
    pub origin: &'a str,
    /// Whether `event.source` is the popup this flow opened.
    pub from_popup: bool,
    pub data: &'a Data,
}

/// Accepts a message only from the expected origin and window, with this flow's
/// state and a valid shape. Checks run cheapest and most telling first.
pub fn check(expected_origin: &str, expected_state: &str, msg: &Incoming) -> Verdict {
    // Fail closed: an empty or opaque expected origin never matches anything.
    if expected_origin.is_empty()
        || expected_origin == "null"
        || expected_origin == "*"
        || msg.origin != expected_origin
    {
        return Verdict::Reject(Reason::Origin);
    }
    if !msg.from_popup {
        return Verdict::Reject(Reason::Source);
    }
    let Data::Object {
        kind,
        state,
        special_token,
        code,
        message,
    } = msg.data
    else {
        return Verdict::Reject(Reason::Shape);
    };
    let Some(kind) = kind.text() else {
        return Verdict::Reject(Reason::Shape);
    };
    match state.text() {
        Some(s) if !expected_state.is_empty() && s == expected_state => {}
        _ => return Verdict::Reject(Reason::State),
    }
    match kind {
        MSG_FINISH => match special_token.text() {
            Some(t) if is_token_text(t) => Verdict::Finish {
                special_token: t.to_owned(),
            },
            _ => Verdict::Reject(Reason::Token),
        },
        MSG_CLOSE => Verdict::Close,
        MSG_ERROR => {
            let code = code.text().filter(|c| valid_connect_code(c));
            let Some(code) = code else {
                return Verdict::Reject(Reason::Shape);
            };
            let message = match message {
                Field::Text(m) => m.chars().take(MAX_MESSAGE).collect(),
                Field::Missing => String::new(),
                Field::Other => return Verdict::Reject(Reason::Shape),
            };
            Verdict::Error {
                code: code.to_owned(),
                message,
            }
        }
        _ => Verdict::Reject(Reason::Type),
    }
}

/// ZivaCare's error codes are short identifiers such as "0011".
fn valid_connect_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 32
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// How many times a failed forward is tried again.
pub const MAX_RETRIES: u32 = 3;

/// Whether a forward that ended with this status (`None`: network error) may be
/// tried again. The backend treats a repeated token idempotently; a 4xx is final.
pub fn should_retry(status: Option<u16>, retries_done: u32) -> bool {
    retries_done < MAX_RETRIES && status.is_none_or(|s| s >= 500)
}

/// The wait before retry number `retry` (0-based): 250 ms, 500 ms, 1 s.
pub fn backoff_ms(retry: u32) -> u32 {
    250 << retry.min(4)
}
