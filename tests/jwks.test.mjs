// Remote keys end to end: providers configured with `jwks_url` or `discovery: true`, their
// JWKS and discovery documents served by the in-process mock of tests/support/jwks-server.mjs
// (Miniflare's outbound fetch hook: nothing leaves the process), and every fetch counted.
//
// The addresses below (127.0.0.1:9, *.invalid) are never connected to: the hook answers
// every fetch the worker makes.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID, webcrypto } from "node:crypto";
import { assertError, bearerChallenge } from "./support/harness.mjs";
import {
  delayed,
  discovery,
  endless,
  hang,
  html,
  json,
  jwks,
  jwksMock,
  redirect,
  startWithMock,
  status,
} from "./support/jwks-server.mjs";
import { KeyPair, claims, ecKey, hs256Secret, rsaKey, sign } from "./support/tokens.mjs";

const BASE = "http://127.0.0.1:9";
const AUDIENCE = "sitegate-jwks";
const UNAVAILABLE = "the issuer's signing keys could not be loaded; retry later";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A provider named `name`: issuer `${BASE}/name`, keys at `${BASE}/name/jwks.json`. */
function remote(name, extra = {}) {
  return {
    issuer: `${BASE}/${name}`,
    audience: AUDIENCE,
    jwks_url: `${BASE}/${name}/jwks.json`,
    ...extra,
  };
}

/** A token for `issuer` signed by `key` (its first algorithm unless told), kid = key.kid (`null`: none). */
function token(
  key,
  issuer,
  { alg = key.algorithms[0], kid = key.kid, header = {}, sub = "user-1" } = {},
) {
  const protectedHeader = { alg, typ: "JWT", ...(kid === null ? {} : { kid }), ...header };
  return sign(alg, protectedHeader, claims({ iss: issuer, aud: AUDIENCE, sub }), key);
}

function whoami(worker, jwt) {
  return worker.fetch("/whoami", { headers: { Authorization: `Bearer ${jwt}` } });
}

async function assertOk(res, sub = "user-1") {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(JSON.parse(text).subject, sub);
}

async function assertRejected(res, code, message) {
  await assertError(res, 401, code, message);
  assert.equal(
    res.headers.get("www-authenticate"),
    bearerChallenge("invalid_token", message.replaceAll('"', "'")),
  );
}

async function assertUnavailable(res, retryAfter) {
  await assertError(res, 503, "jwks_unavailable", UNAVAILABLE);
  assert.equal(res.headers.get("retry-after"), String(retryAfter), "Retry-After");
  assert.equal(res.headers.get("www-authenticate"), null, "a 503 carries no challenge");
}

const unknownKey = (kid) => `no key with kid "${kid}"`;

/** A key pair of a kind tokens.mjs does not make (RSA-1024, P-384), wrapped as a KeyPair. */
async function generateKeyPair(kid, params) {
  const pair = await webcrypto.subtle.generateKey(params, true, ["sign", "verify"]);
  const privateJwk = await webcrypto.subtle.exportKey("jwk", pair.privateKey);
  const { kty, n, e, crv, x, y } = await webcrypto.subtle.exportKey("jwk", pair.publicKey);
  const publicJwk = kty === "RSA" ? { kty, n, e } : { kty, crv, x, y };
  return new KeyPair(kid, privateJwk, publicJwk);
}

