//! Options: what a flow is given, and their pure validation, independent of the
//! browser.
//!
//! Rust callers build [`ConnectOptions`]; the JavaScript side (`js.rs`) reads a
//! page's options object into the same type. Either way they become
//! [`RawOptions`] (URLs parsed by the browser's own URL parser, [`ParsedUrl`], so
//! the origin compared with `event.origin` is serialised exactly as the browser
//! serialises it), which [`validate`] checks, applying the defaults.

use std::rc::Rc;

use crate::error::ConnectError;
use crate::event::{Event, OnEvent};
use crate::text::count_chars;

/// The Connect page used when `connectUrl` is not given: on ZivaCare's
/// documented developer host, which served the original `connect.js` and serves
/// the token exchange. ZivaCare does not publish the page's exact path: set
/// `connectUrl` to the one ZivaCare gives you.
///
/// ```
/// assert!(zivacare_connect::DEFAULT_CONNECT_URL.starts_with("https://developer.zivacare.com/"));
/// ```
pub const DEFAULT_CONNECT_URL: &str = "https://developer.zivacare.com/connect";
/// Ten minutes: the lifetime of a specialToken at ZivaCare.
pub const DEFAULT_TIMEOUT_MS: u32 = 600_000;
/// The longest a flow may be given: a day.
pub const MAX_TIMEOUT_MS: u32 = 86_400_000;
/// The popup's width when not given.
pub const DEFAULT_POPUP_WIDTH: u32 = 500;
/// The popup's height when not given.
pub const DEFAULT_POPUP_HEIGHT: u32 = 720;

/// The origin of [`DEFAULT_CONNECT_URL`]: everything before its path.
fn default_connect_origin() -> &'static str {
    let url = DEFAULT_CONNECT_URL.as_bytes();
    let path = (8..url.len())
        .find(|&i| url[i] == b'/')
        .unwrap_or(url.len());
    DEFAULT_CONNECT_URL
        .get(..path)
        .unwrap_or(DEFAULT_CONNECT_URL)
}

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
    "returnUrl",
    "uxMode",
];

/// The keys only callback-style calls take.
pub const CALLBACK_KEYS: &[&str] = &["finish", "close"];

/// Reports the first key that is not an option, or a callback given to `connect()`.
pub fn check_keys<S: AsRef<str>>(keys: &[S], callbacks_allowed: bool) -> Result<(), ConnectError> {
    for key in keys {
        let key = key.as_ref();
        if !KNOWN_KEYS.contains(&key) {
            return Err(ConnectError::option(key, "is not an option of ZivaConnect"));
        }
        if !callbacks_allowed && CALLBACK_KEYS.contains(&key) {
            return Err(ConnectError::option(
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
    /// The whole URL, normalised.
    pub href: String,
    /// `scheme://host[:port]`, or `"null"` for an opaque origin.
    pub origin: String,
    /// With the colon, as `URL.protocol` gives it: `"https:"`.
    pub protocol: String,
    /// The host without port.
    pub hostname: String,
    /// Whether it carries a user name or password.
    pub has_credentials: bool,
    /// Whether it has a `#fragment`.
    pub has_hash: bool,
}

/// The fetch credentials mode of the POST to `serverUrl`.
///
/// ```
/// use zivacare_connect::Credentials;
/// assert_eq!(Credentials::default(), Credentials::SameOrigin);
/// assert_eq!(Credentials::Include.as_str(), "include");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Credentials {
    /// Send no cookies.
    Omit,
    /// Send cookies to the page's own origin only (the default).
    #[default]
    SameOrigin,
    /// Send cookies to `serverUrl` on another origin too (it must allow it with CORS).
    Include,
}

impl Credentials {
    /// The mode as fetch names it: `"omit"`, `"same-origin"`, `"include"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Credentials::Omit => "omit",
            Credentials::SameOrigin => "same-origin",
            Credentials::Include => "include",
        }
    }
}

/// How a flow takes the user to the Connect page.
///
/// ```
/// use zivacare_connect::UxMode;
/// assert_eq!(UxMode::default(), UxMode::Popup);
/// assert_eq!(UxMode::Auto.as_str(), "auto");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UxMode {
    /// A popup window (the default), as connect.js opens it.
    #[default]
    Popup,
    /// This tab goes to the Connect page and comes back to `returnUrl`.
    Redirect,
    /// The popup; the redirect where a window cannot be opened, or in a
    /// known in-app browser or a home-screen app.
    Auto,
}

