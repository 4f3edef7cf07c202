//! The text rules both sides of ZivaCare Connect apply, the SDK in the
//! browser and the server: the alphabet of specialTokens and states, and
//! what a user id may hold.

/// The longest token, state or user id accepted.
pub const MAX_TEXT: usize = 512;

/// The alphabet of specialTokens and states: 1 to 512 characters of
/// base64url plus `.` and `~` (the SDK's own check, `zivacare-connect`'s
/// `options::is_token_text`, is the same).
///
/// ```
/// use zivacare::text::is_token_text;
/// assert!(is_token_text("abc-DEF_123.~"));
/// assert!(!is_token_text("a b") && !is_token_text("") && !is_token_text("tok\n"));
/// ```
pub fn is_token_text(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_TEXT
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

/// A text field such as a user id: not blank, at most `max` characters, no
/// control characters.
///
/// ```
/// use zivacare::text::is_plain_text;
/// assert!(is_plain_text("ann@example.com", 512));
/// assert!(!is_plain_text("  ", 512) && !is_plain_text("a\u{0}b", 512));
/// ```
pub fn is_plain_text(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
}
