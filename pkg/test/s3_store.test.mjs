// tokenpixel/node S3Store (docs/SPEC.md 12.9, 12.11) against a real S3-compatible server: the
// server's conditional create, the exact keys and bodies, head discovery, compaction into
// segments, pruning, optimistic conflicts, Checkpointer.emitAsync from racing processes, and
// the same objects read and written by Python. Run under `python tests/servers/servers.py run
// -- ...`, which starts the server and sets TOKENPIXEL_TEST_S3 and TOKENPIXEL_TEST_BUCKET.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import crypto from "node:crypto";
import { test } from "node:test";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import tp from "tokenpixel";
import { Checkpointer, S3Store, openStore } from "tokenpixel/node";
import { PKG, PYTHON } from "./helpers.mjs";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const C = "DISTRICT_4.CHAMBER_EXEC.NODE_POST";

/** Every test needs the server: without it the test fails (never skips) and says how to run it. */
function server() {
  const endpoint = process.env.TOKENPIXEL_TEST_S3;
  const bucket = process.env.TOKENPIXEL_TEST_BUCKET;
  if (!endpoint || !bucket) {
    assert.fail(
      "TOKENPIXEL_TEST_S3 / TOKENPIXEL_TEST_BUCKET are not set: run the S3 tests under `python tests/servers/servers.py run -- " +
        "node --test test/s3_store.test.mjs` (it starts a throwaway S3 server and sets the variables)",
    );
  }
  return { endpoint, bucket };
}

let CLIENT;
function client() {
  CLIENT ??= new S3Client({ endpoint: server().endpoint, forcePathStyle: true, region: "us-east-1" });
  return CLIENT;
}

/** A client that counts the requests of each kind (and the keys read) before sending them. */
function counting() {
  const counts = { reads: [], heads: 0, lists: 0, puts: 0 };
  const inner = client();
  return {
    counts,
    client: {
      send(command, ...rest) {
        const kind = command.constructor.name;
        if (kind === "GetObjectCommand") counts.reads.push(command.input.Key);
        else if (kind === "HeadObjectCommand") counts.heads += 1;
        else if (kind === "ListObjectsV2Command") counts.lists += 1;
        else if (kind === "PutObjectCommand") counts.puts += 1;
        return inner.send(command, ...rest);
      },
    },
  };
}

const freshPrefix = () => `node-test-${crypto.randomBytes(6).toString("hex")}/`;
const freshAgent = (tag) => `node-${tag}-${crypto.randomBytes(4).toString("hex")}`;

function open(prefix = freshPrefix(), options = {}) {
  return new S3Store(server().bucket, prefix, { client: client(), ...options });
}

async function body(key) {
  const res = await client().send(new GetObjectCommand({ Bucket: server().bucket, Key: key }));
  return Buffer.from(await res.Body.transformToByteArray()).toString("utf8");
}

