//! Stateless access tokens: `<space>.<sealed expiry>`, the expiry sealed with roster-core's
//! [`CursorKey`] under the engine's token key and a scope naming the dialect, the space and
//! its generation (a reset or snapshot load raises it: earlier tokens stop working, as after
//! a secret change at the vendor).
//! Verifying one needs no database, and every roster process on the same database accepts the
//! others' tokens.
//!
//! A token is valid for 7200 s from when it was issued, and `expires_in` says so, as WeCom
//! documents (clients schedule their refresh from it). The sealed expiry is the whole token,
//! so requests within the same second get the same token; a later `gettoken` gets a new one,
//! and earlier tokens stay valid until their own expiry (docs/compat.md).

use roster_core::{CursorKey, SpaceId};

const LIFETIME_SECONDS: i64 = 7200;

/// Which dialect a token was issued by; one dialect's token is refused by the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    /// `cgi-bin/gettoken`.
    Native,
    /// do1 `qwsecurity!getToken.action`.
    Qwif,
}

impl Audience {
    fn scope(self, space: SpaceId, generation: i64) -> String {
        let dialect = match self {
            Audience::Native => "wecom-native-access-token",
            Audience::Qwif => "wecom-qwif-token",
        };
        format!("{dialect}/{space}/{generation}")
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

pub(crate) fn issue(
    key: &CursorKey,
    audience: Audience,
    (space, generation): (SpaceId, i64),
    now: i64,
) -> Issued {
    let expires_at = now + LIFETIME_SECONDS;
    let scope = audience.scope(space, generation);
    Issued {
        token: format!("{space}.{}", key.seal(&scope, expires_at)),
        expires_in: LIFETIME_SECONDS,
    }
}

/// The space the token was issued for; `generation` gives each served space's current
/// generation.
pub(crate) fn verify(
    key: &CursorKey,
    audience: Audience,
    token: &str,
    now: i64,
    generation: impl Fn(SpaceId) -> Option<i64>,
) -> Result<SpaceId, Refused> {
    let (space_text, sealed) = token.split_once('.').ok_or(Refused::Invalid)?;
    let space: SpaceId = space_text.parse().map_err(|_| Refused::Invalid)?;
    if space.to_string() != space_text {
        return Err(Refused::Invalid);
    }
    let generation = generation(space).ok_or(Refused::Invalid)?;
    let expires_at = key
        .open(&audience.scope(space, generation), sealed)
        .ok_or(Refused::Invalid)?;
    if now >= expires_at {
        return Err(Refused::Expired);
    }
    Ok(space)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corp(space: SpaceId) -> Option<i64> {
        (space == 7).then_some(70)
    }

    fn key() -> CursorKey {
        CursorKey::new(b"token key")
    }

    #[test]
    fn valid_for_its_whole_lifetime_then_expired() {
        let now = 1_700_000_000;
        let first = issue(&key(), Audience::Native, (7, 70), now);
        assert_eq!(first.expires_in, 7200);
        assert_eq!(issue(&key(), Audience::Native, (7, 70), now), first);
        let later = issue(&key(), Audience::Native, (7, 70), now + 59);
        assert_eq!(later.expires_in, 7200);
        assert_ne!(later.token, first.token);
        assert_eq!(
            verify(&key(), Audience::Native, &first.token, now, corp),
            Ok(7)
        );
        let expiry = now + first.expires_in;
        assert_eq!(
            verify(&key(), Audience::Native, &first.token, expiry - 1, corp),
            Ok(7)
        );
        assert_eq!(
            verify(&key(), Audience::Native, &first.token, expiry, corp),
            Err(Refused::Expired)
        );
        assert_eq!(
            verify(
                &key(),
                Audience::Native,
                &first.token,
                now + LIFETIME_SECONDS,
                corp
            ),
            Err(Refused::Expired)
        );
        assert_eq!(
            verify(&key(), Audience::Native, &later.token, expiry, corp),
            Ok(7)
        );
    }

    #[test]
    fn refuses_forged_foreign_and_malformed_tokens() {
        let now = 1_700_000_000;
        let token = issue(&key(), Audience::Native, (7, 70), now).token;
        assert_eq!(
            verify(&key(), Audience::Qwif, &token, now, corp),
            Err(Refused::Invalid)
        );
        assert_eq!(
            verify(
                &CursorKey::new(b"other"),
                Audience::Native,
                &token,
                now,
                corp
            ),
            Err(Refused::Invalid)
        );
        let reset = |space| (space == 7).then_some(71);
        assert_eq!(
            verify(&key(), Audience::Native, &token, now, reset),
            Err(Refused::Invalid),
            "a token of the corp's generation before a reset"
        );
        let (_, sealed) = token.split_once('.').unwrap();
        for forged in [
            format!("8.{sealed}"),
            format!("+7.{sealed}"),
            format!("07.{sealed}"),
            token[..token.len() - 1].to_string(),
            String::new(),
            "7".into(),
            "not a token".into(),
        ] {
            assert_eq!(
                verify(&key(), Audience::Native, &forged, now, corp),
                Err(Refused::Invalid),
                "{forged}"
            );
        }
    }
}
