// Bearer-JWT authentication end to end: tokens signed at test time with RS256, PS256,
// ES256, EdDSA and HS256 keys, the identity they give, and every way a token or header is
// refused (status, `error` code, message and WWW-Authenticate).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { BARE_CHALLENGE, assertError, bearerChallenge, start } from "./support/harness.mjs";
import {
  b64url,
  claims,
  ecKey,
  ed25519Key,
  hs256Secret,
  nowSeconds,
  providersBinding,
  rsaKey,
  segments,
  sign,
} from "./support/tokens.mjs";

const AUDIENCE = "sitegate-tests";
const RSA_ISS = "https://rsa.issuer.test";
const EC_ISS = "https://ec.issuer.test";
const ED_ISS = "https://ed.issuer.test";
const HS_ISS = "https://hs.issuer.test";
const MULTI_ISS = "https://multi.issuer.test";
const SUPPORTED = "expected one of RS256, PS256, ES256, EdDSA, HS256";

let rsa, rsa2, ec, ec2, ed, secret, worker;

before(async () => {
  [rsa, rsa2, ec, ec2, ed] = await Promise.all([
    rsaKey("rsa-1"),
    rsaKey("rsa-2"),
    ecKey("ec-1"),
    ecKey("ec-2"),
    ed25519Key("ed-1"),
  ]);
  secret = hs256Secret();
  worker = await start({
    CORS_ALLOWED_ORIGINS: "http://localhost:5173",
    CORS_ALLOWED_HEADERS: "Content-Type, Authorization",
    CORS_EXPOSED_HEADERS: "",
    CORS_ALLOW_CREDENTIALS: "false",
    CORS_MAX_AGE: "86400",
    AUTH_LEEWAY: "60",
    AUTH_PROVIDERS: providersBinding(
      // RS256 and PS256 (the default: whatever the keys can verify), one audience.
      { issuer: RSA_ISS, audience: AUDIENCE, keys: [rsa] },
      // ES256 only, two accepted audiences.
      { issuer: EC_ISS, audience: [AUDIENCE, "sitegate-other"], algorithms: ["ES256"], keys: [ec] },
      // No audience configured: aud is not checked.
      { issuer: ED_ISS, keys: [ed] },
      // HS256 from a secret binding.
      { issuer: HS_ISS, audience: AUDIENCE, secret: "SITEGATE_TEST_HS256" },
      // Two RSA keys (the second pinned to RS256) and an EC key.
      { issuer: MULTI_ISS, audience: AUDIENCE, keys: [rsa, rsa2.jwk({ alg: "RS256" }), ec2] },
    ),
    SITEGATE_TEST_HS256: secret,
  });
});
after(async () => {
  await worker?.dispose();
});

const bearer = (token) => ({ headers: { Authorization: `Bearer ${token}` } });

function whoami(token, init = {}) {
  const headers = token === undefined ? {} : { Authorization: `Bearer ${token}` };
  return worker.fetch("/whoami", { ...init, headers: { ...headers, ...init.headers } });
}

/** A token from RSA_ISS with our audience, signed RS256 by `rsa`, `extra` claims merged. */
function rsToken(extra = {}, header = { alg: "RS256", typ: "JWT", kid: "rsa-1" }, key = rsa) {
  return sign(
    "RS256",
    header,
    claims({ iss: RSA_ISS, aud: AUDIENCE, sub: "user-rs", ...extra }),
    key,
  );
}

/** Asserts a 401 with `code`, `message`, and the invalid_token challenge describing it. */
async function assertRejected(res, code, message, description = message) {
  await assertError(res, 401, code, message);
  assert.equal(res.headers.get("www-authenticate"), bearerChallenge("invalid_token", description));
}

/** Asserts a 401 invalid_authorization_header (an invalid_request challenge). */
async function assertBadHeader(res, message) {
  await assertError(res, 401, "invalid_authorization_header", message);
  assert.equal(res.headers.get("www-authenticate"), bearerChallenge("invalid_request", message));
}

