//! The Worker adapter: turns a `worker::Request` into the core's [`RequestHead`], runs the
//! pipeline, and turns the outcome back into a `worker::Response`.
//!
//! This is the only module that touches the `worker` crate, and the only one that logs: one
//! JSON line per request (method, path, status, outcome, duration), never a header value.

#[cfg(not(feature = "native-verify"))]
mod crypto;
mod env;
mod jwks;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use worker::{
    console_error, console_log, Context, Env, Headers, Request, Response, ResponseBuilder,
};

use crate::auth::cache::{self, VerifiedTokens};
use crate::auth::error::AuthError;
use crate::auth::keys::VerifyingKey;
use crate::auth::{AuthContext, KeySource};
use crate::config::{Config, ConfigError};
use crate::cors::{merge_vary, CorsPolicy, Decoration};
use crate::gateway::{Gateway, RequestHead, Step};
use crate::reply::Reply;
use crate::routing::Router;

/// What a handler receives: the request, the environment, and who is calling.
pub struct Action {
    /// The incoming request; its body has not been read.
    pub request: Request,
    /// The Worker's bindings.
    pub env: Env,
    /// The caller, as [`AuthContext::user_identity`] tells.
    pub auth: AuthContext,
}

/// A handler's future.
pub type HandlerFuture = Pin<Box<dyn Future<Output = worker::Result<Response>>>>;

/// An HTTP action.
pub type Handler = fn(Action) -> HandlerFuture;

/// The isolate's gateway, built from the environment on the first request.
enum State {
    Ready(Gateway<Handler>),
    Broken {
        error: ConfigError,
        cors: Option<CorsPolicy>,
    },
}

thread_local! {
    static STATE: RefCell<Option<Rc<State>>> = const { RefCell::new(None) };
}

async fn state(env: &Env, routes: fn() -> Router<Handler>) -> Rc<State> {
    if let Some(state) = STATE.with(|s| s.borrow().clone()) {
        return state;
    }
    let lookup = |name: &str| env::text(env, name);
    let config = match Config::from_lookup(lookup) {
        Ok(config) => import_static_keys(&config).await.map(|()| config),
        Err(error) => Err(error),
    };
    let state = match config {
        Ok(config) => State::Ready(Gateway {
            config,
            router: routes(),
        }),
        Err(error) => {
            console_error!(
                "{}",
                serde_json::json!({"event": "config_error", "setting": error.setting,
                                   "message": error.to_string()})
            );
            State::Broken {
                cors: Config::cors_from_lookup(lookup).ok(),
                error,
            }
        }
    };
    let state = Rc::new(state);
    STATE.with(|s| *s.borrow_mut() = Some(state.clone()));
    state
}

/// Imports every configured key into Web Crypto before the first request is served: a key
/// that Web Crypto refuses is a configuration error, reported like any other.
#[cfg(not(feature = "native-verify"))]
async fn import_static_keys(config: &Config) -> Result<(), ConfigError> {
    for (index, provider) in config.auth.providers().iter().enumerate() {
        let KeySource::Static(keys) = &provider.keys else {
            continue;
        };
        for key in keys {
            if let Err(err) = crypto::import_all(key, &provider.algorithms).await {
                let name = key
                    .kid
                    .as_deref()
                    .map_or("without kid".to_string(), |k| format!("{k:?}"));
                return Err(ConfigError {
                    setting: "AUTH_PROVIDERS",
                    problem: format!(
                        "provider {index}: jwks: key {name}: Web Crypto cannot import it: {}",
                        err.0
                    ),
                });
            }
        }
    }
    Ok(())
}

#[cfg(feature = "native-verify")]
async fn import_static_keys(_config: &Config) -> Result<(), ConfigError> {
    Ok(())
}

/// Serves one request with the routes `routes` declares.
pub async fn serve(
    request: Request,
    env: Env,
    _ctx: Context,
    routes: fn() -> Router<Handler>,
) -> worker::Result<Response> {
    let started = worker::js_sys::Date::now();
    let method = request.inner().method();
    let path = request.path();
    let headers = request.headers();
    let origin = headers.get("Origin").ok().flatten();
    let request_method = headers.get("Access-Control-Request-Method").ok().flatten();
    let request_headers = headers.get("Access-Control-Request-Headers").ok().flatten();
    let authorization = headers.get("Authorization").ok().flatten();
    let head = RequestHead {
        method: &method,
        path: &path,
        origin: origin.as_deref(),
        request_method: request_method.as_deref(),
        request_headers: request_headers.as_deref(),
        authorization: authorization.as_deref(),
    };

    let state = state(&env, routes).await;
    let (response, outcome) = match &*state {
        State::Ready(gateway) => run(gateway, &head, request, env).await,
        State::Broken { error, cors } => {
            let reply = Reply::config_error(error);
            let decoration = cors.as_ref().map(|cors| cors.actual(head.origin));
            let outcome = reply.outcome;
            (
                finish(to_response(reply, &method), decoration.as_ref()),
                outcome,
            )
        }
    };

    let status = response.status_code();
    log(
        &method,
        &path,
        status,
        outcome,
        worker::js_sys::Date::now() - started,
    );
    Ok(response)
}

