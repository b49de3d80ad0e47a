use serde_json::json;

use super::*;
use crate::auth::tests::signers;

fn settings() -> RemoteKeys {
    RemoteKeys::new(Some("https://idp.test/jwks".into()))
}

fn keyset() -> Vec<VerifyingKey> {
    let s = signers();
    keys::read_jwks(&json!({"keys": [s.rsa_jwk, s.ec_jwk]}))
        .unwrap()
        .keys
}

fn is_use(plan: &Plan) -> bool {
    matches!(plan, Plan::Use(_))
}

#[test]
fn a_cold_state_fetches_then_uses_the_keys() {
    let s = settings();
    let mut state = KeyState::default();
    assert!(matches!(state.plan(&s, None, 0.0), Plan::Fetch));
    state.begin_fetch(0.0);
    assert!(matches!(state.plan(&s, None, 0.1), Plan::Wait));
    let replaced = state.fetch_succeeded(keyset(), 600.0, 0.5);
    assert!(replaced.is_empty());
    assert!(is_use(&state.plan(&s, Some("rsa-1"), 1.0)));
}

#[test]
fn a_failed_cold_fetch_is_unavailable_until_the_cooldown_ends() {
    let s = settings();
    let mut state = KeyState::default();
    state.begin_fetch(100.0);
    state.fetch_failed();
    let Plan::Unavailable { retry_after } = state.plan(&s, None, 110.0) else {
        panic!()
    };
    assert_eq!(retry_after, 20);
    assert!(matches!(state.plan(&s, None, 130.0), Plan::Fetch));
}

#[test]
fn an_unknown_kid_refetches_at_most_once_per_cooldown() {
    let s = settings();
    let mut state = KeyState::default();
    state.begin_fetch(0.0);
    state.fetch_succeeded(keyset(), 600.0, 0.0);
    // The first fetch started the cooldown.
    assert!(is_use(&state.plan(&s, Some("random-1"), 10.0)));
    assert!(matches!(
        state.plan(&s, Some("random-2"), 30.0),
        Plan::Fetch
    ));
    state.begin_fetch(30.0);
    // Others with unknown kids wait for that fetch instead of starting their own.
    assert!(matches!(state.plan(&s, Some("random-3"), 30.2), Plan::Wait));
    // Known kids keep working meanwhile.
    assert!(is_use(&state.plan(&s, Some("ec-1"), 30.2)));
    state.fetch_succeeded(keyset(), 600.0, 30.5);
    for n in 0..1000 {
        let kid = format!("random-{n}");
        assert!(is_use(&state.plan(
            &s,
            Some(&kid),
            31.0 + f64::from(n) * 0.01
        )));
    }
}

#[test]
fn a_stale_set_refreshes_but_survives_a_failure() {
    let s = settings();
    let mut state = KeyState::default();
    state.begin_fetch(0.0);
    state.fetch_succeeded(keyset(), 60.0, 0.0);
    assert!(is_use(&state.plan(&s, None, 59.0)));
    assert!(matches!(state.plan(&s, None, 61.0), Plan::Fetch));
    state.begin_fetch(61.0);
    state.fetch_failed();
    assert!(is_use(&state.plan(&s, Some("rsa-1"), 62.0)));
    assert!(matches!(state.plan(&s, None, 92.0), Plan::Fetch));
}

#[test]
fn a_hung_fetch_stops_blocking_after_its_timeout() {
    let s = settings();
    let mut state = KeyState::default();
    state.begin_fetch(0.0);
    assert!(matches!(state.plan(&s, None, 5.9), Plan::Wait));
    assert!(matches!(
        state.plan(&s, None, 6.1),
        Plan::Unavailable { .. }
    ));
}

#[test]
fn replacing_a_set_returns_the_old_ids() {
    let mut state = KeyState::default();
    state.fetch_succeeded(keyset(), 600.0, 0.0);
    let old = state.key_ids();
    let replaced = state.fetch_succeeded(keyset(), 600.0, 1.0);
    assert_eq!(replaced, old);
    assert_ne!(state.key_ids(), old);
}

fn fetched<'a>(status: u16, ct: &'a str, cc: Option<&'a str>, body: &'a [u8]) -> Fetched<'a> {
    Fetched {
        status,
        content_type: Some(ct),
        cache_control: cc,
        body,
    }
}