/** A compact JWS signed by a P-384 key with SHA-256 (what an "ES256" forgery on P-384 is). */
async function signP384(pair, header, claimSet) {
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${b64(header)}.${b64(claimSet)}`;
  const { alg: _alg, key_ops: _ops, ext: _ext, ...jwk } = pair.privateJwk;
  const key = await webcrypto.subtle.importKey(
    "jwk",
    jwk,
    { name: "ECDSA", namedCurve: "P-384" },
    false,
    ["sign"],
  );
  const sig = await webcrypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    Buffer.from(input),
  );
  return `${input}.${Buffer.from(sig).toString("base64url")}`;
}

let good, other, attacker;
before(async () => {
  [good, other, attacker] = await Promise.all([
    rsaKey("good-1"),
    ecKey("other-1"),
    rsaKey("attacker-1"),
  ]);
});

describe("jwks_url: keys are fetched once and cached", () => {
  const mock = jwksMock();
  const P = {
    cached: remote("cached"),
    cold: remote("cold"),
    long: remote("long"),
    short: remote("short"),
    huge: remote("huge"),
    none: remote("none", { jwks_cache_ttl: 120 }),
    nostore: remote("nostore"),
    overflow: remote("overflow"),
    jwkSet: remote("jwk-set"),
    charset: remote("charset"),
  };
  let worker;
  before(async () => {
    mock.on(P.cached.jwks_url, jwks([good, other], { cacheControl: "public, max-age=3600" }));
    mock.on(P.cold.jwks_url, delayed(300, jwks([good])));
    mock.on(P.long.jwks_url, jwks([good], { cacheControl: "max-age=3600" }));
    mock.on(P.short.jwks_url, jwks([good], { cacheControl: "max-age=5" }));
    mock.on(P.huge.jwks_url, jwks([good], { cacheControl: "max-age=999999" }));
    mock.on(P.none.jwks_url, jwks([good]));
    mock.on(P.nostore.jwks_url, jwks([good], { cacheControl: "no-store" }));
    mock.on(P.overflow.jwks_url, jwks([good], { cacheControl: "max-age=99999999999" }));
    mock.on(P.jwkSet.jwks_url, jwks([good], { contentType: "application/jwk-set+json" }));
    mock.on(P.charset.jwks_url, jwks([good], { contentType: "Application/JSON; charset=utf-8" }));
    worker = await startWithMock({ AUTH_PROVIDERS: JSON.stringify(Object.values(P)) }, mock);
  });
  after(() => worker?.dispose());

  test("20 requests (10 concurrent on a cold cache, then 10 sequential) make one GET with Accept: application/json", async () => {
    const rs = await token(good, P.cached.issuer);
    const es = await token(other, P.cached.issuer);
    const first = await Promise.all(
      Array.from({ length: 10 }, (_, i) => whoami(worker, i % 2 ? rs : es)),
    );
    for (const res of first) await assertOk(res);
    for (let i = 0; i < 10; i += 1) await assertOk(await whoami(worker, i % 2 ? rs : es));
    assert.equal(mock.count(P.cached.jwks_url), 1);
    const [request] = mock.requests.filter((r) => r.url === P.cached.jwks_url);
    assert.equal(request.method, "GET");
    assert.equal(request.accept, "application/json");
  });

  test("50 concurrent requests on a cold cache wait for one slow fetch", async () => {
    const jwt = await token(good, P.cold.issuer);
    const started = Date.now();
    const all = await Promise.all(Array.from({ length: 50 }, () => whoami(worker, jwt)));
    for (const res of all) await assertOk(res);
    assert.equal(mock.count(P.cold.jwks_url), 1);
    assert.ok(Date.now() - started >= 250, "the answers waited for the delayed JWKS");
  });

  test("application/jwk-set+json and a content type with parameters are JSON", async () => {
    for (const name of ["jwkSet", "charset"]) {
      await assertOk(await whoami(worker, await token(good, P[name].issuer)));
      assert.equal(mock.count(P[name].jwks_url), 1, name);
    }
  });

  test("Cache-Control max-age sets the lifetime, clamped to 60 s – 24 h; jwks_cache_ttl without it", async () => {
    const expected = { long: 3600, short: 60, huge: 86400, none: 120, nostore: 60 };
    for (const name of Object.keys(expected)) {
      await assertOk(await whoami(worker, await token(good, P[name].issuer)));
      assert.equal(mock.count(P[name].jwks_url), 1, name);
    }
    const fetched = await worker.waitForEvent("jwks_fetched", 9);
    for (const [name, ttl] of Object.entries(expected)) {
      const event = fetched.find((e) => e.issuer === P[name].issuer);
      assert.ok(event, `jwks_fetched logged for ${name}`);
      assert.equal(event.ttl, ttl, name);
      assert.equal(event.keys, 1, name);
      assert.deepEqual(event.dropped, [], name);
    }
    assert.deepEqual(mock.unexpected(), []);
  });

  test("a max-age too large for 32 bits is still clamped to 24 h, not replaced by jwks_cache_ttl", async () => {
    // RFC 9111 §1.2.2: a delta-seconds too large to represent counts as 2^31 (or the
    // largest value the cache can hold), which the 24 h ceiling then clamps.
    await assertOk(await whoami(worker, await token(good, P.overflow.issuer)));
    const fetched = await worker.waitForEvent("jwks_fetched", 10);
    const event = fetched.find((e) => e.issuer === P.overflow.issuer);
    assert.ok(event, "jwks_fetched logged");
    assert.equal(event.ttl, 86400, "Cache-Control: max-age=99999999999");
  });
});

describe("discovery: jwks_uri from {issuer}/.well-known/openid-configuration", () => {
  const mock = jwksMock();
  // A trailing "/" of the issuer is dropped before the well-known path is appended.
  const OK = { issuer: `${BASE}/tenant/`, audience: AUDIENCE, discovery: true, jwks_cooldown: 1 };
  const OK_DOC = `${BASE}/tenant/.well-known/openid-configuration`;
  const OK_KEYS = `${BASE}/tenant/keys`;
  const bad = (name) => ({
    provider: { issuer: `${BASE}/${name}`, audience: AUDIENCE, discovery: true, jwks_cooldown: 1 },
    doc: `${BASE}/${name}/.well-known/openid-configuration`,
    keys: `${BASE}/${name}/keys`,
  });
  const MISMATCH = bad("mismatch");
  const INSECURE = bad("insecure");
  const NO_URI = bad("no-uri");
  const HTML = bad("html");
  const MOVED = bad("moved");
  const INSECURE_KEYS = "http://keys.sitegate.invalid/insecure/keys";
  let worker;
  before(async () => {
    mock.on(OK_DOC, discovery(OK.issuer, OK_KEYS));
    mock.on(OK_KEYS, jwks([good]));
    // The document speaks for another issuer (the same one without the trailing slash).
    mock.on(MISMATCH.doc, discovery(`${MISMATCH.provider.issuer}/`, MISMATCH.keys));
    mock.on(MISMATCH.keys, jwks([good]));
    // Plain http is allowed only to this machine.
    mock.on(INSECURE.doc, discovery(INSECURE.provider.issuer, INSECURE_KEYS));
    mock.on(INSECURE_KEYS, jwks([good]));
    mock.on(NO_URI.doc, json({ issuer: NO_URI.provider.issuer }));
    mock.on(NO_URI.keys, jwks([good]));
    mock.on(HTML.doc, html());
    mock.on(HTML.keys, jwks([good]));
    mock.on(MOVED.doc, redirect(`${MOVED.doc}.moved`));
    mock.on(`${MOVED.doc}.moved`, discovery(MOVED.provider.issuer, MOVED.keys));
    mock.on(MOVED.keys, jwks([good]));
    const providers = [
      OK,
      MISMATCH.provider,
      INSECURE.provider,
      NO_URI.provider,
      HTML.provider,
      MOVED.provider,
    ];
    worker = await startWithMock({ AUTH_PROVIDERS: JSON.stringify(providers) }, mock);
  });
  after(() => worker?.dispose());

  test("the JWKS the document names is used; document and JWKS are fetched once each", async () => {
    const jwt = await token(good, OK.issuer);
    await assertOk(await whoami(worker, jwt));
    assert.deepEqual(mock.urls(), [OK_DOC, OK_KEYS]);
    for (let i = 0; i < 5; i += 1) await assertOk(await whoami(worker, jwt));
    assert.deepEqual(mock.urls(), [OK_DOC, OK_KEYS]);
  });

  test("a refetch for an unknown kid reads the JWKS again, not the discovery document", async () => {
    await sleep(1100);
    const kid = randomUUID();
    await assertRejected(
      await whoami(worker, await token(good, OK.issuer, { kid })),
      "unknown_key",
      unknownKey(kid),
    );
    assert.equal(mock.count(OK_DOC), 1);
    assert.equal(mock.count(OK_KEYS), 2);
    await assertOk(await whoami(worker, await token(good, OK.issuer)));
    assert.equal(mock.count(OK_KEYS), 2);
  });

  test("a document whose issuer differs (even by a trailing slash): 503, its jwks_uri never fetched", async () => {
    await assertUnavailable(await whoami(worker, await token(good, MISMATCH.provider.issuer)), 1);
    assert.equal(mock.count(MISMATCH.doc), 1);
    assert.equal(mock.count(MISMATCH.keys), 0);
  });

  test("a jwks_uri over plain http to another host: 503, never fetched", async () => {
    await assertUnavailable(await whoami(worker, await token(good, INSECURE.provider.issuer)), 1);
    assert.equal(mock.count(INSECURE.doc), 1);
    assert.equal(mock.count(INSECURE_KEYS), 0);
  });

  test("a document without jwks_uri: 503", async () => {
    await assertUnavailable(await whoami(worker, await token(good, NO_URI.provider.issuer)), 1);
    assert.equal(mock.count(NO_URI.doc), 1);
    assert.equal(mock.count(NO_URI.keys), 0);
  });

  test("a document served as HTML: 503", async () => {
    await assertUnavailable(await whoami(worker, await token(good, HTML.provider.issuer)), 1);
    assert.equal(mock.count(HTML.doc), 1);
    assert.equal(mock.count(HTML.keys), 0);
  });

  test("a discovery document that redirects: 503, the target never fetched", async () => {
    await assertUnavailable(await whoami(worker, await token(good, MOVED.provider.issuer)), 1);
    assert.equal(mock.count(MOVED.doc), 1);
    assert.equal(mock.count(`${MOVED.doc}.moved`), 0);
    assert.equal(mock.count(MOVED.keys), 0);
  });

  test("nothing else was fetched", () => {
    assert.deepEqual(mock.unexpected(), []);
  });
});

describe("unknown kid: at most one refetch per jwks_cooldown", () => {
  const mock = jwksMock();
  const COOLDOWN = 3;
  // The JWKS answers slowly, so concurrent requests overlap the refetch.
  const WARM = remote("flood", { jwks_cooldown: COOLDOWN });
  const COLD = remote("flood-cold", { jwks_cooldown: COOLDOWN });
  let worker;
  before(async () => {
    mock.on(WARM.jwks_url, delayed(150, jwks([good])));
    mock.on(COLD.jwks_url, delayed(150, jwks([good])));
    worker = await startWithMock({ AUTH_PROVIDERS: JSON.stringify([WARM, COLD]) }, mock);
  });
  after(() => worker?.dispose());

  async function flood(issuer, { concurrent }) {
    const kids = Array.from({ length: 50 }, () => randomUUID());
    const tokens = await Promise.all(kids.map((kid) => token(good, issuer, { kid })));
    let responses = [];
    if (concurrent) {
      responses = await Promise.all(tokens.map((jwt) => whoami(worker, jwt)));
    } else {
      for (const jwt of tokens) responses.push(await whoami(worker, jwt));
    }
    for (const [i, res] of responses.entries())
      await assertRejected(res, "unknown_key", unknownKey(kids[i]));
  }

  test("50 concurrent random kids on a cold cache: one fetch", async () => {
    await flood(COLD.issuer, { concurrent: true });
    assert.equal(mock.count(COLD.jwks_url), 1);
  });

  test("floods of 50 concurrent and 50 sequential random kids: one fetch per cooldown", async () => {
    const good1 = await token(good, WARM.issuer);
    await assertOk(await whoami(worker, good1));
    assert.equal(mock.count(WARM.jwks_url), 1);

    // Within the cooldown of the first fetch: no refetch at all.
    await flood(WARM.issuer, { concurrent: true });
    await flood(WARM.issuer, { concurrent: false });
    assert.equal(mock.count(WARM.jwks_url), 1);

    // Cooldown over: a concurrent flood makes exactly one refetch, and the sequential
    // flood after it (still inside the new cooldown) none.
    await sleep(COOLDOWN * 1000 + 100);
    const refetchWindow = Date.now();
    await flood(WARM.issuer, { concurrent: true });
    assert.equal(mock.count(WARM.jwks_url), 2);
    await flood(WARM.issuer, { concurrent: false });
    assert.ok(Date.now() - refetchWindow < COOLDOWN * 1000, "the floods ran within one cooldown");
    assert.equal(mock.count(WARM.jwks_url), 2);
    await assertOk(await whoami(worker, good1));
    assert.equal(mock.count(WARM.jwks_url), 2);

    // Next cooldown: a sequential flood, one more refetch.
    await sleep(COOLDOWN * 1000 + 100);
    await flood(WARM.issuer, { concurrent: false });
    assert.equal(mock.count(WARM.jwks_url), 3);
    assert.deepEqual(mock.unexpected(), []);
  });
});

describe("key rotation", () => {
  const mock = jwksMock();
  const ROTATE = remote("rotate", { jwks_cooldown: 1 });
  const REPLACE = remote("replace", { jwks_cooldown: 1 });
  let worker, keyA, keyB, sameKidOld, sameKidNew;
  before(async () => {
    [keyA, keyB, sameKidOld, sameKidNew] = await Promise.all([
      rsaKey("A"),
      ecKey("B"),
      rsaKey("k"),
      rsaKey("k"),
    ]);
    mock.on(ROTATE.jwks_url, jwks([keyA], { cacheControl: "max-age=3600" }));
    mock.on(REPLACE.jwks_url, jwks([sameKidOld], { cacheControl: "max-age=3600" }));
    worker = await startWithMock({ AUTH_PROVIDERS: JSON.stringify([ROTATE, REPLACE]) }, mock);
  });
  after(() => worker?.dispose());

  test("a new key published at the URL is accepted after one refetch", async () => {
    await assertOk(await whoami(worker, await token(keyA, ROTATE.issuer)));
    assert.equal(mock.count(ROTATE.jwks_url), 1);

    mock.on(ROTATE.jwks_url, delayed(100, jwks([keyA, keyB], { cacheControl: "max-age=3600" })));
    const tokenB = await token(keyB, ROTATE.issuer, { sub: "user-b" });
    // Inside the cooldown of the first fetch the new kid is not looked up yet.
    await assertRejected(await whoami(worker, tokenB), "unknown_key", unknownKey("B"));
    assert.equal(mock.count(ROTATE.jwks_url), 1);

    await sleep(1100);
    const all = await Promise.all(Array.from({ length: 20 }, () => whoami(worker, tokenB)));
    for (const res of all) await assertOk(res, "user-b");
    assert.equal(mock.count(ROTATE.jwks_url), 2);
    await assertOk(await whoami(worker, await token(keyA, ROTATE.issuer)));
    assert.equal(mock.count(ROTATE.jwks_url), 2);
  });

  test("a key removed from the set is refused (unknown_key) once the set refreshes", async () => {
    const tokenA = await token(keyA, ROTATE.issuer);
    await assertOk(await whoami(worker, tokenA));
    mock.on(ROTATE.jwks_url, jwks([keyB], { cacheControl: "max-age=3600" }));
    // The cached set still has A until something refreshes it.
    await assertOk(await whoami(worker, tokenA));
    assert.equal(mock.count(ROTATE.jwks_url), 2);

    await sleep(1100);
    const kid = randomUUID();
    await assertRejected(
      await whoami(worker, await token(keyB, ROTATE.issuer, { kid })),
      "unknown_key",
      unknownKey(kid),
    );
    assert.equal(mock.count(ROTATE.jwks_url), 3);
    // The very token that was accepted (and remembered as verified) a moment ago.
    await assertRejected(await whoami(worker, tokenA), "unknown_key", unknownKey("A"));
    await assertOk(
      await whoami(worker, await token(keyB, ROTATE.issuer, { sub: "user-b" })),
      "user-b",
    );
    assert.equal(mock.count(ROTATE.jwks_url), 3);
  });

  test("new material under the same kid: tokens verified by the old key stop working", async () => {
    const oldToken = await token(sameKidOld, REPLACE.issuer);
    await assertOk(await whoami(worker, oldToken));
    await assertOk(await whoami(worker, oldToken)); // now remembered as verified
    mock.on(REPLACE.jwks_url, jwks([sameKidNew], { cacheControl: "max-age=3600" }));
    await sleep(1100);
    const kid = randomUUID();
    await assertRejected(
      await whoami(worker, await token(sameKidNew, REPLACE.issuer, { kid })),
      "unknown_key",
      unknownKey(kid),
    );
    assert.equal(mock.count(REPLACE.jwks_url), 2);
    await assertRejected(
      await whoami(worker, oldToken),
      "invalid_signature",
      "signature does not verify",
    );
    await assertOk(
      await whoami(worker, await token(sameKidNew, REPLACE.issuer, { sub: "user-new" })),
      "user-new",
    );
    assert.deepEqual(mock.unexpected(), []);
  });
});

describe("a failing JWKS endpoint", () => {
  const mock = jwksMock();
  let weak;
  // Each mode gets a provider that has never fetched (cold) and one that has (warm).
  const MODES = {
    "status 500": () => status(500),
    "a 302 redirect": (url) => redirect(`${url}.moved`),
    "a 301 redirect": (url) => redirect(`${url}.moved`, 301),
    "an HTML page": () => html(),
    "a JWKS served as text/html": () => jwks([good], { contentType: "text/html" }),
    "a JWKS without a content type": () => jwks([good], { contentType: null }),
    "no answer within jwks_timeout": () => hang(),
    "invalid JSON": () => json('{"keys": [', {}),
    "a JSON document that is not a JWKS": () => json({ keys: "none" }),
    "a JWKS whose only key is unusable": () => jwks([weak]),
    "a JWKS over 256 KiB": () => json({ keys: [good.jwk()], padding: "x".repeat(300 * 1024) }),
  };
  const slug = (mode) => mode.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
  const cold = (mode) => remote(`cold-${slug(mode)}`, { jwks_cooldown: 1, jwks_timeout: 0.5 });
  const warm = (mode) => remote(`warm-${slug(mode)}`, { jwks_cooldown: 1, jwks_timeout: 0.5 });
  const COLD_LONG = remote("cold-long-cooldown", { jwks_cooldown: 30 });
  const COLD_CROWD = remote("cold-crowd", { jwks_cooldown: 1, jwks_timeout: 0.5 });
  const ENDLESS = remote("endless", { jwks_cooldown: 1, jwks_timeout: 4 });
  let worker, switchedAt;
  before(async () => {
    weak = (
      await generateKeyPair("weak", {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      })
    ).jwk();
    const providers = [COLD_LONG, COLD_CROWD, ENDLESS];
    mock.on(COLD_LONG.jwks_url, status(500));
    mock.on(COLD_CROWD.jwks_url, hang());
    // 64 KiB every 10 ms: 256 KiB are there after some 40 ms, the timeout comes after 4 s.
    mock.on(ENDLESS.jwks_url, endless({ intervalMs: 10 }));
    for (const [mode, failing] of Object.entries(MODES)) {
      const c = cold(mode);
      const w = warm(mode);
      providers.push(c, w);
      mock.on(c.jwks_url, failing(c.jwks_url));
      mock.on(w.jwks_url, jwks([good]));
      // Redirect targets that would work if they were followed.
      mock.on(`${c.jwks_url}.moved`, jwks([good]));
      mock.on(`${w.jwks_url}.moved`, jwks([good]));
    }
    worker = await startWithMock({ AUTH_PROVIDERS: JSON.stringify(providers) }, mock);
    // Warm every warm provider, then make its endpoint fail.
    for (const mode of Object.keys(MODES)) {
      const w = warm(mode);
      await assertOk(await whoami(worker, await token(good, w.issuer)));
      assert.equal(mock.count(w.jwks_url), 1, mode);
      mock.on(w.jwks_url, MODES[mode](w.jwks_url));
    }
    switchedAt = Date.now();
  });
  after(() => worker?.dispose());

  for (const mode of Object.keys(MODES)) {
    test(`${mode}, cold cache: 503 jwks_unavailable with Retry-After, one fetch per cooldown`, async () => {
      const c = cold(mode);
      const jwt = await token(good, c.issuer);
      const started = Date.now();
      await assertUnavailable(await whoami(worker, jwt), 1);
      const elapsed = Date.now() - started;
      if (mode.startsWith("no answer")) {
        assert.ok(
          elapsed >= 450 && elapsed < 3000,
          `gave up after the 0.5 s timeout (${elapsed} ms)`,
        );
      }
      // Again at once: still inside the cooldown, so no second fetch.
      await assertUnavailable(await whoami(worker, jwt), 1);
      assert.equal(mock.count(c.jwks_url), 1);
      assert.equal(mock.count(`${c.jwks_url}.moved`), 0, "the redirect target is never fetched");
      const failed = await worker.waitForEvent("jwks_fetch_failed", 1);
      assert.ok(
        failed.some((e) => e.issuer === c.issuer),
        "jwks_fetch_failed is logged",
      );
    });

    test(`${mode}, warm cache: the cached keys keep working`, async () => {
      const w = warm(mode);
      await sleep(Math.max(0, switchedAt + 1100 - Date.now()));
      const kid = randomUUID();
      // An unknown kid after the cooldown makes a refetch, which fails.
      await assertRejected(
        await whoami(worker, await token(good, w.issuer, { kid })),
        "unknown_key",
        unknownKey(kid),
      );
      assert.equal(mock.count(w.jwks_url), 2);
      await assertOk(await whoami(worker, await token(good, w.issuer)));
      await assertOk(await whoami(worker, await token(good, w.issuer, { kid: null })));
      assert.equal(mock.count(w.jwks_url), 2);
      assert.equal(mock.count(`${w.jwks_url}.moved`), 0, "the redirect target is never fetched");
      const failed = await worker.waitForEvent("jwks_fetch_failed", 1);
      assert.ok(
        failed.some((e) => e.issuer === w.issuer),
        "jwks_fetch_failed is logged",
      );
    });
  }

  test("20 concurrent requests on a cold cache and a hanging endpoint: one fetch, all 503", async () => {
    const jwt = await token(good, COLD_CROWD.issuer);
    const all = await Promise.all(Array.from({ length: 20 }, () => whoami(worker, jwt)));
    for (const res of all) await assertUnavailable(res, 1);
    assert.equal(mock.count(COLD_CROWD.jwks_url), 1);
  });

  test("a body that never ends (no Content-Length) is given up at 256 KiB, not read until the timeout", async () => {
    const started = Date.now();
    await assertUnavailable(await whoami(worker, await token(good, ENDLESS.issuer)), 1);
    const elapsed = Date.now() - started;
    const failed = (await worker.waitForEvent("jwks_fetch_failed", 1)).filter(
      (e) => e.issuer === ENDLESS.issuer,
    );
    assert.equal(failed.length, 1);
    // "at most 256 KiB" (README, Fetched keys): reading stops once the limit is passed.
    assert.match(
      failed[0].message,
      /larger than 262144 bytes/,
      `the worker kept reading: ${failed[0].message}`,
    );
    assert.ok(elapsed < 2000, `answered after ${elapsed} ms, jwks_timeout is 4 s`);
  });

  test("Retry-After counts down the cooldown (jwks_cooldown 30)", async () => {
    const jwt = await token(good, COLD_LONG.issuer);
    await assertUnavailable(await whoami(worker, jwt), 30);
    await assertUnavailable(await whoami(worker, jwt), 30);
    assert.equal(mock.count(COLD_LONG.jwks_url), 1);
  });

  test("nothing else was fetched", () => {
    assert.deepEqual(mock.unexpected(), []);
  });
});

describe("keys that must be dropped from a fetched JWKS", () => {
  const mock = jwksMock();
  const P = remote("mixed");
  let worker, weak, enc, p384, symmetric;
  before(async () => {
    [weak, enc, p384] = await Promise.all([
      generateKeyPair("weak", {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      }),
      rsaKey("enc"),
      generateKeyPair("p384", { name: "ECDSA", namedCurve: "P-384" }),
    ]);
    symmetric = hs256Secret();
    mock.on(
      P.jwks_url,
      jwks([
        weak.jwk(),
        { kty: "XYZ", kid: "odd", x: "AAAA" },
        enc.jwk({ use: "enc" }),
        { kty: "oct", kid: "sym", k: Buffer.from(symmetric).toString("base64url") },
        p384.jwk(),
        good.jwk(),
      ]),
    );
    worker = await startWithMock({ AUTH_PROVIDERS: JSON.stringify([P]) }, mock);
  });
  after(() => worker?.dispose());

  test("the good key in the same set works, and the dropped ones are logged with their reasons", async () => {
    await assertOk(await whoami(worker, await token(good, P.issuer)));
    assert.equal(mock.count(P.jwks_url), 1);
    const [event] = await worker.waitForEvent("jwks_fetched", 1);
    assert.equal(event.keys, 1);
    assert.equal(event.dropped.length, 5, JSON.stringify(event.dropped));
    assert.equal(
      event.dropped[0],
      'key "weak": RSA modulus is 1024 bits, at least 2048 are required',
    );
    assert.equal(event.dropped[1], 'key "odd": kty "XYZ" is not supported');
    assert.equal(event.dropped[2], 'key "enc": use is "enc", expected "sig"');
    assert.equal(
      event.dropped[3],
      'key "sym": symmetric keys do not belong in a JWKS; give HS256 secrets as a secret binding',
    );
    assert.match(
      event.dropped[4],
      /^key "p384": EC curve .*"P-384".* is not supported, expected "P-256"$/,
    );
  });

  test("tokens signed by the dropped keys are refused", async () => {
    await assertRejected(
      await whoami(worker, await token(weak, P.issuer)),
      "unknown_key",
      unknownKey("weak"),
    );
    await assertRejected(
      await whoami(worker, await token(enc, P.issuer)),
      "unknown_key",
      unknownKey("enc"),
    );
    const p384Token = await signP384(
      p384,
      { alg: "ES256", kid: "p384" },
      claims({ iss: P.issuer, aud: AUDIENCE, sub: "user-1" }),
    );
    await assertRejected(await whoami(worker, p384Token), "unknown_key", unknownKey("p384"));
    // Fetched keys never verify HS256, whatever a JWKS holds.
    const hs = await sign(
      "HS256",
      { alg: "HS256", kid: "sym" },
      claims({ iss: P.issuer, aud: AUDIENCE, sub: "user-1" }),
      symmetric,
    );
    await assertRejected(
      await whoami(worker, hs),
      "algorithm_not_allowed",
      `alg HS256 is not allowed for issuer "${P.issuer}"`,
    );
    // No kid: the RS256 token must verify against the one usable RSA key, the good one.
    await assertRejected(
      await whoami(worker, await token(weak, P.issuer, { kid: null })),
      "invalid_signature",
      "signature does not verify",
    );
    await assertOk(await whoami(worker, await token(good, P.issuer, { kid: null })));
    assert.equal(mock.count(P.jwks_url), 1);
    assert.deepEqual(mock.unexpected(), []);
  });
});

describe("jku, x5u and jwk headers never cause a fetch", () => {
  const mock = jwksMock();
  const P = remote("headers");
  const EVIL_JWKS = `${BASE}/attacker/jwks.json`;
  const EVIL_CERT = `${BASE}/attacker/cert.pem`;
  let worker;
  before(async () => {
    mock.on(P.jwks_url, jwks([good]));
    mock.on(EVIL_JWKS, jwks([attacker]));
    mock.on(
      EVIL_CERT,
      () =>
        new Response("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", {
          headers: { "Content-Type": "application/pkix-cert" },
        }),
    );
    worker = await startWithMock({ AUTH_PROVIDERS: JSON.stringify([P]) }, mock);
  });
  after(() => worker?.dispose());

  test("a cold cache and a jku header: only the configured jwks_url is fetched", async () => {
    const jwt = await token(attacker, P.issuer, { header: { jku: EVIL_JWKS } });
    await assertRejected(await whoami(worker, jwt), "unknown_key", unknownKey("attacker-1"));
    assert.deepEqual(mock.urls(), [P.jwks_url]);
  });

  test("jku, x5u or jwk naming the attacker's key, with the provider's kid: invalid_signature", async () => {
    for (const header of [
      { jku: EVIL_JWKS },
      { x5u: EVIL_CERT },
      { jwk: attacker.jwk() },
      { jku: EVIL_JWKS, x5u: EVIL_CERT, jwk: attacker.jwk() },
    ]) {
      const jwt = await token(attacker, P.issuer, { kid: good.kid, header });
      await assertRejected(
        await whoami(worker, jwt),
        "invalid_signature",
        "signature does not verify",
      );
    }
    const x5u = await token(attacker, P.issuer, { header: { x5u: EVIL_CERT } });
    await assertRejected(await whoami(worker, x5u), "unknown_key", unknownKey("attacker-1"));
    assert.equal(mock.count(EVIL_JWKS), 0);
    assert.equal(mock.count(EVIL_CERT), 0);
    assert.deepEqual(mock.urls(), [P.jwks_url]);
  });

  test("the provider's own key still works next to those headers", async () => {
    await assertOk(
      await whoami(
        worker,
        await token(good, P.issuer, { header: { jku: EVIL_JWKS, x5u: EVIL_CERT } }),
      ),
    );
    assert.deepEqual(mock.urls(), [P.jwks_url]);
  });
});

describe("tokens refused before a key is needed cause no fetch", () => {
  const mock = jwksMock();
  const P = remote("prefetch");
  let worker;
  before(async () => {
    mock.on(P.jwks_url, jwks([good]));
    worker = await startWithMock({ AUTH_PROVIDERS: JSON.stringify([P]) }, mock);
  });
  after(() => worker?.dispose());

  test("alg none, HS256, RS384, a refused typ or header, broken encoding, no iss: zero fetches on a cold cache", async () => {
    const valid = await token(good, P.issuer);
    const [header, payload] = valid.split(".");
    const cases = [
      [await token(good, P.issuer, { header: { alg: "none" } }), "unsupported_algorithm"],
      [
        await sign(
          "HS256",
          { alg: "HS256" },
          claims({ iss: P.issuer, aud: AUDIENCE, sub: "u" }),
          hs256Secret(),
        ),
        "algorithm_not_allowed",
      ],
      [await token(good, P.issuer, { header: { alg: "RS384" } }), "unsupported_algorithm"],
      [await token(good, P.issuer, { header: { typ: "JOSE" } }), "unsupported_token_type"],
      [await token(good, P.issuer, { header: { crit: ["x"] } }), "unsupported_header"],
      [await token(good, P.issuer, { header: { cty: "JWT" } }), "unsupported_header"],
      [`${header}.${payload}.~~~~`, "malformed_token"],
      [`${header}.${payload}`, "malformed_token"],
      [
        await sign(
          "RS256",
          { alg: "RS256", kid: "good-1" },
          claims({ aud: AUDIENCE, sub: "u" }),
          good,
        ),
        "invalid_claim",
      ],
      [await token(good, `${P.issuer}/`), "unknown_issuer"],
    ];
    for (const [jwt, code] of cases) {
      const res = await whoami(worker, jwt);
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error, code);
    }
    assert.deepEqual(mock.urls(), []);
    await assertOk(await whoami(worker, valid));
    assert.deepEqual(mock.urls(), [P.jwks_url]);
  });
});
