// Tokens an attacker would send: unsigned and algorithm-confused tokens, keys smuggled in
// the header, hostile `kid`s, malleable signatures and encodings, refused header
// parameters, ill-typed and boundary claims, ambiguous JSON and broken structure. Every
// one is refused with the exact status, `error` code and WWW-Authenticate challenge, and
// none of them makes the worker fetch anything (the outbound hook records every fetch).
//
// Unless a test says otherwise, each token is validly signed with the provider's own key,
// so the one defect under test is the only reason it is refused.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createPublicKey, webcrypto } from "node:crypto";
import { assertError, bearerChallenge } from "./support/harness.mjs";
import { jwksMock, startWithMock } from "./support/jwks-server.mjs";
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
  signature,
} from "./support/tokens.mjs";

const { subtle } = webcrypto;

const AUDIENCE = "sitegate-adversarial";
const RSA_ISS = "https://rsa.adversary.test";
const PIN_ISS = "https://pinned.adversary.test";
const PIN_PS_ISS = "https://pinned-ps.adversary.test";
const EC_ISS = "https://ec.adversary.test";
const ED_ISS = "https://ed.adversary.test";
const HS_ISS = "https://hs.adversary.test";
const MULTI_ISS = "https://multi.adversary.test";
const LEEWAY = 30;
const SUPPORTED = "expected one of RS256, PS256, ES256, EdDSA, HS256";
const NOT_VERIFIED = "signature does not verify";

let rsa, pinned, ec, ed, attackerRsa, attackerEc, secret, worker;
const mock = jwksMock();

before(async () => {
  [rsa, pinned, ec, ed, attackerRsa, attackerEc] = await Promise.all([
    rsaKey("rsa-1"),
    rsaKey("pin-1"),
    ecKey("ec-1"),
    ed25519Key("ed-1"),
    rsaKey("attacker"),
    ecKey("attacker-ec"),
  ]);
  secret = hs256Secret();
  worker = await startWithMock(
    {
      AUTH_LEEWAY: String(LEEWAY),
      AUTH_PROVIDERS: providersBinding(
        { issuer: RSA_ISS, audience: AUDIENCE, keys: [rsa] },
        // Pinned to RS256; the default algorithms are then RS256 only.
        { issuer: PIN_ISS, audience: AUDIENCE, keys: [pinned.jwk({ alg: "RS256" })] },
        // Pinned to RS256, but the provider allows PS256 too.
        {
          issuer: PIN_PS_ISS,
          audience: AUDIENCE,
          algorithms: ["RS256", "PS256"],
          keys: [pinned.jwk({ alg: "RS256" })],
        },
        { issuer: EC_ISS, audience: AUDIENCE, keys: [ec] },
        { issuer: ED_ISS, audience: AUDIENCE, keys: [ed] },
        { issuer: HS_ISS, audience: AUDIENCE, secret: "ADVERSARIAL_HS256" },
        { issuer: MULTI_ISS, audience: AUDIENCE, keys: [rsa, ec, ed] },
      ),
      ADVERSARIAL_HS256: secret,
    },
    mock,
  );
});
after(() => worker?.dispose());

// ---------------------------------------------------------------------------------------
// Helpers

/** The error_description the worker puts in a quoted-string: `"` and `\` become `'`,
 *  anything outside printable ASCII becomes `?`. */
function described(message) {
  return [...message]
    .map((c) => (c === '"' || c === "\\" ? "'" : c >= " " && c <= "~" ? c : "?"))
    .join("");
}

function get(jwt, path = "/whoami") {
  if (path === "/echo") {
    return worker.fetch("/echo", {
      method: "POST",
      body: "attack",
      headers: { Authorization: `Bearer ${jwt}` },
    });
  }
  return worker.fetch(path, { headers: { Authorization: `Bearer ${jwt}` } });
}

/** 401 `code` with `message`, and the invalid_token challenge that describes it. */
async function assertRejected(res, code, message) {
  await assertError(res, 401, code, message);
  if (typeof message === "string") {
    assert.equal(
      res.headers.get("www-authenticate"),
      bearerChallenge("invalid_token", described(message)),
    );
  } else {
    assert.match(
      res.headers.get("www-authenticate"),
      /^Bearer realm="sitegate", error="invalid_token", error_description="[ !#-[\]-~]*"$/,
    );
  }
}

/** Sends `jwt` to /whoami and to the optional POST /echo: both must refuse it the same way. */
async function refused(jwt, code, message) {
  await assertRejected(await get(jwt), code, message);
  await assertRejected(await get(jwt, "/echo"), code, message);
}

/** 401 invalid_authorization_header with the invalid_request challenge. */
async function assertBadHeader(res, message) {
  await assertError(res, 401, "invalid_authorization_header", message);
  assert.equal(
    res.headers.get("www-authenticate"),
    bearerChallenge("invalid_request", described(message)),
  );
}

async function accepted(jwt, sub = "user-1") {
  const res = await get(jwt);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(JSON.parse(text).subject, sub);
  return JSON.parse(text);
}

/** Claims for `iss` with our audience, sub "user-1", `extra` merged last. */
const claimsFor = (iss, extra = {}) => claims({ iss, aud: AUDIENCE, sub: "user-1", ...extra });

/** A valid RS256 token from RSA_ISS; `header` and `extra` claims merged over the defaults. */
function rs(extra = {}, header = {}) {
  return sign(
    "RS256",
    { alg: "RS256", typ: "JWT", kid: "rsa-1", ...header },
    claimsFor(RSA_ISS, extra),
    rsa,
  );
}

