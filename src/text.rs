//! Small pieces of text work, written to keep the module small: core's
//! generic versions (`concat`, `chars().count()`) cost hundreds of bytes each
//! in the `.wasm` for what a loop over bytes does.

/// `parts` one after the other.
pub fn cat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.push_str(p);
    }
    out
}

/// The number of characters of `s`: its bytes that begin one (UTF-8
/// continuation bytes are `0b10xx_xxxx`).
pub fn count_chars(s: &str) -> usize {
    s.bytes().filter(|b| (*b as i8) >= -0x40).count()
}

/// `s` cut to its first `max` characters.
pub fn truncate_chars(s: &str, max: usize) -> &str {
    let mut seen = 0;
    for (i, b) in s.bytes().enumerate() {
        if (b as i8) >= -0x40 {
            if seen == max {
                return s.get(..i).unwrap_or(s);
            }
            seen += 1;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_are_counted_and_cut_whole() {
        assert_eq!(cat(&["a", "", "bc"]), "abc");
        for s in ["", "abc", "é✓😀", "a\u{0301}"] {
            assert_eq!(count_chars(s), s.chars().count(), "{s}");
        }
        assert_eq!(truncate_chars("é✓😀x", 2), "é✓");
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abc", 0), "");
    }
}
