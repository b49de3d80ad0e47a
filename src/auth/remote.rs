//! Keys published at a JWKS URL: when to fetch them, and how to read what came back.
//!
//! The Worker adapter owns the I/O; this module decides. Per provider and isolate, a
//! [`KeyState`] holds the last good key set and answers, for each request, whether to use it,
//! fetch, wait for a fetch another request started, or give up with 503:
//!
//! - keys are kept for the provider's `Cache-Control: max-age` clamped to 1 min – 24 h, or
//!   the configured time when there is none;
//! - a stale set, or a token whose `kid` is not in the set, causes at most one fetch per
//!   cooldown, however many requests ask: a flood of random `kid`s is not a flood of fetches;
//! - a failed fetch keeps the last good set; with no set at all the request gets 503
//!   `jwks_unavailable` with `Retry-After`, never a 401 that would discard a good token.
//!
//! Requests never share an in-flight fetch (Workers forbids I/O objects crossing requests):
//! one that must wait polls this state until the other request's fetch ends.

use std::rc::Rc;

use serde_json::Value;

use super::keys::{self, JwksRead, VerifyingKey};

/// The shortest and longest time a provider's `max-age` may keep keys (seconds).
pub const MAX_AGE_BOUNDS: (f64, f64) = (60.0, 86_400.0);

/// The largest JWKS or discovery document read.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Where a provider's keys are published, and how to fetch them.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteKeys {
    /// The JWKS URL, or `None` to read `jwks_uri` from the issuer's discovery document.
    pub jwks_url: Option<String>,
    /// Seconds a key set is used when the provider sends no `max-age`.
    pub cache_ttl: f64,
    /// Seconds between two fetches started because of a stale set or an unknown `kid`.
    pub cooldown: f64,
    /// Seconds a fetch may take before it is abandoned.
    pub timeout: f64,
}

impl RemoteKeys {
    /// Defaults: keep keys 10 minutes, refetch at most every 30 s, time out after 5 s.
    pub fn new(jwks_url: Option<String>) -> RemoteKeys {
        RemoteKeys {
            jwks_url,
            cache_ttl: 600.0,
            cooldown: 30.0,
            timeout: 5.0,
        }
    }
}

/// The discovery document URL for an issuer ([OpenID Connect Discovery §4]): a trailing `/`
/// of the issuer is removed before `/.well-known/openid-configuration` is appended.
///
/// [OpenID Connect Discovery §4]:
///     https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// What a request should do about a provider's keys.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Use these keys.
    Use(Rc<Vec<VerifyingKey>>),
    /// Fetch them now (call [`KeyState::begin_fetch`] first).
    Fetch,
    /// Another request is fetching: check again shortly.
    Wait,
    /// No keys, and fetching again is not allowed yet.
    Unavailable {
        /// Seconds until a fetch will be tried again.
        retry_after: u32,
    },
}

/// The key set of one provider in one isolate.
#[derive(Debug, Default)]
pub struct KeyState {
    keys: Option<Rc<Vec<VerifyingKey>>>,
    fresh_until: f64,
    last_attempt: Option<f64>,
    in_flight_since: Option<f64>,
    discovered_url: Option<String>,
}

impl KeyState {
    /// Decides what a request for a token with `kid` does at `now`.
    pub fn plan(&self, settings: &RemoteKeys, kid: Option<&str>, now: f64) -> Plan {
        let in_flight = self
            .in_flight_since
            .is_some_and(|since| now < since + settings.timeout + 1.0);
        let cooled = self
            .last_attempt
            .is_none_or(|at| now >= at + settings.cooldown);

        let Some(keys) = &self.keys else {
            return if in_flight {
                Plan::Wait
            } else if cooled {
                Plan::Fetch
            } else {
                let wait = self.last_attempt.unwrap_or(now) + settings.cooldown - now;
                Plan::Unavailable {
                    retry_after: wait.ceil().max(1.0) as u32,
                }
            };
        };

        let stale = now >= self.fresh_until;
        let kid_missing = keys::names_keys(keys)
            && kid.is_some_and(|kid| !keys.iter().any(|k| k.kid.as_deref() == Some(kid)));
        if (stale || kid_missing) && cooled && !in_flight {
            Plan::Fetch
        } else if kid_missing && in_flight {
            Plan::Wait
        } else {
            Plan::Use(keys.clone())
        }
    }

    /// Records that a fetch starts at `now`, so that other requests wait or cool down.
    pub fn begin_fetch(&mut self, now: f64) {
        self.last_attempt = Some(now);
        self.in_flight_since = Some(now);
    }

    /// Installs a fetched key set, kept for `ttl` seconds. Returns the ids of the keys it
    /// replaces, whose imported forms and verified tokens must be forgotten.
    pub fn fetch_succeeded(&mut self, keys: Vec<VerifyingKey>, ttl: f64, now: f64) -> Vec<u64> {
        let old = self
            .keys
            .take()
            .map(|old| old.iter().map(|k| k.id).collect())
            .unwrap_or_default();
        self.keys = Some(Rc::new(keys));
        self.fresh_until = now + ttl;
        self.in_flight_since = None;
        old
    }

