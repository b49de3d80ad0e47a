// Configuration: every unusable setting turns every request into a 500
// invalid_configuration naming the setting, and the development configuration shipped in
// wrangler.toml's [vars] works with a token from scripts/token.mjs.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEV_AUDIENCE, DEV_ISSUER, devToken } from "../scripts/token.mjs";
import { PREFLIGHT_VARY, assertCors, assertError, start } from "./support/harness.mjs";
import { readTable } from "./support/toml.mjs";
import { ROOT } from "./support/worker.mjs";
import {
  b64url,
  claims,
  ecKey,
  hs256Secret,
  nowSeconds,
  providersBinding,
  rsaKey,
  segments,
  sign,
} from "./support/tokens.mjs";

const APP = "http://localhost:5173";

/** A complete, valid configuration that each bad case changes in one place. */
const GOOD = {
  CORS_ALLOWED_ORIGINS: APP,
  CORS_ALLOWED_HEADERS: "Content-Type, Authorization",
  CORS_EXPOSED_HEADERS: "",
  CORS_ALLOW_CREDENTIALS: "false",
  CORS_MAX_AGE: "86400",
  AUTH_LEEWAY: "60",
  AUTH_PROVIDERS: "[]",
};

const CREDENTIALS_WILDCARD =
  "cannot be used when CORS_ALLOW_CREDENTIALS is true; browsers refuse credentialed " +
  "responses with a wildcard, so list the values";

/**
 * Each case: a name, the bindings changed from GOOD, the expected message (exact string or
 * RegExp), and whether the CORS settings are still valid (then the 500 carries CORS).
 * Cases needing generated keys are filled in `before`.
 */
