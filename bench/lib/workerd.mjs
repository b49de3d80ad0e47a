// One `workerd serve` process running every worker, each on its own 127.0.0.1 socket.
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, openSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, relative } from "node:path";

/** A Cap'n Proto text literal. Only printable ASCII reaches here (JSON of our own config). */
function capnpString(text) {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new Error("capnp string with non-printable characters");
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * Writes the config. `workers` is a list of { name, port, modules: [{ name, path, type }] }
 * (type "esModule" or "wasm"); module files are copied next to the config so a run keeps
 * the exact code it measured.
 */
export function writeConfig({ dir, workers, bindings, compatibilityDate }) {
  const bindingList = Object.entries(bindings)
    .map(
      ([name, value]) =>
        `      (name = ${capnpString(name)}, text = ${capnpString(String(value))}),`,
    )
    .join("\n");
  const services = [];
  const sockets = [];
  const consts = [];
  for (const worker of workers) {
    // capnp names are camelCase: "sitegate-native" -> "workerSitegateNative".
    const ident = `worker${worker.name
      .split(/[^A-Za-z0-9]+/)
      .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
      .join("")}`;
    const moduleDir = join(dir, "workers", worker.name);
    mkdirSync(moduleDir, { recursive: true });
    const modules = worker.modules
      .map((mod) => {
        const copy = join(moduleDir, mod.name);
        mkdirSync(dirname(copy), { recursive: true });
        copyFileSync(mod.path, copy);
        return `      (name = ${capnpString(mod.name)}, ${mod.type} = embed ${capnpString(relative(dir, copy))}),`;
      })
      .join("\n");
    services.push(`    (name = ${capnpString(worker.name)}, worker = .${ident}),`);
    sockets.push(
      `    (name = ${capnpString(worker.name)}, address = ${capnpString(`127.0.0.1:${worker.port}`)}, http = (), service = ${capnpString(worker.name)}),`,
    );
    consts.push(`const ${ident} :Workerd.Worker = (
  modules = [
${modules}
  ],
  compatibilityDate = ${capnpString(compatibilityDate)},
  bindings = [
${bindingList}
  ],
);
`);
  }
  const text = `# Written by bench/run.mjs; regenerated on every run.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
${services.join("\n")}
  ],
  sockets = [
${sockets.join("\n")}
  ],
);

${consts.join("\n")}`;
  const path = join(dir, "workerd.capnp");
  writeFileSync(path, text);
  return path;
}

/** Fails when a port is already taken, so a stale server is never measured by mistake. */
export function assertPortFree(port) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", () =>
      reject(new Error(`127.0.0.1:${port} is in use (set BENCH_PORT_BASE)`)),
    );
    server.listen(port, "127.0.0.1", () => server.close(resolve));
  });
}

/**
 * Starts workerd (pinned to `cpuList` with taskset when given); resolves once every socket
 * answers. stdout (console.log) goes to `stdoutPath`, stderr to `logPath`.
 */
export async function startWorkerd({ binary, configPath, stdoutPath, logPath, ports, cpuList }) {
  const log = openSync(logPath, "w");
  const out = openSync(stdoutPath ?? logPath, "w");
  const command = cpuList ? "taskset" : binary;
  const args = cpuList ? ["-c", cpuList, binary, "serve", configPath] : ["serve", configPath];
  const child = spawn(command, args, { stdio: ["ignore", out, log] });
  let exited = null;
  child.once("exit", (code, signal) => (exited = { code, signal }));
  const deadline = Date.now() + 30_000;
  for (const port of ports) {
    for (;;) {
      if (exited) {
        throw new Error(
          `workerd exited (${JSON.stringify(exited)}); see ${logPath}:\n${readFileSync(logPath, "utf8").slice(-4000)}`,
        );
      }
      try {
        await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`workerd did not answer on 127.0.0.1:${port}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  return {
    child,
    // taskset execs workerd in place, so the child's pid is workerd's.
    pid: child.pid,
    stop() {
      if (exited) return Promise.resolve();
      return new Promise((resolve) => {
        child.once("exit", resolve);
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 5000).unref();
      });
    },
  };
}

/** utime + stime of a process, in seconds (all its threads). */
export function cpuSeconds(pid, ticksPerSecond) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** Busy CPU seconds of the whole machine (all CPUs, everything but idle and iowait). */
export function machineBusySeconds(ticksPerSecond) {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const [, ...values] = line.trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number);
  return (user + nice + system + irq + softirq + steal) / ticksPerSecond;
}
