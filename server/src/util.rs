//! Small pieces both services share: secrets, tokens, hashes, time, errors.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use zivacare_connect::options::is_token_text;

/// A secret whose `Debug` never shows it, so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the first difference is.
    pub fn matches(&self, other: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), other.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Keys that encrypt tokens at rest (XChaCha20-Poly1305), each with an id stored
/// beside every sealed value so keys can rotate: the first key seals, all open.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<(String, chacha20poly1305::Key)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        write!(f, "Keyring({ids:?}, <redacted>)")
    }
}

impl Keyring {
    /// Parses `id:base64key[,id:base64key…]`; each key is 32 bytes.
    pub fn parse(spec: &str) -> Result<Keyring, String> {
        let mut keys = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (id, key) = part
                .split_once(':')
                .ok_or("each key is written id:base64")?;
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err("a key id is letters, digits, - and _".into());
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(key)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(key))
                .map_err(|_| format!("key {id} is not base64"))?;
            if bytes.len() != 32 {
                return Err(format!("key {id} must be 32 bytes, not {}", bytes.len()));
            }
            keys.push((id.to_owned(), *chacha20poly1305::Key::from_slice(&bytes)));
        }
        if keys.is_empty() {
            return Err("no key given".into());
        }
        Ok(Keyring { keys })
    }

    /// A new random key in the form `parse` reads.
    pub fn generate(id: &str) -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        format!(
            "{id}:{}",
            base64::engine::general_purpose::STANDARD.encode(key)
        )
    }

    /// Encrypts `plaintext` with the current key: (key id, base64 of nonce and ciphertext).
    pub fn seal(&self, plaintext: &str) -> Option<(String, String)> {
        use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
        let (id, key) = &self.keys[0];
        let cipher = chacha20poly1305::XChaCha20Poly1305::new(key);
        let nonce = chacha20poly1305::XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        out.extend(cipher.encrypt(&nonce, plaintext.as_bytes()).ok()?);
        Some((
            id.clone(),
            base64::engine::general_purpose::STANDARD.encode(out),
        ))
    }

    /// Decrypts what `seal` gave with the key of that id; `None` if unknown or altered.
    pub fn open(&self, key_id: &str, sealed: &str) -> Option<String> {
        use chacha20poly1305::aead::{Aead, KeyInit};
        let (_, key) = self.keys.iter().find(|(id, _)| id == key_id)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, ct) = bytes.split_at(24);
        let cipher = chacha20poly1305::XChaCha20Poly1305::new(key);
        let plain = cipher
            .decrypt(chacha20poly1305::XNonce::from_slice(nonce), ct)
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

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

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (proleptic Gregorian).
pub fn iso8601(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A text field: non-empty, at most `max` characters, no control characters.
pub fn is_plain_text(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
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

/// The one error type of both services: a status, a stable code and a public
/// message. Internal details go to the log (never secrets or tokens), not here.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code, "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        crate::store::StoreError::from(e).into()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        eprintln!("database error: {e}");
        ApiError::internal()
    }
}

/// The media type of a request, lower case, without parameters.
pub fn media_type(headers: &axum::http::HeaderMap) -> String {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A JSON body of exactly type `T`: anything but `application/json` is a 415,
/// a body that does not parse into `T` a 400.
pub fn json_body<T: serde::de::DeserializeOwned>(
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<T, ApiError> {
    if media_type(headers) != "application/json" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send application/json",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_request("invalid_request", "Malformed request body"))
}

/// Opens (creating if needed) a SQLite database with the settings both services use.
pub fn open_db(path: &std::path::Path, schema: &str) -> rusqlite::Result<rusqlite::Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    let db = rusqlite::Connection::open(path)?;
    db.busy_timeout(std::time::Duration::from_secs(5))?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.pragma_update(None, "synchronous", "FULL")?;
    db.execute_batch(schema)?;
    Ok(db)
}

/// A fixed-window rate limit per client address: at most `limit` requests a
/// window; beyond it, 429 with `Retry-After`. Requests without a known address
/// (in-process tests) share one bucket.
pub struct RateLimit {
    limit: u32,
    window: std::time::Duration,
    buckets: std::sync::Mutex<
        std::collections::HashMap<Option<std::net::IpAddr>, (std::time::Instant, u32)>,
    >,
}

impl RateLimit {
    pub fn per_minute(limit: u32) -> std::sync::Arc<RateLimit> {
        std::sync::Arc::new(RateLimit {
            limit,
            window: std::time::Duration::from_secs(60),
            buckets: std::sync::Mutex::default(),
        })
    }

    /// Counts one request; `Err(seconds to wait)` when over the limit.
    fn hit(&self, who: Option<std::net::IpAddr>) -> Result<(), u64> {
        let now = std::time::Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            buckets.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let (start, count) = buckets.entry(who).or_insert((now, 0));
        if now.duration_since(*start) >= self.window {
            *start = now;
            *count = 0;
        }
        *count += 1;
        if *count > self.limit {
            let left = self.window.saturating_sub(now.duration_since(*start));
            return Err(left.as_secs().max(1));
        }
        Ok(())
    }
}

/// Axum middleware applying a [`RateLimit`].
pub async fn rate_limited(
    axum::extract::State(limit): axum::extract::State<std::sync::Arc<RateLimit>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let who = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    match limit.hit(who) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let mut resp = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests; try again later",
            )
            .into_response();
            if let Ok(v) = axum::http::HeaderValue::from_str(&wait.to_string()) {
                resp.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
            resp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_known_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_795_000_000), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("sec_SENTINEL_debug");
        assert!(!format!("{s:?}").contains("SENTINEL"));
        assert!(s.matches("sec_SENTINEL_debug"));
        assert!(!s.matches("sec_SENTINEL_debuh"));
        assert!(!s.matches("sec"));
    }

    #[test]
    fn keyring_seals_opens_and_rotates() {
        let old = Keyring::generate("k1");
        let ring = Keyring::parse(&old).unwrap();
        let (id, sealed) = ring.seal("tok_SENTINEL_access").unwrap();
        assert_eq!(id, "k1");
        assert!(!sealed.contains("SENTINEL"));
        assert_ne!(
            ring.seal("tok_SENTINEL_access").unwrap().1,
            sealed,
            "a fresh nonce each time"
        );
        let rotated = Keyring::parse(&format!("{},{old}", Keyring::generate("k2"))).unwrap();
        assert_eq!(
            rotated.open("k1", &sealed).as_deref(),
            Some("tok_SENTINEL_access")
        );
        assert_eq!(rotated.seal("x").unwrap().0, "k2");
        let mut tampered = base64::engine::general_purpose::STANDARD
            .decode(&sealed)
            .unwrap();
        *tampered.last_mut().unwrap() ^= 1;
        let tampered = base64::engine::general_purpose::STANDARD.encode(tampered);
        assert_eq!(rotated.open("k1", &tampered), None);
        assert_eq!(rotated.open("k9", &sealed), None);
        assert!(!format!("{rotated:?}").contains(&old[3..]));
        for bad in ["", "k1", "k1:short", "bad id:AAAA", "k1:!!!"] {
            assert!(Keyring::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<img src=x onerror='a'>&\""),
            "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;"
        );
    }
}
