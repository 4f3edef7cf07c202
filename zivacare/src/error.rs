//! The one error type of the crate. ZivaCare's documented codes are variants
//! of their own; every error has a stable [`Error::code`] (the same strings
//! the Node handler uses), and none carries a secret or a token: the HTTP
//! client's errors (whose text holds the request URL, and with it the
//! `access_token` of a data request) are reduced to what failed, and
//! ZivaCare's messages are scrubbed of what the request sent.

use std::fmt;
use std::time::Duration;

/// How a call to ZivaCare failed.
///
/// ```
/// use zivacare::Error;
///
/// fn explain(err: &Error) -> &'static str {
///     match err {
///         Error::TokenRejected { .. } => "The connection expired: connect again.",
///         Error::AccessTokenRejected { .. } => "ZivaCare no longer accepts this connection.",
///         Error::UnknownApplication { .. } => "Check ZIVACARE_CLIENT_ID and ZIVACARE_CLIENT_SECRET.",
///         e if e.code() == "upstream_timeout" => "ZivaCare is slow; try again.",
///         _ => "ZivaCare could not answer.",
///     }
/// }
/// assert_eq!(explain(&Error::Timeout), "ZivaCare is slow; try again.");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// `0001`: the clientUserId already has a user in this application.
    DuplicateUser {
        /// ZivaCare's message.
        message: String,
    },
    /// `0004`: no clientId was sent.
    MissingClientId {
        /// ZivaCare's message.
        message: String,
    },
    /// `0005`: no clientUserId was sent.
    MissingClientUserId {
        /// ZivaCare's message.
        message: String,
    },
    /// `0007`: no clientSecret was sent.
    MissingClientSecret {
        /// ZivaCare's message.
        message: String,
    },
    /// `0011`: ZivaCare does not recognise the application: the clientId or
    /// the clientSecret is wrong.
    UnknownApplication {
        /// ZivaCare's message.
        message: String,
    },
    /// Another refusal in ZivaCare's `{code, message}` shape.
    Api {
        /// The HTTP status.
        status: u16,
        /// ZivaCare's code.
        code: String,
        /// ZivaCare's message.
        message: String,
    },
    /// ZivaCare refused the specialToken (unknown, expired or already used):
    /// the user connects again.
    TokenRejected {
        /// ZivaCare's code, e.g. `used_token`.
        code: String,
        /// ZivaCare's message.
        message: String,
    },
    /// ZivaCare no longer accepts the user's access token: the user must
    /// connect again.
    AccessTokenRejected {
        /// ZivaCare's code.
        code: String,
        /// ZivaCare's message.
        message: String,
    },
    /// ZivaCare asks for fewer requests (HTTP 429).
    RateLimited {
        /// How long it asks to wait, when it says.
        retry_after: Option<Duration>,
    },
    /// ZivaCare answered with this status: a failure of its own (5xx), or a
    /// redirect, which is never followed.
    Upstream {
        /// The HTTP status.
        status: u16,
    },
    /// ZivaCare's answer was not what it documents (not JSON, a field missing).
    InvalidResponse {
        /// What was wrong.
        problem: &'static str,
    },
    /// ZivaCare did not answer within the client's timeout.
    Timeout,
    /// The request could not be made, or its connection failed.
    Transport {
        /// What failed: `"connect"`, `"request"`, `"body"`.
        stage: &'static str,
        /// The operating system's reason, when there is one.
        reason: Option<std::io::ErrorKind>,
    },
    /// What the application asked for cannot be sent (a record to update
    /// without its code, a limit of 0).
    InvalidInput {
        /// What is wrong.
        message: String,
    },
    /// The client is not configured: a missing environment variable, a URL
    /// that is not one.
    Config {
        /// What is wrong, naming the variable or setting.
        message: String,
    },
}

