//! Sending a request to ZivaCare and reading its answer: one attempt for the
//! one-time calls, bounded retries for reads, and every failure as an
//! [`Error`] that names no URL and quotes no secret.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::RequestBuilder;
use serde_json::Value;

use crate::error::{from_reqwest, Error};
use crate::secret::scrub;

/// Which call an answer is for: it decides what a refusal means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    /// `POST /oauth/v2/get-access-token`: a 4xx is a refused specialToken.
    Exchange,
    /// `POST /api/v2/app/create-user`.
    CreateUser,
    /// The data API: a 401 or 403 is a refused access token.
    Data,
}

/// An answer of ZivaCare: its status and body.
pub(crate) struct Answer {
    pub body: bytes::Bytes,
}

impl Answer {
    pub fn json(&self) -> Result<Value, Error> {
        serde_json::from_slice(&self.body).map_err(|_| Error::InvalidResponse {
            problem: "not JSON",
        })
    }
}

/// The longest message of ZivaCare's an error keeps.
const MAX_MESSAGE: usize = 500;

/// How long a `Retry-After` a read waits for before giving up at once.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// A text field of ZivaCare's `{code, message}`, whether written as a string
/// or a number.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An answer that is not a success, as the error it means for `call`.
/// `secrets` are the values the request carried, scrubbed from ZivaCare's message.
fn refusal(call: Call, status: u16, headers: &HeaderMap, body: &[u8], secrets: &[&str]) -> Error {
    if status == 429 {
        return Error::RateLimited {
            retry_after: retry_after(headers),
        };
    }
    if !(400..500).contains(&status) {
        return Error::Upstream { status };
    }
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = text_of(&parsed["code"]).unwrap_or_else(|| status.to_string());
    let message: String = text_of(&parsed["message"])
        .map(|m| scrub(&m, secrets))
        .unwrap_or_default()
        .chars()
        .take(MAX_MESSAGE)
        .collect();
    let code = scrub(&code, secrets);
    match code.as_str() {
        "0001" => Error::DuplicateUser { message },
        "0004" => Error::MissingClientId { message },
        "0005" => Error::MissingClientUserId { message },
        "0007" => Error::MissingClientSecret { message },
        "0011" => Error::UnknownApplication { message },
        _ => match call {
            Call::Exchange => Error::TokenRejected { code, message },
            Call::Data if status == 401 || status == 403 => {
                Error::AccessTokenRejected { code, message }
            }
            _ => Error::Api {
                status,
                code,
                message,
            },
        },
    }
}

/// Sends `request` once: a 2xx answer, or the error it means.
pub(crate) async fn send_once(
    request: RequestBuilder,
    call: Call,
    secrets: &[&str],
) -> Result<Answer, Error> {
    let response = request.send().await.map_err(|e| from_reqwest(&e))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(|e| from_reqwest(&e))?;
    if (200..300).contains(&status) {
        Ok(Answer { body })
    } else {
        Err(refusal(call, status, &headers, &body, secrets))
    }
}

/// The wait before retry number `retry` (0-based): 200 ms, 400 ms, 800 ms…
/// at most 3.2 s, with up to a quarter more at random so clients spread out.
fn backoff(retry: u32) -> Duration {
    let base = 200u64 << retry.min(4);
    Duration::from_millis(base + rand::random_range(0..=base / 4))
}

/// Sends a read (`build` makes the same GET each time), retrying a 5xx, a
/// 429 (after its `Retry-After`, if that is short), a timeout or a failed
/// connection at most `retries` times.
pub(crate) async fn send_read(
    build: impl Fn() -> RequestBuilder,
    retries: u32,
    secrets: &[&str],
) -> Result<Answer, Error> {
    let mut retry = 0;
    loop {
        let err = match send_once(build(), Call::Data, secrets).await {
            Ok(answer) => return Ok(answer),
            Err(e) => e,
        };
        if retry >= retries || !err.is_transient() {
            return Err(err);
        }
        let wait = match &err {
            Error::RateLimited {
                retry_after: Some(wait),
            } if *wait > MAX_RETRY_AFTER => return Err(err),
            Error::RateLimited {
                retry_after: Some(wait),
            } => *wait,
            _ => backoff(retry),
        };
        tokio::time::sleep(wait).await;
        retry += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_mean_what_the_call_makes_them_mean() {
        let h = HeaderMap::new();
        let body = br#"{"code": "used_token", "message": "tok_SENTINEL_x was used"}"#;
        let e = refusal(Call::Exchange, 400, &h, body, &["tok_SENTINEL_x"]);
        assert!(matches!(&e, Error::TokenRejected { code, .. } if code == "used_token"));
        assert!(!e.to_string().contains("SENTINEL"), "{e}");
        let e = refusal(
            Call::Data,
            401,
            &h,
            br#"{"code": "invalid_access_token"}"#,
            &[],
        );
        assert!(matches!(e, Error::AccessTokenRejected { .. }));
        let e = refusal(
            Call::Data,
            404,
            &h,
            br#"{"code": "not_found", "message": "No such record"}"#,
            &[],
        );
        assert!(matches!(e, Error::Api { status: 404, .. }));
        let e = refusal(
            Call::CreateUser,
            400,
            &h,
            br#"{"code": 1, "message": "x"}"#,
            &[],
        );
        assert!(
            matches!(e, Error::Api { ref code, .. } if code == "1"),
            "{e:?}"
        );
        let e = refusal(
            Call::Exchange,
            400,
            &h,
            br#"{"code": "0011", "message": "Not recognized"}"#,
            &[],
        );
        assert!(matches!(e, Error::UnknownApplication { .. }));
        assert!(matches!(
            refusal(Call::Exchange, 502, &h, b"", &[]),
            Error::Upstream { status: 502 }
        ));
        assert!(matches!(
            refusal(Call::Exchange, 307, &h, b"", &[]),
            Error::Upstream { status: 307 }
        ));
        let e = refusal(Call::Exchange, 400, &h, b"<html>", &[]);
        assert!(
            matches!(e, Error::TokenRejected { ref code, .. } if code == "400"),
            "{e:?}"
        );
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        assert!((200..=250).contains(&(backoff(0).as_millis() as u64)));
        assert!((400..=500).contains(&(backoff(1).as_millis() as u64)));
        assert!(backoff(30) <= Duration::from_millis(4000));
    }
}
