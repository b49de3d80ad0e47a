//! Checks on the registered claims of a verified token ([RFC 7519 §4.1]).
//!
//! NumericDate values may be fractional (RFC 7519 §2 defines them as JSON numbers); strings,
//! `null` and numbers outside the finite range are refused. serde_json refuses to parse a
//! number that overflows `f64` (such as `1e400`), so such a token never reaches these checks.
//!
//! [RFC 7519 §4.1]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1

use serde_json::{Map, Value};

use super::error::AuthError;
use super::token::truncate;

/// The instant to judge a token at, with the clock skew tolerated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    /// Seconds since the Unix epoch.
    pub now: f64,
    /// Seconds of tolerated skew, applied in the token's favour.
    pub leeway: f64,
}

/// A NumericDate claim, if present.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(number)) => match number.as_f64() {
            Some(value) if value.is_finite() => Ok(Some(value)),
            _ => Err(AuthError::InvalidClaim(format!(
                "{name} is not a finite number"
            ))),
        },
        Some(other) => Err(AuthError::InvalidClaim(format!(
            "{name} must be a NumericDate (a number of seconds), found {}",
            kind(other)
        ))),
    }
}

/// Checks `exp` (required), `nbf` and `iat`.
///
/// A token is expired once `now >= exp + leeway` (§4.1.4: it must be accepted only *before*
/// `exp`). It is not yet valid while `now + leeway < nbf` (§4.1.5). An `iat` more than
/// `leeway` in the future means the issuer's clock or the token is wrong, and is refused too.
pub fn check_times(claims: &Map<String, Value>, clock: Clock) -> Result<(), AuthError> {
    let exp = numeric_date(claims, "exp")?
        .ok_or_else(|| AuthError::InvalidClaim("token has no exp claim".into()))?;
    if clock.now >= exp + clock.leeway {
        return Err(AuthError::Expired);
    }
    if let Some(nbf) = numeric_date(claims, "nbf")? {
        if clock.now + clock.leeway < nbf {
            return Err(AuthError::NotYetValid("nbf".into()));
        }
    }
    if let Some(iat) = numeric_date(claims, "iat")? {
        if clock.now + clock.leeway < iat {
            return Err(AuthError::NotYetValid("iat".into()));
        }
    }
    Ok(())
}

/// A claim that must be a non-empty string.
pub fn required_string<'c>(
    claims: &'c Map<String, Value>,
    name: &str,
) -> Result<&'c str, AuthError> {
    match claims.get(name) {
        Some(Value::String(value)) if !value.is_empty() => Ok(value),
        Some(Value::String(_)) => Err(AuthError::InvalidClaim(format!("{name} is empty"))),
        None => Err(AuthError::InvalidClaim(format!(
            "token has no {name} claim"
        ))),
        Some(other) => Err(AuthError::InvalidClaim(format!(
            "{name} must be a string, found {}",
            kind(other)
        ))),
    }
}

