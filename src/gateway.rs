//! The request pipeline up to the handler: preflight, routing, and reading the credential.
//!
//! The request flows one way: [`Gateway::begin`] answers preflights and routing failures, or
//! hands back the route and the bearer token to authenticate; the Worker adapter verifies the
//! token (asynchronously, with Web Crypto), runs the handler, and finally decorates whatever
//! response came out with [`Gateway::decoration`].

use crate::auth::error::AuthError;
use crate::auth::header::bearer_token;
use crate::auth::AuthPolicy;
use crate::config::Config;
use crate::cors::{self, Decoration};
use crate::reply::Reply;
use crate::routing::{Method, Resolution, Route, Router};

/// The parts of a request the pipeline reads. Reading only these keeps the number of
/// JS↔wasm crossings per request small.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestHead<'r> {
    /// The request method, as sent.
    pub method: &'r str,
    /// The URL path, without the query string.
    pub path: &'r str,
    /// `Origin`
    pub origin: Option<&'r str>,
    /// `Access-Control-Request-Method`
    pub request_method: Option<&'r str>,
    /// `Access-Control-Request-Headers`
    pub request_headers: Option<&'r str>,
    /// `Authorization`
    pub authorization: Option<&'r str>,
}

/// What to do with a request.
#[derive(Debug)]
pub enum Step<'g, 'r, H> {
    /// A preflight answer, complete with its CORS headers.
    Preflight(Reply),
    /// A final answer that still needs CORS decoration.
    Reply(Reply),
    /// Authenticate `token` if there is one, then run the route's handler.
    Route {
        /// The matched route.
        route: &'g Route<H>,
        /// The bearer token, on routes whose policy reads it and when one was sent.
        token: Option<&'r str>,
    },
}

/// The configuration and the routes, together.
#[derive(Debug)]
pub struct Gateway<H> {
    /// The parsed configuration.
    pub config: Config,
    /// The routes.
    pub router: Router<H>,
}

impl<H> Gateway<H> {
    /// Decides what to do with a request, up to authentication.
    pub fn begin<'g, 'r>(&'g self, head: &RequestHead<'r>) -> Step<'g, 'r, H> {
        if let (true, Some(origin)) = (
            cors::is_preflight(head.method, head.origin, head.request_method),
            head.origin,
        ) {
            return self.preflight(origin, head);
        }

        let Some(method) = Method::parse(head.method) else {
            return Step::Reply(self.unroutable(head));
        };
        let route = match self.router.resolve(method, head.path) {
            Resolution::Found(route) => route,
            Resolution::MethodNotAllowed { allow } => {
                return Step::Reply(Reply::method_not_allowed(head.method, &allow))
            }
            Resolution::NotFound => return Step::Reply(Reply::not_found(head.path)),
        };

        let token = match route.auth {
            AuthPolicy::Public => None,
            AuthPolicy::Optional | AuthPolicy::Required => match bearer_token(head.authorization) {
                Ok(token) => token,
                Err(err) => return Step::Reply(Reply::auth_error(&err)),
            },
        };
        if token.is_none() && route.auth == AuthPolicy::Required {
            return Step::Reply(Reply::auth_error(&AuthError::MissingToken));
        }
        Step::Route { route, token }
    }

    /// A preflight is answered before routing and authentication: it never carries
    /// credentials (Fetch §3.2.2), so a route's policy cannot apply to it.
    fn preflight<'g, 'r>(&'g self, origin: &str, head: &RequestHead<'r>) -> Step<'g, 'r, H> {
        let methods = self.router.methods_for(head.path);
        if methods.is_empty() {
            return Step::Reply(Reply::not_found(head.path));
        }
        let headers = self
            .config
            .cors
            .preflight(origin, head.request_headers, &methods);
        Step::Preflight(Reply::preflight(headers))
    }

    fn unroutable(&self, head: &RequestHead<'_>) -> Reply {
        let allow = self.router.methods_for(head.path);
        if allow.is_empty() {
            Reply::not_found(head.path)
        } else {
            Reply::method_not_allowed(head.method, &allow)
        }
    }

    /// The CORS headers every non-preflight response to this request gets.
    pub fn decoration(&self, head: &RequestHead<'_>) -> Decoration {
        self.config.cors.actual(head.origin)
    }
}

#[cfg(test)]
mod tests;
