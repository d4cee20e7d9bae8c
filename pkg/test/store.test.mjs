// tokenpixel/node JsonlStore (docs/SPEC.md section 12): reads, keys, appends, transactions,
// prune with anchor, torn-tail recovery.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import tp from "tokenpixel";
import { JsonlStore } from "tokenpixel/node";

const C = "DISTRICT_4.CHAMBER_EXEC.NODE_POST";
const AGENT = "agent-s";

function fill(store, n, agent = AGENT) {
  const chain = new tp.Chain(agent, "s1");
  const pixels = [];
  for (let i = 0; i < n; i++) {
    const p = chain.emit(C, { state: { i }, timestampMs: 1000 + i });
    store.append(p);
    pixels.push(p);
  }
  return { chain, pixels };
}

const made = [];
after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-store-"));
  made.push(dir);
  return dir;
};
const lineOf = (p) => `${tp.toJsonLine(p)}\n`;

test("append, latest, list, get, iterate, verify", () => {
  const store = new JsonlStore(tmp(), { fsync: true });
  const { pixels } = fill(store, 20);
  assert.deepEqual(store.agents(), [AGENT]);
  assert.deepEqual(store.latest(), pixels[19]);
  assert.deepEqual(store.list(undefined, { limit: 3 }), pixels.slice(17));
  assert.deepEqual(store.list(AGENT, { limit: 0 }), []);
  assert.deepEqual(store.list(AGENT, { limit: 50 }), pixels);
  assert.deepEqual(store.list(AGENT), pixels);
  assert.deepEqual([...store], pixels);
  assert.deepEqual([...store.lines(AGENT)], pixels.map((p) => tp.toJsonLine(p)));
  const r = store.verify();
  assert.deepEqual([r.ok, r.count, r.head], [true, 20, pixels[19].hash]);
  assert.equal(fs.readFileSync(store.path(AGENT), "utf8"), pixels.map(lineOf).join(""));
  // Transactions leave no lock behind.
  assert.deepEqual(fs.readdirSync(store.directory), [`pixels_${AGENT}.jsonl`]);
});

test("get resolves keys as SPEC 12.6 says", () => {
  const store = new JsonlStore(tmp());
  const { pixels } = fill(store, 12);
  assert.deepEqual(store.get(7), pixels[7]);
  assert.deepEqual(store.get("11"), pixels[11]); // digits are a seq, never a hash prefix
  assert.deepEqual(store.get(pixels[9].hash), pixels[9]);
  assert.deepEqual(store.get(pixels[9].hash.slice(7, 19).toUpperCase()), pixels[9]);
  assert.deepEqual(store.get(`sha256:${pixels[4].hash.slice(7, 13)}`), pixels[4]);
  assert.throws(() => store.get(999), { code: "NOT_FOUND" });
  assert.throws(() => store.get("585076985525"), {
    code: "NOT_FOUND",
    message: /has no pixel "585076985525" \(digits are a seq: for a hash prefix of digits write "sha256:585076985525"\)/,
  });
  assert.throws(() => store.get("sha256:0000000000"), (e) => e.code === "NOT_FOUND" || e.code === "AMBIGUOUS_KEY");
  for (const bad of ["²", "abc", "xyz1", "-1", " 1", "", 1.5, -1]) {
    assert.throws(() => store.get(bad), { code: "INVALID_ARGUMENT" }, String(bad));
  }
});

test("a hash prefix that matches several pixels is AMBIGUOUS_KEY, naming how many", () => {
  const store = new JsonlStore(tmp());
  const chain = new tp.Chain(AGENT, "s1");
  const seen = new Map();
  let prefix;
  for (let i = 0; !prefix; i++) {
    const p = chain.emit(C, { state: { i }, timestampMs: 1000 + i });
    store.append(p);
    const four = p.hash.slice(7, 11);
    if (seen.has(four) && /[a-f]/.test(four)) prefix = four;
    seen.set(four, p);
  }
  assert.throws(() => store.get(prefix), (e) => e.code === "AMBIGUOUS_KEY" && /matches 2 pixels/.test(e.message));
});

