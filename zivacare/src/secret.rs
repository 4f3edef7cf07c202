//! The three secrets of a ZivaCare integration, each in a type that never
//! prints it: the application's clientSecret, a user's one-time specialToken
//! and a user's access token. `Debug` and `Display` show `<redacted>`; the
//! value is read with `expose()`, where it is sent, and nowhere else.

use subtle::ConstantTimeEq;

macro_rules! secret {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value.
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The value itself, for the one place it is sent or stored.
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// Compares with `other` in constant time (for values of equal
            /// length), whatever they hold.
            pub fn matches(&self, other: &str) -> bool {
                self.0.as_bytes().ct_eq(other.as_bytes()).into()
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("<redacted>")
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name(value.to_owned())
            }
        }
    };
}

secret! {
    /// Your application's clientSecret, from its settings at ZivaCare.
    ///
    /// ```
    /// let secret = zivacare::ClientSecret::new("sec_live_1234");
    /// assert_eq!(format!("{secret:?} {secret}"), "ClientSecret(<redacted>) <redacted>");
    /// assert_eq!(secret.expose(), "sec_live_1234");
    /// ```
    ClientSecret
}

secret! {
    /// A one-time token the Connect popup (or user creation) hands out: your
    /// server exchanges it once for the user's access token.
    ///
    /// ```
    /// let token = zivacare::SpecialToken::from("tok_abc");
    /// assert!(!format!("{token:?}").contains("abc"));
    /// ```
    SpecialToken
}

secret! {
    /// A user's access token to ZivaCare's data API. Keep it on your server,
    /// encrypted at rest; never send it to a browser.
    ///
    /// ```
    /// let token = zivacare::AccessToken::new("acc_abc");
    /// assert!(!format!("{token}").contains("abc"));
    /// ```
    AccessToken
}

/// `text` with every occurrence of the `secrets` replaced by `<redacted>`:
/// ZivaCare's own messages may quote what a request sent.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret, "<redacted>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_and_compare_whole() {
        let s = ClientSecret::new("sec_SENTINEL_debug");
        assert!(!format!("{s:?} {s} {:?}", Some(&s)).contains("SENTINEL"));
        assert!(s.matches("sec_SENTINEL_debug"));
        assert!(!s.matches("sec_SENTINEL_debuh"));
        assert!(!s.matches("sec"));
        assert!(!s.matches("sec_SENTINEL_debug2"));
    }

    #[test]
    fn scrub_removes_every_occurrence() {
        let text = "token tok_SENTINEL_1 unknown; tok_SENTINEL_1 again, sec_SENTINEL_2";
        let out = scrub(text, &["tok_SENTINEL_1", "sec_SENTINEL_2", ""]);
        assert_eq!(
            out,
            "token <redacted> unknown; <redacted> again, <redacted>"
        );
    }
}
