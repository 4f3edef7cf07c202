//! Options: pure validation of what a page passed in, independent of the browser.
//!
//! The JS side (`js.rs`) reads each option with its expected type and fills
//! [`RawOptions`]; [`validate`] then checks contents and applies defaults. URLs
//! arrive already parsed by the browser's own URL parser ([`ParsedUrl`]), so the
//! origin we compare `event.origin` against is serialised exactly as the browser
//! serialises it.

use crate::error::Error;

/// ZivaCare's production Connect page, used when `connectUrl` is not given.
pub const DEFAULT_CONNECT_URL: &str = "https://connect.zivacare.com/connect";
/// Ten minutes: the lifetime of a specialToken at ZivaCare.
pub const DEFAULT_TIMEOUT_MS: u32 = 600_000;
pub const MAX_TIMEOUT_MS: u32 = 86_400_000;
pub const DEFAULT_POPUP_WIDTH: u32 = 500;
pub const DEFAULT_POPUP_HEIGHT: u32 = 720;
pub const DEFAULT_LABEL: &str = "Connect Health Data";

/// The button's label by language; other languages get English. The loader
/// (js/core.js) keeps the same table for buttons rendered before the module loads.
pub const LABELS: &[(&str, &str)] = &[
    ("en", DEFAULT_LABEL),
    ("es", "Conectar datos de salud"),
    ("fr", "Connecter mes données de santé"),
    ("de", "Gesundheitsdaten verbinden"),
];

/// The label for a BCP 47 language tag such as `es` or `fr-CA`.
pub fn label_for(locale: &str) -> &'static str {
    let lang = locale.split(['-', '_']).next().unwrap_or("");
    LABELS
        .iter()
        .find(|(l, _)| l.eq_ignore_ascii_case(lang))
        .map_or(DEFAULT_LABEL, |(_, label)| label)
}

/// A language tag: letters, digits and hyphens, starting with 2 or 3 letters.
fn is_locale(s: &str) -> bool {
    let mut parts = s.split('-');
    let lang = parts.next().unwrap_or("");
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}
/// Longest clientId, clientUserId, state or label we accept.
pub const MAX_TEXT: usize = 512;

/// Every option `open()` and `button()` understand. `connect()` takes the same
/// ones except the two callbacks.
pub const KNOWN_KEYS: &[&str] = &[
    "clientId",
    "clientUserId",
    "finish",
    "close",
    "connectUrl",
    "serverUrl",
    "state",
    "serverHeaders",
    "credentials",
    "timeoutMs",
    "popupWidth",
    "popupHeight",
    "onEvent",
    "label",
    "locale",
];

/// The keys only callback-style calls take.
pub const CALLBACK_KEYS: &[&str] = &["finish", "close"];

/// Reports the first key that is not an option, or a callback given to `connect()`.
pub fn check_keys<S: AsRef<str>>(keys: &[S], callbacks_allowed: bool) -> Result<(), Error> {
    for key in keys {
        let key = key.as_ref();
        if !KNOWN_KEYS.contains(&key) {
            return Err(Error::option(key, "is not an option of ZivaConnect"));
        }
        if !callbacks_allowed && CALLBACK_KEYS.contains(&key) {
            return Err(Error::option(
                key,
                "is not taken by connect(), which returns a Promise; use open() for callbacks",
            ));
        }
    }
    Ok(())
}

/// A URL as the browser's `URL` parser split it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedUrl {
    pub href: String,
    pub origin: String,
    /// With the colon, as `URL.protocol` gives it: `"https:"`.
    pub protocol: String,
    pub hostname: String,
    pub has_credentials: bool,
    pub has_hash: bool,
}

/// The fetch credentials mode for the POST to `serverUrl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    Omit,
    SameOrigin,
    Include,
}