describe("valid tokens give the identity on GET /whoami", () => {
  test("RS256: standard claims camelCased, custom claims kept, iss|sub identifier", async () => {
    const iat = nowSeconds();
    const token = await sign(
      "RS256",
      { alg: "RS256", typ: "JWT", kid: "rsa-1" },
      {
        iss: RSA_ISS,
        sub: "user-rs",
        aud: AUDIENCE,
        iat,
        exp: iat + 600,
        name: "Ada Lovelace",
        given_name: "Ada",
        family_name: "Lovelace",
        preferred_username: "ada.l",
        picture: "https://img.example/ada.png",
        email: "ada@example.com",
        email_verified: true,
        phone_number_verified: "false",
        locale: "en-GB",
        updated_at: 1700000000,
        org_id: "org_9",
        roles: ["admin", "editor"],
        scope: "read write",
      },
      rsa,
    );
    const res = await whoami(token);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.deepEqual(await res.json(), {
      tokenIdentifier: `${RSA_ISS}|user-rs`,
      subject: "user-rs",
      issuer: RSA_ISS,
      aud: AUDIENCE,
      iat,
      exp: iat + 600,
      name: "Ada Lovelace",
      givenName: "Ada",
      familyName: "Lovelace",
      preferredUsername: "ada.l",
      pictureUrl: "https://img.example/ada.png",
      email: "ada@example.com",
      emailVerified: true,
      phoneNumberVerified: false,
      language: "en-GB",
      updatedAt: 1700000000,
      org_id: "org_9",
      roles: ["admin", "editor"],
      scope: "read write",
    });
  });

  test("claims named tokenIdentifier, subject or issuer cannot replace the gateway's fields", async () => {
    // A token from one issuer must never present itself as another issuer's user: the
    // identity's tokenIdentifier is always `iss|sub`, and its JSON has each name once.
    const token = await rsToken({
      sub: "mallory",
      tokenIdentifier: `${HS_ISS}|admin`,
      subject: "admin",
      issuer: HS_ISS,
    });
    for (const [path, init, pick] of [
      ["/whoami", bearer(token), (body) => body],
      ["/echo", { method: "POST", body: "x", ...bearer(token) }, (body) => body.identity],
    ]) {
      const res = await worker.fetch(path, init);
      assert.equal(res.status, 200);
      const text = await res.text();
      const identity = pick(JSON.parse(text));
      assert.equal(identity.tokenIdentifier, `${RSA_ISS}|mallory`, `${path}: ${text}`);
      assert.equal(identity.subject, "mallory", `${path}: ${text}`);
      assert.equal(identity.issuer, RSA_ISS, `${path}: ${text}`);
      for (const name of ["tokenIdentifier", "subject", "issuer"]) {
        assert.equal(
          text.split(`"${name}":`).length - 1,
          1,
          `${path}: "${name}" appears once in ${text}`,
        );
      }
    }
  });

  test("PS256 with the same RSA key", async () => {
    const token = await sign(
      "PS256",
      { alg: "PS256", kid: "rsa-1" },
      claims({ iss: RSA_ISS, aud: AUDIENCE, sub: "user-ps" }),
      rsa,
    );
    const res = await whoami(token);
    assert.equal(res.status, 200);
    const identity = await res.json();
    assert.equal(identity.tokenIdentifier, `${RSA_ISS}|user-ps`);
    assert.equal(identity.subject, "user-ps");
    assert.equal(identity.issuer, RSA_ISS);
  });

  test("ES256, the second accepted audience", async () => {
    const c = claims({ iss: EC_ISS, aud: "sitegate-other", sub: "user-es", given_name: "Eve" });
    const token = await sign("ES256", { alg: "ES256", typ: "JWT", kid: "ec-1" }, c, ec);
    const res = await whoami(token);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      tokenIdentifier: `${EC_ISS}|user-es`,
      subject: "user-es",
      issuer: EC_ISS,
      aud: "sitegate-other",
      iat: c.iat,
      exp: c.exp,
      givenName: "Eve",
    });
  });

  test("EdDSA, no audience configured and none sent", async () => {
    const c = claims({ iss: ED_ISS, sub: "user-ed" });
    const token = await sign("EdDSA", { alg: "EdDSA", kid: "ed-1" }, c, ed);
    const res = await whoami(token);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      tokenIdentifier: `${ED_ISS}|user-ed`,
      subject: "user-ed",
      issuer: ED_ISS,
      iat: c.iat,
      exp: c.exp,
    });
  });

  test("HS256 from the secret binding", async () => {
    const c = claims({ iss: HS_ISS, aud: AUDIENCE, sub: "user-hs", email_verified: "true" });
    const token = await sign("HS256", { alg: "HS256", typ: "JWT" }, c, secret);
    const res = await whoami(token);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      tokenIdentifier: `${HS_ISS}|user-hs`,
      subject: "user-hs",
      issuer: HS_ISS,
      aud: AUDIENCE,
      iat: c.iat,
      exp: c.exp,
      emailVerified: true,
    });
  });

  test("no kid: the provider's single fitting key is used", async () => {
    const res = await whoami(await rsToken({}, { alg: "RS256", typ: "JWT" }));
    assert.equal(res.status, 200);
    assert.equal((await res.json()).tokenIdentifier, `${RSA_ISS}|user-rs`);
  });

  test("aud array containing our audience", async () => {
    const res = await whoami(await rsToken({ aud: ["https://other.api", AUDIENCE] }));
    assert.equal(res.status, 200);
    assert.deepEqual((await res.json()).aud, ["https://other.api", AUDIENCE]);
  });

  test("typ at+jwt and no typ are accepted", async () => {
    for (const header of [
      { alg: "RS256", typ: "at+jwt" },
      { alg: "RS256" },
      { alg: "RS256", typ: "jwt" },
    ]) {
      const res = await whoami(await rsToken({}, header));
      assert.equal(res.status, 200, JSON.stringify(header));
    }
  });

  test("expired within the leeway (60 s) is still accepted", async () => {
    const res = await whoami(await rsToken({ exp: nowSeconds() - 30 }));
    assert.equal(res.status, 200);
  });

  test("nbf within the leeway is accepted", async () => {
    const res = await whoami(await rsToken({ nbf: nowSeconds() + 30 }));
    assert.equal(res.status, 200);
  });

  test("the ES256 key is imported once and reused: many tokens verify", async () => {
    for (let i = 0; i < 5; i += 1) {
      const token = await sign(
        "ES256",
        { alg: "ES256", kid: "ec-1" },
        claims({ iss: EC_ISS, aud: AUDIENCE, sub: `u${i}` }),
        ec,
      );
      const res = await whoami(token);
      assert.equal(res.status, 200);
      assert.equal((await res.json()).subject, `u${i}`);
    }
  });

  test("HEAD /whoami with a valid token: 200 without a body", async () => {
    const res = await worker.fetch("/whoami", { method: "HEAD", ...bearer(await rsToken()) });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "");
  });
});