const CASES = [
  {
    name: "trailing slash in an origin",
    change: { CORS_ALLOWED_ORIGINS: "http://localhost:5173/" },
    message:
      'CORS_ALLOWED_ORIGINS: "http://localhost:5173/" has a trailing slash; an origin is only ' +
      'scheme://host[:port], as in "http://localhost:5173"',
    corsValid: false,
  },
  {
    name: "a path in an origin",
    change: { CORS_ALLOWED_ORIGINS: `${APP}, https://a.example.com/app` },
    message:
      'CORS_ALLOWED_ORIGINS: "https://a.example.com/app" has a path; an origin is only ' +
      'scheme://host[:port], as in "https://a.example.com"',
    corsValid: false,
  },
  {
    name: '"*" beside other origins',
    change: { CORS_ALLOWED_ORIGINS: `*, ${APP}` },
    message: 'CORS_ALLOWED_ORIGINS: "*" must stand alone, not beside other origins',
    corsValid: false,
  },
  {
    name: 'credentials with "*" origins',
    change: { CORS_ALLOWED_ORIGINS: "*", CORS_ALLOW_CREDENTIALS: "true" },
    message: `CORS_ALLOWED_ORIGINS: "*" ${CREDENTIALS_WILDCARD}`,
    corsValid: false,
  },
  {
    name: 'credentials with "*" allowed headers',
    change: { CORS_ALLOWED_HEADERS: "*", CORS_ALLOW_CREDENTIALS: "true" },
    message: `CORS_ALLOWED_HEADERS: "*" ${CREDENTIALS_WILDCARD}`,
    corsValid: false,
  },
  {
    name: "CORS_ALLOW_CREDENTIALS that is not true/false",
    change: { CORS_ALLOW_CREDENTIALS: "yes" },
    message: 'CORS_ALLOW_CREDENTIALS: expected "true" or "false", found "yes"',
    corsValid: false,
  },
  {
    name: "CORS_MAX_AGE that is not a number",
    change: { CORS_MAX_AGE: "1 day" },
    message: 'CORS_MAX_AGE: expected whole seconds from 0 to 86400, found "1 day"',
    corsValid: false,
  },
  {
    name: "CORS_MAX_AGE above a day",
    change: { CORS_MAX_AGE: "86401" },
    message: 'CORS_MAX_AGE: expected whole seconds from 0 to 86400, found "86401"',
    corsValid: false,
  },
  {
    name: "AUTH_LEEWAY that is negative",
    change: { AUTH_LEEWAY: "-5" },
    message: 'AUTH_LEEWAY: expected whole seconds from 0 to 3600, found "-5"',
    corsValid: true,
  },
  {
    name: "AUTH_PROVIDERS that is not JSON",
    change: { AUTH_PROVIDERS: '[{"issuer": "https://x.test",' },
    message:
      /^AUTH_PROVIDERS: expected a JSON array of \{"issuer", "audience", "algorithms", "jwks" or "secret"\}: ./,
    corsValid: true,
  },
  {
    name: "AUTH_PROVIDERS that is an object, not an array",
    change: { AUTH_PROVIDERS: '{"issuer": "https://x.test", "secret": "S"}' },
    message: /^AUTH_PROVIDERS: expected a JSON array of .*: invalid type: map, expected a sequence/,
    corsValid: true,
  },
  {
    name: "a provider with an unknown field",
    change: { AUTH_PROVIDERS: '[{"issuer": "https://x.test", "secret": "S", "audiences": ["a"]}]' },
    message: /^AUTH_PROVIDERS: expected a JSON array of .*: unknown field `audiences`/,
    corsValid: true,
  },
  {
    name: "a missing secret binding",
    change: {
      AUTH_PROVIDERS: providersBinding({ issuer: "https://hs.test", secret: "MISSING_SECRET" }),
    },
    message:
      'AUTH_PROVIDERS: provider 0: secret binding "MISSING_SECRET" is not set; run ' +
      "`wrangler secret put MISSING_SECRET`, or put it in .dev.vars for wrangler dev",
    corsValid: true,
  },
  {
    name: "a secret shorter than 32 bytes",
    change: {
      AUTH_PROVIDERS: providersBinding({ issuer: "https://hs.test", secret: "SHORT_SECRET" }),
      SHORT_SECRET: "0123456789abcdef0123456789abcde",
    },
    message:
      'AUTH_PROVIDERS: provider 0: secret "SHORT_SECRET": an HS256 secret must be at least 32 bytes, found 31',
    corsValid: true,
  },
  {
    name: "a provider without keys",
    change: { AUTH_PROVIDERS: providersBinding({ issuer: "https://x.test" }) },
    message:
      'AUTH_PROVIDERS: provider 0: no keys: give "jwks" (public keys), "jwks_url", "discovery": true, ' +
      'or "secret" (the name of a secret binding holding an HS256 key)',
    corsValid: true,
  },
  {
    name: "the same issuer twice",
    change: {
      AUTH_PROVIDERS: providersBinding(
        { issuer: "https://hs.test", secret: "SECRET_A" },
        { issuer: "https://hs.test", secret: "SECRET_A" },
      ),
      SECRET_A: hs256Secret(),
    },
    message: 'AUTH_PROVIDERS: provider 1: issuer "https://hs.test" is listed twice',
    corsValid: true,
  },
  {
    name: "HS256 listed for a JWKS provider",
    change: ({ ec }) => ({
      AUTH_PROVIDERS: providersBinding({
        issuer: "https://ec.test",
        algorithms: ["ES256", "HS256"],
        keys: [ec],
      }),
    }),
    message: 'AUTH_PROVIDERS: provider 0: HS256 needs "secret"; a JWKS holds only public keys',
    corsValid: true,
  },
  {
    name: "a private key in the JWKS",
    change: ({ ec }) => {
      const { key_ops: _ops, ext: _ext, ...privateJwk } = ec.privateJwk;
      return {
        AUTH_PROVIDERS: providersBinding({
          issuer: "https://ec.test",
          keys: [{ ...privateJwk, kid: "leaked" }],
        }),
      };
    },
    message:
      'AUTH_PROVIDERS: provider 0: jwks: key "leaked": it contains private key material; publish only the public key',
    corsValid: true,
  },
  // Keys the JWKS reader accepts but Web Crypto in workerd can never import: workerd takes
  // only the RSA exponents 3 and 65537, and refuses EC points that are not on the curve.
  // A key that cannot be used is a configuration error like any other, caught before the
  // first token (not a 503 "retry later" on every request that names it).
  {
    name: "an RSA key whose exponent Web Crypto refuses (2^40 + 1)",
    change: ({ rsa }) => ({
      AUTH_PROVIDERS: providersBinding({
        issuer: "https://rsa.test",
        keys: [rsa.jwk({ kid: "big-e", e: b64url(Buffer.from([1, 0, 0, 0, 0, 1])) })],
      }),
    }),
    message: /^AUTH_PROVIDERS: provider 0: jwks: key "big-e": /,
    corsValid: true,
  },
  {
    name: "an EC key whose point is not on P-256",
    change: () => ({
      AUTH_PROVIDERS: providersBinding({
        issuer: "https://ec.test",
        keys: [
          {
            kty: "EC",
            crv: "P-256",
            kid: "off-curve",
            x: b64url(Buffer.alloc(32, 7)),
            y: b64url(Buffer.alloc(32, 7)),
          },
        ],
      }),
    }),
    message: /^AUTH_PROVIDERS: provider 0: jwks: key "off-curve": /,
    corsValid: true,
  },
];

