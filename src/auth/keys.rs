//! Verification keys: reading JWKs ([RFC 7517]) and choosing the key for a token.
//!
//! Only public keys that Web Crypto can import are read: RSA (`n`, `e`), EC P-256 (`x`, `y`)
//! and OKP Ed25519 (`x`). Shared HS256 secrets never come from a JWKS; they come from a
//! Worker secret binding and are built with [`VerifyingKey::hmac`].
//!
//! [RFC 7517]: https://www.rfc-editor.org/rfc/rfc7517

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;

use super::algorithm::{Algorithm, KeyFamily};
use super::base64url;
use super::error::AuthError;
use super::token::truncate;

/// The smallest RSA modulus accepted, in bits ([RFC 7518 §3.3]).
///
/// [RFC 7518 §3.3]: https://www.rfc-editor.org/rfc/rfc7518#section-3.3
pub const MIN_RSA_BITS: usize = 2048;

/// The shortest HS256 secret accepted: a key as long as the hash output ([RFC 7518 §3.2]).
///
/// [RFC 7518 §3.2]: https://www.rfc-editor.org/rfc/rfc7518#section-3.2
pub const MIN_HMAC_BYTES: usize = 32;

static NEXT_KEY_ID: AtomicU64 = AtomicU64::new(1);

/// The public material of a key.
#[derive(Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// RSA modulus and public exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An uncompressed P-256 point.
    P256 { x: Vec<u8>, y: Vec<u8> },
    /// An Ed25519 public key.
    Ed25519 { x: Vec<u8> },
    /// An HS256 secret.
    Hmac { secret: Vec<u8> },
}

impl KeyMaterial {
    /// The family of algorithms this material verifies.
    pub fn family(&self) -> KeyFamily {
        match self {
            KeyMaterial::Rsa { .. } => KeyFamily::Rsa,
            KeyMaterial::P256 { .. } => KeyFamily::P256,
            KeyMaterial::Ed25519 { .. } => KeyFamily::Ed25519,
            KeyMaterial::Hmac { .. } => KeyFamily::Hmac,
        }
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyMaterial::Rsa { n, .. } => write!(f, "Rsa({} bits)", rsa_bits(n)),
            KeyMaterial::P256 { .. } => f.write_str("P256"),
            KeyMaterial::Ed25519 { .. } => f.write_str("Ed25519"),
            KeyMaterial::Hmac { .. } => f.write_str("Hmac(redacted)"),
        }
    }
}

/// A key that may verify tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    /// Unique within the isolate; a key loaded again gets a new one. Caches of imported
    /// Web Crypto keys are keyed by it.
    pub id: u64,
    /// The JWK `kid`.
    pub kid: Option<String>,
    /// The JWK `alg`: when set, the only algorithm this key verifies.
    pub alg: Option<Algorithm>,
    /// The key itself.
    pub material: KeyMaterial,
}

impl VerifyingKey {
    fn new(kid: Option<String>, alg: Option<Algorithm>, material: KeyMaterial) -> Self {
        VerifyingKey {
            id: NEXT_KEY_ID.fetch_add(1, Ordering::Relaxed),
            kid,
            alg,
            material,
        }
    }

    /// An HS256 key from a shared secret.
    pub fn hmac(secret: &[u8]) -> Result<VerifyingKey, KeyRejected> {
        if secret.len() < MIN_HMAC_BYTES {
            return Err(KeyRejected::new(
                None,
                format!(
                    "an HS256 secret must be at least {MIN_HMAC_BYTES} bytes, found {}",
                    secret.len()
                ),
            ));
        }
        let material = KeyMaterial::Hmac {
            secret: secret.to_vec(),
        };
        Ok(VerifyingKey::new(None, Some(Algorithm::Hs256), material))
    }

    /// Whether this key may verify `alg`: the families agree and a pinned `alg` matches.
    pub fn fits(&self, alg: Algorithm) -> bool {
        self.material.family() == alg.key_family() && self.alg.is_none_or(|pinned| pinned == alg)
    }
}

