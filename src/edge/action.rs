//! What handlers receive and return.

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;
use worker::js_sys::Uint8Array;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{web_sys, Env, Request, Response};

use crate::auth::AuthContext;

/// What a handler receives: the request, the environment, and who is calling.
pub struct Action {
    raw: web_sys::Request,
    wrapped: Option<Request>,
    /// The Worker's bindings.
    pub env: Env,
    /// The caller, as [`AuthContext::user_identity`] tells.
    pub auth: AuthContext,
}

impl Action {
    pub(super) fn new(request: web_sys::Request, env: Env, auth: AuthContext) -> Action {
        Action {
            raw: request,
            wrapped: None,
            env,
            auth,
        }
    }

    /// Reads the body, at most `limit` bytes: `None` when it is longer, in which case reading
    /// stops there rather than holding the whole body in memory.
    pub async fn body_up_to(&mut self, limit: u32) -> worker::Result<Option<Vec<u8>>> {
        let body = JsFuture::from(super::js::read_body(&self.raw, limit)).await?;
        if body.is_null() {
            return Ok(None);
        }
        Ok(Some(Uint8Array::from(body).to_vec()))
    }

    /// The incoming request; its body has not been read.
    ///
    /// It is wrapped as a `worker::Request` on the first call only: the wrapper reads the
    /// URL, method and headers across the JS boundary, which most handlers never need.
    pub fn request(&mut self) -> &mut Request {
        let raw = &self.raw;
        self.wrapped
            .get_or_insert_with(|| Request::from(Clone::clone(raw)))
    }
}

/// A handler's answer.
///
/// [`Answer::json`] and [`Answer::text`] are sent in a single step together with the CORS
/// headers; any `worker::Response` (a stream, a subrequest's answer) converts with `into()`.
pub enum Answer {
    /// A response with a text body, built here.
    Simple {
        /// The status code.
        status: u16,
        /// Headers, in order.
        headers: Vec<(String, String)>,
        /// The body.
        body: String,
    },
    /// Any other response.
    Worker(Response),
}

impl Answer {
    /// `200` with `value` as JSON.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> worker::Result<Answer> {
        let body = serde_json::to_string(value)?;
        Ok(Answer::Simple {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body,
        })
    }

    /// `200` with a plain-text body.
    pub fn text(body: impl Into<String>) -> Answer {
        Answer::Simple {
            status: 200,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: body.into(),
        }
    }

    /// The same answer with another status.
    pub fn with_status(self, code: u16) -> Answer {
        match self {
            Answer::Simple { headers, body, .. } => Answer::Simple {
                status: code,
                headers,
                body,
            },
            Answer::Worker(response) => Answer::Worker(response.with_status(code)),
        }
    }

    /// The same answer with one more header.
    pub fn with_header(self, name: &str, value: &str) -> Answer {
        match self {
            Answer::Simple {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.to_string(), value.to_string()));
                Answer::Simple {
                    status,
                    headers,
                    body,
                }
            }
            Answer::Worker(response) => {
                let _ = response.headers().append(name, value);
                Answer::Worker(response)
            }
        }
    }
}

impl From<Response> for Answer {
    fn from(response: Response) -> Answer {
        Answer::Worker(response)
    }
}

/// A handler's future.
pub type HandlerFuture = Pin<Box<dyn Future<Output = worker::Result<Answer>>>>;

/// An HTTP action.
pub type Handler = fn(Action) -> HandlerFuture;
