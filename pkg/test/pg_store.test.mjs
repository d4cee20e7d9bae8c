// tokenpixel/node PostgresStore (docs/SPEC.md 12.9, 12.10) against a real PostgreSQL server:
// the schema and its setup, the store interface, the trigger that refuses a fork whatever the
// client, follow() over LISTEN/NOTIFY, Checkpointer.emitAsync from racing processes, and the
// same tables read and written by Python. Run under `python tests/servers/servers.py run -- ...`,
// which starts the server and sets TOKENPIXEL_TEST_PG.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import crypto from "node:crypto";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";
import pg from "pg";
import tp from "tokenpixel";
import { Checkpointer, JsonlStore, PG_MIGRATIONS, PG_SETUP_LOCK, PostgresStore, openStore } from "tokenpixel/node";
import { PKG, PYTHON } from "./helpers.mjs";

const PG_URL = process.env.TOKENPIXEL_TEST_PG;
const C = "DISTRICT_4.CHAMBER_EXEC.NODE_POST";

/** Every test needs the server: without it the test fails (never skips) and says how to run it. */
function url() {
  if (!PG_URL) {
    assert.fail(
      "TOKENPIXEL_TEST_PG is not set: run the PostgreSQL tests under `python tests/servers/servers.py run -- " +
        "node --test test/pg_store.test.mjs` (it starts a throwaway server and sets the variable)",
    );
  }
  return PG_URL;
}

const stores = [];
function open(connection = url(), options = {}) {
  const store = new PostgresStore(connection, options);
  stores.push(store);
  return store;
}
const clients = [];
async function raw() {
  const client = new pg.Client({ connectionString: url() });
  await client.connect();
  clients.push(client);
  return client;
}
after(async () => {
  await Promise.all(stores.map((s) => s.close().catch(() => {})));
  await Promise.all(clients.map((c) => c.end().catch(() => {})));
});

/** The test server's URL naming another database (the URL may have no host: a unix socket). */
function withDatabase(db) {
  const named = url().replace(/^(postgres(?:ql)?:\/\/[^/?]*)(\/[^?]*)?/, `$1/${db}`);
  assert.notEqual(named, url());
  return named;
}

const fresh = (tag) => `node-${tag}-${crypto.randomBytes(6).toString("hex")}`;

async function setupStore() {
  const store = open();
  await store.setup();
  return store;
}

function emitN(chain, n, from = 0) {
  return Array.from({ length: n }, (_, i) => chain.emit(C, { state: { i: from + i } }));
}

async function fill(store, agent, n) {
  const chain = new tp.Chain(agent, "s1");
  const pixels = emitN(chain, n);
  for (const p of pixels) await store.append(p);
  return { chain, pixels };
}

async function collect(iterable) {
  const out = [];
  for await (const x of iterable) out.push(x);
  return out;
}

async function rejects(promise, code, pattern) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof tp.TokenPixelError, `not a TokenPixelError: ${err?.stack ?? err}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

test("setup() creates the schema of SPEC 12.10 once: idempotent, versioned, Python's text", async (t) => {
  const admin = await raw();
  const db = `tp_node_${crypto.randomBytes(5).toString("hex")}`;
  await admin.query(`CREATE DATABASE ${db}`);
  t.after(() => admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`));
  const dbUrl = withDatabase(db);
  const store = open(dbUrl);
  assert.equal(await store.schemaVersion(), 0);
  // Two setups at once: the setup lock runs them one after the other, the second is a no-op.
  assert.deepEqual(await Promise.all([store.setup(), open(dbUrl).setup()]), [2, 2]);
  assert.equal(await store.setup(), 2);
  assert.equal(await store.schemaVersion(), 2);
  const check = new pg.Client({ connectionString: dbUrl });
  await check.connect();
  try {
    assert.deepEqual((await check.query("SELECT version FROM tokenpixel_schema_version ORDER BY 1")).rows, [{ version: 1 }, { version: 2 }]);
    const tables = (await check.query("SELECT tablename FROM pg_tables WHERE tablename LIKE 'tokenpixel%' ORDER BY 1")).rows;
    assert.deepEqual(tables.map((r) => r.tablename), ["tokenpixel_anchors", "tokenpixel_pixels", "tokenpixel_schema_version"]);
    const triggers = (await check.query("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1")).rows;
    assert.deepEqual(triggers.map((r) => r.tgname), ["tokenpixel_link", "tokenpixel_notify"]);
    // A database newer than this library is refused, never downgraded.
    await check.query("INSERT INTO tokenpixel_schema_version (version) VALUES (3)");
    await rejects(store.setup(), "STORE_IO", /schema version 3.*upgrade tokenpixel/);
  } finally {
    await check.end();
  }
  // The schema text is the core's: the one Python runs (the lead diffs the two bindings too).
  assert.equal(PG_SETUP_LOCK, 7346041);
  assert.deepEqual(PG_MIGRATIONS, tp.PG_MIGRATIONS);
  const python = execFileSync(PYTHON, ["-c", "import json, tokenpixel._native as n; print(json.dumps([list(n.PG_MIGRATIONS), n.PG_SETUP_LOCK]))"], {
    encoding: "utf8",
  });
  assert.deepEqual(JSON.parse(python), [[...PG_MIGRATIONS], PG_SETUP_LOCK]);
  // The shared test database (set up by whichever language came first) is a no-op too.
  assert.equal(await (await setupStore()).setup(), 2);
});