impl UxMode {
    /// The mode as the `uxMode` option names it: `"popup"`, `"redirect"`, `"auto"`.
    pub fn as_str(self) -> &'static str {
        match self {
            UxMode::Popup => "popup",
            UxMode::Redirect => "redirect",
            UxMode::Auto => "auto",
        }
    }
}

/// The options of a Connect flow as Rust callers give them: made with the two
/// it needs, then each other one the page wants. They are checked when the
/// flow starts (or the button is made), with the same rules and the same
/// errors, naming the same `field`s, as the JavaScript options.
///
/// ```
/// use zivacare_connect::{ConnectOptions, Credentials};
///
/// let options = ConnectOptions::new("your-client-id", "ann@example.com")
///     .server_url("/api/zivacare/token")
///     .server_header("X-CSRF-Token", "token-from-your-page")
///     .credentials(Credentials::Include)
///     .timeout_ms(300_000)
///     .popup_size(480, 700)
///     .locale("fr")
///     .on_event(|event| println!("{}", event.name()));
/// assert_eq!(options.client_user_id(), Some("ann@example.com"));
/// ```
#[derive(Clone, Default)]
pub struct ConnectOptions {
    pub(crate) client_id: Option<String>,
    pub(crate) client_user_id: Option<String>,
    pub(crate) connect_url: Option<String>,
    pub(crate) server_url: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) server_headers: Vec<(String, String)>,
    /// As written (a page's text is checked with the rest, in `validate`).
    pub(crate) credentials: Option<String>,
    pub(crate) timeout_ms: Option<u32>,
    pub(crate) popup_width: Option<u32>,
    pub(crate) popup_height: Option<u32>,
    pub(crate) label: Option<String>,
    pub(crate) locale: Option<String>,
    pub(crate) return_url: Option<String>,
    /// As written (a page's text is checked with the rest, in `validate`).
    pub(crate) ux_mode: Option<String>,
    pub(crate) on_event: Option<OnEvent>,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("client_id", &self.client_id)
            .field("client_user_id", &self.client_user_id)
            .field("connect_url", &self.connect_url)
            .field("server_url", &self.server_url)
            .field("credentials", &self.credentials)
            .field("timeout_ms", &self.timeout_ms)
            .field("return_url", &self.return_url)
            .field("ux_mode", &self.ux_mode)
            .finish_non_exhaustive()
    }
}

impl ConnectOptions {
    /// Options for your application (`client_id`) and your user
    /// (`client_user_id`: an e-mail or any id in your system).
    pub fn new(client_id: impl Into<String>, client_user_id: impl Into<String>) -> Self {
        ConnectOptions {
            client_id: Some(client_id.into()),
            client_user_id: Some(client_user_id.into()),
            ..ConnectOptions::default()
        }
    }

    /// The user this flow connects.
    pub fn client_user_id(&self) -> Option<&str> {
        self.client_user_id.as_deref()
    }

    /// The Connect page (default [`DEFAULT_CONNECT_URL`]); `https:`, or `http:`
    /// on a loopback host for a local sandbox.
    pub fn connect_url(mut self, url: impl Into<String>) -> Self {
        self.connect_url = Some(url.into());
        self
    }

    /// Where to POST the specialToken (relative to the page). Without it the
    /// response carries the token and the page posts it itself.
    pub fn server_url(mut self, url: impl Into<String>) -> Self {
        self.server_url = Some(url.into());
        self
    }