describe("the Authorization header", () => {
  test("lowercase and uppercase scheme are accepted", async () => {
    const token = await rsToken();
    for (const scheme of ["bearer", "BEARER", "BeArEr"]) {
      const res = await worker.fetch("/whoami", {
        headers: { Authorization: `${scheme} ${token}` },
      });
      assert.equal(res.status, 200, scheme);
    }
  });

  test("extra spaces around the token are tolerated", async () => {
    const res = await worker.fetch("/whoami", {
      headers: { Authorization: `Bearer    ${await rsToken()}   ` },
    });
    assert.equal(res.status, 200);
  });

  test("missing on a required route: missing_token, challenge without error", async () => {
    const res = await whoami();
    await assertError(res, 401, "missing_token", "this route requires a bearer token");
    assert.equal(res.headers.get("www-authenticate"), BARE_CHALLENGE);
  });

  test("Basic scheme: invalid_request", async () => {
    const res = await worker.fetch("/whoami", { headers: { Authorization: "Basic dXNlcjpwYXNz" } });
    await assertError(
      res,
      401,
      "invalid_authorization_header",
      'expected `Authorization: Bearer <token>`, found scheme "Basic"',
    );
    assert.equal(
      res.headers.get("www-authenticate"),
      bearerChallenge(
        "invalid_request",
        "expected `Authorization: Bearer <token>`, found scheme 'Basic'",
      ),
    );
  });

  test("scheme without a token", async () => {
    for (const value of ["Bearer", "Bearer   "]) {
      const res = await worker.fetch("/whoami", { headers: { Authorization: value } });
      await assertBadHeader(
        res,
        "expected `Authorization: Bearer <token>`, found no token after the scheme",
      );
    }
  });

  test("two tokens in one header", async () => {
    const token = await rsToken();
    const res = await worker.fetch("/whoami", {
      headers: { Authorization: `Bearer ${token} ${token}` },
    });
    await assertBadHeader(
      res,
      "expected `Authorization: Bearer <token>`, found more than one token",
    );
  });

  test("two Authorization headers (joined by the runtime)", async () => {
    const token = await rsToken();
    const headers = new Headers();
    headers.append("Authorization", `Bearer ${token}`);
    headers.append("Authorization", `Bearer ${token}`);
    const res = await worker.fetch("/whoami", { headers });
    await assertBadHeader(
      res,
      "expected `Authorization: Bearer <token>`, found several Authorization values",
    );
  });

  test("a character outside b64token", async () => {
    const res = await worker.fetch("/whoami", { headers: { Authorization: "Bearer abc;def" } });
    await assertBadHeader(
      res,
      "expected `Authorization: Bearer <token>`, found a character not allowed in a token at offset 3",
    );
  });

  test("oversized token (> 8 KiB) is refused before decoding", async () => {
    const res = await whoami("a".repeat(8 * 1024 + 1));
    await assertRejected(res, "token_too_large", "token is 8193 bytes, the limit is 8192");
  });

  test("an oversized but validly signed token is refused too", async () => {
    const token = await rsToken({ padding: "p".repeat(8 * 1024) });
    assert.ok(token.length > 8192);
    const res = await whoami(token);
    await assertRejected(
      res,
      "token_too_large",
      `token is ${token.length} bytes, the limit is 8192`,
    );
  });
});

