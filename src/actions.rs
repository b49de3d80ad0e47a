//! The HTTP actions the shipped worker serves. Add routes here.

use serde_json::json;
use worker::Result;

use crate::auth::AuthPolicy;
use crate::edge::{Action, Answer, Handler};
use crate::routing::{Method, Route, Router};

/// The largest request body `/echo` reads.
const ECHO_LIMIT: u32 = 64 * 1024;

/// Every route, declared in one place.
pub fn routes() -> Router<Handler> {
    Router::<Handler>::new()
        .route(Route {
            path: "/health",
            method: Method::Get,
            auth: AuthPolicy::Public,
            handler: |action| Box::pin(health(action)),
        })
        .route(Route {
            path: "/whoami",
            method: Method::Get,
            auth: AuthPolicy::Required,
            handler: |action| Box::pin(whoami(action)),
        })
        .route(Route {
            path: "/echo",
            method: Method::Post,
            auth: AuthPolicy::Optional,
            handler: |action| Box::pin(echo(action)),
        })
}

/// `GET /health`: `{"ok": true}`.
async fn health(_action: Action) -> Result<Answer> {
    Answer::json(&json!({"ok": true}))
}

/// `GET /whoami`: the caller's identity.
async fn whoami(action: Action) -> Result<Answer> {
    Answer::json(&action.auth.user_identity())
}

/// `POST /echo`: the caller's identity (or `null`) and the request body as text.
async fn echo(mut action: Action) -> Result<Answer> {
    let Some(body) = action.body_up_to(ECHO_LIMIT).await? else {
        return too_large();
    };
    let body = String::from_utf8_lossy(&body);
    Answer::json(&json!({"identity": action.auth.user_identity(), "body": body}))
}

fn too_large() -> Result<Answer> {
    let body = json!({"error": "body_too_large",
                      "message": format!("the body must be at most {ECHO_LIMIT} bytes")});
    Ok(Answer::json(&body)?.with_status(413))
}
