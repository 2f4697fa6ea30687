//! The NUL character in request text. No vendor identifier holds one, and PostgreSQL cannot
//! store one in text, so each dialect refuses it where it parses a request, with its own
//! parse error, on both backends alike.

/// Whether JSON text holds a NUL in a string: the escape `\u0000` (a raw NUL is not JSON).
pub fn json_holds_nul(json: &[u8]) -> bool {
    let mut bytes = json.iter();
    while let Some(byte) = bytes.next() {
        if *byte == b'\\' {
            // The escaped character; `\\` is a backslash, so what follows it is plain text.
            if bytes.next() == Some(&b'u') && bytes.as_slice().starts_with(b"0000") {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::json_holds_nul;

    #[test]
    fn finds_the_escape_of_nul_only() {
        assert!(json_holds_nul(br#"{"id":"a\u0000b"}"#));
        assert!(json_holds_nul(br#"["\u0000"]"#));
        assert!(
            !json_holds_nul(br#"{"id":"a\\u0000b"}"#),
            "an escaped backslash"
        );
        assert!(json_holds_nul(br#"{"id":"\u00001"}"#));
        assert!(!json_holds_nul(br#"{"id":"\u0001 \n \"u0000\""}"#));
        assert!(!json_holds_nul(b"{}"));
    }
}
