// examples/districts: the Python and the Node pipeline walk the five districts; their chains
// verify and hold the same corridors in the same order.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { JsonlStore } from "tokenpixel/node";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const PYTHON = process.env.TOKENPIXEL_PYTHON ?? "python3";

test("the five-district example runs in Python and in Node with the same corridors", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-districts-"));
  execFileSync(PYTHON, [path.join(ROOT, "examples", "districts", "pipeline.py"), dir]);
  execFileSync(process.execPath, [path.join(ROOT, "examples", "districts", "pipeline.mjs"), dir], {
    cwd: path.join(ROOT, "examples"),
  });
  const store = new JsonlStore(dir);
  const py = store.list("districts-agent");
  const node = store.list("districts-agent-node");
  for (const agent of ["districts-agent", "districts-agent-node"]) {
    const r = store.verify(agent);
    assert.deepEqual([r.ok, r.count], [true, 13]);
  }
  assert.deepEqual(node.map((p) => p.corridor), py.map((p) => p.corridor));
  assert.equal(py[6].corridor, "DISTRICT_3.CHAMBER_EXEC_GPU_1.NODE_POST");
  assert.equal(py.at(-1).corridor, "DISTRICT_5.CHAMBER_DEPLOY.NODE_EU_POST");
  assert.deepEqual(node.at(-1).stateVector, { omega: 2, psi: 0.9375 });
});
