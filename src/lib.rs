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

/// The Worker's `fetch` handler.
#[cfg(target_arch = "wasm32")]
#[worker::wasm_bindgen::prelude::wasm_bindgen(wasm_bindgen = worker::wasm_bindgen)]
pub fn fetch(
    request: worker::web_sys::Request,
    env: worker::Env,
    _ctx: worker::wasm_bindgen::JsValue,
) -> worker::wasm_bindgen::JsValue {
    edge::fetch(request, env, actions::routes)
}