test("reads never create anything; a missing chain is NOT_FOUND", () => {
  const root = tmp();
  const dir = path.join(root, "store");
  const store = new JsonlStore(dir);
  assert.equal(fs.existsSync(dir), false);
  assert.deepEqual(store.agents(), []);
  for (const read of [
    () => store.verify("ghost"),
    () => store.latest("ghost"),
    () => store.list("ghost", { limit: 2 }),
    () => store.list("ghost"),
    () => store.lines("ghost"),
    () => store.iter("ghost"),
    () => store.get(0, "ghost"),
    () => store.anchor("ghost"),
    () => store.prune(1, "ghost"),
    () => store.recover("ghost"),
    () => store.verify(),
  ]) {
    assert.throws(read, { code: "NOT_FOUND" }, String(read));
  }
  assert.equal(fs.existsSync(dir), false);
  // The first append creates the directory and the chain.
  fill(store, 1, "ghost");
  assert.deepEqual(fs.readdirSync(dir), ["pixels_ghost.jsonl"]);
  // An existing store, another agent: still NOT_FOUND, still nothing created.
  assert.throws(() => store.verify("other"), { code: "NOT_FOUND" });
  assert.deepEqual(fs.readdirSync(dir), ["pixels_ghost.jsonl"]);
  assert.deepEqual(fs.readdirSync(root), ["store"]);
});

test("append refuses a fork (CHAIN_CONFLICT), a foreign pixel and a tampered head", () => {
  const store = new JsonlStore(tmp());
  const { pixels } = fill(store, 3);
  const file = store.path(AGENT);
  const before = fs.readFileSync(file);
  const fork = tp.Chain.resume(pixels.slice(0, 2)).emit(C, { timestampMs: 5000 });
  assert.throws(() => store.append(fork), { code: "CHAIN_CONFLICT" });
  assert.throws(() => store.append(pixels[1]), { code: "CHAIN_CONFLICT" });
  // A pixel of another agent in this agent's transaction.
  const stranger = new tp.Chain("someone-else", "s").emit(C, { timestampMs: 5000 });
  assert.throws(() => store.transaction(AGENT, (tx) => tx.append(stranger)), { code: "CHAIN_CONFLICT" });
  const fresh = new JsonlStore(tmp());
  assert.throws(() => fresh.transaction("b", (tx) => tx.append(stranger)), { code: "AGENT_CHANGED" });
  assert.deepEqual(fs.readdirSync(fresh.directory), []);
  // A non-canonical line is refused with the core's code.
  const next = tp.Chain.resume(pixels).emit(C, { timestampMs: 6000 });
  assert.throws(() => store.append(JSON.stringify(next, null, 1)), { code: "NOT_CANONICAL" });
  assert.deepEqual(fs.readFileSync(file), before);
  // A tampered head is not extended.
  fs.writeFileSync(file, before.toString("utf8").replace('"i":2', '"i":7'));
  assert.throws(() => store.append(next), { code: "HASH_MISMATCH" });
  fs.writeFileSync(file, before);
  store.append(next);
  assert.equal(store.verify().count, 4);
});