/** A token whose header and claims are JSON *texts* written by hand, signed by `alg`/`key`. */
function raw(headerText, claimsText, alg = "RS256", key = rsa) {
  return sign(alg, headerText, claimsText, key);
}

/** The hand-written claims text of a valid RSA_ISS token, `tail` spliced in before `}`. */
function claimsText(tail = "") {
  const now = nowSeconds();
  return `{"iss":"${RSA_ISS}","aud":"${AUDIENCE}","sub":"user-1","iat":${now}${tail}`;
}

/** Replaces the signature segment of `jwt` with `bytes`. */
function withSignature(jwt, bytes) {
  const { header, payload } = segments(jwt);
  return `${header}.${payload}.${b64url(bytes)}`;
}

/** A raw `r || s` ECDSA signature in DER (SEQUENCE of two INTEGERs), as OpenSSL makes it. */
function der(rawSignature) {
  const integer = (bytes) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i += 1;
    let value = bytes.subarray(i);
    if (value[0] & 0x80) value = Buffer.concat([Buffer.from([0]), value]);
    return Buffer.concat([Buffer.from([0x02, value.length]), value]);
  };
  const sig = Buffer.from(rawSignature);
  const body = Buffer.concat([integer(sig.subarray(0, 32)), integer(sig.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/** Signs `input` with a KeyPair's private key under Web Crypto parameters tokens.mjs lacks. */
async function signWith(pair, importParams, signParams, header, claimSet) {
  const input = `${b64url(header)}.${b64url(claimSet)}`;
  const { alg: _alg, key_ops: _ops, ext: _ext, ...jwk } = pair.privateJwk;
  const key = await subtle.importKey("jwk", jwk, importParams, false, ["sign"]);
  const sig = await subtle.sign(signParams, key, Buffer.from(input, "ascii"));
  return `${input}.${b64url(new Uint8Array(sig))}`;
}

async function p384Pair() {
  const pair = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
    "verify",
  ]);
  const privateJwk = await subtle.exportKey("jwk", pair.privateKey);
  const { kty, crv, x, y } = await subtle.exportKey("jwk", pair.publicKey);
  return { privateJwk, publicJwk: { kty, crv, x, y } };
}

/** Starts a worker with `AUTH_PROVIDERS` and expects every request to be the config 500. */
async function assertConfigRefused(providers, message) {
  const configMock = jwksMock();
  const broken = await startWithMock({ AUTH_PROVIDERS: providers }, configMock);
  try {
    for (const path of ["/health", "/whoami"]) {
      const res = await broken.fetch(path, { headers: { Authorization: `Bearer ${await rs()}` } });
      await assertError(res, 500, "invalid_configuration", message);
    }
    assert.deepEqual(configMock.urls(), []);
  } finally {
    await broken.dispose();
  }
}

const notAllowed = (alg, iss) => `alg ${alg} is not allowed for issuer "${iss}"`;
const unknownKey = (kid) => `no key with kid "${kid}"`;

// ---------------------------------------------------------------------------------------

describe("alg none", () => {
  test("none, None and NONE with an empty signature: unsupported_algorithm", async () => {
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      const { header, payload } = segments(await rs({}, { alg }));
      await refused(
        `${header}.${payload}.`,
        "unsupported_algorithm",
        `alg "${alg}" is not supported; ${SUPPORTED}`,
      );
    }
  });

  test("none, None and NONE with a non-empty signature (a valid RS256 one over the same input)", async () => {
    for (const alg of ["none", "None", "NONE"]) {
      const input = `${b64url({ alg, typ: "JWT", kid: "rsa-1" })}.${b64url(claimsFor(RSA_ISS))}`;
      const jwt = `${input}.${b64url(await signature("RS256", input, rsa))}`;
      await refused(jwt, "unsupported_algorithm", `alg "${alg}" is not supported; ${SUPPORTED}`);
      await refused(
        `${input}.${b64url("x")}`,
        "unsupported_algorithm",
        `alg "${alg}" is not supported; ${SUPPORTED}`,
      );
    }
  });

  test("alg missing, empty or not a string", async () => {
    await refused(
      await raw('{"typ":"JWT","kid":"rsa-1"}', claimsText(`,"exp":${nowSeconds() + 600}}`)),
      "malformed_token",
      "token is malformed: header has no alg",
    );
    await refused(
      await rs({}, { alg: "" }),
      "unsupported_algorithm",
      `alg "" is not supported; ${SUPPORTED}`,
    );
    await refused(
      await rs({}, { alg: null }),
      "malformed_token",
      "token is malformed: header alg must be a string",
    );
    await refused(
      await rs({}, { alg: ["RS256"] }),
      "malformed_token",
      "token is malformed: header alg must be a string",
    );
    await refused(
      await rs({}, { alg: "rs256" }),
      "unsupported_algorithm",
      `alg "rs256" is not supported; ${SUPPORTED}`,
    );
  });
});

