//! Responses decided by the core, and the JSON error shape every failure uses.

use serde::Serialize;

use crate::auth::error::AuthError;
use crate::config::ConfigError;
use crate::routing::{method_list, Method};

/// A response the core decided on, before CORS decoration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Headers to send.
    pub headers: Vec<(&'static str, String)>,
    /// The body; empty for 204.
    pub body: String,
    /// The short word the request log records: `preflight`, or an error code.
    pub outcome: &'static str,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

impl Reply {
    /// An empty 204 with `headers`, answering a preflight.
    pub fn preflight(headers: Vec<(&'static str, String)>) -> Reply {
        Reply {
            status: 204,
            headers,
            body: String::new(),
            outcome: "preflight",
        }
    }

    /// A JSON error: `{"error": code, "message": message}`.
    pub fn error(status: u16, code: &'static str, message: &str) -> Reply {
        let body = serde_json::to_string(&ErrorBody {
            error: code,
            message,
        })
        .unwrap_or_default();
        Reply {
            status,
            headers: vec![("Content-Type", "application/json".into())],
            body,
            outcome: code,
        }
    }

    /// 404 for a path nothing serves.
    pub fn not_found(path: &str) -> Reply {
        let shown: String = path.chars().take(200).collect();
        Reply::error(404, "not_found", &format!("no route serves {shown}"))
    }

    /// 405 with `Allow`.
    pub fn method_not_allowed(method: &str, allow: &[Method]) -> Reply {
        let allow = method_list(allow);
        let shown: String = method.chars().take(32).collect();
        let mut reply = Reply::error(
            405,
            "method_not_allowed",
            &format!("{shown} is not served here; allowed: {allow}"),
        );
        reply.headers.push(("Allow", allow));
        reply
    }

    /// A failed authentication: 401 with `WWW-Authenticate`, or 503 with `Retry-After`.
    pub fn auth_error(err: &AuthError) -> Reply {
        let mut reply = Reply::error(err.status(), err.code(), &err.to_string());
        if let Some(challenge) = err.challenge() {
            reply.headers.push(("WWW-Authenticate", challenge));
        }
        if let AuthError::KeysUnavailable { retry_after } = err {
            reply.headers.push(("Retry-After", retry_after.to_string()));
        }
        reply
    }

    /// 500 for a configuration that cannot be used.
    pub fn config_error(err: &ConfigError) -> Reply {
        Reply::error(500, "invalid_configuration", &err.to_string())
    }

    /// 500 for a failure inside a handler; the details go to the log, not the client.
    pub fn internal_error() -> Reply {
        Reply::error(
            500,
            "internal_error",
            "the handler failed; see the worker's log",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_json_with_code_and_message() {
        let reply = Reply::not_found("/nope");
        assert_eq!(reply.status, 404);
        assert_eq!(
            reply.body,
            r#"{"error":"not_found","message":"no route serves /nope"}"#
        );
        assert_eq!(
            reply.headers,
            vec![("Content-Type", "application/json".to_string())]
        );
    }

    #[test]
    fn method_not_allowed_lists_allow() {
        let reply = Reply::method_not_allowed("DELETE", &[Method::Get, Method::Head]);
        assert_eq!(reply.status, 405);
        assert!(reply.headers.contains(&("Allow", "GET, HEAD".to_string())));
        assert!(reply
            .body
            .contains("DELETE is not served here; allowed: GET, HEAD"));
    }

    #[test]
    fn auth_errors_carry_challenge_or_retry_after() {
        let reply = Reply::auth_error(&AuthError::MissingToken);
        assert_eq!(reply.status, 401);
        assert!(reply
            .headers
            .contains(&("WWW-Authenticate", "Bearer realm=\"sitegate\"".into())));
        let reply = Reply::auth_error(&AuthError::KeysUnavailable { retry_after: 30 });
        assert_eq!(reply.status, 503);
        assert!(reply.headers.contains(&("Retry-After", "30".into())));
        assert!(reply.body.contains("\"jwks_unavailable\""));
    }
}