test("transaction: head, anchor, append, replace, and its result", () => {
  const store = new JsonlStore(tmp());
  const out = store.transaction("t", (tx) => {
    assert.equal(tx.agentId, "t");
    assert.equal(tx.head(), undefined);
    assert.equal(tx.anchor(), undefined);
    const chain = new tp.Chain("t", "s");
    for (let i = 0; i < 5; i++) tx.append(chain.emit(C, { state: { i }, timestampMs: 10 + i }));
    assert.equal(tx.head().seq, 4);
    return "done";
  });
  assert.equal(out, "done");
  const pixels = store.list("t");
  store.transaction("t", (tx) => {
    tx.replace(pixels.slice(2).map((p) => tp.toJsonLine(p)), pixels[1].hash);
    assert.equal(tx.anchor(), pixels[1].hash);
    assert.deepEqual(tx.head(), pixels[4]);
  });
  assert.deepEqual(store.list("t"), pixels.slice(2));
  const anchorFile = path.join(store.directory, "pixels_t.anchor");
  const record = JSON.parse(fs.readFileSync(anchorFile, "utf8"));
  assert.deepEqual([record.anchor, record.firstSeq], [pixels[1].hash, 2]);
  assert.match(fs.readFileSync(anchorFile, "utf8"), /^\{"anchor":"sha256:[0-9a-f]{64}","firstSeq":2,"prunedAtMs":\d+\}\n$/);
  // replace refuses lines that do not verify against the anchor, and changes nothing.
  const chainBytes = fs.readFileSync(store.path("t"));
  assert.throws(() => store.transaction("t", (tx) => tx.replace(pixels.slice(3), pixels[1].hash)), { code: "ANCHOR_MISMATCH" });
  assert.throws(() => store.transaction("t", (tx) => tx.replace([pixels[0], pixels[2]])), { code: "BROKEN_LINK" });
  assert.deepEqual(fs.readFileSync(store.path("t")), chainBytes);
  assert.equal(fs.existsSync(`${store.path("t")}.tmp`), false);
  // Without an anchor the chain starts at genesis again and the anchor file goes.
  store.transaction("t", (tx) => tx.replace(pixels));
  assert.equal(fs.existsSync(anchorFile), false);
  assert.equal(store.verify("t").count, 5);
  // A transaction's object is dead once it ended.
  let kept;
  store.transaction("t", (tx) => {
    kept = tx;
  });
  assert.throws(() => kept.head(), { code: "INVALID_ARGUMENT" });
  assert.throws(() => store.transaction("t", 5), { code: "INVALID_ARGUMENT" });
});

test("nested transactions on one chain join the outer one; errors release the lock", () => {
  const store = new JsonlStore(tmp());
  fill(store, 2);
  const lockDir = path.join(store.directory, `pixels_${AGENT}.lock`);
  const seen = store.transaction(AGENT, (outer) => {
    assert.equal(fs.readdirSync(lockDir).length, 1);
    const inner = store.transaction(AGENT, (tx) => {
      const head = tx.head();
      store.append(tp.Chain.resume([head], { anchor: head.prevHash }).emit(C, { timestampMs: 5000 }));
      return tx.head().seq;
    });
    assert.equal(fs.existsSync(lockDir), true); // still held by the outer transaction
    return [inner, outer.head().seq];
  });
  assert.deepEqual(seen, [2, 2]);
  assert.equal(fs.existsSync(lockDir), false);
  assert.throws(
    () =>
      store.transaction(AGENT, () => {
        throw new RangeError("boom");
      }),
    RangeError,
  );
  assert.equal(fs.existsSync(lockDir), false);
  assert.equal(store.verify().count, 3);
});

