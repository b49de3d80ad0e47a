#!/usr/bin/env node
// sitegate's benchmark, in one run (`make bench`, or `node bench/run.mjs`):
//
//   1. builds sitegate (`make tools build`) and its native-verify variant, and bundles the
//      two peers under bench/peers/ (a Hono worker doing the same job, and a bare worker
//      answering a fixed 200: the floor) with the esbuild from the root node_modules;
//   2. reads the upload size `wrangler deploy --dry-run` prints (in an empty network
//      namespace when `unshare -n` works, which proves it needs no network);
//   3. generates keys and tokens (RS256, ES256, EdDSA, HS256), gives every worker the same
//      bindings, and starts all of them in ONE `workerd serve`, each on a 127.0.0.1 socket;
//   4. drives each scenario from a second process with autocannon: a warm-up, then
//      BENCH_ROUNDS rounds per worker (workers interleaved), medians reported, and the
//      workerd process's CPU time (utime+stime from /proc) per request served;
//   5. prints the tables and writes BENCHMARKS.md (and bench/out/results.json).
//
// Settings (environment):
//   BENCH_SECONDS=3           length of one measured round, per worker and scenario
//   BENCH_WARMUP_SECONDS=1    warm-up per worker and scenario, not measured
//   BENCH_ROUNDS=3            measured rounds; the median is reported
//   BENCH_CONNECTIONS=10      autocannon connections (same for every worker)
//   BENCH_PIPELINING=1        autocannon pipelining factor
//   BENCH_POOL=5000           distinct tokens per algorithm for the fresh-token scenarios
//   BENCH_PORT_BASE=28701     first 127.0.0.1 port; one port per worker
//   BENCH_PIN=0               1: workerd on CPU 0, the load generator on CPU 1 (taskset). Off
//                             by default: when anything else runs on the machine, pinning
//                             makes workerd share its one CPU with it instead of moving away
//   BENCH_SCENARIOS=          comma-separated scenario names to run (default: all)
//   BENCH_SKIP_BUILD=0        1: use the existing build/ and build-native/ as they are
//   BENCH_REPORT=BENCHMARKS.md  where the report goes (relative to the repository root)
//
// Nothing here sends traffic anywhere but 127.0.0.1. No number is asserted: the Goals
// section of the report says met / not met, and the run succeeds either way.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, cpus, release, totalmem } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import { ALGORITHMS, bindings, makeKeys, ORIGIN, pool, token } from "./lib/keys.mjs";
import { renderReport } from "./lib/report.mjs";
import {
  assertPortFree,
  cpuSeconds,
  machineBusySeconds,
  startWorkerd,
  writeConfig,
} from "./lib/workerd.mjs";

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, "..");
const OUT = join(BENCH, "out");
const started = Date.now();

// ---------------------------------------------------------------------------- settings

const int = (name, fallback, min = 0) => {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`${name} must be an integer >= ${min}, got ${raw}`);
  return value;
};
const settings = {
  seconds: int("BENCH_SECONDS", 3, 1),
  warmupSeconds: int("BENCH_WARMUP_SECONDS", 1, 0),
  rounds: int("BENCH_ROUNDS", 3, 1),
  connections: int("BENCH_CONNECTIONS", 10, 1),
  pipelining: int("BENCH_PIPELINING", 1, 1),
  poolSize: int("BENCH_POOL", 5000, 1),
  portBase: int("BENCH_PORT_BASE", 28701, 1024),
  skipBuild: process.env.BENCH_SKIP_BUILD === "1",
  report: resolve(ROOT, process.env.BENCH_REPORT || "BENCHMARKS.md"),
};
settings.pin = process.env.BENCH_PIN === "1";
if (settings.pin && spawnSync("taskset", ["-V"], { stdio: "ignore" }).status !== 0)
  throw new Error("BENCH_PIN=1 needs taskset (util-linux)");
if (settings.pin && availableParallelism() < 2)
  throw new Error("BENCH_PIN=1 needs at least 2 CPUs");