describe("POST /echo (optional auth)", () => {
  test("without a token: identity null", async () => {
    const res = await worker.fetch("/echo", { method: "POST", body: "anon" });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { identity: null, body: "anon" });
  });

  test("with a valid token: the identity and the body", async () => {
    const c = claims({ iss: ED_ISS, sub: "echoer", nickname: "echo" });
    const token = await sign("EdDSA", { alg: "EdDSA", kid: "ed-1" }, c, ed);
    const res = await worker.fetch("/echo", { method: "POST", body: "signed", ...bearer(token) });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      identity: {
        tokenIdentifier: `${ED_ISS}|echoer`,
        subject: "echoer",
        issuer: ED_ISS,
        iat: c.iat,
        exp: c.exp,
        nickname: "echo",
      },
      body: "signed",
    });
  });

  test("with a bad token: 401, never anonymous", async () => {
    const token = await rsToken({ exp: nowSeconds() - 3600 });
    const res = await worker.fetch("/echo", { method: "POST", body: "x", ...bearer(token) });
    await assertRejected(res, "token_expired", "token has expired");
  });

  test("with a malformed header: 401 invalid_request, never anonymous", async () => {
    const res = await worker.fetch("/echo", {
      method: "POST",
      body: "x",
      headers: { Authorization: "Basic Zm9vOmJhcg==" },
    });
    await assertError(
      res,
      401,
      "invalid_authorization_header",
      'expected `Authorization: Bearer <token>`, found scheme "Basic"',
    );
    assert.equal(
      res.headers.get("www-authenticate"),
      bearerChallenge(
        "invalid_request",
        "expected `Authorization: Bearer <token>`, found scheme 'Basic'",
      ),
    );
  });
});

describe("time claims", () => {
  test("expired (beyond the leeway)", async () => {
    const res = await whoami(await rsToken({ exp: nowSeconds() - 120 }));
    await assertRejected(res, "token_expired", "token has expired");
  });

  test("nbf in the future", async () => {
    const res = await whoami(await rsToken({ nbf: nowSeconds() + 300 }));
    await assertRejected(res, "token_not_yet_valid", "token is not valid yet (nbf)");
  });

  test("iat in the future", async () => {
    const now = nowSeconds();
    const res = await whoami(await rsToken({ iat: now + 300, exp: now + 900 }));
    await assertRejected(res, "token_not_yet_valid", "token is not valid yet (iat)");
  });

  test("no exp", async () => {
    const token = await sign(
      "RS256",
      { alg: "RS256", kid: "rsa-1" },
      { iss: RSA_ISS, aud: AUDIENCE, sub: "u" },
      rsa,
    );
    await assertRejected(await whoami(token), "invalid_claim", "token has no exp claim");
  });

  test("exp as a string", async () => {
    const res = await whoami(await rsToken({ exp: String(nowSeconds() + 600) }));
    await assertRejected(
      res,
      "invalid_claim",
      "exp must be a NumericDate (a number of seconds), found a string",
    );
  });
});