/// A JWK that was not accepted, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRejected {
    /// The key's `kid`, if it had one.
    pub kid: Option<String>,
    /// What was wrong.
    pub reason: String,
}

impl KeyRejected {
    fn new(kid: Option<&str>, reason: String) -> Self {
        KeyRejected {
            kid: kid.map(truncate),
            reason,
        }
    }
}

impl fmt::Display for KeyRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kid {
            Some(kid) => write!(f, "key {kid:?}: {}", self.reason),
            None => write!(f, "key without kid: {}", self.reason),
        }
    }
}

/// The members of a JWK that sitegate reads.
#[derive(Deserialize)]
struct Jwk {
    kty: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
    d: Option<String>,
    p: Option<String>,
}

/// The result of reading a JWKS: the keys accepted and the ones dropped.
#[derive(Debug, Default)]
pub struct JwksRead {
    /// Keys that can verify tokens.
    pub keys: Vec<VerifyingKey>,
    /// Keys that were not accepted.
    pub rejected: Vec<KeyRejected>,
}

/// Reads a JWKS document (`{"keys": [...]}`).
///
/// A document that is not a JWKS at all is an error; single keys that cannot be used are
/// listed in [`JwksRead::rejected`], so that a provider publishing one odd key (an
/// encryption key, a new key type) does not lose the rest.
pub fn read_jwks(document: &serde_json::Value) -> Result<JwksRead, String> {
    let Some(keys) = document.get("keys") else {
        return Err("expected an object with a \"keys\" array".into());
    };
    let Some(keys) = keys.as_array() else {
        return Err("\"keys\" must be an array".into());
    };

    let mut read = JwksRead::default();
    for (index, value) in keys.iter().enumerate() {
        match read_jwk(value) {
            Ok(key) => read.keys.push(key),
            Err(mut rejected) => {
                if rejected.kid.is_none() {
                    rejected.reason = format!("keys[{index}]: {}", rejected.reason);
                }
                read.rejected.push(rejected)
            }
        }
    }
    Ok(read)
}

/// Reads one public JWK.
pub fn read_jwk(value: &serde_json::Value) -> Result<VerifyingKey, KeyRejected> {
    let jwk = Jwk::deserialize(value)
        .map_err(|err| KeyRejected::new(None, format!("not a JWK: {err}")))?;
    let kid = jwk.kid.as_deref();
    let reject = |reason: String| KeyRejected::new(kid, reason);

    if let Some(use_) = &jwk.use_ {
        if use_ != "sig" {
            return Err(reject(format!("use is {use_:?}, expected \"sig\"")));
        }
    }
    if let Some(ops) = &jwk.key_ops {
        if !ops.iter().any(|op| op == "verify") {
            return Err(reject("key_ops does not include \"verify\"".into()));
        }
    }
    if jwk.d.is_some() || jwk.p.is_some() {
        return Err(reject(
            "it contains private key material; publish only the public key".into(),
        ));
    }

    let material = read_material(&jwk).map_err(reject)?;

    let alg = match &jwk.alg {
        None => None,
        Some(name) => {
            let alg = Algorithm::from_name(name)
                .ok_or_else(|| reject(format!("alg {name:?} is not supported")))?;
            if alg.key_family() != material.family() {
                return Err(reject(format!(
                    "alg {alg} does not fit a {:?} key",
                    material
                )));
            }
            Some(alg)
        }
    };

    Ok(VerifyingKey::new(jwk.kid.clone(), alg, material))
}

