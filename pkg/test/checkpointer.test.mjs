// The Node Checkpointer (issue 10): sync and background emits, stages, listeners, triggers.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { TokenPixelError } from "tokenpixel";
import { Checkpointer, EventTriggeredCheckpointer, JsonlStore, PeriodicCheckpointer } from "tokenpixel/node";

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "tp-cp-"));
const A = "agent-cp";

function corridors(store) {
  return store.list(A).map((p) => p.corridor);
}

test("sync emit persists and continues another writer's chain", () => {
  const store = new JsonlStore(tmp());
  const a = new Checkpointer(store, A, { sessionId: "s1" });
  const b = new Checkpointer(store, A, { sessionId: "s2" });
  const events = [];
  a.addListener((e) => events.push(e));
  const p0 = a.emit("DISTRICT_1.CHAMBER_0.NODE_PRE", { state: { n: 0 } });
  const p1 = b.emit("DISTRICT_1.CHAMBER_0.NODE_POST");
  const p2 = a.emit("DISTRICT_2.CHAMBER_LORA.NODE_PRE");
  assert.deepEqual([p0.seq, p1.seq, p2.seq], [0, 1, 2]);
  assert.equal(p2.prevHash, p1.hash);
  assert.deepEqual(p1.state, { n: 0 }); // carried forward from a's pixel
  const report = store.verify(A);
  assert.deepEqual([report.ok, report.count, report.head], [true, 3, p2.hash]);
  assert.deepEqual(events.map((e) => [e.eventType, e.tokenPixelId, e.metadata.seq]), [
    ["CHECKPOINT_CREATED", p0.hash, 0],
    ["CHECKPOINT_CREATED", p2.hash, 2],
  ]);
});

test("stage emits PRE and POST, and NODE_ERROR before rethrowing", async () => {
  const store = new JsonlStore(tmp());
  const cp = new Checkpointer(store, A);
  const out = await cp.stage("DISTRICT_2.CHAMBER_LORA", async (st) => {
    st.state = { drift: 0.125 };
    st.update({ autonomyIndex: 0.75 });
    return "done";
  });
  assert.equal(out, "done");
  await assert.rejects(
    cp.stage("DISTRICT_5.CHAMBER_DEPLOY", async () => {
      throw new RangeError("target unreachable");
    }),
    RangeError,
  );
  assert.deepEqual(corridors(store), [
    "DISTRICT_2.CHAMBER_LORA.NODE_PRE",
    "DISTRICT_2.CHAMBER_LORA.NODE_POST",
    "DISTRICT_5.CHAMBER_DEPLOY.NODE_PRE",
    "DISTRICT_5.CHAMBER_DEPLOY.NODE_ERROR",
  ]);
  const [, post, , error] = store.list(A);
  assert.deepEqual([post.state, post.autonomyIndex], [{ drift: 0.125 }, 0.75]);
  assert.deepEqual(error.context.variables, { error_type: "RangeError", error_msg: "target unreachable" });
  assert.equal(error.context.notes, "Error: RangeError: target unreachable");
});

test("concurrent stages (Promise.all) keep one valid chain", async () => {
  const store = new JsonlStore(tmp());
  const cp = new Checkpointer(store, A);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      cp.stage(`DISTRICT_4.CHAMBER_W${i}`, async (st) => {
        await sleep((i * 7) % 5);
        st.state = { worker: i };
      }),
    ),
  );
  const report = store.verify(A);
  assert.deepEqual([report.ok, report.count], [true, 20]);
});

test("background mode: hash at once, durable after flush, lock held until close", async () => {
  const dir = tmp();
  const store = new JsonlStore(dir);
  const cp = new Checkpointer(store, A, { background: true });
  const pixels = Array.from({ length: 50 }, (_, i) => cp.emit("DISTRICT_4.CHAMBER_EXEC.NODE_POST", { state: { i } }));
  assert.equal(pixels[49].seq, 49);
  assert.equal(cp.pending, 50); // nothing written before the caller yields
  const other = new JsonlStore(dir, { lockTimeoutMs: 50 });
  await cp.flush();
  assert.equal(cp.pending, 0);
  assert.equal(store.latest(A).hash, pixels[49].hash);
  await cp.close();
  assert.throws(() => cp.emit("DISTRICT_4.CHAMBER_EXEC.NODE_POST"), (e) => e.code === "INVALID_ARGUMENT");
  // After close the lock is free: a sync writer continues the chain.
  const next = new Checkpointer(other, A).emit("DISTRICT_5.CHAMBER_DEPLOY.NODE_PRE");
  assert.equal(next.prevHash, pixels[49].hash);
  assert.deepEqual([store.verify(A).ok, store.verify(A).count], [true, 51]);
});