async function keysUnder(prefix) {
  const keys = [];
  let token;
  do {
    const res = await client().send(new ListObjectsV2Command({ Bucket: server().bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(res.Contents ?? []).map((c) => c.Key));
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

const put = (key, text) => client().send(new PutObjectCommand({ Bucket: server().bucket, Key: key, Body: text }));
const remove = (key) => client().send(new DeleteObjectCommand({ Bucket: server().bucket, Key: key }));
const num = (seq) => String(seq).padStart(16, "0");

async function fill(store, agent, n) {
  const chain = new tp.Chain(agent, "s1");
  const pixels = Array.from({ length: n }, (_, i) => chain.emit(C, { state: { i } }));
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

test("the server enforces If-None-Match: * (of two creates of one new key exactly one succeeds)", async () => {
  const key = `${freshPrefix()}probe`;
  const create = (text) => client().send(new PutObjectCommand({ Bucket: server().bucket, Key: key, Body: text, IfNoneMatch: "*" }));
  const results = await Promise.allSettled([create("first"), create("second")]);
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1, JSON.stringify(results.map((r) => r.status)));
  const refused = results.find((r) => r.status === "rejected").reason;
  assert.ok([412, 409].includes(refused.$metadata?.httpStatusCode), String(refused));
  await assert.rejects(create("third"), (err) => [412, 409].includes(err.$metadata?.httpStatusCode));
  assert.ok(["first", "second"].includes(await body(key)));
});

test("the exact key layout and bodies of SPEC 12.11", async () => {
  const prefix = freshPrefix();
  const store = open(prefix.slice(0, -1)); // a prefix without its "/" gets one
  assert.equal(store.prefix, prefix);
  assert.equal(store.async, true);
  const agent = freshAgent("layout");
  const { pixels } = await fill(store, agent, 3);
  assert.deepEqual(await keysUnder(prefix), [`${prefix}${agent}/head`, ...[0, 1, 2].map((s) => `${prefix}${agent}/p/${num(s)}`)]);
  for (const p of pixels) assert.equal(await body(`${prefix}${agent}/p/${num(p.seq)}`), `${tp.toJsonLine(p)}\n`);
  assert.equal(await body(`${prefix}${agent}/head`), '{"seq":2}');
  assert.equal(await store.prune(2, agent), 1);
  const anchorText = await body(`${prefix}${agent}/anchor`);
  const record = JSON.parse(anchorText);
  const frontier = tp.extendFrontier(0, [], [pixels[0].hash]); // the pruned prefix's (12.7)
  assert.equal(anchorText, `${tp.anchorRecord(pixels[1].prevHash, 1, record.prunedAtMs, frontier)}\n`);
  assert.deepEqual(tp.parseAnchorRecord(Buffer.from(anchorText)), { anchor: pixels[1].prevHash, firstSeq: 1, frontier });
  assert.deepEqual(await keysUnder(prefix), [
    `${prefix}${agent}/anchor`,
    `${prefix}${agent}/head`,
    ...[1, 2].map((s) => `${prefix}${agent}/p/${num(s)}`),
  ]);
  // Two agents under one prefix; an object that is not a chain is not an agent.
  const other = freshAgent("other");
  await fill(store, other, 1);
  await put(`${prefix}not an agent!/x`, "x");
  assert.deepEqual(await store.agents(), [agent, other].sort());
  await rejects(store.latest(), "INVALID_ARGUMENT", /several agents/);
  assert.deepEqual(await open(freshPrefix()).agents(), []);
  await rejects(open(freshPrefix()).latest(), "NOT_FOUND");
});

test("append, head, latest, list, get, lines, verify, prune and anchor round trip", async () => {
  const store = open();
  const agent = freshAgent("rt");
  await rejects(store.latest(agent), "NOT_FOUND");
  await rejects(store.latest("../x"), "INVALID_ARGUMENT");
  const { chain, pixels } = await fill(store, agent, 8);
  assert.deepEqual(await store.transaction(agent, (tx) => tx.head()), pixels[7]);
  assert.deepEqual(await store.latest(), pixels[7]); // the store's only agent
  assert.deepEqual(await store.list(agent, { limit: 3 }), pixels.slice(5));
  assert.deepEqual(await store.list(agent), pixels);
  assert.deepEqual(await store.get("4", agent), pixels[4]);
  assert.deepEqual(await store.get(`sha256:${pixels[6].hash.slice(7, 20)}`, agent), pixels[6]);
  await rejects(store.get(40, agent), "NOT_FOUND");
  assert.deepEqual(await collect(store.lines(agent)), pixels.map((p) => tp.toJsonLine(p)));
  let report = await store.verify(agent);
  assert.deepEqual([report.ok, report.count, report.head], [true, 8, pixels[7].hash]);
  assert.equal(await store.anchor(agent), undefined);

  assert.equal(await store.prune(3, agent), 5);
  assert.equal(await store.prune(3, agent), 0);
  assert.equal(await store.anchor(agent), pixels[5].prevHash);
  await rejects(store.get(2, agent), "NOT_FOUND");
  assert.deepEqual(await store.list(agent), pixels.slice(5));
  report = await store.verify(agent);
  assert.deepEqual([report.ok, report.count, report.head], [true, 3, pixels[7].hash]);
  const next = chain.emit(C, { state: { after: "prune" } });
  await store.append(next);
  assert.deepEqual(await open(store.prefix).latest(agent), next); // a fresh store finds it
  assert.equal((await store.verify(agent)).count, 4);
  // Tampering with an object is caught by verify.
  const key = `${store.prefix}${agent}/p/${num(6)}`;
  await put(key, (await body(key)).replace('"i":6', '"i":7'));
  report = await store.verify(agent);
  assert.deepEqual([report.ok, report.error.code, report.error.index], [false, "HASH_MISMATCH", 1]);
});

test("a stale append is CHAIN_CONFLICT: the conditional create refuses the second writer", async () => {
  const prefix = freshPrefix();
  const agent = freshAgent("stale");
  const a = open(prefix);
  const b = open(prefix);
  const { pixels } = await fill(a, agent, 2);
  assert.deepEqual(await b.latest(agent), pixels[1]);
  // Both writers seal seq 2 from the same head; the second create is refused by the server.
  const x = tp.Chain.resume(pixels, { sessionId: "x" }).emit(C, { state: { who: "x" } });
  const y = tp.Chain.resume(pixels, { sessionId: "y" }).emit(C, { state: { who: "y" } });
  await b.transaction(agent, async (tx) => {
    assert.equal((await tx.head()).seq, 1);
    await a.append(x); // another writer appends meanwhile
    await rejects(tx.append(y), "CHAIN_CONFLICT", /taken by another writer/);
  });
  // A writer whose remembered head is stale conflicts once, then reads the new head.
  const z = tp.Chain.resume([x], { anchor: x.prevHash, sessionId: "z" }).emit(C);
  await b.append(z);
  await rejects(a.append(tp.Chain.resume([x], { anchor: x.prevHash, sessionId: "w" }).emit(C)), "CHAIN_CONFLICT");
  assert.deepEqual((await a.list(agent)).map((p) => p.hash), [...pixels, x, z].map((p) => p.hash));
  assert.equal((await a.verify(agent)).count, 4);
});

test("head discovery: a stale, a missing, a wrong and a garbage hint", async () => {
  const prefix = freshPrefix();
  const agent = freshAgent("hint");
  const { pixels } = await fill(open(prefix), agent, 21);
  const hintKey = `${prefix}${agent}/head`;
  assert.equal(await body(hintKey), '{"seq":20}');
  const latestWith = async (hint) => {
    if (hint === undefined) await remove(hintKey);
    else await put(hintKey, hint);
    const { client: c, counts } = counting();
    const latest = await new S3Store(server().bucket, prefix, { client: c }).latest(agent);
    return { latest, counts };
  };
  // A fresh hint: two HeadObject requests (the head exists, the next does not).
  let r = await latestWith('{"seq":20}');
  assert.deepEqual(r.latest, pixels[20]);
  assert.equal(r.counts.heads, 2);
  assert.equal(r.counts.lists, 0);
  r = await latestWith('{"seq":3}'); // stale: gallop from 3, then bisect
  assert.deepEqual(r.latest, pixels[20]);
  assert.ok(r.counts.heads <= 12, `${r.counts.heads} HeadObject requests`);
  r = await latestWith(undefined); // missing: from firstSeq (0)
  assert.deepEqual(r.latest, pixels[20]);
  r = await latestWith('{"seq":500}'); // beyond the head: from firstSeq
  assert.deepEqual(r.latest, pixels[20]);
  r = await latestWith("not json");
  assert.deepEqual(r.latest, pixels[20]);
  assert.equal(r.counts.lists, 0, "latest() never lists the chain");
});

test("compaction: 2,050 pixels are 2 segments + 50 objects to a reader", async () => {
  const prefix = freshPrefix();
  const agent = freshAgent("compact");
  const store = open(prefix);
  const chain = new tp.Chain(agent, "bulk");
  const lines = Array.from({ length: 2050 }, (_, i) => tp.toJsonLine(chain.emit(C, { state: { i } })));
  await store.transaction(agent, (tx) => tx.extend(lines));
  const segKeys = await keysUnder(`${prefix}${agent}/s/`);
  assert.deepEqual(segKeys, [`${prefix}${agent}/s/${num(0)}-${num(999)}`, `${prefix}${agent}/s/${num(1000)}-${num(1999)}`]);
  assert.equal(await body(segKeys[1]), lines.slice(1000, 2000).map((l) => `${l}\n`).join(""));
  assert.equal(await body(`${prefix}${agent}/head`), '{"seq":2049}');
  // The per-pixel objects stay: they are what makes a conditional create fail.
  assert.equal((await keysUnder(`${prefix}${agent}/p/`)).length, 2050);

  const { client: c, counts } = counting();
  const reader = new S3Store(server().bucket, prefix, { client: c });
  assert.deepEqual(await collect(reader.lines(agent)), lines);
  assert.equal(counts.reads.filter((k) => k.includes("/s/")).length, 2);
  assert.equal(counts.reads.filter((k) => k.includes("/p/")).length, 50); // head discovery uses HeadObject
  const report = await reader.verify(agent);
  assert.deepEqual([report.ok, report.count, report.head], [true, 2050, chain.headHash]);
  // list(limit) reads back from the head: a few objects, no listing.
  counts.reads.length = 0;
  counts.lists = 0;
  assert.deepEqual(await reader.list(agent, { limit: 3 }), lines.slice(2047).map((l) => JSON.parse(l)));
  assert.equal(counts.reads.filter((k) => k.includes("/p/")).length, 3);
  assert.equal(counts.lists, 0);

  // compact() writes a missing segment again, from the objects, byte for byte.
  assert.equal(await store.compact(agent), 0);
  const before = await body(segKeys[0]);
  await remove(segKeys[0]);
  assert.equal(await store.compact(agent), 1);
  assert.equal(await body(segKeys[0]), before);
  // A reader checks continuity: a missing object is STORE_CORRUPT, not a shorter chain.
  await remove(`${prefix}${agent}/p/${num(2030)}`);
  await rejects(collect(reader.lines(agent)), "STORE_CORRUPT", /seq 2030/);
  // Prune across segments: the anchor, then the segments and objects below it.
  assert.equal(await store.prune(1040, agent), 1010);
  assert.deepEqual(await keysUnder(`${prefix}${agent}/s/`), [segKeys[1]]);
  assert.equal((await keysUnder(`${prefix}${agent}/p/`))[0], `${prefix}${agent}/p/${num(1010)}`);
});

test("a missing bucket is STORE_IO naming it; s3:// URLs open an S3Store", async () => {
  const store = new S3Store("tokenpixel-no-such-bucket", "", { client: client() });
  await rejects(store.agents(), "STORE_IO", /tokenpixel-no-such-bucket/);
  await rejects(store.latest("a"), "STORE_IO", /tokenpixel-no-such-bucket/);
  await rejects(store.append(new tp.Chain("a").emit(C)), "STORE_IO", /tokenpixel-no-such-bucket/);
  const opened = await openStore(`s3://${server().bucket}/some/prefix`, { client: client() });
  assert.ok(opened instanceof S3Store);
  assert.deepEqual([opened.bucket, opened.prefix], [server().bucket, "some/prefix/"]);
  await rejects(openStore("s3:///nobucket"), "INVALID_ARGUMENT");
  assert.throws(() => new S3Store(server().bucket, "", { client: client(), compactEvery: 10 }), (e) => e.code === "INVALID_ARGUMENT");
});

test("Checkpointer on S3: emitAsync retries a conflict by re-reading the head", async () => {
  const prefix = freshPrefix();
  const agent = freshAgent("cp");
  const store = open(prefix);
  const cp = new Checkpointer(store, agent, { metrics: false });
  assert.throws(() => cp.emit(C), (err) => err.code === "INVALID_ARGUMENT");
  const first = await cp.emitAsync(C, { state: { n: 1 } });
  // Another store object appends behind this one's back: its remembered head is stale.
  const other = open(prefix);
  await other.append(tp.Chain.resume([first], { anchor: first.prevHash, sessionId: "other" }).emit(C));
  const third = await cp.emitAsync(C, { state: { n: 3 } });
  assert.equal(third.seq, 2);
  const noRetry = new Checkpointer(open(prefix), agent, { metrics: false, retries: 0 });
  await noRetry.emitAsync(C); // reads the head: no conflict
  await rejects(
    (async () => {
      const stale = new Checkpointer(store, agent, { metrics: false, retries: 0 });
      await stale.emitAsync(C); // store still remembers seq 2
    })(),
    "CHAIN_CONFLICT",
  );
  assert.equal((await store.verify(agent)).count, 4);
});

const RACER = `
import { S3Client } from "@aws-sdk/client-s3";
import { Checkpointer, S3Store } from "tokenpixel/node";
const [prefix, agent, worker, count, startAt] = process.argv.slice(1);
const client = new S3Client({ endpoint: process.env.TOKENPIXEL_TEST_S3, forcePathStyle: true, region: "us-east-1" });
const store = new S3Store(process.env.TOKENPIXEL_TEST_BUCKET, prefix, { client });
// Four writers in a tight loop on one agent: the one that just appended goes on at once while
// the others learn its pixel from their refused create, so a writer may meet a conflict for
// every pixel of another's run. Enough retries to outlast that (as Python's race test does).
const cp = new Checkpointer(store, agent, { metrics: false, retries: 1000 });
while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 2));
const acked = [];
for (let i = 0; i < Number(count); i++) {
  const p = await cp.emitAsync("DISTRICT_1.CHAMBER_RACE.NODE_POST", { state: { worker, i } });
  acked.push(p.hash);
}
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
  server();
  const prefix = freshPrefix();
  const agent = freshAgent("race");
  const startAt = String(Date.now() + 1500);
  const acked = await Promise.all([0, 1, 2, 3].map((w) => runRacer([prefix, agent, `w${w}`, "50", startAt])));
  const store = open(prefix);
  const report = await store.verify(agent);
  assert.deepEqual([report.ok, report.count], [true, 200], JSON.stringify(report.error));
  const pixels = await store.list(agent);
  assert.deepEqual(pixels.map((p) => p.seq), Array.from({ length: 200 }, (_, i) => i));
  const stored = new Set(pixels.map((p) => p.hash));
  const all = acked.flat();
  assert.equal(all.length, 200);
  assert.equal(new Set(all).size, 200);
  for (const hash of all) assert.ok(stored.has(hash), `acknowledged ${hash} is not stored`);
});

test("Python and Node share one S3 chain, byte for byte", async () => {
  const prefix = freshPrefix();
  const agent = freshAgent("xlang");
  const store = open(prefix);
  const { pixels } = await fill(store, agent, 3);
  const script = `
import json, sys
import boto3
import tokenpixel as tp
client = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
store = tp.S3Store(sys.argv[2], sys.argv[3], client=client)
agent = sys.argv[4]
head = store.latest(agent)
chain = tp.Chain.resume([head], anchor=head.prev_hash, session_id="py")
store.append(chain.emit("DISTRICT_4.CHAMBER_EXEC.NODE_POST", state={"from": "python"}))
r = store.verify(agent)
print(json.dumps({"ok": r.ok, "count": r.count, "lines": list(store.lines(agent))}))
`;
  const out = JSON.parse(execFileSync(PYTHON, ["-c", script, server().endpoint, server().bucket, prefix, agent], { encoding: "utf8" }));
  assert.deepEqual([out.ok, out.count], [true, 4]);
  assert.deepEqual(await collect(open(prefix).lines(agent)), out.lines);
  assert.deepEqual(out.lines.slice(0, 3), pixels.map((p) => tp.toJsonLine(p)));
  // Node continues the chain Python extended (its remembered head is stale: one conflict, then on).
  const cp = new Checkpointer(store, agent, { metrics: false });
  assert.equal((await cp.emitAsync(C)).seq, 4);
  assert.equal((await store.verify(agent)).count, 5);
});