/// Options after type checks, before content checks.
#[derive(Clone, Debug, Default)]
pub struct RawOptions {
    pub client_id: Option<String>,
    pub client_user_id: Option<String>,
    /// `None` when absent; `Some(Err(text))` when the browser could not parse it.
    pub connect_url: Option<Result<ParsedUrl, String>>,
    pub server_url: Option<Result<ParsedUrl, String>>,
    pub state: Option<String>,
    pub server_headers: Vec<(String, String)>,
    pub credentials: Option<String>,
    pub timeout_ms: Option<f64>,
    pub popup_width: Option<f64>,
    pub popup_height: Option<f64>,
    pub label: Option<String>,
    pub locale: Option<String>,
    pub has_finish: bool,
}

/// Validated options with defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub client_id: String,
    pub client_user_id: String,
    /// The Connect page, without fragment.
    pub connect_url: String,
    /// The only origin whose messages are accepted.
    pub connect_origin: String,
    /// Absolute URL to POST the specialToken to; `None`: hand it to the page.
    pub server_url: Option<String>,
    /// A fixed state from the integrator's server; `None`: fresh random per flow.
    pub state: Option<String>,
    pub server_headers: Vec<(String, String)>,
    pub credentials: Credentials,
    pub timeout_ms: u32,
    pub popup_width: u32,
    pub popup_height: u32,
    pub label: String,
}

/// The number of characters (code points) in `s`: every byte that does not
/// continue a UTF-8 sequence starts one. (`chars().count()` links a larger routine.)
fn char_count(s: &str) -> usize {
    s.bytes().filter(|b| b & 0xC0 != 0x80).count()
}

/// Checks a required, non-empty text option without control characters.
fn text(field: &str, value: Option<String>, required: bool) -> Result<Option<String>, Error> {
    match value {
        None if required => Err(Error::option(field, "is required")),
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Err(Error::option(field, "must not be empty")),
        Some(v) if char_count(&v) > MAX_TEXT => {
            Err(Error::option(field, "is longer than 512 characters"))
        }
        Some(v) if v.chars().any(char::is_control) => {
            Err(Error::option(field, "must not contain control characters"))
        }
        Some(v) => Ok(Some(v)),
    }
}

/// The alphabet of specialTokens and states: base64url plus `.` and `~`.
pub fn is_token_text(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_TEXT
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

/// Whether plain `http:` is acceptable for this host: loopback only, for local sandboxes.
fn is_loopback(hostname: &str) -> bool {
    hostname == "localhost"
        || hostname.ends_with(".localhost")
        || hostname == "[::1]"
        || hostname.starts_with("127.")
}

fn connect_url(parsed: Option<Result<ParsedUrl, String>>) -> Result<ParsedUrl, Error> {
    const F: &str = "connectUrl";
    let url = match parsed {
        None => {
            return Ok(ParsedUrl {
                href: DEFAULT_CONNECT_URL.into(),
                origin: "https://connect.zivacare.com".into(),
                protocol: "https:".into(),
                hostname: "connect.zivacare.com".into(),
                ..ParsedUrl::default()
            })
        }
        Some(Err(_)) => return Err(Error::option(F, "is not a valid absolute URL")),
        Some(Ok(u)) => u,
    };
    let secure =
        url.protocol == "https:" || (url.protocol == "http:" && is_loopback(&url.hostname));
    if !secure {
        return Err(Error::option(
            F,
            "must use https: (plain http: only on localhost or 127.0.0.1)",
        ));
    }
    // An opaque origin can never be matched safely: fail closed.
    if url.origin.is_empty() || url.origin == "null" || url.origin == "*" {
        return Err(Error::option(F, "has no usable origin"));
    }
    if url.has_credentials {
        return Err(Error::option(F, "must not contain a user name or password"));
    }
    if url.has_hash {
        return Err(Error::option(F, "must not contain a #fragment"));
    }
    Ok(url)
}

fn server_url(parsed: Option<Result<ParsedUrl, String>>) -> Result<Option<String>, Error> {
    const F: &str = "serverUrl";
    match parsed {
        None => Ok(None),
        Some(Err(_)) => Err(Error::option(F, "is not a valid URL")),
        Some(Ok(u)) if u.protocol != "https:" && u.protocol != "http:" => {
            Err(Error::option(F, "must be an http: or https: URL"))
        }
        Some(Ok(u)) if u.has_credentials => {
            Err(Error::option(F, "must not contain a user name or password"))
        }
        Some(Ok(u)) => Ok(Some(u.href)),
    }
}

/// An HTTP header name: a token of RFC 9110.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn headers(list: Vec<(String, String)>) -> Result<Vec<(String, String)>, Error> {
    const F: &str = "serverHeaders";
    for (name, value) in &list {
        if !is_header_name(name) {
            return Err(Error::option(
                F,
                "has a header name that is not a valid token",
            ));
        }
        let lower = name.to_ascii_lowercase();
        if lower == "content-type" || lower == "x-zivacare-connect" {
            return Err(Error::option(
                F,
                "must not override Content-Type or X-ZivaCare-Connect",
            ));
        }
        if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
            return Err(Error::option(F, "has a header value with CR, LF or NUL"));
        }
    }
    Ok(list)
}

