// Test key material and token minting, made fresh in every test run (nothing here is
// ever written to disk or committed).
//
//   const rsa = await rsaKey("rsa-1");            // RS256 and PS256
//   const ec = await ecKey("ec-1");               // ES256
//   const ed = await ed25519Key("ed-1");          // EdDSA
//   const secret = hs256Secret();                 // HS256, the text of a secret binding
//   const token = await sign("RS256", { alg: "RS256", kid: rsa.kid }, claims({ iss, sub }), rsa);
//   const AUTH_PROVIDERS = providersBinding({ issuer, audience, keys: [rsa] }, { issuer, secret: "NAME" });
//
// `sign` uses `header` and `claims` exactly as given (objects are JSON-encoded, strings are
// taken as the JSON text itself), so tests can craft tokens no honest issuer would make:
// `alg: "none"`, a header that names another algorithm than the one signing, duplicate
// members, and so on.
import { randomBytes, webcrypto } from "node:crypto";

const { subtle } = webcrypto;

/** Unpadded base64url of bytes, of a string's UTF-8, or of an object's JSON. */
export function b64url(value) {
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
    return Buffer.from(value).toString("base64url");
  }
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return Buffer.from(text, "utf8").toString("base64url");
}

/** The current time in whole Unix seconds. */
export function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

/** Claims with `iat` = now and `exp` = now + 600, `overrides` merged over them last. */
export function claims(overrides = {}) {
  const iat = nowSeconds();
  return { iat, exp: iat + 600, ...overrides };
}

/** Web Crypto import parameters of each JWS algorithm, for signing keys. */
const IMPORT = {
  RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  PS256: { name: "RSA-PSS", hash: "SHA-256" },
  ES256: { name: "ECDSA", namedCurve: "P-256" },
  EdDSA: { name: "Ed25519" },
  HS256: { name: "HMAC", hash: "SHA-256" },
};

/** Web Crypto `sign` parameters of each JWS algorithm (RFC 7518 §3, RFC 8037 §3.1). */
const SIGN = {
  RS256: { name: "RSASSA-PKCS1-v1_5" },
  // RFC 7518 §3.5: the salt is as long as the hash.
  PS256: { name: "RSA-PSS", saltLength: 32 },
  // Web Crypto's ECDSA signature is already the JWS form, r || s (64 bytes).
  ES256: { name: "ECDSA", hash: "SHA-256" },
  EdDSA: { name: "Ed25519" },
  HS256: { name: "HMAC" },
};

/** Which algorithms each key type can sign. */
const FAMILY = { RSA: ["RS256", "PS256"], EC: ["ES256"], OKP: ["EdDSA"] };

/** A generated asymmetric key pair: the private JWK stays in memory only. */
export class KeyPair {
  constructor(kid, privateJwk, publicJwk) {
    this.kid = kid;
    this.privateJwk = privateJwk;
    this.publicJwk = publicJwk;
    this.signingKeys = new Map();
  }

  /** The algorithms this key can sign. */
  get algorithms() {
    return FAMILY[this.publicJwk.kty];
  }

  /** The public JWK with `kid` (and `use: "sig"`), `extra` members merged over it. */
  jwk(extra = {}) {
    return { ...this.publicJwk, kid: this.kid, use: "sig", ...extra };
  }

  /** The private key imported for `alg` (RSA keys sign both RS256 and PS256). */
  async signingKey(alg) {
    if (!this.algorithms.includes(alg)) {
      throw new Error(`a ${this.publicJwk.kty} key cannot sign ${alg}`);
    }
    let key = this.signingKeys.get(alg);
    if (!key) {
      const { alg: _alg, key_ops: _ops, ext: _ext, ...jwk } = this.privateJwk;
      key = await subtle.importKey("jwk", jwk, IMPORT[alg], false, ["sign"]);
      this.signingKeys.set(alg, key);
    }
    return key;
  }
}

/** The public members of a JWK, in the plain form a provider's JWKS publishes. */
function publicMembers(jwk) {
  switch (jwk.kty) {
    case "RSA":
      return { kty: "RSA", n: jwk.n, e: jwk.e };
    case "EC":
      return { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y };
    case "OKP":
      return { kty: "OKP", crv: jwk.crv, x: jwk.x };
    default:
      throw new Error(`unexpected kty ${jwk.kty}`);
  }
}

async function generate(kid, params) {
  const pair = await subtle.generateKey(params, true, ["sign", "verify"]);
  const privateJwk = await subtle.exportKey("jwk", pair.privateKey);
  const publicJwk = publicMembers(await subtle.exportKey("jwk", pair.publicKey));
  return new KeyPair(kid, privateJwk, publicJwk);
}

/** A fresh RSA-2048 key pair (e = 65537), for RS256 and PS256. */
export function rsaKey(kid) {
  return generate(kid, {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  });
}

/** A fresh P-256 key pair, for ES256. */
export function ecKey(kid) {
  return generate(kid, { name: "ECDSA", namedCurve: "P-256" });
}

/** A fresh Ed25519 key pair, for EdDSA. */
export function ed25519Key(kid) {
  return generate(kid, { name: "Ed25519" });
}

/**
 * A fresh HS256 secret, as the text of a secret binding. The worker uses the binding's
 * UTF-8 bytes as the key, and so does `sign`: 43 characters, i.e. 43 bytes (≥ 32).
 */
export function hs256Secret() {
  return randomBytes(32).toString("base64url");
}

function secretBytes(key) {
  if (typeof key === "string") return Buffer.from(key, "utf8");
  if (key instanceof Uint8Array) return key;
  throw new Error("HS256 needs the secret as a string or bytes");
}

/** The raw signature over `input` (a string) with `alg` and `key`. */
export async function signature(alg, input, key) {
  const data = Buffer.from(input, "ascii");
  if (alg === "none") return new Uint8Array(0);
  if (!(alg in SIGN)) throw new Error(`cannot sign with ${alg}`);
  let cryptoKey;
  if (alg === "HS256") {
    cryptoKey = await subtle.importKey("raw", secretBytes(key), IMPORT.HS256, false, ["sign"]);
  } else if (key instanceof KeyPair) {
    cryptoKey = await key.signingKey(alg);
  } else {
    throw new Error(`${alg} needs a KeyPair`);
  }
  return new Uint8Array(await subtle.sign(SIGN[alg], cryptoKey, data));
}

/**
 * A compact JWS: BASE64URL(header) "." BASE64URL(claims) "." BASE64URL(signature), the
 * signature made with `alg` and `key` whatever the header says. `alg` "none" gives an empty
 * signature segment.
 */
export async function sign(alg, header, claimSet, key) {
  const input = `${b64url(header)}.${b64url(claimSet)}`;
  return `${input}.${b64url(await signature(alg, input, key))}`;
}

/** Splits a compact token into its three segments. */
export function segments(token) {
  const [header, payload, sig] = token.split(".");
  return { header, payload, signature: sig };
}

/**
 * The text of an `AUTH_PROVIDERS` binding. Each provider is written as given, except that
 * `keys` (KeyPairs or plain JWK objects) becomes `jwks: {keys: [...public JWKs]}`.
 */
export function providersBinding(...providers) {
  const list = providers.flat().map(({ keys, ...provider }) => {
    if (keys === undefined) return provider;
    const jwks = { keys: keys.map((key) => (key instanceof KeyPair ? key.jwk() : key)) };
    return { ...provider, jwks };
  });
  return JSON.stringify(list);
}