    /// Records a failed fetch: the last good set, if any, stays in use.
    pub fn fetch_failed(&mut self) {
        self.in_flight_since = None;
        self.discovered_url = None;
    }

    /// The JWKS URL found by discovery, once known.
    pub fn discovered_url(&self) -> Option<&str> {
        self.discovered_url.as_deref()
    }

    /// Remembers the JWKS URL found by discovery.
    pub fn set_discovered_url(&mut self, url: String) {
        self.discovered_url = Some(url);
    }

    /// The key set in use, if any.
    pub fn current(&self) -> Option<Rc<Vec<VerifyingKey>>> {
        self.keys.clone()
    }

    /// The ids of the keys in use.
    pub fn key_ids(&self) -> Vec<u64> {
        self.keys
            .as_ref()
            .map(|keys| keys.iter().map(|k| k.id).collect())
            .unwrap_or_default()
    }
}

/// Why a fetched document was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError(pub String);

/// The parts of an HTTP response this module reads.
#[derive(Debug, Clone, Copy)]
pub struct Fetched<'a> {
    /// The status code.
    pub status: u16,
    /// `Content-Type`
    pub content_type: Option<&'a str>,
    /// `Cache-Control`
    pub cache_control: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

fn json_document(fetched: &Fetched<'_>, what: &str) -> Result<Value, FetchError> {
    if (300..400).contains(&fetched.status) {
        return Err(FetchError(format!(
            "{what} answered a redirect ({}); redirects are not followed",
            fetched.status
        )));
    }
    if fetched.status != 200 {
        return Err(FetchError(format!(
            "{what} answered status {}",
            fetched.status
        )));
    }
    let media_type = fetched
        .content_type
        .and_then(|ct| ct.split(';').next())
        .map(|mt| mt.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if media_type != "application/json" && !media_type.ends_with("+json") {
        return Err(FetchError(format!(
            "{what} has content type {media_type:?}, expected application/json"
        )));
    }
    if fetched.body.len() > MAX_DOCUMENT_BYTES {
        return Err(FetchError(format!(
            "{what} is larger than {MAX_DOCUMENT_BYTES} bytes"
        )));
    }
    serde_json::from_slice(fetched.body)
        .map_err(|err| FetchError(format!("{what} is not valid JSON: {err}")))
}

/// Reads a JWKS response: the keys, and how long to keep them.
pub fn read_jwks_response(
    fetched: &Fetched<'_>,
    settings: &RemoteKeys,
) -> Result<(JwksRead, f64), FetchError> {
    let document = json_document(fetched, "the JWKS endpoint")?;
    let read = keys::read_jwks(&document).map_err(|why| FetchError(format!("JWKS: {why}")))?;
    if read.keys.is_empty() {
        return Err(FetchError(format!(
            "JWKS has no usable keys ({} dropped)",
            read.rejected.len()
        )));
    }
    let ttl = fetched
        .cache_control
        .and_then(max_age)
        .map_or(settings.cache_ttl, |age| {
            age.clamp(MAX_AGE_BOUNDS.0, MAX_AGE_BOUNDS.1)
        });
    Ok((read, ttl))
}

/// Reads a discovery document: its `jwks_uri`, after checking that it speaks for `issuer`
/// (OpenID Connect Discovery §4.3: the `issuer` value must be identical).
pub fn read_discovery_response(fetched: &Fetched<'_>, issuer: &str) -> Result<String, FetchError> {
    let document = json_document(fetched, "the discovery document")?;
    if document.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err(FetchError(format!(
            "the discovery document's issuer is not {issuer:?}"
        )));
    }
    let uri = document
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| FetchError("the discovery document has no jwks_uri".into()))?;
    check_fetch_url(uri).map_err(|why| FetchError(format!("jwks_uri: {why}")))?;
    Ok(uri.to_string())
}

/// The `max-age` of a `Cache-Control` value ([RFC 9111 §5.2.2.1]). `no-store` and
/// `no-cache` count as zero, which the caller raises to the one-minute floor.
///
/// [RFC 9111 §5.2.2.1]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2.2.1
pub fn max_age(cache_control: &str) -> Option<f64> {
    let mut age = None;
    for directive in cache_control.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(0.0);
        }
        if let Some(value) = lower.strip_prefix("max-age=") {
            // RFC 9111 §1.2.2: a delta-seconds too large to hold is taken as the largest.
            let digits = value.trim_matches('"');
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                age = Some(digits.parse::<f64>().unwrap_or(f64::MAX));
            }
        }
    }
    age
}

/// Keys are fetched only over HTTPS, except from this machine (`localhost`, `127.0.0.1`,
/// `[::1]`), which local development and tests use.
pub fn check_fetch_url(url: &str) -> Result<(), String> {
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        if !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
            return Err(format!(
                "{url:?} must use https (plain http only for localhost)"
            ));
        }
        rest
    } else {
        return Err(format!("{url:?} is not an http(s) URL"));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains('@') {
        return Err(format!("{url:?} has no usable host"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
