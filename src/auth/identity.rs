//! The caller's identity, shaped like Convex's `UserIdentity` and built from OpenID Connect
//! claims ([OpenID Connect Core §5.1]).
//!
//! [OpenID Connect Core §5.1]:
//!     https://openid.net/specs/openid-connect-core-1_0.html#StandardClaims

use serde::Serialize;
use serde_json::{Map, Value};

/// OpenID standard claims and the identity fields they become.
const STANDARD_CLAIMS: [(&str, &str); 17] = [
    ("name", "name"),
    ("given_name", "givenName"),
    ("family_name", "familyName"),
    ("nickname", "nickname"),
    ("preferred_username", "preferredUsername"),
    ("profile", "profileUrl"),
    ("picture", "pictureUrl"),
    ("email", "email"),
    ("email_verified", "emailVerified"),
    ("gender", "gender"),
    ("birthdate", "birthday"),
    ("zoneinfo", "timezone"),
    ("locale", "language"),
    ("phone_number", "phoneNumber"),
    ("phone_number_verified", "phoneNumberVerified"),
    ("address", "address"),
    ("updated_at", "updatedAt"),
];

/// Claims that never reach the identity's fields: `iss` and `sub` are read into their own
/// fields, and a claim named like one of those fields would let a token dictate its own
/// `tokenIdentifier` — posing as a user of another provider.
const RESERVED: [&str; 5] = ["iss", "sub", "tokenIdentifier", "subject", "issuer"];

/// Claims that are booleans in OpenID Connect but which some providers (older AWS Cognito
/// pools among them) send as the strings `"true"` and `"false"`.
const BOOLEAN_CLAIMS: [&str; 2] = ["email_verified", "phone_number_verified"];

/// Who made the request, from a verified token.
///
/// Serializes as a flat JSON object: `tokenIdentifier`, `subject`, `issuer`, the standard
/// claims that are present under their camelCase names, and every other claim under its own
/// name (`aud`, `exp`, `org_id`, `roles`, …).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserIdentity {
    /// `"{iss}|{sub}"`: unique across providers.
    #[serde(rename = "tokenIdentifier")]
    pub token_identifier: String,
    /// The `sub` claim.
    pub subject: String,
    /// The `iss` claim.
    pub issuer: String,
    /// Every other field, already renamed.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl UserIdentity {
    /// Builds the identity from verified claims whose `iss` and `sub` were already read.
    pub fn from_claims(issuer: &str, subject: &str, claims: &Map<String, Value>) -> UserIdentity {
        // A field named like a standard one comes only from its standard claim: a literal
        // `emailVerified: "yes"` claim must not stand in for a boolean `email_verified`.
        let is_standard = |claim: &str| {
            STANDARD_CLAIMS
                .iter()
                .any(|(from, to)| *from == claim || *to == claim)
        };

        // Custom claims first, then the standard ones over them: when a token carries both a
        // literal `givenName` and `given_name`, the standard claim is the documented source.
        let mut fields: Map<String, Value> = claims
            .iter()
            .filter(|(claim, _)| !RESERVED.contains(&claim.as_str()) && !is_standard(claim))
            .map(|(claim, value)| (claim.clone(), value.clone()))
            .collect();
        for (claim, name) in STANDARD_CLAIMS {
            let Some(value) = claims.get(claim) else {
                continue;
            };
            let value = if BOOLEAN_CLAIMS.contains(&claim) {
                match as_boolean(value) {
                    Some(flag) => Value::Bool(flag),
                    None => continue,
                }
            } else {
                value.clone()
            };
            fields.insert(name.to_string(), value);
        }

        UserIdentity {
            token_identifier: format!("{issuer}|{subject}"),
            subject: subject.to_string(),
            issuer: issuer.to_string(),
            fields,
        }
    }

    /// A field by its identity name (`email`, `givenName`, `roles`, …).
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field)
    }
}

