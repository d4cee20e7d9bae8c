// The writer lock of SPEC 12.3: the owner file, a live holder is waited for, a dead one (killed,
// rebooted, pid reused) is broken at once, a holder on another host never is.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import tp from "tokenpixel";
import { JsonlStore } from "tokenpixel/node";
import { startHolder } from "./fixtures/holder.mjs";
import { PKG } from "./helpers.mjs";

const C = "DISTRICT_4.CHAMBER_EXEC.NODE_POST";
const AGENT = "locked";
const HOLDER = path.join(PKG, "test", "fixtures", "lock_holder.mjs");
const made = [];
after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-lock-"));
  made.push(dir);
  return dir;
};
const lockDirOf = (dir, agent = AGENT) => path.join(dir, `pixels_${agent}.lock`);

function boot() {
  try {
    return fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
}

function startOf(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

/** A store with a chain of two pixels, and the next pixel to append. */
function setup(options) {
  const dir = tmp();
  const store = new JsonlStore(dir, options);
  const chain = new tp.Chain(AGENT, "s1");
  for (let i = 0; i < 2; i++) store.append(chain.emit(C, { state: { i }, timestampMs: 1000 + i }));
  return { dir, store, next: () => chain.emit(C, { timestampMs: Date.now() }) };
}

function readOwners(lockDir) {
  return fs.readdirSync(lockDir).map((name) => ({ name, ...JSON.parse(fs.readFileSync(path.join(lockDir, name), "utf8")) }));
}

/** Puts an owner file into the lock directory, as if `owner` held the lock. */
function plant(dir, owner) {
  const lockDir = lockDirOf(dir);
  fs.mkdirSync(lockDir, { recursive: true });
  const file = path.join(lockDir, `owner-${crypto.randomBytes(16).toString("hex")}.json`);
  fs.writeFileSync(file, typeof owner === "string" ? owner : JSON.stringify(owner));
  return file;
}

test("the owner file says who holds the lock, and nothing is left after release", () => {
  const { dir, store, next } = setup();
  const seen = store.transaction(AGENT, (tx) => {
    tx.append(next());
    return readOwners(lockDirOf(dir));
  });
  assert.equal(seen.length, 1);
  const [owner] = seen;
  assert.match(owner.name, /^owner-[0-9a-f]{32}\.json$/);
  assert.deepEqual(
    { host: owner.host, boot: owner.boot, pid: owner.pid, start: owner.start, lang: owner.lang },
    { host: os.hostname(), boot: boot(), pid: process.pid, start: startOf(process.pid), lang: "node" },
  );
  assert.ok(Number.isSafeInteger(owner.acquiredMs) && Math.abs(owner.acquiredMs - Date.now()) < 60_000);
  assert.deepEqual(fs.readdirSync(dir), [`pixels_${AGENT}.jsonl`]);
  assert.equal(store.verify().count, 3);
});

test("a Node writer killed with -9 inside a transaction does not block the next writer", async () => {
  const { dir, next } = setup();
  const holder = await startHolder(process.execPath, [HOLDER, dir, AGENT]);
  const [owner] = readOwners(lockDirOf(dir));
  assert.deepEqual([owner.pid, owner.lang], [holder.pid, "node"]);
  // While it lives, the lock is held: STORE_LOCKED naming the holder.
  const impatient = new JsonlStore(dir, { lockTimeoutMs: 200 });
  const pixel = next();
  assert.throws(
    () => impatient.append(pixel),
    (e) => e.code === "STORE_LOCKED" && e.message.includes(`pid ${holder.pid} (node) on host ${os.hostname()}`),
  );
  await holder.kill();
  // Dead now: the next writer breaks the lock at once (a 2 s timeout would throw STORE_LOCKED).
  new JsonlStore(dir, { lockTimeoutMs: 2000 }).append(pixel);
  assert.equal(new JsonlStore(dir).verify(AGENT).count, 3);
  assert.deepEqual(fs.readdirSync(dir), [`pixels_${AGENT}.jsonl`]);
});

test("a dead holder is broken: another boot, no such process, a reused pid", () => {
  const gone = spawnSync(process.execPath, ["-e", ""]).pid; // exited and reaped
  const me = { host: os.hostname(), boot: boot(), lang: "python", acquiredMs: Date.now() };
  const parent = { pid: process.ppid, start: startOf(process.ppid) };
  const cases = {
    "another boot": { ...me, ...parent, boot: "00000000-0000-4000-8000-000000000000" },
    "no such process": { ...me, pid: gone, start: "1" },
    "a reused pid": { ...me, pid: parent.pid, start: String(Number(parent.start) + 1) },
  };
  for (const [why, owner] of Object.entries(cases)) {
    const { dir, store, next } = setup({ lockTimeoutMs: 2000 });
    const planted = plant(dir, owner);
    store.append(next());
    assert.equal(fs.existsSync(planted), false, why);
    assert.deepEqual(fs.readdirSync(dir), [`pixels_${AGENT}.jsonl`], why);
    assert.equal(store.verify().count, 3, why);
  }
});

test("a live holder, a holder on another host and an unreadable owner are never broken", () => {
  const me = { host: os.hostname(), boot: boot(), lang: "python", acquiredMs: 1_763_900_000_000 };
  const cases = [
    ["a live process", { ...me, pid: process.ppid, start: startOf(process.ppid) }, `pid ${process.ppid} (python) on host ${os.hostname()} since 2025-11-23`],
    ["another host", { ...me, host: "elsewhere.example", pid: 999_999_999, start: "" }, "host elsewhere.example"],
    ["no start recorded", { ...me, pid: process.ppid, start: "" }, `pid ${process.ppid}`],
    ["garbage", "{not json", "unreadable owner file"],
    ["a pid that is not a process id", { ...me, pid: -1, start: "" }, "unreadable owner file"],
  ];
  for (const [why, owner, named] of cases) {
    const { dir, store, next } = setup({ lockTimeoutMs: 100 });
    const planted = plant(dir, owner);
    const before = fs.readFileSync(store.path(AGENT));
    assert.throws(() => store.append(next()), (e) => e.code === "STORE_LOCKED" && e.message.includes(named), why);
    assert.equal(fs.existsSync(planted), true, why);
    assert.deepEqual(fs.readFileSync(store.path(AGENT)), before, why);
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes(".tmp-")), [], why); // step 4
  }
});