    /// A per-flow nonce (`A-Z a-z 0-9 - _ . ~`), e.g. from your server;
    /// default 128 random bits.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// One more request header of the POST to `server_url`.
    pub fn server_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.server_headers.push((name.into(), value.into()));
        self
    }

    /// The fetch credentials mode of the POST (default same-origin).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials.as_str().to_owned());
        self
    }

    /// How long the whole flow may take, forward included (default 10 minutes).
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.timeout_ms = Some(ms);
        self
    }

    /// The popup's size (default 500 × 720).
    pub fn popup_size(mut self, width: u32, height: u32) -> Self {
        self.popup_width = Some(width);
        self.popup_height = Some(height);
        self
    }

    /// The button's text (default "Connect Health Data", or its translation).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The language of the button's label: `en`, `es`, `fr`, `de` (tags such
    /// as `fr-CA` work; other languages get English).
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }

    /// The page the Connect page returns to when it cannot post to a popup's
    /// opener (and in [`UxMode::Redirect`]): an absolute URL of this page's
    /// own origin, without a fragment, registered for your clientId at
    /// ZivaCare by exact string (as the browser writes it). Pages that set it
    /// call `handle_redirect` on load (a
    /// [`Button`](crate::Button) does so itself).
    pub fn return_url(mut self, url: impl Into<String>) -> Self {
        self.return_url = Some(url.into());
        self
    }

    /// How the flow takes the user to the Connect page (default
    /// [`UxMode::Popup`]); `Redirect` and `Auto` need [`return_url`](Self::return_url).
    pub fn ux_mode(mut self, mode: UxMode) -> Self {
        self.ux_mode = Some(mode.as_str().to_owned());
        self
    }

    /// Told of every [`Event`] of the flow (never a token).
    pub fn on_event(mut self, f: impl Fn(&Event) + 'static) -> Self {
        self.on_event = Some(Rc::new(f));
        self
    }

    /// The options as [`validate`] takes them, with URLs parsed by `parse`
    /// (`serverUrl` relative to `page`), and the event handler.
    pub(crate) fn into_raw(
        self,
        parse: impl Fn(&str, Option<&str>) -> Result<ParsedUrl, String>,
        page: Option<&str>,
        has_finish: bool,
    ) -> (RawOptions, Option<OnEvent>) {
        let page_origin = page.and_then(|p| parse(p, None).ok()).map(|u| u.origin);
        let number = |n: Option<u32>| n.map(f64::from);
        let raw = RawOptions {
            client_id: self.client_id,
            client_user_id: self.client_user_id,
            connect_url: self.connect_url.map(|u| parse(&u, None)),
            server_url: self.server_url.map(|u| parse(&u, page)),
            state: self.state,
            server_headers: self.server_headers,
            credentials: self.credentials,
            timeout_ms: number(self.timeout_ms),
            popup_width: number(self.popup_width),
            popup_height: number(self.popup_height),
            label: self.label,
            locale: self.locale,
            return_url: self.return_url.map(|u| parse(&u, None)),
            ux_mode: self.ux_mode,
            page_origin,
            has_finish,
        };
        (raw, self.on_event)
    }
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
    /// `None` when absent; `Some(Err(text))` when the browser could not parse it.
    pub return_url: Option<Result<ParsedUrl, String>>,
    pub ux_mode: Option<String>,
    /// The origin of the page the flow runs on, if known.
    pub page_origin: Option<String>,
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
    /// Where the Connect page returns to (absolute, of the page's origin).
    pub return_url: Option<String>,
    pub ux_mode: UxMode,
}

/// An option at fault and what is wrong with it, as the checks find it: the
/// error is made once, at `validate`'s one exit (at every check, its making
/// would be copied into the module as many times).
#[derive(Clone, Copy, Debug)]
struct Bad(&'static str, &'static str);

/// Checks a text option: present if `required`, not blank, at most
/// [`MAX_TEXT`] characters, without control characters.
fn check_text(field: &'static str, value: Option<&str>, required: bool) -> Result<(), Bad> {
    let problem = match value {
        None if required => "is required",
        None => return Ok(()),
        Some(v) if v.chars().all(char::is_whitespace) => "must not be empty",
        Some(v) if count_chars(v) > MAX_TEXT => "is longer than 512 characters",
        Some(v) if v.chars().any(char::is_control) => "must not contain control characters",
        Some(_) => return Ok(()),
    };
    Err(Bad(field, problem))
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

fn check_connect_url(parsed: Option<&Result<ParsedUrl, String>>) -> Result<(), Bad> {
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
    Err(Bad("connectUrl", problem))
}

/// `returnUrl`: an absolute `http(s)` URL of the page's own origin, without a
/// fragment or credentials.
fn check_return_url(
    parsed: Option<&Result<ParsedUrl, String>>,
    page_origin: Option<&str>,
) -> Result<(), Bad> {
    let problem = match parsed {
        None => return Ok(()),
        Some(Err(_)) => "is not a valid absolute URL",
        Some(Ok(u)) if u.protocol != "https:" && u.protocol != "http:" => {
            "must be an http: or https: URL"
        }
        Some(Ok(u)) if u.has_credentials => "must not contain a user name or password",
        Some(Ok(u)) if u.has_hash => "must not contain a #fragment",
        Some(Ok(u)) if page_origin.is_some_and(|o| o != u.origin) => {
            "must be on this page's own origin"
        }
        Some(Ok(_)) => return Ok(()),
    };
    Err(Bad("returnUrl", problem))
}

fn ux_mode(value: Option<&str>, has_return: bool) -> Result<UxMode, Bad> {
    let mode = match value {
        None | Some("popup") => UxMode::Popup,
        Some("redirect") => UxMode::Redirect,
        Some("auto") => UxMode::Auto,
        Some(_) => return Err(Bad("uxMode", "must be \"popup\", \"redirect\" or \"auto\"")),
    };
    if mode != UxMode::Popup && !has_return {
        return Err(Bad(
            "returnUrl",
            "is required with uxMode \"redirect\" or \"auto\"",
        ));
    }
    Ok(mode)
}

fn check_server_url(parsed: Option<&Result<ParsedUrl, String>>) -> Result<(), Bad> {
    let problem = match parsed {
        None => return Ok(()),
        Some(Err(_)) => "is not a valid URL",
        Some(Ok(u)) if u.protocol != "https:" && u.protocol != "http:" => {
            "must be an http: or https: URL"
        }
        Some(Ok(u)) if u.has_credentials => "must not contain a user name or password",
        Some(Ok(_)) => return Ok(()),
    };
    Err(Bad("serverUrl", problem))
}

/// An HTTP header name: a token of RFC 9110.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn check_headers(list: &[(String, String)]) -> Result<(), Bad> {
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
        return Err(Bad("serverHeaders", problem));
    }
    Ok(())
}