fn read_material(jwk: &Jwk) -> Result<KeyMaterial, String> {
    let field = |name: &str, value: &Option<String>| -> Result<Vec<u8>, String> {
        let text = value
            .as_deref()
            .ok_or_else(|| format!("missing {name:?}"))?;
        base64url::decode(text).map_err(|_| format!("{name:?} is not base64url"))
    };

    match jwk.kty.as_deref() {
        Some("RSA") => {
            let n = field("n", &jwk.n)?;
            let e = field("e", &jwk.e)?;
            let bits = rsa_bits(&n);
            if bits < MIN_RSA_BITS {
                return Err(format!(
                    "RSA modulus is {bits} bits, at least {MIN_RSA_BITS} are required"
                ));
            }
            // Web Crypto in workerd (BoringSSL) verifies only with e = 3 or 65537, the only
            // exponents in real use; refusing others here keeps the host and the Worker alike.
            let exponent = e.iter().skip_while(|b| **b == 0).collect::<Vec<_>>();
            if exponent != [&3] && exponent != [&1, &0, &1] {
                return Err("RSA exponent must be 3 or 65537 (\"AQAB\")".into());
            }
            Ok(KeyMaterial::Rsa { n, e })
        }
        Some("EC") => match jwk.crv.as_deref() {
            Some("P-256") => {
                let x = field("x", &jwk.x)?;
                let y = field("y", &jwk.y)?;
                if x.len() != 32 || y.len() != 32 {
                    return Err("P-256 coordinates must be 32 bytes each".into());
                }
                Ok(KeyMaterial::P256 { x, y })
            }
            other => Err(format!(
                "EC curve {} is not supported, expected \"P-256\"",
                shown(other)
            )),
        },
        Some("OKP") => match jwk.crv.as_deref() {
            Some("Ed25519") => {
                let x = field("x", &jwk.x)?;
                if x.len() != 32 {
                    return Err("an Ed25519 key must be 32 bytes".into());
                }
                Ok(KeyMaterial::Ed25519 { x })
            }
            other => Err(format!(
                "OKP curve {} is not supported, expected \"Ed25519\"",
                shown(other)
            )),
        },
        Some("oct") => Err(
            "symmetric keys do not belong in a JWKS; give HS256 secrets as a secret binding".into(),
        ),
        Some(other) => Err(format!("kty {:?} is not supported", truncate(other))),
        None => Err("missing \"kty\"".into()),
    }
}

/// A JWK member's value for a message: quoted, or "(missing)".
fn shown(value: Option<&str>) -> String {
    value.map_or("(missing)".to_string(), |v| format!("{:?}", truncate(v)))
}

/// Whether any key of the set has a `kid`, so that a token's `kid` can choose among them.
pub fn names_keys(keys: &[VerifyingKey]) -> bool {
    keys.iter().any(|key| key.kid.is_some())
}

/// The bit length of a big-endian modulus.
fn rsa_bits(n: &[u8]) -> usize {
    let Some(first) = n.iter().position(|b| *b != 0) else {
        return 0;
    };
    (n.len() - first) * 8 - n[first].leading_zeros() as usize
}