const workers = new Map();
let dev, vars, devKey;

const TYPED_SECRET = hs256Secret();
const TYPED_ISSUER = "https://typed.test";
let typed;

before(async () => {
  const [ec, rsa] = await Promise.all([ecKey("leaked"), rsaKey("impostor")]);
  devKey = rsa;
  vars = readTable(join(ROOT, "wrangler.toml"), "vars");
  const change = (item) =>
    typeof item.change === "function" ? item.change({ ec, rsa }) : item.change;
  const started = await Promise.all([
    ...CASES.map((item) => start({ ...GOOD, ...change(item) })),
    start(vars),
    // wrangler.toml may write vars as TOML numbers, booleans and arrays: they arrive as JSON.
    start({
      CORS_ALLOWED_ORIGINS: APP,
      CORS_ALLOW_CREDENTIALS: true,
      CORS_MAX_AGE: 600,
      AUTH_LEEWAY: 0,
      AUTH_PROVIDERS: [{ issuer: TYPED_ISSUER, secret: "TYPED_SECRET" }],
      TYPED_SECRET,
    }),
  ]);
  CASES.forEach((item, index) => workers.set(item.name, started[index]));
  dev = started[CASES.length];
  typed = started[CASES.length + 1];
});
after(async () => {
  await Promise.all([...workers.values(), dev, typed].map((w) => w?.dispose()));
});

describe("an unusable setting is a 500 on every request, naming the setting", () => {
  for (const item of CASES) {
    test(item.name, async () => {
      const worker = workers.get(item.name);
      const requests = [
        ["/health", {}],
        ["/whoami", { headers: { Authorization: "Bearer a.b.c" } }],
        ["/echo", { method: "POST", body: "x" }],
        ["/nope", {}],
        ["/health", { method: "OPTIONS", headers: { "Access-Control-Request-Method": "GET" } }],
      ];
      for (const [path, init] of requests) {
        const headers = { Origin: APP, ...init.headers };
        const res = await worker.fetch(path, { ...init, headers });
        await assertError(res, 500, "invalid_configuration", item.message);
        assert.equal(res.headers.get("www-authenticate"), null);
        if (item.corsValid) {
          assertCors(res, { origin: APP });
        } else {
          // The CORS settings themselves are broken: no CORS header at all.
          assertCors(res, { origin: null, vary: null });
        }
      }
    });
  }

  test("HEAD gets the 500 without a body", async () => {
    const res = await workers
      .get("AUTH_LEEWAY that is negative")
      .fetch("/health", { method: "HEAD" });
    assert.equal(res.status, 500);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(await res.text(), "");
  });
});

