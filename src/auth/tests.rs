//! End-to-end checks of the authentication pipeline with tokens signed here.

use std::sync::OnceLock;

use jwt_compact::alg::{self, Ed25519, Es256, Hs256, Hs256Key, ModulusBits, Rsa, StrongKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{Algorithm as _, AlgorithmSignature as _};
use rand_core::OsRng;
use serde_json::{json, Value};

use super::*;

pub(crate) const ISSUER: &str = "https://issuer.test/";
pub(crate) const AUDIENCE: &str = "api://sitegate";
pub(crate) const NOW: f64 = 1_800_000_000.0;
pub(crate) const HMAC_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

/// Signing keys for every algorithm, generated once per test run.
pub(crate) struct Signers {
    rsa: alg::RsaPrivateKey,
    pub rsa_jwk: Value,
    ec: <Es256 as jwt_compact::Algorithm>::SigningKey,
    pub ec_jwk: Value,
    ed: <Ed25519 as jwt_compact::Algorithm>::SigningKey,
    pub ed_jwk: Value,
}

pub(crate) fn signers() -> &'static Signers {
    static SIGNERS: OnceLock<Signers> = OnceLock::new();
    SIGNERS.get_or_init(|| {
        let (rsa, rsa_public) = Rsa::generate(&mut OsRng, ModulusBits::TwoKibibytes).unwrap();
        let rsa = StrongKey::into_inner(rsa);
        let mut rsa_jwk = serde_json::to_value(JsonWebKey::from(rsa_public.as_ref())).unwrap();
        rsa_jwk["kid"] = json!("rsa-1");

        let mut seed = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut seed);
        let ec =
            <<Es256 as jwt_compact::Algorithm>::SigningKey as alg::SigningKey<Es256>>::from_slice(
                &seed,
            )
            .unwrap();
        let ec_public = alg::SigningKey::<Es256>::to_verifying_key(&ec);
        let mut ec_jwk = serde_json::to_value(JsonWebKey::from(&ec_public)).unwrap();
        ec_jwk["kid"] = json!("ec-1");

        let (ed, ed_public) = Ed25519::generate(&mut OsRng);
        let mut ed_jwk = serde_json::to_value(JsonWebKey::from(&ed_public)).unwrap();
        ed_jwk["kid"] = json!("ed-1");

        Signers {
            rsa,
            rsa_jwk,
            ec,
            ec_jwk,
            ed,
            ed_jwk,
        }
    })
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        base64url::encode(header.to_string().as_bytes()),
        base64url::encode(claims.to_string().as_bytes())
    )
}

/// An HS256 token signed with any `secret`, as an attacker would make one.
fn hs256_with(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    let mac = Hs256.sign(&Hs256Key::new(secret), input.as_bytes());
    format!("{input}.{}", base64url::encode(&mac.as_bytes()))
}

/// Builds a signed token from raw header and claims JSON.
pub(crate) fn sign(alg: Algorithm, header: &Value, claims: &Value) -> String {
    let s = signers();
    let input = signing_input(header, claims);
    let message = input.as_bytes();
    let signature: Vec<u8> = match alg {
        Algorithm::Rs256 => Rsa::rs256().sign(&s.rsa, message).as_bytes().into_owned(),
        Algorithm::Ps256 => Rsa::ps256().sign(&s.rsa, message).as_bytes().into_owned(),
        Algorithm::Es256 => Es256.sign(&s.ec, message).as_bytes().into_owned(),
        Algorithm::EdDsa => Ed25519.sign(&s.ed, message).as_bytes().into_owned(),
        Algorithm::Hs256 => Hs256
            .sign(&Hs256Key::new(HMAC_SECRET), message)
            .as_bytes()
            .into_owned(),
    };
    format!("{input}.{}", base64url::encode(&signature))
}

pub(crate) fn good_claims() -> Value {
    json!({"iss": ISSUER, "sub": "user-1", "aud": AUDIENCE, "exp": NOW + 600.0,
           "iat": NOW - 10.0, "email": "u@example.com"})
}

fn kid_of(alg: Algorithm) -> Option<&'static str> {
    match alg {
        Algorithm::Rs256 | Algorithm::Ps256 => Some("rsa-1"),
        Algorithm::Es256 => Some("ec-1"),
        Algorithm::EdDsa => Some("ed-1"),
        Algorithm::Hs256 => None,
    }
}

pub(crate) fn token(alg: Algorithm, claims: &Value) -> String {
    let mut header = json!({"alg": alg.name(), "typ": "JWT"});
    if let Some(kid) = kid_of(alg) {
        header["kid"] = json!(kid);
    }
    sign(alg, &header, claims)
}

