//! Signature verification with jwt-compact's pure-Rust algorithms.
//!
//! [`verify`] is the verifier the host tests run. Inside the Worker, Web Crypto checks the
//! public-key signatures many times faster; building with the `native-verify` feature puts
//! this one there instead, so both can be run on the same tokens. HS256 is the exception:
//! an HMAC costs a few microseconds in wasm, less than a round trip to Web Crypto's Promise,
//! so [`verify_hmac`] serves the Worker too.

#[cfg(any(test, feature = "native-verify"))]
use std::borrow::Cow;

#[cfg(any(test, feature = "native-verify"))]
use jwt_compact::alg::{Ed25519, Es256, Rsa, RsaPublicKey};
use jwt_compact::alg::{Hs256, Hs256Key};
#[cfg(any(test, feature = "native-verify"))]
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::AlgorithmSignature;

use super::algorithm::Algorithm;
use super::keys::KeyMaterial;
use super::SignatureCheck;

/// Whether `check` is a valid HS256 signature (compared in constant time). Any other
/// algorithm or key gives `false`.
pub fn verify_hmac(check: &SignatureCheck<'_>) -> bool {
    match (check.alg, &check.key.material) {
        (Algorithm::Hs256, KeyMaterial::Hmac { secret }) => {
            run(&Hs256, &Hs256Key::new(secret), check)
        }
        _ => false,
    }
}

/// Whether `check.signature` is a valid signature of `check.message`.
#[cfg(any(test, feature = "native-verify"))]
pub fn verify(check: &SignatureCheck<'_>) -> bool {
    match (check.alg, &check.key.material) {
        (Algorithm::Rs256 | Algorithm::Ps256, KeyMaterial::Rsa { n, e }) => {
            let jwk = JsonWebKey::Rsa {
                modulus: Cow::Borrowed(n),
                public_exponent: Cow::Borrowed(e),
                private_parts: None,
            };
            let Ok(key) = RsaPublicKey::try_from(&jwk) else {
                return false;
            };
            let rsa = if check.alg == Algorithm::Rs256 {
                Rsa::rs256()
            } else {
                Rsa::ps256()
            };
            run(&rsa, &key, check)
        }
        (Algorithm::Es256, KeyMaterial::P256 { x, y }) => {
            let jwk = JsonWebKey::EllipticCurve {
                curve: Cow::Borrowed("P-256"),
                x: Cow::Borrowed(x),
                y: Cow::Borrowed(y),
                secret: None,
            };
            let Ok(key) = <Es256 as jwt_compact::Algorithm>::VerifyingKey::try_from(&jwk) else {
                return false;
            };
            run(&Es256, &key, check)
        }
        (Algorithm::EdDsa, KeyMaterial::Ed25519 { x }) => {
            let jwk = JsonWebKey::KeyPair {
                curve: Cow::Borrowed("Ed25519"),
                x: Cow::Borrowed(x),
                secret: None,
            };
            let Ok(key) = <Ed25519 as jwt_compact::Algorithm>::VerifyingKey::try_from(&jwk) else {
                return false;
            };
            run(&Ed25519, &key, check)
        }
        (Algorithm::Hs256, KeyMaterial::Hmac { .. }) => verify_hmac(check),
        _ => false,
    }
}

fn run<A: jwt_compact::Algorithm>(alg: &A, key: &A::VerifyingKey, check: &SignatureCheck) -> bool {
    // Some signature types panic on a slice of the wrong length; jwt-compact's own
    // validator checks the length first, and so must a caller of the trait.
    if A::Signature::LENGTH.is_some_and(|len| len.get() != check.signature.len()) {
        return false;
    }
    match A::Signature::try_from_slice(check.signature) {
        Ok(signature) => alg.verify_signature(&signature, key, check.message),
        Err(_) => false,
    }
}
