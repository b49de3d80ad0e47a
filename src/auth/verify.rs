//! Signature verification with jwt-compact's pure-Rust algorithms.
//!
//! This is the verifier the host tests run. Inside the Worker, Web Crypto does the same job
//! many times faster; building with the `native-verify` feature puts this one there instead,
//! so both can be run on the same tokens.

use std::borrow::Cow;

use jwt_compact::alg::{Ed25519, Es256, Hs256, Hs256Key, Rsa, RsaPublicKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::AlgorithmSignature;

use super::algorithm::Algorithm;
use super::keys::KeyMaterial;
use super::SignatureCheck;

/// Whether `check.signature` is a valid signature of `check.message`.
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
        (Algorithm::Hs256, KeyMaterial::Hmac { secret }) => {
            run(&Hs256, &Hs256Key::new(secret), check)
        }
        _ => false,
    }
}

fn run<A: jwt_compact::Algorithm>(alg: &A, key: &A::VerifyingKey, check: &SignatureCheck) -> bool {
    match A::Signature::try_from_slice(check.signature) {
        Ok(signature) => alg.verify_signature(&signature, key, check.message),
        Err(_) => false,
    }
}
