use std::collections::HashMap;

use serde_json::json;

use super::*;
use crate::auth::tests::{signers, HMAC_SECRET};
use crate::auth::KeySource;

fn read(vars: &[(&str, String)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Config::from_lookup(|name| map.get(name).cloned())
}

fn problem(vars: &[(&str, String)]) -> ConfigError {
    read(vars).unwrap_err()
}

fn providers(value: serde_json::Value) -> (&'static str, String) {
    ("AUTH_PROVIDERS", value.to_string())
}

fn jwks() -> serde_json::Value {
    let s = signers();
    json!({"keys": [s.rsa_jwk, s.ec_jwk]})
}

#[test]
fn nothing_set_gives_the_documented_defaults() {
    let config = read(&[]).unwrap();
    assert!(config.auth.providers().is_empty());
    assert_eq!(config.auth.leeway_seconds(), DEFAULT_LEEWAY);
    let expected = CorsPolicy::new(
        vec![],
        HeaderRule::parse(DEFAULT_ALLOWED_HEADERS).unwrap(),
        HeaderRule::List(vec![]),
        false,
        DEFAULT_MAX_AGE,
    )
    .unwrap();
    assert_eq!(config.cors, expected);
}

#[test]
fn a_jwks_provider_reads_issuer_audience_and_default_algorithms() {
    let config = read(&[providers(json!([{
        "issuer": "https://tenant.auth0.test/",
        "audience": ["api", "https://tenant.auth0.test/userinfo"],
        "jwks": jwks()
    }]))])
    .unwrap();
    let provider = &config.auth.providers()[0];
    assert_eq!(provider.issuer, "https://tenant.auth0.test/");
    assert_eq!(
        provider.audiences,
        ["api", "https://tenant.auth0.test/userinfo"]
    );
    assert_eq!(
        provider.algorithms,
        [Algorithm::Rs256, Algorithm::Ps256, Algorithm::Es256]
    );
}

#[test]
fn a_secret_provider_reads_its_binding() {
    let secret = String::from_utf8(HMAC_SECRET.to_vec()).unwrap();
    let config = read(&[
        providers(json!([{"issuer": "https://hmac.test", "secret": "HS_SECRET"}])),
        ("HS_SECRET", secret),
    ])
    .unwrap();
    assert_eq!(config.auth.providers()[0].algorithms, [Algorithm::Hs256]);
}

#[test]
fn provider_mistakes_name_the_setting_and_the_provider() {
    let cases = [
        (
            json!([{"issuer": "x"}]),
            "provider 0: no keys: give \"jwks\"",
        ),
        (
            json!([{"issuer": "", "jwks": jwks()}]),
            "provider 0: issuer is empty",
        ),
        (
            json!([{"issuer": "x", "jwks": jwks(), "audiences": "a"}]),
            "unknown field `audiences`",
        ),
        (
            json!([{"issuer": "x", "jwks": jwks(), "secret": "S"}]),
            "give only one of",
        ),
        (
            json!([{"issuer": "x", "secret": "MISSING"}]),
            "secret binding \"MISSING\" is not set",
        ),
        (
            json!([{"issuer": "x", "jwks": jwks(), "algorithms": ["HS256"]}]),
            "HS256 needs \"secret\"",
        ),
        (
            json!([{"issuer": "x", "jwks": jwks(), "algorithms": ["none"]}]),
            "\"none\" is not supported",
        ),
        (
            json!([{"issuer": "x", "jwks": jwks(), "algorithms": ["EdDSA"]}]),
            "no key can verify",
        ),
        (
            json!([{"issuer": "x", "jwks": {"keys": []}}]),
            "jwks has no keys",
        ),
        (
            json!([{"issuer": "x", "jwks": {"keys": [{"kty": "oct", "k": "AA"}]}}]),
            "symmetric keys",
        ),
        (
            json!([{"issuer": "x", "jwks": jwks(), "audience": []}]),
            "audience is an empty list",
        ),
        (
            json!([{"issuer": "x", "jwks": jwks()}, {"issuer": "x", "jwks": jwks()}]),
            "provider 1: issuer \"x\" is listed twice",
        ),
    ];
    for (value, expected) in cases {
        let err = problem(&[providers(value.clone())]);
        assert_eq!(err.setting, "AUTH_PROVIDERS", "{value}");
        assert!(err.problem.contains(expected), "{value}: {}", err.problem);
    }
    let err = problem(&[("AUTH_PROVIDERS", "{not json".into())]);
    assert!(err
        .to_string()
        .starts_with("AUTH_PROVIDERS: expected a JSON array"));
}

#[test]
fn a_pasted_secret_is_never_echoed() {
    let pasted = "s3cr3t-HS256-key-that-is-long-enough-0123";
    let err = problem(&[providers(json!([{"issuer": "x", "secret": pasted}]))]);
    assert!(
        err.problem.contains("must be the NAME of a secret binding"),
        "{}",
        err.problem
    );
    assert!(!err.to_string().contains(pasted));
}

#[test]
fn short_hmac_secrets_are_refused() {
    let err = problem(&[
        providers(json!([{"issuer": "x", "secret": "S"}])),
        ("S", "short".into()),
    ]);
    assert!(
        err.problem.contains("at least 32 bytes, found 5"),
        "{}",
        err.problem
    );
}

#[test]
fn cors_mistakes_name_their_setting() {
    let cases: [(&str, &str, &str); 6] = [
        (
            "CORS_ALLOWED_ORIGINS",
            "http://localhost:5173/",
            "trailing slash",
        ),
        ("CORS_ALLOWED_ORIGINS", "https://a.test/app", "has a path"),
        ("CORS_ALLOWED_HEADERS", "x y", "not a header name"),
        (
            "CORS_ALLOW_CREDENTIALS",
            "yes",
            "expected \"true\" or \"false\", found \"yes\"",
        ),
        (
            "CORS_MAX_AGE",
            "-1",
            "expected whole seconds from 0 to 86400",
        ),
        (
            "AUTH_LEEWAY",
            "1.5",
            "expected whole seconds from 0 to 3600",
        ),
    ];
    for (setting, value, expected) in cases {
        let err = problem(&[(setting, value.to_string())]);
        assert_eq!(err.setting, setting);
        assert!(err.problem.contains(expected), "{setting}: {}", err.problem);
    }
}

#[test]
fn credentials_with_wildcards_are_refused_at_start_up() {
    let err = problem(&[
        ("CORS_ALLOWED_ORIGINS", "*".into()),
        ("CORS_ALLOW_CREDENTIALS", "true".into()),
    ]);
    assert_eq!(err.setting, "CORS_ALLOWED_ORIGINS");
    let err = problem(&[
        ("CORS_ALLOWED_ORIGINS", "https://a.test".into()),
        ("CORS_ALLOWED_HEADERS", "*".into()),
        ("CORS_ALLOW_CREDENTIALS", "true".into()),
    ]);
    assert_eq!(err.setting, "CORS_ALLOWED_HEADERS");
}

#[test]
fn explicit_settings_are_used() {
    let config = read(&[
        (
            "CORS_ALLOWED_ORIGINS",
            "http://localhost:5173, https://*.example.com".into(),
        ),
        ("CORS_EXPOSED_HEADERS", "X-Request-Id".into()),
        ("CORS_ALLOW_CREDENTIALS", "true".into()),
        ("CORS_MAX_AGE", "600".into()),
        ("AUTH_LEEWAY", "5".into()),
    ])
    .unwrap();
    assert_eq!(config.auth.leeway_seconds(), 5);
    let d = config.cors.actual(Some("https://app.example.com"));
    assert!(d
        .set
        .contains(&("Access-Control-Allow-Credentials", "true".into())));
    assert!(d
        .set
        .contains(&("Access-Control-Expose-Headers", "x-request-id".into())));
}

#[test]
fn remote_providers_read_url_discovery_and_fetch_settings() {
    use crate::auth::remote::RemoteKeys;
    let config = read(&[providers(json!([
        {"issuer": "https://a.test/", "jwks_url": "https://a.test/.well-known/jwks.json"},
        {"issuer": "https://b.test", "discovery": true, "jwks_cache_ttl": 120,
         "jwks_cooldown": 5, "jwks_timeout": 0.5, "algorithms": ["ES256"]},
    ]))])
    .unwrap();
    let [a, b] = config.auth.providers() else {
        panic!()
    };
    let KeySource::Remote(remote) = &a.keys else {
        panic!()
    };
    assert_eq!(
        remote,
        &RemoteKeys::new(Some("https://a.test/.well-known/jwks.json".into()))
    );
    assert_eq!(
        a.algorithms,
        [
            Algorithm::Rs256,
            Algorithm::Ps256,
            Algorithm::Es256,
            Algorithm::EdDsa
        ]
    );
    let KeySource::Remote(remote) = &b.keys else {
        panic!()
    };
    assert_eq!(
        (
            remote.jwks_url.as_deref(),
            remote.cache_ttl,
            remote.cooldown,
            remote.timeout
        ),
        (None, 120.0, 5.0, 0.5)
    );
    assert_eq!(b.algorithms, [Algorithm::Es256]);
}

#[test]
fn remote_provider_mistakes_are_refused() {
    let cases = [
        (
            json!([{"issuer": "x", "jwks_url": "http://idp.test/jwks"}]),
            "must use https",
        ),
        (
            json!([{"issuer": "http://idp.test", "discovery": true}]),
            "discovery needs an https issuer",
        ),
        (
            json!([{"issuer": "x", "jwks_url": "https://a.test/j", "discovery": true}]),
            "only one of",
        ),
        (
            json!([{"issuer": "x", "jwks": jwks(), "jwks_cooldown": 5}]),
            "jwks_cooldown applies only",
        ),
        (
            json!([{"issuer": "x", "jwks_url": "https://a.test/j", "jwks_cooldown": 0}]),
            "from 1 to 3600",
        ),
        (
            json!([{"issuer": "x", "jwks_url": "https://a.test/j", "jwks_timeout": 60}]),
            "jwks_timeout",
        ),
        (
            json!([{"issuer": "x", "jwks_url": "https://a.test/j", "algorithms": ["HS256"]}]),
            "HS256",
        ),
    ];
    for (value, expected) in cases {
        let err = problem(&[providers(value.clone())]);
        assert!(err.problem.contains(expected), "{value}: {}", err.problem);
    }
}
