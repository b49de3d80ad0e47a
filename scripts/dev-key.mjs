#!/usr/bin/env node
// Generates the DEVELOPMENT identity provider's signing key (RS256, 2048-bit).
//
//   node scripts/dev-key.mjs [--force]
//
// Writes dev/dev-provider.private.jwk.json (private JWK with kid, alg, use)
// and dev/dev-provider.jwks.json (the public JWKS), and prints the public
// JWKS on stdout so it can be pasted into AUTH_PROVIDERS in wrangler.toml.
// The key is deliberately public: see dev/README.md. Never use it in production.
import { generateKeyPairSync, createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const privatePath = join(root, "dev", "dev-provider.private.jwk.json");
const publicPath = join(root, "dev", "dev-provider.jwks.json");

const force = process.argv.includes("--force");
if (existsSync(privatePath) && !force) {
  console.error(`${privatePath} exists; pass --force to replace it (and update wrangler.toml).`);
  process.exit(1);
}

const { publicKey, privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicExponent: 0x10001,
});
const pub = publicKey.export({ format: "jwk" });

// RFC 7638 JWK thumbprint (SHA-256 over the required members in lexical order) as kid.
const kid = createHash("sha256")
  .update(JSON.stringify({ e: pub.e, kty: pub.kty, n: pub.n }))
  .digest("base64url");

const meta = { kid, alg: "RS256", use: "sig" };
const privateJwk = { ...privateKey.export({ format: "jwk" }), ...meta };
const publicJwk = { kty: pub.kty, n: pub.n, e: pub.e, ...meta };
const jwks = { keys: [publicJwk] };

mkdirSync(dirname(privatePath), { recursive: true });
writeFileSync(privatePath, JSON.stringify(privateJwk, null, 2) + "\n");
writeFileSync(publicPath, JSON.stringify(jwks, null, 2) + "\n");
console.error(`wrote ${privatePath}\nwrote ${publicPath}`);
console.log(JSON.stringify(jwks));
