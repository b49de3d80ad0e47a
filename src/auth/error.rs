//! Why a request was not authenticated, and how that is told to the client.

use std::fmt;

/// A failed authentication. Each variant maps to one stable `error` code and one status.
///
/// The status is 401 for every variant except [`AuthError::KeysUnavailable`], which is 503:
/// a provider outage must not look like a bad token, or clients would discard good ones.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// The route requires a token and no `Authorization` header was sent.
    MissingToken,
    /// The `Authorization` header is not exactly `Bearer <token>`.
    InvalidHeader(String),
    /// The token is longer than the limit; it was not decoded.
    TokenTooLarge { limit: usize, found: usize },
    /// The token is not a well-formed JWS compact serialization with JSON header and claims.
    Malformed(String),
    /// The `alg` header names no algorithm sitegate verifies (this includes every `none`).
    UnsupportedAlgorithm(String),
    /// The `typ` header is not a JWT media type.
    UnsupportedType(String),
    /// A header sitegate does not implement (`crit`, `b64`, `cty`) is present.
    UnsupportedHeader(String),
    /// No configured provider has this issuer.
    UnknownIssuer(String),
    /// The provider does not allow this algorithm.
    AlgorithmNotAllowed { alg: String, issuer: String },
    /// No key in the provider's set has the token's `kid`.
    UnknownKey(String),
    /// The key chosen by `kid` cannot verify the token's algorithm.
    KeyMismatch(String),
    /// The token has no `kid` and no single key fits its algorithm.
    NoUniqueKey(String),
    /// The signature does not verify.
    InvalidSignature,
    /// A claim is missing or of the wrong type.
    InvalidClaim(String),
    /// `exp` has passed (after leeway).
    Expired,
    /// `nbf` or `iat` lies in the future (after leeway).
    NotYetValid(String),
    /// The provider requires an audience and the token has none.
    MissingAudience,
    /// The token's audience is not one the provider accepts.
    InvalidAudience(String),
    /// The provider's keys could not be loaded; the client may retry later.
    KeysUnavailable { retry_after: u32 },
}

impl AuthError {
    /// The stable `error` code of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "missing_token",
            AuthError::InvalidHeader(_) => "invalid_authorization_header",
            AuthError::TokenTooLarge { .. } => "token_too_large",
            AuthError::Malformed(_) => "malformed_token",
            AuthError::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            AuthError::UnsupportedType(_) => "unsupported_token_type",
            AuthError::UnsupportedHeader(_) => "unsupported_header",
            AuthError::UnknownIssuer(_) => "unknown_issuer",
            AuthError::AlgorithmNotAllowed { .. } => "algorithm_not_allowed",
            AuthError::UnknownKey(_) => "unknown_key",
            AuthError::KeyMismatch(_) => "key_mismatch",
            AuthError::NoUniqueKey(_) => "no_unique_key",
            AuthError::InvalidSignature => "invalid_signature",
            AuthError::InvalidClaim(_) => "invalid_claim",
            AuthError::Expired => "token_expired",
            AuthError::NotYetValid(_) => "token_not_yet_valid",
            AuthError::MissingAudience => "missing_audience",
            AuthError::InvalidAudience(_) => "invalid_audience",
            AuthError::KeysUnavailable { .. } => "jwks_unavailable",
        }
    }

    /// The HTTP status this failure is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::KeysUnavailable { .. } => 503,
            _ => 401,
        }
    }

    /// The `error` parameter of `WWW-Authenticate` ([RFC 6750 §3.1]), if any.
    ///
    /// A request that simply carried no token gets no `error` (§3.1: "the resource server
    /// SHOULD NOT include an error code").
    ///
    /// [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
    fn bearer_error(&self) -> Option<&'static str> {
        match self {
            AuthError::MissingToken | AuthError::KeysUnavailable { .. } => None,
            AuthError::InvalidHeader(_) => Some("invalid_request"),
            _ => Some("invalid_token"),
        }
    }

    /// The `WWW-Authenticate` challenge for a 401, or `None` for other statuses.
    pub fn challenge(&self) -> Option<String> {
        if self.status() != 401 {
            return None;
        }
        let mut challenge = String::from("Bearer realm=\"sitegate\"");
        if let Some(error) = self.bearer_error() {
            challenge.push_str(", error=\"");
            challenge.push_str(error);
            challenge.push_str("\", error_description=\"");
            challenge.push_str(&quoted_string_safe(&self.to_string()));
            challenge.push('"');
        }
        Some(challenge)
    }
}

