//! Fetching providers' published keys with the Workers `fetch`, under the rules of
//! [`crate::auth::remote`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use worker::js_sys::{Array, Uint8Array};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{console_log, console_warn};

use super::js;

use crate::auth::error::AuthError;
use crate::auth::keys::VerifyingKey;
use crate::auth::remote::{
    discovery_url, read_discovery_response, read_jwks_response, FetchError, Fetched, KeyState,
    Plan, RemoteKeys, MAX_DOCUMENT_BYTES,
};
use crate::auth::Provider;

/// How often a request waiting for another request's fetch looks again.
const POLL: Duration = Duration::from_millis(25);

thread_local! {
    static STATES: RefCell<HashMap<String, KeyState>> = RefCell::new(HashMap::new());
}

fn with_state<T>(issuer: &str, f: impl FnOnce(&mut KeyState) -> T) -> T {
    STATES.with(|states| f(states.borrow_mut().entry(issuer.to_string()).or_default()))
}

fn now() -> f64 {
    worker::js_sys::Date::now() / 1000.0
}

/// The provider's current keys for a token with `kid`, fetching them when the rules say so.
/// `on_replace` receives the ids of keys a new set replaced.
pub async fn keys_for(
    provider: &Provider,
    settings: &RemoteKeys,
    kid: Option<&str>,
    on_replace: impl Fn(&[u64]),
) -> Result<Rc<Vec<VerifyingKey>>, AuthError> {
    let issuer = provider.issuer.as_str();
    let mut fetched = false;
    let deadline = now() + settings.timeout + 2.0;
    loop {
        let at = now();
        match with_state(issuer, |state| state.plan(settings, kid, at)) {
            Plan::Use(keys) => return Ok(keys),
            Plan::Unavailable { retry_after } => {
                return Err(AuthError::KeysUnavailable { retry_after })
            }
            Plan::Wait if at < deadline => worker::Delay::from(POLL).await,
            Plan::Wait => {
                return Err(AuthError::KeysUnavailable {
                    retry_after: settings.cooldown.ceil() as u32,
                })
            }
            Plan::Fetch if fetched => {
                // This request already fetched once; it does not start a second fetch.
                return with_state(issuer, |state| state.current()).ok_or(
                    AuthError::KeysUnavailable {
                        retry_after: settings.cooldown.ceil() as u32,
                    },
                );
            }
            Plan::Fetch => {
                fetched = true;
                with_state(issuer, |state| state.begin_fetch(at));
                refresh(provider, settings, &on_replace).await;
            }
        }
    }
}

async fn refresh(provider: &Provider, settings: &RemoteKeys, on_replace: &impl Fn(&[u64])) {
    let issuer = provider.issuer.as_str();
    let started = now();
    match fetch_key_set(provider, settings).await {
        Ok((keys, dropped, ttl)) => {
            let count = keys.len();
            let replaced = with_state(issuer, |state| state.fetch_succeeded(keys, ttl, now()));
            on_replace(&replaced);
            console_log!(
                "{}",
                serde_json::json!({"event": "jwks_fetched", "issuer": issuer, "keys": count,
                                   "dropped": dropped, "ttl": ttl,
                                   "ms": (now() - started) * 1000.0})
            );
        }
        Err(FetchError(why)) => {
            with_state(issuer, |state| state.fetch_failed());
            console_warn!(
                "{}",
                serde_json::json!({"event": "jwks_fetch_failed", "issuer": issuer,
                                   "message": why, "ms": (now() - started) * 1000.0})
            );
        }
    }
}

type KeySet = (Vec<VerifyingKey>, Vec<String>, f64);

async fn fetch_key_set(provider: &Provider, settings: &RemoteKeys) -> Result<KeySet, FetchError> {
    let url = match &settings.jwks_url {
        Some(url) => url.clone(),
        None => match with_state(&provider.issuer, |state| {
            state.discovered_url().map(String::from)
        }) {
            Some(url) => url,
            None => {
                let document = get(&discovery_url(&provider.issuer), settings).await?;
                let url = read_discovery_response(&document.view(), &provider.issuer)?;
                with_state(&provider.issuer, |state| {
                    state.set_discovered_url(url.clone())
                });
                url
            }
        },
    };
    let document = get(&url, settings).await?;
    let (read, ttl) = read_jwks_response(&document.view(), settings)?;
    let mut dropped: Vec<String> = read.rejected.iter().map(ToString::to_string).collect();
    let mut keys = Vec::with_capacity(read.keys.len());
    for key in read.keys {
        match importable(&key, &provider.algorithms).await {
            Ok(()) => keys.push(key),
            Err(why) => dropped.push(why),
        }
    }
    if keys.is_empty() {
        return Err(FetchError(format!(
            "JWKS has no usable keys: {}",
            dropped.join("; ")
        )));
    }
    Ok((keys, dropped, ttl))
}

#[cfg(not(feature = "native-verify"))]
async fn importable(
    key: &VerifyingKey,
    algorithms: &[crate::auth::algorithm::Algorithm],
) -> Result<(), String> {
    super::crypto::import_all(key, algorithms)
        .await
        .map_err(|err| err.0)
}

#[cfg(feature = "native-verify")]
async fn importable(
    _: &VerifyingKey,
    _: &[crate::auth::algorithm::Algorithm],
) -> Result<(), String> {
    Ok(())
}

struct Document {
    status: u16,
    content_type: Option<String>,
    cache_control: Option<String>,
    body: Vec<u8>,
}

impl Document {
    fn view(&self) -> Fetched<'_> {
        Fetched {
            status: self.status,
            content_type: self.content_type.as_deref(),
            cache_control: self.cache_control.as_deref(),
            body: &self.body,
        }
    }
}

/// GETs `url` without following redirects, abandoning it after the timeout.
async fn get(url: &str, settings: &RemoteKeys) -> Result<Document, FetchError> {
    let milliseconds = (settings.timeout * 1000.0).round() as u32;
    let limit = MAX_DOCUMENT_BYTES as u32;
    let answer = JsFuture::from(js::fetch_document(url, milliseconds, limit))
        .await
        .map_err(|_| FetchError(format!("GET {url}: the fetch failed")))?;
    let answer = Array::from(&answer);
    let text = |index: u32| answer.get(index).as_string().filter(|s| !s.is_empty());

    let status = answer.get(0).as_f64().unwrap_or(0.0) as u16;
    if let Some(error) = text(4) {
        let why = if error == "timeout" {
            format!("no answer within {} s", settings.timeout)
        } else {
            error
        };
        return Err(FetchError(format!("GET {url}: {why}")));
    }
    Ok(Document {
        status,
        content_type: text(1),
        cache_control: text(2),
        body: Uint8Array::from(answer.get(3)).to_vec(),
    })
}
