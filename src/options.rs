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
const DEFAULT_CONNECT_ORIGIN: &str = "https://connect.zivacare.com";
/// Ten minutes: the lifetime of a specialToken at ZivaCare.
pub const DEFAULT_TIMEOUT_MS: u32 = 600_000;
pub const MAX_TIMEOUT_MS: u32 = 86_400_000;
pub const DEFAULT_POPUP_WIDTH: u32 = 500;
pub const DEFAULT_POPUP_HEIGHT: u32 = 720;

/// A language tag: letters, digits and hyphens, starting with 2 or 3 letters;
/// each part after a hyphen 1 to 8 letters or digits.
fn is_locale(s: &str) -> bool {
    let mut parts = s.as_bytes().split(|b| *b == b'-');
    let first = parts.next().unwrap_or_default();
    (2..=3).contains(&first.len())
        && first.iter().all(u8::is_ascii_alphabetic)
        && parts.all(|p| (1..=8).contains(&p.len()) && p.iter().all(u8::is_ascii_alphanumeric))
}

/// The button's label in each language it speaks.
pub const LABELS: &[(&str, &str)] = &[
    ("en", "Connect Health Data"),
    ("es", "Conectar datos de salud"),
    ("fr", "Connecter mes données de santé"),
    ("de", "Gesundheitsdaten verbinden"),
];

/// The button's label for `locale` (`"fr-CA"` speaks French); English for
/// other languages and without a locale.
pub fn label_for(locale: Option<&str>) -> &'static str {
    let language = locale
        .and_then(|l| l.as_bytes().split(|b| *b == b'-').next())
        .unwrap_or_default();
    LABELS
        .iter()
        .find(|(tag, _)| tag.as_bytes().eq_ignore_ascii_case(language))
        .unwrap_or(&LABELS[0])
        .1
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
                "is for open(): connect() returns a Promise instead",
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
    /// The button's text: `label`, or the label in `locale`'s language.
    pub label: String,
}

/// Checks a text option: present if `required`, not blank, at most
/// [`MAX_TEXT`] characters, without control characters.
fn check_text(field: &str, value: Option<&str>, required: bool) -> Result<(), Error> {
    let problem = match value {
        None if required => "is required",
        None => return Ok(()),
        Some(v) if v.chars().all(char::is_whitespace) => "must not be empty",
        Some(v) if v.chars().count() > MAX_TEXT => "is longer than 512 characters",
        Some(v) if v.chars().any(char::is_control) => "must not contain control characters",
        Some(_) => return Ok(()),
    };
    Err(Error::option(field, problem))
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

fn check_connect_url(parsed: Option<&Result<ParsedUrl, String>>) -> Result<(), Error> {
    let problem = match parsed {
        None => return Ok(()),
        Some(Err(_)) => "is not a valid absolute URL",
        Some(Ok(url)) => {
            let secure =
                url.protocol == "https:" || (url.protocol == "http:" && is_loopback(&url.hostname));
            if !secure {
                "must use https: (plain http: only on localhost or 127.0.0.1)"
            } else if url.origin.is_empty() || url.origin == "null" || url.origin == "*" {
                // An opaque origin can never be matched safely: fail closed.
                "has no usable origin"
            } else if url.has_credentials {
                "must not contain a user name or password"
            } else if url.has_hash {
                "must not contain a #fragment"
            } else {
                return Ok(());
            }
        }
    };
    Err(Error::option("connectUrl", problem))
}

fn check_server_url(parsed: Option<&Result<ParsedUrl, String>>) -> Result<(), Error> {
    let problem = match parsed {
        None => return Ok(()),
        Some(Err(_)) => "is not a valid URL",
        Some(Ok(u)) if u.protocol != "https:" && u.protocol != "http:" => {
            "must be an http: or https: URL"
        }
        Some(Ok(u)) if u.has_credentials => "must not contain a user name or password",
        Some(Ok(_)) => return Ok(()),
    };
    Err(Error::option("serverUrl", problem))
}

/// An HTTP header name: a token of RFC 9110.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn check_headers(list: &[(String, String)]) -> Result<(), Error> {
    for (name, value) in list {
        let problem = if !is_header_name(name) {
            "has a header name that is not a valid token"
        } else if name.eq_ignore_ascii_case("content-type")
            || name.eq_ignore_ascii_case("x-zivacare-connect")
        {
            "must not override Content-Type or X-ZivaCare-Connect"
        } else if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            "has a header value with CR, LF or NUL"
        } else if value.chars().any(|c| u32::from(c) > 0xFF) {
            // Header values are byte strings: the browser refuses anything else.
            "has a header value with characters beyond U+00FF"
        } else {
            continue;
        };
        return Err(Error::option("serverHeaders", problem));
    }
    Ok(())
}