fn jwks_keys() -> Vec<VerifyingKey> {
    let s = signers();
    let read = keys::read_jwks(&json!({"keys": [s.rsa_jwk, s.ec_jwk, s.ed_jwk]})).unwrap();
    assert!(read.rejected.is_empty());
    read.keys
}

pub(crate) fn authenticator() -> Authenticator {
    let jwks = Provider {
        issuer: ISSUER.into(),
        audiences: vec![AUDIENCE.into()],
        algorithms: vec![
            Algorithm::Rs256,
            Algorithm::Ps256,
            Algorithm::Es256,
            Algorithm::EdDsa,
        ],
        keys: KeySource::Static(jwks_keys()),
    };
    let hmac = Provider {
        issuer: "https://hmac.test".into(),
        audiences: vec![],
        algorithms: vec![Algorithm::Hs256],
        keys: KeySource::Static(vec![VerifyingKey::hmac(HMAC_SECRET).unwrap()]),
    };
    Authenticator::new(vec![jwks, hmac], 60)
}

fn static_keys(provider: &Provider) -> &[VerifyingKey] {
    match &provider.keys {
        KeySource::Static(keys) => keys,
        KeySource::Remote(_) => panic!("remote keys are fetched by the Worker"),
    }
}

/// Runs the whole pipeline with the jwt-compact verifier.
pub(crate) fn authenticate(auth: &Authenticator, token: &str) -> Result<UserIdentity, AuthError> {
    let inspected = auth.inspect(token)?;
    let keys = static_keys(inspected.provider());
    let pending = inspected.with_keys(keys)?;
    let valid = verify::verify(&pending.signature_check());
    pending.accept(valid, NOW)
}

fn tamper(token: &str) -> String {
    let (input, _) = token.rsplit_once('.').unwrap();
    let mut claims = good_claims();
    claims["sub"] = json!("admin");
    let (header, _) = input.split_once('.').unwrap();
    let forged = base64url::encode(claims.to_string().as_bytes());
    format!("{header}.{forged}.{}", token.rsplit_once('.').unwrap().1)
}

#[test]
fn every_algorithm_verifies_and_yields_the_identity() {
    let auth = authenticator();
    for alg in [
        Algorithm::Rs256,
        Algorithm::Ps256,
        Algorithm::Es256,
        Algorithm::EdDsa,
    ] {
        let identity = authenticate(&auth, &token(alg, &good_claims())).unwrap();
        assert_eq!(
            identity.token_identifier,
            format!("{ISSUER}|user-1"),
            "{alg}"
        );
        assert_eq!(identity.get("email"), Some(&json!("u@example.com")));
    }
    let mut claims = good_claims();
    claims["iss"] = json!("https://hmac.test");
    let identity = authenticate(&auth, &token(Algorithm::Hs256, &claims)).unwrap();
    assert_eq!(identity.issuer, "https://hmac.test");
}

#[test]
fn tampered_claims_fail_the_signature_for_every_algorithm() {
    let auth = authenticator();
    for alg in [
        Algorithm::Rs256,
        Algorithm::Ps256,
        Algorithm::Es256,
        Algorithm::EdDsa,
    ] {
        let forged = tamper(&token(alg, &good_claims()));
        assert_eq!(
            authenticate(&auth, &forged),
            Err(AuthError::InvalidSignature),
            "{alg}"
        );
    }
}

#[test]
fn wrong_issuer_and_audience_are_refused() {
    let auth = authenticator();
    let mut claims = good_claims();
    claims["iss"] = json!("https://issuer.test");
    assert_eq!(
        authenticate(&auth, &token(Algorithm::Rs256, &claims)),
        Err(AuthError::UnknownIssuer("https://issuer.test".into()))
    );
    let mut claims = good_claims();
    claims["aud"] = json!("someone-else");
    assert_eq!(
        authenticate(&auth, &token(Algorithm::Es256, &claims))
            .unwrap_err()
            .code(),
        "invalid_audience"
    );
    let mut claims = good_claims();
    claims.as_object_mut().unwrap().remove("aud");
    assert_eq!(
        authenticate(&auth, &token(Algorithm::Es256, &claims)),
        Err(AuthError::MissingAudience)
    );
    let mut claims = good_claims();
    claims["aud"] = json!(["https://issuer.test/userinfo", AUDIENCE]);
    assert!(authenticate(&auth, &token(Algorithm::Es256, &claims)).is_ok());
}