describe("algorithm confusion", () => {
  let pem, pemPkcs1, modulus, jwkText;
  before(() => {
    const publicKey = createPublicKey({ key: rsa.publicJwk, format: "jwk" });
    pem = publicKey.export({ type: "spki", format: "pem" });
    pemPkcs1 = publicKey.export({ type: "pkcs1", format: "pem" });
    modulus = new Uint8Array(Buffer.from(rsa.publicJwk.n, "base64url"));
    jwkText = JSON.stringify(rsa.jwk());
  });

  const secrets = () => ({
    "SPKI PEM text": pem,
    "SPKI PEM without the final newline": pem.trimEnd(),
    "PKCS#1 PEM text": pemPkcs1,
    "the raw modulus bytes": modulus,
    "the JWK's JSON text": jwkText,
  });

  test("RS256→HS256: signed with the RSA public key (PEM text, raw modulus) against the RSA provider: algorithm_not_allowed", async () => {
    for (const [what, key] of Object.entries(secrets())) {
      for (const header of [
        { alg: "HS256", typ: "JWT", kid: "rsa-1" },
        { alg: "HS256", typ: "JWT" },
      ]) {
        const jwt = await sign("HS256", header, claimsFor(RSA_ISS), key);
        await assertRejected(await get(jwt), "algorithm_not_allowed", notAllowed("HS256", RSA_ISS));
      }
      const multi = await sign("HS256", { alg: "HS256", kid: "rsa-1" }, claimsFor(MULTI_ISS), key);
      await assertRejected(
        await get(multi),
        "algorithm_not_allowed",
        notAllowed("HS256", MULTI_ISS),
      );
      assert.ok(what);
    }
  });

  test("RS256→HS256 against a provider that allows HS256 with its own secret: still refused", async () => {
    for (const key of Object.values(secrets())) {
      const jwt = await sign("HS256", { alg: "HS256", typ: "JWT" }, claimsFor(HS_ISS), key);
      await refused(jwt, "invalid_signature", NOT_VERIFIED);
      // A secret has no kid, so the token's kid chooses nothing and the secret still decides.
      const withKid = await sign(
        "HS256",
        { alg: "HS256", typ: "JWT", kid: "rsa-1" },
        claimsFor(HS_ISS),
        key,
      );
      await refused(withKid, "invalid_signature", NOT_VERIFIED);
    }
    // Control: the provider's own secret is accepted.
    await accepted(await sign("HS256", { alg: "HS256", typ: "JWT" }, claimsFor(HS_ISS), secret));
  });

  test("a configuration that would allow HS256 next to an RSA JWKS is refused at start-up", async () => {
    await assertConfigRefused(
      providersBinding({ issuer: RSA_ISS, keys: [rsa], algorithms: ["RS256", "HS256"] }),
      'AUTH_PROVIDERS: provider 0: HS256 needs "secret"; a JWKS holds only public keys',
    );
  });

  test("PS256 against a JWK pinned to RS256", async () => {
    const ps = (iss, header) =>
      sign("PS256", { alg: "PS256", typ: "JWT", ...header }, claimsFor(iss), pinned);
    // Default algorithms of a pinned key: only its own.
    await refused(
      await ps(PIN_ISS, { kid: "pin-1" }),
      "algorithm_not_allowed",
      notAllowed("PS256", PIN_ISS),
    );
    // PS256 allowed by the provider, but the key itself is pinned.
    await refused(
      await ps(PIN_PS_ISS, { kid: "pin-1" }),
      "key_mismatch",
      'key does not fit the token: key "pin-1" is pinned to RS256, token uses PS256',
    );
    await refused(
      await ps(PIN_PS_ISS, {}),
      "no_unique_key",
      "token has no kid and no key fits PS256",
    );
    // Control: RS256 with the same key is accepted by both.
    for (const iss of [PIN_ISS, PIN_PS_ISS]) {
      await accepted(await sign("RS256", { alg: "RS256", kid: "pin-1" }, claimsFor(iss), pinned));
    }
  });

  test("RS384 against a JWK pinned to RS256: unsupported_algorithm", async () => {
    for (const iss of [PIN_ISS, PIN_PS_ISS]) {
      const jwt = await signWith(
        pinned,
        { name: "RSASSA-PKCS1-v1_5", hash: "SHA-384" },
        { name: "RSASSA-PKCS1-v1_5" },
        { alg: "RS384", typ: "JWT", kid: "pin-1" },
        claimsFor(iss),
      );
      await refused(jwt, "unsupported_algorithm", `alg "RS384" is not supported; ${SUPPORTED}`);
    }
  });

  test("ES256 against a P-384 key: the key is refused by the configuration, the token by the worker", async () => {
    const p384 = await p384Pair();
    // An inline JWKS with a P-384 key is a configuration error (fetched JWKS drop it: see
    // jwks.test.mjs, "keys that must be dropped").
    await assertConfigRefused(
      providersBinding({ issuer: EC_ISS, keys: [{ ...p384.publicJwk, kid: "p384", use: "sig" }] }),
      /^AUTH_PROVIDERS: provider 0: jwks: key "p384": EC curve .*"P-384".* is not supported, expected "P-256"$/,
    );
    await assertConfigRefused(
      providersBinding({
        issuer: EC_ISS,
        keys: [ec, { ...p384.publicJwk, kid: "p384", alg: "ES384" }],
      }),
      /^AUTH_PROVIDERS: provider 0: jwks: key "p384": /,
    );
    // "ES256" signed on P-384 (a 96-byte signature) against the P-256 provider.
    const signP384 = (header) =>
      signWith(
        { privateJwk: p384.privateJwk },
        { name: "ECDSA", namedCurve: "P-384" },
        { name: "ECDSA", hash: "SHA-256" },
        header,
        claimsFor(EC_ISS),
      );
    await refused(await signP384({ alg: "ES256", kid: "ec-1" }), "invalid_signature", NOT_VERIFIED);
    await refused(await signP384({ alg: "ES256" }), "invalid_signature", NOT_VERIFIED);
    await refused(await signP384({ alg: "ES256", kid: "p384" }), "unknown_key", unknownKey("p384"));
    await refused(
      await signP384({ alg: "ES384", kid: "ec-1" }),
      "unsupported_algorithm",
      `alg "ES384" is not supported; ${SUPPORTED}`,
    );
  });

  test("a kid naming a key of another type: key_mismatch", async () => {
    const es = await sign("ES256", { alg: "ES256", kid: "rsa-1" }, claimsFor(MULTI_ISS), ec);
    await refused(
      es,
      "key_mismatch",
      'key does not fit the token: key "rsa-1" is a Rsa(2048 bits) key, token uses ES256',
    );
    const ed25519 = await sign("EdDSA", { alg: "EdDSA", kid: "ec-1" }, claimsFor(MULTI_ISS), ed);
    await refused(
      ed25519,
      "key_mismatch",
      'key does not fit the token: key "ec-1" is a P256 key, token uses EdDSA',
    );
  });
});

