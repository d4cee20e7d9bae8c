// Node CommonJS entry.
"use strict";
const { makeApi } = require("./api.cjs");
const crypto = require("node:crypto");

// SHA-256 for the core's verifiers, batched: node:crypto uses the CPU's SHA instructions.
// crypto.hash (Node >= 21.7) is a one-shot without a Hash object; createHash elsewhere.
const oneShot =
  typeof crypto.hash === "function"
    ? (bytes) => crypto.hash("sha256", bytes, "buffer")
    : (bytes) => crypto.createHash("sha256").update(bytes).digest();

function sha256Batch(preimages, ends) {
  const out = new Uint8Array(32 * ends.length);
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    out.set(oneShot(preimages.subarray(start, ends[i])), 32 * i);
    start = ends[i];
  }
  return out;
}

const api = makeApi(require("./wasm-node/tokenpixel.js"), { sha256Batch });
module.exports = api;
module.exports.default = api;
