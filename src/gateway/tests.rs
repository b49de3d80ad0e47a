use std::collections::HashMap;

use serde_json::json;

use super::*;
use crate::auth::algorithm::Algorithm;
use crate::auth::tests::{authenticate, good_claims, signers, token, ISSUER};
use crate::auth::AuthContext;

#[derive(Debug, PartialEq)]
enum Action {
    Health,
    Whoami,
    Echo,
}

fn gateway() -> Gateway<Action> {
    let s = signers();
    let providers = json!([{"issuer": ISSUER, "audience": crate::auth::tests::AUDIENCE,
        "jwks": {"keys": [s.rsa_jwk, s.ec_jwk, s.ed_jwk]}}]);
    let vars: HashMap<&str, String> = [
        ("CORS_ALLOWED_ORIGINS", "http://localhost:5173".to_string()),
        ("AUTH_PROVIDERS", providers.to_string()),
    ]
    .into();
    let config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
    let route = |path, method, auth, handler| Route {
        path,
        method,
        auth,
        handler,
    };
    let router = Router::new()
        .route(route(
            "/health",
            Method::Get,
            AuthPolicy::Public,
            Action::Health,
        ))
        .route(route(
            "/whoami",
            Method::Get,
            AuthPolicy::Required,
            Action::Whoami,
        ))
        .route(route(
            "/echo",
            Method::Post,
            AuthPolicy::Optional,
            Action::Echo,
        ));
    Gateway { config, router }
}

fn head<'a>(method: &'a str, path: &'a str) -> RequestHead<'a> {
    RequestHead {
        method,
        path,
        origin: Some("http://localhost:5173"),
        ..Default::default()
    }
}

fn reply(step: Step<'_, '_, Action>) -> Reply {
    match step {
        Step::Reply(reply) | Step::Preflight(reply) => reply,
        Step::Route { route, .. } => panic!("routed to {:?}", route.handler),
    }
}

#[test]
fn preflight_is_answered_before_auth_with_the_served_methods() {
    let g = gateway();
    let mut h = head("OPTIONS", "/whoami");
    h.request_method = Some("GET");
    h.request_headers = Some("authorization");
    let Step::Preflight(reply) = g.begin(&h) else {
        panic!()
    };
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty());
    assert!(reply
        .headers
        .contains(&("Access-Control-Allow-Methods", "GET, HEAD".into())));
    assert!(reply
        .headers
        .contains(&("Access-Control-Allow-Headers", "authorization".into())));
}

#[test]
fn preflight_for_an_unknown_path_is_404() {
    let g = gateway();
    let mut h = head("OPTIONS", "/nowhere");
    h.request_method = Some("GET");
    let reply = reply(g.begin(&h));
    assert_eq!((reply.status, reply.outcome), (404, "not_found"));
}

#[test]
fn options_without_request_method_goes_to_the_router() {
    let g = gateway();
    let reply = reply(g.begin(&head("OPTIONS", "/echo")));
    assert_eq!(reply.status, 405);
    assert!(reply.headers.contains(&("Allow", "POST".into())));
}

#[test]
fn unknown_methods_and_paths() {
    let g = gateway();
    let r = reply(g.begin(&head("PROPFIND", "/health")));
    assert_eq!(r.status, 405);
    let r = reply(g.begin(&head("PROPFIND", "/nope")));
    assert_eq!(r.status, 404);
    let r = reply(g.begin(&head("DELETE", "/health")));
    assert!(r.headers.contains(&("Allow", "GET, HEAD".into())));
}

#[test]
fn public_routes_ignore_even_broken_headers() {
    let g = gateway();
    let mut h = head("GET", "/health");
    h.authorization = Some("Basic Zm9vOmJhcg==");
    let Step::Route { route, token } = g.begin(&h) else {
        panic!()
    };
    assert_eq!((&route.handler, token), (&Action::Health, None));
}

#[test]
fn required_routes_refuse_a_missing_token_without_error_code() {
    let g = gateway();
    let r = reply(g.begin(&head("GET", "/whoami")));
    assert_eq!(r.status, 401);
    assert!(r
        .headers
        .contains(&("WWW-Authenticate", "Bearer realm=\"sitegate\"".into())));
}

#[test]
fn optional_routes_pass_no_token_through_and_refuse_a_bad_header() {
    let g = gateway();
    let Step::Route { token, .. } = g.begin(&head("POST", "/echo")) else {
        panic!()
    };
    assert_eq!(token, None);
    let mut h = head("POST", "/echo");
    h.authorization = Some("Bearer a b");
    let r = reply(g.begin(&h));
    assert_eq!(r.status, 401);
    assert!(r.body.contains("invalid_authorization_header"));
    assert!(r
        .headers
        .iter()
        .any(|(n, v)| *n == "WWW-Authenticate" && v.contains("invalid_request")));
}

#[test]
fn a_routed_token_authenticates_to_an_identity() {
    let g = gateway();
    let bearer = format!("Bearer {}", token(Algorithm::Es256, &good_claims()));
    let mut h = head("GET", "/whoami");
    h.authorization = Some(&bearer);
    let Step::Route {
        route,
        token: Some(t),
    } = g.begin(&h)
    else {
        panic!()
    };
    assert_eq!(route.handler, Action::Whoami);
    let identity = authenticate(&g.config.auth, t).unwrap();
    assert_eq!(
        AuthContext::authenticated(identity)
            .user_identity()
            .unwrap()
            .subject,
        "user-1"
    );
}

#[test]
fn decoration_follows_the_origin() {
    let g = gateway();
    let d = g.decoration(&head("GET", "/health"));
    assert_eq!(
        d.set,
        vec![(
            "Access-Control-Allow-Origin",
            "http://localhost:5173".into()
        )]
    );
    let mut h = head("GET", "/health");
    h.origin = Some("http://localhost:5174");
    assert!(g.decoration(&h).set.is_empty());
    assert_eq!(g.decoration(&h).vary, Some("Origin"));
}
