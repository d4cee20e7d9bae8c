// Verify throughput of tokenpixel (WebAssembly) against what a JS user would write by hand:
//   (a) the `canonicalize` package (RFC 8785) + node:crypto SHA-256 (a Node pipeline);
//   (b) `canonicalize` + @noble/hashes SHA-256 (what a browser page would use).
// Each does the same work per pixel: parse, recompute both hashes, check the link.
// Usage: node scripts/bench.mjs [N]   (default 100000 pixels of about 1 KB)
import { createHash } from "node:crypto";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import canonicalize from "canonicalize";
import tp from "tokenpixel";

const N = Number(process.argv[2] ?? 100_000);
const T0 = 1_763_900_000_000;
const CORRIDORS = ["DISTRICT_1.CHAMBER_0.NODE_POST", "DISTRICT_2.CHAMBER_LORA.NODE_POST", "DISTRICT_3.CHAMBER_ROUTER.NODE_POST", "DISTRICT_4.CHAMBER_EXEC.NODE_POST", "DISTRICT_5.CHAMBER_DEPLOY.NODE_POST"];
const SURFACE = ["autonomyIndex", "context", "intentHash", "state", "stateVector"];
const GENESIS = tp.GENESIS_HASH;

function stateFor(i) {
  return {
    step: i,
    documents: [`doc-${i}-a`, `doc-${i}-b`, `doc-${i}-c`],
    summary: `Ingested three documents; routed intent to the execution chamber; model drift within bounds. Step ${i}.`,
    metrics: { latencyMs: 100 + (i % 900), tokens: 1000 + ((i * 7) % 5000), score: (i % 1000) / 1000, drift: 0.0125 },
    routing: { chamber: "EXEC", candidates: ["EXEC", "DEPLOY", "REVIEW"], confidence: 0.875 },
    artifacts: [{ name: `model-${i}.bin`, bytes: 1_000_000 + i, sha: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }],
    notes: "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.",
  };
}

function handVerifier(digest) {
  return (text) => {
    let prev = GENESIS;
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
  };
}

const nodeDigest = (s) => "sha256:" + createHash("sha256").update(s, "utf8").digest("hex");
const nobleDigest = (s) => "sha256:" + bytesToHex(sha256(utf8ToBytes(s)));

function best(fn, repeat = 3) {
  let t = Infinity;
  let out;
  for (let i = 0; i < repeat; i++) {
    const s = performance.now();
    out = fn();
    t = Math.min(t, performance.now() - s);
  }
  return [t / 1000, out];
}

const chain = new tp.Chain("bench-agent", "bench-session");
const [emitS, text] = best(() => {
  const c = new tp.Chain("bench-agent", "bench-session");
  const lines = [];
  for (let i = 0; i < N; i++) lines.push(tp.toJsonLine(c.emit(CORRIDORS[i % 5], { state: stateFor(i), timestampMs: T0 + i, autonomyIndex: 0.75 })));
  return lines.join("\n") + "\n";
}, 1);
void chain;
const bytes = new TextEncoder().encode(text);
const mb = bytes.length / 1e6;
console.log(`chain: ${N} pixels, ${mb.toFixed(1)} MB, ${(bytes.length / N).toFixed(0)} bytes per line`);
console.log(`emit (tokenpixel, incl. toJsonLine): ${((emitS * 1e6) / N).toFixed(2)} us/pixel`);

const [tpS, report] = best(() => tp.verifyJsonl(bytes), 5);
if (!report.ok || report.count !== N) throw new Error(JSON.stringify(report.error));
const [aS, aCount] = best(() => handVerifier(nodeDigest)(text));
const [bS, bCount] = best(() => handVerifier(nobleDigest)(text));
if (aCount !== N || bCount !== N) throw new Error("baseline disagrees");

const row = (name, s) => `${name.padEnd(40)} ${((s * 1e6) / N).toFixed(2).padStart(8)} us/pixel ${(mb / s).toFixed(1).padStart(8)} MB/s`;
console.log("\nverify (parse, recompute both hashes, check links)");
console.log(row("tokenpixel verifyJsonl (wasm)", tpS));
console.log(row("(a) canonicalize + node:crypto", aS));
console.log(row("(b) canonicalize + @noble/hashes", bS));
console.log(`\nratios: ${(aS / tpS).toFixed(2)}x (a), goal >= 3x; ${(bS / tpS).toFixed(2)}x (b), goal >= 4x`);
