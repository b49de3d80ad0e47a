// A programmable stand-in for identity providers' JWKS and discovery endpoints, served from
// Miniflare's outbound fetch hook: every `fetch()` the worker makes is handed to
// `mock.outboundService` inside this process, so no key fetch ever leaves it.
//
//   const mock = jwksMock();
//   mock.on("http://127.0.0.1:9/keys", jwks([rsa]));             // programmable per URL
//   const worker = await startWithMock(bindings, mock);          // startWorker + the hook + logs
//   ...
//   mock.on("http://127.0.0.1:9/keys", status(500));             // change the answer later
//   assert.equal(mock.count("http://127.0.0.1:9/keys"), 1);      // count fetches
//   assert.deepEqual(mock.unexpected(), []);                      // nothing else was asked for
//   mock.close();                                                  // ends hanging answers
//
// An answer is a function `(request, mock) => Response | answer | Promise of either`; the
// factories below make the usual ones. A URL without an answer gets 404 and is recorded
// like every other request, so tests can check that a URL was never fetched.
import { start } from "./harness.mjs";
import { KeyPair } from "./tokens.mjs";

/** Milliseconds to wait; resolves early (with `false`) if `signal` aborts. */
function pause(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve(false);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A JSON answer. `body` is an object (JSON-encoded) or a string (sent as is).
 * @param {unknown} body
 * @param {{ status?: number, contentType?: string | null, cacheControl?: string | null,
 *           headers?: Record<string, string> }} [options] `contentType: null` sends none.
 */
export function json(
  body,
  { status: code = 200, contentType = "application/json", cacheControl = null, headers = {} } = {},
) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return () => {
    const all = new Headers(headers);
    if (contentType !== null) all.set("Content-Type", contentType);
    if (cacheControl !== null) all.set("Cache-Control", cacheControl);
    return new Response(text, { status: code, headers: all });
  };
}

/**
 * A JWKS answer: `keys` are KeyPairs (their public JWK is published) or plain JWK objects.
 * Options as for `json`.
 */
export function jwks(keys, options) {
  return json({ keys: keys.map((key) => (key instanceof KeyPair ? key.jwk() : key)) }, options);
}

/** An OpenID Connect discovery document naming `issuer` and `jwksUri`. */
export function discovery(issuer, jwksUri, options) {
  return json(
    { issuer, jwks_uri: jwksUri, id_token_signing_alg_values_supported: ["RS256"] },
    options,
  );
}

/** A bare status, e.g. `status(500)`, with a short text body. */
export function status(code, body = `status ${code}`) {
  return () => new Response(body, { status: code, headers: { "Content-Type": "text/plain" } });
}

/** A redirect to `location` (302 unless told). */
export function redirect(location, code = 302) {
  return () => new Response(null, { status: code, headers: { Location: location } });
}

