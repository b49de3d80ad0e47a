//! Reading the Worker's variables and secrets into typed settings, once.
//!
//! Every setting is validated here and a bad one is reported with its name; nothing
//! downstream reads the raw strings again. An unset CORS or leeway setting takes the default
//! documented in the README; a set one that cannot be read is an error, never a fallback.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use crate::auth::algorithm::{Algorithm, KeyFamily};
use crate::auth::keys::{self, VerifyingKey};
use crate::auth::remote::{check_fetch_url, RemoteKeys};
use crate::auth::{Authenticator, KeySource, Provider};
use crate::cors::{CorsPolicy, HeaderRule, OriginRule};

/// The default `CORS_ALLOWED_HEADERS`.
pub const DEFAULT_ALLOWED_HEADERS: &str = "Content-Type, Authorization";
/// The default `CORS_MAX_AGE`, in seconds.
pub const DEFAULT_MAX_AGE: u32 = 86_400;
/// The default `AUTH_LEEWAY`, in seconds.
pub const DEFAULT_LEEWAY: u32 = 60;

/// The names of the settings read.
pub const SETTINGS: [&str; 7] = [
    "CORS_ALLOWED_ORIGINS",
    "CORS_ALLOWED_HEADERS",
    "CORS_EXPOSED_HEADERS",
    "CORS_ALLOW_CREDENTIALS",
    "CORS_MAX_AGE",
    "AUTH_PROVIDERS",
    "AUTH_LEEWAY",
];

/// A setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable's name.
    pub setting: &'static str,
    /// What is wrong, and what was expected.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.problem)
    }
}

impl std::error::Error for ConfigError {}

fn error(setting: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        problem: problem.into(),
    }
}

/// Every setting, parsed.
#[derive(Debug, Clone)]
pub struct Config {
    /// The CORS policy.
    pub cors: CorsPolicy,
    /// The token providers and leeway.
    pub auth: Authenticator,
}

impl Config {
    /// Reads the configuration. `lookup` returns a variable's or secret's text, `None` when
    /// it is not bound.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let cors = read_cors(&lookup)?;
        let leeway = read_number(&lookup, "AUTH_LEEWAY", DEFAULT_LEEWAY, 3_600)?;
        let providers = match lookup("AUTH_PROVIDERS") {
            None => Vec::new(),
            Some(text) if text.trim().is_empty() => Vec::new(),
            Some(text) => read_providers(&text, &lookup)?,
        };
        Ok(Config {
            cors,
            auth: Authenticator::new(providers, leeway),
        })
    }

    /// Reads only the CORS settings. When another setting is broken, the error response can
    /// still carry CORS headers, so a browser shows the error instead of a CORS failure.
    pub fn cors_from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<CorsPolicy, ConfigError> {
        read_cors(&lookup)
    }
}

fn read_cors(lookup: &impl Fn(&str) -> Option<String>) -> Result<CorsPolicy, ConfigError> {
    let origins = match lookup("CORS_ALLOWED_ORIGINS") {
        None => Vec::new(),
        Some(list) => crate::cors::split_list(&list)
            .map(OriginRule::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|problem| error("CORS_ALLOWED_ORIGINS", problem))?,
    };
    let header_rule = |setting: &'static str, default: &str| {
        let text = lookup(setting).unwrap_or_else(|| default.to_string());
        HeaderRule::parse(&text).map_err(|problem| error(setting, problem))
    };
    let allowed_headers = header_rule("CORS_ALLOWED_HEADERS", DEFAULT_ALLOWED_HEADERS)?;
    let exposed_headers = header_rule("CORS_EXPOSED_HEADERS", "")?;
    let credentials = match lookup("CORS_ALLOW_CREDENTIALS").as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(error(
                "CORS_ALLOW_CREDENTIALS",
                format!("expected \"true\" or \"false\", found {other:?}"),
            ))
        }
    };
    let max_age = read_number(lookup, "CORS_MAX_AGE", DEFAULT_MAX_AGE, 86_400)?;
    CorsPolicy::new(
        origins,
        allowed_headers,
        exposed_headers,
        credentials,
        max_age,
    )
    .map_err(|err| error(err.setting, err.problem))
}

fn read_number(
    lookup: &impl Fn(&str) -> Option<String>,
    setting: &'static str,
    default: u32,
    max: u32,
) -> Result<u32, ConfigError> {
    let Some(text) = lookup(setting) else {
        return Ok(default);
    };
    match text.trim().parse::<u32>() {
        Ok(value) if value <= max => Ok(value),
        _ => Err(error(
            setting,
            format!("expected whole seconds from 0 to {max}, found {text:?}"),
        )),
    }
}