/// Chooses the key that verifies a token with `alg` and `kid`.
///
/// With a `kid`, the key with that `kid` is the only candidate, and it must fit `alg`. Without
/// one, the single key that fits `alg` is used; several fitting keys are ambiguous, since
/// trying each would multiply the cost of a forged token. When no key of the set has a `kid`
/// (an HS256 secret never has one), the token's `kid` cannot choose and is not used.
pub fn select<'k>(
    keys: &'k [VerifyingKey],
    alg: Algorithm,
    kid: Option<&str>,
) -> Result<&'k VerifyingKey, AuthError> {
    let kid = kid.filter(|_| names_keys(keys));
    if let Some(kid) = kid {
        let key = keys
            .iter()
            .find(|key| key.kid.as_deref() == Some(kid))
            .ok_or_else(|| AuthError::UnknownKey(truncate(kid)))?;
        if !key.fits(alg) {
            return Err(AuthError::KeyMismatch(match key.alg {
                Some(pinned) if key.material.family() == alg.key_family() => {
                    format!(
                        "key {:?} is pinned to {pinned}, token uses {alg}",
                        truncate(kid)
                    )
                }
                _ => format!(
                    "key {:?} is a {:?} key, token uses {alg}",
                    truncate(kid),
                    key.material
                ),
            }));
        }
        return Ok(key);
    }

    let mut fitting = keys.iter().filter(|key| key.fits(alg));
    match (fitting.next(), fitting.next()) {
        (Some(key), None) => Ok(key),
        (None, _) => Err(AuthError::NoUniqueKey(format!("no key fits {alg}"))),
        (Some(_), Some(_)) => Err(AuthError::NoUniqueKey(format!(
            "several keys fit {alg}; the token must name one with kid"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rsa_jwk(kid: &str, bits: usize) -> serde_json::Value {
        let mut n = vec![0xffu8; bits / 8];
        n[0] |= 0x80;
        json!({"kty": "RSA", "kid": kid, "n": base64url::encode(&n), "e": "AQAB"})
    }

    fn ec_jwk(kid: &str) -> serde_json::Value {
        let coord = base64url::encode(&[7u8; 32]);
        json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": coord, "y": coord})
    }

    #[test]
    fn reads_rsa_ec_and_okp_keys() {
        let okp = json!({"kty": "OKP", "crv": "Ed25519", "x": base64url::encode(&[1u8; 32])});
        let read = read_jwks(&json!({"keys": [rsa_jwk("r", 2048), ec_jwk("e"), okp]})).unwrap();
        assert!(read.rejected.is_empty(), "{:?}", read.rejected);
        let families: Vec<_> = read.keys.iter().map(|k| k.material.family()).collect();
        assert_eq!(
            families,
            [KeyFamily::Rsa, KeyFamily::P256, KeyFamily::Ed25519]
        );
        assert_ne!(read.keys[0].id, read.keys[1].id);
    }

    #[test]
    fn drops_weak_foreign_and_secret_keys_with_reasons() {
        let read = read_jwks(&json!({"keys": [
            rsa_jwk("small", 1024),
            {"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA"},
            {"kty": "XYZ", "kid": "new"},
            {"kty": "EC", "kid": "priv", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"},
            {"kty": "RSA", "kid": "ops", "key_ops": ["encrypt"], "n": "AQAB", "e": "AQAB"},
            "not an object",
        ]}))
        .unwrap();
        assert!(read.keys.is_empty());
        let reasons: Vec<String> = read.rejected.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            reasons,
            [
                "key \"small\": RSA modulus is 1024 bits, at least 2048 are required",
                "key \"sym\": symmetric keys do not belong in a JWKS; give HS256 secrets as a \
                 secret binding",
                "key \"enc\": use is \"enc\", expected \"sig\"",
                "key \"p384\": EC curve \"P-384\" is not supported, expected \"P-256\"",
                "key \"new\": kty \"XYZ\" is not supported",
                "key \"priv\": it contains private key material; publish only the public key",
                "key \"ops\": key_ops does not include \"verify\"",
                "key without kid: keys[7]: not a JWK: invalid type: string \"not an object\", \
                 expected struct Jwk",
            ]
        );
    }

    #[test]
    fn a_document_without_keys_is_an_error() {
        assert!(read_jwks(&json!({"kty": "RSA"})).is_err());
        assert!(read_jwks(&json!({"keys": {}})).is_err());
    }

    #[test]
    fn pinned_alg_must_fit_the_key_type() {
        let mut jwk = ec_jwk("e");
        jwk["alg"] = json!("RS256");
        let err = read_jwk(&jwk).unwrap_err();
        assert_eq!(err.reason, "alg RS256 does not fit a P256 key");
        jwk["alg"] = json!("ES384");
        assert_eq!(
            read_jwk(&jwk).unwrap_err().reason,
            "alg \"ES384\" is not supported"
        );
    }

    #[test]
    fn counts_modulus_bits_exactly() {
        assert_eq!(rsa_bits(&[0, 0, 1]), 1);
        assert_eq!(rsa_bits(&[0x80, 0]), 16);
        assert_eq!(rsa_bits(&[0, 0x7f, 0]), 15);
        assert!(read_jwk(&rsa_jwk("ok", 2048)).is_ok());
        let mut short = vec![0xffu8; 256];
        short[0] = 0x7f;
        let jwk = json!({"kty": "RSA", "n": base64url::encode(&short), "e": "AQAB"});
        assert!(read_jwk(&jwk).unwrap_err().reason.contains("2047 bits"));
    }

    #[test]
    fn hmac_secrets_need_32_bytes() {
        assert!(VerifyingKey::hmac(&[1; 31]).is_err());
        let key = VerifyingKey::hmac(&[1; 32]).unwrap();
        assert!(key.fits(Algorithm::Hs256));
        assert!(!key.fits(Algorithm::Rs256));
        assert_eq!(format!("{:?}", key.material), "Hmac(redacted)");
    }

    fn keys(values: &[serde_json::Value]) -> Vec<VerifyingKey> {
        values.iter().map(|v| read_jwk(v).unwrap()).collect()
    }

    #[test]
    fn kid_selects_exactly_that_key() {
        let set = keys(&[rsa_jwk("a", 2048), rsa_jwk("b", 2048)]);
        assert_eq!(
            select(&set, Algorithm::Rs256, Some("b"))
                .unwrap()
                .kid
                .as_deref(),
            Some("b")
        );
        assert_eq!(
            select(&set, Algorithm::Rs256, Some("c")),
            Err(AuthError::UnknownKey("c".into()))
        );
        assert_eq!(
            select(&set, Algorithm::Es256, Some("a"))
                .unwrap_err()
                .code(),
            "key_mismatch"
        );
    }

    #[test]
    fn pinned_key_refuses_other_algorithms_of_its_family() {
        let mut jwk = rsa_jwk("a", 2048);
        jwk["alg"] = json!("RS256");
        let set = keys(&[jwk]);
        assert!(select(&set, Algorithm::Rs256, Some("a")).is_ok());
        assert_eq!(
            select(&set, Algorithm::Ps256, Some("a")),
            Err(AuthError::KeyMismatch(
                "key \"a\" is pinned to RS256, token uses PS256".into()
            ))
        );
        assert_eq!(
            select(&set, Algorithm::Ps256, None).unwrap_err().code(),
            "no_unique_key"
        );
    }

    #[test]
    fn a_kid_is_not_used_when_no_key_has_one() {
        let secret = [VerifyingKey::hmac(&[1; 32]).unwrap()];
        assert!(select(&secret, Algorithm::Hs256, Some("any")).is_ok());
        let mut jwk = rsa_jwk("x", 2048);
        jwk.as_object_mut().unwrap().remove("kid");
        let unnamed = keys(&[jwk]);
        assert!(select(&unnamed, Algorithm::Rs256, Some("k1")).is_ok());
        let named = keys(&[rsa_jwk("a", 2048)]);
        assert_eq!(
            select(&named, Algorithm::Rs256, Some("k1"))
                .unwrap_err()
                .code(),
            "unknown_key"
        );
    }

    #[test]
    fn rsa_exponents_other_than_3_and_65537_are_refused() {
        let mut jwk = rsa_jwk("e", 2048);
        jwk["e"] = json!(base64url::encode(&[1, 0, 0, 0, 0, 1]));
        assert_eq!(
            read_jwk(&jwk).unwrap_err().reason,
            "RSA exponent must be 3 or 65537 (\"AQAB\")"
        );
        jwk["e"] = json!("Aw");
        assert!(read_jwk(&jwk).is_ok());
        jwk["e"] = json!("AAEAAQ");
        assert!(read_jwk(&jwk).is_ok());
    }

    #[test]
    fn without_kid_the_single_fitting_key_is_used() {
        let set = keys(&[rsa_jwk("r", 2048), ec_jwk("e")]);
        assert_eq!(
            select(&set, Algorithm::Es256, None).unwrap().kid.as_deref(),
            Some("e")
        );
        assert_eq!(
            select(&set, Algorithm::EdDsa, None),
            Err(AuthError::NoUniqueKey("no key fits EdDSA".into()))
        );
        let two = keys(&[rsa_jwk("a", 2048), rsa_jwk("b", 2048)]);
        assert!(matches!(
            select(&two, Algorithm::Rs256, None),
            Err(AuthError::NoUniqueKey(m)) if m.contains("several keys")
        ));
    }
}