describe("issuer, audience and subject", () => {
  test("unknown issuer", async () => {
    const res = await whoami(await rsToken({ iss: "https://other.issuer.test" }));
    await assertRejected(
      res,
      "unknown_issuer",
      'issuer "https://other.issuer.test" is not configured',
      "issuer 'https://other.issuer.test' is not configured",
    );
  });

  test("issuers are compared exactly (trailing slash)", async () => {
    const res = await whoami(await rsToken({ iss: `${RSA_ISS}/` }));
    await assertError(res, 401, "unknown_issuer", `issuer "${RSA_ISS}/" is not configured`);
  });

  test("an issuer with CR LF cannot inject into the challenge", async () => {
    const res = await whoami(await rsToken({ iss: "evil\r\nX-Injected: 1" }));
    await assertRejected(
      res,
      "unknown_issuer",
      'issuer "evil\\r\\nX-Injected: 1" is not configured',
      "issuer 'evil'r'nX-Injected: 1' is not configured",
    );
    assert.equal(res.headers.get("x-injected"), null);
  });

  test("no iss", async () => {
    const token = await sign(
      "RS256",
      { alg: "RS256", kid: "rsa-1" },
      claims({ aud: AUDIENCE, sub: "u" }),
      rsa,
    );
    await assertRejected(await whoami(token), "invalid_claim", "token has no iss claim");
  });

  test("wrong audience", async () => {
    const res = await whoami(await rsToken({ aud: "someone-else" }));
    await assertRejected(
      res,
      "invalid_audience",
      'audience ["someone-else"] is not accepted',
      "audience ['someone-else'] is not accepted",
    );
  });

  test("aud array without our audience", async () => {
    const res = await whoami(await rsToken({ aud: ["a", "b"] }));
    await assertError(res, 401, "invalid_audience", 'audience ["a", "b"] is not accepted');
  });

  test("audience differing only by a space or case", async () => {
    for (const aud of [`${AUDIENCE} `, AUDIENCE.toUpperCase()]) {
      const res = await whoami(await rsToken({ aud }));
      await assertError(res, 401, "invalid_audience", `audience ["${aud}"] is not accepted`);
    }
  });

  test("missing aud when the provider requires one", async () => {
    const token = await sign(
      "RS256",
      { alg: "RS256", kid: "rsa-1" },
      claims({ iss: RSA_ISS, sub: "u" }),
      rsa,
    );
    await assertRejected(
      await whoami(token),
      "missing_audience",
      "token has no aud claim and this issuer requires one",
    );
  });

  test("aud of the wrong type", async () => {
    const res = await whoami(await rsToken({ aud: { [AUDIENCE]: true } }));
    await assertRejected(
      res,
      "invalid_claim",
      "aud must be a string or an array of strings, found an object",
    );
  });

  test("no sub", async () => {
    const token = await sign(
      "RS256",
      { alg: "RS256", kid: "rsa-1" },
      claims({ iss: RSA_ISS, aud: AUDIENCE }),
      rsa,
    );
    await assertRejected(await whoami(token), "invalid_claim", "token has no sub claim");
  });

  test("empty sub", async () => {
    await assertRejected(await whoami(await rsToken({ sub: "" })), "invalid_claim", "sub is empty");
  });
});

