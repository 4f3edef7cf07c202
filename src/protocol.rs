//! The protocol with the Connect popup, as pure functions: the popup URL, the
//! message filter, and the retry policy of the forward. See docs/protocol.md.

use crate::error::Code;
use crate::event::Reason;
use crate::options::{is_token_text, Config, UxMode};
use crate::text::truncate_chars;

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
/// the Connect URL already has; with `returnUrl`, also `&returnUrl=…&uxMode=…`
/// (`mode`: how this flow went to the Connect page, `popup` or `redirect`).
pub fn popup_url(config: &Config, page_origin: &str, state: &str, mode: UxMode) -> String {
    let mut url = String::with_capacity(config.connect_url.len() + 128);
    url.push_str(&config.connect_url);
    let mut sep = if config.connect_url.bytes().any(|b| b == b'?') {
        '&'
    } else {
        '?'
    };
    let ret = config.return_url.as_deref();
    for (key, value) in [
        ("clientId", Some(config.client_id.as_str())),
        ("clientUserId", Some(config.client_user_id.as_str())),
        ("origin", Some(page_origin)),
        ("state", Some(state)),
        ("returnUrl", ret),
        ("uxMode", ret.map(|_| mode.as_str())),
    ] {
        let Some(value) = value else { continue };
        url.push(sep);
        url.push_str(key);
        url.push('=');
        encode_component(value, &mut url);
        sep = '&';
    }
    url
}

/// Appends a whole number in decimal, without the weight of `core::fmt`.
pub fn push_int(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let mut digits = [0u8; 20];
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
        push_int(&mut out, i64::from(value));
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
    check_data(expected_state, msg.data)
}

/// The checks of a message's data, whoever sent it: a plain object of the
/// protocol's shape, with this flow's state.
pub fn check_data(expected_state: &str, data: &Data) -> Verdict {
    let Data::Object {
        kind,
        state,
        special_token,
        code,
        message,
    } = data
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
                Field::Text(m) => truncate_chars(m, MAX_MESSAGE).to_owned(),
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

/// The keys of a redirect return, in its fragment: `zc_` and a name, so that
/// they cannot collide with a hash router's.
pub const RETURN_KEYS: [&str; 6] = [
    "zc_v",
    "zc_state",
    "zc_result",
    "zc_token",
    "zc_code",
    "zc_message",
];

/// Decodes what `encodeURIComponent` encoded; `None` for a `%` that is not
/// followed by two hex digits, or bytes that are not UTF-8.
pub fn decode_component(s: &[u8]) -> Option<String> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hi = hex(*s.get(i + 1)?)?;
            let lo = hex(*s.get(i + 2)?)?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// What a redirect return carries: its state, and the outcome, as a message
/// from the popup would ([`Verdict::Finish`], [`Verdict::Close`] or [`Verdict::Error`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Return {
    pub state: String,
    pub outcome: Verdict,
}

/// Whether a part of a fragment is a return's (`zc_…`).
fn is_ours(part: &[u8]) -> bool {
    part.starts_with(b"zc_")
}

/// The redirect return in `fragment` (the URL's fragment without `#`):
/// `None` if it holds no `zc_` key; `Some(Err(()))` if it is malformed (an
/// unknown or repeated `zc_` key, a bad encoding, a version other than 1, a
/// missing or ill-formed field, a field its result does not take).
///
/// ```
/// # use zivacare_connect::protocol::{parse_return, Verdict};
/// let r = parse_return("zc_v=1&zc_state=st4te&zc_result=finish&zc_token=t0k").unwrap().unwrap();
/// assert_eq!(r.outcome, Verdict::Finish { special_token: "t0k".into() });
/// assert_eq!(parse_return("/settings?tab=1"), None);
/// assert_eq!(parse_return("zc_v=2&zc_state=s&zc_result=close"), Some(Err(())));
/// ```
pub fn parse_return(fragment: &str) -> Option<Result<Return, ()>> {
    let mut fields: [Option<String>; 6] = Default::default();
    let mut any = false;
    let mut bad = fragment.len() > 4096;
    for part in fragment
        .as_bytes()
        .split(|b| *b == b'&')
        .filter(|p| is_ours(p))
    {
        any = true;
        let eq = part.iter().position(|b| *b == b'=').unwrap_or(part.len());
        let key = part.get(..eq).unwrap_or_default();
        let value = part.get(eq + 1..).unwrap_or_default();
        match RETURN_KEYS.iter().position(|k| k.as_bytes() == key) {
            Some(i) if fields[i].is_none() => match decode_component(value) {
                Some(v) => fields[i] = Some(v),
                None => bad = true,
            },
            _ => bad = true,
        }
    }
    if !any {
        return None;
    }
    let [v, state, result, token, code, message] = fields;
    let outcome = match (result.as_deref(), token, code) {
        _ if bad || v.as_deref() != Some("1") => None,
        (Some("finish"), Some(t), None) if message.is_none() && is_token_text(&t) => {
            Some(Verdict::Finish { special_token: t })
        }
        (Some("close"), None, None) if message.is_none() => Some(Verdict::Close),
        (Some("error"), None, Some(c)) if valid_connect_code(&c) => Some(Verdict::Error {
            code: c,
            message: truncate_chars(&message.unwrap_or_default(), MAX_MESSAGE).to_owned(),
        }),
        _ => None,
    };
    Some(match (state, outcome) {
        (Some(state), Some(outcome)) if is_token_text(&state) => Ok(Return { state, outcome }),
        _ => Err(()),
    })
}