test("background writes drain on their own after the caller yields", async () => {
  const store = new JsonlStore(tmp());
  const cp = new Checkpointer(store, A, { background: true, batchSize: 8 });
  for (let i = 0; i < 30; i++) cp.emit("DISTRICT_1.CHAMBER_0.NODE_PRE", { state: { i } });
  for (let i = 0; i < 10 && cp.pending; i++) await new Promise((r) => setImmediate(r));
  assert.equal(cp.pending, 0);
  assert.equal(store.verify(A).count, 30);
  await cp.close();
});

test("a full queue blocks (drains on the caller) or throws QUEUE_FULL", async () => {
  const store = new JsonlStore(tmp());
  const blocking = new Checkpointer(store, A, { background: true, queueSize: 4 });
  for (let i = 0; i < 10; i++) blocking.emit("DISTRICT_1.CHAMBER_0.NODE_PRE", { state: { i } });
  assert.ok(blocking.pending <= 4);
  assert.ok(store.verify(A).count >= 6); // written on the caller when the queue was full
  await blocking.close();
  const throwing = new Checkpointer(store, A, { background: true, queueSize: 3, onFull: "throw" });
  for (let i = 0; i < 3; i++) throwing.emit("DISTRICT_1.CHAMBER_0.NODE_PRE");
  const before = throwing.head.seq;
  assert.throws(() => throwing.emit("DISTRICT_1.CHAMBER_0.NODE_PRE"), (e) => e instanceof TokenPixelError && e.code === "QUEUE_FULL");
  assert.equal(throwing.head.seq, before); // nothing was sealed or queued
  await throwing.close();
  assert.deepEqual([store.verify(A).ok, store.verify(A).count], [true, 13]);
});

test("a failed background write is raised by the next emit and by flush, never dropped", async () => {
  const dir = tmp();
  const store = new JsonlStore(dir);
  // Inject a failure into the real store's transaction: the 3rd append fails once.
  let appends = 0;
  const flaky = {
    latest: (a) => store.latest(a),
    transaction: (agent, fn) =>
      store.transaction(agent, (tx) =>
        fn({
          head: () => tx.head(),
          anchor: () => tx.anchor(),
          replace: (l, a) => tx.replace(l, a),
          append: (p) => {
            appends += 1;
            if (appends === 3) throw new TokenPixelError("disk full (injected)", "STORE_IO");
            tx.append(p);
          },
        }),
      ),
  };
  const cp = new Checkpointer(flaky, A, { background: true });
  for (let i = 0; i < 5; i++) cp.emit("DISTRICT_1.CHAMBER_0.NODE_PRE", { state: { i } });
  await assert.rejects(cp.flush(), (e) => e.code === "STORE_IO");
  assert.equal(cp.pending, 3); // the failed pixel and those after it stay queued
  assert.throws(() => cp.emit("DISTRICT_1.CHAMBER_0.NODE_PRE"), (e) => e.code === "STORE_IO");
  assert.equal(store.verify(A).count, 2);
  await assert.rejects(cp.close(), (e) => e.code === "STORE_IO");
});

function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, "fixtures", "bg_writer.mjs"), ...args], { cwd: here });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.endsWith("\n")) resolve({ child, hashes: JSON.parse(out) });
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (!out.endsWith("\n")) reject(new Error(`writer exited ${code} before reporting`));
    });
  });
}

