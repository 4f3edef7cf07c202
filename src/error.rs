//! The one error type of the crate. At the JS boundary it becomes a real `Error`
//! with a stable `code` (see `js::to_js_error`).

/// Stable error codes: integrators switch on these strings, so they never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// An option is missing, of the wrong type or out of range; `field` names it.
    InvalidOptions,
    /// `window.open` returned null: the browser blocked the popup.
    PopupBlocked,
    /// The user (or the page, through `handle.close()`) closed the popup before finishing.
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
}

impl Code {
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
        }
    }
}

/// A code is written as its stable string, as in JavaScript.
#[cfg(target_arch = "wasm32")]
impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An error of the SDK, with the details that its code carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub message: String,
    /// For `invalid_options`: the offending option.
    pub field: Option<String>,
    /// For `connect_error`: ZivaCare's code, e.g. "0011".
    pub connect_code: Option<String>,
    /// For `server_error`: the HTTP status.
    pub status: Option<u16>,
}

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            field: None,
            connect_code: None,
            status: None,
        }
    }

    /// An `invalid_options` error naming `field`.
    pub fn option(field: &str, problem: &str) -> Self {
        let mut e = Error::new(Code::InvalidOptions, [field, " ", problem].concat());
        e.field = Some(field.to_owned());
        e
    }
}
