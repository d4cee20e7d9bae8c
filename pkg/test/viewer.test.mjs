// The viewer in Chromium (playwright-core with Debian's Chromium): what a person sees for a
// valid, a tampered and a torn chain; the timeline, diff, summary, keyboard and drag-and-drop;
// 100k pixels; no Content-Security-Policy violation; live updates from PostgreSQL through both
// servers (`npx tokenpixel view` and the Python `tokenpixel view`). Saves target/viewer.png
// (and docs/viewer.png with UPDATE_SCREENSHOT=1).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import tp from "tokenpixel";
import { JsonlStore, PostgresStore } from "tokenpixel/node";
import { createViewServer } from "../dist/view.mjs";
import { PYTHON, ROOT } from "./helpers.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const PG_URL = process.env.TOKENPIXEL_TEST_PG;
const T0 = 1_795_000_000_000;
const NODES = ["NODE_PRE", "NODE_POST"];

/** A pipeline-shaped chain: five districts, an error and an anomaly, fixed times. */
function pipeline(agent, n = 60) {
  const chain = new tp.Chain(agent, "viewer-run");
  const lines = [];
  for (let i = 0; i < n; i++) {
    const district = 1 + Math.floor((i * 5) / n);
    const node = i === 41 ? "NODE_ERROR" : i === 47 ? "NODE_ANOMALY" : NODES[i % 2];
    lines.push(
      chain.emitLine(`DISTRICT_${district}.CHAMBER_STEP${district}.${node}`, {
        state: { step: i, artifacts: Array.from({ length: i % 4 }, (_, k) => `a${k}`), ok: node !== "NODE_ERROR" },
        context: {
          phase: { name: `district ${district}`, number: district, status: i === n - 1 ? "completed" : "in_progress" },
          variables: { run_id: "run-7", step: String(i) },
          tasks: [{ id: "1", subject: "deploy", status: i > 50 ? "completed" : "pending" }],
        },
        timestampMs: T0 + i * 1500 + (i % 7) * 100,
        autonomyIndex: Math.round((i / n) * 100) / 100,
        eventDelta: i % 3,
        stateVector: { progress: i },
      }),
    );
  }
  return lines.map((l) => `${l}\n`).join("");
}

let dir;
let server;
let signer;
let base;
let browser;
const violations = [];

async function newPage(options = {}) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 }, ...options });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__csp = [...(window.__csp ?? []), `${e.violatedDirective} ${e.blockedURI}`];
    });
  });
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  page.on("console", (m) => {
    if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text());
    if (m.type() === "error") page.errors.push(m.text());
  });
  return page;
}

async function ready(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 60_000 });
  await page.waitForFunction(() => ["ok", "bad"].includes(document.getElementById("status").dataset.kind), null, {
    timeout: 120_000,
  });
}

async function done(page) {
  violations.push(...(await page.evaluate(() => window.__csp ?? [])));
  const errors = page.errors;
  await page.close();
  assert.deepEqual(errors, []);
}

