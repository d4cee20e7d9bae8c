// OpenTelemetry metrics of the Node Checkpointer (issue 10), read back through the SDK.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import test from "node:test";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { toJsonLine } from "tokenpixel";
import { Checkpointer, JsonlStore } from "tokenpixel/node";
import { PKG } from "./helpers.mjs";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "tp-metrics-"));
const A = "agent-m";
const PRE = "DISTRICT_2.CHAMBER_LORA.NODE_PRE";
const POST = "DISTRICT_3.CHAMBER_ROUTER.NODE_POST";

class Reader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

function withReader() {
  const reader = new Reader();
  return { reader, provider: new MeterProvider({ readers: [reader] }) };
}

/** Metric name -> data points of the tokenpixel meter. */
async function points(reader) {
  const { resourceMetrics } = await reader.collect();
  const out = {};
  for (const sm of resourceMetrics.scopeMetrics) {
    if (sm.scope.name !== "tokenpixel") continue;
    for (const m of sm.metrics) (out[m.descriptor.name] ??= []).push(...m.dataPoints);
  }
  return out;
}

const byCorridor = (pts) => Object.fromEntries(pts.map((p) => [p.attributes.corridor, p]));
const bytes = (p) => Buffer.byteLength(toJsonLine(p));

test("sync checkpointer: counter, sizes and latency with agent/district/corridor", async () => {
  const { reader, provider } = withReader();
  const cp = new Checkpointer(new JsonlStore(tmp()), A, { metrics: provider });
  const pixels = [cp.emit(PRE, { state: { i: 1 } }), cp.emit(PRE, { state: { i: 2 } }), cp.emit(POST)];
  const got = await points(reader);

  const counts = byCorridor(got["tokenpixel.checkpoints"]);
  assert.equal(counts[PRE].value, 2);
  assert.equal(counts[POST].value, 1);
  assert.deepEqual({ ...counts[PRE].attributes }, { agent: A, district: "DISTRICT_2", corridor: PRE });
  assert.equal(counts[POST].attributes.district, "DISTRICT_3");

  const sizes = byCorridor(got["tokenpixel.pixel.size"]);
  assert.equal(sizes[PRE].value.count, 2);
  assert.equal(sizes[PRE].value.sum, bytes(pixels[0]) + bytes(pixels[1]));
  assert.equal(sizes[POST].value.max, bytes(pixels[2]));

  const latency = byCorridor(got["tokenpixel.emit.latency"]);
  assert.equal(latency[PRE].value.count, 2);
  assert.ok(latency[PRE].value.sum > 0 && latency[PRE].value.sum < 5, "seconds");
  assert.equal(got["tokenpixel.queue.wait"], undefined, "sync mode has no queue");
});

test("background checkpointer: queue wait and depth", async () => {
  const { reader, provider } = withReader();
  const dir = tmp();
  const cp = new Checkpointer(new JsonlStore(dir), A, { background: true, metrics: provider });
  const other = new Checkpointer(new JsonlStore(path.join(dir, "b")), "agent-n", { metrics: provider });
  for (let i = 0; i < 20; i++) cp.emit(PRE, { state: { i } });
  let got = await points(reader);
  const depth = Object.fromEntries(got["tokenpixel.queue.depth"].map((p) => [p.attributes.agent, p.value]));
  assert.deepEqual(depth, { [A]: 20 }, "nothing written yet: the writer runs when the loop turns");
  await cp.flush();
  got = await points(reader);
  assert.equal(byCorridor(got["tokenpixel.queue.wait"])[PRE].value.count, 20);
  assert.equal(byCorridor(got["tokenpixel.checkpoints"])[PRE].value, 20);
  assert.equal(got["tokenpixel.queue.depth"][0].value, 0);
  await cp.close();
  other.emit(POST);
  got = await points(reader);
  // No new observation after close (the cumulative SDK keeps the series' last value: 0).
  assert.deepEqual(
    got["tokenpixel.queue.depth"].map((p) => [p.attributes.agent, p.value]),
    [[A, 0]],
  );
});