const log = (...args) =>
  console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s]`, ...args);

// ---------------------------------------------------------------------------- tools

const paths = {
  workerd: join(ROOT, "node_modules/@cloudflare/workerd-linux-64/bin/workerd"),
  esbuild: join(ROOT, "node_modules/esbuild/bin/esbuild"),
  wrangler: join(ROOT, "node_modules/.bin/wrangler"),
};

const toolEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

function run(command, args, options = {}) {
  const result = spawnSync(command, args, {
    cwd: ROOT,
    env: toolEnv,
    encoding: "utf8",
    ...options,
  });
  if (result.error) throw new Error(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) {
    const output =
      options.stdio === "inherit" ? "" : `\n${result.stdout ?? ""}${result.stderr ?? ""}`;
    throw new Error(`${command} ${args.join(" ")} failed with exit code ${result.status}${output}`);
  }
  return result;
}

const sha256 = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");
const gzipSize = (path) => gzipSync(readFileSync(path), { level: 9 }).length;

function compatibilityDate() {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const match = /^compatibility_date\s*=\s*"(\d{4}-\d{2}-\d{2})"/m.exec(toml);
  if (!match) throw new Error("compatibility_date not found in wrangler.toml");
  return match[1];
}

// ---------------------------------------------------------------------------- 1. builds

function build() {
  if (settings.skipBuild) {
    log("BENCH_SKIP_BUILD=1: using build/ and build-native/ as they are");
  } else {
    log("building sitegate: make tools build");
    run("make", ["tools", "build"], { stdio: "inherit" });
    log(
      "building the native-verify variant: make build FEATURES=native-verify OUT_DIR=build-native",
    );
    run("make", ["build", "FEATURES=native-verify", "OUT_DIR=build-native"], { stdio: "inherit" });
  }
  for (const dir of ["build", "build-native"]) {
    for (const file of ["index.js", "worker/shim.mjs", "worker/index.wasm"]) {
      if (!existsSync(join(ROOT, dir, file)))
        throw new Error(`${dir}/${file} is missing: the build did not produce it`);
    }
  }
  mkdirSync(join(OUT, "peers"), { recursive: true });
  const peers = {};
  for (const name of ["hono", "floor"]) {
    const outfile = join(OUT, "peers", `${name}.js`);
    run(paths.esbuild, [
      join(BENCH, "peers", name, "worker.mjs"),
      "--bundle",
      "--format=esm",
      "--platform=browser",
      "--conditions=workerd,worker,browser",
      "--target=es2022",
      `--outfile=${outfile}`,
      "--log-level=warning",
    ]);
    peers[name] = { path: outfile, raw: statSync(outfile).size, gzip: gzipSize(outfile) };
  }
  log(`peers bundled: hono ${peers.hono.raw} B, floor ${peers.floor.raw} B`);
  return peers;
}

// ---------------------------------------------------------------------------- 2. sizes

function dryRun() {
  const outdir = join(OUT, "dry-run");
  rmSync(outdir, { recursive: true, force: true });
  const args = ["deploy", "--dry-run", "--outdir", relative(ROOT, outdir)];
  // In a fresh network namespace (only a down loopback) nothing can be contacted: if the
  // dry run passes there, it does not need the network.
  const isolated = spawnSync("unshare", ["-n", "true"], { stdio: "ignore" }).status === 0;
  log(
    `wrangler deploy --dry-run${isolated ? " (unshare -n: no network at all)" : " (unshare -n unavailable: normal network)"}`,
  );
  const result = isolated
    ? run("unshare", ["-n", paths.wrangler, ...args])
    : run(paths.wrangler, args);
  const output = `${result.stdout}${result.stderr}`;
  writeFileSync(join(OUT, "dry-run.log"), output);
  const match = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(output);
  if (!match)
    throw new Error(
      `no "Total Upload" line in wrangler's output (see ${join(OUT, "dry-run.log")})`,
    );
  const wasmFile = readdirSync(outdir).find((name) => name.endsWith(".wasm"));
  if (!wasmFile) throw new Error(`wrangler wrote no .wasm into ${outdir}`);
  const wasmPath = join(outdir, wasmFile);
  return {
    isolated,
    totalKiB: Number(match[1]),
    gzipKiB: Number(match[2]),
    line: match[0],
    wasmRaw: statSync(wasmPath).size,
    wasmGzip: gzipSize(wasmPath),
    wasmSha256: sha256(wasmPath),
  };
}

