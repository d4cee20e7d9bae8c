// The JS API: plain objects in and out, TokenPixelError with codes and JSON paths, and a
// module that stays usable after bad input.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import tp, { Chain, TokenPixelError } from "tokenpixel";

const C = "DISTRICT_2.CHAMBER_LORA.NODE_PRE";

test("emit returns a plain object in its JSON shape", () => {
  const chain = new Chain("agent-1", "session-1");
  assert.equal(chain.head, undefined);
  assert.equal(chain.headHash, tp.GENESIS_HASH);
  const p = chain.emit(C, {
    state: { docs: ["a"], n: 3, ok: true, none: null },
    context: { variables: { k: "v" } },
    timestampMs: 1_763_900_000_000,
    autonomyIndex: 0.25,
    intentHash: "intent:route",
    eventDelta: 2,
    stateVector: { psi: 0.9 },
  });
  assert.equal(Object.getPrototypeOf(p), Object.prototype);
  assert.deepEqual(p.state, { docs: ["a"], n: 3, ok: true, none: null });
  assert.equal(p.seq, 0);
  assert.equal(p.prevHash, tp.GENESIS_HASH);
  assert.match(p.hash, /^sha256:[0-9a-f]{64}$/);
  assert.equal(JSON.parse(JSON.stringify(p)).hash, p.hash);
  assert.equal(tp.canonicalJson(p), tp.toJsonLine(p));
  assert.deepEqual(chain.head, p);
  assert.equal(chain.nextSeq, 1);
  const q = chain.emit("DISTRICT_2.CHAMBER_LORA.NODE_POST");
  assert.deepEqual(q.state, p.state);
  assert.equal(q.eventDelta, 0);
  assert.ok(q.timestampMs >= p.timestampMs);
  assert.equal(new Chain("x").sessionId.length, 32);
});

test("bad values name their JSON path and the module stays usable", () => {
  const chain = new Chain("a");
  const cases = [
    [{ when: new Date() }, "UNSUPPORTED_TYPE", null, "$.state.when"],
    [{ u: undefined }, "UNSUPPORTED_TYPE", null, "$.state.u"],
    [{ b: 10n }, "UNSUPPORTED_TYPE", null, "$.state.b"],
    [{ f: () => 1 }, "UNSUPPORTED_TYPE", null, "$.state.f"],
    [{ m: new Map() }, "UNSUPPORTED_TYPE", null, "$.state.m"],
    [{ s: new Set([1]) }, "UNSUPPORTED_TYPE", null, "$.state.s"],
    [{ t: new Uint8Array(2) }, "UNSUPPORTED_TYPE", null, "$.state.t"],
    [{ y: Symbol("x") }, "UNSUPPORTED_TYPE", null, "$.state.y"],
    [{ x: [0, Number.NaN] }, "NOT_I_JSON", "NON_FINITE_NUMBER", "$.state.x[1]"],
    [{ x: Infinity }, "NOT_I_JSON", "NON_FINITE_NUMBER", "$.state.x"],
    [{ s: "lone \ud800" }, "NOT_I_JSON", "LONE_SURROGATE", "$.state.s"],
    [{ "a b": { c: new (class Foo {})() } }, "UNSUPPORTED_TYPE", null, '$.state["a b"].c'],
  ];
  for (const [state, code, reason, path] of cases) {
    assert.throws(
      () => chain.emit(C, { state }),
      (e) => e instanceof TokenPixelError && e instanceof Error && e.code === code && e.reason === reason && e.message.includes(path),
      path,
    );
  }
  assert.equal(chain.emit(C).seq, 0);
});

