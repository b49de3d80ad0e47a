// Smoke test: the built worker loads in workerd and answers. Placeholder until
// the real tests arrive.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./support/worker.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.dispose();
});

test("GET /health returns 200 with {\"ok\":true}", async () => {
  const res = await worker.fetch("/health");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.deepEqual(await res.json(), { ok: true });
});
