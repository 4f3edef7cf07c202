//! The one error type of the crate, [`ConnectError`], and its stable [`Code`]s.
//! At the JavaScript boundary it becomes a real `Error` with the same `code`.

/// Stable error codes: integrators switch on these strings, so they never change.
///
/// ```
/// use zivacare_connect::Code;
/// assert_eq!(Code::PopupBlocked.as_str(), "popup_blocked");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// An option is missing, of the wrong type or out of range; `field` names it.
    InvalidOptions,
    /// `window.open` returned null: the browser blocked the popup.
    PopupBlocked,
    /// The user (or the page, through `close()`) closed the popup before finishing.
    PopupClosed,
    /// The popup lost its `window.opener` at once, almost always because the page
    /// is served with `Cross-Origin-Opener-Policy: same-origin`.
    OpenerSevered,
    /// The Connect page reported an error; `connect_code` holds ZivaCare's code.
    ConnectError,
    /// `serverUrl` answered with a non-2xx status (`status`), after any retries.
    ServerError,
    /// `serverUrl` could not be reached, after any retries.
    NetworkError,
    /// The flow took longer than `timeoutMs`.
    Timeout,
    /// Another flow is already open on this page; its popup was focused.
    Busy,
    /// A redirect return whose state is not this tab's pending flow's (a
    /// forged or stale link): nothing was forwarded.
    StateMismatch,
    /// A redirect return with no pending flow in this tab (it started in
    /// another tab or browser, or was already used): nothing was forwarded.
    RedirectStateLost,
    /// A redirect return whose fragment is malformed: nothing was forwarded.
    InvalidReturn,
    /// The redirect flow cannot start: this browser keeps no storage for it.
    StorageUnavailable,
}

impl Code {
    /// The code as JavaScript sees it, e.g. `"popup_closed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidOptions => "invalid_options",
            Code::PopupBlocked => "popup_blocked",
            Code::PopupClosed => "popup_closed",
            Code::OpenerSevered => "opener_severed",
            Code::ConnectError => "connect_error",
            Code::ServerError => "server_error",
            Code::NetworkError => "network_error",
            Code::Timeout => "timeout",
            Code::Busy => "busy",
            Code::StateMismatch => "state_mismatch",
            Code::RedirectStateLost => "redirect_state_lost",
            Code::InvalidReturn => "invalid_return",
            Code::StorageUnavailable => "storage_unavailable",
        }
    }
}

/// A code is written as its stable string, as in JavaScript.
impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How a flow failed: a stable [`Code`], a message for people, and the details
/// its code carries.
///
/// ```
/// use zivacare_connect::{Code, ConnectError};
///
/// fn explain(err: &ConnectError) -> String {
///     match err.code() {
///         Code::PopupBlocked => "Allow pop-ups for this site, then try again.".into(),
///         Code::ServerError => format!("Our server answered {:?}.", err.status()),
///         _ => err.to_string(),
///     }
/// }
/// # let _ = explain;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectError {
    code: Code,
    message: String,
    field: Option<String>,
    connect_code: Option<String>,
    status: Option<u16>,
}

impl ConnectError {
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Self {
        ConnectError {
            code,
            message: message.into(),
            field: None,
            connect_code: None,
            status: None,
        }
    }

    /// An `invalid_options` error naming `field`.
    pub(crate) fn option(field: &str, problem: &str) -> Self {
        let mut e = ConnectError::new(
            Code::InvalidOptions,
            crate::text::cat(&[field, " ", problem]),
        );
        e.field = Some(field.to_owned());
        e
    }

    /// A `connect_error` with ZivaCare's `code`.
    pub(crate) fn connect(code: String, message: String) -> Self {
        let mut e = ConnectError::new(Code::ConnectError, message);
        e.connect_code = Some(code);
        e
    }

    /// A `server_error` for an answer with `status`.
    pub(crate) fn server(status: u16) -> Self {
        let mut e = ConnectError::new(
            Code::ServerError,
            "The server did not accept the connection",
        );
        e.status = Some(status);
        e
    }

    /// The stable code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// What happened, in English, for people (never a token).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// For [`Code::InvalidOptions`]: the option at fault, named as in
    /// JavaScript (`"clientUserId"`, `"timeoutMs"`, …).
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// For [`Code::ConnectError`]: ZivaCare's own code, such as `"0011"`.
    pub fn connect_code(&self) -> Option<&str> {
        self.connect_code.as_deref()
    }

    /// For [`Code::ServerError`]: the HTTP status of the server's last answer.
    pub fn status(&self) -> Option<u16> {
        self.status
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code.as_str())
    }
}

impl std::error::Error for ConnectError {}