/** An HTML page with status 200 (a captive portal or a misconfigured endpoint). */
export function html(body = "<!doctype html><title>Sign in</title><p>Please sign in</p>") {
  return () =>
    new Response(body, { status: 200, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

/** Never answers (until `mock.close()`, which ends it with a 503 nobody reads). */
export function hang() {
  return (_request, mock) =>
    new Promise((resolve) => {
      mock.hanging.add(resolve);
    });
}

/**
 * A 200 JSON response whose body never ends: `prefix`, then `chunkBytes` of spaces every
 * `intervalMs`, until `limitBytes` (or `mock.close()`). No Content-Length is sent. The
 * bytes handed out are counted in `mock.sent` by URL. (Miniflare reads an outbound body
 * eagerly, whatever the worker reads of it: pace the stream with `intervalMs` to tell how
 * long the worker keeps reading.)
 */
export function endless({
  prefix = '{"keys": [',
  chunkBytes = 64 * 1024,
  intervalMs = 0,
  limitBytes = 64 * 1024 * 1024,
} = {}) {
  return (request, mock) => {
    const url = request.url;
    const encoder = new TextEncoder();
    const chunk = encoder.encode(" ".repeat(chunkBytes));
    let sent = 0;
    const count = (bytes) => {
      sent += bytes;
      mock.sent.set(url, (mock.sent.get(url) ?? 0) + bytes);
    };
    const body = new ReadableStream({
      start(controller) {
        const head = encoder.encode(prefix);
        count(head.length);
        controller.enqueue(head);
      },
      async pull(controller) {
        if (intervalMs > 0) await pause(intervalMs, mock.closing.signal);
        if (sent >= limitBytes || mock.closing.signal.aborted) {
          controller.close();
          return;
        }
        count(chunk.length);
        controller.enqueue(chunk);
      },
    });
    return new Response(body, { status: 200, headers: { "Content-Type": "application/json" } });
  };
}

/** `answer`, after `ms` milliseconds. */
export function delayed(ms, answer) {
  return async (request, mock) => {
    await pause(ms, mock.closing.signal);
    return answer;
  };
}

/** Creates a mock with an empty request log and no answers. */
export function jwksMock() {
  const answers = new Map();
  const mock = {
    /** Every request seen, in order: `{ url, method, accept, answered, at }` (`answered`:
     *  whether the URL had an answer; `at`: Date.now() on arrival). */
    requests: [],
    /** Body bytes handed out by `endless` answers, by URL. */
    sent: new Map(),
    /** Resolvers of requests that are hanging. */
    hanging: new Set(),
    /** Aborted by `close()`, to cut delays short. */
    closing: new AbortController(),

    /** Answers `url` (exact match, query included) with `answer` from now on. */
    on(url, answer) {
      if (typeof answer !== "function") throw new TypeError(`answer for ${url} must be a function`);
      answers.set(url, answer);
      return mock;
    },

    /** Stops answering `url` (it gets 404 again). */
    off(url) {
      answers.delete(url);
      return mock;
    },

    /** How many requests went to `url`. */
    count(url) {
      return mock.requests.filter((request) => request.url === url).length;
    },

    /** The URLs requested, in order. */
    urls() {
      return mock.requests.map((request) => request.url);
    },

    /** Requests to URLs that had no answer. */
    unexpected() {
      return mock.requests.filter((request) => !request.answered).map((request) => request.url);
    },

    /** Forgets the request log (answers stay). */
    clear() {
      mock.requests.length = 0;
    },

    /** Ends hanging and delayed answers, so nothing is left pending. */
    close() {
      mock.closing.abort();
      for (const resolve of mock.hanging) resolve(new Response("closed", { status: 503 }));
      mock.hanging.clear();
    },

    /** The Miniflare `outboundService` function. */
    async outboundService(request) {
      const url = request.url;
      const answer = answers.get(url);
      mock.requests.push({
        url,
        method: request.method,
        accept: request.headers.get("accept"),
        answered: answer !== undefined,
        at: Date.now(),
      });
      if (answer === undefined) {
        return new Response(`no answer for ${url}`, {
          status: 404,
          headers: { "Content-Type": "text/plain" },
        });
      }
      let result = answer;
      // An answer may return another answer (delayed, or a function choosing one).
      while (typeof result === "function") result = await result(request, mock);
      if (!(result instanceof Response)) {
        throw new TypeError(`the answer for ${url} gave ${typeof result}, not a Response`);
      }
      return result;
    },
  };
  mock.outboundService = mock.outboundService.bind(mock);
  return mock;
}

/**
 * Starts the built worker with `bindings`, its outbound fetches answered by `mock`. The
 * runtime's log lines are collected in `worker.logs` (printed when SITEGATE_TEST_LOGS is set);
 * `worker.events(name)` gives the parsed JSON lines whose `event` is `name`, and
 * `worker.waitForEvent(name, count)` waits until that many have arrived.
 * @param {Record<string, unknown>} bindings
 * @param {ReturnType<typeof jwksMock>} mock
 * @param {{ buildDir?: string }} [options]
 */
export async function startWithMock(bindings, mock, options = {}) {
  const worker = await start(bindings, {
    buildDir: options.buildDir,
    miniflare: { outboundService: mock.outboundService },
  });
  const logs = worker.logs;
  const events = (name) =>
    logs.flatMap((line) => {
      try {
        const value = JSON.parse(line);
        return value && value.event === name ? [value] : [];
      } catch {
        return [];
      }
    });
  const dispose = worker.dispose.bind(worker);
  return Object.assign(worker, {
    logs,
    events,
    async waitForEvent(name, count = 1, timeoutMs = 2000) {
      const until = Date.now() + timeoutMs;
      while (events(name).length < count && Date.now() < until) await pause(10);
      return events(name);
    },
    async dispose() {
      mock.close();
      await dispose();
    },
  });
}
