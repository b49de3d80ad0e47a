// The load generator: a separate process (forked by run.mjs, optionally pinned to its own
// CPU) that runs autocannon on command and sends back the numbers.
//
//   node load.mjs <tokens.json>
//   <- { id, port, scenario, seconds, connections, pipelining }
//   -> { id, result }
//
// autocannon's own latency histogram has 1 ms resolution, too coarse for a local worker,
// so every response time (fractional ms, from autocannon's 'response' event) is kept and
// the percentiles are computed here.
import { readFileSync } from "node:fs";
import autocannon from "autocannon";

const pools = JSON.parse(readFileSync(process.argv[2], "utf8"));

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

function requestsFor(scenario) {
  const base = { method: scenario.method, path: scenario.path, headers: { ...scenario.headers } };
  if (!scenario.tokens) return [base];
  // Authenticated scenarios always go through setupRequest, with one token or a pool, so
  // the client does the same work per request in both cases.
  const tokens = scenario.tokens.pool ? pools[scenario.tokens.pool] : [scenario.tokens.single];
  let next = 0;
  return [
    {
      ...base,
      setupRequest(req) {
        req.headers.authorization = `Bearer ${tokens[next]}`;
        next = next + 1 === tokens.length ? 0 : next + 1;
        return req;
      },
    },
  ];
}

function run({ port, scenario, seconds, connections, pipelining }) {
  return new Promise((resolve, reject) => {
    let samples = new Float64Array(1 << 16);
    let count = 0;
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections,
        pipelining,
        duration: seconds,
        requests: requestsFor(scenario),
        timeout: 10,
      },
      (err, result) => {
        if (err) return reject(err);
        const sorted = samples.subarray(0, count).sort();
        const elapsed = (result.finish - result.start) / 1000 || result.duration;
        resolve({
          requests: count,
          seconds: elapsed,
          rps: count / elapsed,
          p50: percentile(sorted, 50),
          p90: percentile(sorted, 90),
          p99: percentile(sorted, 99),
          statusCodes: Object.fromEntries(
            Object.entries(result.statusCodeStats).map(([k, v]) => [k, v.count]),
          ),
          errors: result.errors,
          timeouts: result.timeouts,
        });
      },
    );
    instance.on("response", (_client, _status, _bytes, responseTime) => {
      if (count === samples.length) {
        const grown = new Float64Array(samples.length * 2);
        grown.set(samples);
        samples = grown;
      }
      samples[count++] = responseTime;
    });
  });
}

process.on("message", async (message) => {
  try {
    process.send({ id: message.id, result: await run(message) });
  } catch (err) {
    process.send({ id: message.id, error: String(err?.stack ?? err) });
  }
});
process.send({ ready: true });
