use super::*;

fn policy(origins: &[&str], headers: &str, exposed: &str, credentials: bool) -> CorsPolicy {
    let origins = origins
        .iter()
        .map(|o| OriginRule::parse(o).unwrap())
        .collect();
    CorsPolicy::new(
        origins,
        HeaderRule::parse(headers).unwrap(),
        HeaderRule::parse(exposed).unwrap(),
        credentials,
        600,
    )
    .unwrap()
}

fn dev() -> CorsPolicy {
    policy(
        &["http://localhost:5173", "https://*.example.com"],
        "Content-Type, Authorization",
        "",
        false,
    )
}

fn get<'h>(headers: &'h [(&'static str, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn preflight_from_an_allowed_origin_lists_methods_headers_and_max_age() {
    let h = dev().preflight(
        "http://localhost:5173",
        Some("authorization, content-type"),
        &[Method::Post],
    );
    assert_eq!(
        get(&h, "Access-Control-Allow-Origin"),
        Some("http://localhost:5173")
    );
    assert_eq!(get(&h, "Access-Control-Allow-Methods"), Some("POST"));
    assert_eq!(
        get(&h, "Access-Control-Allow-Headers"),
        Some("authorization, content-type")
    );
    assert_eq!(get(&h, "Access-Control-Max-Age"), Some("600"));
    assert_eq!(get(&h, "Access-Control-Allow-Credentials"), None);
    assert_eq!(get(&h, "Vary"), Some(PREFLIGHT_VARY));
}

#[test]
fn preflight_requesting_an_unlisted_header_gets_the_allowed_list() {
    let h = dev().preflight(
        "https://app.example.com",
        Some("X-Secret, Authorization"),
        &[Method::Get],
    );
    assert_eq!(
        get(&h, "Access-Control-Allow-Headers"),
        Some("content-type, authorization")
    );
    let h = dev().preflight(
        "https://app.example.com",
        None,
        &[Method::Get, Method::Head],
    );
    assert_eq!(get(&h, "Access-Control-Allow-Headers"), None);
    assert_eq!(get(&h, "Access-Control-Allow-Methods"), Some("GET, HEAD"));
}

#[test]
fn preflight_from_a_disallowed_origin_has_no_cors_headers() {
    let h = dev().preflight("https://evil.test", Some("authorization"), &[Method::Post]);
    assert_eq!(h, vec![("Vary", PREFLIGHT_VARY.to_string())]);
}

#[test]
fn wildcard_headers_echo_the_request_so_authorization_is_covered() {
    let p = policy(&["*"], "*", "", false);
    let h = p.preflight(
        "https://any.test",
        Some("Authorization, X-Custom"),
        &[Method::Get],
    );
    assert_eq!(get(&h, "Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(
        get(&h, "Access-Control-Allow-Headers"),
        Some("authorization, x-custom")
    );
}

#[test]
fn actual_responses_echo_one_allowed_origin_and_vary() {
    let d = dev().actual(Some("https://app.example.com"));
    assert_eq!(
        d.set,
        vec![(
            "Access-Control-Allow-Origin",
            "https://app.example.com".to_string()
        )]
    );
    assert_eq!(d.vary, Some("Origin"));
}

#[test]
fn disallowed_or_absent_origins_get_vary_only() {
    for origin in [Some("https://evil.test"), Some("null"), None] {
        let d = dev().actual(origin);
        assert!(d.set.is_empty(), "{origin:?}");
        assert_eq!(d.vary, Some("Origin"));
    }
}

#[test]
fn any_origin_without_credentials_is_a_constant_star_without_vary() {
    let d = policy(&["*"], "Content-Type", "X-Request-Id", false).actual(None);
    assert_eq!(
        d.set,
        vec![
            ("Access-Control-Allow-Origin", "*".to_string()),
            ("Access-Control-Expose-Headers", "x-request-id".to_string())
        ]
    );
    assert_eq!(d.vary, None);
}

#[test]
fn credentials_add_the_credentials_header() {
    let p = policy(&["http://localhost:5173"], "Authorization", "X-Total", true);
    let d = p.actual(Some("http://localhost:5173"));
    assert_eq!(
        get(&d.set, "Access-Control-Allow-Credentials"),
        Some("true")
    );
    assert_eq!(
        get(&d.set, "Access-Control-Expose-Headers"),
        Some("x-total")
    );
    let h = p.preflight(
        "http://localhost:5173",
        Some("authorization"),
        &[Method::Get],
    );
    assert_eq!(get(&h, "Access-Control-Allow-Credentials"), Some("true"));
}

#[test]
fn credentials_with_any_wildcard_are_refused_naming_the_setting() {
    let any = || vec![OriginRule::Any];
    let one = || vec![OriginRule::parse("https://a.test").unwrap()];
    let list = || HeaderRule::parse("authorization").unwrap();
    let cases = [
        (any(), list(), list(), "CORS_ALLOWED_ORIGINS"),
        (one(), HeaderRule::Any, list(), "CORS_ALLOWED_HEADERS"),
        (one(), list(), HeaderRule::Any, "CORS_EXPOSED_HEADERS"),
    ];
    for (origins, allowed, exposed, setting) in cases {
        let err = CorsPolicy::new(origins, allowed, exposed, true, 0).unwrap_err();
        assert_eq!(err.setting, setting);
        assert!(err.problem.contains("CORS_ALLOW_CREDENTIALS"));
    }
}

#[test]
fn star_beside_other_origins_is_refused() {
    let origins = vec![
        OriginRule::Any,
        OriginRule::parse("https://a.test").unwrap(),
    ];
    let err = CorsPolicy::new(origins, HeaderRule::Any, HeaderRule::Any, false, 0).unwrap_err();
    assert_eq!(err.setting, "CORS_ALLOWED_ORIGINS");
}

#[test]
fn header_lists_parse_and_refuse_bad_names() {
    assert_eq!(
        HeaderRule::parse(" Content-Type ,authorization,, AUTHORIZATION").unwrap(),
        HeaderRule::List(vec!["content-type".into(), "authorization".into()])
    );
    assert_eq!(HeaderRule::parse("").unwrap(), HeaderRule::List(vec![]));
    assert!(HeaderRule::parse("x y").is_err());
    assert!(HeaderRule::parse("*, x").is_err());
}

#[test]
fn preflight_is_options_with_origin_and_request_method() {
    assert!(is_preflight("OPTIONS", Some("https://a"), Some("POST")));
    assert!(!is_preflight("OPTIONS", Some("https://a"), None));
    assert!(!is_preflight("OPTIONS", None, Some("POST")));
    assert!(!is_preflight("GET", Some("https://a"), Some("POST")));
}

#[test]
fn vary_is_appended_never_overwritten() {
    assert_eq!(merge_vary(None, "Origin"), Some("Origin".into()));
    assert_eq!(merge_vary(Some(""), "Origin"), Some("Origin".into()));
    assert_eq!(
        merge_vary(Some("Accept-Encoding"), "Origin"),
        Some("Accept-Encoding, Origin".into())
    );
    assert_eq!(merge_vary(Some("accept, origin"), "Origin"), None);
    assert_eq!(merge_vary(Some("*"), "Origin"), None);
}
