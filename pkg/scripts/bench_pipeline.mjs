// Caller-side latency of Checkpointer.emit in Node, sync (fsync off) and background, on the
// shared workload shapes (../shared/bench/workload.py), with the bare Chain.emit for reference.
//
//   node scripts/bench_pipeline.mjs [N]      (default 20000 per shape; needs python3)
//
// Prints p50, p99 and max latency in microseconds and pixels per second for each mode and
// shape. A benchmark, not a test: nothing is asserted.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Chain } from "tokenpixel";
import { Checkpointer, JsonlStore } from "tokenpixel/node";

const N = Number(process.argv[2] ?? 20_000);
const HERE = dirname(fileURLToPath(import.meta.url));
const WORKLOAD = join(HERE, "..", "..", "..", "shared", "bench", "workload.py");
const FIELDS = ["state", "context", "stateVector", "autonomyIndex", "intentHash", "eventDelta", "timestampMs"];

function inputs(shape, n) {
  const out = execFileSync(process.env.PYTHON ?? "python3", [WORKLOAD, "--shape", shape, String(n)], {
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  return out
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const d = JSON.parse(line);
      return [d.corridor, Object.fromEntries(FIELDS.filter((k) => k in d).map((k) => [k, d[k]]))];
    });
}

async function run(mode, steps) {
  const dir = mkdtempSync(join(tmpdir(), "tp-bench-"));
  try {
    let emit;
    let close = async () => {};
    if (mode === "Chain.emit") {
      const chain = new Chain("bench", "s");
      emit = (c, f) => chain.emit(c, f);
    } else {
      const cp = new Checkpointer(new JsonlStore(dir), "bench", { background: mode === "background" });
      emit = (c, f) => cp.emit(c, f);
      close = () => cp.close();
    }
    const lat = new Float64Array(steps.length);
    const start = performance.now();
    for (let i = 0; i < steps.length; i++) {
      const t0 = performance.now();
      emit(steps[i][0], steps[i][1]);
      lat[i] = performance.now() - t0;
      // Background mode: the writer runs when the event loop turns, as in a pipeline that
      // awaits its own work between steps.
      if (mode === "background" && i % 64 === 63) await new Promise(setImmediate);
    }
    await close(); // background: until everything is durable
    const total = performance.now() - start;
    lat.sort();
    return [lat, (steps.length / total) * 1000];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];

console.log(`Checkpointer.emit latency (Node), ${N} pixels per shape (fsync off), microseconds`);
console.log(`${"shape".padEnd(8)} ${"mode".padEnd(11)} ${"p50".padStart(8)} ${"p99".padStart(8)} ${"max".padStart(9)} ${"pixels/s".padStart(10)}`);
for (const shape of ["agent", "text", "numeric"]) {
  const steps = inputs(shape, N);
  for (const mode of ["Chain.emit", "sync", "background"]) {
    const [lat, rate] = await run(mode, steps);
    const us = (x) => (x * 1000).toFixed(1);
    console.log(
      `${shape.padEnd(8)} ${mode.padEnd(11)} ${us(pct(lat, 0.5)).padStart(8)} ${us(pct(lat, 0.99)).padStart(8)} ${us(lat[lat.length - 1]).padStart(9)} ${rate.toFixed(0).padStart(10)}`,
    );
  }
}
