//! Signature checks on workerd's native Web Crypto (`crypto.subtle`).
//!
//! Each key is imported once per isolate and algorithm, and the `CryptoKey` reused; the
//! signing input and signature are passed as views of wasm memory, which `verify` copies
//! before it returns its promise (Web Crypto §14.3.4, "get a copy of the bytes").

use std::cell::RefCell;
use std::collections::HashMap;

use worker::js_sys::{self, Array, Promise, JSON};
use worker::wasm_bindgen;
use worker::wasm_bindgen::prelude::*;
use worker::wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;

use crate::auth::algorithm::Algorithm;
use crate::auth::base64url;
use crate::auth::keys::{KeyMaterial, VerifyingKey};
use crate::auth::SignatureCheck;

#[wasm_bindgen]
extern "C" {
    type Subtle;

    #[wasm_bindgen(thread_local_v2, js_namespace = crypto, js_name = subtle)]
    static SUBTLE: Subtle;

    #[wasm_bindgen(method, catch, js_name = importKey)]
    fn import_key(
        this: &Subtle,
        format: &str,
        key_data: &JsValue,
        algorithm: &JsValue,
        extractable: bool,
        usages: &Array,
    ) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn verify(
        this: &Subtle,
        algorithm: &JsValue,
        key: &JsValue,
        signature: &[u8],
        data: &[u8],
    ) -> Result<Promise, JsValue>;
}

/// Why a key could not be used.
#[derive(Debug)]
pub struct ImportFailed(pub String);

thread_local! {
    /// Imported keys by (key id, algorithm). Key ids are never reused, so an entry can only
    /// ever serve the key it was imported from.
    static KEYS: RefCell<HashMap<(u64, Algorithm), JsValue>> = RefCell::new(HashMap::new());
    /// The `algorithm` argument of `verify`, built once per algorithm.
    static VERIFY_PARAMS: RefCell<HashMap<Algorithm, JsValue>> = RefCell::new(HashMap::new());
}

/// Checks the signature. `Err` means the key itself could not be imported.
pub async fn verify_signature(check: &SignatureCheck<'_>) -> Result<bool, ImportFailed> {
    let key = import(check.key, check.alg).await?;
    let params = verify_params(check.alg);
    let promise = SUBTLE
        .with(|subtle| subtle.verify(&params, &key, check.signature, check.message))
        .map_err(|err| ImportFailed(describe(&err)))?;
    match JsFuture::from(promise).await {
        Ok(result) => Ok(result.as_bool() == Some(true)),
        // A signature Web Crypto cannot even parse is simply not valid.
        Err(_) => Ok(false),
    }
}

/// Forgets every imported key: called when a key set is replaced.
pub fn forget_keys(ids: &[u64]) {
    KEYS.with(|keys| keys.borrow_mut().retain(|(id, _), _| !ids.contains(id)));
}

/// Imports `key` for every algorithm of `algorithms` it fits, keeping the results. Web Crypto
/// checks what the JWK parser cannot (an EC point on its curve, an RSA key it supports), so a
/// key that fails here can never verify anything.
///
/// The error names the key: `key "kid": Web Crypto cannot import it: <reason>`.
pub async fn import_all(key: &VerifyingKey, algorithms: &[Algorithm]) -> Result<(), ImportFailed> {
    for alg in algorithms.iter().filter(|alg| key.fits(**alg)) {
        import(key, *alg).await.map_err(|err| {
            let name = key
                .kid
                .as_deref()
                .map_or("without kid".to_string(), |k| format!("{k:?}"));
            ImportFailed(format!(
                "key {name}: Web Crypto cannot import it: {}",
                err.0
            ))
        })?;
    }
    Ok(())
}

async fn import(key: &VerifyingKey, alg: Algorithm) -> Result<JsValue, ImportFailed> {
    let slot = (key.id, alg);
    if let Some(key) = KEYS.with(|keys| keys.borrow().get(&slot).cloned()) {
        return Ok(key);
    }

    let (format, data) = key_data(&key.material)?;
    let algorithm = parse_json(import_params(alg))?;
    let usages = Array::of1(&JsValue::from_str("verify"));
    let promise = SUBTLE
        .with(|subtle| subtle.import_key(format, &data, &algorithm, false, &usages))
        .map_err(|err| ImportFailed(describe(&err)))?;
    let key = JsFuture::from(promise)
        .await
        .map_err(|err| ImportFailed(describe(&err)))?;
    KEYS.with(|keys| keys.borrow_mut().insert(slot, key.clone()));
    Ok(key)
}

fn key_data(material: &KeyMaterial) -> Result<(&'static str, JsValue), ImportFailed> {
    let jwk = match material {
        KeyMaterial::Rsa { n, e } => serde_json::json!({
            "kty": "RSA", "n": base64url::encode(n), "e": base64url::encode(e)
        }),
        KeyMaterial::P256 { x, y } => serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": base64url::encode(x), "y": base64url::encode(y)
        }),
        KeyMaterial::Ed25519 { x } => serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "x": base64url::encode(x)
        }),
        KeyMaterial::Hmac { secret } => {
            return Ok(("raw", js_sys::Uint8Array::from(secret.as_slice()).into()))
        }
    };
    Ok(("jwk", parse_json(&jwk.to_string())?))
}

fn import_params(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::Rs256 => r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-256"}"#,
        Algorithm::Ps256 => r#"{"name":"RSA-PSS","hash":"SHA-256"}"#,
        Algorithm::Es256 => r#"{"name":"ECDSA","namedCurve":"P-256"}"#,
        Algorithm::EdDsa => r#"{"name":"Ed25519"}"#,
        Algorithm::Hs256 => r#"{"name":"HMAC","hash":"SHA-256"}"#,
    }
}

/// RFC 7518 §3.5 fixes the PSS salt length to the hash size; JWS ECDSA uses the raw `r || s`
/// form that Web Crypto also uses, so no conversion is needed.
fn verify_params(alg: Algorithm) -> JsValue {
    VERIFY_PARAMS.with(|cache| {
        cache
            .borrow_mut()
            .entry(alg)
            .or_insert_with(|| {
                let text = match alg {
                    Algorithm::Rs256 => r#"{"name":"RSASSA-PKCS1-v1_5"}"#,
                    Algorithm::Ps256 => r#"{"name":"RSA-PSS","saltLength":32}"#,
                    Algorithm::Es256 => r#"{"name":"ECDSA","hash":"SHA-256"}"#,
                    Algorithm::EdDsa => r#"{"name":"Ed25519"}"#,
                    Algorithm::Hs256 => r#"{"name":"HMAC"}"#,
                };
                JSON::parse(text).unwrap_or(JsValue::UNDEFINED)
            })
            .clone()
    })
}

fn parse_json(text: &str) -> Result<JsValue, ImportFailed> {
    JSON::parse(text).map_err(|err| ImportFailed(describe(&err)))
}

fn describe(err: &JsValue) -> String {
    err.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| "unknown Web Crypto error".into())
}
