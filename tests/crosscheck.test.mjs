// The two verifiers side by side: the worker built into build/ (workerd's Web Crypto) and
// the one built with `make build FEATURES=native-verify OUT_DIR=build-native` (jwt-compact's
// pure-Rust algorithms in wasm) get the same bindings and the same tokens, valid and
// tampered, and must answer each one alike.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { webcrypto } from "node:crypto";
import { jwks, jwksMock, startWithMock } from "./support/jwks-server.mjs";
import { buildDir } from "./support/worker.mjs";
import {
  b64url,
  claims,
  ecKey,
  ed25519Key,
  hs256Secret,
  providersBinding,
  rsaKey,
  segments,
  sign,
  signature,
} from "./support/tokens.mjs";

const BUILDS = { webcrypto: "build", native: "build-native" };
const AUDIENCE = "sitegate-crosscheck";
const RSA_ISS = "https://rsa.crosscheck.test";
const EC_ISS = "https://ec.crosscheck.test";
const ED_ISS = "https://ed.crosscheck.test";
const HS_ISS = "https://hs.crosscheck.test";
const REMOTE_ISS = "http://127.0.0.1:9/crosscheck";
const REMOTE_JWKS = `${REMOTE_ISS}/jwks.json`;

// Group orders: P-256's n (FIPS 186-4 D.1.2.3) and Ed25519's L (RFC 8032 §5.1).
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;

const toBig = (bytes) => BigInt(`0x${Buffer.from(bytes).toString("hex") || "0"}`);
const fromBig = (value, length) => Buffer.from(value.toString(16).padStart(length * 2, "0"), "hex");

// Keys and tokens are made before the tests are declared, so that each token is a test.
const [rsa, rsaOther, ec, ecOther, ed, edOther] = await Promise.all([
  rsaKey("rsa-1"),
  rsaKey("rsa-1"),
  ecKey("ec-1"),
  ecKey("ec-1"),
  ed25519Key("ed-1"),
  ed25519Key("ed-1"),
]);
const keys = { rsa, rsaOther, ec, ecOther, ed, edOther };
const secret = hs256Secret();
const otherSecret = hs256Secret();
const workers = {};
const mocks = {};

/** Sends `jwt` to both builds; returns `{ webcrypto: {status, error, body}, native: ... }`. */
async function both(jwt) {
  const answers = {};
  for (const [name, worker] of Object.entries(workers)) {
    const res = await worker.fetch("/whoami", { headers: { Authorization: `Bearer ${jwt}` } });
    const body = await res.json();
    answers[name] = { status: res.status, error: body.error ?? null, body };
  }
  return answers;
}

/** Both builds answer `jwt` with the same status and error code; returns that answer. */
async function agree(label, jwt) {
  const { webcrypto: web, native } = await both(jwt);
  assert.deepEqual(
    { status: native.status, error: native.error },
    { status: web.status, error: web.error },
    `${label}: Web Crypto answered ${web.status} ${web.error}, jwt-compact ${native.status} ${native.error}`,
  );
  return { web, native };
}

const claimsFor = (iss, sub) => claims({ iss, aud: AUDIENCE, sub });