describe("keys named by the token itself are never used", () => {
  test("an embedded jwk header carrying the attacker's own key", async () => {
    const forge = (header) =>
      sign(
        "RS256",
        { alg: "RS256", typ: "JWT", jwk: attackerRsa.jwk(), ...header },
        claimsFor(RSA_ISS),
        attackerRsa,
      );
    await refused(await forge({}), "invalid_signature", NOT_VERIFIED);
    await refused(await forge({ kid: "rsa-1" }), "invalid_signature", NOT_VERIFIED);
    await refused(await forge({ kid: "attacker" }), "unknown_key", unknownKey("attacker"));
    const es = await sign(
      "ES256",
      { alg: "ES256", jwk: attackerEc.jwk() },
      claimsFor(EC_ISS),
      attackerEc,
    );
    await refused(es, "invalid_signature", NOT_VERIFIED);
  });

  test("jku and x5u headers pointing at another URL are never fetched", async () => {
    const urls = {
      jku: "http://127.0.0.1:9/attacker/jwks.json",
      x5u: "http://127.0.0.1:9/attacker/cert.pem",
    };
    for (const [name, url] of Object.entries(urls)) {
      for (const kid of ["rsa-1", undefined]) {
        const header = { alg: "RS256", typ: "JWT", [name]: url, ...(kid ? { kid } : {}) };
        await refused(
          await sign("RS256", header, claimsFor(RSA_ISS), attackerRsa),
          "invalid_signature",
          NOT_VERIFIED,
        );
      }
      const header = { alg: "RS256", kid: "attacker", [name]: url };
      await refused(
        await sign("RS256", header, claimsFor(RSA_ISS), attackerRsa),
        "unknown_key",
        unknownKey("attacker"),
      );
    }
    // An x5c chain is ignored the same way.
    const x5c = await sign(
      "RS256",
      { alg: "RS256", x5c: [b64url("not a certificate").replace(/-/g, "+")] },
      claimsFor(RSA_ISS),
      attackerRsa,
    );
    await refused(x5c, "invalid_signature", NOT_VERIFIED);
    assert.deepEqual(mock.urls(), []);
  });
});

describe("hostile kid values", () => {
  test("a path ../../x: unknown_key", async () => {
    for (const kid of [
      "../../x",
      "../../../../etc/passwd",
      "/dev/null",
      "file:///etc/passwd",
      "http://127.0.0.1:9/k",
    ]) {
      await refused(await rs({}, { kid }), "unknown_key", unknownKey(kid));
    }
  });

  test("an SQL fragment: unknown_key, quoted safely in the challenge", async () => {
    const kid = "x' OR '1'='1'; DROP TABLE keys; --\"";
    await refused(await rs({}, { kid }), "unknown_key", `no key with kid ${JSON.stringify(kid)}`);
  });

  test("CR LF and other control characters: unknown_key, never in a header", async () => {
    const kid = "k\r\nSet-Cookie: session=stolen\u0000\u00e9";
    const res = await get(await rs({}, { kid }));
    // Rust's {:?} escapes the control characters in the message.
    await assertRejected(
      res,
      "unknown_key",
      'no key with kid "k\\r\\nSet-Cookie: session=stolen\\0é"',
    );
    assert.equal(res.headers.get("set-cookie"), null);
  });

  test("a 10 KB kid: token_too_large, before anything is decoded", async () => {
    const jwt = await rs({}, { kid: "k".repeat(10 * 1024) });
    await refused(jwt, "token_too_large", `token is ${jwt.length} bytes, the limit is 8192`);
  });

  test("a 5 KB kid (under the size limit): unknown_key, echoed only in part", async () => {
    await refused(
      await rs({}, { kid: "k".repeat(5 * 1024) }),
      "unknown_key",
      unknownKey(`${"k".repeat(64)}…`),
    );
  });

  test("a kid that is a number, null, an object or an array: malformed_token", async () => {
    for (const kid of [7, 0, null, { $ne: null }, ["rsa-1"], true]) {
      await refused(
        await rs({}, { kid }),
        "malformed_token",
        "token is malformed: header kid must be a string",
      );
    }
  });

  test("an empty kid or a kid of another case: unknown_key", async () => {
    for (const kid of ["", "RSA-1", "rsa-1 ", " rsa-1"]) {
      await refused(await rs({}, { kid }), "unknown_key", unknownKey(kid));
    }
  });
});

