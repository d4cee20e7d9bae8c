// The golden vectors in tests/vectors/ give the same results in Node as in Rust and Python.
import assert from "node:assert/strict";
import { test } from "node:test";
import tp from "tokenpixel";
import { checkReport, loadVectors, runSteps } from "./helpers.mjs";

test("canonical vectors", () => {
  const { cases } = loadVectors("canonical.json");
  assert.ok(cases.length > 40);
  for (const c of cases) {
    if ("output" in c) {
      assert.equal(tp.canonicalize(c.input), c.output, c.name);
      assert.equal(tp.canonicalize(c.output), c.output, c.name);
    } else {
      assert.throws(
        () => tp.canonicalize(c.input),
        (e) => e instanceof tp.TokenPixelError && e.code === c.error.code && e.reason === (c.error.reason ?? null),
        c.name,
      );
    }
  }
});

test("chain vectors replay byte for byte and verify", () => {
  for (const c of loadVectors("chains.json").chains) {
    const options = { anchor: c.anchor ?? undefined };
    checkReport(assert, tp.verifyJsonl(c.jsonl, options), c.expect);
    checkReport(assert, tp.verifyJsonl(new TextEncoder().encode(c.jsonl), options), c.expect);
    const lines = c.jsonl.split("\n").filter(Boolean);
    checkReport(assert, tp.verify(lines, options), c.expect);
    checkReport(assert, tp.verify(lines.map((l) => JSON.parse(l)), options), c.expect);
    if (c.steps) {
      const chain = new tp.Chain(c.agentId, c.sessionId);
      assert.equal(runSteps(tp, chain, c.steps), c.jsonl, c.name);
    }
  }
});

test("tamper vectors fail with the same code, index and line", () => {
  for (const c of loadVectors("tamper.json").cases) {
    const data = c.jsonlHex ? Uint8Array.from(Buffer.from(c.jsonlHex, "hex")) : new TextEncoder().encode(c.jsonl);
    const options = { anchor: c.anchor ?? undefined };
    checkReport(assert, tp.verifyJsonl(data, options), c.expect);
    const v = new tp.JsonlVerifier(options);
    for (let i = 0; i < data.length; i += 101) v.feed(data.subarray(i, i + 101));
    checkReport(assert, v.finish(), c.expect);
  }
});
