//! Parsing a JWS compact serialization into a header, claims and signature
//! ([RFC 7515 §7.1], [RFC 7519 §7.2]).
//!
//! Nothing here is trusted yet: the result says what the token claims to be, and
//! [`super::Authenticator`] decides whether to believe it.
//!
//! [RFC 7515 §7.1]: https://www.rfc-editor.org/rfc/rfc7515#section-7.1
//! [RFC 7519 §7.2]: https://www.rfc-editor.org/rfc/rfc7519#section-7.2

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::algorithm::Algorithm;
use super::base64url;
use super::error::AuthError;

/// The `typ` values accepted, compared case-insensitively as media types are
/// ([RFC 7515 §4.1.9], [RFC 9068 §2.1]). A token without `typ` is accepted too: AWS Cognito
/// access tokens carry none.
///
/// [RFC 7515 §4.1.9]: https://www.rfc-editor.org/rfc/rfc7515#section-4.1.9
/// [RFC 9068 §2.1]: https://www.rfc-editor.org/rfc/rfc9068#section-2.1
const ACCEPTED_TYPES: [&str; 4] = ["JWT", "application/jwt", "at+jwt", "application/at+jwt"];

/// Header parameters whose meaning sitegate does not implement. Ignoring them would change
/// what the signature covers (`b64`, [RFC 7797]) or what the payload is (`cty`, a nested
/// token), so a token carrying any of them is refused. `crit` ([RFC 7515 §4.1.11]) lists
/// extensions a verifier must understand; sitegate understands none.
///
/// [RFC 7797]: https://www.rfc-editor.org/rfc/rfc7797
/// [RFC 7515 §4.1.11]: https://www.rfc-editor.org/rfc/rfc7515#section-4.1.11
const REFUSED_PARAMETERS: [&str; 3] = ["crit", "b64", "cty"];

/// The protected header, reduced to what verification uses.
///
/// `jwk`, `jku`, `x5u` and `x5c` are deliberately not read: keys come only from
/// configuration, never from the token that is being judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The signature algorithm.
    pub alg: Algorithm,
    /// The key identifier, if any.
    pub kid: Option<String>,
}

/// A token split and decoded but not verified.
#[derive(Debug, Clone)]
pub struct ParsedToken<'t> {
    /// The protected header.
    pub header: Header,
    /// The claims object.
    pub claims: Map<String, Value>,
    /// `BASE64URL(header) "." BASE64URL(payload)`, the bytes the signature covers.
    pub signing_input: &'t str,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

/// Splits and decodes `token`.
pub fn parse(token: &str) -> Result<ParsedToken<'_>, AuthError> {
    let mut segments = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        let count = token.split('.').count();
        return Err(AuthError::Malformed(format!(
            "expected 3 dot-separated segments, found {count}"
        )));
    };

    let header_json = decode_segment(header_b64, "header")?;
    let header_object = parse_object(&header_json, "header")?;
    let header = read_header(&header_object)?;

    let payload = decode_segment(payload_b64, "payload")?;
    let claims = parse_object(&payload, "claims")?;

    let signature = decode_segment(signature_b64, "signature")?;
    if signature.is_empty() {
        return Err(AuthError::Malformed("signature is empty".into()));
    }

    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    Ok(ParsedToken {
        header,
        claims,
        signing_input,
        signature,
    })
}

fn decode_segment(segment: &str, what: &str) -> Result<Vec<u8>, AuthError> {
    base64url::decode(segment).map_err(|err| {
        let why = match err {
            base64url::DecodeError::InvalidByte(at) => {
                format!("{what} is not base64url (bad character at offset {at})")
            }
            base64url::DecodeError::InvalidLength => format!("{what} has an impossible length"),
            base64url::DecodeError::NonCanonical => format!("{what} is not canonical base64url"),
        };
        AuthError::Malformed(why)
    })
}