describe("the development configuration in wrangler.toml [vars]", () => {
  test("wrangler.toml [vars] holds every setting, AUTH_PROVIDERS as JSON", () => {
    assert.deepEqual(Object.keys(vars).sort(), [
      "AUTH_LEEWAY",
      "AUTH_PROVIDERS",
      "CORS_ALLOWED_HEADERS",
      "CORS_ALLOWED_ORIGINS",
      "CORS_ALLOW_CREDENTIALS",
      "CORS_EXPOSED_HEADERS",
      "CORS_MAX_AGE",
    ]);
    const providers = JSON.parse(vars.AUTH_PROVIDERS);
    assert.equal(providers.length, 1);
    assert.equal(providers[0].issuer, DEV_ISSUER);
    assert.equal(providers[0].audience, DEV_AUDIENCE);
  });

  test("a scripts/token.mjs token gets 200 on /whoami with Allow-Origin http://localhost:5173", async () => {
    const token = devToken();
    const payload = JSON.parse(Buffer.from(segments(token).payload, "base64url").toString("utf8"));
    const res = await dev.fetch("/whoami", {
      headers: { Origin: "http://localhost:5173", Authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    assertCors(res, { origin: "http://localhost:5173" });
    assert.deepEqual(await res.json(), {
      tokenIdentifier: `${DEV_ISSUER}|dev-user`,
      subject: "dev-user",
      issuer: DEV_ISSUER,
      aud: DEV_AUDIENCE,
      name: "dev-user",
      email: "dev-user@dev.sitegate.invalid",
      emailVerified: true,
      iat: payload.iat,
      exp: payload.exp,
    });
  });

  test("custom claims from devToken come through; the other dev origin is allowed", async () => {
    const token = devToken({ sub: "alice", claims: { roles: ["admin"] } });
    const res = await dev.fetch("/whoami", {
      headers: { Origin: "http://127.0.0.1:5173", Authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    assertCors(res, { origin: "http://127.0.0.1:5173" });
    const identity = await res.json();
    assert.equal(identity.tokenIdentifier, `${DEV_ISSUER}|alice`);
    assert.deepEqual(identity.roles, ["admin"]);
  });

  test("preflight from the dev app origin", async () => {
    const res = await dev.fetch("/whoami", {
      method: "OPTIONS",
      headers: {
        Origin: APP,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), APP);
    assert.equal(res.headers.get("access-control-allow-methods"), "GET, HEAD");
    assert.equal(res.headers.get("access-control-allow-headers"), "authorization");
    assert.equal(res.headers.get("access-control-max-age"), "86400");
    assert.equal(res.headers.get("vary"), PREFLIGHT_VARY);
  });

  test("another origin gets no Allow-Origin", async () => {
    const res = await dev.fetch("/health", { headers: { Origin: "http://localhost:3000" } });
    assert.equal(res.status, 200);
    assertCors(res, { origin: null });
  });

  test("an expired dev token is 401 token_expired", async () => {
    const res = await dev.fetch("/whoami", {
      headers: { Authorization: `Bearer ${devToken({ claims: { exp: 0 } })}` },
    });
    await assertError(res, 401, "token_expired", "token has expired");
  });

  test("a token for the dev issuer signed by another key is refused", async () => {
    const kid = JSON.parse(vars.AUTH_PROVIDERS)[0].jwks.keys[0].kid;
    const token = devToken({ jwk: { ...devKey.privateJwk, kid } });
    const res = await dev.fetch("/whoami", { headers: { Authorization: `Bearer ${token}` } });
    await assertError(res, 401, "invalid_signature", "signature does not verify");
  });

  test("the dev issuer allows RS256 only", async () => {
    const token = await sign(
      "PS256",
      { alg: "PS256" },
      claims({ iss: DEV_ISSUER, aud: DEV_AUDIENCE, sub: "u" }),
      devKey,
    );
    const res = await dev.fetch("/whoami", { headers: { Authorization: `Bearer ${token}` } });
    await assertError(
      res,
      401,
      "algorithm_not_allowed",
      `alg PS256 is not allowed for issuer "${DEV_ISSUER}"`,
    );
  });
});

describe("bindings given as JSON values instead of text", () => {
  test("numbers, booleans and an AUTH_PROVIDERS array are read like their text", async () => {
    const token = await sign(
      "HS256",
      { alg: "HS256" },
      claims({ iss: TYPED_ISSUER, sub: "typed" }),
      TYPED_SECRET,
    );
    const res = await typed.fetch("/whoami", {
      headers: { Origin: APP, Authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).tokenIdentifier, `${TYPED_ISSUER}|typed`);
    assertCors(res, { origin: APP, credentials: "true" });

    const preflight = await typed.fetch("/whoami", {
      method: "OPTIONS",
      headers: { Origin: APP, "Access-Control-Request-Method": "GET" },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-max-age"), "600");
  });

  test("a token that verified once is still refused after its exp", async () => {
    const token = await sign(
      "HS256",
      { alg: "HS256" },
      claims({ iss: TYPED_ISSUER, sub: "soon", exp: nowSeconds() + 2 }),
      TYPED_SECRET,
    );
    const first = await typed.fetch("/whoami", { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(first.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const later = await typed.fetch("/whoami", { headers: { Authorization: `Bearer ${token}` } });
    await assertError(later, 401, "token_expired", "token has expired");
  });

  test("AUTH_LEEWAY 0: a token one second past exp is expired", async () => {
    const token = await sign(
      "HS256",
      { alg: "HS256" },
      claims({ iss: TYPED_ISSUER, sub: "typed", exp: nowSeconds() - 1 }),
      TYPED_SECRET,
    );
    const res = await typed.fetch("/whoami", { headers: { Authorization: `Bearer ${token}` } });
    await assertError(res, 401, "token_expired", "token has expired");
  });
});