describe("algorithms and headers", () => {
  for (const alg of ["none", "None", "NONE", "nOnE"]) {
    test(`alg ${alg}, unsigned`, async () => {
      const token = await sign(
        "none",
        { alg, typ: "JWT" },
        claims({ iss: RSA_ISS, aud: AUDIENCE, sub: "admin" }),
      );
      assert.ok(token.endsWith("."));
      const message = `alg "${alg}" is not supported; ${SUPPORTED}`;
      await assertRejected(
        await whoami(token),
        "unsupported_algorithm",
        message,
        message.replaceAll('"', "'"),
      );
    });
  }

  test("alg none carrying a real RS256 signature", async () => {
    const token = await sign(
      "RS256",
      { alg: "none", kid: "rsa-1" },
      claims({ iss: RSA_ISS, aud: AUDIENCE, sub: "admin" }),
      rsa,
    );
    await assertError(
      await whoami(token),
      401,
      "unsupported_algorithm",
      `alg "none" is not supported; ${SUPPORTED}`,
    );
  });

  test("unsupported algorithms (RS512, ES384, HS512, rs256)", async () => {
    for (const alg of ["RS512", "ES384", "HS512", "rs256"]) {
      const token = await sign(
        "RS256",
        { alg },
        claims({ iss: RSA_ISS, aud: AUDIENCE, sub: "u" }),
        rsa,
      );
      await assertError(
        await whoami(token),
        401,
        "unsupported_algorithm",
        `alg "${alg}" is not supported; ${SUPPORTED}`,
      );
    }
  });

  test("algorithm confusion: HS256 keyed with the RSA public key", async () => {
    const publicKeyBytes = Buffer.from(rsa.publicJwk.n, "base64url");
    const token = await sign(
      "HS256",
      { alg: "HS256", kid: "rsa-1" },
      claims({ iss: RSA_ISS, aud: AUDIENCE, sub: "admin" }),
      publicKeyBytes,
    );
    const message = `alg HS256 is not allowed for issuer "${RSA_ISS}"`;
    await assertRejected(
      await whoami(token),
      "algorithm_not_allowed",
      message,
      message.replaceAll('"', "'"),
    );
  });

  test("an algorithm outside the provider's list (RS256 for an ES256-only issuer)", async () => {
    const token = await sign(
      "RS256",
      { alg: "RS256" },
      claims({ iss: EC_ISS, aud: AUDIENCE, sub: "u" }),
      rsa,
    );
    await assertError(
      await whoami(token),
      401,
      "algorithm_not_allowed",
      `alg RS256 is not allowed for issuer "${EC_ISS}"`,
    );
  });

  test("unsupported typ", async () => {
    for (const typ of ["JOSE", "dpop+jwt"]) {
      const token = await rsToken({}, { alg: "RS256", typ, kid: "rsa-1" });
      const message = `typ "${typ}" is not a JWT type; expected JWT, at+jwt or application/at+jwt`;
      await assertRejected(
        await whoami(token),
        "unsupported_token_type",
        message,
        message.replaceAll('"', "'"),
      );
    }
  });

  test("crit, b64 and cty headers are refused", async () => {
    for (const [extra, name] of [
      [{ crit: ["exp"] }, "crit"],
      [{ b64: false }, "b64"],
      [{ cty: "JWT" }, "cty"],
    ]) {
      const token = await rsToken({}, { alg: "RS256", kid: "rsa-1", ...extra });
      const message = `header parameter "${name}" is not supported`;
      await assertRejected(
        await whoami(token),
        "unsupported_header",
        message,
        message.replaceAll('"', "'"),
      );
    }
  });

  test("a key embedded in the header (jwk) is ignored: the configured key decides", async () => {
    // Signed by an attacker key whose public half rides along in the header.
    const header = { alg: "RS256", kid: "rsa-1", jwk: rsa2.jwk() };
    const token = await rsToken({ sub: "admin" }, header, rsa2);
    await assertRejected(await whoami(token), "invalid_signature", "signature does not verify");
  });
});

