// `npx tokenpixel view`'s server without a browser: the routes and headers, and every path the
// SPEC (15.1) says is 404, sent raw (no client-side normalisation). The same list runs against
// the Python server in bindings-py/tests/test_view.py.
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import tp from "tokenpixel";
import { JsonlStore } from "tokenpixel/node";
import { createViewServer } from "../dist/view.mjs";

let dir;
let server;
let store;

function get(rawPath, method = "GET") {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: server.address().port, path: rawPath, method }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

function fill(agent, n) {
  const chain = new tp.Chain(agent, "view");
  for (let i = 0; i < n; i++) store.append(chain.emit("DISTRICT_1.CHAMBER_0.NODE_PRE", { state: { i }, timestampMs: 1000 + i }));
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-view-"));
  store = new JsonlStore(path.join(dir, "store"));
  fill("agent-a", 5);
  fill("agent-b", 3);
  const outside = new JsonlStore(path.join(dir, "outside"));
  outside.append(new tp.Chain("agent-secret").emit("DISTRICT_1.CHAMBER_0.NODE_PRE"));
  fs.symlinkSync(outside.path("agent-secret"), store.path("agent-secret"));
  server = createViewServer(store, { agent: "agent-b" });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

test("the site, the API and the headers", async () => {
  const page = await get("/");
  assert.equal(page.status, 200);
  assert.equal(page.headers["content-type"], "text/html; charset=utf-8");
  assert.match(page.headers["content-security-policy"], /script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(page.headers["content-security-policy"], /unsafe-inline/);
  assert.equal(page.headers["x-content-type-options"], "nosniff");
  const wasm = await get("/tokenpixel/wasm-web/tokenpixel_bg.wasm");
  assert.equal(wasm.headers["content-type"], "application/wasm");
  assert.deepEqual([...wasm.body.subarray(0, 4)], [0, 0x61, 0x73, 0x6d]);
  assert.deepEqual(JSON.parse((await get("/api/agents")).body), store.agents()); // agent-secret is a symlink: listed, never served
  assert.deepEqual(JSON.parse((await get("/api/info")).body), { live: false, agent: "agent-b", store: store.directory, keys: [] });
  const chain = await get("/api/chains/agent-a.jsonl");
  assert.equal(chain.headers["content-type"], "application/x-ndjson");
  assert.deepEqual(chain.body, fs.readFileSync(store.path("agent-a")));
  assert.equal((await get("/api/checkpoints/agent-a")).status, 204); // never signed
  assert.equal((await get("/", "HEAD")).body.length, 0);
  assert.equal((await get("/api/agents", "POST")).status, 405);
});

test("a pruned chain carries its anchor", async () => {
  store.prune(2, "agent-a");
  const chain = await get("/api/chains/agent-a.jsonl");
  const { anchor, firstSeq, frontier } = store.anchorRecord("agent-a");
  assert.equal(chain.headers["tokenpixel-anchor"], anchor);
  assert.equal(chain.headers["tokenpixel-frontier"], frontier.join(","));
  assert.deepEqual([firstSeq, frontier.length], [3, 2]); // 3 = 2 + 1
  assert.equal(tp.verifyJsonl(chain.body, { anchor }).ok, true);
});

const REFUSED = [
  "/../store/pixels_agent-a.jsonl",
  "/%2e%2e/%2e%2e/etc/passwd",
  "/%2E%2E/index.html",
  "/tokenpixel/../index.html",
  "/tokenpixel/%2e%2e/index.html",
  "//etc/passwd",
  "/etc/passwd",
  "/index.html%00",
  "/index.html%00.png",
  "/api/chains/..%2fstore%2fpixels_agent-a.jsonl",
  "/api/chains/%2e%2e.jsonl",
  "/api/chains/agent-a%00.jsonl",
  "/api/chains//etc/passwd.jsonl",
  "/api/chains/agent-a",
  "/api/chains/agent-zzz.jsonl",
  "/api/chains/agent-a.jsonl/..",
  "/api/chains/agent-secret.jsonl",
  "/api/follow/agent-a",
  "/%5c..%5cindex.html",
  "/app.js/",
  "/%E0%A4%A",
  "http://evil.example/etc/passwd",
  `/..${"/..".repeat(20)}/etc/passwd`,
];

test("everything else is 404", async () => {
  for (const p of REFUSED) {
    const r = await get(p);
    assert.equal(r.status, 404, p);
    assert.doesNotMatch(r.body.toString(), /root:|"agentId"/, p);
  }
});
