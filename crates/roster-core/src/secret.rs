//! Comparing a presented secret with the one on record.

use subtle::ConstantTimeEq;

/// Whether `presented` is `expected`, in time that does not depend on where they first differ
/// (so timing reveals no prefix of a secret; only the length may show). Every credential check
/// roster makes (app secrets, corp secrets, developer keys, the admin token, PKCE verifiers)
/// goes through here.
pub fn secrets_match(presented: &[u8], expected: &[u8]) -> bool {
    presented.ct_eq(expected).into()
}

#[cfg(test)]
mod tests {
    use super::secrets_match;

    #[test]
    fn equal_only_when_identical() {
        assert!(secrets_match(b"s3cret", b"s3cret"));
        assert!(!secrets_match(b"s3cret", b"s3creT"));
        assert!(!secrets_match(b"s3cre", b"s3cret"));
        assert!(!secrets_match(b"", b"s3cret"));
    }
}