describe("keys and signatures", () => {
  test("tampered payload", async () => {
    const token = await rsToken();
    const { header, signature } = segments(token);
    const forged = b64url(claims({ iss: RSA_ISS, aud: AUDIENCE, sub: "admin" }));
    await assertRejected(
      await whoami(`${header}.${forged}.${signature}`),
      "invalid_signature",
      "signature does not verify",
    );
  });

  test("tampered header (kid removed, signature kept)", async () => {
    const token = await rsToken();
    const { payload, signature } = segments(token);
    const header = b64url({ alg: "RS256", typ: "JWT" });
    await assertRejected(
      await whoami(`${header}.${payload}.${signature}`),
      "invalid_signature",
      "signature does not verify",
    );
  });

  test("a verified token re-encoded non-canonically is malformed, not a cached success", async () => {
    const token = await rsToken({ sub: "cached" });
    assert.equal((await whoami(token)).status, 200);
    assert.equal((await whoami(token)).status, 200);
    // 256 signature bytes take 342 base64url characters; the last one carries 4 unused bits.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(token.at(-1));
    assert.equal(last & 0x0f, 0);
    const reencoded = token.slice(0, -1) + alphabet[last | 0x01];
    assert.deepEqual(
      Buffer.from(segments(reencoded).signature, "base64url"),
      Buffer.from(segments(token).signature, "base64url"),
    );
    await assertRejected(
      await whoami(reencoded),
      "malformed_token",
      "token is malformed: signature is not canonical base64url",
    );
  });

  test("RS256 signed by another RSA key under our kid", async () => {
    const res = await whoami(await rsToken({}, { alg: "RS256", kid: "rsa-1" }, rsa2));
    await assertRejected(res, "invalid_signature", "signature does not verify");
  });

  test("PS256 signed by another RSA key", async () => {
    const token = await sign(
      "PS256",
      { alg: "PS256", kid: "rsa-1" },
      claims({ iss: RSA_ISS, aud: AUDIENCE, sub: "u" }),
      rsa2,
    );
    await assertRejected(await whoami(token), "invalid_signature", "signature does not verify");
  });

  test("ES256 signed by another P-256 key", async () => {
    const token = await sign(
      "ES256",
      { alg: "ES256", kid: "ec-1" },
      claims({ iss: EC_ISS, aud: AUDIENCE, sub: "u" }),
      ec2,
    );
    await assertRejected(await whoami(token), "invalid_signature", "signature does not verify");
  });

  test("EdDSA signed by another Ed25519 key", async () => {
    const other = await ed25519Key("ed-1");
    const token = await sign(
      "EdDSA",
      { alg: "EdDSA", kid: "ed-1" },
      claims({ iss: ED_ISS, sub: "u" }),
      other,
    );
    await assertRejected(await whoami(token), "invalid_signature", "signature does not verify");
  });

  test("HS256 with another secret", async () => {
    const token = await sign(
      "HS256",
      { alg: "HS256" },
      claims({ iss: HS_ISS, aud: AUDIENCE, sub: "u" }),
      hs256Secret(),
    );
    await assertRejected(await whoami(token), "invalid_signature", "signature does not verify");
  });

  test("RS256 signature presented as PS256 (header alg swapped)", async () => {
    const token = await rsToken();
    const { payload, signature } = segments(token);
    const header = b64url({ alg: "PS256", kid: "rsa-1" });
    await assertRejected(
      await whoami(`${header}.${payload}.${signature}`),
      "invalid_signature",
      "signature does not verify",
    );
  });

  test("ES256 all-zero r and s (CVE-2022-21449) and wrong-length signatures", async () => {
    const token = await sign(
      "ES256",
      { alg: "ES256", kid: "ec-1" },
      claims({ iss: EC_ISS, aud: AUDIENCE, sub: "u" }),
      ec,
    );
    const { header, payload, signature } = segments(token);
    const raw = Buffer.from(signature, "base64url");
    assert.equal(raw.length, 64);
    for (const bad of [
      Buffer.alloc(64),
      Buffer.concat([Buffer.alloc(32), raw.subarray(32)]),
      Buffer.concat([raw.subarray(0, 32), Buffer.alloc(32)]),
      raw.subarray(0, 63),
      Buffer.concat([raw, Buffer.from([0])]),
    ]) {
      const res = await whoami(`${header}.${payload}.${b64url(bad)}`);
      await assertRejected(res, "invalid_signature", "signature does not verify");
    }
  });

  test("unknown kid", async () => {
    const res = await whoami(await rsToken({}, { alg: "RS256", kid: "nope" }));
    await assertRejected(res, "unknown_key", 'no key with kid "nope"', "no key with kid 'nope'");
  });

  test("kid of a key pinned to another algorithm of its family", async () => {
    const token = await sign(
      "PS256",
      { alg: "PS256", kid: "rsa-2" },
      claims({ iss: MULTI_ISS, aud: AUDIENCE, sub: "u" }),
      rsa2,
    );
    const message = 'key does not fit the token: key "rsa-2" is pinned to RS256, token uses PS256';
    await assertRejected(
      await whoami(token),
      "key_mismatch",
      message,
      message.replaceAll('"', "'"),
    );
  });

  test("kid of a key of another type", async () => {
    const token = await sign(
      "RS256",
      { alg: "RS256", kid: "ec-2" },
      claims({ iss: MULTI_ISS, aud: AUDIENCE, sub: "u" }),
      rsa,
    );
    await assertError(
      await whoami(token),
      401,
      "key_mismatch",
      'key does not fit the token: key "ec-2" is a P256 key, token uses RS256',
    );
  });

  test("no kid with several fitting keys", async () => {
    const token = await sign(
      "RS256",
      { alg: "RS256" },
      claims({ iss: MULTI_ISS, aud: AUDIENCE, sub: "u" }),
      rsa,
    );
    const message = "token has no kid and several keys fit RS256; the token must name one with kid";
    await assertRejected(await whoami(token), "no_unique_key", message);
  });

  test("the multi-key issuer accepts each key by kid", async () => {
    const byKid = [
      ["RS256", "rsa-1", rsa],
      ["PS256", "rsa-1", rsa],
      ["RS256", "rsa-2", rsa2],
      ["ES256", "ec-2", ec2],
    ];
    for (const [alg, kid, key] of byKid) {
      const token = await sign(
        alg,
        { alg, kid },
        claims({ iss: MULTI_ISS, aud: AUDIENCE, sub: kid }),
        key,
      );
      const res = await whoami(token);
      assert.equal(res.status, 200, `${alg} ${kid}`);
      assert.equal((await res.json()).subject, kid);
    }
    // ES256 without kid: the single EC key fits.
    const token = await sign(
      "ES256",
      { alg: "ES256" },
      claims({ iss: MULTI_ISS, aud: AUDIENCE, sub: "no-kid" }),
      ec2,
    );
    assert.equal((await whoami(token)).status, 200);
  });
});