/// Checks `aud` against the accepted audiences ([RFC 7519 §4.1.3]).
///
/// With no accepted audiences configured, `aud` is not checked. Otherwise the token must
/// carry `aud`, as a string or an array of strings, and one of its values must equal an
/// accepted audience exactly.
///
/// [RFC 7519 §4.1.3]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.3
pub fn check_audience(claims: &Map<String, Value>, accepted: &[String]) -> Result<(), AuthError> {
    if accepted.is_empty() {
        return Ok(());
    }
    let found: Vec<&str> = match claims.get("aud") {
        None => return Err(AuthError::MissingAudience),
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str())
            .collect::<Option<Vec<&str>>>()
            .ok_or_else(|| AuthError::InvalidClaim("aud array must hold only strings".into()))?,
        Some(other) => {
            return Err(AuthError::InvalidClaim(format!(
                "aud must be a string or an array of strings, found {}",
                kind(other)
            )))
        }
    };
    if found.iter().any(|aud| accepted.iter().any(|ok| ok == aud)) {
        return Ok(());
    }
    let shown: Vec<String> = found.iter().take(4).map(|aud| truncate(aud)).collect();
    Err(AuthError::InvalidAudience(format!("{shown:?}")))
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    const CLOCK: Clock = Clock {
        now: 1_000_000.0,
        leeway: 60.0,
    };

    #[test]
    fn exp_is_required_and_must_be_a_number() {
        assert_eq!(
            check_times(&claims(json!({})), CLOCK),
            Err(AuthError::InvalidClaim("token has no exp claim".into()))
        );
        for bad in [json!("1000100"), json!(null), json!(true), json!([1])] {
            let err = check_times(&claims(json!({ "exp": bad })), CLOCK).unwrap_err();
            assert_eq!(err.code(), "invalid_claim", "{bad}");
        }
        assert_eq!(
            check_times(&claims(json!({"exp": 0})), CLOCK),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn leeway_boundaries_one_second_either_side() {
        let exp = CLOCK.now - CLOCK.leeway;
        assert_eq!(
            check_times(&claims(json!({"exp": exp - 1.0})), CLOCK),
            Err(AuthError::Expired)
        );
        assert_eq!(
            check_times(&claims(json!({"exp": exp})), CLOCK),
            Err(AuthError::Expired)
        );
        assert_eq!(
            check_times(&claims(json!({"exp": exp + 1.0})), CLOCK),
            Ok(())
        );

        let nbf = CLOCK.now + CLOCK.leeway;
        let at = |nbf: f64| claims(json!({"exp": CLOCK.now + 600.0, "nbf": nbf}));
        assert_eq!(check_times(&at(nbf - 1.0), CLOCK), Ok(()));
        assert_eq!(check_times(&at(nbf), CLOCK), Ok(()));
        assert_eq!(
            check_times(&at(nbf + 1.0), CLOCK),
            Err(AuthError::NotYetValid("nbf".into()))
        );
    }

    #[test]
    fn fractional_dates_are_accepted() {
        let c = claims(json!({"exp": CLOCK.now + 0.5 - CLOCK.leeway, "iat": CLOCK.now - 0.25}));
        assert_eq!(check_times(&c, CLOCK), Ok(()));
        let c = claims(json!({"exp": CLOCK.now - 0.5 - CLOCK.leeway}));
        assert_eq!(check_times(&c, CLOCK), Err(AuthError::Expired));
    }

    #[test]
    fn nbf_as_string_and_future_iat_are_refused() {
        let c = claims(json!({"exp": CLOCK.now + 600.0, "nbf": "0"}));
        assert_eq!(check_times(&c, CLOCK).unwrap_err().code(), "invalid_claim");
        let c = claims(json!({"exp": CLOCK.now + 6000.0, "iat": CLOCK.now + 3600.0}));
        assert_eq!(
            check_times(&c, CLOCK),
            Err(AuthError::NotYetValid("iat".into()))
        );
    }

    #[test]
    fn huge_exponents_never_parse() {
        assert!(serde_json::from_str::<Value>(r#"{"exp": 1e400}"#).is_err());
    }

    #[test]
    fn audience_string_or_array_must_contain_an_accepted_value() {
        let accepted = vec!["api".to_string(), "other".to_string()];
        assert_eq!(
            check_audience(&claims(json!({"aud": "api"})), &accepted),
            Ok(())
        );
        assert_eq!(
            check_audience(
                &claims(json!({"aud": ["https://x/userinfo", "other"]})),
                &accepted
            ),
            Ok(())
        );
        assert_eq!(
            check_audience(&claims(json!({"aud": "api "})), &accepted),
            Err(AuthError::InvalidAudience("[\"api \"]".into()))
        );
        assert_eq!(
            check_audience(&claims(json!({})), &accepted),
            Err(AuthError::MissingAudience)
        );
        assert_eq!(
            check_audience(&claims(json!({"aud": ["api", 1]})), &accepted)
                .unwrap_err()
                .code(),
            "invalid_claim"
        );
        assert_eq!(
            check_audience(&claims(json!({"aud": {"api": true}})), &accepted)
                .unwrap_err()
                .code(),
            "invalid_claim"
        );
    }

    #[test]
    fn audience_is_ignored_when_none_is_configured() {
        assert_eq!(check_audience(&claims(json!({"aud": 5})), &[]), Ok(()));
    }

    #[test]
    fn required_strings() {
        let c = claims(json!({"sub": "u1", "iss": 5, "e": ""}));
        assert_eq!(required_string(&c, "sub"), Ok("u1"));
        assert_eq!(
            required_string(&c, "iss"),
            Err(AuthError::InvalidClaim(
                "iss must be a string, found a number".into()
            ))
        );
        assert_eq!(
            required_string(&c, "e"),
            Err(AuthError::InvalidClaim("e is empty".into()))
        );
        assert_eq!(
            required_string(&c, "x"),
            Err(AuthError::InvalidClaim("token has no x claim".into()))
        );
    }
}
