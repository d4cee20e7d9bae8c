// Node emit and verify on the shared workload shapes (../shared/bench/workload.py: agent, text,
// numeric), side by side with what a Node user would write: the `canonicalize` package
// (RFC 8785) + node:crypto SHA-256, and + @noble/hashes (what a browser page would use). Each
// does the same work per pixel: both hashes (state surface and pixel) and the link check.
//
//   node scripts/bench_shapes.mjs [N]      (default 20000 pixels per shape; needs python3)
//
// A benchmark, not a test: nothing is asserted about speed.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import canonicalize from "canonicalize";
import tp from "tokenpixel";

const N = Number(process.argv[2] ?? 20_000);
const WORKLOAD = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "shared", "bench", "workload.py");
const SURFACE = ["autonomyIndex", "context", "intentHash", "state", "stateVector"];
const DEFAULTS = { state: {}, context: null, stateVector: {}, autonomyIndex: 0, intentHash: null, eventDelta: 0 };

const nodeDigest = (s) => "sha256:" + createHash("sha256").update(s, "utf8").digest("hex");
const nobleDigest = (s) => "sha256:" + bytesToHex(sha256(utf8ToBytes(s)));

function steps(shape) {
  const out = execFileSync(process.env.PYTHON ?? "python3", [WORKLOAD, "--shape", shape, String(N)], { encoding: "utf8", maxBuffer: 1 << 30 });
  return out.split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

function fields(s) {
  return Object.fromEntries(Object.entries(DEFAULTS).map(([k, d]) => [k, k in s ? s[k] : d]));
}

function tpEmit(rows) {
  const chain = new tp.Chain("bench", "s");
  let text = "";
  for (const s of rows) text += chain.emitLine(s.corridor, { timestampMs: s.timestampMs, ...fields(s) }) + "\n";
  return text;
}

function ritualEmit(rows, digest) {
  let prev = tp.GENESIS_HASH;
  let text = "";
  rows.forEach((s, seq) => {
    const p = { agentId: "bench", corridor: s.corridor, prevHash: prev, schema: 1, seq, sessionId: "s", timestampMs: s.timestampMs, ...fields(s) };
    p.stateHash = digest("tokenpixel/v1/state\0" + canonicalize(Object.fromEntries(SURFACE.map((k) => [k, p[k]]))));
    p.hash = prev = digest("tokenpixel/v1/pixel\0" + canonicalize(p));
    text += canonicalize(p) + "\n";
  });
  return text;
}

function ritualVerify(text, digest) {
  let prev = tp.GENESIS_HASH;
  let count = 0;
  for (const line of text.split("\n")) {
    if (!line) continue;
    const pixel = JSON.parse(line);
    const stored = pixel.hash;
    delete pixel.hash;
    if (digest("tokenpixel/v1/pixel\0" + canonicalize(pixel)) !== stored) throw new Error(`hash mismatch at ${count}`);
    const surface = Object.fromEntries(SURFACE.map((k) => [k, pixel[k]]));
    if (digest("tokenpixel/v1/state\0" + canonicalize(surface)) !== pixel.stateHash) throw new Error(`stateHash mismatch at ${count}`);
    if (pixel.prevHash !== prev || pixel.seq !== count) throw new Error(`broken link at ${count}`);
    prev = stored;
    count++;
  }
  return count;
}

function best(fn, repeat = 3) {
  let t = Infinity;
  let out;
  for (let i = 0; i < repeat; i++) {
    const s = performance.now();
    out = fn();
    t = Math.min(t, performance.now() - s);
  }
  return [t, out];
}

console.log(`Node, ${N} pixels per shape; microseconds per pixel; ratios: higher is better for us`);
console.log(["shape", "emit", "verify", "emit/crypto", "verify/crypto", "verify/noble"].map((h, i) => (i ? h.padStart(14) : h.padEnd(8))).join(""));
for (const shape of ["agent", "text", "numeric"]) {
  const rows = steps(shape);
  const [tEmit, text] = best(() => tpEmit(rows));
  const ritual = ritualEmit(rows.slice(0, 50), nodeDigest);
  if (ritual !== text.split("\n").slice(0, 50).join("\n") + "\n") throw new Error("the canonicalize ritual disagrees with tokenpixel");
  const [tEmitC] = best(() => ritualEmit(rows, nodeDigest));
  const [tVerify, report] = best(() => tp.verifyJsonl(text), 5);
  if (!report.ok || report.count !== N) throw new Error("verify failed");
  const [tVerifyC] = best(() => ritualVerify(text, nodeDigest));
  const [tVerifyN] = best(() => ritualVerify(text, nobleDigest));
  const us = (t) => ((t * 1000) / N).toFixed(2).padStart(14);
  const x = (a, b) => `${(a / b).toFixed(2)}x`.padStart(14);
  console.log(`${shape.padEnd(8)}${us(tEmit)}${us(tVerify)}${x(tEmitC, tEmit)}${x(tVerifyC, tVerify)}${x(tVerifyN, tVerify)}`);
}
console.log("goals: emit/crypto >= 3x, verify/crypto >= 3x, verify/noble >= 4x on every shape");
