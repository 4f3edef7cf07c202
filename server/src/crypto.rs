//! The keys that seal access tokens at rest, and hashes.

use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Keys that encrypt tokens at rest (XChaCha20-Poly1305), each with an id stored
/// beside every sealed value so keys can rotate: the first key seals, all open.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<(String, Key)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        write!(f, "Keyring({ids:?}, <redacted>)")
    }
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

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
            let bytes = B64
                .decode(key)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(key))
                .map_err(|_| format!("key {id} is not base64"))?;
            if bytes.len() != 32 {
                return Err(format!("key {id} must be 32 bytes, not {}", bytes.len()));
            }
            keys.push((id.to_owned(), *Key::from_slice(&bytes)));
        }
        if keys.is_empty() {
            return Err("no key given".into());
        }
        Ok(Keyring { keys })
    }

    /// A new random key in the form `parse` reads.
    pub fn generate(id: &str) -> String {
        format!("{id}:{}", B64.encode(random_bytes(32)))
    }

    /// Encrypts `plaintext` with the current key, bound to `context` (the row it
    /// is stored in: opening it with another context fails), as (key id,
    /// base64 of nonce and ciphertext).
    pub fn seal(&self, plaintext: &str, context: &str) -> Option<(String, String)> {
        let (id, key) = &self.keys[0];
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: context.as_bytes(),
        };
        let mut out = nonce.to_vec();
        out.extend(XChaCha20Poly1305::new(key).encrypt(&nonce, payload).ok()?);
        Some((id.clone(), B64.encode(out)))
    }

    /// Decrypts what `seal` gave for `context` with the key of that id; `None`
    /// if the key is unknown, the value altered, or sealed for another context.
    pub fn open(&self, key_id: &str, sealed: &str, context: &str) -> Option<String> {
        let (_, key) = self.keys.iter().find(|(id, _)| id == key_id)?;
        let bytes = B64.decode(sealed).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, msg) = bytes.split_at(24);
        let payload = Payload {
            msg,
            aad: context.as_bytes(),
        };
        let plain = XChaCha20Poly1305::new(key)
            .decrypt(XNonce::from_slice(nonce), payload)
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    rand::rng().fill_bytes(&mut buf);
    buf
}

pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyring_seals_opens_and_rotates() {
        let old = Keyring::generate("k1");
        let ring = Keyring::parse(&old).unwrap();
        let (id, sealed) = ring.seal("tok_SENTINEL_access", "ann").unwrap();
        assert_eq!(id, "k1");
        assert!(!sealed.contains("SENTINEL"));
        assert_ne!(
            ring.seal("tok_SENTINEL_access", "ann").unwrap().1,
            sealed,
            "a fresh nonce each time"
        );
        let rotated = Keyring::parse(&format!("{},{old}", Keyring::generate("k2"))).unwrap();
        assert_eq!(
            rotated.open("k1", &sealed, "ann").as_deref(),
            Some("tok_SENTINEL_access")
        );
        assert_eq!(rotated.seal("x", "ann").unwrap().0, "k2");
        let mut tampered = B64.decode(&sealed).unwrap();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(rotated.open("k1", &B64.encode(tampered), "ann"), None);
        assert_eq!(rotated.open("k9", &sealed, "ann"), None);
        assert!(!format!("{rotated:?}").contains(&old[3..]));
        for bad in ["", "k1", "k1:short", "bad id:AAAA", "k1:!!!"] {
            assert!(Keyring::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_sealed_value_opens_only_for_the_row_it_was_sealed_for() {
        let ring = Keyring::parse(&Keyring::generate("k1")).unwrap();
        let (id, sealed) = ring.seal("tok_SENTINEL_access", "ann@example.com").unwrap();
        assert_eq!(ring.open(&id, &sealed, "mallory@example.com"), None);
        assert_eq!(ring.open(&id, &sealed, ""), None);
        assert!(ring.open(&id, &sealed, "ann@example.com").is_some());
    }
}
