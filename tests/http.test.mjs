// Routing and the HTTP basics of the shipped routes: /health, HEAD, 404, 405 with Allow,
// query strings, and the /echo body (round trip and the 64 KiB limit).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { BARE_CHALLENGE, assertError, start } from "./support/harness.mjs";

const ECHO_LIMIT = 64 * 1024;

const BINDINGS = {
  CORS_ALLOWED_ORIGINS: "",
  CORS_ALLOWED_HEADERS: "Content-Type, Authorization",
  CORS_EXPOSED_HEADERS: "",
  CORS_ALLOW_CREDENTIALS: "false",
  CORS_MAX_AGE: "86400",
  AUTH_LEEWAY: "60",
  AUTH_PROVIDERS: "[]",
};

let worker;
before(async () => {
  worker = await start(BINDINGS);
});
after(async () => {
  await worker?.dispose();
});

describe("GET /health", () => {
  test('200 with exactly {"ok":true} as JSON', async () => {
    const res = await worker.fetch("/health");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(await res.text(), '{"ok":true}');
  });

  test("HEAD /health: 200, the GET's headers, no body", async () => {
    const res = await worker.fetch("/health", { method: "HEAD" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(await res.text(), "");
  });

  test("public: an Authorization header, even a broken one, is not read", async () => {
    const res = await worker.fetch("/health", { headers: { Authorization: "Basic dXNlcjpwYXNz" } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
  });

  test("the query string is ignored in routing", async () => {
    const res = await worker.fetch("/health?check=1&x=/whoami");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
  });
});

describe("unknown paths are 404", () => {
  for (const path of ["/", "/nope", "/health/", "/healthz", "/Health", "/health/x", "/echo/"]) {
    test(`GET ${path}`, async () => {
      const res = await worker.fetch(path);
      await assertError(res, 404, "not_found", `no route serves ${path}`);
      assert.equal(res.headers.get("allow"), null);
    });
  }

  test("the 404 message shows at most 200 characters of the path", async () => {
    const path = `/${"a".repeat(300)}`;
    const res = await worker.fetch(path);
    await assertError(res, 404, "not_found", `no route serves ${path.slice(0, 200)}`);
  });

  test("the 404 message names the path without its query string", async () => {
    const res = await worker.fetch("/nope?path=/health");
    await assertError(res, 404, "not_found", "no route serves /nope");
  });

  test("a method no route knows, on an unknown path, is 404 too", async () => {
    const res = await worker.fetch("/nope", { method: "PROPFIND" });
    await assertError(res, 404, "not_found", "no route serves /nope");
  });

  test("HEAD of an unknown path: 404 without a body", async () => {
    const res = await worker.fetch("/nope", { method: "HEAD" });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(await res.text(), "");
  });
});

describe("known paths with other methods are 405 with Allow", () => {
  const cases = [
    ["POST", "/health", "GET, HEAD"],
    ["PUT", "/health", "GET, HEAD"],
    ["DELETE", "/whoami", "GET, HEAD"],
    ["PATCH", "/whoami", "GET, HEAD"],
    ["GET", "/echo", "POST"],
    ["PUT", "/echo", "POST"],
    ["OPTIONS", "/echo", "POST"],
    ["PROPFIND", "/health", "GET, HEAD"],
  ];
  for (const [method, path, allow] of cases) {
    test(`${method} ${path} → Allow: ${allow}`, async () => {
      const res = await worker.fetch(path, {
        method,
        body: ["GET", "HEAD", "OPTIONS"].includes(method) ? undefined : "x",
      });
      await assertError(
        res,
        405,
        "method_not_allowed",
        `${method} is not served here; allowed: ${allow}`,
      );
      assert.equal(res.headers.get("allow"), allow);
    });
  }

  test("HEAD /echo: 405 with Allow and no body", async () => {
    const res = await worker.fetch("/echo", { method: "HEAD" });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "POST");
    assert.equal(await res.text(), "");
  });

  test("the 405 is decided on the path without the query string", async () => {
    const res = await worker.fetch("/echo?method=GET");
    await assertError(res, 405, "method_not_allowed", "GET is not served here; allowed: POST");
    assert.equal(res.headers.get("allow"), "POST");
  });
});

describe("GET /whoami without a token", () => {
  test("401 missing_token with a bare challenge", async () => {
    const res = await worker.fetch("/whoami");
    await assertError(res, 401, "missing_token", "this route requires a bearer token");
    assert.equal(res.headers.get("www-authenticate"), BARE_CHALLENGE);
  });

  test("HEAD /whoami: the same 401 without a body", async () => {
    const res = await worker.fetch("/whoami", { method: "HEAD" });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("www-authenticate"), BARE_CHALLENGE);
    assert.equal(await res.text(), "");
  });
});

describe("POST /echo", () => {
  async function echo(body, init = {}) {
    const res = await worker.fetch("/echo", { method: "POST", body, ...init });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    return res.json();
  }

  test("round-trips a text body, identity null without a token", async () => {
    assert.deepEqual(await echo("hello, sitegate"), { identity: null, body: "hello, sitegate" });
  });

  test("round-trips a JSON body as text, byte for byte", async () => {
    const text = '{"a": [1, 2, 3], "b": "x\\ny"}';
    const out = await echo(text, { headers: { "Content-Type": "application/json" } });
    assert.deepEqual(out, { identity: null, body: text });
  });

  test("round-trips non-ASCII UTF-8", async () => {
    const text = "naïve café — 日本語 🚀";
    assert.deepEqual(await echo(text), { identity: null, body: text });
  });

  test("invalid UTF-8 is echoed with U+FFFD replacement characters", async () => {
    const out = await echo(new Uint8Array([0xff, 0x61, 0xc3]));
    assert.deepEqual(out, { identity: null, body: "\ufffda\ufffd" });
  });

  test("an empty body echoes as the empty string", async () => {
    assert.deepEqual(await echo(""), { identity: null, body: "" });
    assert.deepEqual(await echo(undefined), { identity: null, body: "" });
  });

  test("the query string does not change the route or the body", async () => {
    const res = await worker.fetch("/echo?x=1", { method: "POST", body: "q" });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { identity: null, body: "q" });
  });

  test(`exactly ${ECHO_LIMIT} bytes is accepted`, async () => {
    const text = "a".repeat(ECHO_LIMIT);
    const out = await echo(text);
    assert.equal(out.identity, null);
    assert.equal(out.body.length, ECHO_LIMIT);
    assert.equal(out.body, text);
  });

  test(`${ECHO_LIMIT + 1} bytes (Content-Length) is 413 body_too_large`, async () => {
    const res = await worker.fetch("/echo", { method: "POST", body: "a".repeat(ECHO_LIMIT + 1) });
    await assertError(res, 413, "body_too_large", `the body must be at most ${ECHO_LIMIT} bytes`);
  });

  test("a streamed body (no Content-Length) over the limit is 413 too", async () => {
    const chunk = new Uint8Array(16 * 1024).fill(0x62);
    let sent = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (sent >= 5) return controller.close();
        sent += 1;
        controller.enqueue(chunk);
      },
    });
    const res = await worker.fetch("/echo", { method: "POST", body, duplex: "half" });
    await assertError(res, 413, "body_too_large", `the body must be at most ${ECHO_LIMIT} bytes`);
  });

  test("an endless streamed body is refused without being read to the end", async () => {
    const chunk = new Uint8Array(16 * 1024).fill(0x63);
    const LIMIT = 10_000; // 160 MiB if it were all read
    let sent = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (sent >= LIMIT) return controller.close();
        sent += 1;
        controller.enqueue(chunk);
      },
    });
    // The worker answers before the upload ends, so the client may see the connection
    // closed instead of the 413; the worker's log line says what it answered either way.
    const res = await worker
      .fetch("/echo", { method: "POST", body, duplex: "half" })
      .catch(() => null);
    if (res !== null) {
      await assertError(res, 413, "body_too_large", `the body must be at most ${ECHO_LIMIT} bytes`);
    }
    const logged = () =>
      worker.logs.find((l) => l.includes('"path":"/echo"') && l.includes('"status":413'));
    for (let i = 0; i < 200 && logged() === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.match(logged() ?? "", /"outcome":"body_too_large"/);
    assert.ok(sent < LIMIT / 4, `the worker pulled ${sent} of ${LIMIT} chunks`);
  });

  test("a streamed body under the limit round-trips", async () => {
    const parts = ["stream", "ed ", "body"];
    const body = new ReadableStream({
      pull(controller) {
        const part = parts.shift();
        if (part === undefined) return controller.close();
        controller.enqueue(new TextEncoder().encode(part));
      },
    });
    const res = await worker.fetch("/echo", { method: "POST", body, duplex: "half" });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { identity: null, body: "streamed body" });
  });
});