fn parse_object(json: &[u8], what: &str) -> Result<Map<String, Value>, AuthError> {
    match serde_json::from_slice::<TopLevel>(json) {
        Ok(TopLevel::Object(map)) => Ok(map),
        Ok(TopLevel::Other(kind)) => Err(AuthError::Malformed(format!(
            "{what} must be a JSON object, found {kind}"
        ))),
        Err(err) => Err(AuthError::Malformed(format!(
            "{what} is not valid JSON: {err}"
        ))),
    }
}

fn read_header(header: &Map<String, Value>) -> Result<Header, AuthError> {
    let alg = match header.get("alg") {
        Some(Value::String(name)) => Algorithm::from_name(name)
            .ok_or_else(|| AuthError::UnsupportedAlgorithm(truncate(name)))?,
        Some(_) => return Err(AuthError::Malformed("header alg must be a string".into())),
        None => return Err(AuthError::Malformed("header has no alg".into())),
    };

    if let Some(name) = REFUSED_PARAMETERS
        .iter()
        .find(|name| header.contains_key(**name))
    {
        return Err(AuthError::UnsupportedHeader((*name).to_string()));
    }

    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) if !ACCEPTED_TYPES.iter().any(|t| t.eq_ignore_ascii_case(typ)) => {
            return Err(AuthError::UnsupportedType(truncate(typ)));
        }
        Some(Value::String(_)) => {}
        Some(_) => return Err(AuthError::Malformed("header typ must be a string".into())),
    }

    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(AuthError::Malformed("header kid must be a string".into())),
    };

    Ok(Header { alg, kid })
}

/// Attacker-chosen strings are echoed into errors only in part.
pub(crate) fn truncate(text: &str) -> String {
    const LIMIT: usize = 64;
    if text.chars().count() <= LIMIT {
        return text.to_string();
    }
    let mut short: String = text.chars().take(LIMIT).collect();
    short.push('…');
    short
}

/// A top-level JSON value, as an object whose keys must be unique.
///
/// RFC 7515 §4 and RFC 7519 §4 require a JWS or JWT with duplicate member names to be
/// rejected (or the last one used); serde_json's `Value` silently keeps the last, so two
/// verifiers could read the same token differently. sitegate rejects.
enum TopLevel {
    Object(Map<String, Value>),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for TopLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TopLevelVisitor)
    }
}

