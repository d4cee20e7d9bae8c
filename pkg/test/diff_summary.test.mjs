// diff and summarize give the same results in Node as in Rust and Python (golden vectors).
import assert from "node:assert/strict";
import { test } from "node:test";
import tp from "tokenpixel";
import { loadVectors } from "./helpers.mjs";

test("diff vectors", () => {
  for (const c of loadVectors("diff.json").cases) {
    if (c.range) {
      assert.deepEqual(tp.diffRange(c.range), c.expect, c.name);
      assert.equal(tp.diffRange(c.range.map((l) => JSON.parse(l)), { text: true }), c.text, c.name);
    } else {
      assert.deepEqual(tp.diff(JSON.parse(c.a), c.b), c.expect, c.name);
      assert.equal(tp.diffText(c.a, JSON.parse(c.b)), c.text, c.name);
    }
  }
});

test("summary vectors", () => {
  for (const c of loadVectors("summary.json").cases) {
    const o = c.options;
    const s = tp.summarize(c.pixel, {
      level: o.level ?? undefined,
      forTask: o.forTask ?? undefined,
      relevantKeys: o.relevantKeys ?? undefined,
      maxTokens: o.maxTokens ?? undefined,
    });
    assert.deepEqual(s, c.expect, c.name);
    assert.equal(tp.estimateTokens(s.text), s.tokens);
  }
  assert.throws(() => tp.summarize(loadVectors("summary.json").cases[0].pixel, { level: "huge" }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => tp.summarize(loadVectors("summary.json").cases[0].pixel, { levle: "full" }), { code: "INVALID_ARGUMENT" });
});
