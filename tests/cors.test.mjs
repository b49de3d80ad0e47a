// CORS: preflights (answered before routing and auth) and the headers every actual
// response carries, for listed origins, subdomain patterns, "*" and credentials.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  BARE_CHALLENGE,
  PREFLIGHT_VARY,
  assertCors,
  assertError,
  bearerChallenge,
  start,
} from "./support/harness.mjs";
import { claims, hs256Secret, providersBinding, sign } from "./support/tokens.mjs";

const APP = "http://localhost:5173";
const ISSUER = "https://issuer.cors.test";
const SECRET = hs256Secret();

const LISTED = {
  CORS_ALLOWED_ORIGINS: `${APP}, https://*.example.com`,
  CORS_ALLOWED_HEADERS: "Content-Type, Authorization, X-Requested-With",
  CORS_EXPOSED_HEADERS: "",
  CORS_ALLOW_CREDENTIALS: "false",
  CORS_MAX_AGE: "600",
  AUTH_LEEWAY: "60",
  AUTH_PROVIDERS: providersBinding({ issuer: ISSUER, secret: "CORS_TEST_SECRET" }),
  CORS_TEST_SECRET: SECRET,
};

// "*" without credentials; CORS_ALLOWED_HEADERS and CORS_MAX_AGE left to their defaults.
const ANY = {
  CORS_ALLOWED_ORIGINS: "*",
  CORS_EXPOSED_HEADERS: "",
  CORS_ALLOW_CREDENTIALS: "false",
  AUTH_LEEWAY: "60",
  AUTH_PROVIDERS: "[]",
};

const CREDENTIALED = {
  CORS_ALLOWED_ORIGINS: "https://app.example.org",
  CORS_ALLOWED_HEADERS: "Content-Type, Authorization",
  CORS_EXPOSED_HEADERS: "X-Request-Id, X-Trace-Id",
  CORS_ALLOW_CREDENTIALS: "true",
  CORS_MAX_AGE: "0",
  AUTH_LEEWAY: "60",
  AUTH_PROVIDERS: "[]",
};

// Valid CORS settings, unusable AUTH_PROVIDERS: every request is a 500, still with CORS.
const BROKEN = { ...LISTED, AUTH_PROVIDERS: "not json" };

let listed, any, credentialed, broken;
before(async () => {
  [listed, any, credentialed, broken] = await Promise.all(
    [LISTED, ANY, CREDENTIALED, BROKEN].map((bindings) => start(bindings)),
  );
});
after(async () => {
  await Promise.all([listed, any, credentialed, broken].map((w) => w?.dispose()));
});

function preflight(worker, path, { origin = APP, method = "GET", headers } = {}) {
  const init = { Origin: origin, "Access-Control-Request-Method": method };
  if (headers !== undefined) init["Access-Control-Request-Headers"] = headers;
  return worker.fetch(path, { method: "OPTIONS", headers: init });
}

/** Asserts an answered preflight: 204, empty, exactly these CORS headers. */
async function assertPreflight(res, expected) {
  assert.equal(res.status, 204);
  assert.equal(await res.text(), "");
  const cors = {};
  for (const [name, value] of res.headers) {
    if (name.startsWith("access-control-") || name === "vary") cors[name] = value;
  }
  assert.deepEqual(cors, expected);
  assert.equal(res.headers.get("www-authenticate"), null);
}

