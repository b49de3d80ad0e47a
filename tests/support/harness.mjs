// Shared test helpers: a worker whose log lines are captured (and printed only when
// SITEGATE_TEST_LOGS is set), and assertions for the worker's JSON error shape.
import assert from "node:assert/strict";
import { createInterface } from "node:readline";
import { startWorker } from "./worker.mjs";

/** The full default allowed-headers list, as the worker reads it when nothing is bound. */
export const DEFAULT_ALLOWED_HEADERS = "Content-Type, Authorization";

/** The `Vary` of every preflight answer. */
export const PREFLIGHT_VARY =
  "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/**
 * Starts the built worker with exactly `bindings`. The runtime's stdout and stderr lines
 * (the worker's request log) are collected in `worker.logs`. `options.buildDir` chooses the
 * build; `options.miniflare` is merged into the Miniflare options.
 */
export async function start(bindings, options = {}) {
  const logs = [];
  const echo = Boolean(process.env.SITEGATE_TEST_LOGS);
  const collect = (stream) => {
    createInterface({ input: stream }).on("line", (line) => {
      logs.push(line);
      if (echo) console.log(line);
    });
  };
  const worker = await startWorker(bindings, {
    buildDir: options.buildDir,
    miniflare: {
      ...options.miniflare,
      handleRuntimeStdio(stdout, stderr) {
        collect(stdout);
        collect(stderr);
      },
    },
  });
  worker.logs = logs;
  return worker;
}

/**
 * Asserts a JSON error `{"error": code, "message": message}` with `status`; `message` may be
 * a string (exact) or a RegExp. Returns the parsed body.
 */
export async function assertError(res, status, code, message) {
  const text = await res.text();
  assert.equal(res.status, status, `status of ${text}`);
  assert.equal(res.headers.get("content-type"), "application/json");
  const body = JSON.parse(text);
  assert.deepEqual(Object.keys(body).sort(), ["error", "message"]);
  assert.equal(body.error, code);
  if (message instanceof RegExp) {
    assert.match(body.message, message);
  } else if (message !== undefined) {
    assert.equal(body.message, message);
  }
  return body;
}

/** The `WWW-Authenticate` challenge for a rejected token or header. */
export function bearerChallenge(error, description) {
  return `Bearer realm="sitegate", error="${error}", error_description="${description}"`;
}

/** The challenge for a required route called without any token. */
export const BARE_CHALLENGE = 'Bearer realm="sitegate"';

/** Asserts the CORS headers of an actual response. */
export function assertCors(
  res,
  { origin = null, vary = "Origin", credentials = null, expose = null } = {},
) {
  assert.equal(
    res.headers.get("access-control-allow-origin"),
    origin,
    "Access-Control-Allow-Origin",
  );
  assert.equal(res.headers.get("vary"), vary, "Vary");
  assert.equal(
    res.headers.get("access-control-allow-credentials"),
    credentials,
    "Access-Control-Allow-Credentials",
  );
  assert.equal(
    res.headers.get("access-control-expose-headers"),
    expose,
    "Access-Control-Expose-Headers",
  );
  // Preflight-only headers never appear on an actual response.
  assert.equal(
    res.headers.get("access-control-allow-methods"),
    null,
    "Access-Control-Allow-Methods",
  );
  assert.equal(
    res.headers.get("access-control-allow-headers"),
    null,
    "Access-Control-Allow-Headers",
  );
  assert.equal(res.headers.get("access-control-max-age"), null, "Access-Control-Max-Age");
}