/// The problem of a number option that is not a whole number in its range.
pub const NOT_WHOLE: &str = "must be a whole number in range";

/// `v` if it is a whole number that fits a `u32` (JavaScript's numbers are
/// floats: `1.5`, `NaN` and `-1` are not).
// Inlined into its two callers: in the module, the call costs more bytes than the check.
#[inline(always)]
pub fn as_whole(v: f64) -> Option<u32> {
    (v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v)).then_some(v as u32)
}

/// A whole number of at least `min` and at most `max`, or the default.
fn whole(
    field: &'static str,
    value: Option<f64>,
    min: u32,
    max: u32,
    default: u32,
) -> Result<u32, Bad> {
    match value {
        None => Ok(default),
        Some(v) => as_whole(v)
            .filter(|n| (min..=max).contains(n))
            .ok_or(Bad(field, NOT_WHOLE)),
    }
}

/// `locale`, if given, must be a language tag (it picks the button's label).
fn check_locale(locale: Option<&str>) -> Result<(), Bad> {
    match locale {
        Some(l) if !is_locale(l) => Err(Bad(
            "locale",
            "must be a language tag such as \"es\" or \"fr-CA\"",
        )),
        _ => Ok(()),
    }
}

fn credentials(value: Option<&str>) -> Result<Credentials, Bad> {
    match value {
        None | Some("same-origin") => Ok(Credentials::SameOrigin),
        Some("omit") => Ok(Credentials::Omit),
        Some("include") => Ok(Credentials::Include),
        Some(_) => Err(Bad(
            "credentials",
            "must be \"omit\", \"same-origin\" or \"include\"",
        )),
    }
}

/// Checks every option and applies the defaults. Everything is checked by
/// reference first and moved into the [`Config`] only once all is well (one
/// exit path for errors keeps the Wasm small).
pub fn validate(raw: RawOptions, finish_required: bool) -> Result<Config, ConnectError> {
    checked(raw, finish_required)
        .map_err(|Bad(field, problem)| ConnectError::option(field, problem))
}

fn checked(raw: RawOptions, finish_required: bool) -> Result<Config, Bad> {
    check_text("clientId", raw.client_id.as_deref(), true)?;
    check_text("clientUserId", raw.client_user_id.as_deref(), true)?;
    if finish_required && !raw.has_finish {
        return Err(Bad("finish", "is required: a function(err, response)"));
    }
    check_connect_url(raw.connect_url.as_ref())?;
    check_server_url(raw.server_url.as_ref())?;
    check_return_url(raw.return_url.as_ref(), raw.page_origin.as_deref())?;
    let ux_mode = ux_mode(raw.ux_mode.as_deref(), raw.return_url.is_some())?;
    if raw.state.as_deref().is_some_and(|s| !is_token_text(s)) {
        return Err(Bad(
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
        _ => (DEFAULT_CONNECT_URL.into(), default_connect_origin().into()),
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
        return_url: raw.return_url.and_then(Result::ok).map(|u| u.href),
        ux_mode,
    })
}