describe("signature encodings", () => {
  const es = (header = {}) =>
    sign("ES256", { alg: "ES256", typ: "JWT", kid: "ec-1", ...header }, claimsFor(EC_ISS), ec);

  test("ES256 signature of 64 zero bytes, or with r or s zero: invalid_signature", async () => {
    const valid = await es();
    await accepted(valid);
    const sig = Buffer.from(segments(valid).signature, "base64url");
    const zeroR = Buffer.concat([Buffer.alloc(32), sig.subarray(32)]);
    const zeroS = Buffer.concat([sig.subarray(0, 32), Buffer.alloc(32)]);
    for (const bytes of [Buffer.alloc(64), zeroR, zeroS]) {
      await refused(withSignature(valid, bytes), "invalid_signature", NOT_VERIFIED);
    }
  });

  test("a DER-encoded ES256 signature: invalid_signature", async () => {
    const valid = await es();
    const encoded = der(Buffer.from(segments(valid).signature, "base64url"));
    assert.ok(encoded.length >= 68 && encoded.length <= 72 && encoded[0] === 0x30);
    await refused(withSignature(valid, encoded), "invalid_signature", NOT_VERIFIED);
  });

  test("ES256 and EdDSA signatures one byte short or long, EdDSA of zeros: invalid_signature", async () => {
    const valid = await es();
    const sig = Buffer.from(segments(valid).signature, "base64url");
    await refused(withSignature(valid, sig.subarray(0, 63)), "invalid_signature", NOT_VERIFIED);
    await refused(
      withSignature(valid, Buffer.concat([sig, Buffer.from([0])])),
      "invalid_signature",
      NOT_VERIFIED,
    );
    const edToken = await sign("EdDSA", { alg: "EdDSA", kid: "ed-1" }, claimsFor(ED_ISS), ed);
    await accepted(edToken);
    const edSig = Buffer.from(segments(edToken).signature, "base64url");
    for (const bytes of [
      Buffer.alloc(64),
      edSig.subarray(1),
      Buffer.concat([edSig, Buffer.from([0])]),
    ]) {
      await refused(withSignature(edToken, bytes), "invalid_signature", NOT_VERIFIED);
    }
  });

  test("RS256 signature with a leading zero byte, truncated, or of another key: invalid_signature", async () => {
    const valid = await rs();
    const sig = Buffer.from(segments(valid).signature, "base64url");
    for (const bytes of [
      Buffer.concat([Buffer.from([0]), sig]),
      sig.subarray(1),
      Buffer.from([1]),
    ]) {
      await refused(withSignature(valid, bytes), "invalid_signature", NOT_VERIFIED);
    }
    await refused(
      await sign("RS256", { alg: "RS256", kid: "rsa-1" }, claimsFor(RSA_ISS), attackerRsa),
      "invalid_signature",
      NOT_VERIFIED,
    );
  });

  test("a bad base64 signature: malformed_token", async () => {
    const valid = await rs();
    const { header, payload, signature: sig } = segments(valid);
    // '~' is allowed in a bearer token but is not base64url.
    await refused(
      `${header}.${payload}.~${sig.slice(1)}`,
      "malformed_token",
      "token is malformed: signature is not base64url (bad character at offset 0)",
    );
    // 4n+1 characters cannot encode whole bytes.
    const cut = sig.slice(0, 337);
    await refused(
      `${header}.${payload}.${cut}`,
      "malformed_token",
      "token is malformed: signature has an impossible length",
    );
    // The same bytes spelt with the unused low bits of the last character set: a second
    // spelling of one signature would make tokens malleable.
    assert.equal(sig.length, 342);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(sig.at(-1));
    assert.equal(last & 0x0f, 0);
    const twin = `${header}.${payload}.${sig.slice(0, -1)}${alphabet[last | 0x01]}`;
    assert.deepEqual(
      Buffer.from(segments(twin).signature, "base64url"),
      Buffer.from(sig, "base64url"),
    );
    await refused(
      twin,
      "malformed_token",
      "token is malformed: signature is not canonical base64url",
    );
    await refused(
      `${header}.${payload}.`,
      "malformed_token",
      "token is malformed: signature is empty",
    );
    await accepted(valid);
  });
});

describe("refused header parameters", () => {
  test("crit listing an unknown extension: unsupported_header", async () => {
    for (const extra of [
      { crit: ["urn:example:unknown"], "urn:example:unknown": true },
      { crit: ["exp"] },
      { crit: [] },
    ]) {
      await refused(
        await rs({}, extra),
        "unsupported_header",
        'header parameter "crit" is not supported',
      );
    }
  });

  test("b64: false (unencoded payload): unsupported_header", async () => {
    await refused(
      await rs({}, { b64: false }),
      "unsupported_header",
      'header parameter "b64" is not supported',
    );
    await refused(
      await rs({}, { b64: true }),
      "unsupported_header",
      'header parameter "b64" is not supported',
    );
    await refused(
      await rs({}, { b64: false, crit: ["b64"] }),
      "unsupported_header",
      'header parameter "crit" is not supported',
    );
  });

  test("a nested token with cty JWT: unsupported_header", async () => {
    const inner = await rs();
    // The outer token's payload is the inner token, as RFC 7519 §5.2 nests them.
    const input = `${b64url({ alg: "RS256", kid: "rsa-1", cty: "JWT" })}.${b64url(inner)}`;
    const nested = `${input}.${b64url(await signature("RS256", input, rsa))}`;
    await refused(nested, "unsupported_header", 'header parameter "cty" is not supported');
    for (const cty of ["JWT", "jwt", "application/json"]) {
      await refused(
        await rs({}, { cty }),
        "unsupported_header",
        'header parameter "cty" is not supported',
      );
    }
  });

  test("typ absent, JWT, at+jwt or application/at+jwt: accepted", async () => {
    await accepted(await sign("RS256", { alg: "RS256", kid: "rsa-1" }, claimsFor(RSA_ISS), rsa));
    for (const typ of ["JWT", "at+jwt", "application/at+jwt"])
      await accepted(await rs({}, { typ }));
  });

  test("typ spelt as the same media types (RFC 7515 §4.1.9: case-insensitive, application/ optional): accepted", async () => {
    for (const typ of ["jwt", "application/jwt", "AT+JWT", "Application/At+Jwt"])
      await accepted(await rs({}, { typ }));
  });

  test("any other typ: unsupported_token_type", async () => {
    for (const typ of [
      "JOSE",
      "JOSE+JSON",
      "JWS",
      "dpop+jwt",
      "secevent+jwt",
      "logout+jwt",
      "id_token+jwt",
      "",
      " JWT",
      "JWT ",
      "at+jwt;x=1",
      "none",
    ]) {
      const message = `typ ${JSON.stringify(typ)} is not a JWT type; expected JWT, at+jwt or application/at+jwt`;
      await refused(await rs({}, { typ }), "unsupported_token_type", message);
    }
    for (const typ of [null, 1, ["JWT"]]) {
      await refused(
        await rs({}, { typ }),
        "malformed_token",
        "token is malformed: header typ must be a string",
      );
    }
  });
});