#[test]
fn expired_and_not_yet_valid_tokens_are_refused() {
    let auth = authenticator();
    let mut claims = good_claims();
    claims["exp"] = json!(NOW - 61.0);
    assert_eq!(
        authenticate(&auth, &token(Algorithm::EdDsa, &claims)),
        Err(AuthError::Expired)
    );
    claims["exp"] = json!(NOW - 59.0);
    assert!(authenticate(&auth, &token(Algorithm::EdDsa, &claims)).is_ok());
    let mut claims = good_claims();
    claims["nbf"] = json!(NOW + 61.0);
    assert_eq!(
        authenticate(&auth, &token(Algorithm::EdDsa, &claims)),
        Err(AuthError::NotYetValid("nbf".into()))
    );
}

#[test]
fn algorithm_outside_the_allowlist_is_refused_before_key_choice() {
    let auth = authenticator();
    // An HS256 token claiming the JWKS provider's issuer, signed with the RSA key's public
    // JWK text as the secret: the classic algorithm-confusion attack.
    let header = json!({"alg": "HS256", "kid": "rsa-1"});
    let secret = signers().rsa_jwk.to_string();
    let forged = hs256_with(secret.as_bytes(), &header, &good_claims());
    assert_eq!(
        authenticate(&auth, &forged),
        Err(AuthError::AlgorithmNotAllowed {
            alg: "HS256".into(),
            issuer: ISSUER.into()
        })
    );
}

#[test]
fn a_kid_naming_a_key_of_another_type_is_a_mismatch() {
    let auth = authenticator();
    let header = json!({"alg": "ES256", "kid": "rsa-1"});
    let forged = sign(Algorithm::Es256, &header, &good_claims());
    assert_eq!(
        authenticate(&auth, &forged).unwrap_err().code(),
        "key_mismatch"
    );
}

#[test]
fn unknown_kid_is_reported() {
    let auth = authenticator();
    let forged = sign(
        Algorithm::Es256,
        &json!({"alg": "ES256", "kid": "../../x"}),
        &good_claims(),
    );
    assert_eq!(
        authenticate(&auth, &forged),
        Err(AuthError::UnknownKey("../../x".into()))
    );
}

#[test]
fn token_without_kid_uses_the_single_fitting_key() {
    let auth = authenticator();
    let t = sign(Algorithm::EdDsa, &json!({"alg": "EdDSA"}), &good_claims());
    assert!(authenticate(&auth, &t).is_ok());
    // RS256 and PS256 both fit the one RSA key, so it is still unique.
    let t = sign(Algorithm::Ps256, &json!({"alg": "PS256"}), &good_claims());
    assert!(authenticate(&auth, &t).is_ok());
}

#[test]
fn ecdsa_zero_and_der_signatures_are_refused_before_verification() {
    let auth = authenticator();
    let good = token(Algorithm::Es256, &good_claims());
    let input = good.rsplit_once('.').unwrap().0;
    let zero = format!("{input}.{}", base64url::encode(&[0u8; 64]));
    assert_eq!(authenticate(&auth, &zero), Err(AuthError::InvalidSignature));
    let mut der = vec![0x30, 0x44, 0x02, 0x20];
    der.extend([1u8; 32]);
    der.extend([0x02, 0x20]);
    der.extend([1u8; 32]);
    let der = format!("{input}.{}", base64url::encode(&der));
    assert_eq!(authenticate(&auth, &der), Err(AuthError::InvalidSignature));
}

#[test]
fn missing_subject_is_an_invalid_claim() {
    let auth = authenticator();
    let mut claims = good_claims();
    claims.as_object_mut().unwrap().remove("sub");
    assert_eq!(
        authenticate(&auth, &token(Algorithm::Rs256, &claims)),
        Err(AuthError::InvalidClaim("token has no sub claim".into()))
    );
}

#[test]
fn a_signature_from_another_key_is_invalid() {
    let auth = authenticator();
    let mut claims = good_claims();
    claims["iss"] = json!("https://hmac.test");
    let header = json!({"alg": "HS256"});
    let forged = hs256_with(b"another secret of thirty-two by", &header, &claims);
    assert_eq!(
        authenticate(&auth, &forged),
        Err(AuthError::InvalidSignature)
    );
}

#[test]
fn the_hmac_verifier_refuses_other_lengths_without_panicking() {
    let key = VerifyingKey::hmac(HMAC_SECRET).unwrap();
    for len in [0, 31, 33, 64] {
        let signature = vec![0u8; len];
        let check = SignatureCheck {
            alg: Algorithm::Hs256,
            key: &key,
            message: b"a.b",
            signature: &signature,
        };
        assert!(!verify::verify_hmac(&check), "{len}");
        assert!(!verify::verify(&check), "{len}");
    }
}
