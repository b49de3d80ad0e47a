// The Hono peer: the same job as sitegate, written the way a Hono app would do it.
//
//   GET /health  -> {"ok":true}
//   GET /whoami  -> bearer JWT required -> identity JSON (sitegate's shape)
//   anything else -> 404 JSON
//
// CORS is hono's `cors` middleware. Tokens are verified with jose: `createLocalJWKSet` over
// the provider's inline JWKS (imported CryptoKeys are cached per JWK by jose), and for
// HS256 a CryptoKey imported once from the secret binding. Issuer, audience, algorithms,
// exp (required) and the leeway are checked as sitegate checks them. The configuration is
// read from the same bindings sitegate reads: CORS_ALLOWED_ORIGINS, CORS_ALLOWED_HEADERS,
// CORS_MAX_AGE, AUTH_PROVIDERS (+ the HS256 secret binding it names), AUTH_LEEWAY.
import { Hono } from "hono";
import { cors } from "hono/cors";
import { createLocalJWKSet, decodeJwt, jwtVerify } from "jose";

const list = (text) =>
  String(text ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);

/** Per-isolate state, built from the bindings on the first request (as sitegate does). */
let state;

async function setup(env) {
  const providers = new Map();
  for (const spec of JSON.parse(env.AUTH_PROVIDERS || "[]")) {
    let key;
    let algorithms = spec.algorithms;
    if (spec.secret) {
      const secret = new TextEncoder().encode(env[spec.secret]);
      key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, [
        "verify",
      ]);
      algorithms = ["HS256"];
    } else {
      key = createLocalJWKSet(spec.jwks);
    }
    providers.set(spec.issuer, {
      key,
      options: {
        issuer: spec.issuer,
        audience: spec.audience,
        algorithms,
        clockTolerance: Number(env.AUTH_LEEWAY ?? 60),
        requiredClaims: ["exp", "sub"],
      },
    });
  }
  return {
    providers,
    cors: cors({
      origin: list(env.CORS_ALLOWED_ORIGINS),
      allowHeaders: list(env.CORS_ALLOWED_HEADERS ?? "Content-Type, Authorization"),
      allowMethods: ["GET", "HEAD", "POST"],
      maxAge: Number(env.CORS_MAX_AGE ?? 86400),
    }),
  };
}

// OpenID standard claims and the identity fields they become (sitegate's mapping).
const STANDARD = {
  name: "name",
  given_name: "givenName",
  family_name: "familyName",
  nickname: "nickname",
  preferred_username: "preferredUsername",
  profile: "profileUrl",
  picture: "pictureUrl",
  email: "email",
  email_verified: "emailVerified",
  gender: "gender",
  birthdate: "birthday",
  zoneinfo: "timezone",
  locale: "language",
  phone_number: "phoneNumber",
  phone_number_verified: "phoneNumberVerified",
  address: "address",
  updated_at: "updatedAt",
};

function identity(claims) {
  const out = {
    tokenIdentifier: `${claims.iss}|${claims.sub}`,
    subject: claims.sub,
    issuer: claims.iss,
  };
  for (const [claim, value] of Object.entries(claims)) {
    if (claim === "iss" || claim === "sub") continue;
    out[STANDARD[claim] ?? claim] = value;
  }
  return out;
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

function unauthorized(c, code, message) {
  c.header("WWW-Authenticate", `Bearer realm="hono", error="invalid_token"`);
  return c.json({ error: code, message }, 401);
}

const app = new Hono();

app.use("*", async (c, next) => {
  state ??= await setup(c.env);
  return state.cors(c, next);
});

app.get("/health", (c) => c.json({ ok: true }));

app.get("/whoami", async (c) => {
  const match = BEARER.exec(c.req.header("Authorization") ?? "");
  if (!match) return unauthorized(c, "missing_token", "a bearer token is required");
  const token = match[1];
  let provider;
  try {
    provider = state.providers.get(decodeJwt(token).iss);
  } catch {
    return unauthorized(c, "malformed_token", "the token is not a JWT");
  }
  if (!provider) return unauthorized(c, "unknown_issuer", "no provider has this issuer");
  try {
    const { payload } = await jwtVerify(token, provider.key, provider.options);
    return c.json(identity(payload));
  } catch (err) {
    return unauthorized(c, "invalid_token", err?.code ?? "verification failed");
  }
});

app.notFound((c) => c.json({ error: "not_found", message: `no route serves ${c.req.path}` }, 404));

export default app;
