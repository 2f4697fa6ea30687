//! PKCE (RFC 7636): a login started with a `code_challenge` is redeemed only with the
//! `code_verifier` it was derived from.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use roster_core::secret::secrets_match;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Where a login code keeps its challenge.
pub const ATTR: &str = "code_challenge";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `BASE64URL(SHA256(verifier))`, unpadded.
    S256(String),
    /// The verifier itself (RFC 7636's default method).
    Plain(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error("code_challenge_method must be S256 or plain")]
    Method,
    #[error("code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")]
    Malformed,
}

/// RFC 7636's `unreserved`, 43 to 128 of them: the shape of verifiers and challenges.
fn well_formed(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

impl Challenge {
    /// From the request that starts a login; `method` defaults to `plain`, as in RFC 7636.
    pub fn new(challenge: String, method: Option<&str>) -> Result<Self, ChallengeError> {
        if !well_formed(&challenge) {
            return Err(ChallengeError::Malformed);
        }
        match method {
            Some("S256") => Ok(Challenge::S256(challenge)),
            None | Some("plain") => Ok(Challenge::Plain(challenge)),
            Some(_) => Err(ChallengeError::Method),
        }
    }

    pub fn verifies(&self, verifier: &str) -> bool {
        if !well_formed(verifier) {
            return false;
        }
        match self {
            Challenge::S256(challenge) => {
                let derived = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                secrets_match(derived.as_bytes(), challenge.as_bytes())
            }
            Challenge::Plain(challenge) => secrets_match(verifier.as_bytes(), challenge.as_bytes()),
        }
    }

    pub fn to_attr(&self) -> Value {
        match self {
            Challenge::S256(c) => json!({ "method": "S256", "challenge": c }),
            Challenge::Plain(c) => json!({ "method": "plain", "challenge": c }),
        }
    }

    pub fn from_attr(attr: &Value) -> Option<Self> {
        let challenge = attr["challenge"].as_str()?.to_string();
        match attr["method"].as_str()? {
            "S256" => Some(Challenge::S256(challenge)),
            _ => Some(Challenge::Plain(challenge)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = Challenge::new(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            Some("S256"),
        )
        .unwrap();
        assert!(challenge.verifies(verifier));
        assert!(!challenge.verifies("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"));
        assert_eq!(Challenge::from_attr(&challenge.to_attr()), Some(challenge));
        let plain = Challenge::new(verifier.into(), None).unwrap();
        assert!(plain.verifies(verifier));
        assert_eq!(
            Challenge::new("short".into(), None),
            Err(ChallengeError::Malformed)
        );
        assert_eq!(
            Challenge::new(verifier.into(), Some("S512")),
            Err(ChallengeError::Method)
        );
    }
}
