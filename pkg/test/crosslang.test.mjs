// Node and Python agree byte for byte: chains written by one verify in the other, and the
// canonical bytes of the same random documents are identical.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import tp from "tokenpixel";
import { JsonlStore } from "tokenpixel/node";
import { PYTHON, ROOT } from "./helpers.mjs";

function python(code, ...args) {
  return execFileSync(PYTHON, ["-c", code, ...args], { encoding: "utf8" });
}

/** A small deterministic PRNG (xorshift32). */
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function randomDoc(r, depth = 0) {
  const pick = Math.floor(r() * (depth > 3 ? 6 : 8));
  const chars = ["a", "Z", "é", "€", "😂", "\n", '"', "\\", "\u0001", "\u007f", "דּ", "\ufb33", " ", "0"];
  const str = () => Array.from({ length: Math.floor(r() * 8) }, () => chars[Math.floor(r() * chars.length)]).join("");
  switch (pick) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2: {
      const bits = new Float64Array(new Uint32Array([Math.floor(r() * 2 ** 32), Math.floor(r() * 2 ** 32)]).buffer)[0];
      return Number.isFinite(bits) ? bits : 0.5;
    }
    case 3:
      return Math.floor((r() - 0.5) * 2 ** 53);
    case 4:
      return [1e21, 1e-7, 0.1, -0, 5e-324, 87515321284314368, 123456789012345680000, 1.7976931348623157e308][Math.floor(r() * 8)];
    case 5:
      return str();
    case 6:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomDoc(r, depth + 1));
    default: {
      const o = {};
      for (let i = Math.floor(r() * 5); i > 0; i--) o[str()] = randomDoc(r, depth + 1);
      return o;
    }
  }
}

test("random documents canonicalize to identical bytes in Node and Python", () => {
  const r = rng(20261123);
  const docs = Array.from({ length: 400 }, () => randomDoc(r));
  const texts = docs.map((d) => JSON.stringify(d));
  const ours = docs.map((d) => tp.canonicalJson(d));
  texts.forEach((t, i) => assert.equal(tp.canonicalize(t), ours[i]));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-cross-"));
  const file = path.join(dir, "docs.json");
  fs.writeFileSync(file, JSON.stringify(texts));
  const theirs = JSON.parse(
    python(
      `import json, sys, tokenpixel as tp
texts = json.load(open(sys.argv[1], encoding="utf-8"))
num = lambda s: int(s) if abs(int(s)) <= 2**53 else float(s)
out = []
for t in texts:
    a = tp.canonicalize(t)
    b = tp.canonical_json(json.loads(t, parse_int=num))
    assert a == b, (t, a, b)
    out.append(a)
print(json.dumps(out))`,
      file,
    ),
  );
  assert.deepEqual(theirs, ours);
});

test("a chain written by Python verifies and continues in Node, and back", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-chain-"));
  execFileSync(PYTHON, [path.join(ROOT, "examples", "python_agent.py"), dir], { stdio: "ignore" });
  const store = new JsonlStore(dir);
  assert.deepEqual(store.agents(), ["demo-agent"]);
  const report = store.verify();
  assert.equal(report.ok, true);
  assert.equal(report.count, 10);
  // Node continues the Python chain.
  const chain = tp.Chain.resume(store.list(), { sessionId: "node-job" });
  for (const node of ["PRE", "POST"]) {
    store.append(chain.emit(`DISTRICT_6.CHAMBER_AUDIT.NODE_${node}`, { state: { audited: true, by: "node" } }));
  }
  assert.equal(store.verify().count, 12);
  // Python verifies what Node wrote, then continues it.
  const out = python(
    `import sys, tokenpixel as tp
store = tp.JsonlStore(sys.argv[1])
r = store.verify()
assert r.ok and r.count == 12, r
cp = tp.Checkpointer(store, "demo-agent", session_id="py-job")
cp.emit("DISTRICT_7.CHAMBER_REPORT.NODE_POST", state={"reported": True})
print(store.verify().count)`,
    dir,
  );
  assert.equal(out.trim(), "13");
  assert.equal(store.verify().count, 13);
  // The same tampering fails the same way in both.
  const file = store.path("demo-agent");
  const bytes = fs.readFileSync(file);
  const lines = bytes.toString("utf8").split("\n");
  lines[11] = lines[11].replace('"audited":true', '"audited":false');
  fs.writeFileSync(file, lines.join("\n"));
  const nodeReport = store.verify();
  const pyReport = JSON.parse(
    python(`import sys, json, tokenpixel as tp; print(json.dumps(tp.JsonlStore(sys.argv[1]).verify().to_dict()))`, dir),
  );
  assert.equal(nodeReport.error.code, "HASH_MISMATCH");
  assert.equal(nodeReport.error.index, 11);
  assert.deepEqual(
    { ...pyReport, error: { ...pyReport.error, message: undefined } },
    { ...nodeReport, error: { ...nodeReport.error, message: undefined } },
  );
});

test("summaries and diffs of the demo chain are identical from Python and Node", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-sum-"));
  execFileSync(PYTHON, [path.join(ROOT, "examples", "python_agent.py"), dir], { stdio: "ignore" });
  const store = new JsonlStore(dir);
  const pixels = store.list();
  const py = JSON.parse(
    python(
      `import sys, json, tokenpixel as tp
s = tp.JsonlStore(sys.argv[1]); ps = s.list()
out = {"summaries": [tp.summarize(p, level, for_task=task, max_tokens=cap).to_dict()
                     for p in ps for level in ("minimal", "full") for task in (None, "terraform", "governance")
                     for cap in (None, 25, 300)],
       "diffs": [tp.diff(a, b).to_dict() for a, b in zip(ps, ps[1:])],
       "texts": [tp.diff(a, b).render() for a, b in zip(ps, ps[1:])]}
print(json.dumps(out))`,
      dir,
    ),
  );
  const summaries = [];
  for (const p of pixels)
    for (const level of ["minimal", "full"])
      for (const forTask of [undefined, "terraform", "governance"])
        for (const maxTokens of [undefined, 25, 300]) summaries.push(tp.summarize(p, { level, forTask, maxTokens }));
  assert.deepEqual(summaries, py.summaries);
  assert.deepEqual(pixels.slice(1).map((b, i) => tp.diff(pixels[i], b)), py.diffs);
  assert.deepEqual(pixels.slice(1).map((b, i) => tp.diffText(pixels[i], b)), py.texts);
});