const status = (page) => page.textContent("#status");
const selectedSeq = async (page) => JSON.parse(await page.textContent("#pixelJson")).seq;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-viewer-"));
  const write = (agent, text) => fs.writeFileSync(path.join(dir, `pixels_${agent}.jsonl`), text);
  write("viewer-demo", pipeline("viewer-demo"));
  const tampered = Buffer.from(pipeline("viewer-tampered"));
  const lines = tampered.toString().split("\n");
  const at = lines.slice(0, 37).join("\n").length + 1 + lines[37].indexOf('"step":37') + 8;
  tampered[at] = "8".charCodeAt(0); // "step":37 -> "step":38, one byte
  write("viewer-tampered", tampered);
  const torn = pipeline("viewer-torn", 20);
  write("viewer-torn", torn.slice(0, torn.length - 90));
  // Signed checkpoints (SPEC 14): the demo chain signed at its head; a chain cut after signing.
  signer = tp.NoteSigner.generate("example.com/viewer");
  const sign = (agent, text) => {
    const hashes = text.trim().split("\n").map((l) => JSON.parse(l).hash);
    const body = tp.checkpointText(tp.originFor(signer.name, agent), hashes.length, tp.treeRoot(hashes));
    fs.writeFileSync(path.join(dir, `pixels_${agent}.tlog-checkpoint`), signer.sign(body));
  };
  sign("viewer-demo", fs.readFileSync(path.join(dir, "pixels_viewer-demo.jsonl"), "utf8"));
  const cut = pipeline("viewer-cut", 20);
  sign("viewer-cut", cut);
  write("viewer-cut", cut.split("\n").slice(0, 15).map((l) => `${l}\n`).join(""));
  // Signed at 30 pixels, then pruned to the newest 10: the frontier stands for the rest.
  const pruned = pipeline("viewer-pruned", 30);
  write("viewer-pruned", pruned);
  sign("viewer-pruned", pruned);
  new JsonlStore(dir).prune(10, "viewer-pruned");
  const chain = new tp.Chain("viewer-100k", "big");
  const big = [];
  for (let i = 0; i < 100_000; i++) {
    big.push(chain.emitLine(`DISTRICT_${1 + (i % 5)}.CHAMBER_${i % 11}.NODE_${i % 997 === 0 ? "ERROR" : "POST"}`, { state: { i }, timestampMs: T0 + i * 10, eventDelta: i % 4 }));
  }
  write("viewer-100k", big.map((l) => `${l}\n`).join(""));
  server = createViewServer(new JsonlStore(dir), { agent: "viewer-demo", keys: [signer.verifier] });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}/`;
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
});

after(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve());
  fs.rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(violations, [], "no Content-Security-Policy violation on any page");
});

test("a valid chain shows green with its count and head; timeline, charts, detail", async () => {
  const page = await newPage();
  await ready(page, base);
  const expect = tp.verifyJsonl(fs.readFileSync(path.join(dir, "pixels_viewer-demo.jsonl")));
  const text = await status(page);
  assert.match(text, new RegExp(`^verified: 60 pixels, head ${expect.head}`));
  assert.equal(await page.getAttribute("#status", "data-kind"), "ok");
  assert.deepEqual(await page.$$eval("#agents option", (o) => o.map((x) => x.value)), ["", "viewer-100k", "viewer-cut", "viewer-demo", "viewer-pruned", "viewer-tampered", "viewer-torn"]);
  assert.equal(await page.inputValue("#agents"), "viewer-demo");
  await page.waitForSelector("#signed:not([hidden])");
  assert.equal(await page.getAttribute("#signed", "data-kind"), "ok");
  assert.equal(await page.textContent("#signed"), "signed by example.com/viewer at size 60: signature verified, the first 60 pixels give the signed root");
  assert.equal(await page.locator("#charts .uplot").count(), 2);
  // The newest pixel is selected; its prevHash link goes back one; the arrows move.
  assert.equal(await selectedSeq(page), 59);
  await page.click("#prevLink");
  assert.equal(await selectedSeq(page), 58);
  await page.focus("#timeline");
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("ArrowLeft");
  assert.equal(await selectedSeq(page), 56);
  await page.keyboard.press("Home");
  assert.equal(await selectedSeq(page), 0);
  await page.keyboard.press("ArrowRight");
  assert.equal(await selectedSeq(page), 1);
  // A click on the timeline selects the pixel under it (60 cells across the canvas).
  const box = await page.locator("#timeline").boundingBox();
  await page.mouse.click(box.x + (box.width * 41.5) / 60, box.y + box.height / 2);
  assert.equal(await selectedSeq(page), 41);
  await page.screenshot({ path: path.join(ROOT, "target", "viewer.png"), fullPage: true });
  if (process.env.UPDATE_SCREENSHOT === "1") await page.screenshot({ path: path.join(ROOT, "docs", "viewer.png"), fullPage: true });
  await page.mouse.move(box.x + (box.width * 47.5) / 60, box.y + box.height / 2);
  assert.match(await page.textContent("#tooltip"), /^seq 47 · DISTRICT_4\.CHAMBER_STEP4\.NODE_ANOMALY · 2026-/);
  // Zoom in and the selection stays in view.
  await page.click("#zoomIn");
  await page.click("#zoomIn");
  assert.equal(await selectedSeq(page), 41);
  await done(page);
});

test("the diff pane shows the core's diff; the summary keeps to the budget", async () => {
  const page = await newPage();
  await ready(page, base);
  const pixels = fs.readFileSync(path.join(dir, "pixels_viewer-demo.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  await page.fill("#diffFrom", "10");
  await page.fill("#diffTo", "23");
  const diff = await page.textContent("#diff");
  assert.equal(diff, tp.diffText(pixels[10], pixels[23]));
  assert.match(diff, /\$\.state\.step/);
  assert.match(diff, /\$\.state\.artifacts/);
  await page.click("#diffPrev"); // previous -> selected (59)
  assert.equal(await page.textContent("#diff"), tp.diffText(pixels[58], pixels[59]));
  for (const budget of [64, 128, 1024]) {
    await page.locator("#budget").evaluate((el, v) => {
      el.value = String(v);
      el.dispatchEvent(new Event("input"));
    }, budget);
    const summary = await page.textContent("#summary");
    assert.equal(summary, tp.summarize(pixels[59], { level: "standard", maxTokens: budget }).text);
    assert.ok(tp.estimateTokens(summary) <= budget, `${tp.estimateTokens(summary)} tokens > ${budget}`);
    assert.equal(await page.textContent("#tokens"), `${tp.estimateTokens(summary)} tokens (budget ${budget})`);
  }
  // Files have a reload button: a pixel appended since shows after it.
  const file = path.join(dir, "pixels_viewer-demo.jsonl");
  const before = fs.readFileSync(file);
  const resumed = tp.Chain.resume([pixels[59]], { anchor: pixels[59].prevHash });
  fs.appendFileSync(file, `${resumed.emitLine("DISTRICT_5.CHAMBER_STEP5.NODE_POST", { timestampMs: T0 + 99_000 })}\n`);
  await page.click("#reload");
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("verified: 61 pixels"));
  fs.writeFileSync(file, before);
  await page.click("#reload");
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("verified: 60 pixels"));
  await page.selectOption("#level", "minimal");
  assert.equal(await page.textContent("#summary"), tp.summarize(pixels[59], { level: "minimal", maxTokens: 1024 }).text);
  await done(page);
});

test("a tampered chain shows red at pixel 37 with the SPEC code, highlighted", async () => {
  const page = await newPage();
  await ready(page, `${base}?agent=viewer-tampered`);
  const expect = tp.verifyJsonl(fs.readFileSync(path.join(dir, "pixels_viewer-tampered.jsonl")));
  assert.equal(expect.error.index, 37);
  assert.equal(await page.getAttribute("#status", "data-kind"), "bad");
  const text = await status(page);
  assert.ok(text.startsWith(`FAILED ${expect.error.code} at pixel 37, line 38`), text);
  assert.ok(text.includes(expect.error.message), text);
  assert.equal(await selectedSeq(page), 37);
  await done(page);
});

test("a chain cut after it was signed verifies, and the signed checkpoint says TRUNCATED", async () => {
  const page = await newPage();
  await ready(page, `${base}?agent=viewer-cut`);
  assert.match(await status(page), /^verified: 15 pixels/);
  await page.waitForSelector("#signed:not([hidden])");
  assert.equal(await page.getAttribute("#signed", "data-kind"), "bad");
  assert.match(await page.textContent("#signed"), /^signed by example\.com\/viewer at size 20: TRUNCATED: the chain has 15 verified pixels/);
  await done(page);
});

test("a pruned chain verifies from its anchor and its signed checkpoint from the kept frontier", async () => {
  const page = await newPage();
  await ready(page, `${base}?agent=viewer-pruned`);
  assert.match(await status(page), /^verified: 10 pixels, head sha256:[0-9a-f]{64}, pruned: starts after sha256:/);
  await page.waitForSelector("#signed:not([hidden])");
  assert.equal(await page.getAttribute("#signed", "data-kind"), "ok");
  assert.equal(await page.textContent("#signed"), "signed by example.com/viewer at size 30: signature verified, the first 30 pixels give the signed root");
  await done(page);
});

test("without a key the checkpoint is shown unverified; a key typed into the page verifies it", async () => {
  const keyless = createViewServer(new JsonlStore(dir));
  await new Promise((resolve) => keyless.listen(0, "127.0.0.1", resolve));
  try {
    const page = await newPage();
    await ready(page, `http://127.0.0.1:${keyless.address().port}/?agent=viewer-demo`);
    await page.waitForSelector("#signed:not([hidden])");
    assert.equal(await page.getAttribute("#signed", "data-kind"), "idle");
    assert.match(await page.textContent("#signed"), /^signed by example\.com\/viewer at size 60 \(not verified: no verifier key/);
    await page.fill("#keys", tp.NoteSigner.generate("example.com/viewer").verifier); // same name, another key
    await page.locator("#keys").dispatchEvent("change");
    assert.match(await page.textContent("#signed"), /^signed checkpoint: UNKNOWN_KEY/);
    await page.fill("#keys", signer.verifier);
    await page.locator("#keys").dispatchEvent("change");
    assert.equal(await page.getAttribute("#signed", "data-kind"), "ok");
    await done(page);
  } finally {
    keyless.closeAllConnections();
    await new Promise((resolve) => keyless.close(resolve));
  }
});