describe("claims", () => {
  const exp = () => nowSeconds() + 600;

  test("exp as a string, null, a boolean or missing: invalid_claim", async () => {
    const found = (kind) => `exp must be a NumericDate (a number of seconds), found ${kind}`;
    await refused(await rs({ exp: String(exp()) }), "invalid_claim", found("a string"));
    await refused(await rs({ exp: null }), "invalid_claim", found("null"));
    await refused(await rs({ exp: true }), "invalid_claim", found("a boolean"));
    await refused(await rs({ exp: [exp()] }), "invalid_claim", found("an array"));
    await refused(
      await raw('{"alg":"RS256","kid":"rsa-1"}', claimsText("}")),
      "invalid_claim",
      "token has no exp claim",
    );
  });

  test("exp 0 (and negative): token_expired", async () => {
    await refused(await rs({ exp: 0 }), "token_expired", "token has expired");
    await refused(await rs({ exp: -1e300 }), "token_expired", "token has expired");
  });

  test("exp 1e400 (written by hand, overflows a double): malformed_token", async () => {
    for (const value of ["1e400", "-1e400", "1E+400"]) {
      const jwt = await raw('{"alg":"RS256","kid":"rsa-1"}', claimsText(`,"exp":${value}}`));
      await refused(
        jwt,
        "malformed_token",
        /^token is malformed: claims is not valid JSON: number out of range at line 1 column \d+$/,
      );
    }
  });

  test("exp as a huge but finite number or a fraction: accepted", async () => {
    await accepted(await raw('{"alg":"RS256","kid":"rsa-1"}', claimsText(`,"exp":1e300}`)));
    await accepted(await rs({ exp: nowSeconds() + 600.5 }));
  });

  test("nbf or iat as a string or null: invalid_claim", async () => {
    for (const name of ["nbf", "iat"]) {
      const found = (kind) => `${name} must be a NumericDate (a number of seconds), found ${kind}`;
      await refused(await rs({ [name]: String(nowSeconds()) }), "invalid_claim", found("a string"));
      await refused(await rs({ [name]: null }), "invalid_claim", found("null"));
    }
  });

  test(`leeway boundaries (AUTH_LEEWAY ${LEEWAY}), one second either side`, async () => {
    // Fractional seconds: the worker's clock is a little behind the moment it judges the
    // token, never ahead of it.
    const now = () => Date.now() / 1000;
    await refused(await rs({ exp: now() - LEEWAY - 1 }), "token_expired", "token has expired");
    await accepted(await rs({ exp: now() - LEEWAY + 1 }));
    await refused(
      await rs({ nbf: now() + LEEWAY + 1 }),
      "token_not_yet_valid",
      "token is not valid yet (nbf)",
    );
    await accepted(await rs({ nbf: now() + LEEWAY - 1 }));
    await refused(
      await rs({ iat: now() + LEEWAY + 1 }),
      "token_not_yet_valid",
      "token is not valid yet (iat)",
    );
    await accepted(await rs({ iat: now() + LEEWAY - 1 }));
  });

  test("a remembered (already verified) token still expires at exp + leeway", async () => {
    const exp = Date.now() / 1000 - LEEWAY + 1.5;
    const jwt = await rs({ exp });
    await accepted(jwt);
    await accepted(jwt); // the signature check is skipped this time
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, (exp + LEEWAY) * 1000 - Date.now()) + 200),
    );
    await refused(jwt, "token_expired", "token has expired");
  });

  test("aud with a trailing space, another case, or not ours: invalid_audience", async () => {
    for (const aud of [
      `${AUDIENCE} `,
      ` ${AUDIENCE}`,
      AUDIENCE.toUpperCase(),
      `${AUDIENCE}/`,
      "",
    ]) {
      await refused(
        await rs({ aud }),
        "invalid_audience",
        `audience [${JSON.stringify(aud)}] is not accepted`,
      );
    }
    await refused(
      await rs({ aud: ["a", `${AUDIENCE} `] }),
      "invalid_audience",
      `audience ["a", "${AUDIENCE} "] is not accepted`,
    );
    await refused(await rs({ aud: [] }), "invalid_audience", "audience [] is not accepted");
  });

  test("aud missing when the provider has an audience: missing_audience, on /whoami and on the optional /echo", async () => {
    const { aud: _aud, ...rest } = claimsFor(RSA_ISS);
    const jwt = await sign("RS256", { alg: "RS256", kid: "rsa-1" }, rest, rsa);
    await refused(jwt, "missing_audience", "token has no aud claim and this issuer requires one");
    const nullAud = await rs({ aud: null });
    await refused(
      nullAud,
      "invalid_claim",
      "aud must be a string or an array of strings, found null",
    );
  });

  test("aud as an array containing ours: accepted", async () => {
    const identity = await accepted(await rs({ aud: ["https://other.api", AUDIENCE] }));
    assert.deepEqual(identity.aud, ["https://other.api", AUDIENCE]);
  });

  test("aud holding a non-string: invalid_claim", async () => {
    await refused(
      await rs({ aud: [AUDIENCE, 5] }),
      "invalid_claim",
      "aud array must hold only strings",
    );
    await refused(
      await rs({ aud: { [AUDIENCE]: true } }),
      "invalid_claim",
      "aud must be a string or an array of strings, found an object",
    );
  });

  test("sub or iss missing, empty or not a string: invalid_claim / unknown_issuer", async () => {
    await refused(await rs({ sub: "" }), "invalid_claim", "sub is empty");
    await refused(await rs({ sub: 42 }), "invalid_claim", "sub must be a string, found a number");
    await refused(
      await rs({ iss: [RSA_ISS] }),
      "invalid_claim",
      "iss must be a string, found an array",
    );
    await refused(
      await rs({ iss: `${RSA_ISS}/` }),
      "unknown_issuer",
      `issuer "${RSA_ISS}/" is not configured`,
    );
  });
});