/// The pending flow a tab keeps while it is away at the Connect page (or
/// while its popup may come back by redirect): never a token, never
/// `serverHeaders`.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    pub state: String,
    pub client_id: String,
    pub client_user_id: String,
    pub connect_origin: String,
    pub return_url: String,
    /// Whether the tab itself went to the Connect page (redirect mode).
    pub redirect: bool,
    /// When it expires, in milliseconds since the epoch (`timeoutMs` after it began).
    pub expires: f64,
}

impl Pending {
    /// The record as stored: its fields percent-encoded and joined by `|`,
    /// after a version (`1`), the same in `sessionStorage` and in a cookie.
    ///
    /// ```
    /// # use zivacare_connect::protocol::Pending;
    /// let p = Pending {
    ///     state: "st4te".into(), client_id: "c".into(), client_user_id: "ann@example.com".into(),
    ///     connect_origin: "https://z.example".into(), return_url: "https://app.example/r?a=1|2".into(),
    ///     redirect: true, expires: 1_700_000_000_000.0,
    /// };
    /// assert_eq!(Pending::decode(&p.encode()), Some(p));
    /// ```
    pub fn encode(&self) -> String {
        let mut out = String::from("1");
        for field in [
            self.state.as_str(),
            &self.client_id,
            &self.client_user_id,
            &self.connect_origin,
            &self.return_url,
            if self.redirect { "r" } else { "p" },
        ] {
            out.push('|');
            encode_component(field, &mut out);
        }
        out.push('|');
        push_int(&mut out, self.expires.max(0.0) as i64);
        out
    }

    /// A record as [`encode`](Pending::encode) wrote it; `None` for anything else.
    pub fn decode(text: &str) -> Option<Pending> {
        let mut parts = text.as_bytes().split(|b| *b == b'|');
        if parts.next()? != b"1" {
            return None;
        }
        let mut field = || decode_component(parts.next()?);
        let (state, client_id, client_user_id, connect_origin, return_url, mode) =
            (field()?, field()?, field()?, field()?, field()?, field()?);
        let expires = field()?;
        let ms = expires.bytes().try_fold(0u64, |n, b| match b {
            b'0'..=b'9' => n.checked_mul(10)?.checked_add(u64::from(b - b'0')),
            _ => None,
        })?;
        if expires.is_empty() {
            return None;
        }
        if parts.next().is_some() {
            return None;
        }
        Some(Pending {
            state,
            client_id,
            client_user_id,
            connect_origin,
            return_url,
            redirect: mode == "r",
            expires: ms as f64,
        })
    }
}

/// The user agents of in-app browsers, where a popup is blocked, opens in
/// the same tab, or is cut off from the page: Facebook, Messenger, Instagram,
/// LinkedIn, TikTok, Line, Snapchat, Pinterest. A heuristic: their apps say
/// so in the user agent, and may stop saying so.
pub const IN_APP_BROWSERS: &[&str] = &[
    "FBAN/",
    "FBAV/",
    "FB_IAB",
    "Instagram",
    "LinkedInApp",
    "musical_ly",
    "Bytedance",
    "TikTok",
    "Line/",
    "Snapchat",
    "Pinterest",
];

/// Whether `user_agent` names one of [`IN_APP_BROWSERS`].
///
/// ```
/// # use zivacare_connect::protocol::is_in_app_browser;
/// assert!(is_in_app_browser("Mozilla/5.0 (iPhone) Mobile/15E148 [FBAN/FBIOS;FBAV/450.0]"));
/// assert!(!is_in_app_browser("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"));
/// ```
pub fn is_in_app_browser(user_agent: &str) -> bool {
    let ua = user_agent.as_bytes();
    IN_APP_BROWSERS
        .iter()
        .any(|t| ua.windows(t.len()).any(|w| w == t.as_bytes()))
}

/// Whether a return may be forwarded for `config`, against this tab's
/// pending flow at `now`: the same state, for the same application, user,
/// Connect page and return page, not expired. A return with no pending flow
/// lost it (`redirect_state_lost`); one with another state or for another
/// flow is not this tab's (`state_mismatch`); one past its expiry, `timeout`.
pub fn check_return(
    pending: Option<&Pending>,
    ret: &Return,
    config: &Config,
    now: f64,
) -> Result<(), Code> {
    let Some(p) = pending else {
        return Err(Code::RedirectStateLost);
    };
    let same = p.state == ret.state
        && p.client_id == config.client_id
        && p.client_user_id == config.client_user_id
        && p.connect_origin == config.connect_origin
        && config.return_url.as_deref() == Some(p.return_url.as_str());
    if !same {
        Err(Code::StateMismatch)
    } else if now > p.expires {
        Err(Code::Timeout)
    } else {
        Ok(())
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
