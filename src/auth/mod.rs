//! Authentication: from an `Authorization` header to a [`UserIdentity`].
//!
//! The pipeline is split where the signature check happens, because that check is
//! asynchronous inside the Worker (Web Crypto) and synchronous on the host (jwt-compact):
//!
//! 1. [`header::bearer_token`] reads the header;
//! 2. [`Authenticator::inspect`] parses the token, finds its provider by `iss` and checks the
//!    algorithm against the provider's allowlist;
//! 3. [`Inspected::with_keys`] chooses the key from the provider's key set;
//! 4. the caller checks [`Pending::signature_check`] with a verifier;
//! 5. [`Pending::accept`] checks the time claims and the audience and builds the identity.

pub mod algorithm;
pub mod base64url;
pub mod cache;
pub mod claims;
pub mod error;
pub mod header;
pub mod identity;
pub mod keys;
pub mod remote;
pub mod token;
pub mod verify;

use self::algorithm::{Algorithm, KeyFamily};
use self::claims::Clock;
use self::error::AuthError;
use self::identity::UserIdentity;
use self::keys::{KeyMaterial, VerifyingKey};
use self::token::ParsedToken;

/// What a route does with the `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthPolicy {
    /// The header is not read; the identity is always `None`.
    Public,
    /// No header gives `None`; a header that fails any check is a 401.
    Optional,
    /// No header is a 401, and so is a header that fails any check.
    Required,
}

/// What a handler knows about the caller.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuthContext {
    identity: Option<UserIdentity>,
}

impl AuthContext {
    /// A caller without a token, or on a public route.
    pub fn anonymous() -> AuthContext {
        AuthContext { identity: None }
    }

    /// A caller whose token was verified.
    pub fn authenticated(identity: UserIdentity) -> AuthContext {
        AuthContext {
            identity: Some(identity),
        }
    }

    /// The caller's identity: `None` only when no token was sent (or the route is public).
    pub fn user_identity(&self) -> Option<&UserIdentity> {
        self.identity.as_ref()
    }
}

/// Where a provider's keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Keys given in the configuration (a JWKS, or an HS256 secret binding).
    Static(Vec<VerifyingKey>),
    /// Keys fetched from the provider's JWKS URL and cached.
    Remote(remote::RemoteKeys),
}

/// A trusted token issuer.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The `iss` value, compared exactly: `https://a.example/` and `https://a.example` differ.
    pub issuer: String,
    /// Accepted `aud` values; empty means `aud` is not checked.
    pub audiences: Vec<String>,
    /// The algorithms this provider's tokens may use.
    pub algorithms: Vec<Algorithm>,
    /// The verification keys.
    pub keys: KeySource,
}

/// Checks bearer tokens against the configured providers.
#[derive(Debug, Clone)]
pub struct Authenticator {
    providers: Vec<Provider>,
    leeway_seconds: u32,
}

impl Authenticator {
    /// An authenticator for `providers`, tolerating `leeway_seconds` of clock skew.
    pub fn new(providers: Vec<Provider>, leeway_seconds: u32) -> Authenticator {
        Authenticator {
            providers,
            leeway_seconds,
        }
    }

    /// The configured providers.
    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    /// The tolerated clock skew in seconds.
    pub fn leeway_seconds(&self) -> u32 {
        self.leeway_seconds
    }

    /// Parses `token` and finds the provider that must have signed it.
    pub fn inspect<'a>(&'a self, token: &'a str) -> Result<Inspected<'a>, AuthError> {
        let parsed = token::parse(token)?;
        let issuer = claims::required_string(&parsed.claims, "iss")?;
        let provider = self
            .providers
            .iter()
            .find(|provider| provider.issuer == issuer)
            .ok_or_else(|| AuthError::UnknownIssuer(token::truncate(issuer)))?;

        let alg = parsed.header.alg;
        if !provider.algorithms.contains(&alg) {
            return Err(AuthError::AlgorithmNotAllowed {
                alg: alg.name().to_string(),
                issuer: provider.issuer.clone(),
            });
        }

        Ok(Inspected {
            token: parsed,
            provider,
            leeway: f64::from(self.leeway_seconds),
        })
    }
}

