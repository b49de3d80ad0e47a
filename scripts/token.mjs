#!/usr/bin/env node
// Prints a fresh RS256 JWT signed with the DEVELOPMENT identity provider key
// (dev/dev-provider.private.jwk.json), using only node:crypto.
//
//   node scripts/token.mjs [--sub ID] [--name NAME] [--email ADDR]
//                          [--ttl SECONDS] [--claims '{"roles":["admin"]}']
//
// Claims: iss, aud, sub, name, email, email_verified, iat, exp = iat + ttl
// (default 3600); --claims is a JSON object merged over them last, so it can
// also override any of them (e.g. '{"exp":0}' for an expired token).
// Prints only the token and a newline, so `curl -H "Authorization: Bearer $(make -s token)"` works.
import { createPrivateKey, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

export const DEV_ISSUER = "https://dev.sitegate.invalid";
export const DEV_AUDIENCE = "sitegate-dev";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const KEY_PATH = join(root, "dev", "dev-provider.private.jwk.json");

const b64url = (value) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** Signs `claims` (merged over the development defaults) and returns the compact JWT. */
export function devToken({ sub = "dev-user", name, email, ttl = 3600, claims = {}, jwk } = {}) {
  const key = jwk ?? JSON.parse(readFileSync(KEY_PATH, "utf8"));
  const iat = Math.floor(Date.now() / 1000);
  const payload = {
    iss: DEV_ISSUER,
    aud: DEV_AUDIENCE,
    sub,
    name: name ?? sub,
    email: email ?? `${sub}@dev.sitegate.invalid`,
    email_verified: true,
    iat,
    exp: iat + ttl,
    ...claims,
  };
  const header = { alg: "RS256", typ: "JWT", kid: key.kid };
  const input = `${b64url(header)}.${b64url(payload)}`;
  const signature = sign("sha256", Buffer.from(input), createPrivateKey({ key, format: "jwk" }));
  return `${input}.${signature.toString("base64url")}`;
}

function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      sub: { type: "string" },
      name: { type: "string" },
      email: { type: "string" },
      ttl: { type: "string" },
      claims: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      "usage: node scripts/token.mjs [--sub ID] [--name NAME] [--email ADDR] [--ttl SECONDS] [--claims JSON]",
    );
    return;
  }
  let claims = {};
  if (values.claims !== undefined && values.claims !== "") {
    claims = JSON.parse(values.claims);
    if (claims === null || typeof claims !== "object" || Array.isArray(claims)) {
      throw new Error("--claims must be a JSON object");
    }
  }
  let ttl = 3600;
  if (values.ttl !== undefined) {
    ttl = Number(values.ttl);
    if (!Number.isInteger(ttl)) throw new Error("--ttl must be an integer number of seconds");
  }
  const sub = values.sub === undefined || values.sub === "" ? undefined : values.sub;
  console.log(devToken({ sub, name: values.name, email: values.email, ttl, claims }));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(`token: ${err.message}`);
    process.exit(2);
  }
}