impl Error {
    /// A stable code, the same as the Node handler's: `token_rejected`,
    /// `access_token_rejected`, `upstream_misconfigured` (the clientId or
    /// clientSecret), `duplicate_user`, `invalid_request`, `api_error`,
    /// `rate_limited`, `upstream_error`, `upstream_timeout`,
    /// `invalid_config`.
    ///
    /// ```
    /// assert_eq!(zivacare::Error::Timeout.code(), "upstream_timeout");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Error::DuplicateUser { .. } => "duplicate_user",
            Error::MissingClientId { .. }
            | Error::MissingClientSecret { .. }
            | Error::UnknownApplication { .. } => "upstream_misconfigured",
            Error::MissingClientUserId { .. } | Error::InvalidInput { .. } => "invalid_request",
            Error::Api { .. } => "api_error",
            Error::TokenRejected { .. } => "token_rejected",
            Error::AccessTokenRejected { .. } => "access_token_rejected",
            Error::RateLimited { .. } => "rate_limited",
            Error::Upstream { .. } | Error::InvalidResponse { .. } | Error::Transport { .. } => {
                "upstream_error"
            }
            Error::Timeout => "upstream_timeout",
            Error::Config { .. } => "invalid_config",
        }
    }

    /// ZivaCare's own code, when it gave one (`"0011"`, `"used_token"`, …).
    ///
    /// ```
    /// let e = zivacare::Error::UnknownApplication { message: "Check both clientId and clientSecret".into() };
    /// assert_eq!(e.zivacare_code(), Some("0011"));
    /// ```
    pub fn zivacare_code(&self) -> Option<&str> {
        match self {
            Error::DuplicateUser { .. } => Some("0001"),
            Error::MissingClientId { .. } => Some("0004"),
            Error::MissingClientUserId { .. } => Some("0005"),
            Error::MissingClientSecret { .. } => Some("0007"),
            Error::UnknownApplication { .. } => Some("0011"),
            Error::Api { code, .. }
            | Error::TokenRejected { code, .. }
            | Error::AccessTokenRejected { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status ZivaCare answered with, when it answered.
    ///
    /// ```
    /// assert_eq!(zivacare::Error::Upstream { status: 503 }.status(), Some(503));
    /// assert_eq!(zivacare::Error::Timeout.status(), None);
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Upstream { status } => Some(*status),
            Error::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// Whether the same request may succeed later: an outage, a timeout, a
    /// rate limit. (A one-time call is still never repeated by the client.)
    ///
    /// ```
    /// assert!(zivacare::Error::Timeout.is_transient());
    /// assert!(!zivacare::Error::TokenRejected { code: "used_token".into(), message: String::new() }.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Upstream { status } => *status >= 500,
            Error::RateLimited { .. } | Error::Timeout | Error::Transport { .. } => true,
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::DuplicateUser { message }
            | Error::MissingClientId { message }
            | Error::MissingClientUserId { message }
            | Error::MissingClientSecret { message }
            | Error::UnknownApplication { message } => write!(
                f,
                "ZivaCare refused the request ({}): {message}",
                self.zivacare_code().unwrap_or_default()
            ),
            Error::Api {
                status,
                code,
                message,
            } => write!(f, "ZivaCare answered {status} ({code}): {message}"),
            Error::TokenRejected { code, message } => {
                write!(f, "ZivaCare refused the specialToken ({code}): {message}")
            }
            Error::AccessTokenRejected { code, message } => write!(
                f,
                "ZivaCare no longer accepts the access token ({code}): {message}"
            ),
            Error::RateLimited {
                retry_after: Some(wait),
            } => write!(
                f,
                "ZivaCare asks for fewer requests: retry after {} s",
                wait.as_secs()
            ),
            Error::RateLimited { retry_after: None } => {
                f.write_str("ZivaCare asks for fewer requests")
            }
            Error::Upstream { status } if (300..400).contains(status) => write!(
                f,
                "ZivaCare answered with a redirect ({status}), which is not followed"
            ),
            Error::Upstream { status } => write!(f, "ZivaCare answered {status}"),
            Error::InvalidResponse { problem } => {
                write!(f, "ZivaCare's answer is not as documented: {problem}")
            }
            Error::Timeout => f.write_str("ZivaCare did not answer in time"),
            Error::Transport {
                stage,
                reason: Some(reason),
            } => write!(f, "ZivaCare could not be reached ({stage}: {reason})"),
            Error::Transport {
                stage,
                reason: None,
            } => write!(f, "ZivaCare could not be reached ({stage})"),
            Error::InvalidInput { message } => write!(f, "invalid request: {message}"),
            Error::Config { message } => write!(f, "ZivaCare client configuration: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// The error of a call that failed inside the HTTP client, reduced to what
/// failed: its own text, and its `Debug`, name the URL.
pub(crate) fn from_reqwest(e: &reqwest::Error) -> Error {
    if e.is_timeout() {
        return Error::Timeout;
    }
    // The operating system's reason, from the first I/O error in the chain.
    let mut reason = None;
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return Error::Timeout;
            }
            reason = Some(io.kind());
            break;
        }
        cause = c.source();
    }
    let stage = if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "request"
    };
    Error::Transport { stage, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_zivacares_own_codes_are_kept() {
        let e = Error::UnknownApplication {
            message: "Your application is not recognized!".into(),
        };
        assert_eq!(
            (e.code(), e.zivacare_code()),
            ("upstream_misconfigured", Some("0011"))
        );
        assert_eq!(
            e.to_string(),
            "ZivaCare refused the request (0011): Your application is not recognized!"
        );
        let e = Error::Upstream { status: 308 };
        assert!(e.to_string().contains("not followed"));
        assert!(!e.is_transient());
        assert!(Error::Upstream { status: 503 }.is_transient());
        assert_eq!(
            Error::RateLimited {
                retry_after: Some(Duration::from_secs(7))
            }
            .to_string(),
            "ZivaCare asks for fewer requests: retry after 7 s"
        );
    }
}