/** The valid corpus: one token per algorithm and provider. */
async function validCorpus() {
  const corpus = {};
  for (const [iss, where] of [
    [RSA_ISS, "inline"],
    [REMOTE_ISS, "fetched"],
  ]) {
    corpus[`RS256 (${where} key)`] = await sign(
      "RS256",
      { alg: "RS256", typ: "JWT", kid: "rsa-1" },
      claimsFor(iss, "rs"),
      rsa,
    );
    corpus[`PS256 (${where} key)`] = await sign(
      "PS256",
      { alg: "PS256", typ: "JWT", kid: "rsa-1" },
      claimsFor(iss, "ps"),
      rsa,
    );
  }
  corpus["ES256 (inline key)"] = await sign(
    "ES256",
    { alg: "ES256", kid: "ec-1" },
    claimsFor(EC_ISS, "es"),
    ec,
  );
  corpus["ES256 (fetched key)"] = await sign(
    "ES256",
    { alg: "ES256", kid: "ec-1" },
    claimsFor(REMOTE_ISS, "es"),
    ec,
  );
  corpus["EdDSA (inline key)"] = await sign(
    "EdDSA",
    { alg: "EdDSA", kid: "ed-1" },
    claimsFor(ED_ISS, "ed"),
    ed,
  );
  corpus["EdDSA (fetched key)"] = await sign(
    "EdDSA",
    { alg: "EdDSA", kid: "ed-1" },
    claimsFor(REMOTE_ISS, "ed"),
    ed,
  );
  corpus["HS256"] = await sign(
    "HS256",
    { alg: "HS256", typ: "JWT" },
    claimsFor(HS_ISS, "hs"),
    secret,
  );
  return corpus;
}

function withSignature(jwt, bytes) {
  const { header, payload } = segments(jwt);
  return `${header}.${payload}.${b64url(bytes)}`;
}

function flip(jwt, at) {
  const sig = Buffer.from(segments(jwt).signature, "base64url");
  const index = at === "first" ? 0 : at === "last" ? sig.length - 1 : sig.length >> 1;
  sig[index] ^= 0x01;
  return withSignature(jwt, sig);
}

/** The same signature over a payload with another `sub`. */
function changePayload(jwt) {
  const { header, payload, signature } = segments(jwt);
  const claimSet = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  return `${header}.${b64url({ ...claimSet, sub: "admin" })}.${signature}`;
}

/** The same signature under a header that differs only in JSON spacing. */
function respaceHeader(jwt) {
  const { header, payload, signature } = segments(jwt);
  const text = JSON.stringify(
    JSON.parse(Buffer.from(header, "base64url").toString("utf8")),
    null,
    1,
  );
  return `${b64url(text)}.${payload}.${signature}`;
}