test("metrics: false records nothing; a bad provider is INVALID_ARGUMENT", async () => {
  const { reader, provider } = withReader();
  new Checkpointer(new JsonlStore(tmp()), A, { metrics: provider }); // instruments exist
  const off = new Checkpointer(new JsonlStore(tmp()), A, { metrics: false });
  off.emit(PRE);
  const got = await points(reader);
  assert.equal(got["tokenpixel.checkpoints"], undefined);
  assert.throws(() => new Checkpointer(new JsonlStore(tmp()), A, { metrics: {} }), { code: "INVALID_ARGUMENT" });
});

test("the global provider, from ESM and CommonJS; no API installed: nothing loaded", () => {
  const dir = tmp();
  const script = `
    const { metrics } = require("@opentelemetry/api");
    const { MeterProvider, MetricReader } = require("@opentelemetry/sdk-metrics");
    class Reader extends MetricReader { async onForceFlush() {} async onShutdown() {} }
    const reader = new Reader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    (async () => {
      const { Checkpointer, JsonlStore } = require("tokenpixel/node");
      const esm = await import("tokenpixel/node");
      new Checkpointer(new JsonlStore(${JSON.stringify(dir)}), "agent-g").emit("DISTRICT_1.CHAMBER_0.NODE_PRE");
      new esm.Checkpointer(new esm.JsonlStore(${JSON.stringify(dir)}), "agent-g").emit("DISTRICT_1.CHAMBER_0.NODE_POST");
      const { resourceMetrics } = await reader.collect();
      let total = 0;
      for (const sm of resourceMetrics.scopeMetrics)
        for (const m of sm.metrics)
          if (m.descriptor.name === "tokenpixel.checkpoints") for (const p of m.dataPoints) total += p.value;
      console.log(total, sm_count(resourceMetrics));
    })();
    function sm_count(rm) { return rm.scopeMetrics.filter((s) => s.scope.name === "tokenpixel").length; }
  `;
  const out = execFileSync(process.execPath, ["-e", script], { cwd: PKG, encoding: "utf8" });
  assert.equal(out.trim(), "2 1", "both module copies record through one meter");

  // Without @opentelemetry/api: a loader hook makes it unresolvable, emits still work.
  const hidden = `
    const Module = require("node:module");
    const resolve = Module._resolveFilename;
    Module._resolveFilename = function (request, ...rest) {
      if (request.startsWith("@opentelemetry/")) throw Object.assign(new Error("not installed"), { code: "MODULE_NOT_FOUND" });
      return resolve.call(this, request, ...rest);
    };
    const { Checkpointer, JsonlStore } = require("tokenpixel/node");
    const cp = new Checkpointer(new JsonlStore(${JSON.stringify(path.join(dir, "x"))}), "agent-x", { background: true });
    cp.emit("DISTRICT_1.CHAMBER_0.NODE_PRE");
    cp.close().then(() => {
      const loaded = Object.keys(require.cache).filter((f) => f.includes("@opentelemetry"));
      console.log(new JsonlStore(${JSON.stringify(path.join(dir, "x"))}).verify("agent-x").count, loaded.length);
    });
  `;
  const out2 = execFileSync(process.execPath, ["-e", hidden], { cwd: PKG, encoding: "utf8" });
  assert.equal(out2.trim(), "1 0");
});

test("the README's Prometheus example runs (on a free port)", async () => {
  const readme = fs.readFileSync(path.join(PKG, "..", "README.md"), "utf8");
  const block = [...readme.matchAll(/```javascript\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes("PrometheusExporter"));
  assert.ok(block, "the README shows the Prometheus exporter for Node");
  const port = await new Promise((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
  const file = path.join(PKG, `.readme-prometheus-${process.pid}.mjs`);
  fs.writeFileSync(file, block.replaceAll("9464", String(port)));
  try {
    const out = execFileSync(process.execPath, [file], { cwd: PKG, encoding: "utf8" });
    assert.match(out, /tokenpixel_checkpoints_total\{agent="deploy-bot",district="DISTRICT_4",corridor="DISTRICT_4\.CHAMBER_EXEC\.NODE_PRE".*\} 1/);
  } finally {
    fs.rmSync(file, { force: true });
  }
});