// ---------------------------------------------------------------------------- 3. scenarios

const preflightHeaders = {
  origin: ORIGIN,
  "access-control-request-method": "GET",
  "access-control-request-headers": "authorization",
};

function scenarios(keys) {
  const list = [
    {
      name: "preflight",
      title: "Preflight: OPTIONS /whoami",
      method: "OPTIONS",
      path: "/whoami",
      headers: preflightHeaders,
      expect: 204,
      latencyGoal: true,
    },
    {
      name: "health",
      title: "Public GET /health",
      method: "GET",
      path: "/health",
      headers: { origin: ORIGIN },
      expect: 200,
      latencyGoal: true,
    },
  ];
  for (const alg of ALGORITHMS) {
    list.push({
      name: `whoami-${alg.toLowerCase()}-repeated`,
      title: `GET /whoami, ${alg}, one repeated token`,
      method: "GET",
      path: "/whoami",
      headers: { origin: ORIGIN },
      tokens: { single: token(keys, alg, 0) },
      expect: 200,
      auth: true,
      repeated: true,
    });
    list.push({
      name: `whoami-${alg.toLowerCase()}-fresh`,
      title: `GET /whoami, ${alg}, fresh token per request (pool of ${settings.poolSize})`,
      method: "GET",
      path: "/whoami",
      headers: { origin: ORIGIN },
      tokens: { pool: alg },
      expect: 200,
      auth: true,
    });
  }
  list.push({
    name: "invalid-token",
    title: "GET /whoami, RS256 token with a bad signature",
    method: "GET",
    path: "/whoami",
    headers: { origin: ORIGIN },
    tokens: { single: token(keys, "RS256", 0, { badSignature: true }) },
    expect: 401,
    auth: true,
  });
  list.push({
    name: "not-found",
    title: "GET /nope (404)",
    method: "GET",
    path: "/nope",
    headers: { origin: ORIGIN },
    expect: 404,
  });
  // At BENCH_CONNECTIONS every worker runs saturated and p50 restates throughput; with one
  // connection p50 is the latency a single client sees. Reported beside the latency goal.
  list.push({
    ...list[0],
    name: "preflight-1conn",
    title: "Preflight, 1 connection",
    connections: 1,
    latencyGoal: false,
    latencyProbe: "preflight",
  });
  list.push({
    ...list[1],
    name: "health-1conn",
    title: "Public GET /health, 1 connection",
    connections: 1,
    latencyGoal: false,
    latencyProbe: "health",
  });
  const only = (process.env.BENCH_SCENARIOS || "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of only)
    if (!list.some((s) => s.name === name))
      throw new Error(`unknown scenario ${name}; known: ${list.map((s) => s.name).join(", ")}`);
  return only.length ? list.filter((s) => only.includes(s.name)) : list;
}

/** The workers a scenario runs on: the native-verify variant only where tokens are verified. */
const workersFor = (scenario, workers) =>
  workers.filter((w) => w.name !== "sitegate-native" || scenario.auth);
/** What a worker should answer: the floor answers 200 to everything. */
const expectedStatus = (scenario, worker) => (worker.name === "floor" ? 200 : scenario.expect);

// ---------------------------------------------------------------------------- checks

/** One request per worker and scenario before any load: a wrong answer stops the run. */
async function sanityCheck(scenario, worker, pools) {
  const headers = { ...scenario.headers };
  if (scenario.tokens)
    headers.authorization = `Bearer ${scenario.tokens.single ?? pools[scenario.tokens.pool][0]}`;
  const response = await fetch(`http://127.0.0.1:${worker.port}${scenario.path}`, {
    method: scenario.method,
    headers,
  });
  const body = await response.text();
  const problems = [];
  const want = expectedStatus(scenario, worker);
  if (response.status !== want)
    problems.push(`status ${response.status}, expected ${want}: ${body.slice(0, 300)}`);
  if (worker.name !== "floor" && response.headers.get("access-control-allow-origin") !== ORIGIN) {
    problems.push(
      `Access-Control-Allow-Origin is ${JSON.stringify(response.headers.get("access-control-allow-origin"))}`,
    );
  }
  if (
    scenario.name === "preflight" &&
    worker.name !== "floor" &&
    !/authorization/i.test(response.headers.get("access-control-allow-headers") ?? "")
  ) {
    problems.push("the preflight answer does not allow the Authorization header");
  }
  if (scenario.auth && scenario.expect === 200 && worker.name !== "floor") {
    const identity = JSON.parse(body);
    if (!identity.subject || !identity.tokenIdentifier)
      problems.push(`no identity in ${body.slice(0, 200)}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------- load process

function startLoad(tokensPath) {
  const script = join(BENCH, "lib", "load.mjs");
  const [command, args] = settings.pin
    ? ["taskset", ["-c", "1", process.execPath, script, tokensPath]]
    : [process.execPath, [script, tokensPath]];
  const child = spawn(command, args, {
    cwd: BENCH,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const waiting = new Map();
  let nextId = 1;
  let ready;
  const readyPromise = new Promise((r) => (ready = r));
  child.on("message", (message) => {
    if (message.ready) return ready();
    const pending = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error) pending.reject(new Error(message.error));
    else pending.resolve(message.result);
  });
  child.once("exit", (code, signal) => {
    for (const pending of waiting.values())
      pending.reject(new Error(`load generator exited (${code ?? signal})`));
  });
  return {
    pid: child.pid,
    ready: readyPromise,
    run(job) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        child.send({ id, ...job });
      });
    },
    stop() {
      child.kill("SIGTERM");
    },
  };
}

const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// ---------------------------------------------------------------------------- main

let loadavgStart;

async function main() {
  mkdirSync(OUT, { recursive: true });
  loadavgStart = readFileSync("/proc/loadavg", "utf8").trim();
  log(`settings: ${JSON.stringify({ ...settings, report: relative(ROOT, settings.report) })}`);

  const peers = build();
  const sizes = dryRun();
  log(`${sizes.line}; wasm ${sizes.wasmRaw} B raw, ${sizes.wasmGzip} B gzip -9`);

  const measured = {
    sitegate: {
      wasm: join(ROOT, "build", "worker", "index.wasm"),
      js: join(ROOT, "build", "worker", "shim.mjs"),
    },
    native: {
      wasm: join(ROOT, "build-native", "worker", "index.wasm"),
      js: join(ROOT, "build-native", "worker", "shim.mjs"),
    },
  };
  for (const variant of Object.values(measured)) {
    variant.sha256 = sha256(variant.wasm);
    variant.raw = statSync(variant.wasm).size;
    variant.gzip = gzipSize(variant.wasm);
  }
  const notes = [];
  if (measured.sitegate.sha256 !== sizes.wasmSha256) {
    notes.push(
      "The wasm wrangler's dry run bundled differs from build/worker/index.wasm (src/ changed during the run?): sizes and speed may describe different builds.",
    );
  }

  log(`generating keys and ${settings.poolSize} tokens per algorithm`);
  const keys = makeKeys();
  const pools = Object.fromEntries(
    ALGORITHMS.map((alg) => [alg, pool(keys, alg, settings.poolSize)]),
  );
  for (const [alg, tokens] of Object.entries(pools)) {
    if (new Set(tokens).size !== tokens.length)
      throw new Error(`the ${alg} pool has duplicate tokens`);
  }
  const tokensPath = join(OUT, "tokens.json");
  writeFileSync(tokensPath, JSON.stringify(pools));
  const list = scenarios(keys);
  const loadSeconds = list.reduce(
    (sum, s) =>
      sum +
      workersFor(s, [
        { name: "sitegate" },
        { name: "sitegate-native" },
        { name: "hono" },
        { name: "floor" },
      ]).length *
        (settings.warmupSeconds + settings.rounds * settings.seconds),
    0,
  );
  log(`${list.length} scenarios; the load phase takes about ${Math.round(loadSeconds / 60)} min`);

  const sitegateModules = (dir) => [
    { name: "index.js", path: join(ROOT, dir, "index.js"), type: "esModule" },
    { name: "worker/shim.mjs", path: join(ROOT, dir, "worker", "shim.mjs"), type: "esModule" },
    { name: "worker/index.wasm", path: join(ROOT, dir, "worker", "index.wasm"), type: "wasm" },
  ];
  const workers = [
    { name: "sitegate", label: "sitegate", modules: sitegateModules("build") },
    {
      name: "sitegate-native",
      label: "sitegate native-verify",
      modules: sitegateModules("build-native"),
    },
    {
      name: "hono",
      label: "Hono",
      modules: [{ name: "worker.js", path: peers.hono.path, type: "esModule" }],
    },
    {
      name: "floor",
      label: "floor",
      modules: [{ name: "worker.js", path: peers.floor.path, type: "esModule" }],
    },
  ].map((worker, i) => ({ ...worker, port: settings.portBase + i }));
  for (const worker of workers) await assertPortFree(worker.port);

  const configPath = writeConfig({
    dir: OUT,
    workers,
    bindings: bindings(keys),
    compatibilityDate: compatibilityDate(),
  });
  const workerd = await startWorkerd({
    binary: paths.workerd,
    configPath,
    // console.log lines (sitegate logs one per request) are dropped; errors are kept.
    stdoutPath: "/dev/null",
    logPath: join(OUT, "workerd.log"),
    ports: workers.map((w) => w.port),
    cpuList: settings.pin ? "0" : null,
  });
  const load = startLoad(tokensPath);
  // Stopped from outside (SIGINT, SIGTERM): take the two child processes down too.
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => {
      load.stop();
      workerd.stop().finally(() => process.exit(130));
    });
  }
  const ticks =
    Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
  log(
    `workerd pid ${workerd.pid} serving ${workers.map((w) => `${w.name}=127.0.0.1:${w.port}`).join(" ")}`,
  );

  const results = [];
  try {
    const problems = [];
    for (const scenario of list) {
      for (const worker of workersFor(scenario, workers)) {
        for (const problem of await sanityCheck(scenario, worker, pools))
          problems.push(`${worker.name} / ${scenario.name}: ${problem}`);
      }
    }
    if (problems.length)
      throw new Error(`workers answer wrongly, nothing was measured:\n  ${problems.join("\n  ")}`);
    log("every worker answers every scenario as expected");
    await load.ready;

    for (const scenario of list) {
      const targets = workersFor(scenario, workers);
      const job = (worker, seconds) => ({
        port: worker.port,
        scenario: {
          method: scenario.method,
          path: scenario.path,
          headers: scenario.headers,
          tokens: scenario.tokens,
        },
        seconds,
        connections: scenario.connections ?? settings.connections,
        pipelining: settings.pipelining,
      });
      if (settings.warmupSeconds > 0)
        for (const worker of targets) await load.run(job(worker, settings.warmupSeconds));
      const rounds = new Map(targets.map((w) => [w.name, []]));
      for (let round = 0; round < settings.rounds; round++) {
        // Rotate the order each round so no worker always runs first or last.
        const order = targets.map((_, i) => targets[(i + round) % targets.length]);
        for (const worker of order) {
          const before = cpuSeconds(workerd.pid, ticks);
          const loadBefore = cpuSeconds(load.pid, ticks);
          const busyBefore = machineBusySeconds(ticks);
          const result = await load.run(job(worker, settings.seconds));
          const cpu = cpuSeconds(workerd.pid, ticks) - before;
          const loadCpu = cpuSeconds(load.pid, ticks) - loadBefore;
          // CPU that neither workerd nor the load generator used: other work on the machine.
          const otherCpu = Math.max(0, machineBusySeconds(ticks) - busyBefore - cpu - loadCpu);
          const want = String(expectedStatus(scenario, worker));
          const unexpected = result.requests - (result.statusCodes[want] ?? 0);
          rounds.get(worker.name).push({
            ...result,
            cpuSeconds: cpu,
            cpuPerRequestUs: (cpu / result.requests) * 1e6,
            loadCpuSeconds: loadCpu,
            otherCpuShare: otherCpu / result.seconds,
            unexpected,
          });
        }
      }
      const summary = {};
      for (const worker of targets) {
        const r = rounds.get(worker.name);
        summary[worker.name] = {
          rps: median(r.map((x) => x.rps)),
          p50: median(r.map((x) => x.p50)),
          p99: median(r.map((x) => x.p99)),
          cpuUs: median(r.map((x) => x.cpuPerRequestUs)),
          requests: r.reduce((sum, x) => sum + x.requests, 0),
          unexpected: r.reduce((sum, x) => sum + x.unexpected, 0),
          errors: r.reduce((sum, x) => sum + x.errors + x.timeouts, 0),
          rounds: r,
        };
      }
      results.push({
        scenario: {
          name: scenario.name,
          title: scenario.title,
          expect: scenario.expect,
          auth: !!scenario.auth,
          repeated: !!scenario.repeated,
          latencyGoal: !!scenario.latencyGoal,
          latencyProbe: scenario.latencyProbe ?? null,
          connections: scenario.connections ?? settings.connections,
        },
        workers: summary,
      });
      log(
        `${scenario.name.padEnd(24)} ${targets
          .map(
            (w) =>
              `${w.name} ${summary[w.name].rps.toFixed(0)} req/s p50 ${summary[w.name].p50.toFixed(2)} ms`,
          )
          .join(" | ")}`,
      );
      for (const worker of targets) {
        const s = summary[worker.name];
        if (s.unexpected || s.errors)
          notes.push(
            `${worker.name} / ${scenario.name}: ${s.unexpected} responses with an unexpected status, ${s.errors} errors or timeouts (of ${s.requests}).`,
          );
      }
    }
  } finally {
    load.stop();
    await workerd.stop();
  }
  const otherShares = results.flatMap((r) =>
    Object.values(r.workers).flatMap((w) => w.rounds.map((x) => x.otherCpuShare)),
  );
  const otherCpu = { median: median(otherShares), max: Math.max(...otherShares) };
  if (otherCpu.median > 0.05 || otherCpu.max > 0.25) {
    notes.push(
      `Other processes were busy during the measured rounds: besides workerd and the load generator, the machine used a median ${(otherCpu.median * 100).toFixed(0)}% ` +
        `(max ${(otherCpu.max * 100).toFixed(0)}%) of one CPU. With ${availableParallelism()} CPUs that disturbs the numbers: rerun on a quiet machine.`,
    );
  }
  const workerdLog = readFileSync(join(OUT, "workerd.log"), "utf8").trim();
  if (workerdLog)
    notes.push(
      `workerd wrote to stderr during the run (first lines): ${workerdLog.split("\n").slice(0, 3).join(" / ").slice(0, 400)}`,
    );

  const cpuInfo = cpus();
  const machine = {
    nproc: availableParallelism(),
    cpuModel: cpuInfo[0]?.model ?? "unknown",
    memoryGiB: totalmem() / 2 ** 30,
    kernel: release(),
    node: process.version,
    workerd: spawnSync(paths.workerd, ["--version"], { encoding: "utf8" }).stdout.trim(),
    hono: JSON.parse(readFileSync(join(BENCH, "node_modules/hono/package.json"), "utf8")).version,
    jose: JSON.parse(readFileSync(join(BENCH, "node_modules/jose/package.json"), "utf8")).version,
    autocannon: JSON.parse(
      readFileSync(join(BENCH, "node_modules/autocannon/package.json"), "utf8"),
    ).version,
    gitHead:
      spawnSync("git", ["rev-parse", "--short", "HEAD"], {
        cwd: ROOT,
        encoding: "utf8",
      }).stdout.trim() || "none",
    gitDirty:
      spawnSync("git", ["status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"], {
        cwd: ROOT,
        encoding: "utf8",
      }).stdout.trim() !== "",
  };
  const wallSeconds = (Date.now() - started) / 1000;
  const data = {
    date: new Date().toISOString(),
    settings,
    machine,
    otherCpu,
    loadavg: { start: loadavgStart, end: readFileSync("/proc/loadavg", "utf8").trim() },
    sizes,
    measured,
    peers,
    workers: workers.map(({ name, label, port }) => ({ name, label, port })),
    results,
    notes,
    wallSeconds,
  };
  writeFileSync(join(OUT, "results.json"), JSON.stringify(data, null, 2));
  const report = renderReport(data);
  writeFileSync(settings.report, report);
  console.log(`\n${report}`);
  log(
    `wrote ${relative(ROOT, settings.report)} and ${relative(ROOT, join(OUT, "results.json"))} in ${wallSeconds.toFixed(0)} s`,
  );
}

main().catch((err) => {
  console.error(`bench: ${err.stack ?? err}`);
  process.exit(1);
});
