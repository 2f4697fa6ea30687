//! Stateless access tokens: the claims and an HMAC (keyed by the database's token key), so a
//! token verifies without a database round trip, in any roster process on that database.
//!
//! Tenant and app tokens follow Feishu's reissue rule: a token is returned again while it has
//! at least a quarter of its lifetime (30 min of 2 h) left; after that a new one is issued and
//! the old one stays valid until it expires. That falls out of issuing one deterministic token
//! per time slot of three quarters of the lifetime, expiring one quarter after its slot ends.

use hmac::{Hmac, Mac};
use rand::Rng;
use roster_core::EntityId;
use sha2::Sha256;

pub const ACCESS_TOKEN_TTL: i64 = 7200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Tenant,
    App,
    User,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Tenant => "t-",
            TokenKind::App => "a-",
            TokenKind::User => "u-",
        }
    }

    fn tag(self) -> u8 {
        self as u8
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    pub kind: TokenKind,
    /// The app entity the token was issued to.
    pub app: EntityId,
    /// The generation of the app's tenant when it was issued: a reset or snapshot load of
    /// the tenant ends its tokens.
    pub generation: i64,
    /// The user entity, for user tokens.
    pub user: Option<EntityId>,
    pub expires_at: i64,
    nonce: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token roster issued (or edited).
    Invalid,
    Expired,
}

/// Who issues a token: the app entity and its tenant's generation.
pub type Issuer = (EntityId, i64);

const CLAIMS_LEN: usize = 1 + 8 + 8 + 8 + 8 + 8;
const MAC_LEN: usize = 16;

impl Claims {
    /// The tenant or app token of `app` for the slot `now` falls in, and its remaining seconds.
    pub fn for_app(kind: TokenKind, (app, generation): Issuer, now: i64) -> (Self, i64) {
        let slot = ACCESS_TOKEN_TTL * 3 / 4;
        let expires_at = now.div_euclid(slot) * slot + ACCESS_TOKEN_TTL;
        let claims = Claims {
            kind,
            app,
            generation,
            user: None,
            expires_at,
            nonce: 0,
        };
        (claims, expires_at - now)
    }

    pub fn for_user((app, generation): Issuer, user: EntityId, now: i64) -> Self {
        Claims {
            kind: TokenKind::User,
            app,
            generation,
            user: Some(user),
            expires_at: now + ACCESS_TOKEN_TTL,
            nonce: rand::thread_rng().gen(),
        }
    }

    fn bytes(&self) -> [u8; CLAIMS_LEN] {
        let mut out = [0u8; CLAIMS_LEN];
        out[0] = self.kind.tag();
        out[1..9].copy_from_slice(&self.app.to_be_bytes());
        out[9..17].copy_from_slice(&self.user.unwrap_or(0).to_be_bytes());
        out[17..25].copy_from_slice(&self.expires_at.to_be_bytes());
        out[25..33].copy_from_slice(&self.nonce.to_be_bytes());
        out[33..41].copy_from_slice(&self.generation.to_be_bytes());
        out
    }

    pub fn seal(&self, key: &[u8]) -> String {
        let claims = self.bytes();
        let mut token = String::from(self.kind.prefix());
        for byte in claims.iter().chain(&mac(key, &claims)) {
            token.push_str(&format!("{byte:02x}"));
        }
        token
    }

    /// The claims of `token` if roster issued it and it has not expired at `now`.
    pub fn open(key: &[u8], token: &str, now: i64) -> Result<Self, TokenError> {
        let (kind, hex) = [TokenKind::Tenant, TokenKind::App, TokenKind::User]
            .into_iter()
            .find_map(|kind| token.strip_prefix(kind.prefix()).map(|rest| (kind, rest)))
            .ok_or(TokenError::Invalid)?;
        let raw = decode_hex(hex).ok_or(TokenError::Invalid)?;
        if raw.len() != CLAIMS_LEN + MAC_LEN {
            return Err(TokenError::Invalid);
        }
        let (claims, tag) = raw.split_at(CLAIMS_LEN);
        let expected = mac(key, claims);
        if expected
            .iter()
            .zip(tag)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            != 0
            || claims[0] != kind.tag()
        {
            return Err(TokenError::Invalid);
        }
        let int = |range: std::ops::Range<usize>| {
            i64::from_be_bytes(claims[range].try_into().expect("8 bytes"))
        };
        let user = int(9..17);
        let claims = Claims {
            kind,
            app: int(1..9),
            user: (user != 0).then_some(user),
            expires_at: int(17..25),
            nonce: u64::from_be_bytes(claims[25..33].try_into().expect("8 bytes")),
            generation: int(33..41),
        };
        if now >= claims.expires_at {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

fn mac(key: &[u8], claims: &[u8]) -> [u8; MAC_LEN] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("hmac accepts any key");
    mac.update(b"feishu-access-token\0");
    mac.update(claims);
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&mac.finalize().into_bytes()[..MAC_LEN]);
    out
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

/// Lower-case hex of random bytes, for codes and refresh tokens.
pub fn random_hex(bytes: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.gen::<u8>()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"test key";

    #[test]
    fn tenant_tokens_follow_the_reissue_rule() {
        let start = 5400 * 1000; // a slot boundary
        let (claims, expire) = Claims::for_app(TokenKind::Tenant, (7, 1), start);
        assert_eq!(expire, 7200);
        let token = claims.seal(KEY);
        assert!(token.starts_with("t-"));
        // Same token while at least 30 minutes remain, with the remaining lifetime.
        let (later, expire) = Claims::for_app(TokenKind::Tenant, (7, 1), start + 5399);
        assert_eq!((later.seal(KEY), expire), (token.clone(), 1801));
        // With less than 30 minutes left a new token comes; the old one still works.
        let (next, expire) = Claims::for_app(TokenKind::Tenant, (7, 1), start + 5400);
        assert_ne!(next.seal(KEY), token);
        assert_eq!(expire, 7200);
        assert_eq!(Claims::open(KEY, &token, start + 7199), Ok(claims));
        assert_eq!(
            Claims::open(KEY, &token, start + 7200),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn tokens_are_tamper_evident() {
        let claims = Claims::for_user((3, 1), 9, 100);
        let token = claims.seal(KEY);
        assert_eq!(Claims::open(KEY, &token, 101), Ok(claims));
        assert_eq!(
            Claims::open(b"other key", &token, 101),
            Err(TokenError::Invalid)
        );
        let retagged = token.replacen("u-", "t-", 1);
        assert_eq!(Claims::open(KEY, &retagged, 101), Err(TokenError::Invalid));
        let mut edited = token.into_bytes();
        let last = edited.len() - 1;
        edited[last] = if edited[last] == b'0' { b'1' } else { b'0' };
        let edited = String::from_utf8(edited).unwrap();
        assert_eq!(Claims::open(KEY, &edited, 101), Err(TokenError::Invalid));
        assert_eq!(Claims::open(KEY, "u-zz", 101), Err(TokenError::Invalid));
        assert_ne!(
            Claims::for_user((3, 1), 9, 100).seal(KEY),
            Claims::for_user((3, 1), 9, 100).seal(KEY)
        );
    }
}