test("a lock directory with no owner file but other content times out; an empty one is taken", () => {
  const { dir, store, next } = setup({ lockTimeoutMs: 100 });
  fs.mkdirSync(lockDirOf(dir));
  store.append(next()); // an empty directory is a free lock (rename replaces it)
  fs.mkdirSync(lockDirOf(dir));
  fs.writeFileSync(path.join(lockDirOf(dir), "junk"), "");
  assert.throws(() => store.append(next()), (e) => e.code === "STORE_LOCKED" && /without an owner file/.test(e.message));
});

test("an async transaction waits for another process's lock without blocking the event loop", async () => {
  const { dir, store, next } = setup({ lockTimeoutMs: 10_000 });
  const holder = await startHolder(process.execPath, [HOLDER, dir, AGENT]);
  let ticks = 0;
  const timer = setInterval(() => (ticks += 1), 5);
  const pixel = next();
  const appended = store.transaction(AGENT, async (tx) => {
    tx.append(pixel);
    return tx.head().seq;
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const ticksWhileWaiting = ticks;
  assert.equal(fs.readFileSync(store.path(AGENT), "utf8").split("\n").length, 3); // not appended yet
  await holder.kill();
  assert.equal(await appended, 2);
  clearInterval(timer);
  assert.ok(ticksWhileWaiting >= 5, `the timer ran ${ticksWhileWaiting} times while the transaction waited`);
});