/// A parsed token whose provider is known, waiting for its key.
#[derive(Debug)]
pub struct Inspected<'a> {
    token: ParsedToken<'a>,
    provider: &'a Provider,
    leeway: f64,
}

impl<'a> Inspected<'a> {
    /// The provider named by the token's `iss`.
    pub fn provider(&self) -> &'a Provider {
        self.provider
    }

    /// The token's `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.token.header.kid.as_deref()
    }

    /// Chooses the key from `keys` and checks the signature's shape against it.
    pub fn with_keys<'k>(self, keys: &'k [VerifyingKey]) -> Result<Pending<'a, 'k>, AuthError> {
        let alg = self.token.header.alg;
        let key = keys::select(keys, alg, self.kid())?;
        check_signature_shape(alg, &key.material, &self.token.signature)?;
        Ok(Pending {
            token: self.token,
            provider: self.provider,
            key,
            leeway: self.leeway,
        })
    }
}

/// Refuses signatures that cannot be valid for the key before any cryptography runs: ECDSA
/// and Ed25519 signatures are exactly 64 bytes (a DER-encoded ECDSA signature is not a JWS
/// signature, RFC 7518 §3.4), and an ECDSA `r` or `s` of zero is never valid (the flaw behind
/// CVE-2022-21449 was accepting them).
fn check_signature_shape(
    alg: Algorithm,
    key: &KeyMaterial,
    signature: &[u8],
) -> Result<(), AuthError> {
    let expected = match (alg.key_family(), key) {
        (KeyFamily::Rsa, KeyMaterial::Rsa { n, .. }) => n.iter().skip_while(|b| **b == 0).count(),
        (KeyFamily::P256 | KeyFamily::Ed25519, _) => 64,
        (KeyFamily::Hmac, _) => 32,
        _ => return Err(AuthError::InvalidSignature),
    };
    if signature.len() != expected {
        return Err(AuthError::InvalidSignature);
    }
    if alg == Algorithm::Es256 {
        let (r, s) = signature.split_at(32);
        if r.iter().all(|b| *b == 0) || s.iter().all(|b| *b == 0) {
            return Err(AuthError::InvalidSignature);
        }
    }
    Ok(())
}

/// What a verifier must check: `signature` over `message` with `key` under `alg`.
#[derive(Debug, Clone, Copy)]
pub struct SignatureCheck<'c> {
    /// The algorithm.
    pub alg: Algorithm,
    /// The key.
    pub key: &'c VerifyingKey,
    /// The JWS signing input.
    pub message: &'c [u8],
    /// The signature bytes.
    pub signature: &'c [u8],
}

/// A token with its key chosen, waiting for the signature check.
#[derive(Debug)]
pub struct Pending<'a, 'k> {
    token: ParsedToken<'a>,
    provider: &'a Provider,
    key: &'k VerifyingKey,
    leeway: f64,
}

impl Pending<'_, '_> {
    /// What the verifier must check.
    pub fn signature_check(&self) -> SignatureCheck<'_> {
        SignatureCheck {
            alg: self.token.header.alg,
            key: self.key,
            message: self.token.signing_input.as_bytes(),
            signature: &self.token.signature,
        }
    }

    /// The key that will verify the token.
    pub fn key(&self) -> &VerifyingKey {
        self.key
    }

    /// The token's `exp`, when it is a finite number.
    pub fn expires_at(&self) -> Option<f64> {
        self.token.claims.get("exp").and_then(|exp| exp.as_f64())
    }

    /// Finishes authentication once the signature was checked: `signature_valid` is the
    /// verifier's answer. Time claims and audience are checked at `now` (Unix seconds).
    pub fn accept(self, signature_valid: bool, now: f64) -> Result<UserIdentity, AuthError> {
        if !signature_valid {
            return Err(AuthError::InvalidSignature);
        }
        let claims = &self.token.claims;
        let clock = Clock {
            now,
            leeway: self.leeway,
        };
        claims::check_times(claims, clock)?;
        claims::check_audience(claims, &self.provider.audiences)?;
        let subject = claims::required_string(claims, "sub")?;
        Ok(UserIdentity::from_claims(
            &self.provider.issuer,
            subject,
            claims,
        ))
    }
}

#[cfg(test)]
pub(crate) mod tests;
