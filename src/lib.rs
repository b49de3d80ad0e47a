//! sitegate: HTTP actions at site-style paths, with bearer-JWT identity and CORS, as a
//! Cloudflare Worker.
//!
//! The core — [`routing`], [`cors`], [`auth`], [`config`] and the [`gateway`] pipeline that
//! joins them — is plain Rust, compiled and tested on the host. The `edge` module (wasm
//! only) adapts it to the `worker` crate, and `actions` declares the routes the worker serves.

pub mod auth;
pub mod config;
pub mod cors;
pub mod gateway;
pub mod reply;
pub mod routing;

#[cfg(target_arch = "wasm32")]
mod actions;
#[cfg(target_arch = "wasm32")]
pub mod edge;

#[cfg(target_arch = "wasm32")]
#[worker::event(fetch)]
async fn fetch(
    request: worker::Request,
    env: worker::Env,
    ctx: worker::Context,
) -> worker::Result<worker::Response> {
    edge::serve(request, env, ctx, actions::routes).await
}
