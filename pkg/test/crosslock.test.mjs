// The acceptance test of issue 9: Python and Node writers at once on one agent of one JSONL
// store (4 + 4 processes, 500 pixels each), plus a writer killed with -9 while it holds the
// lock. Afterwards the chain verifies, its seqs are 0..N-1, every acknowledged pixel is in it
// and nothing else is (but the killed writer's last append, which it may not have acknowledged).
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { JsonlStore } from "tokenpixel/node";
import { startHolder } from "./fixtures/holder.mjs";
import { PKG, PYTHON } from "./helpers.mjs";

const FIXTURES = path.join(PKG, "test", "fixtures");
const made = [];
after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const tmp = (prefix) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
};
const AGENT = "race";
const EACH = 500;
const LANGS = { python: [PYTHON, path.join(FIXTURES, "race_writer.py")], node: [process.execPath, path.join(FIXTURES, "race_writer.mjs")] };

/** Starts one writer; collects the hashes it acknowledges, line by line. */
function startWriter(lang, dir, session, count, holdMs) {
  const [command, script] = LANGS[lang];
  const args = [script, dir, AGENT, String(count), session, ...(holdMs ? [String(holdMs)] : [])];
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  const writer = { lang, session, pid: child.pid, acked: [], stderr: "", child, onAck: undefined };
  let pending = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (data) => {
    pending += data;
    for (let nl = pending.indexOf("\n"); nl !== -1; nl = pending.indexOf("\n")) {
      writer.acked.push(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      writer.onAck?.(writer.acked.length);
    }
  });
  child.stderr.on("data", (d) => (writer.stderr += d));
  writer.exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  return writer;
}

/** The pid in the lock's owner file right now, if any. */
function lockHolderPid(dir) {
  const lockDir = path.join(dir, `pixels_${AGENT}.lock`);
  try {
    for (const name of fs.readdirSync(lockDir)) {
      if (name.startsWith("owner-")) return JSON.parse(fs.readFileSync(path.join(lockDir, name), "utf8")).pid;
    }
  } catch {
    // released or being replaced: no holder at this instant
  }
  return undefined;
}

/** Kills the victim with -9 once it acknowledged `after` pixels and holds the lock. */
function killWhileHolding(victim, dir, after) {
  return new Promise((resolve) => {
    victim.onAck = (n) => {
      if (n !== after) return;
      const deadline = Date.now() + 10_000;
      const poll = () => {
        const holding = lockHolderPid(dir) === victim.pid;
        if (holding || Date.now() > deadline) {
          victim.child.kill("SIGKILL");
          resolve({ holding, acked: victim.acked.length });
        } else {
          setImmediate(poll);
        }
      };
      poll();
    };
  });
}

test("4 Python + 4 Node writers and one killed writer share one chain", { timeout: 300_000 }, async (t) => {
  const dir = tmp("tp-race-");
  const started = Date.now();
  const writers = [];
  for (let k = 0; k < 4; k++) {
    writers.push(startWriter("python", dir, `py-${k}`, EACH));
    writers.push(startWriter("node", dir, `node-${k}`, EACH));
  }
  // The victim holds the lock 20 ms per pixel after acknowledging it: killed there, it leaves
  // its owner file behind for the others to find dead.
  const victim = startWriter("python", dir, "victim", 100_000, 20);
  const killed = await killWhileHolding(victim, dir, 25);
  const results = await Promise.all(writers.map((w) => w.exited));
  const victimExit = await victim.exited;
  const seconds = (Date.now() - started) / 1000;

  results.forEach((r, i) => assert.deepEqual(r, { code: 0, signal: null }, `${writers[i].session}: ${writers[i].stderr}`));
  assert.equal(victimExit.signal, "SIGKILL");
  assert.equal(killed.holding, true, "the victim was killed while it held the lock");
  for (const w of writers) assert.equal(w.acked.length, EACH, w.session);
  const victimAcked = victim.acked.slice(0, killed.acked);

  // The chain verifies, in Python and in Node.
  const store = new JsonlStore(dir);
  const report = store.verify(AGENT);
  assert.deepEqual([report.ok, report.error], [true, null]);
  const cli = execFileSync(PYTHON, ["-m", "tokenpixel", "--store", dir, "--agent", AGENT, "verify"], { encoding: "utf8" });
  assert.match(cli, new RegExp(`^OK .*: ${report.count} pixels`));

  // Seqs 0..N-1; every acknowledged pixel is in the chain, written by the writer that acknowledged it.
  const pixels = store.list(AGENT);
  assert.deepEqual(
    pixels.map((p) => p.seq),
    pixels.map((_, i) => i),
  );
  const byHash = new Map(pixels.map((p) => [p.hash, p]));
  const acked = new Set();
  for (const w of [...writers, { session: "victim", acked: victimAcked }]) {
    for (const hash of w.acked) {
      assert.equal(byHash.get(hash)?.sessionId, w.session, `${w.session} acknowledged ${hash}`);
      assert.equal(acked.has(hash), false, `${hash} acknowledged twice`);
      acked.add(hash);
    }
  }
  // Nothing unacknowledged, but possibly the victim's last append (killed before it printed it).
  const extra = pixels.filter((p) => !acked.has(p.hash));
  assert.ok(extra.length <= 1 && extra.every((p) => p.sessionId === "victim"), JSON.stringify(extra));
  assert.equal(pixels.length, acked.size + extra.length);
  assert.equal(acked.size, 8 * EACH + victimAcked.length);

  const leftovers = fs.readdirSync(dir).filter((n) => n !== `pixels_${AGENT}.jsonl`);
  // Only the victim can leave something: its half-taken lock's tmp directory, or a torn tail.
  assert.ok(leftovers.every((n) => /\.lock\.tmp-[0-9a-f]{32}$|\.jsonl\.torn-\d+$/.test(n)), leftovers.join(", "));
  t.diagnostic(
    `${pixels.length} pixels in ${seconds.toFixed(1)} s; victim killed after ${killed.acked} acks ` +
      `while it held the lock; leftovers: ${leftovers.join(", ") || "none"}`,
  );
});

test("a Python holder killed with -9 is found dead by Node; a live one is named", async () => {
  const dir = tmp("tp-pyholder-");
  const holder = await startHolder(PYTHON, [path.join(FIXTURES, "lock_holder.py"), dir, AGENT]);
  const writer = startWriter("node", dir, "after", 1);
  const impatient = new JsonlStore(dir, { lockTimeoutMs: 200 });
  assert.throws(
    () => impatient.transaction(AGENT, () => {}),
    (e) => e.code === "STORE_LOCKED" && e.message.includes(`pid ${holder.pid} (python) on host ${os.hostname()}`),
  );
  await holder.kill();
  assert.deepEqual(await writer.exited, { code: 0, signal: null }, writer.stderr);
  assert.equal(writer.acked.length, 1);
  assert.equal(new JsonlStore(dir).verify(AGENT).count, 1);
});