test("a missing database is STORE_IO naming it; a bad URL scheme is INVALID_ARGUMENT", async () => {
  await rejects(open(withDatabase("tp_no_such_database")).setup(), "STORE_IO", /tp_no_such_database/);
  await rejects(openStore("ftp://example.com/x"), "INVALID_ARGUMENT", /s3:\/\/.*postgresql:\/\//);
  await rejects(openStore("sqlite:///x.db"), "INVALID_ARGUMENT", /Python-only/);
  const dir = path.join(os.tmpdir(), `tp-open-${crypto.randomBytes(4).toString("hex")}`);
  assert.ok((await openStore(dir)) instanceof JsonlStore);
  const jsonl = await openStore(pathToFileURL(dir).href);
  assert.ok(jsonl instanceof JsonlStore);
  assert.equal(jsonl.directory, dir);
  const store = await openStore(url());
  stores.push(store);
  assert.ok(store instanceof PostgresStore);
  assert.equal(store.async, true);
  assert.equal(await store.schemaVersion(), 2);
});

test("append, head, latest, list, get, lines and verify round trip", async () => {
  const store = await setupStore();
  const agent = fresh("rt");
  await rejects(store.latest(agent), "NOT_FOUND");
  await rejects(store.verify(agent), "NOT_FOUND");
  await rejects(store.latest("../etc"), "INVALID_ARGUMENT");
  const { pixels } = await fill(store, agent, 6);
  assert.ok((await store.agents()).includes(agent));
  assert.deepEqual(await store.transaction(agent, (tx) => tx.head()), pixels[5]);
  assert.equal(await store.transaction(agent, (tx) => tx.anchor()), undefined);
  assert.deepEqual(await store.latest(agent), pixels[5]);
  assert.deepEqual(await store.list(agent, { limit: 2 }), pixels.slice(4));
  assert.deepEqual(await store.list(agent, { limit: 0 }), []);
  assert.deepEqual(await store.list(agent), pixels);
  assert.deepEqual(await store.get(3, agent), pixels[3]);
  assert.deepEqual(await store.get("2", agent), pixels[2]);
  assert.deepEqual(await store.get(pixels[4].hash, agent), pixels[4]);
  assert.deepEqual(await store.get(pixels[1].hash.slice(7, 71), agent), pixels[1]);
  await rejects(store.get(99, agent), "NOT_FOUND");
  await rejects(store.get("zz", agent), "INVALID_ARGUMENT");
  assert.deepEqual(await collect(store.lines(agent)), pixels.map((p) => tp.toJsonLine(p)));
  assert.deepEqual(await collect(store.iter(agent)), pixels);
  const report = await store.verify(agent);
  assert.deepEqual([report.ok, report.count, report.head], [true, 6, pixels[5].hash]);
  // The rows hold the canonical line and its columns.
  const client = await raw();
  const rows = (await client.query("SELECT seq, hash, prev_hash, corridor, timestamp_ms, line FROM tokenpixel_pixels WHERE agent_id = $1 ORDER BY seq", [agent])).rows;
  assert.deepEqual(
    rows.map((r) => [Number(r.seq), r.hash, r.prev_hash, r.corridor, Number(r.timestamp_ms), r.line]),
    pixels.map((p) => [p.seq, p.hash, p.prevHash, p.corridor, p.timestampMs, tp.toJsonLine(p)]),
  );
  // A transaction whose function throws rolls back; its error passes unchanged.
  const chain = tp.Chain.resume(pixels, { sessionId: "s1" });
  const next = chain.emit(C, { state: { rolled: "back" } });
  await assert.rejects(
    store.transaction(agent, async (tx) => {
      await tx.append(next);
      assert.equal((await tx.head()).hash, next.hash);
      throw new RangeError("changed my mind");
    }),
    RangeError,
  );
  assert.deepEqual(await store.latest(agent), pixels[5]);
  // extend: several pixels in one transaction.
  const more = [next, ...emitN(chain, 3, 100)];
  await store.transaction(agent, (tx) => tx.extend(more.map((p) => tp.toJsonLine(p))));
  assert.equal((await store.verify(agent)).count, 10);
});

test("prune keeps the newest pixels, records the anchor, and the chain still verifies", async () => {
  const store = await setupStore();
  const agent = fresh("prune");
  const { chain, pixels } = await fill(store, agent, 10);
  await rejects(store.prune(0, agent), "INVALID_ARGUMENT");
  assert.equal(await store.prune(3, agent), 7);
  assert.equal(await store.prune(3, agent), 0);
  assert.equal(await store.anchor(agent), pixels[7].prevHash);
  assert.deepEqual(await store.list(agent), pixels.slice(7));
  const report = await store.verify(agent);
  assert.deepEqual([report.ok, report.count, report.head], [true, 3, pixels[9].hash]);
  const client = await raw();
  const anchorRow = (await client.query("SELECT anchor, first_seq FROM tokenpixel_anchors WHERE agent_id = $1", [agent])).rows[0];
  assert.deepEqual([anchorRow.anchor, Number(anchorRow.first_seq)], [pixels[7].prevHash, 7]);
  await rejects(store.get(2, agent), "NOT_FOUND");
  const next = chain.emit(C, { state: { after: "prune" } });
  await store.append(next);
  assert.equal((await store.verify(agent)).count, 4);
  // replace: the general form, verified against its anchor or nothing changes.
  const kept = [...pixels.slice(8), next];
  await rejects(
    store.transaction(agent, (tx) => tx.replace(kept, pixels[0].hash)),
    "ANCHOR_MISMATCH",
  );
  await store.transaction(agent, (tx) => tx.replace(kept, pixels[8].prevHash));
  assert.equal(await store.anchor(agent), pixels[8].prevHash);
  assert.deepEqual(await store.list(agent), kept);
});

test("a stale append is CHAIN_CONFLICT; a pixel of another agent is refused", async () => {
  const store = await setupStore();
  const agent = fresh("stale");
  const { pixels } = await fill(store, agent, 3);
  // Two writers resumed from seq 1: the one that appends second has a stale head.
  const forkChain = tp.Chain.resume(pixels.slice(0, 2), { sessionId: "other" });
  const fork = forkChain.emit(C, { state: { fork: true } });
  await rejects(store.append(fork), "CHAIN_CONFLICT");
  await rejects(store.append(pixels[2]), "CHAIN_CONFLICT");
  const other = new tp.Chain(fresh("other"), "s").emit(C);
  await rejects(store.transaction(agent, (tx) => tx.append(other)), "CHAIN_CONFLICT");
  await rejects(
    store.transaction(agent, (tx) => tx.append(tp.toJsonLine(pixels[2]).replace('"seq":2', '"seq":3'))),
    "HASH_MISMATCH",
  );
  assert.equal((await store.verify(agent)).count, 3);
});

test("the database refuses a fork inserted with raw SQL (trigger TP001, primary key 23505)", async () => {
  const store = await setupStore();
  const agent = fresh("trigger");
  const { pixels } = await fill(store, agent, 3);
  const client = await raw();
  const insert = (p, overrides = {}) => {
    const row = { seq: p.seq, hash: p.hash, prev: p.prevHash, ...overrides };
    return client.query(
      "INSERT INTO tokenpixel_pixels (agent_id, seq, hash, prev_hash, corridor, timestamp_ms, line) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      [p.agentId, row.seq, row.hash, row.prev, p.corridor, p.timestampMs, "{}"],
    );
  };
  const sqlstate = async (promise, code) => {
    await assert.rejects(promise, (err) => {
      assert.equal(err.code, code, err.message);
      return true;
    });
  };
  const fake = (n) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
  // A row that does not link to the row before it: the trigger (whatever the client).
  await sqlstate(insert(pixels[2], { seq: 3, hash: fake(1), prev: fake(2) }), "TP001");
  // A gap: no row before it, and the agent's chain does not start there.
  await sqlstate(insert(pixels[2], { seq: 9, hash: fake(3), prev: pixels[2].hash }), "TP001");
  // A new agent must start at seq 0 from the genesis hash.
  const newcomer = new tp.Chain(fresh("newcomer"), "s").emit(C);
  await sqlstate(insert(newcomer, { prev: fake(4) }), "TP001");
  // A second row at one seq: the primary key.
  await sqlstate(insert(pixels[1], { hash: fake(5) }), "23505");
  // A row that does link is accepted (the trigger is no obstacle to a correct writer).
  const good = tp.Chain.resume(pixels, { sessionId: "s1" }).emit(C);
  await client.query(
    "INSERT INTO tokenpixel_pixels (agent_id, seq, hash, prev_hash, corridor, timestamp_ms, line) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    [good.agentId, good.seq, good.hash, good.prevHash, good.corridor, good.timestampMs, tp.toJsonLine(good)],
  );
  assert.deepEqual(await store.latest(agent), good);
  assert.equal((await store.verify(agent)).count, 4);
});

test("a transaction waits for the agent's advisory lock: STORE_LOCKED after lockTimeoutMs", async () => {
  const holder = await setupStore();
  const waiter = open({ connectionString: url() }, {});
  const impatient = new PostgresStore(url(), { lockTimeoutMs: 150 });
  stores.push(impatient);
  const agent = fresh("lock");
  await fill(holder, agent, 1);
  let release;
  const held = holder.transaction(agent, () => new Promise((resolve) => (release = resolve)));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = Date.now();
  await rejects(impatient.transaction(agent, (tx) => tx.head()), "STORE_LOCKED", /150 ms/);
  assert.ok(Date.now() - started < 5000);
  const queued = waiter.transaction(agent, async (tx) => (await tx.head()).seq);
  release();
  await held;
  assert.equal(await queued, 0);
  // A transaction inside another on the same agent joins it (no deadlock with itself).
  const seq = await holder.transaction(agent, () => holder.transaction(agent, async (tx) => (await tx.head()).seq));
  assert.equal(seq, 0);
});

test("follow() yields pixels committed by another connection, in order, and stops on return()", async () => {
  const store = await setupStore();
  const writer = await setupStore();
  const agent = fresh("follow");
  const { chain, pixels } = await fill(writer, agent, 2);
  const follower = store.follow(agent);
  await follower.ready;
  const coming = emitN(chain, 5, 10);
  const noise = fresh("noise");
  const writing = (async () => {
    for (const p of coming) {
      await writer.append(p);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await fill(writer, noise, 2); // another agent's notifications are not this follower's
  })();
  const got = [];
  const started = Date.now();
  for await (const p of follower) {
    got.push(p);
    if (got.length === coming.length) break; // calls return(): the connection is released
  }
  await writing;
  assert.ok(Date.now() - started < 4000, "notifications, not the 5 s poll, delivered the pixels");
  assert.deepEqual(got, coming);
  assert.deepEqual(await follower.next(), { done: true, value: undefined });
  // `after` starts anywhere: -1 is the whole chain.
  const all = store.follow(agent, { after: -1 });
  const first = [];
  for (let i = 0; i < 7; i++) first.push((await all.next()).value);
  assert.deepEqual(first, [...pixels, ...coming]);
  // return() while a next() waits ends both at once.
  const waiting = all.next();
  const stop = Date.now();
  assert.deepEqual(await all.return(), { done: true, value: undefined });
  assert.deepEqual(await waiting, { done: true, value: undefined });
  assert.ok(Date.now() - stop < 2000);
  await rejects(Promise.resolve().then(() => store.follow("no/such")), "INVALID_ARGUMENT");
});

test("Checkpointer on PostgreSQL: emitAsync, stage, and emit/background refused", async () => {
  const store = await setupStore();
  const agent = fresh("cp");
  const cp = new Checkpointer(store, agent, { metrics: false });
  assert.equal(cp.async, true);
  assert.throws(() => cp.emit(C), (err) => err.code === "INVALID_ARGUMENT" && /emitAsync/.test(err.message));
  assert.throws(() => new Checkpointer(store, agent, { background: true }), (err) => err.code === "INVALID_ARGUMENT");
  assert.throws(() => new Checkpointer(store, agent, { retries: -1 }), (err) => err.code === "INVALID_ARGUMENT");
  assert.equal(await cp.headAsync(), undefined);
  const events = [];
  cp.addListener((e) => events.push(e.metadata.seq));
  const [a, b] = await Promise.all([cp.emitAsync(C, { state: { n: 1 } }), cp.emitAsync(C, { state: { n: 2 } })]);
  assert.deepEqual([a.seq, b.seq], [0, 1]);
  const result = await cp.stage("DISTRICT_2.CHAMBER_BUILD", async (st) => {
    st.state = { built: true };
    return 42;
  });
  assert.equal(result, 42);
  assert.deepEqual(events, [0, 1, 2, 3]);
  assert.equal((await cp.headAsync()).corridor, "DISTRICT_2.CHAMBER_BUILD.NODE_POST");
  assert.equal((await store.verify(agent)).count, 4);
});

const RACER = `
import { Checkpointer, PostgresStore } from "tokenpixel/node";
const [agent, worker, count, startAt] = process.argv.slice(1);
const store = new PostgresStore(process.env.TOKENPIXEL_TEST_PG);
const cp = new Checkpointer(store, agent, { metrics: false });
while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 2));
const acked = [];
for (let i = 0; i < Number(count); i++) {
  const p = await cp.emitAsync("DISTRICT_1.CHAMBER_RACE.NODE_POST", { state: { worker, i } });
  acked.push(p.hash);
}
await store.close();
process.stdout.write(JSON.stringify(acked));
`;

function runRacer(args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--input-type=module", "-e", RACER, ...args], { cwd: PKG, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) reject(new Error(`racer failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

test("4 processes emitAsync 50 pixels each to one agent: one chain, seqs 0..199, every ack stored", async () => {
  const store = await setupStore();
  const agent = fresh("race");
  const startAt = String(Date.now() + 1500);
  const acked = await Promise.all([0, 1, 2, 3].map((w) => runRacer([agent, `w${w}`, "50", startAt])));
  const report = await store.verify(agent);
  assert.deepEqual([report.ok, report.count], [true, 200], JSON.stringify(report.error));
  const pixels = await store.list(agent);
  assert.deepEqual(pixels.map((p) => p.seq), Array.from({ length: 200 }, (_, i) => i));
  const stored = new Set(pixels.map((p) => p.hash));
  const all = acked.flat();
  assert.equal(all.length, 200);
  assert.equal(new Set(all).size, 200);
  for (const hash of all) assert.ok(stored.has(hash), `acknowledged ${hash} is not stored`);
  // Each writer's own pixels are in its order.
  for (const hashes of acked) {
    const seqs = hashes.map((h) => pixels.find((p) => p.hash === h).seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
  }
});

test("Python and Node share one PostgreSQL chain, byte for byte", async () => {
  const store = await setupStore();
  const agent = fresh("xlang");
  const { pixels } = await fill(store, agent, 3);
  const script = `
import json, sys
import tokenpixel as tp
store = tp.PostgresStore(sys.argv[1])
agent = sys.argv[2]
head = store.latest(agent)
chain = tp.Chain.resume([head], anchor=head.prev_hash, session_id="py")
p = chain.emit("DISTRICT_4.CHAMBER_EXEC.NODE_POST", state={"from": "python"})
store.append(p)
r = store.verify(agent)
print(json.dumps({"ok": r.ok, "count": r.count, "lines": list(store.lines(agent))}))
`;
  const out = JSON.parse(execFileSync(PYTHON, ["-c", script, url(), agent], { encoding: "utf8" }));
  assert.deepEqual([out.ok, out.count], [true, 4]);
  const lines = await collect(store.lines(agent));
  assert.deepEqual(lines, out.lines);
  assert.deepEqual(lines.slice(0, 3), pixels.map((p) => tp.toJsonLine(p)));
  assert.equal(JSON.parse(lines[3]).state.from, "python");
  assert.equal((await store.verify(agent)).count, 4);
});
