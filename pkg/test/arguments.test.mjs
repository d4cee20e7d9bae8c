// Binding edge cases (issue 9, section 2), as in bindings-py/tests/test_arguments.py: coded
// errors for bad arguments, exact big integers, null clears, verification error fields.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import test from "node:test";
import * as tp from "tokenpixel";

const C = "DISTRICT_1.CHAMBER_0.NODE_PRE";
const require = createRequire(import.meta.url);

function code(fn) {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof tp.TokenPixelError, `not a TokenPixelError: ${err}`);
    return err.code;
  }
  assert.fail("did not throw");
}

test("bad emit arguments throw coded errors", () => {
  const cases = [
    [{ timestampMs: true }, "INVALID_ARGUMENT"],
    [{ eventDelta: false }, "INVALID_ARGUMENT"],
    [{ autonomyIndex: true }, "INVALID_ARGUMENT"],
    [{ timestampMs: -1 }, "INVALID_ARGUMENT"],
    [{ eventDelta: 2 ** 53 }, "INVALID_ARGUMENT"],
    [{ intentHash: 7 }, "INVALID_ARGUMENT"],
    [{ state: "x" }, "SCHEMA_VIOLATION"],
    [{ state: { n: 10n } }, "UNSUPPORTED_TYPE"],
    [{ state: { d: new Date(0) } }, "UNSUPPORTED_TYPE"],
    [{ context: 5 }, "SCHEMA_VIOLATION"],
    [{ nope: 1 }, "INVALID_ARGUMENT"],
  ];
  for (const [options, expected] of cases) {
    const chain = new tp.Chain("agent-a", "s1");
    assert.equal(code(() => chain.emit(C, options)), expected, JSON.stringify(options, (_, v) => (typeof v === "bigint" ? `${v}n` : v)));
  }
  assert.equal(code(() => new tp.Chain(5)), "INVALID_ARGUMENT");
  assert.equal(code(() => new tp.Chain("a").emit(5)), "INVALID_ARGUMENT");
});

test("exact integers beyond 2^53 give the same bytes as Python", () => {
  const chain = new tp.Chain("agent-a", "s1");
  const p = chain.emit(C, { state: { big: 2 ** 60, neg: -(2 ** 70), huge: 2 ** 200 } });
  const line = tp.toJsonLine(p);
  assert.match(line, /"big":1152921504606847000/);
  assert.match(line, /"neg":-1\.1805916207174113e\+21/);
});

test("null clears context and intentHash; absent carries them", () => {
  const chain = new tp.Chain("agent-a", "s1");
  chain.emit(C, { context: { notes: "n" }, intentHash: "intent:1", autonomyIndex: 0.5 });
  const carried = chain.emit(C);
  assert.deepEqual([carried.context, carried.intentHash], [{ notes: "n" }, "intent:1"]);
  const cleared = chain.emit(C, { context: null, intentHash: null });
  assert.deepEqual([cleared.context, cleared.intentHash], [null, null]);
  const again = chain.emit(C, { autonomyIndex: null, state: undefined });
  assert.equal(again.autonomyIndex, 0.5);
});

test("verification errors carry code, index, line, column and path", () => {
  const chain = new tp.Chain("agent-a", "s1");
  const good = [0, 1].map(() => tp.toJsonLine(chain.emit(C)));
  const tampered = good[1].replace('"eventDelta":0', '"eventDelta":1');
  const r = tp.verifyJsonl(`${good[0]}\n${tampered}\n`);
  assert.deepEqual(
    { ...r.error, message: undefined },
    { code: "HASH_MISMATCH", index: 1, line: 2, column: null, path: "$.hash", reason: null, message: undefined },
  );
  const m = tp.verifyJsonl(`${good[0]}\n{"a":1,}\n`);
  assert.deepEqual([m.error.code, m.error.line, m.error.column, m.error.path], ["MALFORMED_JSON", 2, 8, null]);
});

test("JsonlVerifier keeps its count after finish", () => {
  const chain = new tp.Chain("agent-a", "s1");
  const data = [0, 1, 2].map(() => `${tp.toJsonLine(chain.emit(C))}\n`).join("");
  const v = new tp.JsonlVerifier();
  v.feed(new TextEncoder().encode(data));
  assert.equal(v.finish().count, 3);
  assert.equal(v.count, 3);
});

test("makeError gives every code its family; ESM and CJS share one error class", () => {
  const e = tp.makeError("STORE_IO", "disk full");
  assert.ok(e instanceof tp.TokenPixelError);
  assert.deepEqual([e.code, e.family, e.reason, e.message], ["STORE_IO", "store", null, "disk full"]);
  assert.equal(tp.makeError("HASH_MISMATCH", "x").family, "chain");
  assert.equal(code(() => tp.makeError("NO_SUCH_CODE", "x")), "INVALID_ARGUMENT");
  for (const c of tp.ERROR_CODES) assert.equal(tp.makeError(c, "m").code, c);
  const cjs = require("tokenpixel");
  assert.equal(cjs.TokenPixelError, tp.TokenPixelError);
  try {
    cjs.canonicalize("{");
  } catch (err) {
    assert.ok(err instanceof tp.TokenPixelError);
    assert.equal(err.family, "json");
  }
});

test("parseKey follows SPEC 12.6", () => {
  assert.deepEqual(tp.parseKey(12), { kind: "seq", seq: 12 });
  assert.deepEqual(tp.parseKey("123"), { kind: "seq", seq: 123 });
  assert.deepEqual(tp.parseKey("sha256:00AB"), { kind: "prefix", prefix: "00ab" });
  assert.deepEqual(tp.parseKey("3fa9c1"), { kind: "prefix", prefix: "3fa9c1" });
  for (const bad of ["²", "12a", "abc", "", " 1", -1, 1.5, 2 ** 60, "sha256:", true, null]) {
    assert.equal(code(() => tp.parseKey(bad)), "INVALID_ARGUMENT", String(bad));
  }
});
