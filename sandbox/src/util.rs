//! Small pieces the sandbox's endpoints share: random tokens and hashes,
//! bodies as JSON or forms, HTML escaping, the clock.

use axum::http::{header, HeaderMap, StatusCode};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zivacare::axum::Refusal;

/// `bytes` random bytes from the thread's CSPRNG, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A code shaped like ZivaCare's (a UUID), made from `seed` (deterministic).
pub fn code_of(seed: &str) -> String {
    let h = sha256_hex(seed);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The media type of a request, lower case, without parameters.
fn media_type(headers: &HeaderMap) -> String {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Parses a body sent as JSON or as a form, as ZivaCare accepts both.
pub fn json_or_form<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, Refusal> {
    let parsed = match media_type(headers).as_str() {
        "application/json" => serde_json::from_slice(body).ok(),
        "application/x-www-form-urlencoded" => serde_urlencoded::from_bytes(body).ok(),
        _ => {
            return Err(Refusal::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send application/json or application/x-www-form-urlencoded",
            ))
        }
    };
    parsed.ok_or_else(|| Refusal::bad_request("invalid_request", "Malformed request body"))
}

/// A JSON body, as the data API takes writes.
pub fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<serde_json::Value, Refusal> {
    if media_type(headers) != "application/json" {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send application/json",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|_| Refusal::bad_request("invalid_request", "Malformed JSON body"))
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<img src=x onerror='a'>&\""),
            "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;"
        );
    }

    #[test]
    fn codes_are_shaped_like_zivacares() {
        let code = code_of("x");
        assert_eq!(code, code_of("x"));
        let parts: Vec<usize> = code.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
    }
}
