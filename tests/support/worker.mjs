// Test helper: runs the worker built by `make build` (worker-build output) in
// Miniflare, in-process, with no network access beyond 127.0.0.1.
//
//   const worker = await startWorker({ CORS_ALLOWED_ORIGINS: "...", ... });
//   const res = await worker.fetch("/health", { method: "GET" });
//   await worker.dispose();
//
// The build directory is, in order: options.buildDir, $SITEGATE_BUILD_DIR, "build"
// (relative paths are taken from the repository root), so the same tests can run
// against a variant such as `make build FEATURES=native-verify OUT_DIR=build-native`.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BASE_URL = "http://localhost";

/** compatibility_date from wrangler.toml, so tests and `make dev` run the same runtime semantics. */
export const COMPATIBILITY_DATE = (() => {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const match = /^compatibility_date\s*=\s*"(\d{4}-\d{2}-\d{2})"/m.exec(toml);
  if (!match) throw new Error("compatibility_date not found in wrangler.toml");
  return match[1];
})();

/** Absolute path of the build directory to load. */
export function buildDir(dir = process.env.SITEGATE_BUILD_DIR || "build") {
  return resolve(ROOT, dir);
}

/**
 * Starts the built worker with exactly `bindings` as its environment (plain
 * text/JSON vars; nothing is taken from wrangler.toml).
 * @param {Record<string, unknown>} bindings
 * @param {{ buildDir?: string, miniflare?: object }} [options] `miniflare` is merged into
 *   the Miniflare options last (e.g. `{ compatibilityFlags: [...] }`).
 */
export async function startWorker(bindings = {}, options = {}) {
  const dir = buildDir(options.buildDir);
  const scriptPath = join(dir, "index.js");
  if (!existsSync(scriptPath) || !existsSync(join(dir, "worker", "index.wasm"))) {
    throw new Error(`no worker build in ${dir}: run \`make build\` first`);
  }
  const mf = new Miniflare({
    name: "sitegate",
    modules: true,
    scriptPath,
    modulesRoot: dir,
    // index.js re-exports worker/shim.mjs (src/edge/entry.js, bundled), which does
    // `import ... from "./index.wasm"`: a precompiled WebAssembly.Module.
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: COMPATIBILITY_DATE,
    // Never fetch Request.cf from Cloudflare: use Miniflare's built-in placeholder.
    cf: false,
    host: "127.0.0.1",
    port: 0,
    bindings,
    ...options.miniflare,
  });
  await mf.ready;
  return {
    mf,
    /** dispatchFetch with `path` resolved against http://localhost. */
    fetch(path, init) {
      return mf.dispatchFetch(new URL(path, BASE_URL).href, init);
    },
    dispose() {
      return mf.dispose();
    },
  };
}