test("async transactions keep the lock until they settle and queue behind each other", async () => {
  const store = new JsonlStore(tmp());
  const { pixels } = fill(store, 1);
  const lockDir = path.join(store.directory, `pixels_${AGENT}.lock`);
  const order = [];
  const first = store.transaction(AGENT, async (tx) => {
    order.push("first:start");
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(fs.existsSync(lockDir), true);
    const p = tp.Chain.resume([tx.head()]).emit(C, { timestampMs: 2000 });
    tx.append(p);
    // Nested in the async one: joins it, does not wait for itself.
    await store.transaction(AGENT, async (inner) => assert.equal(inner.head().seq, 1));
    order.push("first:end");
    return p.seq;
  });
  assert.ok(first instanceof Promise);
  // A synchronous transaction cannot wait for an asynchronous one of its own process.
  assert.throws(() => store.append(pixels[0]), (e) => e.code === "STORE_LOCKED" && /held by this process/.test(e.message));
  const second = store.transaction(AGENT, async (tx) => {
    order.push("second");
    return tx.head().seq;
  });
  assert.deepEqual(await Promise.all([first, second]), [1, 1]);
  assert.deepEqual(order, ["first:start", "first:end", "second"]);
  assert.equal(fs.existsSync(lockDir), false);
  await assert.rejects(
    store.transaction(AGENT, async () => {
      throw new RangeError("later");
    }),
    RangeError,
  );
  assert.equal(fs.existsSync(lockDir), false);
  // A sync function that returns a promise also keeps the lock until it settles.
  let release;
  const pending = store.transaction(AGENT, () => new Promise((r) => (release = r)));
  assert.equal(fs.existsSync(lockDir), true);
  release("x");
  assert.equal(await pending, "x");
  assert.equal(fs.existsSync(lockDir), false);
});

test("prune records the anchor and the chain continues", () => {
  const store = new JsonlStore(tmp());
  const { pixels } = fill(store, 12);
  assert.equal(store.prune(20), 0);
  assert.equal(store.prune(4), 8);
  assert.equal(store.anchor(), pixels[7].hash);
  assert.deepEqual(store.list(), pixels.slice(8));
  const r = store.verify();
  assert.deepEqual([r.ok, r.count], [true, 4]);
  const chain = tp.Chain.resume(store.list(), { anchor: store.anchor() });
  store.append(chain.emit(C, { timestampMs: 99_999 }));
  assert.equal(store.verify().count, 5);
  assert.throws(() => store.prune(0), { code: "INVALID_ARGUMENT" });
  assert.throws(() => store.prune(1.5), { code: "INVALID_ARGUMENT" });
  assert.deepEqual(fs.readdirSync(store.directory).sort(), [`pixels_${AGENT}.anchor`, `pixels_${AGENT}.jsonl`]);
});

test("a chain pruned to nothing continues only at the anchor record's firstSeq", () => {
  const store = new JsonlStore(tmp());
  const { pixels } = fill(store, 4);
  store.transaction(AGENT, (tx) => tx.replace([], pixels[3].hash));
  assert.deepEqual(store.list(), []);
  assert.equal(store.latest(), undefined);
  const record = JSON.parse(fs.readFileSync(path.join(store.directory, `pixels_${AGENT}.anchor`), "utf8"));
  assert.deepEqual([record.anchor, record.firstSeq], [pixels[3].hash, 4]);
  const next = tp.Chain.resume(pixels).emit(C, { timestampMs: 9000 });
  assert.throws(() => store.append(pixels[3]), { code: "CHAIN_CONFLICT" });
  // The record's firstSeq decides which seq may come next, not only its anchor.
  const anchorFile = path.join(store.directory, `pixels_${AGENT}.anchor`);
  const good = fs.readFileSync(anchorFile, "utf8");
  fs.writeFileSync(anchorFile, good.replace('"firstSeq":4', '"firstSeq":7'));
  assert.throws(() => store.append(next), { code: "CHAIN_CONFLICT" });
  fs.writeFileSync(anchorFile, good);
  store.append(next);
  const r = store.verify();
  assert.deepEqual([r.ok, r.count, r.head], [true, 1, next.hash]);
});

test("a bad anchor file is STORE_CORRUPT, not a verification failure", () => {
  const store = new JsonlStore(tmp());
  const { pixels } = fill(store, 6);
  store.prune(3);
  const anchorFile = path.join(store.directory, `pixels_${AGENT}.anchor`);
  const good = fs.readFileSync(anchorFile, "utf8");
  for (const bad of ["not json\n", '{"anchor":"sha256:12"}\n', "[]\n", good.replace('"firstSeq":3', '"firstSeq":2')]) {
    fs.writeFileSync(anchorFile, bad);
    assert.throws(() => store.anchor(), { code: "STORE_CORRUPT" }, bad);
    assert.throws(() => store.verify(), { code: "STORE_CORRUPT" }, bad);
    assert.throws(() => store.transaction(AGENT, (tx) => tx.anchor()), { code: "STORE_CORRUPT" }, bad);
  }
  fs.writeFileSync(anchorFile, good);
  assert.equal(store.anchor(), pixels[2].hash);
});