test("a torn tail says so", async () => {
  const page = await newPage();
  await ready(page, `${base}?agent=viewer-torn`);
  const text = await status(page);
  assert.match(text, /^FAILED MALFORMED_JSON at pixel 19, line 20/);
  assert.match(text, /torn tail/);
  await done(page);
});

test("drag and drop of a chain file verifies it", async () => {
  const page = await newPage();
  await ready(page, base);
  const text = pipeline("dropped-agent", 12);
  await page.evaluate(async (content) => {
    const data = new DataTransfer();
    data.items.add(new File([content], "dropped.jsonl", { type: "application/x-ndjson" }));
    for (const type of ["dragenter", "dragover", "drop"]) {
      document.body.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
    }
  }, text);
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("verified: 12 pixels"));
  assert.match(await status(page), new RegExp(`head ${tp.verifyJsonl(text).head}`));
  assert.equal(await page.inputValue("#agents"), "");
  // The file input too.
  await page.setInputFiles("#file", { name: "chosen.jsonl", mimeType: "application/x-ndjson", buffer: Buffer.from(pipeline("chosen", 7)) });
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("verified: 7 pixels"));
  await done(page);
});

test("?chain= loads a same-origin file and refuses another origin", async () => {
  const page = await newPage();
  await ready(page, `${base}?chain=./api/chains/viewer-demo.jsonl`);
  assert.match(await status(page), /^verified: 60 pixels/);
  await page.goto(`${base}?chain=https://example.com/x.jsonl`);
  await page.waitForFunction(() => document.body.dataset.ready === "true");
  assert.match(await status(page), /refused \?chain=https:\/\/example\.com\/x\.jsonl/);
  await done(page);
});