test("limits, schema and argument errors", () => {
  const chain = new Chain("a");
  let deep = {};
  const root = deep;
  for (let i = 0; i < 300; i++) deep = deep.d = {};
  assert.throws(() => chain.emit(C, { state: root }), { code: "LIMIT_EXCEEDED" });
  const cyclic = {};
  cyclic.self = cyclic;
  assert.throws(() => chain.emit(C, { state: cyclic }), { code: "LIMIT_EXCEEDED" });
  assert.throws(() => tp.canonicalize("[".repeat(200_000)), { code: "LIMIT_EXCEEDED" });
  assert.throws(() => tp.canonicalize('{"a":1,"a":2}'), { code: "NOT_I_JSON", reason: "DUPLICATE_KEY" });
  assert.throws(() => chain.emit("DISTRICT_2.CHAMBER_LORA"), { code: "INVALID_CORRIDOR" });
  assert.throws(() => chain.emit(C, { autonomyIndex: 1.5 }), { code: "SCHEMA_VIOLATION" });
  assert.throws(() => chain.emit(C, { stateVector: { psi: "high" } }), { code: "SCHEMA_VIOLATION" });
  assert.throws(() => chain.emit(C, { sate: {} }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => chain.emit(C, { timestampMs: -1 }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new Chain("bad/agent"), { code: "SCHEMA_VIOLATION" });
  assert.throws(() => tp.verifyJsonl("", { anchor: "sha256:nope" }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => tp.verifyJsonl(42), { code: "INVALID_ARGUMENT" });
  chain.emit(C, { timestampMs: 10 });
  assert.throws(() => chain.emit(C, { timestampMs: 5 }), { code: "TIME_REVERSED" });
  // Still usable after all of that.
  assert.equal(chain.emit(C, { timestampMs: 11 }).seq, 1);
  assert.equal(tp.canonicalize("[1.0]"), "[1]");
});

test("resume continues a chain and refuses tampered history", () => {
  const chain = new Chain("agent-r", "s1");
  const lines = [0, 1, 2].map((i) => tp.toJsonLine(chain.emit(C, { timestampMs: 1000 + i })));
  const resumed = Chain.resume(lines, { sessionId: "s2" });
  const p = resumed.emit(C, { timestampMs: 2000 });
  assert.equal(p.seq, 3);
  assert.equal(p.sessionId, "s2");
  const resumedReport = tp.verify([...lines, p]);
  assert.deepEqual([resumedReport.ok, resumedReport.count, resumedReport.head], [true, 4, p.hash]);
  const tampered = [lines[0], lines[1].replace('"eventDelta":0', '"eventDelta":1'), lines[2]];
  assert.throws(() => Chain.resume(tampered), { code: "HASH_MISMATCH" });
  const anchor = JSON.parse(lines[0]).hash;
  assert.equal(Chain.resume(lines.slice(1), { anchor }).nextSeq, 3);
  assert.throws(() => Chain.resume(lines.slice(1)), { code: "NOT_GENESIS" });
  assert.throws(() => Chain.resume([]), { code: "INVALID_ARGUMENT" });
  const report = tp.verify([lines[0], { not: "a pixel" }, lines[2]]);
  assert.equal(report.ok, false);
  assert.equal(report.error.index, 1);
  assert.equal(report.error.code, "SCHEMA_VIOLATION");
});

test("CommonJS require gives the same API", () => {
  const require = createRequire(import.meta.url);
  const cjs = require("tokenpixel");
  assert.equal(cjs.canonicalize("[1.0]"), "[1]");
  const names = (m) => Object.keys(m).filter((k) => k !== "default").sort();
  assert.deepEqual(names(cjs), names(tp));
  assert.equal(typeof require("tokenpixel/node").JsonlStore, "function");
  assert.deepEqual([...tp.ERROR_CODES].sort(), [...cjs.ERROR_CODES].sort());
  assert.ok(tp.ERROR_CODES.includes("BROKEN_LINK"));
});

test("one version everywhere: Cargo workspace, package.json, wasm", async () => {
  const fs = await import("node:fs");
  const { PKG, ROOT } = await import("./helpers.mjs");
  const cargo = fs.readFileSync(`${ROOT}/Cargo.toml`, "utf8");
  const workspace = cargo.match(/\[workspace\.package\][^[]*?version = "([^"]+)"/)[1];
  const pkgJson = JSON.parse(fs.readFileSync(`${PKG}/package.json`, "utf8"));
  assert.equal(pkgJson.version, workspace);
  assert.equal(tp.version, workspace);
});

test("the Node example continues a chain written by the Python demo", async () => {
  const { execFileSync } = await import("node:child_process");
  const fs = await import("node:fs");
  const os = await import("node:os");
  const path = await import("node:path");
  const { PYTHON, ROOT } = await import("./helpers.mjs");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-example-"));
  execFileSync(PYTHON, [path.join(ROOT, "examples", "python_agent.py"), dir], { stdio: "ignore" });
  const out = execFileSync(process.execPath, [path.join(ROOT, "examples", "node_pipeline.mjs"), dir], {
    encoding: "utf8",
  });
  assert.match(out, /verified 10 pixels written by Python/);
  assert.match(out, /verified: true, 12 pixels/);
  const verified = execFileSync(PYTHON, ["-m", "tokenpixel", "--store", dir, "verify"], { encoding: "utf8" });
  assert.match(verified, /^OK .*: 12 pixels/);
});
