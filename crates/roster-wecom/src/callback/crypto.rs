//! WeCom's callback crypto (developer.work.weixin.qq.com path/91144): AES-256-CBC under the
//! EncodingAESKey with the key's first 16 bytes as IV, PKCS#7 padding to 32 bytes, the
//! plaintext `random(16) ‖ len(msg) as u32 BE ‖ msg ‖ receive id`, and `msg_signature`, the
//! SHA-1 of the sorted token, timestamp, nonce and ciphertext.

use aes::cipher::{BlockEncryptMut, KeyIvInit};
use base64::Engine as _;
use rand::Rng;
use sha1::{Digest, Sha1};

type Encryptor = cbc::Encryptor<aes::Aes256>;

/// WeCom pads to a multiple of 32 bytes, not AES's 16.
const PAD_TO: usize = 32;

/// Base64 as WeCom's own decoders read an EncodingAESKey: the 43rd character carries two
/// bits past the key's 32 bytes, which they ignore (a strict decoder refuses most keys).
const KEY_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// A 43-character EncodingAESKey, decoded.
#[derive(Clone)]
pub(crate) struct AesKey([u8; 32]);

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesKey(..)")
    }
}

impl AesKey {
    pub(crate) fn parse(encoding_aes_key: &str) -> Result<Self, String> {
        let valid = encoding_aes_key.len() == 43
            && encoding_aes_key.bytes().all(|b| b.is_ascii_alphanumeric());
        let bytes = valid
            .then(|| KEY_BASE64.decode(format!("{encoding_aes_key}=")).ok())
            .flatten()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
        bytes
            .map(AesKey)
            .ok_or_else(|| "an EncodingAESKey is 43 letters and digits (32 bytes)".to_owned())
    }

    /// The `Encrypt` text of `msg` for `receive_id` (the corp id).
    pub(crate) fn encrypt(&self, msg: &str, receive_id: &str) -> String {
        let mut rng = rand::thread_rng();
        let mut plain: Vec<u8> = (0..16).map(|_| rng.gen_range(b'0'..=b'9')).collect();
        plain.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        plain.extend_from_slice(msg.as_bytes());
        plain.extend_from_slice(receive_id.as_bytes());
        let pad = PAD_TO - plain.len() % PAD_TO;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        let length = plain.len();
        let cipher = Encryptor::new(&self.0.into(), self.0[..16].into())
            .encrypt_padded_mut::<aes::cipher::block_padding::NoPadding>(&mut plain, length)
            .expect("the plaintext is padded to whole blocks");
        base64::engine::general_purpose::STANDARD.encode(cipher)
    }
}

/// `msg_signature` over the four strings.
pub(crate) fn signature(token: &str, timestamp: &str, nonce: &str, encrypted: &str) -> String {
    let mut parts = [token, timestamp, nonce, encrypted];
    parts.sort_unstable();
    let digest = Sha1::digest(parts.concat().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_43_alphanumerics() {
        // Its last character has bits past 32 bytes set, as most keys do.
        assert!(AesKey::parse("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C").is_ok());
        assert!(AesKey::parse("short").is_err());
        assert!(AesKey::parse("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2+").is_err());
    }

    #[test]
    fn signature_sorts_then_hashes() {
        // The signature of the sorted concatenation "123abcnoncetoken".
        let expected: String = Sha1::digest(b"123abcnoncetoken")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(signature("token", "123", "nonce", "abc"), expected);
    }
}
