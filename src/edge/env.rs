//! Reading settings from the Worker's bindings.

use worker::js_sys::{Reflect, JSON};
use worker::wasm_bindgen::JsValue;
use worker::Env;

/// A variable's or secret's text. `[vars]` entries written as TOML tables or arrays arrive as
/// objects; they are read back as their JSON text, so `AUTH_PROVIDERS` may be written either
/// way. Numbers and booleans become their usual text.
pub fn text(env: &Env, name: &str) -> Option<String> {
    let env: &JsValue = env.as_ref();
    let value = Reflect::get(env, &JsValue::from_str(name)).ok()?;
    if value.is_undefined() || value.is_null() {
        return None;
    }
    if let Some(text) = value.as_string() {
        return Some(text);
    }
    if let Some(flag) = value.as_bool() {
        return Some(flag.to_string());
    }
    if let Some(number) = value.as_f64() {
        return Some(number.to_string());
    }
    JSON::stringify(&value)
        .ok()
        .and_then(|text| text.as_string())
}