fn as_boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) if text == "true" => Some(true),
        Value::String(text) if text == "false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn identity(claims: Value) -> Value {
        let claims = claims.as_object().unwrap().clone();
        let iss = claims["iss"].as_str().unwrap().to_string();
        let sub = claims["sub"].as_str().unwrap().to_string();
        serde_json::to_value(UserIdentity::from_claims(&iss, &sub, &claims)).unwrap()
    }

    #[test]
    fn maps_every_standard_claim_to_its_convex_name() {
        let out = identity(json!({
            "iss": "https://auth.example.com/", "sub": "user_1",
            "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace",
            "nickname": "ada", "preferred_username": "ada.l",
            "profile": "https://example.com/ada", "picture": "https://example.com/ada.png",
            "email": "ada@example.com", "email_verified": true, "gender": "female",
            "birthdate": "1815-12-10", "zoneinfo": "Europe/London", "locale": "en-GB",
            "phone_number": "+44 20 0000 0000", "phone_number_verified": false,
            "address": {"country": "UK"}, "updated_at": 1700000000
        }));
        assert_eq!(
            out,
            json!({
                "tokenIdentifier": "https://auth.example.com/|user_1",
                "subject": "user_1", "issuer": "https://auth.example.com/",
                "name": "Ada Lovelace", "givenName": "Ada", "familyName": "Lovelace",
                "nickname": "ada", "preferredUsername": "ada.l",
                "profileUrl": "https://example.com/ada",
                "pictureUrl": "https://example.com/ada.png",
                "email": "ada@example.com", "emailVerified": true, "gender": "female",
                "birthday": "1815-12-10", "timezone": "Europe/London", "language": "en-GB",
                "phoneNumber": "+44 20 0000 0000", "phoneNumberVerified": false,
                "address": {"country": "UK"}, "updatedAt": 1700000000
            })
        );
    }

    #[test]
    fn keeps_other_claims_under_their_own_names() {
        let out = identity(json!({
            "iss": "i", "sub": "s", "exp": 5, "aud": ["a", "b"], "org_id": "org_9",
            "roles": ["admin"], "scope": "read write"
        }));
        assert_eq!(out["org_id"], "org_9");
        assert_eq!(out["roles"], json!(["admin"]));
        assert_eq!(out["aud"], json!(["a", "b"]));
        assert_eq!(out["scope"], "read write");
        assert_eq!(out["exp"], 5);
        assert!(out.get("iss").is_none() && out.get("sub").is_none());
    }

    #[test]
    fn claims_cannot_replace_the_identity_fields() {
        let out = identity(json!({
            "iss": "https://a.test", "sub": "user", "tokenIdentifier": "https://b.test|admin",
            "subject": "admin", "issuer": "https://b.test"
        }));
        assert_eq!(
            out,
            json!({"tokenIdentifier": "https://a.test|user", "subject": "user",
                   "issuer": "https://a.test"})
        );
        let text = serde_json::to_string(&out).unwrap();
        assert_eq!(text.matches("\"subject\"").count(), 1);
    }

    #[test]
    fn boolean_claims_sent_as_strings_become_booleans() {
        let out = identity(json!({"iss": "i", "sub": "s", "email_verified": "true",
            "phone_number_verified": "no"}));
        assert_eq!(out["emailVerified"], true);
        assert!(out.get("phoneNumberVerified").is_none());
    }

    #[test]
    fn standard_field_names_come_only_from_standard_claims() {
        let out = identity(json!({"iss": "i", "sub": "s", "email_verified": "yes",
            "emailVerified": true, "phoneNumberVerified": "true", "givenName": "custom"}));
        assert_eq!(
            out,
            json!({"tokenIdentifier": "i|s", "subject": "s", "issuer": "i"})
        );
    }

    #[test]
    fn standard_claim_wins_over_a_custom_claim_of_the_same_name() {
        for claims in [
            json!({"iss": "i", "sub": "s", "givenName": "custom", "given_name": "std"}),
            json!({"iss": "i", "sub": "s", "given_name": "std", "givenName": "custom"}),
        ] {
            assert_eq!(identity(claims)["givenName"], "std");
        }
    }
}