/// A whole number of at least `min` and at most `max`, or the default.
fn whole(field: &str, value: Option<f64>, min: u32, max: u32, default: u32) -> Result<u32, Error> {
    match value {
        None => Ok(default),
        Some(v) if v >= f64::from(min) && v <= f64::from(max) && v.fract() == 0.0 => Ok(v as u32),
        Some(_) => Err(Error::option(field, "must be a whole number in range")),
    }
}

/// `locale`, if given, must be a language tag (it picks the button's label).
fn check_locale(locale: Option<&str>) -> Result<(), Error> {
    match locale {
        Some(l) if !is_locale(l) => Err(Error::option(
            "locale",
            "must be a language tag such as \"es\" or \"fr-CA\"",
        )),
        _ => Ok(()),
    }
}

fn credentials(value: Option<&str>) -> Result<Credentials, Error> {
    match value {
        None | Some("same-origin") => Ok(Credentials::SameOrigin),
        Some("omit") => Ok(Credentials::Omit),
        Some("include") => Ok(Credentials::Include),
        Some(_) => Err(Error::option(
            "credentials",
            "must be \"omit\", \"same-origin\" or \"include\"",
        )),
    }
}

/// Checks every option and applies the defaults. Everything is checked by
/// reference first and moved into the [`Config`] only once all is well (one
/// exit path for errors keeps the Wasm small).
pub fn validate(raw: RawOptions, finish_required: bool) -> Result<Config, Error> {
    check_text("clientId", raw.client_id.as_deref(), true)?;
    check_text("clientUserId", raw.client_user_id.as_deref(), true)?;
    if finish_required && !raw.has_finish {
        return Err(Error::option(
            "finish",
            "is required: a function(err, response)",
        ));
    }
    check_connect_url(raw.connect_url.as_ref())?;
    check_server_url(raw.server_url.as_ref())?;
    if raw.state.as_deref().is_some_and(|s| !is_token_text(s)) {
        return Err(Error::option(
            "state",
            "must be 1 to 512 characters of A-Z a-z 0-9 - _ . ~",
        ));
    }
    check_locale(raw.locale.as_deref())?;
    let credentials = credentials(raw.credentials.as_deref())?;
    check_headers(&raw.server_headers)?;
    let timeout_ms = whole(
        "timeoutMs",
        raw.timeout_ms,
        1,
        MAX_TIMEOUT_MS,
        DEFAULT_TIMEOUT_MS,
    )?;
    let popup_width = whole(
        "popupWidth",
        raw.popup_width,
        200,
        4000,
        DEFAULT_POPUP_WIDTH,
    )?;
    let popup_height = whole(
        "popupHeight",
        raw.popup_height,
        200,
        4000,
        DEFAULT_POPUP_HEIGHT,
    )?;
    check_text("label", raw.label.as_deref(), false)?;
    let (connect_url, connect_origin) = match raw.connect_url {
        Some(Ok(u)) => (u.href, u.origin),
        _ => (DEFAULT_CONNECT_URL.into(), DEFAULT_CONNECT_ORIGIN.into()),
    };
    let label = match raw.label {
        Some(l) => l,
        None => label_for(raw.locale.as_deref()).to_owned(),
    };
    Ok(Config {
        client_id: raw.client_id.unwrap_or_default(),
        client_user_id: raw.client_user_id.unwrap_or_default(),
        connect_url,
        connect_origin,
        server_url: raw.server_url.and_then(Result::ok).map(|u| u.href),
        state: raw.state,
        server_headers: raw.server_headers,
        credentials,
        timeout_ms,
        popup_width,
        popup_height,
        label,
    })
}