test("phone width and the dark theme", async () => {
  const page = await newPage({ viewport: { width: 390, height: 844 }, colorScheme: "dark" });
  await ready(page, base);
  assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 390, "no horizontal scrolling");
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, "rgb(17, 20, 24)");
  await done(page);
});

test("100k pixels load and verify in the worker", async () => {
  const page = await newPage();
  const started = performance.now();
  await ready(page, `${base}?agent=viewer-100k`);
  const seconds = (performance.now() - started) / 1000;
  const text = await status(page);
  assert.match(text, /^verified: 100000 pixels/);
  const bytes = fs.statSync(path.join(dir, "pixels_viewer-100k.jsonl")).size;
  console.log(`# viewer: 100000 pixels (${(bytes / 1e6).toFixed(1)} MB) loaded, verified and drawn in ${seconds.toFixed(2)} s; ${text.match(/in [0-9.]+ s \([0-9,]+ pixels\/s\)/)?.[0]}`);
  await page.keyboard.press("End");
  assert.equal(await selectedSeq(page), 99_999);
  await done(page);
});

/** `tokenpixel view` (Python) on a store URL: resolves to its URL and the process. */
function pythonView(store) {
  const proc = spawn(PYTHON, ["-m", "tokenpixel", "--store", store, "view", "--port", "0", "--no-browser"], { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    let err = "";
    proc.stderr.on("data", (d) => {
      err += d;
      const m = err.match(/tokenpixel view: (http:\/\/\S+)/);
      if (m) resolve({ url: m[1], stop: () => new Promise((r) => proc.once("exit", r) && proc.kill("SIGINT")) });
    });
    proc.once("exit", (code) => reject(new Error(`tokenpixel view exited ${code}: ${err}`)));
  });
}

test("live: pixels committed to PostgreSQL appear without a reload (Node and Python servers)", async () => {
  assert.ok(PG_URL, "TOKENPIXEL_TEST_PG is not set: run under `python tests/servers/servers.py run -- ...` (make test does)");
  const store = new PostgresStore(PG_URL);
  await store.setup();
  const nodeServer = createViewServer(store);
  await new Promise((resolve) => nodeServer.listen(0, "127.0.0.1", resolve));
  const python = await pythonView(PG_URL);
  try {
    for (const [name, url] of [["node", `http://127.0.0.1:${nodeServer.address().port}/`], ["python", python.url]]) {
      const agent = `viewer-live-${name}-${process.pid}`;
      const chain = new tp.Chain(agent, "live");
      const emit = async (i) => store.append(chain.emit(`DISTRICT_4.CHAMBER_EXEC.NODE_${i % 2 ? "POST" : "PRE"}`, { state: { i, 9: "nine", 10: "ten" } }));
      for (let i = 0; i < 3; i++) await emit(i);
      const page = await newPage();
      await ready(page, `${url}?agent=${agent}`);
      assert.match(await status(page), /^verified: 3 pixels/);
      await page.waitForFunction(() => document.getElementById("status").textContent.includes("· live"));
      for (let i = 3; i < 6; i++) await emit(i);
      await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("verified: 6 pixels"), null, { timeout: 30_000 });
      assert.match(await status(page), new RegExp(`head ${(await store.latest(agent)).hash}`));
      assert.equal(await selectedSeq(page), 5); // the newest pixel stays selected as the chain grows
      await done(page);
    }
  } finally {
    await python.stop();
    nodeServer.closeAllConnections();
    await new Promise((resolve) => nodeServer.close(resolve));
    await store.close();
  }
});
