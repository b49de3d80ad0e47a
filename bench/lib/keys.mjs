// Test keys and tokens, made fresh on every run with node:crypto (nothing is stored).
//
// One JWKS provider (RS256, ES256 and EdDSA keys, each with its own kid) and one HS256
// provider whose secret lives in a separate text binding. Every worker gets the same
// configuration, produced by `bindings()`.
import { createHmac, generateKeyPairSync, randomBytes, randomUUID, sign } from "node:crypto";

export const JWKS_ISSUER = "https://idp.sitegate-bench.invalid";
export const HS256_ISSUER = "https://hs256.sitegate-bench.invalid";
export const AUDIENCE = "sitegate-bench";
export const SECRET_BINDING = "BENCH_HS256_SECRET";
export const ORIGIN = "http://app.sitegate-bench.test";
export const ALGORITHMS = ["RS256", "ES256", "EdDSA", "HS256"];

const b64url = (data) => Buffer.from(data).toString("base64url");

/** Generates the key material. */
export function makeKeys() {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 0x10001 });
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const ed = generateKeyPairSync("ed25519");
  // 32 random bytes as base64url text (43 bytes): the secret is the text's bytes.
  const secret = randomBytes(32).toString("base64url");

  const jwk = (pair, alg, kid) => ({
    ...pair.publicKey.export({ format: "jwk" }),
    kid,
    alg,
    use: "sig",
  });
  const signers = {
    RS256: { kid: "bench-rs256", sign: (data) => sign("sha256", data, rsa.privateKey) },
    ES256: {
      kid: "bench-es256",
      sign: (data) => sign("sha256", data, { key: ec.privateKey, dsaEncoding: "ieee-p1363" }),
    },
    EdDSA: { kid: "bench-ed25519", sign: (data) => sign(null, data, ed.privateKey) },
    HS256: {
      kid: undefined,
      sign: (data) => createHmac("sha256", Buffer.from(secret, "utf8")).update(data).digest(),
    },
  };
  const jwks = {
    keys: [
      jwk(rsa, "RS256", "bench-rs256"),
      jwk(ec, "ES256", "bench-es256"),
      jwk(ed, "EdDSA", "bench-ed25519"),
    ],
  };
  return { jwks, secret, signers };
}

/** The bindings every worker gets (sitegate reads all of them; the Hono peer the same ones). */
export function bindings(keys) {
  const providers = [
    {
      issuer: JWKS_ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256", "ES256", "EdDSA"],
      jwks: keys.jwks,
    },
    { issuer: HS256_ISSUER, audience: AUDIENCE, secret: SECRET_BINDING },
  ];
  return {
    CORS_ALLOWED_ORIGINS: `${ORIGIN}, http://localhost:5173`,
    CORS_ALLOWED_HEADERS: "Content-Type, Authorization",
    CORS_MAX_AGE: "86400",
    AUTH_LEEWAY: "60",
    AUTH_PROVIDERS: JSON.stringify(providers),
    [SECRET_BINDING]: keys.secret,
  };
}

/**
 * A signed JWT for `alg`. `n` makes the subject and jti distinct, so every token of a pool
 * is a different string with a different signature.
 */
export function token(keys, alg, n, { lifetime = 4 * 3600, badSignature = false } = {}) {
  const signer = keys.signers[alg];
  const now = Math.floor(Date.now() / 1000);
  const header = { alg, typ: "JWT", ...(signer.kid ? { kid: signer.kid } : {}) };
  const claims = {
    iss: alg === "HS256" ? HS256_ISSUER : JWKS_ISSUER,
    sub: `user-${n}`,
    aud: AUDIENCE,
    iat: now,
    exp: now + lifetime,
    jti: randomUUID(),
    name: `Bench User ${n}`,
    email: `user-${n}@sitegate-bench.test`,
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = Buffer.from(signer.sign(Buffer.from(input)));
  if (badSignature) signature[signature.length - 1] ^= 0x01;
  return `${input}.${b64url(signature)}`;
}

/** `count` distinct valid tokens for `alg`. */
export function pool(keys, alg, count) {
  const tokens = new Array(count);
  for (let i = 0; i < count; i++) tokens[i] = token(keys, alg, i + 1);
  return tokens;
}
