// tokenpixel/langgraph (issue 15, SPEC 13): the Node TokenPixelSaver reads what LangGraph
// Python's TokenPixelSaver wrote and the other way round, refuses changed blobs and pixels, and
// verifies each new pixel once. LangGraph.js's own conformance suite runs under Vitest
// (`npm run test:langgraph`, test-vitest/).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { INTERRUPT, uuid6 } from "@langchain/langgraph-checkpoint";
import { TokenPixelError } from "tokenpixel";
import { JsonlStore } from "tokenpixel/node";
import { REGISTRY, TokenPixelSaver, agentFor } from "tokenpixel/langgraph";
import { PYTHON } from "./helpers.mjs";

const dirs = [];
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-lg-"));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs Python code (argv[1] = the store directory) and parses what it prints as JSON. */
function python(code, dir) {
  const out = execFileSync(PYTHON, ["-c", code, dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return JSON.parse(out);
}

// Python prints tuples in the JS shape, so both sides compare as JSON.
const PY_PRELUDE = `
import json, sys
import tokenpixel as tp
from tokenpixel.langgraph import TokenPixelSaver, REGISTRY

saver = TokenPixelSaver(tp.JsonlStore(sys.argv[1]))

def js(t):
    out = {"config": t.config, "checkpoint": t.checkpoint, "metadata": t.metadata,
           "pendingWrites": [list(w) for w in t.pending_writes]}
    if t.parent_config:
        out["parentConfig"] = t.parent_config
    return out
`;

const asJson = (value) => JSON.parse(JSON.stringify(value));
const byId = (tuples) => new Map(tuples.map((t) => [t.checkpoint.id, asJson(t)]));

async function all(iterable) {
  const out = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function assertCode(code) {
  return (err) => {
    assert.ok(err instanceof TokenPixelError, `a TokenPixelError, not ${err}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

/** Writes a few checkpoints with plain values and writes in thread `thread`, namespace `ns`. */
async function writeThread(saver, thread, ns, steps = 3) {
  let config = { configurable: { thread_id: thread, checkpoint_ns: ns } };
  const versions = {};
  const values = [
    { messages: ["hi"], count: 1, none: null },
    { messages: ["hi", { role: "user", text: "é✓𝄞" }], count: 2, big: 2 ** 40, f: 2.5 },
    { count: 3, nested: { a: [1, true, false, null], b: {} } },
    { count: 4 },
    { count: 5 },
  ];
  for (let step = 0; step < steps; step += 1) {
    const changed = {};
    for (const channel of Object.keys(values[step])) {
      versions[channel] = saver.getNextVersion(versions[channel]);
      changed[channel] = versions[channel];
    }
    const checkpoint = {
      v: 4,
      id: uuid6(step),
      ts: new Date(Date.UTC(2025, 0, 1, 0, 0, step)).toISOString(),
      channel_values: { ...values[step] },
      channel_versions: { ...versions },
      versions_seen: { node: { count: step } },
    };
    config = await saver.put(config, checkpoint, { source: "loop", step, parents: {}, writer: "node" }, changed);
    await saver.putWrites(config, [["count", step * 10], ["messages", ["w", step]]], `task-${step}`, "~path");
    await saver.putWrites(config, [["count", 999]], `task-${step}`); // a repeated (task, idx): stored once
    await saver.putWrites(config, [["__error__", "first"]], "task-e");
    await saver.putWrites(config, [["__error__", "second"], [INTERRUPT, { value: "ask" }]], "task-e"); // special: replaced
  }
  return config;
}

test("a thread written by LangGraph Python is read here with equal values", async () => {
  const dir = tmp();
  const written = python(
    `${PY_PRELUDE}
import datetime, uuid
from langgraph.checkpoint.base import empty_checkpoint
from langchain_core.messages import AIMessage, HumanMessage

values = [
    {"messages": ["hi", {"role": "user", "text": "é✓𝄞"}], "count": 1, "none": None},
    {"messages": ["hi", "there"], "count": 2, "big": 2**40, "neg": -2**40, "f": 2.5},
    {"count": 3, "nested": {"a": [1, True, False, None], "b": {}}},
]
for ns in ("", "sub"):
    config = {"configurable": {"thread_id": "py-thread", "checkpoint_ns": ns}}
    versions = {}
    for step, vals in enumerate(values):
        cp = empty_checkpoint()
        new = {}
        for k in vals:
            versions[k] = saver.get_next_version(versions.get(k), None)
            new[k] = versions[k]
        cp["channel_values"] = dict(vals)
        cp["channel_versions"] = dict(versions)
        config = saver.put(config, cp, {"source": "loop", "step": step, "parents": {}}, new)
        saver.put_writes(config, [("count", step * 10), ("messages", ["w", step])], f"task-{step}", "~path")
        saver.put_writes(config, [("count", 999)], f"task-{step}")
        saver.put_writes(config, [("__error__", "first")], "task-e")
        saver.put_writes(config, [("__error__", "second")], "task-e")
plain = [js(t) for t in saver.list({"configurable": {"thread_id": "py-thread"}})]
latest = js(saver.get_tuple({"configurable": {"thread_id": "py-thread"}}))

# Python objects with a JS equivalent (read in Node below).
cp = empty_checkpoint()
cp["channel_values"] = {
    "msgs": [HumanMessage(content="hello", id="h1"), AIMessage(content="yo", id="a1")],
    "when": datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.timezone.utc),
    "tags": {"x"},
    "uid": uuid.UUID(int=1),
    "raw": b"\\x00\\x01",
}
cp["channel_versions"] = {k: saver.get_next_version(None, None) for k in cp["channel_values"]}
saver.put({"configurable": {"thread_id": "py-objects"}}, cp, {"source": "input", "step": -1, "parents": {}}, cp["channel_versions"])
print(json.dumps({"plain": plain, "latest": latest}))
`,
    dir,
  );
  const saver = new TokenPixelSaver(new JsonlStore(dir));
  const read = await all(saver.list({ configurable: { thread_id: "py-thread" } }));
  assert.equal(read.length, 6);
  assert.deepEqual(byId(read), byId(written.plain));
  const ids = read.map((t) => t.checkpoint.id);
  assert.deepEqual(ids, [...ids].sort().reverse(), "newest first, across namespaces");
  assert.deepEqual(asJson(await saver.getTuple({ configurable: { thread_id: "py-thread" } })), written.latest);
  const latest = read.find((t) => t.config.configurable.checkpoint_id === written.latest.config.configurable.checkpoint_id);
  assert.deepEqual(latest.checkpoint.channel_values, {
    messages: ["hi", "there"],
    count: 3,
    none: null,
    big: 2 ** 40,
    neg: -(2 ** 40),
    f: 2.5,
    nested: { a: [1, true, false, null], b: {} },
  });
  // The first write of a (task, idx) stands; a special channel's write is replaced.
  assert.deepEqual(latest.pendingWrites, [
    ["task-e", "__error__", "second"],
    ["task-2", "count", 20],
    ["task-2", "messages", ["w", 2]],
  ]);
  // Filters, limits and `before` apply across Python-written chains too.
  assert.equal((await all(saver.list({}, { filter: { step: 1 } }))).length, 2);
  const everything = (await all(saver.list({}))).map((t) => t.checkpoint.id);
  assert.equal(everything.length, 7);
  assert.deepEqual((await all(saver.list({}, { limit: 2 }))).map((t) => t.checkpoint.id), everything.slice(0, 2));
  const before = await all(saver.list({}, { before: { configurable: { checkpoint_id: ids[1] } } }));
  assert.deepEqual(before.map((t) => t.checkpoint.id), ids.slice(2));

  const objects = (await saver.getTuple({ configurable: { thread_id: "py-objects" } })).checkpoint.channel_values;
  assert.equal(objects.msgs[0].constructor.name, "HumanMessage");
  assert.equal(objects.msgs[0].content, "hello");
  assert.equal(objects.msgs[1].constructor.name, "AIMessage");
  assert.equal(objects.msgs[1].id, "a1");
  assert.equal(objects.when, "2024-05-06T07:08:09.123456+00:00");
  assert.deepEqual(objects.tags, new Set(["x"]));
  assert.equal(objects.uid, "00000000-0000-0000-0000-000000000001");
  assert.deepEqual(objects.raw, new Uint8Array([0, 1]));
});

test("a thread written here is read by LangGraph Python with equal values", async () => {
  const dir = tmp();
  const saver = new TokenPixelSaver(new JsonlStore(dir));
  await writeThread(saver, "node-thread", "");
  await writeThread(saver, "node-thread", "child", 2);
  await writeThread(saver, "gone", "", 2);
  await saver.deleteThread("gone");
  const mine = await all(saver.list({}));
  assert.equal(mine.length, 5);
  const read = python(
    `${PY_PRELUDE}
records = [p.state for p in tp.JsonlStore(sys.argv[1]).list(REGISTRY)]
print(json.dumps({
    "tuples": [js(t) for t in saver.list(None)],
    "latest": js(saver.get_tuple({"configurable": {"thread_id": "node-thread", "checkpoint_ns": "child"}})),
    "gone": saver.get_tuple({"configurable": {"thread_id": "gone"}}) is None,
    "registry": records,
}))
`,
    dir,
  );
  assert.deepEqual(byId(read.tuples), byId(mine));
  assert.deepEqual(read.latest, asJson(await saver.getTuple({ configurable: { thread_id: "node-thread", checkpoint_ns: "child" } })));
  assert.equal(read.gone, true);
  const deleted = read.registry.filter((r) => r.type === "langgraph.deleted");
  assert.deepEqual(
    deleted.map((r) => [r.thread, r.ns, r.agent, r.reason]),
    [["gone", "", agentFor("gone", ""), "delete_thread"]],
  );
  assert.ok(deleted[0].head.startsWith("sha256:") && deleted[0].count > 0);
  assert.ok(!fs.existsSync(path.join(dir, `pixels_${agentFor("gone", "")}.jsonl`)));
  // What the deleted thread alone used is gone; what the others use is still there.
  const used = new Set();
  for (const agent of saver.store.agents().filter((a) => a !== REGISTRY)) {
    for (const line of saver.store.lines(agent)) {
      for (const m of line.matchAll(/"sha256":"([0-9a-f]{64})"/g)) used.add(m[1]);
    }
  }
  assert.deepEqual(new Set(saver.blobs.all()), used);
});

test("a changed or missing blob and a changed pixel are refused", async () => {
  const dir = tmp();
  const store = new JsonlStore(dir);
  const saver = new TokenPixelSaver(store);
  const config = await writeThread(saver, "t", "");
  const agent = agentFor("t", "");
  const record = [...store.iter(agent)].map((p) => p.state).filter((r) => r.type === "langgraph.checkpoint").pop();
  const blob = path.join(dir, "blobs", record.channels.count.blob.sha256.slice(0, 2), record.channels.count.blob.sha256);
  const original = fs.readFileSync(blob);

  fs.writeFileSync(blob, Buffer.from("4"));
  await assert.rejects(saver.getTuple(config), assertCode("HASH_MISMATCH"));
  await assert.rejects(new TokenPixelSaver(store).getTuple(config), assertCode("HASH_MISMATCH"));
  await assert.rejects(all(saver.list({})), assertCode("HASH_MISMATCH"));
  fs.rmSync(blob);
  await assert.rejects(saver.getTuple(config), assertCode("STORE_CORRUPT"));
  fs.writeFileSync(blob, original);
  assert.equal((await saver.getTuple(config)).checkpoint.channel_values.count, 3);

  // An edited pixel: a reader that has not verified it yet refuses the chain.
  const file = store.path(agent);
  const text = fs.readFileSync(file, "utf8");
  fs.writeFileSync(file, text.replace('"source":"loop"', '"source":"edit"'));
  await assert.rejects(new TokenPixelSaver(store).getTuple(config), assertCode("HASH_MISMATCH"));
  fs.writeFileSync(file, text);
  assert.ok(await new TokenPixelSaver(store).getTuple(config));

  // Writers need a thread (and putWrites a checkpoint id).
  await assert.rejects(saver.put({ configurable: {} }, { id: "x" }, {}, {}), assertCode("INVALID_ARGUMENT"));
  await assert.rejects(saver.put({}, { id: "x" }, {}, {}), assertCode("INVALID_ARGUMENT"));
  await assert.rejects(saver.putWrites({ configurable: { thread_id: "t" } }, [["a", 1]], "task"), assertCode("INVALID_ARGUMENT"));
  await assert.rejects(saver.putWrites({ configurable: { checkpoint_id: "c" } }, [["a", 1]], "task"), assertCode("INVALID_ARGUMENT"));
});

test("each new pixel is verified once; a rewritten chain is read again from the start", async () => {
  const dir = tmp();
  const store = new JsonlStore(dir);
  const writer = new TokenPixelSaver(store);
  const reader = new TokenPixelSaver(store);
  const config = { configurable: { thread_id: "inc" } };
  const agent = agentFor("inc", "");
  await writeThread(writer, "inc", "", 3);
  const count = store.verify(agent).count;

  await reader.getTuple(config);
  assert.equal(reader.verifiedPixels, count); // the first read verifies the whole chain
  await reader.getTuple(config);
  await all(reader.list(config));
  assert.equal(reader.verifiedPixels, count + store.verify(REGISTRY).count); // list reads the registry once
  const seen = reader.verifiedPixels;

  await writeThread(writer, "inc", "", 5); // another saver goes on: 5 more checkpoints and their writes
  const added = store.verify(agent).count - count;
  const latest = await reader.getTuple(config);
  assert.ok(added > 0);
  assert.equal(reader.verifiedPixels - seen, added); // only the pixels added since
  assert.deepEqual(asJson(latest), asJson(await writer.getTuple(config)));
  assert.equal(writer.verifiedPixels, 0); // what a saver sealed itself it does not read back

  // LangGraph Python prunes the thread (a rewrite, SPEC 13.3): the chain no longer extends the
  // verified head, so it is read again from the start.
  python(`${PY_PRELUDE}\nsaver.prune(["inc"])\nprint("null")`, dir);
  const rewritten = store.verify(agent).count;
  const before = reader.verifiedPixels;
  const after = await reader.getTuple(config);
  assert.equal(reader.verifiedPixels - before, rewritten);
  assert.equal(store.latest(agent).seq + 1, rewritten);
  assert.deepEqual(asJson(after), asJson(latest));
  assert.equal((await all(reader.list(config))).length, 1);
});