/// One entry of `AUTH_PROVIDERS`, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderSpec {
    issuer: String,
    #[serde(default)]
    audience: Option<OneOrMany>,
    #[serde(default)]
    algorithms: Option<Vec<String>>,
    #[serde(default)]
    jwks: Option<Value>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    jwks_url: Option<String>,
    #[serde(default)]
    discovery: bool,
    #[serde(default)]
    jwks_cache_ttl: Option<f64>,
    #[serde(default)]
    jwks_cooldown: Option<f64>,
    #[serde(default)]
    jwks_timeout: Option<f64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

const PROVIDERS: &str = "AUTH_PROVIDERS";

fn read_providers(
    text: &str,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<Provider>, ConfigError> {
    let specs: Vec<ProviderSpec> = serde_json::from_str(text).map_err(|err| {
        error(
            PROVIDERS,
            format!(
                "expected a JSON array of {{\"issuer\", \"audience\", \"algorithms\", \"jwks\" or \
                 \"secret\"}}: {err}"
            ),
        )
    })?;

    let mut providers: Vec<Provider> = Vec::with_capacity(specs.len());
    for (index, spec) in specs.into_iter().enumerate() {
        let provider = read_provider(spec, lookup)
            .map_err(|problem| error(PROVIDERS, format!("provider {index}: {problem}")))?;
        if providers.iter().any(|p| p.issuer == provider.issuer) {
            return Err(error(
                PROVIDERS,
                format!(
                    "provider {index}: issuer {:?} is listed twice",
                    provider.issuer
                ),
            ));
        }
        providers.push(provider);
    }
    Ok(providers)
}

fn read_provider(
    spec: ProviderSpec,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Provider, String> {
    if spec.issuer.trim().is_empty() {
        return Err("issuer is empty".into());
    }
    if spec.issuer.trim() != spec.issuer {
        return Err(format!(
            "issuer {:?} has surrounding white space",
            spec.issuer
        ));
    }

    let audiences = match spec.audience {
        None => Vec::new(),
        Some(OneOrMany::One(aud)) => vec![aud],
        Some(OneOrMany::Many(list)) if list.is_empty() => {
            return Err("audience is an empty list; leave it out to accept any audience".into())
        }
        Some(OneOrMany::Many(list)) => list,
    };
    if audiences.iter().any(|aud| aud.is_empty()) {
        return Err("audience contains an empty string".into());
    }

    let remote_settings = [
        ("jwks_cache_ttl", spec.jwks_cache_ttl),
        ("jwks_cooldown", spec.jwks_cooldown),
        ("jwks_timeout", spec.jwks_timeout),
    ];
    let sources = [
        spec.jwks.is_some(),
        spec.secret.is_some(),
        spec.jwks_url.is_some(),
        spec.discovery,
    ];
    if sources.iter().filter(|given| **given).count() > 1 {
        return Err("give only one of \"jwks\", \"secret\", \"jwks_url\" or \"discovery\"".into());
    }
    if spec.jwks_url.is_none() && !spec.discovery {
        if let Some((name, _)) = remote_settings.iter().find(|(_, value)| value.is_some()) {
            return Err(format!(
                "{name} applies only with \"jwks_url\" or \"discovery\""
            ));
        }
    }

    let keys = if let Some(jwks) = spec.jwks {
        KeySource::Static(read_inline_jwks(&jwks)?)
    } else if let Some(binding) = spec.secret {
        KeySource::Static(vec![read_secret(&binding, lookup)?])
    } else if spec.jwks_url.is_some() || spec.discovery {
        if let Some(url) = &spec.jwks_url {
            check_fetch_url(url).map_err(|why| format!("jwks_url: {why}"))?;
        } else {
            check_fetch_url(&spec.issuer)
                .map_err(|why| format!("discovery needs an https issuer: {why}"))?;
        }
        let mut remote = RemoteKeys::new(spec.jwks_url);
        remote.cache_ttl = seconds(
            "jwks_cache_ttl",
            spec.jwks_cache_ttl,
            remote.cache_ttl,
            60.0,
            86_400.0,
        )?;
        remote.cooldown = seconds(
            "jwks_cooldown",
            spec.jwks_cooldown,
            remote.cooldown,
            1.0,
            3_600.0,
        )?;
        remote.timeout = seconds("jwks_timeout", spec.jwks_timeout, remote.timeout, 0.1, 30.0)?;
        KeySource::Remote(remote)
    } else {
        return Err(
            "no keys: give \"jwks\" (public keys), \"jwks_url\", \"discovery\": true, \
                    or \"secret\" (the name of a secret binding holding an HS256 key)"
                .into(),
        );
    };

    let algorithms = match (&keys, spec.algorithms) {
        (KeySource::Static(keys), None) => default_algorithms(keys),
        (KeySource::Static(keys), Some(names)) => read_algorithms(&names, Some(keys))?,
        (KeySource::Remote(_), None) => ASYMMETRIC.to_vec(),
        (KeySource::Remote(_), Some(names)) => read_algorithms(&names, None)?,
    };

    Ok(Provider {
        issuer: spec.issuer,
        audiences,
        algorithms,
        keys,
    })
}

fn read_inline_jwks(jwks: &Value) -> Result<Vec<VerifyingKey>, String> {
    let read = keys::read_jwks(jwks).map_err(|problem| format!("jwks: {problem}"))?;
    if let Some(rejected) = read.rejected.first() {
        return Err(format!("jwks: {rejected}"));
    }
    if read.keys.is_empty() {
        return Err("jwks has no keys".into());
    }
    Ok(read.keys)
}

fn read_secret(
    binding: &str,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<VerifyingKey, String> {
    // The field holds a binding's name; someone who pasted the secret itself must not see
    // it echoed in every 500, so only a value shaped like a binding name is repeated.
    let looks_like_name = binding.len() <= 64
        && binding.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && binding
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !looks_like_name {
        return Err(
            "secret must be the NAME of a secret binding (upper-case letters, digits \
                    and _), such as \"SESSION_SECRET\"; the value given is not one: put the \
                    key itself in the binding with `wrangler secret put NAME`"
                .into(),
        );
    }
    let Some(secret) = lookup(binding) else {
        return Err(format!(
            "secret binding {binding:?} is not set; run `wrangler secret put {binding}`, or \
             put it in .dev.vars for wrangler dev"
        ));
    };
    VerifyingKey::hmac(secret.as_bytes())
        .map_err(|rejected| format!("secret {binding:?}: {}", rejected.reason))
}

/// Without `algorithms`, every algorithm that some key can verify.
fn default_algorithms(keys: &[VerifyingKey]) -> Vec<Algorithm> {
    Algorithm::ALL
        .into_iter()
        .filter(|alg| keys.iter().any(|key| key.fits(*alg)))
        .collect()
}

/// The algorithms a fetched JWKS may serve when `algorithms` is not given.
const ASYMMETRIC: [Algorithm; 4] = [
    Algorithm::Rs256,
    Algorithm::Ps256,
    Algorithm::Es256,
    Algorithm::EdDsa,
];

fn seconds(
    name: &str,
    value: Option<f64>,
    default: f64,
    min: f64,
    max: f64,
) -> Result<f64, String> {
    match value {
        None => Ok(default),
        Some(v) if (min..=max).contains(&v) => Ok(v),
        Some(v) => Err(format!(
            "{name} must be from {min} to {max} seconds, found {v}"
        )),
    }
}

/// Reads `algorithms`. `keys` is `None` for fetched keys, which are not known yet.
fn read_algorithms(
    names: &[String],
    keys: Option<&[VerifyingKey]>,
) -> Result<Vec<Algorithm>, String> {
    if names.is_empty() {
        return Err("algorithms is empty; leave it out to allow what the keys support".into());
    }
    let has_secret =
        keys.is_some_and(|keys| keys.iter().any(|k| k.material.family() == KeyFamily::Hmac));
    let mut algorithms = Vec::with_capacity(names.len());
    for name in names {
        let alg = Algorithm::from_name(name).ok_or_else(|| {
            format!("algorithm {name:?} is not supported; use RS256, PS256, ES256, EdDSA or HS256")
        })?;
        let symmetric = alg.key_family() == KeyFamily::Hmac;
        if symmetric && !has_secret {
            return Err("HS256 needs \"secret\"; a JWKS holds only public keys".into());
        }
        if !symmetric && has_secret {
            return Err(format!(
                "{alg} needs \"jwks\"; a secret verifies only HS256"
            ));
        }
        if !algorithms.contains(&alg) {
            algorithms.push(alg);
        }
    }
    let Some(keys) = keys else {
        return Ok(algorithms);
    };
    if !algorithms
        .iter()
        .any(|alg| keys.iter().any(|key| key.fits(*alg)))
    {
        return Err(format!(
            "no key can verify any of the algorithms {}",
            names.join(", ")
        ));
    }
    Ok(algorithms)
}

#[cfg(test)]
mod tests;
