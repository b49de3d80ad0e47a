// The Worker's JavaScript entry point, given to worker-build as its shim (CUSTOM_SHIM).
//
// It instantiates the wasm module once per isolate and hands each request straight to the
// exported `fetch`, which answers with a Response, or a Promise of one when it does I/O. It
// adds nothing per request beyond that call: no entrypoint class, no proxies.
//
// If the wasm code ever traps (a Rust panic aborts), the instance is in an unknown state: it
// is replaced by a fresh one, and the request that trapped gets a JSON 500.
import * as imports from "./index_bg.js";
import wasmModule from "./index.wasm";
$SNIPPET_JS_IMPORTS

function instantiate() {
  const instance = new WebAssembly.Instance(wasmModule, {
    "./index_bg.js": imports,
    $SNIPPET_WASM_IMPORTS
  });
  imports.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start?.();
}

instantiate();

const FAILED = JSON.stringify({
  error: "internal_error",
  message: "the worker failed; see its log",
});

function recover(error) {
  console.error(JSON.stringify({ event: "wasm_trap", message: String(error) }));
  if (error instanceof WebAssembly.RuntimeError) {
    instantiate();
  }
  return new Response(FAILED, { status: 500, headers: { "content-type": "application/json" } });
}

export default {
  fetch(request, env, ctx) {
    try {
      const response = imports.fetch(request, env, ctx);
      return response instanceof Promise ? response.catch(recover) : response;
    } catch (error) {
      return recover(error);
    }
  },
};