describe("ambiguous JSON", () => {
  const exp = () => nowSeconds() + 600;

  test('duplicate "alg" in the header JSON: malformed_token', async () => {
    for (const header of [
      '{"alg":"RS256","alg":"none","kid":"rsa-1"}',
      '{"alg":"none","alg":"RS256","kid":"rsa-1"}',
      '{"alg":"HS256","kid":"rsa-1","alg":"RS256"}',
    ]) {
      await refused(
        await raw(header, JSON.stringify(claimsFor(RSA_ISS))),
        "malformed_token",
        /^token is malformed: header is not valid JSON: duplicate member "alg" at line 1 column \d+$/,
      );
    }
    await refused(
      await raw(
        '{"alg":"RS256","kid":"rsa-1","kid":"attacker"}',
        JSON.stringify(claimsFor(RSA_ISS)),
      ),
      "malformed_token",
      /duplicate member "kid"/,
    );
  });

  test('duplicate "sub" in the claims JSON: malformed_token', async () => {
    for (const name of ["sub", "iss", "aud", "exp"]) {
      const text = claimsText(
        `,"exp":${exp()},"${name}":${name === "exp" ? exp() : JSON.stringify(name === "iss" ? RSA_ISS : name === "aud" ? AUDIENCE : "admin")}}`,
      );
      await refused(
        await raw('{"alg":"RS256","kid":"rsa-1"}', text),
        "malformed_token",
        new RegExp(
          `^token is malformed: claims is not valid JSON: duplicate member "${name}" at line 1 column \\d+$`,
        ),
      );
    }
  });

  test("a duplicate spelt with a \\u escape is still a duplicate; an escaped none is still none", async () => {
    await refused(
      await raw(
        '{"alg":"RS256","\\u0061lg":"none","kid":"rsa-1"}',
        JSON.stringify(claimsFor(RSA_ISS)),
      ),
      "malformed_token",
      /^token is malformed: header is not valid JSON: duplicate member "alg" at line 1 column \d+$/,
    );
    await refused(
      await raw('{"\\u0061lg":"\\u006eone","kid":"rsa-1"}', JSON.stringify(claimsFor(RSA_ISS))),
      "unsupported_algorithm",
      `alg "none" is not supported; ${SUPPORTED}`,
    );
    await refused(
      await raw(
        '{"alg":"RS256","kid":"rsa-1"}',
        claimsText(`,"exp":${exp()},"\\u0073ub":"admin"}`),
      ),
      "malformed_token",
      /^token is malformed: claims is not valid JSON: duplicate member "sub" at line 1 column \d+$/,
    );
  });

  test("deeply nested claims, invalid UTF-8, a lone surrogate: malformed_token, never a 500", async () => {
    const deep = (open, close, depth) =>
      claimsText(`,"exp":${exp()},"x":${open.repeat(depth)}1${close.repeat(depth)}}`);
    for (const text of [deep("[", "]", 2000), deep('{"a":', "}", 600)]) {
      await refused(
        await raw('{"alg":"RS256","kid":"rsa-1"}', text),
        "malformed_token",
        /^token is malformed: claims is not valid JSON: recursion limit exceeded at line 1 column \d+$/,
      );
    }
    await refused(
      await raw(
        `{"alg":"RS256","kid":"rsa-1","x":${"[".repeat(1000)}${"]".repeat(1000)}}`,
        JSON.stringify(claimsFor(RSA_ISS)),
      ),
      "malformed_token",
      /^token is malformed: header is not valid JSON: recursion limit exceeded/,
    );
    // Nesting the parser accepts is passed through to the identity.
    const identity = await accepted(
      await raw('{"alg":"RS256","kid":"rsa-1"}', deep("[", "]", 100)),
    );
    assert.equal(JSON.stringify(identity.x), `${"[".repeat(100)}1${"]".repeat(100)}`);

    const input = `${b64url({ alg: "RS256", kid: "rsa-1" })}.${b64url(Buffer.concat([Buffer.from(claimsText(`,"exp":${exp()},"name":"`)), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]))}`;
    await refused(
      `${input}.${b64url(await signature("RS256", input, rsa))}`,
      "malformed_token",
      /^token is malformed: claims is not valid JSON: invalid unicode code point/,
    );
    await refused(
      await raw('{"alg":"RS256","kid":"rsa-1"}', claimsText(`,"exp":${exp()},"name":"\\ud800"}`)),
      "malformed_token",
      /^token is malformed: claims is not valid JSON: /,
    );
  });

  test("claims that are null, an array, a string or a number: malformed_token", async () => {
    for (const [text, kind] of [
      ["null", "null"],
      [`[${JSON.stringify(claimsFor(RSA_ISS))}]`, "an array"],
      ['"user-1"', "a string"],
      ["7", "a number"],
      ["true", "a boolean"],
    ]) {
      await refused(
        await raw('{"alg":"RS256","kid":"rsa-1"}', text),
        "malformed_token",
        `token is malformed: claims must be a JSON object, found ${kind}`,
      );
    }
  });

  test("a header that is not a JSON object, or trailing data after the claims: malformed_token", async () => {
    await refused(
      await raw('["RS256"]', JSON.stringify(claimsFor(RSA_ISS))),
      "malformed_token",
      "token is malformed: header must be a JSON object, found an array",
    );
    await refused(
      await raw(
        '{"alg":"RS256","kid":"rsa-1"}',
        `${JSON.stringify(claimsFor(RSA_ISS))}{"sub":"admin"}`,
      ),
      "malformed_token",
      /^token is malformed: claims is not valid JSON: trailing characters/,
    );
    await refused(
      await raw('{"alg":"RS256","kid":"rsa-1"}', JSON.stringify(claimsFor(RSA_ISS)).slice(0, -1)),
      "malformed_token",
      /^token is malformed: claims is not valid JSON: EOF while parsing an object at line 1 column \d+$/,
    );
  });
});

