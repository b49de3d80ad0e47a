//! The Worker adapter: reads the request head, runs the core pipeline, verifies signatures
//! with Web Crypto, calls the handler, and writes the response and the log line.
//!
//! The request path is built to cross the JS↔wasm boundary as rarely as possible: one call
//! reads everything the pipeline needs ([`js::request_head`]), one builds the response with
//! its CORS headers and writes the log line ([`js::respond`] or [`js::decorate`]). A request
//! that needs no I/O — a preflight, a routing error, a handler that answers at once with a
//! token already verified — is answered synchronously, without a Promise.
//!
//! This is the only module that touches the `worker` crate, and the only one that logs: one
//! JSON line per request (method, path, status, outcome, duration), never a header value.

mod action;
#[cfg(not(feature = "native-verify"))]
mod crypto;
mod env;
mod js;
mod jwks;
mod state;

use std::cell::RefCell;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use worker::wasm_bindgen::JsValue;
use worker::{console_error, web_sys, Env};

pub use self::action::{Action, Answer, Handler, HandlerFuture};
use self::state::State;
use crate::auth::cache::{self, VerifiedTokens};
use crate::auth::error::AuthError;
use crate::auth::keys::VerifyingKey;
use crate::auth::{AuthContext, KeySource};
use crate::cors::{merge_vary, Decoration};
use crate::gateway::{Gateway, RequestHead, Step};
use crate::reply::Reply;
use crate::routing::Router;

/// Serves one request: a `Response`, or a `Promise` of one when I/O is needed.
///
/// The pipeline is polled once right here. When it completes without waiting on anything,
/// the response goes back synchronously; otherwise the same future is handed to the
/// executor. Its inner futures only ever see one waker, a [`Forward`], which passes every
/// wake to whichever waker polled last — so a future that keeps the waker of its first poll
/// (a timer, say) still wakes the executor.
pub fn fetch(request: web_sys::Request, env: Env, routes: fn() -> Router<Handler>) -> JsValue {
    let mut response = Box::pin(serve(request, env, routes));
    let forward = Arc::new(Forward(Mutex::new(None)));
    let waker = Waker::from(forward.clone());
    if let Poll::Ready(response) = response.as_mut().poll(&mut Context::from_waker(&waker)) {
        return response.into();
    }
    let pending = std::future::poll_fn(move |cx| {
        forward.set(cx.waker());
        response.as_mut().poll(&mut Context::from_waker(&waker))
    });
    worker::wasm_bindgen_futures::future_to_promise(async move { Ok(JsValue::from(pending.await)) })
        .into()
}

/// A waker that forwards to the waker of the latest poll.
struct Forward(Mutex<Option<Waker>>);

impl Forward {
    fn set(&self, waker: &Waker) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(waker.clone());
        }
    }
}

impl Wake for Forward {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waker = self.0.lock().ok().and_then(|slot| slot.clone());
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The request head as read in one crossing.
struct Head {
    started: f64,
    method: String,
    url: String,
    origin: Option<String>,
    request_method: Option<String>,
    request_headers: Option<String>,
    authorization: Option<String>,
}

impl Head {
    fn read(request: &web_sys::Request) -> Head {
        let joined = js::request_head(request);
        let mut fields = joined.split('\0');
        let mut next = || fields.next().unwrap_or("");
        let header = |field: &str| field.strip_prefix('+').map(str::to_string);
        Head {
            started: next().parse().unwrap_or(0.0),
            method: next().to_string(),
            url: next().to_string(),
            origin: header(next()),
            request_method: header(next()),
            request_headers: header(next()),
            authorization: header(next()),
        }
    }

    fn view(&self) -> RequestHead<'_> {
        RequestHead {
            method: &self.method,
            path: path_of(&self.url),
            origin: self.origin.as_deref(),
            request_method: self.request_method.as_deref(),
            request_headers: self.request_headers.as_deref(),
            authorization: self.authorization.as_deref(),
        }
    }
}

/// The path of a serialized absolute URL, without query or fragment. A serialized URL of a
/// special scheme always has a path that starts at the first `/` after the authority.
fn path_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    let rest = &url[after_scheme..];
    let path = rest.find('/').map_or("/", |at| &rest[at..]);
    path.split(['?', '#']).next().unwrap_or("/")
}

async fn serve(
    request: web_sys::Request,
    env: Env,
    routes: fn() -> Router<Handler>,
) -> web_sys::Response {
    let head = Head::read(&request);
    let view = head.view();
    let state = state::get(&env, routes).await;
    match &*state {
        State::Ready(gateway) => run(gateway, &head, &view, request, env).await,
        State::Broken { error, cors } => {
            let decoration = cors.as_ref().map(|cors| cors.actual(view.origin));
            send(
                &head,
                &view,
                Reply::config_error(error),
                decoration.as_ref(),
            )
        }
    }
}