/// A whole number of at least `min` and at most `max`, or the default.
fn whole(field: &str, value: Option<f64>, min: u32, max: u32, default: u32) -> Result<u32, Error> {
    match value {
        None => Ok(default),
        Some(v) if v.fract() == 0.0 && v >= f64::from(min) && v <= f64::from(max) => Ok(v as u32),
        Some(_) => Err(Error::option(field, "must be a whole number in range")),
    }
}

/// Checks every option and applies the defaults.
pub fn validate(raw: RawOptions, finish_required: bool) -> Result<Config, Error> {
    let client_id = text("clientId", raw.client_id, true)?.unwrap_or_default();
    let client_user_id = text("clientUserId", raw.client_user_id, true)?.unwrap_or_default();
    if finish_required && !raw.has_finish {
        return Err(Error::option(
            "finish",
            "is required: a function(err, response)",
        ));
    }
    let connect = connect_url(raw.connect_url)?;
    let server_url = server_url(raw.server_url)?;
    let state = match raw.state {
        Some(s) if !is_token_text(&s) => {
            return Err(Error::option(
                "state",
                "must be 1 to 512 characters of A-Z a-z 0-9 - _ . ~",
            ))
        }
        s => s,
    };
    let default_label = match raw.locale.as_deref() {
        None => DEFAULT_LABEL,
        Some(l) if is_locale(l) => label_for(l),
        Some(_) => {
            return Err(Error::option(
                "locale",
                "must be a language tag such as \"es\" or \"fr-CA\"",
            ))
        }
    };
    let credentials = match raw.credentials.as_deref() {
        None | Some("same-origin") => Credentials::SameOrigin,
        Some("omit") => Credentials::Omit,
        Some("include") => Credentials::Include,
        Some(_) => {
            return Err(Error::option(
                "credentials",
                "must be \"omit\", \"same-origin\" or \"include\"",
            ))
        }
    };
    Ok(Config {
        client_id,
        client_user_id,
        connect_url: connect.href,
        connect_origin: connect.origin,
        server_url,
        state,
        server_headers: headers(raw.server_headers)?,
        credentials,
        timeout_ms: whole(
            "timeoutMs",
            raw.timeout_ms,
            1,
            MAX_TIMEOUT_MS,
            DEFAULT_TIMEOUT_MS,
        )?,
        popup_width: whole(
            "popupWidth",
            raw.popup_width,
            200,
            4000,
            DEFAULT_POPUP_WIDTH,
        )?,
        popup_height: whole(
            "popupHeight",
            raw.popup_height,
            200,
            4000,
            DEFAULT_POPUP_HEIGHT,
        )?,
        label: text("label", raw.label, false)?.unwrap_or_else(|| default_label.to_owned()),
    })
}
