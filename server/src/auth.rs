//! Who the user is: a signed session cookie, read by the [`AuthUser`] extractor.
//!
//! This is the demo's sign-in (a name or an e-mail, no password). An
//! integrator replaces it with their own authentication: whatever gives an
//! `AuthUser` for a request (their session, a JWT, a proxy's header) is all the
//! token, status and data handlers rely on. They never take the user from what
//! a request says.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use base64::Engine;

use zivacare::axum::{ConnectUser, Refusal};
use zivacare::text::is_plain_text;

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The session cookie's name.
pub const COOKIE: &str = "zivacare_session";
/// How long a session lasts, in seconds: the cookie's `Max-Age`, also checked
/// against the time signed into the cookie.
pub const MAX_AGE_SECS: i64 = 8 * 3600;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Signs and reads session cookies.
#[derive(Clone)]
pub struct Sessions {
    key: Key,
    /// Whether cookies are `Secure` (the app is served over HTTPS).
    secure: bool,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sessions(<key redacted>, secure: {})", self.secure)
    }
}

impl Sessions {
    /// With a key of at least 64 bytes, base64 (`ZIVACARE_SESSION_KEY`).
    pub fn new(key_base64: &str, secure: bool) -> Result<Sessions, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key_base64.trim())
            .map_err(|_| "the session key is not base64".to_owned())?;
        let key = Key::try_from(bytes.as_slice()).map_err(|_| {
            format!(
                "the session key must be at least 64 bytes, not {}",
                bytes.len()
            )
        })?;
        Ok(Sessions { key, secure })
    }

    /// A new random key in the form `new` reads.
    pub fn generate_key() -> String {
        base64::engine::general_purpose::STANDARD.encode(Key::generate().master())
    }

    fn cookie(&self, value: String, max_age: i64) -> Cookie<'static> {
        Cookie::build((COOKIE, value))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .path("/")
            .max_age(cookie::time::Duration::seconds(max_age))
            .build()
    }

    /// `jar` with a session for `user` from now on.
    pub fn sign_in(&self, jar: SignedCookieJar, user: &str) -> SignedCookieJar {
        let value = format!("{}.{}", now_secs(), B64.encode(user));
        jar.add(self.cookie(value, MAX_AGE_SECS))
    }

    /// `jar` without the session.
    pub fn sign_out(&self, jar: SignedCookieJar) -> SignedCookieJar {
        jar.remove(self.cookie(String::new(), 0))
    }

    /// The signed cookies of a request.
    pub fn jar(&self, headers: &HeaderMap) -> SignedCookieJar {
        SignedCookieJar::from_headers(headers, self.key.clone())
    }

    /// The user of a request's session: its signature verified, not expired.
    pub fn user(&self, headers: &HeaderMap) -> Option<String> {
        let cookie = self.jar(headers).get(COOKIE)?;
        let (issued, user) = cookie.value().split_once('.')?;
        let issued: i64 = issued.parse().ok()?;
        let age = now_secs() - issued;
        if !(0..MAX_AGE_SECS).contains(&age) {
            return None;
        }
        String::from_utf8(B64.decode(user).ok()?).ok()
    }
}

/// The signed-in user of a request; 401 `unauthenticated` without a valid session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthUser(pub String);

impl<S> FromRequestParts<S> for AuthUser
where
    Sessions: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Refusal> {
        Sessions::from_ref(state)
            .user(&parts.headers)
            .map(AuthUser)
            .ok_or_else(Refusal::unauthenticated)
    }
}

/// The token route takes the session's user as the one the page connects.
impl ConnectUser for AuthUser {
    fn client_user_id(&self) -> &str {
        &self.0
    }
}

/// A user id as the demo's sign-in takes it: a name or an e-mail.
pub fn valid_user(user: &str) -> bool {
    is_plain_text(user, 512)
}