async fn run(
    gateway: &Gateway<Handler>,
    head: &Head,
    view: &RequestHead<'_>,
    request: web_sys::Request,
    env: Env,
) -> web_sys::Response {
    let step = gateway.begin(view);
    if let Step::Preflight(reply) = step {
        return send(head, view, reply, None);
    }
    let decoration = gateway.decoration(view);
    let (route, token) = match step {
        Step::Preflight(reply) | Step::Reply(reply) => {
            return send(head, view, reply, Some(&decoration))
        }
        Step::Route { route, token } => (route, token),
    };

    let auth = match token {
        None => AuthContext::anonymous(),
        Some(token) => match authenticate(gateway, token).await {
            Ok(auth) => auth,
            Err(err) => return send(head, view, Reply::auth_error(&err), Some(&decoration)),
        },
    };

    match (route.handler)(Action::new(request, env, auth)).await {
        Ok(Answer::Simple {
            status,
            headers,
            body,
        }) => {
            let outcome = handler_outcome(status, &body);
            let reply = Reply {
                status,
                headers: Vec::new(),
                body,
                outcome: "ok",
            };
            send_with(head, view, reply, &outcome, &headers, Some(&decoration))
        }
        Ok(Answer::Worker(response)) => {
            let status = response.status_code();
            let existing_vary = response.headers().get("Vary").ok().flatten();
            let vary = decoration
                .vary
                .and_then(|name| merge_vary(existing_vary.as_deref(), name));
            let raw = web_sys::Response::from(response);
            let line = log_line(
                view,
                status,
                if status < 400 { "ok" } else { "handler_status" },
            );
            let set = decoration.set.iter().map(|(n, v)| (*n, v.as_str()));
            let set = js::join_headers(set.chain(vary.as_deref().map(|v| ("Vary", v))));
            js::decorate(raw, &set, view.method == "HEAD", &line, head.started)
        }
        Err(err) => {
            console_error!(
                "{}",
                serde_json::json!({"event": "handler_error", "path": view.path,
                                   "message": err.to_string()})
            );
            send(head, view, Reply::internal_error(), Some(&decoration))
        }
    }
}

fn send(
    head: &Head,
    view: &RequestHead<'_>,
    reply: Reply,
    decoration: Option<&Decoration>,
) -> web_sys::Response {
    let outcome = reply.outcome;
    send_with(head, view, reply, outcome, &[], decoration)
}

/// What the log records for a handler's answer: `ok` below 400, else the `error` code of a
/// JSON error body, else `status_NNN`.
fn handler_outcome(status: u16, body: &str) -> String {
    if status < 400 {
        return "ok".into();
    }
    #[derive(serde::Deserialize)]
    struct ErrorCode {
        error: String,
    }
    match serde_json::from_str::<ErrorCode>(body) {
        Ok(ErrorCode { error })
            if !error.is_empty()
                && error.len() <= 64
                && error
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            error
        }
        _ => format!("status_{status}"),
    }
}

/// Builds the response in one crossing: the reply's headers, then `extra` (a handler's), then
/// the CORS decoration, with `Vary` merged rather than replaced.
fn send_with(
    head: &Head,
    view: &RequestHead<'_>,
    reply: Reply,
    outcome: &str,
    extra: &[(String, String)],
    decoration: Option<&Decoration>,
) -> web_sys::Response {
    let mut headers: Vec<(&str, &str)> = reply
        .headers
        .iter()
        .map(|(n, v)| (*n, v.as_str()))
        .collect();
    headers.extend(extra.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let mut vary = None;
    if let Some(decoration) = decoration {
        headers.retain(|(name, _)| {
            !decoration
                .set
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        });
        headers.extend(decoration.set.iter().map(|(n, v)| (*n, v.as_str())));
        if let Some(name) = decoration.vary {
            let existing = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("vary"))
                .map(|(_, v)| *v);
            vary = merge_vary(existing, name);
        }
    }
    if let Some(vary) = &vary {
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case("vary"));
        headers.push(("Vary", vary));
    }

    let body = if view.method == "HEAD" {
        ""
    } else {
        reply.body.as_str()
    };
    let line = log_line(view, reply.status, outcome);
    js::respond(
        reply.status,
        &js::join_headers(headers),
        body,
        &line,
        head.started,
    )
}

/// The log line up to the duration, which [`js::respond`] appends with the closing brace.
fn log_line(view: &RequestHead<'_>, status: u16, outcome: &str) -> String {
    let path: String = view.path.chars().take(256).collect();
    let mut line = String::with_capacity(96 + path.len());
    line.push_str("{\"method\":");
    line.push_str(&serde_json::to_string(view.method).unwrap_or_default());
    line.push_str(",\"path\":");
    line.push_str(&serde_json::to_string(&path).unwrap_or_default());
    line.push_str(",\"status\":");
    line.push_str(&status.to_string());
    line.push_str(",\"outcome\":\"");
    line.push_str(outcome);
    line.push_str("\",\"ms\":");
    line
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
    if check.alg == crate::auth::algorithm::Algorithm::Hs256 {
        return Ok(crate::auth::verify::verify_hmac(check));
    }
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