test("a torn last line is recovered under the lock, never dropped", () => {
  const store = new JsonlStore(tmp());
  const { pixels } = fill(store, 4);
  const file = store.path(AGENT);
  const whole = fs.readFileSync(file);
  const next = tp.toJsonLine(tp.Chain.resume(pixels).emit(C, { timestampMs: 10_000 }));
  fs.writeFileSync(file, Buffer.concat([whole, Buffer.from(next.slice(0, 40))]));
  const report = store.verify();
  assert.deepEqual([report.ok, report.error.code, report.error.index], [false, "MALFORMED_JSON", 4]);
  assert.deepEqual(store.latest(), pixels[3]); // readers ignore the tail, and never repair
  assert.deepEqual(store.list(AGENT, { limit: 2 }), pixels.slice(2));
  assert.equal([...store.lines()].length, 4);
  assert.equal(fs.readFileSync(file).length, whole.length + 40);
  const rec = store.recover();
  assert.deepEqual([rec.action, rec.byteCount], ["moved", 40]);
  assert.equal(path.dirname(rec.savedTo), store.directory);
  assert.match(path.basename(rec.savedTo), new RegExp(`^pixels_${AGENT}\\.jsonl\\.torn-\\d+$`));
  assert.equal(fs.readFileSync(rec.savedTo, "utf8"), next.slice(0, 40));
  assert.deepEqual(fs.readFileSync(file), whole);
  assert.equal(store.recover(), undefined);
  // A whole line missing only its newline is completed by the next append.
  fs.writeFileSync(file, Buffer.concat([whole, Buffer.from(next)]));
  const resumed = tp.Chain.resume([...pixels, next]);
  store.append(resumed.emit(C, { timestampMs: 20_000 }));
  assert.deepEqual(store.recoveries.at(-1), { agentId: AGENT, action: "completed", byteCount: next.length, savedTo: undefined });
  assert.equal(store.verify().count, 6);
});

test("latest and list read the tail of a long chain, whatever the line sizes", () => {
  const store = new JsonlStore(tmp());
  const chain = new tp.Chain(AGENT, "s1");
  const all = [];
  for (let i = 0; i < 40; i++) {
    const p = chain.emit(C, { state: { i, pad: "x".repeat(i % 3 === 0 ? 700_000 : 10) }, timestampMs: 1000 + i });
    store.append(p);
    all.push(p);
    assert.deepEqual(store.latest(), p);
  }
  assert.deepEqual(store.list(AGENT, { limit: 7 }), all.slice(33));
  assert.equal(store.verify().count, 40);
  assert.deepEqual(store.get(`sha256:${all[21].hash.slice(7, 30)}`), all[21]);
});

test("store arguments are checked", () => {
  assert.throws(() => new JsonlStore(""), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new JsonlStore(tmp(), { fsync: "yes" }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new JsonlStore(tmp(), { lockTimeoutMs: -1 }), { code: "INVALID_ARGUMENT" });
  const store = new JsonlStore(tmp());
  fill(store, 2);
  fill(store, 1, "second");
  assert.throws(() => store.latest(), { code: "INVALID_ARGUMENT" }); // several agents: name one
  assert.throws(() => store.list(AGENT, { limit: -1 }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => store.list(AGENT, { limit: 1.5 }), { code: "INVALID_ARGUMENT" });
  assert.deepEqual(store.agents(), [AGENT, "second"]);
});
