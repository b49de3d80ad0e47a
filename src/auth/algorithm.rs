//! The JWS algorithms sitegate verifies ([RFC 7518 §3], [RFC 8037 §3.1]).
//!
//! [RFC 7518 §3]: https://www.rfc-editor.org/rfc/rfc7518#section-3
//! [RFC 8037 §3.1]: https://www.rfc-editor.org/rfc/rfc8037#section-3.1

use std::fmt;

/// A signature algorithm named by a token's `alg` header.
///
/// Names are matched exactly, as RFC 7515 §4.1.1 makes them case-sensitive: `none`, `None` and
/// `NONE` are all simply unknown, and no spelling of "unsecured" is ever accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256, salt length 32.
    Ps256,
    /// ECDSA on P-256 with SHA-256; the signature is `r || s`, 64 bytes.
    Es256,
    /// Ed25519 (RFC 8037); the signature is 64 bytes.
    EdDsa,
    /// HMAC with SHA-256 over a shared secret.
    Hs256,
}

/// The kind of key an [`Algorithm`] needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    /// An RSA public key (`kty: RSA`).
    Rsa,
    /// A P-256 public key (`kty: EC`, `crv: P-256`).
    P256,
    /// An Ed25519 public key (`kty: OKP`, `crv: Ed25519`).
    Ed25519,
    /// A shared secret.
    Hmac,
}

impl Algorithm {
    /// Every algorithm sitegate knows, in a stable order.
    pub const ALL: [Algorithm; 5] = [
        Algorithm::Rs256,
        Algorithm::Ps256,
        Algorithm::Es256,
        Algorithm::EdDsa,
        Algorithm::Hs256,
    ];

    /// Parses an `alg` value exactly as registered.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|alg| alg.name() == name)
    }

    /// The registered `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Ps256 => "PS256",
            Algorithm::Es256 => "ES256",
            Algorithm::EdDsa => "EdDSA",
            Algorithm::Hs256 => "HS256",
        }
    }

    /// The key family this algorithm verifies with.
    pub fn key_family(self) -> KeyFamily {
        match self {
            Algorithm::Rs256 | Algorithm::Ps256 => KeyFamily::Rsa,
            Algorithm::Es256 => KeyFamily::P256,
            Algorithm::EdDsa => KeyFamily::Ed25519,
            Algorithm::Hs256 => KeyFamily::Hmac,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
        for name in [
            "none", "None", "NONE", "rs256", "RS384", "ES384", "eddsa", "",
        ] {
            assert_eq!(Algorithm::from_name(name), None, "{name}");
        }
    }

    #[test]
    fn each_algorithm_needs_its_own_key_family() {
        assert_eq!(Algorithm::Rs256.key_family(), KeyFamily::Rsa);
        assert_eq!(Algorithm::Ps256.key_family(), KeyFamily::Rsa);
        assert_eq!(Algorithm::Es256.key_family(), KeyFamily::P256);
        assert_eq!(Algorithm::EdDsa.key_family(), KeyFamily::Ed25519);
        assert_eq!(Algorithm::Hs256.key_family(), KeyFamily::Hmac);
    }
}
