use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const MAC_LEN: usize = 16;

/// Seals page positions into opaque, tamper-evident page tokens.
///
/// A token carries the position (a keyset value) and a MAC over the position and a *scope*
/// string naming the list it belongs to, so a token from one list, or an edited token, is
/// refused instead of silently paging somewhere else.
#[derive(Clone)]
pub struct CursorKey {
    key: Vec<u8>,
}

impl CursorKey {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self, scope: &str, position: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("hmac accepts any key");
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(position);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    pub fn seal(&self, scope: &str, position: i64) -> String {
        let position = position.to_be_bytes();
        let mut raw = position.to_vec();
        raw.extend_from_slice(&self.mac(scope, &position));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The position inside `token`, or `None` if it is malformed, edited or from another list.
    pub fn open(&self, scope: &str, token: &str) -> Option<i64> {
        let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
        if raw.len() != 8 + MAC_LEN {
            return None;
        }
        let (position, tag) = raw.split_at(8);
        let expected = self.mac(scope, position);
        // Constant-time comparison: the tag is a secret-derived value.
        let diff = expected
            .iter()
            .zip(tag)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return None;
        }
        Some(i64::from_be_bytes(position.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_tampering() {
        let key = CursorKey::new(b"secret");
        let token = key.seal("list-a", 42);
        assert_eq!(key.open("list-a", &token), Some(42));
        assert_eq!(key.open("list-b", &token), None);
        let mut edited = token.into_bytes();
        edited[0] = if edited[0] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            key.open("list-a", &String::from_utf8(edited).unwrap()),
            None
        );
        assert_eq!(key.open("list-a", "not a token"), None);
        assert_eq!(
            CursorKey::new(b"other").open("list-a", &key.seal("list-a", 1)),
            None
        );
    }
}
