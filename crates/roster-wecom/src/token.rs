//! Stateless access tokens: the corp's space and the expiry, sealed with an HMAC under the
//! engine's token key. Verifying one needs no database, and every roster process on the same
//! database accepts the others' tokens.
//!
//! WeCom documents that a repeated `gettoken` within the lifetime returns the same token. To
//! keep that without state, tokens are minted per hour-long slot: every request in one slot
//! gets the same token, valid until 7200 s after the slot began (so `expires_in` is between
//! 3600 and 7200). A token of an earlier slot stays valid until its own expiry.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use roster_core::SpaceId;
use sha2::Sha256;

use crate::corp::constant_time_eq;

pub(crate) const LIFETIME_SECONDS: i64 = 7200;
const SLOT_SECONDS: i64 = 3600;
const MAC_LEN: usize = 16;

/// Which dialect a token was issued by; one dialect's token is refused by the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    /// `cgi-bin/gettoken`.
    Native,
    /// do1 `qwsecurity!getToken.action`.
    Qwif,
}

impl Audience {
    fn label(self) -> &'static [u8] {
        match self {
            Audience::Native => b"wecom-native-access-token",
            Audience::Qwif => b"wecom-qwif-token",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Issued {
    pub token: String,
    pub expires_in: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Malformed, forged, or issued for the other dialect.
    Invalid,
    Expired,
}

pub(crate) fn issue(key: &[u8], audience: Audience, space: SpaceId, now: i64) -> Issued {
    let expires_at = now.div_euclid(SLOT_SECONDS) * SLOT_SECONDS + LIFETIME_SECONDS;
    let mut raw = payload(space, expires_at).to_vec();
    raw.extend_from_slice(&mac(key, audience, &raw));
    Issued {
        token: URL_SAFE_NO_PAD.encode(raw),
        expires_in: expires_at - now,
    }
}

/// The space the token was issued for.
pub(crate) fn verify(
    key: &[u8],
    audience: Audience,
    token: &str,
    now: i64,
) -> Result<SpaceId, Refused> {
    let raw = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| Refused::Invalid)?;
    if raw.len() != 16 + MAC_LEN {
        return Err(Refused::Invalid);
    }
    let (payload, tag) = raw.split_at(16);
    if !constant_time_eq(&mac(key, audience, payload), tag) {
        return Err(Refused::Invalid);
    }
    let (space, expires_at) = payload.split_at(8);
    let space = SpaceId::from_be_bytes(space.try_into().map_err(|_| Refused::Invalid)?);
    let expires_at = i64::from_be_bytes(expires_at.try_into().map_err(|_| Refused::Invalid)?);
    if now >= expires_at {
        return Err(Refused::Expired);
    }
    Ok(space)
}

fn payload(space: SpaceId, expires_at: i64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&space.to_be_bytes());
    out[8..].copy_from_slice(&expires_at.to_be_bytes());
    out
}

fn mac(key: &[u8], audience: Audience, payload: &[u8]) -> [u8; MAC_LEN] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("hmac accepts any key");
    mac.update(audience.label());
    mac.update(&[0]);
    mac.update(payload);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&full[..MAC_LEN]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"token key";

    #[test]
    fn same_token_within_a_slot_and_expiry_after_its_lifetime() {
        let now = 1_700_000_000;
        let first = issue(KEY, Audience::Native, 7, now);
        let again = issue(KEY, Audience::Native, 7, now + 59);
        assert_eq!(first.token, again.token);
        assert_eq!(first.expires_in - 59, again.expires_in);
        assert!((3600..=7200).contains(&first.expires_in));
        assert_eq!(verify(KEY, Audience::Native, &first.token, now), Ok(7));
        let expiry = now + first.expires_in;
        assert_eq!(
            verify(KEY, Audience::Native, &first.token, expiry - 1),
            Ok(7)
        );
        assert_eq!(
            verify(KEY, Audience::Native, &first.token, expiry),
            Err(Refused::Expired)
        );
        assert_eq!(
            verify(KEY, Audience::Native, &first.token, now + LIFETIME_SECONDS),
            Err(Refused::Expired)
        );
        let next_slot = issue(KEY, Audience::Native, 7, now + 3600);
        assert_ne!(first.token, next_slot.token);
    }

    #[test]
    fn refuses_forged_foreign_and_malformed_tokens() {
        let now = 1_700_000_000;
        let token = issue(KEY, Audience::Native, 7, now).token;
        assert_eq!(
            verify(KEY, Audience::Qwif, &token, now),
            Err(Refused::Invalid)
        );
        assert_eq!(
            verify(b"other key", Audience::Native, &token, now),
            Err(Refused::Invalid)
        );
        let mut edited = token.clone().into_bytes();
        edited[3] = if edited[3] == b'A' { b'B' } else { b'A' };
        let edited = String::from_utf8(edited).unwrap();
        assert_eq!(
            verify(KEY, Audience::Native, &edited, now),
            Err(Refused::Invalid)
        );
        for junk in ["", "not a token", "%%%", &token[..20]] {
            assert_eq!(
                verify(KEY, Audience::Native, junk, now),
                Err(Refused::Invalid)
            );
        }
    }
}