test("kill -9 after flush() loses no flushed pixel", async () => {
  const dir = tmp();
  const { child, hashes } = await run([dir, A, "200", "flush"]);
  const exited = new Promise((r) => child.on("exit", r));
  child.kill("SIGKILL");
  await exited;
  const store = new JsonlStore(dir);
  assert.deepEqual(store.list(A).map((p) => p.hash), hashes);
  // The dead holder's lock is broken at once by the next writer.
  const next = new Checkpointer(store, A).emit("DISTRICT_5.CHAMBER_DEPLOY.NODE_PRE");
  assert.equal(next.prevHash, hashes.at(-1));
});

test("process.exit with queued writes drains them", async () => {
  const dir = tmp();
  const { child, hashes } = await run([dir, A, "100", "exit"]);
  await new Promise((r) => (child.exitCode === null ? child.on("exit", r) : r()));
  const store = new JsonlStore(dir);
  assert.deepEqual(store.list(A).map((p) => p.hash), hashes);
  assert.equal(store.verify(A).ok, true);
});

test("PeriodicCheckpointer: current corridor, skips unchanged, stops", async () => {
  const store = new JsonlStore(tmp());
  const cp = new Checkpointer(store, A);
  cp.emit("DISTRICT_4.CHAMBER_EXEC.NODE_PRE", { state: { n: 0 } });
  const values = [{ n: 0 }, { n: 1 }, { n: 1 }, { n: 2 }];
  const p = new PeriodicCheckpointer(cp, 60_000, { state: () => values.shift() });
  const results = [p.tick(), p.tick(), p.tick(), p.tick()];
  assert.deepEqual(results.map((r) => r === undefined), [true, false, true, false]);
  assert.equal(p.skipped, 2);
  assert.deepEqual(corridors(store).slice(-2), ["DISTRICT_4.CHAMBER_EXEC.NODE_PERIODIC", "DISTRICT_4.CHAMBER_EXEC.NODE_PERIODIC"]);
  let i = 0;
  const timer = new PeriodicCheckpointer(cp, 10, { state: () => ({ i: ++i }) }).start();
  while (timer.emitted.length < 3) await new Promise((r) => setTimeout(r, 5));
  timer.stop();
  const count = timer.emitted.length;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(timer.emitted.length, count);
  assert.equal(store.verify(A).ok, true);
  assert.throws(() => new PeriodicCheckpointer(cp, 0), (e) => e.code === "INVALID_ARGUMENT");
});

test("EventTriggeredCheckpointer maps the seed's events to corridors", () => {
  const store = new JsonlStore(tmp());
  const cp = new Checkpointer(store, A);
  cp.emit("DISTRICT_4.CHAMBER_EXEC.NODE_PRE", { state: { n: 0 } });
  const bus = new EventEmitter();
  const et = new EventTriggeredCheckpointer(cp).subscribe(bus);
  bus.emit("INTENT_CHANGED", { intent_hash: "intent:deploy" });
  bus.emit("ANOMALY_DETECTED", { metric: "latency", value: 9.5 });
  bus.emit("CORRIDOR_CROSSED", { corridor: "DISTRICT_5.CHAMBER_DEPLOY.NODE_PRE" });
  bus.emit("CORRIDOR_CROSSED", "DISTRICT_5.CHAMBER_DEPLOY.NODE_POST");
  bus.emit("SOMETHING_ELSE", {});
  assert.deepEqual(corridors(store).slice(1), [
    "DISTRICT_4.CHAMBER_EXEC.NODE_INTENT_CHANGE",
    "DISTRICT_4.CHAMBER_EXEC.NODE_ANOMALY",
    "DISTRICT_5.CHAMBER_DEPLOY.NODE_PRE",
    "DISTRICT_5.CHAMBER_DEPLOY.NODE_POST",
  ]);
  assert.equal(et.emitted[0].intentHash, "intent:deploy");
  assert.deepEqual(et.emitted[1].state, { n: 0, event: { name: "ANOMALY_DETECTED", payload: { metric: "latency", value: 9.5 } } });
  assert.throws(() => et.handle("NOPE"), (e) => e.code === "INVALID_ARGUMENT");
  assert.throws(() => et.handle("CORRIDOR_CROSSED", {}), (e) => e.code === "INVALID_ARGUMENT");
});