describe("malformed tokens", () => {
  const cases = [
    ["one segment", "abc", "token is malformed: expected 3 dot-separated segments, found 1"],
    ["two segments", "abc.def", "token is malformed: expected 3 dot-separated segments, found 2"],
    ["four segments", "a.b.c.d", "token is malformed: expected 3 dot-separated segments, found 4"],
  ];
  for (const [name, token, message] of cases) {
    test(name, async () => {
      await assertRejected(await whoami(token), "malformed_token", message);
    });
  }

  test("header that is not JSON", async () => {
    const token = `${b64url("not json")}.${b64url({})}.${b64url("sig")}`;
    await assertError(
      await whoami(token),
      401,
      "malformed_token",
      /^token is malformed: header is not valid JSON: /,
    );
  });

  test("claims that are not an object", async () => {
    const token = await sign("RS256", { alg: "RS256", kid: "rsa-1" }, "[1,2]", rsa);
    await assertError(
      await whoami(token),
      401,
      "malformed_token",
      "token is malformed: claims must be a JSON object, found an array",
    );
  });

  test("duplicate claim names are refused", async () => {
    const exp = nowSeconds() + 600;
    const raw = `{"iss":"${RSA_ISS}","aud":"${AUDIENCE}","sub":"user","sub":"admin","exp":${exp}}`;
    const token = await sign("RS256", { alg: "RS256", kid: "rsa-1" }, raw, rsa);
    await assertError(
      await whoami(token),
      401,
      "malformed_token",
      /^token is malformed: claims is not valid JSON: duplicate member "sub"/,
    );
  });

  test("padded base64 in the signature segment", async () => {
    const token = await rsToken();
    await assertError(
      await whoami(`${token}==`),
      401,
      "malformed_token",
      /^token is malformed: signature is not base64url/,
    );
  });

  test("empty signature with a supported alg", async () => {
    const token = await sign(
      "none",
      { alg: "RS256", kid: "rsa-1" },
      claims({ iss: RSA_ISS, aud: AUDIENCE, sub: "u" }),
    );
    await assertRejected(
      await whoami(token),
      "malformed_token",
      "token is malformed: signature is empty",
    );
  });

  test("kid that is not a string", async () => {
    const token = await rsToken({}, { alg: "RS256", kid: 7 });
    await assertRejected(
      await whoami(token),
      "malformed_token",
      "token is malformed: header kid must be a string",
    );
  });
});

describe("the request log", () => {
  test("never contains the token", async () => {
    const token = await rsToken({ sub: "log-check" });
    const res = await whoami(token);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    // Give the runtime's stdout a moment to reach us.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(
      worker.logs.some((line) => line.includes('"path":"/whoami"')),
      "the request was logged",
    );
    const { signature } = segments(token);
    for (const line of worker.logs) {
      assert.ok(!line.includes(signature), `log line carries the token: ${line}`);
    }
  });
});
