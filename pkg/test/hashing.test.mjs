// Node hashes for the core with node:crypto (batched; SHA instructions), browsers inside wasm.
// Both must give the same lines and the same reports: golden vectors, generated chains and
// single-byte mutations, and a host hasher that answers wrongly is not trusted.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";
import { test } from "node:test";
import tp from "tokenpixel";
import { PKG, loadVectors } from "./helpers.mjs";

const require = createRequire(import.meta.url);
const { makeApi } = require(path.join(PKG, "dist", "api.cjs"));
const wasm = require(path.join(PKG, "dist", "wasm-node", "tokenpixel.js"));
const inWasm = makeApi(wasm);
const lying = makeApi(wasm, { sha256Batch: (_pre, ends) => new Uint8Array(32 * ends.length + 1) });
const throwing = makeApi(wasm, {
  sha256Batch: () => {
    throw new Error("no hashing here");
  },
});
const APIS = { node: tp, wasm: inWasm, lying, throwing };

function chain(api, n) {
  const c = new api.Chain("agent-h", "s-1");
  let text = "";
  for (let i = 0; i < n; i++) {
    text += `${c.emitLine(`DISTRICT_${(i % 5) + 1}.CHAMBER_LORA.NODE_POST`, {
      timestampMs: 1_763_900_000_000 + i,
      state: { step: i, note: `"é日本🎉\t${"x".repeat(i * 37)}`, weights: [i / 3, -i * 1e-9, 1e21] },
      context: i % 3 ? null : { phase: { name: `Phase ${i}`, number: i, status: "in_progress" } },
      autonomyIndex: (i % 10) / 10,
    })}\n`;
  }
  return text;
}

test("every hasher emits the same bytes", () => {
  const want = chain(inWasm, 30);
  for (const [name, api] of Object.entries(APIS)) assert.equal(chain(api, 30), want, name);
});

test("every hasher gives the same report on golden vectors", () => {
  const { cases } = loadVectors("tamper.json");
  for (const c of cases) {
    const data = c.jsonlHex ? Uint8Array.from(Buffer.from(c.jsonlHex, "hex")) : c.jsonl;
    const options = { anchor: c.anchor ?? undefined };
    const want = inWasm.verifyJsonl(data, options);
    assert.equal(want.error?.code, c.expect.error?.code, c.name);
    for (const [name, api] of Object.entries(APIS)) {
      assert.deepEqual(api.verifyJsonl(data, options), want, `${name}: ${c.name}`);
    }
  }
});

test("every hasher gives the same report for single-byte mutations, whole and streamed", () => {
  const bytes = new TextEncoder().encode(chain(inWasm, 12));
  let failures = 0;
  for (let pos = 0; pos < bytes.length; pos += 7) {
    for (const b of [0x22, 0x30, 0x0a, bytes[pos] ^ 1]) {
      const mutated = bytes.slice();
      mutated[pos] = b;
      const want = inWasm.verifyJsonl(mutated);
      failures += want.ok ? 0 : 1;
      for (const [name, api] of Object.entries(APIS)) {
        assert.deepEqual(api.verifyJsonl(mutated), want, `${name} at ${pos}`);
        const v = new api.JsonlVerifier();
        for (let i = 0; i < mutated.length; i += 1000) v.feed(mutated.subarray(i, i + 1000));
        assert.deepEqual(v.finish(), want, `${name} streamed at ${pos}`);
      }
    }
  }
  assert.ok(failures > 500, `mutations should mostly fail, ${failures} did`);
});

test("a string is verified in chunks without splitting a character", () => {
  // About 2.5 MB of text with 4-byte characters (surrogate pairs) at every offset, so some
  // pair straddles each 1 MiB chunk boundary; a lone surrogate reads as U+FFFD either way.
  const c = new tp.Chain("agent-s", "s-1");
  let text = "";
  for (let i = 0; i < 60; i++) {
    const pad = "🎉".repeat(11000 + i) + "é".repeat(i);
    text += `${c.emitLine("DISTRICT_1.CHAMBER_0.NODE_POST", { timestampMs: 1_763_900_000_000 + i, state: { i, pad } })}\n`;
  }
  const bytes = new TextEncoder().encode(text);
  assert.ok(bytes.length > 2_400_000);
  const want = inWasm.verifyJsonl(bytes);
  assert.equal(want.ok, true);
  assert.equal(want.count, 60);
  for (const [name, api] of Object.entries(APIS)) assert.deepEqual(api.verifyJsonl(text), want, name);
  // Bytes over 1 MiB are fed in pieces: the same report as the whole buffer at once.
  const damaged = bytes.slice();
  damaged[2_000_000] ^= 1;
  const whole = wasm.verifyJsonlBytes(damaged, undefined, undefined);
  assert.equal(whole.ok, false);
  for (const [name, api] of Object.entries(APIS)) assert.deepEqual(api.verifyJsonl(damaged), whole, name);
  const lone = `${text.slice(0, 1_000_000)}\ud800${text.slice(1_000_000)}`;
  const loneWant = inWasm.verifyJsonl(new TextEncoder().encode(lone));
  assert.equal(loneWant.ok, false);
  assert.deepEqual(tp.verifyJsonl(lone), loneWant);
});