/// Keeps a description inside a quoted-string: RFC 6750 §3 limits `error_description` to
/// printable ASCII other than `"` and `\`.
fn quoted_string_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::MissingToken => write!(f, "this route requires a bearer token"),
            AuthError::InvalidHeader(why) => {
                write!(f, "expected `Authorization: Bearer <token>`, {why}")
            }
            AuthError::TokenTooLarge { limit, found } => {
                write!(f, "token is {found} bytes, the limit is {limit}")
            }
            AuthError::Malformed(why) => write!(f, "token is malformed: {why}"),
            AuthError::UnsupportedAlgorithm(alg) => write!(
                f,
                "alg {alg:?} is not supported; expected one of RS256, PS256, ES256, EdDSA, HS256"
            ),
            AuthError::UnsupportedType(typ) => write!(
                f,
                "typ {typ:?} is not a JWT type; expected JWT, at+jwt or application/at+jwt"
            ),
            AuthError::UnsupportedHeader(name) => {
                write!(f, "header parameter {name:?} is not supported")
            }
            AuthError::UnknownIssuer(iss) => write!(f, "issuer {iss:?} is not configured"),
            AuthError::AlgorithmNotAllowed { alg, issuer } => {
                write!(f, "alg {alg} is not allowed for issuer {issuer:?}")
            }
            AuthError::UnknownKey(kid) => write!(f, "no key with kid {kid:?}"),
            AuthError::KeyMismatch(why) => write!(f, "key does not fit the token: {why}"),
            AuthError::NoUniqueKey(why) => write!(f, "token has no kid and {why}"),
            AuthError::InvalidSignature => write!(f, "signature does not verify"),
            AuthError::InvalidClaim(why) => write!(f, "{why}"),
            AuthError::Expired => write!(f, "token has expired"),
            AuthError::NotYetValid(claim) => write!(f, "token is not valid yet ({claim})"),
            AuthError::MissingAudience => {
                write!(f, "token has no aud claim and this issuer requires one")
            }
            AuthError::InvalidAudience(found) => {
                write!(f, "audience {found} is not accepted")
            }
            AuthError::KeysUnavailable { .. } => {
                write!(
                    f,
                    "the issuer's signing keys could not be loaded; retry later"
                )
            }
        }
    }
}

impl std::error::Error for AuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_token_challenge_has_no_error() {
        assert_eq!(
            AuthError::MissingToken.challenge().unwrap(),
            "Bearer realm=\"sitegate\""
        );
    }

    #[test]
    fn malformed_header_is_invalid_request() {
        let challenge = AuthError::InvalidHeader("found scheme \"Basic\"".into())
            .challenge()
            .unwrap();
        assert!(challenge.starts_with("Bearer realm=\"sitegate\", error=\"invalid_request\""));
        assert!(challenge.contains("error_description=\"expected `Authorization: Bearer <token>`"));
        assert!(
            !challenge[challenge.find("error_description").unwrap() + 19..].contains("\"Basic")
        );
    }

    #[test]
    fn bad_token_is_invalid_token_with_status_401() {
        let err = AuthError::Expired;
        assert_eq!(err.status(), 401);
        assert_eq!(err.code(), "token_expired");
        assert_eq!(
            err.challenge().unwrap(),
            "Bearer realm=\"sitegate\", error=\"invalid_token\", \
             error_description=\"token has expired\""
        );
    }

    #[test]
    fn unavailable_keys_are_503_without_challenge() {
        let err = AuthError::KeysUnavailable { retry_after: 30 };
        assert_eq!(err.status(), 503);
        assert_eq!(err.code(), "jwks_unavailable");
        assert_eq!(err.challenge(), None);
    }

    #[test]
    fn descriptions_stay_printable_ascii() {
        assert_eq!(quoted_string_safe("a\"b\\c\u{e9}\n"), "a'b'c??");
    }
}