struct TopLevelVisitor;

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = TopLevel;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<TopLevel, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "duplicate member {:?}",
                    truncate(&key)
                )));
            }
            let value: Value = access.next_value()?;
            map.insert(key, value);
        }
        Ok(TopLevel::Object(map))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut access: A) -> Result<TopLevel, A::Error> {
        while access.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(TopLevel::Other("an array"))
    }

    fn visit_str<E>(self, _: &str) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a string"))
    }

    fn visit_unit<E>(self) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("null"))
    }

    fn visit_bool<E>(self, _: bool) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a boolean"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a number"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::base64url::encode;

    fn token(header: &str, claims: &str) -> String {
        format!(
            "{}.{}.{}",
            encode(header.as_bytes()),
            encode(claims.as_bytes()),
            encode(b"sig")
        )
    }

    fn error(token: &str) -> AuthError {
        parse(token).unwrap_err()
    }

    #[test]
    fn parses_header_claims_and_signing_input() {
        let t = token(
            r#"{"alg":"ES256","kid":"k1","typ":"JWT"}"#,
            r#"{"sub":"a"}"#,
        );
        let parsed = parse(&t).unwrap();
        assert_eq!(parsed.header.alg, Algorithm::Es256);
        assert_eq!(parsed.header.kid.as_deref(), Some("k1"));
        assert_eq!(parsed.claims["sub"], "a");
        assert_eq!(parsed.signature, b"sig");
        assert_eq!(parsed.signing_input, &t[..t.rfind('.').unwrap()]);
    }

    #[test]
    fn every_spelling_of_none_is_unsupported() {
        for alg in ["none", "None", "NONE", "nOnE"] {
            let t = token(&format!(r#"{{"alg":"{alg}"}}"#), "{}");
            assert_eq!(error(&t), AuthError::UnsupportedAlgorithm(alg.into()));
            let unsigned = format!("{}.", &t[..t.rfind('.').unwrap()]);
            assert_eq!(error(&unsigned).code(), "unsupported_algorithm");
        }
    }

    #[test]
    fn segment_count_must_be_three() {
        assert_eq!(error("a.b").code(), "malformed_token");
        assert_eq!(
            error("a.b.c.d"),
            AuthError::Malformed("expected 3 dot-separated segments, found 4".into())
        );
        assert_eq!(error("abc").code(), "malformed_token");
    }

    #[test]
    fn base64_must_be_strict() {
        let t = token(r#"{"alg":"RS256"}"#, "{}");
        let with_plus = t.replacen('e', "+", 1);
        assert_eq!(error(&with_plus).code(), "malformed_token");
        let padded = format!("{t}=");
        assert_eq!(error(&padded).code(), "malformed_token");
        let spaced = t.replacen('.', ". ", 1);
        assert_eq!(error(&spaced).code(), "malformed_token");
    }

    #[test]
    fn duplicate_members_are_refused() {
        let t = token(r#"{"alg":"RS256","alg":"HS256"}"#, "{}");
        assert!(
            matches!(error(&t), AuthError::Malformed(m) if m.contains("duplicate member \"alg\""))
        );
        let t = token(r#"{"alg":"RS256"}"#, r#"{"sub":"a","sub":"b"}"#);
        assert!(
            matches!(error(&t), AuthError::Malformed(m) if m.contains("duplicate member \"sub\""))
        );
    }

    #[test]
    fn claims_must_be_an_object() {
        for (claims, kind) in [
            ("null", "null"),
            ("[1]", "an array"),
            ("\"s\"", "a string"),
            ("7", "a number"),
        ] {
            let t = token(r#"{"alg":"RS256"}"#, claims);
            assert_eq!(
                error(&t),
                AuthError::Malformed(format!("claims must be a JSON object, found {kind}"))
            );
        }
    }

    #[test]
    fn typ_must_be_a_jwt_type_when_present() {
        for typ in [
            "JWT",
            "jwt",
            "at+jwt",
            "application/at+jwt",
            "application/jwt",
        ] {
            let t = token(&format!(r#"{{"alg":"RS256","typ":"{typ}"}}"#), "{}");
            assert!(parse(&t).is_ok(), "{typ}");
        }
        for typ in ["JOSE", "dpop+jwt", "secevent+jwt", ""] {
            let t = token(&format!(r#"{{"alg":"RS256","typ":"{typ}"}}"#), "{}");
            assert_eq!(error(&t).code(), "unsupported_token_type", "{typ}");
        }
    }

    #[test]
    fn crit_b64_and_cty_are_refused() {
        for (extra, name) in [
            (r#""crit":["exp"]"#, "crit"),
            (r#""b64":false,"crit":["b64"]"#, "crit"),
            (r#""b64":false"#, "b64"),
            (r#""cty":"JWT""#, "cty"),
        ] {
            let t = token(&format!(r#"{{"alg":"RS256",{extra}}}"#), "{}");
            assert_eq!(error(&t), AuthError::UnsupportedHeader(name.into()));
        }
    }

    #[test]
    fn kid_must_be_a_string() {
        let t = token(r#"{"alg":"RS256","kid":7}"#, "{}");
        assert_eq!(
            error(&t),
            AuthError::Malformed("header kid must be a string".into())
        );
    }

    #[test]
    fn empty_signature_is_refused() {
        let t = token(r#"{"alg":"RS256"}"#, "{}");
        let unsigned = format!("{}.", &t[..t.rfind('.').unwrap()]);
        assert_eq!(
            error(&unsigned),
            AuthError::Malformed("signature is empty".into())
        );
    }

    #[test]
    fn long_attacker_strings_are_truncated_in_errors() {
        let alg = "x".repeat(500);
        let t = token(&format!(r#"{{"alg":"{alg}"}}"#), "{}");
        let AuthError::UnsupportedAlgorithm(shown) = error(&t) else {
            panic!()
        };
        assert_eq!(shown.chars().count(), 65);
    }
}