#[test]
fn reads_a_jwks_and_honours_max_age_within_bounds() {
    let s = settings();
    let body = json!({"keys": [signers().rsa_jwk]}).to_string();
    let (read, ttl) =
        read_jwks_response(&fetched(200, "application/json", None, body.as_bytes()), &s).unwrap();
    assert_eq!((read.keys.len(), ttl), (1, 600.0));
    let cases = [
        ("public, max-age=3600", 3600.0),
        ("max-age=5", 60.0),
        ("max-age=999999", 86_400.0),
        ("no-store", 60.0),
    ];
    for (cc, expected) in cases {
        let r = fetched(
            200,
            "application/jwk-set+json; charset=utf-8",
            Some(cc),
            body.as_bytes(),
        );
        assert_eq!(read_jwks_response(&r, &s).unwrap().1, expected, "{cc}");
    }
}

#[test]
fn refuses_errors_redirects_html_and_empty_sets() {
    let s = settings();
    let body = json!({"keys": [signers().rsa_jwk]}).to_string();
    let cases: [(Fetched, &str); 6] = [
        (
            fetched(500, "application/json", None, body.as_bytes()),
            "answered status 500",
        ),
        (
            fetched(302, "text/html", None, b""),
            "redirects are not followed",
        ),
        (
            fetched(200, "text/html", None, b"<html>"),
            "content type \"text/html\"",
        ),
        (
            fetched(200, "application/json", None, b"{"),
            "not valid JSON",
        ),
        (
            fetched(200, "application/json", None, br#"{"keys":[]}"#),
            "no usable keys",
        ),
        (
            fetched(200, "application/json", None, br#"[]"#),
            "JWKS: expected an object",
        ),
    ];
    for (response, expected) in cases {
        let err = read_jwks_response(&response, &s).unwrap_err();
        assert!(err.0.contains(expected), "{}", err.0);
    }
    let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    let err = read_jwks_response(&fetched(200, "application/json", None, &big), &s).unwrap_err();
    assert!(err.0.contains("larger than"));
}

#[test]
fn discovery_checks_the_issuer_and_reads_jwks_uri() {
    let doc =
        json!({"issuer": "https://idp.test/", "jwks_uri": "https://idp.test/keys"}).to_string();
    let r = fetched(200, "application/json", None, doc.as_bytes());
    assert_eq!(
        read_discovery_response(&r, "https://idp.test/").unwrap(),
        "https://idp.test/keys"
    );
    assert!(read_discovery_response(&r, "https://idp.test")
        .unwrap_err()
        .0
        .contains("issuer"));
    let doc =
        json!({"issuer": "https://idp.test/", "jwks_uri": "http://evil.test/keys"}).to_string();
    let r = fetched(200, "application/json", None, doc.as_bytes());
    assert!(read_discovery_response(&r, "https://idp.test/")
        .unwrap_err()
        .0
        .contains("https"));
}

#[test]
fn discovery_url_drops_a_trailing_slash() {
    assert_eq!(
        discovery_url("https://a.test/"),
        "https://a.test/.well-known/openid-configuration"
    );
    assert_eq!(
        discovery_url("https://a.test/t/1"),
        "https://a.test/t/1/.well-known/openid-configuration"
    );
}

#[test]
fn fetch_urls_must_be_https_except_loopback() {
    assert!(check_fetch_url("https://idp.test/jwks").is_ok());
    assert!(check_fetch_url("http://127.0.0.1:9999/jwks").is_ok());
    assert!(check_fetch_url("http://localhost/jwks").is_ok());
    assert!(check_fetch_url("http://idp.test/jwks").is_err());
    assert!(check_fetch_url("http://127.0.0.1.evil.test/jwks").is_err());
    assert!(check_fetch_url("ftp://idp.test").is_err());
    assert!(check_fetch_url("https://u@idp.test").is_err());
    assert!(check_fetch_url("https:///x").is_err());
}

#[test]
fn max_age_parsing() {
    assert_eq!(max_age("max-age=120"), Some(120.0));
    assert_eq!(max_age("public, MAX-AGE=\"30\""), Some(30.0));
    assert_eq!(max_age("public"), None);
    assert_eq!(max_age("max-age=-1"), None);
    assert_eq!(max_age("max-age=99999999999999999999"), Some(1e20));
}