/** A PS256 token whose PSS salt is `saltLength` bytes (RFC 7518 §3.5 requires 32). */
async function ps256WithSalt(saltLength) {
  const input = `${b64url({ alg: "PS256", kid: "rsa-1" })}.${b64url(claimsFor(RSA_ISS, "ps"))}`;
  const { alg: _alg, key_ops: _ops, ext: _ext, ...jwk } = keys.rsa.privateJwk;
  const key = await webcrypto.subtle.importKey(
    "jwk",
    jwk,
    { name: "RSA-PSS", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const sig = await webcrypto.subtle.sign(
    { name: "RSA-PSS", saltLength },
    key,
    Buffer.from(input, "ascii"),
  );
  return `${input}.${b64url(new Uint8Array(sig))}`;
}

/** Tokens that must be refused with invalid_signature by both. */
async function tamperedCorpus(valid) {
  const corpus = {};
  for (const [name, jwt] of Object.entries(valid)) {
    for (const at of ["first", "middle", "last"])
      corpus[`${name}, ${at} signature byte flipped`] = flip(jwt, at);
    corpus[`${name}, payload changed`] = changePayload(jwt);
    corpus[`${name}, header re-spaced`] = respaceHeader(jwt);
  }
  // The same kid, signed by another key of the same type.
  corpus["RS256 signed by another RSA key"] = await sign(
    "RS256",
    { alg: "RS256", kid: "rsa-1" },
    claimsFor(RSA_ISS, "rs"),
    rsaOther,
  );
  corpus["PS256 signed by another RSA key"] = await sign(
    "PS256",
    { alg: "PS256", kid: "rsa-1" },
    claimsFor(REMOTE_ISS, "ps"),
    rsaOther,
  );
  corpus["ES256 signed by another P-256 key"] = await sign(
    "ES256",
    { alg: "ES256", kid: "ec-1" },
    claimsFor(EC_ISS, "es"),
    ecOther,
  );
  corpus["ES256 (fetched) signed by another P-256 key"] = await sign(
    "ES256",
    { alg: "ES256", kid: "ec-1" },
    claimsFor(REMOTE_ISS, "es"),
    ecOther,
  );
  corpus["EdDSA signed by another Ed25519 key"] = await sign(
    "EdDSA",
    { alg: "EdDSA", kid: "ed-1" },
    claimsFor(ED_ISS, "ed"),
    edOther,
  );
  corpus["HS256 signed with another secret"] = await sign(
    "HS256",
    { alg: "HS256" },
    claimsFor(HS_ISS, "hs"),
    otherSecret,
  );

  // One RSA padding under the other's name.
  const rs = valid["RS256 (inline key)"];
  const ps = valid["PS256 (inline key)"];
  const input = (jwt) => `${segments(jwt).header}.${segments(jwt).payload}`;
  corpus["a PKCS#1 v1.5 signature labelled PS256"] =
    `${input(ps)}.${b64url(await signature("RS256", input(ps), keys.rsa))}`;
  corpus["a PSS signature labelled RS256"] =
    `${input(rs)}.${b64url(await signature("PS256", input(rs), keys.rsa))}`;

  // PSS with a salt other than the hash length.
  corpus["PS256 with a 0-byte salt"] = await ps256WithSalt(0);
  corpus["PS256 with a 64-byte salt"] = await ps256WithSalt(64);

  // RSA signature values that are not below the modulus.
  const n = Buffer.from(keys.rsa.publicJwk.n, "base64url");
  corpus["RS256 signature equal to the modulus"] = withSignature(rs, n);
  corpus["RS256 signature equal to the modulus plus one"] = withSignature(
    rs,
    fromBig(toBig(n) + 1n, 256),
  );
  corpus["RS256 signature of all ones"] = withSignature(rs, Buffer.alloc(256, 0xff));

  // Ed25519 with S + L (non-canonical S, RFC 8032 §5.1.7 requires S < L).
  const edToken = valid["EdDSA (inline key)"];
  const edSig = Buffer.from(segments(edToken).signature, "base64url");
  const S = toBig(Buffer.from(edSig.subarray(32)).reverse());
  corpus["EdDSA with S + L"] = withSignature(
    edToken,
    Buffer.concat([edSig.subarray(0, 32), fromBig(S + ED25519_L, 32).reverse()]),
  );

  // ECDSA with r or s replaced by the group order (≡ 0) or by values of the wrong size.
  const esToken = valid["ES256 (inline key)"];
  const esSig = Buffer.from(segments(esToken).signature, "base64url");
  corpus["ES256 with s = n"] = withSignature(
    esToken,
    Buffer.concat([esSig.subarray(0, 32), fromBig(P256_N, 32)]),
  );
  corpus["ES256 with r = n"] = withSignature(
    esToken,
    Buffer.concat([fromBig(P256_N, 32), esSig.subarray(32)]),
  );
  corpus["ES256 with r and s swapped"] = withSignature(
    esToken,
    Buffer.concat([esSig.subarray(32), esSig.subarray(0, 32)]),
  );

  // HS256 with a truncated MAC.
  const hs = valid.HS256;
  corpus["HS256 with the MAC truncated to 16 bytes"] = withSignature(
    hs,
    Buffer.from(segments(hs).signature, "base64url").subarray(0, 16),
  );
  return corpus;
}

const valid = await validCorpus();
const tampered = await tamperedCorpus(valid);

/** Build directories without a worker in them (startWorker checks the rest of the layout). */
const missing = Object.values(BUILDS).filter((dir) => !existsSync(join(buildDir(dir), "index.js")));
const howToBuild = (dir) =>
  dir === "build" ? "make build" : "make build FEATURES=native-verify OUT_DIR=build-native";
const missingMessage = missing
  .map((dir) => `${dir}/ is missing: run \`${howToBuild(dir)}\` first`)
  .join("; ");

test("both builds are present, each the variant its directory names", () => {
  assert.deepEqual(missing, [], missingMessage);
  // The Makefile records each variant's cargo features next to the build.
  const features = { build: "features=", "build-native": "features=native-verify" };
  for (const dir of Object.values(BUILDS)) {
    const record = join(buildDir(dir), ".build-config");
    if (!existsSync(record)) continue;
    const line = readFileSync(record, "utf8")
      .split("\n")
      .find((l) => l.startsWith("features="));
    assert.equal(line, features[dir], `${dir}/ was built with ${line}`);
  }
});

describe("Web Crypto (build/) and jwt-compact (build-native/) answer alike", () => {
  before(async () => {
    if (missing.length > 0) throw new Error(missingMessage);
    const bindings = {
      AUTH_LEEWAY: "60",
      AUTH_PROVIDERS: providersBinding(
        { issuer: RSA_ISS, audience: AUDIENCE, keys: [rsa] },
        { issuer: EC_ISS, audience: AUDIENCE, keys: [ec] },
        { issuer: ED_ISS, audience: AUDIENCE, keys: [ed] },
        { issuer: HS_ISS, audience: AUDIENCE, secret: "CROSSCHECK_HS256" },
        { issuer: REMOTE_ISS, audience: AUDIENCE, jwks_url: REMOTE_JWKS },
      ),
      CROSSCHECK_HS256: secret,
    };
    await Promise.all(
      Object.entries(BUILDS).map(async ([name, dir]) => {
        mocks[name] = jwksMock().on(REMOTE_JWKS, jwks([rsa, ec, ed]));
        try {
          workers[name] = await startWithMock(bindings, mocks[name], { buildDir: dir });
        } catch (err) {
          throw new Error(`${dir}/ cannot be started (run \`${howToBuild(dir)}\`): ${err.message}`);
        }
      }),
    );
  });
  after(async () => {
    await Promise.all(Object.values(workers).map((worker) => worker.dispose()));
  });

  describe("valid tokens: 200 from both builds, with the same identity", () => {
    for (const [label, jwt] of Object.entries(valid)) {
      test(label, async () => {
        for (const round of ["first", "repeated"]) {
          const { web, native } = await agree(`${label} (${round})`, jwt);
          assert.equal(web.status, 200, `${label}: ${JSON.stringify(web.body)}`);
          assert.deepEqual(native.body, web.body, label);
        }
      });
    }
  });

  describe("tampered tokens: 401 invalid_signature from both builds", () => {
    test("the corpus is large", () => {
      assert.ok(
        Object.keys(tampered).length >= 60,
        `${Object.keys(tampered).length} tampered tokens`,
      );
    });
    for (const [label, jwt] of Object.entries(tampered)) {
      test(label, async () => {
        const { web } = await agree(label, jwt);
        assert.deepEqual(
          { status: web.status, error: web.error },
          { status: 401, error: "invalid_signature" },
          label,
        );
      });
    }
  });

  describe("edge cases where both builds must simply agree", () => {
    test("an ES256 signature with s replaced by n - s (the high-S twin)", async () => {
      const esToken = valid["ES256 (inline key)"];
      const sig = Buffer.from(segments(esToken).signature, "base64url");
      const s = toBig(sig.subarray(32));
      const twin = withSignature(
        esToken,
        Buffer.concat([sig.subarray(0, 32), fromBig(P256_N - s, 32)]),
      );
      // ECDSA verifies (r, s) and (r, n - s) alike; neither JWS nor Web Crypto asks for low S.
      const { web } = await agree("high-S twin", twin);
      assert.equal(web.status, 200, JSON.stringify(web.body));
    });

    test("the remote provider's JWKS was fetched once by each build", () => {
      for (const [name, mock] of Object.entries(mocks)) {
        assert.deepEqual(mock.urls(), [REMOTE_JWKS], name);
      }
    });
  });
});
