// tokenpixel/node JsonlStore: append, read, prune with anchor, torn-line recovery.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import tp from "tokenpixel";
import { JsonlStore } from "tokenpixel/node";

const C = "DISTRICT_4.CHAMBER_EXEC.NODE_POST";

function fill(store, n, agent = "agent-s") {
  const chain = new tp.Chain(agent, "s1");
  const pixels = [];
  for (let i = 0; i < n; i++) {
    const p = chain.emit(C, { state: { i }, timestampMs: 1000 + i });
    store.append(p);
    pixels.push(p);
  }
  return { chain, pixels };
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "tp-store-"));

test("append, latest, list, get, iterate, verify", () => {
  const store = new JsonlStore(tmp(), { fsync: true });
  const { pixels } = fill(store, 20);
  assert.deepEqual(store.agents(), ["agent-s"]);
  assert.deepEqual(store.latest(), pixels[19]);
  assert.deepEqual(store.list(undefined, { limit: 3 }), pixels.slice(17));
  assert.deepEqual(store.get(7), pixels[7]);
  assert.deepEqual(store.get(pixels[9].hash.slice(7, 19)), pixels[9]);
  assert.equal(store.get(999), undefined);
  assert.deepEqual([...store], pixels);
  const r = store.verify();
  assert.equal(r.ok, true);
  assert.equal(r.count, 20);
  assert.equal(fs.readFileSync(store.path("agent-s"), "utf8"), pixels.map((p) => `${tp.toJsonLine(p)}\n`).join(""));
});

test("append refuses a fork", () => {
  const store = new JsonlStore(tmp());
  const { pixels } = fill(store, 3);
  const fork = tp.Chain.resume(pixels.slice(0, 2)).emit(C, { timestampMs: 5000 });
  assert.throws(() => store.append(fork), { code: "BROKEN_LINK" });
  assert.deepEqual(store.latest(), pixels[2]);
});

test("prune records the anchor and the chain continues", () => {
  const store = new JsonlStore(tmp());
  const { pixels } = fill(store, 12);
  assert.equal(store.prune(4), 8);
  assert.equal(store.anchor(), pixels[7].hash);
  const r = store.verify();
  assert.equal(r.ok, true);
  assert.equal(r.count, 4);
  const chain = tp.Chain.resume(store.list(), { anchor: store.anchor() });
  store.append(chain.emit(C, { timestampMs: 99_999 }));
  assert.equal(store.verify().count, 5);
  assert.throws(() => store.prune(0), { code: "INVALID_ARGUMENT" });
});

test("a torn last line is recovered, never dropped", () => {
  const store = new JsonlStore(tmp());
  const { pixels, chain } = fill(store, 4);
  const file = store.path("agent-s");
  const whole = fs.readFileSync(file);
  const next = tp.toJsonLine(tp.Chain.resume(pixels).emit(C, { timestampMs: 10_000 }));
  fs.writeFileSync(file, Buffer.concat([whole, Buffer.from(next.slice(0, 40))]));
  assert.equal(store.verify().ok, false);
  assert.deepEqual(store.latest(), pixels[3]);
  const rec = store.recover();
  assert.equal(rec.action, "moved");
  assert.equal(fs.readFileSync(rec.savedTo, "utf8"), next.slice(0, 40));
  assert.deepEqual(fs.readFileSync(file), whole);
  // A whole line missing only its newline is completed by the next append.
  fs.writeFileSync(file, Buffer.concat([whole, Buffer.from(next)]));
  const resumed = tp.Chain.resume([...pixels, next]);
  store.append(resumed.emit(C, { timestampMs: 20_000 }));
  assert.equal(store.recoveries.at(-1).action, "completed");
  assert.equal(store.verify().count, 6);
  assert.ok(chain);
});

test("latest reads the tail of a long chain, whatever the line sizes", () => {
  const store = new JsonlStore(tmp());
  const chain = new tp.Chain("agent-s", "s1");
  let last;
  for (let i = 0; i < 40; i++) {
    last = chain.emit(C, { state: { i, pad: "x".repeat(i % 3 === 0 ? 70_000 : 10) }, timestampMs: 1000 + i });
    store.append(last);
    assert.deepEqual(store.latest(), last);
  }
  assert.equal(store.verify().count, 40);
});
