//! Reading a bearer token from the `Authorization` header ([RFC 6750 §2.1]).
//!
//! The grammar is `credentials = "Bearer" 1*SP b64token`, with
//! `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`. The scheme is
//! case-insensitive ([RFC 9110 §11.1]). Anything else — another scheme, a second token,
//! trailing junk, or two headers that the runtime joined with a comma — is refused, never
//! read as "no token".
//!
//! [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
//! [RFC 9110 §11.1]: https://www.rfc-editor.org/rfc/rfc9110#section-11.1

use super::error::AuthError;

/// The longest token read. Larger ones are refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Extracts the token from an `Authorization` header value.
///
/// `Ok(None)` means no header was sent. A header that is present but not a single bearer
/// token is an error.
pub fn bearer_token(header: Option<&str>) -> Result<Option<&str>, AuthError> {
    let Some(value) = header else {
        return Ok(None);
    };

    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    let (scheme, rest) = match value.find([' ', '\t']) {
        Some(at) => (&value[..at], &value[at..]),
        None => (value, ""),
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        let shown: String = scheme.chars().take(16).collect();
        return Err(AuthError::InvalidHeader(format!("found scheme {shown:?}")));
    }

    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Err(AuthError::InvalidHeader(
            "found no token after the scheme".into(),
        ));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::TokenTooLarge {
            limit: MAX_TOKEN_BYTES,
            found: token.len(),
        });
    }
    if let Some(bad) = token.find(|c: char| !is_b64token_char(c)) {
        let what = match token.as_bytes()[bad] {
            b' ' => "found more than one token".to_string(),
            b'\t' => {
                "found a tab, which may neither follow the scheme nor stand in a token".to_string()
            }
            b',' => "found several Authorization values".to_string(),
            _ => format!("found a character not allowed in a token at offset {bad}"),
        };
        return Err(AuthError::InvalidHeader(what));
    }
    let body_end = token.trim_end_matches('=').len();
    if body_end == 0 {
        return Err(AuthError::InvalidHeader(
            "found no token after the scheme".into(),
        ));
    }
    if token[..body_end].contains('=') {
        return Err(AuthError::InvalidHeader(
            "found '=' inside the token, where only trailing padding may stand".into(),
        ));
    }

    Ok(Some(token))
}

fn is_b64token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/' | '=')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(header: &str) -> &'static str {
        bearer_token(Some(header)).unwrap_err().code()
    }

    #[test]
    fn absent_header_is_no_token() {
        assert_eq!(bearer_token(None), Ok(None));
    }

    #[test]
    fn scheme_is_case_insensitive() {
        for header in [
            "Bearer abc.def.ghi",
            "bearer abc.def.ghi",
            "BEARER abc.def.ghi",
        ] {
            assert_eq!(bearer_token(Some(header)), Ok(Some("abc.def.ghi")));
        }
    }

    #[test]
    fn tolerates_extra_spaces_around_the_token() {
        assert_eq!(bearer_token(Some("Bearer   a.b.c  ")), Ok(Some("a.b.c")));
    }

    #[test]
    fn other_schemes_and_empty_tokens_are_invalid_requests() {
        assert_eq!(code("Basic dXNlcjpwYXNz"), "invalid_authorization_header");
        assert_eq!(code("Bearer"), "invalid_authorization_header");
        assert_eq!(code("Bearer    "), "invalid_authorization_header");
        assert_eq!(code(""), "invalid_authorization_header");
        assert_eq!(code("Bearer ==="), "invalid_authorization_header");
        assert_eq!(code("Bearerabc.def.ghi"), "invalid_authorization_header");
    }

    #[test]
    fn two_tokens_or_trailing_junk_are_invalid_requests() {
        assert_eq!(code("Bearer a.b.c d.e.f"), "invalid_authorization_header");
        assert_eq!(
            code("Bearer a.b.c, Bearer d.e.f"),
            "invalid_authorization_header"
        );
        assert_eq!(code("Bearer a.b.c;"), "invalid_authorization_header");
        assert_eq!(code("Bearer a.b=.c"), "invalid_authorization_header");
        let err = bearer_token(Some("Bearer a.b.c d")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected `Authorization: Bearer <token>`, found more than one token"
        );
    }

    #[test]
    fn a_tab_after_the_scheme_is_named() {
        let err = bearer_token(Some("Bearer\ta.b.c")).unwrap_err();
        assert!(err
            .to_string()
            .ends_with("found a tab, which may neither follow the scheme nor stand in a token"));
    }

    #[test]
    fn oversized_tokens_are_refused_before_decoding() {
        let token = "a".repeat(MAX_TOKEN_BYTES + 1);
        let err = bearer_token(Some(&format!("Bearer {token}"))).unwrap_err();
        assert_eq!(
            err,
            AuthError::TokenTooLarge {
                limit: MAX_TOKEN_BYTES,
                found: MAX_TOKEN_BYTES + 1
            }
        );
        let token = "a".repeat(MAX_TOKEN_BYTES);
        assert!(bearer_token(Some(&format!("Bearer {token}"))).is_ok());
    }
}