describe("preflight", () => {
  test("allowed origin, GET /whoami with Authorization: 204 echoing the request", async () => {
    const res = await preflight(listed, "/whoami", { headers: "authorization" });
    await assertPreflight(res, {
      "access-control-allow-origin": APP,
      "access-control-allow-methods": "GET, HEAD",
      "access-control-allow-headers": "authorization",
      "access-control-max-age": "600",
      vary: PREFLIGHT_VARY,
    });
  });

  test("requested headers are echoed lower-cased when all are allowed", async () => {
    const res = await preflight(listed, "/echo", {
      method: "POST",
      headers: "Content-Type, Authorization,X-Requested-With",
    });
    await assertPreflight(res, {
      "access-control-allow-origin": APP,
      "access-control-allow-methods": "POST",
      "access-control-allow-headers": "content-type, authorization, x-requested-with",
      "access-control-max-age": "600",
      vary: PREFLIGHT_VARY,
    });
  });

  test("without Access-Control-Request-Headers there is no Allow-Headers", async () => {
    const res = await preflight(listed, "/health");
    await assertPreflight(res, {
      "access-control-allow-origin": APP,
      "access-control-allow-methods": "GET, HEAD",
      "access-control-max-age": "600",
      vary: PREFLIGHT_VARY,
    });
  });

  test("is answered before auth: no token needed on a required route", async () => {
    const res = await preflight(listed, "/whoami", { headers: "authorization" });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("www-authenticate"), null);
  });

  test("Allow-Methods lists what the path serves, whatever method was asked", async () => {
    const res = await preflight(listed, "/health", { method: "DELETE" });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-methods"), "GET, HEAD");
    assert.equal(res.headers.get("access-control-allow-origin"), APP);
  });

  test("a requested header that is not allowed: the allowed list instead of the echo", async () => {
    const res = await preflight(listed, "/whoami", { headers: "Authorization, X-Custom" });
    await assertPreflight(res, {
      "access-control-allow-origin": APP,
      "access-control-allow-methods": "GET, HEAD",
      "access-control-allow-headers": "content-type, authorization, x-requested-with",
      "access-control-max-age": "600",
      vary: PREFLIGHT_VARY,
    });
  });

  test("disallowed origin: 204 with Vary and no other CORS header", async () => {
    for (const origin of [
      "https://evil.test",
      "http://localhost:5174",
      "https://localhost:5173",
      "null",
    ]) {
      const res = await preflight(listed, "/whoami", { origin, headers: "authorization" });
      await assertPreflight(res, { vary: PREFLIGHT_VARY });
    }
  });

  test("subdomain pattern: deeper hosts of the same scheme and port only", async () => {
    for (const origin of [
      "https://app.example.com",
      "https://a.b.example.com",
      "https://APP.example.com",
    ]) {
      const res = await preflight(listed, "/health", { origin });
      assert.equal(res.status, 204);
      assert.equal(res.headers.get("access-control-allow-origin"), origin, origin);
    }
    for (const origin of [
      "https://example.com",
      "http://app.example.com",
      "https://app.example.com:8443",
      "https://evilexample.com",
      "https://app.example.com.evil.test",
    ]) {
      const res = await preflight(listed, "/health", { origin });
      assert.equal(res.status, 204);
      assert.equal(res.headers.get("access-control-allow-origin"), null, origin);
      assert.equal(res.headers.get("access-control-allow-methods"), null, origin);
    }
  });

  test("unknown path: 404 not_found, decorated like an actual response", async () => {
    const res = await preflight(listed, "/nope", { headers: "authorization" });
    await assertError(res, 404, "not_found", "no route serves /nope");
    assertCors(res, { origin: APP });
  });

  test('"*" origins: Allow-Origin "*", default Max-Age and allowed headers', async () => {
    const res = await preflight(any, "/echo", {
      origin: "https://anything.test",
      method: "POST",
      headers: "content-type",
    });
    await assertPreflight(res, {
      "access-control-allow-origin": "*",
      "access-control-allow-methods": "POST",
      "access-control-allow-headers": "content-type",
      "access-control-max-age": "86400",
      vary: PREFLIGHT_VARY,
    });
    const other = await preflight(any, "/whoami", {
      origin: "https://x.test",
      headers: "X-Custom",
    });
    assert.equal(other.status, 204);
    assert.equal(other.headers.get("access-control-allow-headers"), "content-type, authorization");
  });

  test("credentials: Allow-Credentials true, Max-Age 0", async () => {
    const res = await preflight(credentialed, "/whoami", {
      origin: "https://app.example.org",
      headers: "authorization",
    });
    await assertPreflight(res, {
      "access-control-allow-origin": "https://app.example.org",
      "access-control-allow-credentials": "true",
      "access-control-allow-methods": "GET, HEAD",
      "access-control-allow-headers": "authorization",
      "access-control-max-age": "0",
      vary: PREFLIGHT_VARY,
    });
  });

  test("credentials, disallowed origin: no Allow-Credentials either", async () => {
    const res = await preflight(credentialed, "/whoami", { origin: "https://evil.test" });
    await assertPreflight(res, { vary: PREFLIGHT_VARY });
  });
});

