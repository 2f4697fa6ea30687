//! Feishu's event crypto: the body `{"encrypt": base64(iv ‖ AES-256-CBC(SHA-256(encrypt key),
//! iv, PKCS#7(plaintext)))}` with a fresh random IV, and `X-Lark-Signature`, the SHA-256 of
//! timestamp, nonce, encrypt key and the body, in lower-case hex.

use aes::cipher::{block_padding::Pkcs7, BlockEncryptMut, KeyIvInit};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

type Encryptor = cbc::Encryptor<aes::Aes256>;

/// The `encrypt` value of `plaintext`.
pub(crate) fn encrypt(encrypt_key: &str, plaintext: &str) -> String {
    let key: [u8; 32] = Sha256::digest(encrypt_key.as_bytes()).into();
    let mut iv = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut iv);
    let length = plaintext.len();
    // Room for PKCS#7's 1 to 16 bytes.
    let mut buffer = plaintext.as_bytes().to_vec();
    buffer.resize(length + 16 - length % 16, 0);
    let cipher = Encryptor::new(&key.into(), &iv.into())
        .encrypt_padded_mut::<Pkcs7>(&mut buffer, length)
        .expect("the buffer has room for the padding");
    let mut blob = iv.to_vec();
    blob.extend_from_slice(cipher);
    base64::engine::general_purpose::STANDARD.encode(blob)
}

/// `X-Lark-Signature` of `body`.
pub(crate) fn signature(timestamp: &str, nonce: &str, encrypt_key: &str, body: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!("{timestamp}{nonce}{encrypt_key}").as_bytes());
    hasher.update(body.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