async fn run(
    gateway: &Gateway<Handler>,
    head: &RequestHead<'_>,
    request: Request,
    env: Env,
) -> (Response, &'static str) {
    let decoration = gateway.decoration(head);
    let (route, token) = match gateway.begin(head) {
        Step::Preflight(reply) => {
            let outcome = reply.outcome;
            return (to_response(reply, head.method), outcome);
        }
        Step::Reply(reply) => {
            let outcome = reply.outcome;
            return (
                finish(to_response(reply, head.method), Some(&decoration)),
                outcome,
            );
        }
        Step::Route { route, token } => (route, token),
    };

    let auth = match token {
        None => AuthContext::anonymous(),
        Some(token) => match authenticate(gateway, token).await {
            Ok(auth) => auth,
            Err(err) => {
                let reply = Reply::auth_error(&err);
                let outcome = reply.outcome;
                return (
                    finish(to_response(reply, head.method), Some(&decoration)),
                    outcome,
                );
            }
        },
    };

    let action = Action { request, env, auth };
    let (response, outcome) = match (route.handler)(action).await {
        Ok(response) => (response, "ok"),
        Err(err) => {
            console_error!(
                "{}",
                serde_json::json!({"event": "handler_error", "path": head.path,
                                   "message": err.to_string()})
            );
            let reply = Reply::internal_error();
            let outcome = reply.outcome;
            (to_response(reply, head.method), outcome)
        }
    };
    let response = if head.method == "HEAD" {
        without_body(response)
    } else {
        response
    };
    (finish(response, Some(&decoration)), outcome)
}

thread_local! {
    static VERIFIED: RefCell<VerifiedTokens> = RefCell::new(VerifiedTokens::default());
}

async fn authenticate(gateway: &Gateway<Handler>, token: &str) -> Result<AuthContext, AuthError> {
    let inspected = gateway.config.auth.inspect(token)?;
    let provider = inspected.provider();
    let fetched;
    let keys: &[VerifyingKey] = match &provider.keys {
        KeySource::Static(keys) => keys,
        KeySource::Remote(settings) => {
            fetched = jwks::keys_for(provider, settings, inspected.kid(), forget_keys).await?;
            &fetched
        }
    };
    let pending = inspected.with_keys(keys)?;

    let now = worker::js_sys::Date::now() / 1000.0;
    let digest = cache::digest(token);
    let key_id = pending.key().id;
    let remembered = VERIFIED.with(|v| v.borrow().contains(&digest, key_id, now));
    let valid = if remembered {
        true
    } else {
        let valid = check_signature(&pending.signature_check()).await?;
        if let (true, Some(exp)) = (valid, pending.expires_at()) {
            let forget_at = exp + f64::from(gateway.config.auth.leeway_seconds());
            VERIFIED.with(|v| v.borrow_mut().insert(digest, key_id, forget_at, now));
        }
        valid
    };
    pending.accept(valid, now).map(AuthContext::authenticated)
}

/// Called when a fetched key set replaces another: what the old keys verified or imported
/// must not outlive them.
fn forget_keys(replaced: &[u64]) {
    if replaced.is_empty() {
        return;
    }
    VERIFIED.with(|v| v.borrow_mut().forget_keys(replaced));
    #[cfg(not(feature = "native-verify"))]
    crypto::forget_keys(replaced);
}

#[cfg(not(feature = "native-verify"))]
async fn check_signature(check: &crate::auth::SignatureCheck<'_>) -> Result<bool, AuthError> {
    crypto::verify_signature(check).await.map_err(|err| {
        console_error!(
            "{}",
            serde_json::json!({"event": "key_import_failed", "kid": check.key.kid,
                               "message": err.0})
        );
        AuthError::KeysUnavailable { retry_after: 60 }
    })
}

#[cfg(feature = "native-verify")]
async fn check_signature(check: &crate::auth::SignatureCheck<'_>) -> Result<bool, AuthError> {
    Ok(crate::auth::verify::verify(check))
}

/// Builds a `Response` from a core reply. A `HEAD` gets the headers without the body.
fn to_response(reply: Reply, method: &str) -> Response {
    let headers = Headers::new();
    for (name, value) in &reply.headers {
        let _ = headers.set(name, value);
    }
    let builder = ResponseBuilder::new()
        .with_status(reply.status)
        .with_headers(headers);
    if reply.body.is_empty() || method == "HEAD" {
        builder.empty()
    } else {
        builder.fixed(reply.body.into_bytes())
    }
}

fn without_body(response: Response) -> Response {
    let status = response.status_code();
    let headers = response.headers().clone();
    ResponseBuilder::new()
        .with_status(status)
        .with_headers(headers)
        .empty()
}

/// Adds the CORS headers to a response. Headers of a response that came from a subrequest
/// are immutable; those are copied into a fresh set first.
fn finish(mut response: Response, decoration: Option<&Decoration>) -> Response {
    let Some(decoration) = decoration else {
        return response;
    };
    if apply(response.headers(), decoration).is_err() {
        let copy = Headers::new();
        for (name, value) in response.headers().entries() {
            let _ = copy.append(&name, &value);
        }
        let _ = apply(&copy, decoration);
        response = response.with_headers(copy);
    }
    response
}

fn apply(headers: &Headers, decoration: &Decoration) -> worker::Result<()> {
    for (name, value) in &decoration.set {
        headers.set(name, value)?;
    }
    if let Some(name) = decoration.vary {
        let existing = headers.get("Vary")?;
        if let Some(vary) = merge_vary(existing.as_deref(), name) {
            headers.set("Vary", &vary)?;
        }
    }
    Ok(())
}

fn log(method: &str, path: &str, status: u16, outcome: &str, millis: f64) {
    let shown: String = path.chars().take(256).collect();
    console_log!(
        "{}",
        serde_json::json!({"method": method, "path": shown, "status": status,
                           "outcome": outcome, "ms": millis})
    );
}
