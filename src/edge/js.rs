//! The few JavaScript functions the adapter calls, each doing in one JS↔wasm crossing what
//! the `worker` crate's wrappers would do in many: reading the request head, building a
//! response with all its headers, decorating a handler's response, and writing the log line.
//!
//! Lists travel as one string with fields separated by NUL, which no header can contain
//! (Fetch §2.2: a header value has no 0x00, 0x0A or 0x0D).

use worker::wasm_bindgen;
use worker::wasm_bindgen::prelude::*;
use worker::web_sys;

#[wasm_bindgen(inline_js = r#"
const SEP = "\u0000";
const field = (headers, name) => {
  const value = headers.get(name);
  return value === null ? "" : "+" + value;
};
export function requestHead(request) {
  const h = request.headers;
  return [
    Date.now(),
    request.method,
    request.url,
    field(h, "origin"),
    field(h, "access-control-request-method"),
    field(h, "access-control-request-headers"),
    field(h, "authorization"),
  ].join(SEP);
}
const pairs = (joined) => {
  const out = [];
  if (joined !== "") {
    const parts = joined.split(SEP);
    for (let i = 0; i + 1 < parts.length; i += 2) out.push([parts[i], parts[i + 1]]);
  }
  return out;
};
const log = (line, started) => console.log(line + (Date.now() - started) + "}");
export function respond(status, headers, body, line, started) {
  log(line, started);
  return new Response(body === "" ? null : body, { status, headers: pairs(headers) });
}
export function decorate(response, headers, headOnly, line, started) {
  let out = headOnly ? new Response(null, response) : response;
  const apply = (target) => {
    for (const [name, value] of pairs(headers)) target.set(name, value);
  };
  try {
    apply(out.headers);
  } catch {
    out = new Response(out.body, out);
    apply(out.headers);
  }
  log(line, started);
  return out;
}
async function readLimited(body, limit) {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
export function readBody(request, limit) {
  return readLimited(request.body, limit);
}
export async function fetchDocument(url, timeoutMs, limit) {
  try {
    const response = await fetch(url, {
      method: "GET",
      redirect: "manual",
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const h = response.headers;
    let body = new Uint8Array(0);
    let tooLarge = false;
    if (response.status === 200) {
      body = await readLimited(response.body, limit);
      tooLarge = body === null;
    } else if (response.body !== null) {
      response.body.cancel().catch(() => {});
    }
    const error = tooLarge ? "the body is larger than " + limit + " bytes" : "";
    return [response.status, h.get("content-type") ?? "", h.get("cache-control") ?? "",
            body ?? new Uint8Array(0), error];
  } catch (error) {
    const timedOut = error && (error.name === "TimeoutError" || error.name === "AbortError");
    return [0, "", "", new Uint8Array(0), timedOut ? "timeout" : String(error && error.message)];
  }
}
"#)]
extern "C" {
    /// `started NUL method NUL url NUL origin NUL acrm NUL acrh NUL authorization`, where a
    /// present header is prefixed with `+` and an absent one is empty.
    #[wasm_bindgen(js_name = requestHead)]
    pub fn request_head(request: &web_sys::Request) -> String;

    /// A new response; logs `line` completed with the duration.
    pub fn respond(
        status: u16,
        headers: &str,
        body: &str,
        line: &str,
        started: f64,
    ) -> web_sys::Response;

    /// The request body, or `null` once it passes `limit` bytes (reading stops there).
    #[wasm_bindgen(js_name = readBody)]
    pub fn read_body(request: &web_sys::Request, limit: u32) -> worker::js_sys::Promise;

    /// GETs `url` without following redirects, giving up after `timeout_ms` or once the body
    /// passes `limit` bytes: `[status, content type, cache control, body, error]`, where a
    /// status of 0 means no response and `error` says why.
    #[wasm_bindgen(js_name = fetchDocument)]
    pub fn fetch_document(url: &str, timeout_ms: u32, limit: u32) -> worker::js_sys::Promise;

    /// Sets `headers` on a handler's response (copying it when its headers are immutable),
    /// drops its body for `HEAD`, and logs `line`. A `Vary` among `headers` is already merged
    /// with the handler's.
    pub fn decorate(
        response: web_sys::Response,
        headers: &str,
        head_only: bool,
        line: &str,
        started: f64,
    ) -> web_sys::Response;
}

/// Joins header pairs for [`respond`] and [`decorate`].
pub fn join_headers<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut joined = String::with_capacity(256);
    for (name, value) in headers {
        if !joined.is_empty() {
            joined.push('\0');
        }
        joined.push_str(name);
        joined.push('\0');
        joined.push_str(value);
    }
    joined
}