describe("token structure", () => {
  test("two, four and five segments: malformed_token", async () => {
    const { header, payload, signature: sig } = segments(await rs());
    for (const [jwt, count] of [
      [`${header}.${payload}`, 2],
      [`${header}.${payload}.${sig}.${sig}`, 4],
      [`${header}.${payload}.${sig}.`, 4],
      [`${header}.${payload}.${sig}.x.y`, 5],
      [`${header}`, 1],
    ]) {
      await refused(
        jwt,
        "malformed_token",
        `token is malformed: expected 3 dot-separated segments, found ${count}`,
      );
    }
  });

  test("+ or / in a segment (standard base64): malformed_token", async () => {
    const valid = await rs({ pad: "\u00ff\u00fe\u00fd>>?" });
    const { header, payload, signature: sig } = segments(valid);
    const standard = (text) => text.replace(/-/g, "+").replace(/_/g, "/");
    assert.match(payload, /[-_]/, "the payload has a character that differs in standard base64");
    const p = standard(payload);
    await refused(
      `${header}.${p}.${sig}`,
      "malformed_token",
      `token is malformed: payload is not base64url (bad character at offset ${p.search(/[+/]/)})`,
    );
    const s = standard(sig);
    assert.match(sig, /[-_]/);
    await refused(
      `${header}.${payload}.${s}`,
      "malformed_token",
      `token is malformed: signature is not base64url (bad character at offset ${s.search(/[+/]/)})`,
    );
    await accepted(valid);
  });

  test("= padding: at the end malformed_token, inside the token invalid_authorization_header", async () => {
    const { header, payload, signature: sig } = segments(await rs());
    await refused(
      `${header}.${payload}.${sig}==`,
      "malformed_token",
      "token is malformed: signature is not base64url (bad character at offset 342)",
    );
    const inside = `${header}=.${payload}.${sig}`;
    await assertBadHeader(
      await get(inside),
      "expected `Authorization: Bearer <token>`, found '=' inside the token, where only trailing padding may stand",
    );
  });

  test("whitespace inside the token: invalid_authorization_header", async () => {
    const jwt = await rs();
    const at = jwt.indexOf(".") + 5;
    const TAB = "expected `Authorization: Bearer <token>`, found a tab, which may neither follow the scheme nor stand in a token";
    for (const ws of [" ", "\t", "  "]) {
      const spaced = `${jwt.slice(0, at)}${ws}${jwt.slice(at)}`;
      const message =
        ws === "\t" ? TAB : "expected `Authorization: Bearer <token>`, found more than one token";
      await assertBadHeader(await get(spaced), message);
      await assertBadHeader(await get(spaced, "/echo"), message);
    }
  });

  test("an 80 KB Authorization header: token_too_large from the worker", async () => {
    const jwt = await rs({ pad: "p".repeat(60 * 1024) });
    assert.ok(jwt.length > 80 * 1024);
    await refused(jwt, "token_too_large", `token is ${jwt.length} bytes, the limit is 8192`);
  });

  test("a 1 MB Authorization header: the runtime answers 431 itself, never a 500", async () => {
    const jwt = await rs({ pad: "p".repeat(768 * 1024) });
    assert.ok(jwt.length > 1024 * 1024);
    const headers = { Authorization: `Bearer ${jwt}` };
    for (const [path, init] of [
      ["/whoami", {}],
      ["/echo", { method: "POST" }],
      ["/health", {}],
    ]) {
      const res = await worker.fetch(path, { ...init, headers });
      const text = await res.text();
      // workerd's HTTP server refuses the request head before the worker runs.
      assert.equal(res.status, 431, `${path}: ${text}`);
      assert.equal(text, "ERROR: header too large.");
      assert.equal(res.headers.get("www-authenticate"), null);
    }
    // With a request body, workerd may close the connection while the body is still being
    // sent: the client then sees a reset instead of the 431. Either way, no 5xx.
    for (let i = 0; i < 3; i += 1) {
      try {
        const res = await worker.fetch("/echo", { method: "POST", body: "attack", headers });
        assert.equal(res.status, 431, await res.text());
      } catch (err) {
        assert.equal(err.cause?.code, "ECONNRESET", `${err.message}: ${err.cause?.message}`);
      }
    }
    // The isolate is unharmed.
    await accepted(await rs());
  });
});

test("none of these tokens made the worker fetch anything", () => {
  assert.deepEqual(mock.urls(), []);
});