describe("OPTIONS that is not a preflight is routed", () => {
  test("Origin without Access-Control-Request-Method: 405 with Allow and CORS", async () => {
    const res = await listed.fetch("/health", { method: "OPTIONS", headers: { Origin: APP } });
    await assertError(
      res,
      405,
      "method_not_allowed",
      "OPTIONS is not served here; allowed: GET, HEAD",
    );
    assert.equal(res.headers.get("allow"), "GET, HEAD");
    assertCors(res, { origin: APP });
  });

  test("Access-Control-Request-Method without Origin: 405, Vary but no Allow-Origin", async () => {
    const res = await listed.fetch("/echo", {
      method: "OPTIONS",
      headers: { "Access-Control-Request-Method": "POST" },
    });
    await assertError(res, 405, "method_not_allowed", "OPTIONS is not served here; allowed: POST");
    assert.equal(res.headers.get("allow"), "POST");
    assertCors(res, { origin: null });
  });

  test("bare OPTIONS of an unknown path: 404", async () => {
    const res = await listed.fetch("/nope", { method: "OPTIONS" });
    await assertError(res, 404, "not_found", "no route serves /nope");
    assertCors(res, { origin: null });
  });
});

describe("actual responses carry CORS", () => {
  const withOrigin = (origin, headers = {}) => ({ headers: { Origin: origin, ...headers } });

  test("200 GET /health", async () => {
    const res = await listed.fetch("/health", withOrigin(APP));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
    assertCors(res, { origin: APP });
  });

  test("200 GET /whoami with a valid token", async () => {
    const token = await sign(
      "HS256",
      { alg: "HS256", typ: "JWT" },
      claims({ iss: ISSUER, sub: "u1" }),
      SECRET,
    );
    const res = await listed.fetch(
      "/whoami",
      withOrigin(APP, { Authorization: `Bearer ${token}` }),
    );
    assert.equal(res.status, 200);
    const identity = await res.json();
    assert.equal(identity.tokenIdentifier, `${ISSUER}|u1`);
    assertCors(res, { origin: APP });
  });

  test("200 POST /echo from a subdomain-pattern origin", async () => {
    const res = await listed.fetch("/echo", {
      method: "POST",
      body: "hi",
      ...withOrigin("https://app.example.com"),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { identity: null, body: "hi" });
    assertCors(res, { origin: "https://app.example.com" });
  });

  test("200 HEAD /health", async () => {
    const res = await listed.fetch("/health", { method: "HEAD", ...withOrigin(APP) });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "");
    assertCors(res, { origin: APP });
  });

  test("401 missing_token", async () => {
    const res = await listed.fetch("/whoami", withOrigin(APP));
    await assertError(res, 401, "missing_token", "this route requires a bearer token");
    assert.equal(res.headers.get("www-authenticate"), BARE_CHALLENGE);
    assertCors(res, { origin: APP });
  });

  test("401 for a bad token", async () => {
    const res = await listed.fetch("/whoami", withOrigin(APP, { Authorization: "Bearer a.b.c" }));
    const body = await assertError(res, 401, "malformed_token");
    assert.equal(
      res.headers.get("www-authenticate"),
      bearerChallenge("invalid_token", body.message),
    );
    assertCors(res, { origin: APP });
  });

  test("401 for a malformed Authorization header", async () => {
    const res = await listed.fetch("/echo", {
      method: "POST",
      ...withOrigin(APP, { Authorization: "Token x" }),
    });
    await assertError(res, 401, "invalid_authorization_header");
    assertCors(res, { origin: APP });
  });

  test("404 unknown path", async () => {
    const res = await listed.fetch("/nope", withOrigin(APP));
    await assertError(res, 404, "not_found", "no route serves /nope");
    assertCors(res, { origin: APP });
  });

  test("405 with Allow", async () => {
    const res = await listed.fetch("/health", { method: "POST", body: "x", ...withOrigin(APP) });
    await assertError(res, 405, "method_not_allowed");
    assert.equal(res.headers.get("allow"), "GET, HEAD");
    assertCors(res, { origin: APP });
  });

  test("413 body_too_large", async () => {
    const res = await listed.fetch("/echo", {
      method: "POST",
      body: "x".repeat(64 * 1024 + 1),
      ...withOrigin(APP),
    });
    await assertError(res, 413, "body_too_large");
    assertCors(res, { origin: APP });
  });

  test("500 invalid_configuration (broken AUTH_PROVIDERS, valid CORS)", async () => {
    for (const [path, init] of [
      ["/health", withOrigin(APP)],
      ["/whoami", withOrigin("https://app.example.com")],
      ["/nope", withOrigin(APP)],
    ]) {
      const res = await broken.fetch(path, init);
      await assertError(res, 500, "invalid_configuration", /^AUTH_PROVIDERS: /);
      assertCors(res, { origin: init.headers.Origin });
    }
  });

  test("500 for a preflight too, when the configuration is broken", async () => {
    const res = await preflight(broken, "/whoami", { headers: "authorization" });
    await assertError(res, 500, "invalid_configuration", /^AUTH_PROVIDERS: /);
    assertCors(res, { origin: APP });
  });

  test("500 with a disallowed origin: Vary only", async () => {
    const res = await broken.fetch("/health", withOrigin("https://evil.test"));
    await assertError(res, 500, "invalid_configuration");
    assertCors(res, { origin: null });
  });

  test("disallowed or absent Origin: no Allow-Origin, still Vary: Origin", async () => {
    for (const init of [withOrigin("https://evil.test"), withOrigin("https://example.com"), {}]) {
      const res = await listed.fetch("/health", init);
      assert.equal(res.status, 200);
      assertCors(res, { origin: null });
    }
  });

  test("Vary: Origin is added exactly once", async () => {
    const res = await listed.fetch("/whoami", withOrigin(APP));
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("vary"), "Origin");
  });

  test('"*" without credentials: Allow-Origin "*" for any or no Origin, no Vary', async () => {
    for (const init of [withOrigin("https://anything.test"), {}]) {
      const ok = await any.fetch("/health", init);
      assert.equal(ok.status, 200);
      assertCors(ok, { origin: "*", vary: null });
      const denied = await any.fetch("/whoami", init);
      assert.equal(denied.status, 401);
      assertCors(denied, { origin: "*", vary: null });
      const missing = await any.fetch("/nope", init);
      assert.equal(missing.status, 404);
      assertCors(missing, { origin: "*", vary: null });
    }
  });

  test("credentials: Allow-Credentials and Expose-Headers on every status", async () => {
    const origin = "https://app.example.org";
    const expected = { origin, credentials: "true", expose: "x-request-id, x-trace-id" };
    const health = await credentialed.fetch("/health", withOrigin(origin));
    assert.equal(health.status, 200);
    assertCors(health, expected);
    const whoami = await credentialed.fetch("/whoami", withOrigin(origin));
    await assertError(whoami, 401, "missing_token");
    assertCors(whoami, expected);
    const notFound = await credentialed.fetch("/nope", withOrigin(origin));
    await assertError(notFound, 404, "not_found");
    assertCors(notFound, expected);
    const notAllowed = await credentialed.fetch("/echo", withOrigin(origin));
    await assertError(notAllowed, 405, "method_not_allowed");
    assertCors(notAllowed, expected);
  });

  test("credentials, disallowed origin: no CORS header but Vary", async () => {
    const res = await credentialed.fetch("/health", withOrigin("https://evil.test"));
    assert.equal(res.status, 200);
    assertCors(res, { origin: null });
  });
});
