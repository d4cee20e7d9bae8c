// Packaging smoke test: `npm pack`, install the tarball in a scratch project, import it from
// Node ESM and CJS, then load it from a static page and from a Vite-bundled app in headless
// Chromium, and verify chains there with the same results as Node.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import tp from "tokenpixel";
import { loadVectors, PKG, PYTHON, ROOT } from "./helpers.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const npm = (args, cwd) => execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

function scratchProject() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-pack-"));
  const tarball = npm(["pack", "--silent", "--pack-destination", dir], PKG).trim().split("\n").pop();
  fs.writeFileSync(path.join(dir, "package.json"), '{ "name": "scratch", "private": true }\n');
  npm(["install", "--no-audit", "--no-fund", "--offline", path.join(dir, tarball)], dir);
  return dir;
}

function serve(root) {
  const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };
  const server = http.createServer((req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url, "http://x").pathname));
    if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": types[path.extname(file)] ?? "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** `npx tokenpixel view` from the installed package: serves the page and the store, stops on Ctrl-C. */
async function viewFromThePackage(dir) {
  const store = path.join(dir, "store");
  execFileSync(path.join(dir, "node_modules", ".bin", "tokenpixel"), ["--store", store, "--agent", "packed", "now"], { cwd: dir });
  const proc = spawn(path.join(dir, "node_modules", ".bin", "tokenpixel"), ["--store", store, "view", "--port", "0", "--no-browser"], {
    cwd: dir,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  let err = "";
  const url = await new Promise((resolve, reject) => {
    proc.stderr.on("data", (d) => {
      err += d;
      const m = err.match(/tokenpixel view: (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) resolve(m[1]);
    });
    exited.then((code) => reject(new Error(`npx tokenpixel view exited ${code}: ${err}`)));
  });
  const page = await fetch(url);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-security-policy"), /script-src 'self' 'wasm-unsafe-eval'/);
  assert.match(await page.text(), /<title>tokenpixel viewer<\/title>/);
  assert.deepEqual(await (await fetch(`${url}api/agents`)).json(), ["packed"]);
  assert.equal((await fetch(`${url}tokenpixel/wasm-web/tokenpixel_bg.wasm`)).headers.get("content-type"), "application/wasm");
  assert.equal((await fetch(`${url}%2e%2e/package.json`)).status, 404);
  proc.kill("SIGINT");
  assert.equal(await exited, 0);
  assert.match(err, /stopped/);
}

test("npm pack installs and works from ESM, CJS and a browser page", async () => {
  const dir = scratchProject();
  const esm = execFileSync(
    process.execPath,
    ["--input-type=module", "-e", "import tp, { Chain } from 'tokenpixel'; import { JsonlStore } from 'tokenpixel/node'; const p = new Chain('smoke').emit('DISTRICT_1.CHAMBER_0.NODE_PRE'); console.log(tp.verify([p]).ok, typeof JsonlStore)"],
    { cwd: dir, encoding: "utf8" },
  );
  assert.equal(esm.trim(), "true function");
  const cjs = execFileSync(
    process.execPath,
    ["-e", "const tp = require('tokenpixel'); const { JsonlStore } = require('tokenpixel/node'); console.log(tp.canonicalize('[1.0,1e21]'), typeof JsonlStore)"],
    { cwd: dir, encoding: "utf8" },
  );
  assert.equal(cjs.trim(), "[1,1e+21] function");
  await viewFromThePackage(dir);

  // The browser page verifies every chain and tamper vector and canonicalizes every case.
  const chains = loadVectors("chains.json").chains;
  const tamper = loadVectors("tamper.json").cases.filter((c) => c.jsonl !== undefined);
  const canonical = loadVectors("canonical.json").cases;
  const summaries = loadVectors("summary.json").cases;
  const diffs = loadVectors("diff.json").cases;
  const tlogVectors = JSON.parse(fs.readFileSync(path.join(ROOT, "tests", "vectors", "tlog.json"), "utf8"));
  const tlog = { notes: tlogVectors.notes, signing: tlogVectors.signing };
  fs.writeFileSync(path.join(dir, "vectors.json"), JSON.stringify({ chains, tamper, canonical, summaries, diffs, tlog }));
  fs.writeFileSync(
    path.join(dir, "index.html"),
    `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>tokenpixel smoke</title>
<script type="module">
import * as tp from "./node_modules/tokenpixel/dist/web.js";
const v = await (await fetch("./vectors.json")).json();
const verify = (c) => tp.verifyJsonl(c.jsonl, { anchor: c.anchor ?? undefined });
const canon = (c) => { try { return tp.canonicalize(c.input); } catch (e) { return { code: e.code, reason: e.reason, isError: e instanceof tp.TokenPixelError }; } };
const chain = new tp.Chain("browser-agent", "tab-1");
const emitted = chain.emit("DISTRICT_3.CHAMBER_ROUTER.NODE_POST", { state: { from: "browser" }, timestampMs: 1763900000000 });
const fresh = tp.NoteSigner.generate("example.com/browser");
const hashes = [emitted.hash];
const signedHead = fresh.sign(tp.checkpointText(tp.originFor("example.com/browser", "browser-agent"), 1, tp.treeRoot(hashes)));
const noteResult = (c) => { try { return tp.openNote(c.note, c.keys).signedBy; } catch (e) { return e.code; } };
window.__result = {
  tlog: {
    notes: v.tlog.notes.map(noteResult),
    signing: v.tlog.signing.map((c) => tp.NoteSigner.fromText(c.privateKey).sign(c.text)),
    fresh: tp.openCheckpoint(signedHead, [fresh.verifier]),
  },
  chains: v.chains.map(verify),
  tamper: v.tamper.map(verify),
  canonical: v.canonical.map(canon),
  emitted: tp.toJsonLine(emitted),
  replays: v.chains.filter((c) => c.steps).map((c) => {
    const ch = new tp.Chain(c.agentId, c.sessionId);
    return c.steps.map(({ corridor, ...o }) => tp.toJsonLine(ch.emit(corridor, o)) + "\\n").join("");
  }),
  summaries: v.summaries.map((c) => tp.summarize(c.pixel, Object.fromEntries(Object.entries(c.options).filter(([, x]) => x !== null)))),
  diffs: v.diffs.map((c) => (c.range ? tp.diffRange(c.range) : tp.diff(c.a, c.b))),
};
</script>`,
  );
  const server = await serve(dir);
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
    await Promise.race([
      page.waitForFunction(() => window.__result !== undefined, null, { timeout: 30_000 }),
      new Promise((_, reject) => page.on("pageerror", (e) => reject(new Error(`page error: ${e}`)))),
    ]);
    const result = await page.evaluate(() => window.__result);
    assert.deepEqual(errors, []);
    // Signed notes in the browser: the C2SP and Go vectors, and a key made with getRandomValues.
    assert.deepEqual(result.tlog.notes, tlog.notes.map((c) => c.error ?? c.signedBy));
    assert.deepEqual(result.tlog.signing, tlog.signing.map((c) => c.signed));
    assert.equal(result.tlog.fresh.size, 1);
    assert.deepEqual(result.tlog.fresh.signedBy, ["example.com/browser"]);
    // The browser emits the same bytes, summaries and diffs as every other language.
    assert.deepEqual(result.replays, chains.filter((c) => c.steps).map((c) => c.jsonl));
    assert.deepEqual(result.summaries, summaries.map((c) => c.expect));
    assert.deepEqual(result.diffs, diffs.map((c) => c.expect));
    const nodeVerify = (c) => tp.verifyJsonl(c.jsonl, { anchor: c.anchor ?? undefined });
    assert.deepEqual(result.chains, chains.map(nodeVerify));
    assert.deepEqual(result.tamper, tamper.map(nodeVerify));
    result.tamper.forEach((r, i) => {
      assert.equal(r.error.code, tamper[i].expect.error.code);
      assert.equal(r.error.index, tamper[i].expect.error.index);
    });
    canonical.forEach((c, i) => {
      if ("output" in c) assert.equal(result.canonical[i], c.output, c.name);
      else assert.deepEqual(result.canonical[i], { code: c.error.code, reason: c.error.reason ?? null, isError: true }, c.name);
    });
    // The README's browser example, on a chain the Python demo wrote, then tampered.
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const html = readme.match(/```html\n([\s\S]*?)```/)[1];
    fs.writeFileSync(path.join(dir, "readme.html"), html);
    execFileSync(PYTHON, [path.join(ROOT, "examples", "python_agent.py"), dir], { stdio: "ignore" });
    const readmePage = await browser.newPage();
    const url = `http://127.0.0.1:${server.address().port}/readme.html`;
    await readmePage.goto(url);
    await readmePage.waitForFunction(() => !document.getElementById("out").textContent.startsWith("verifying"));
    assert.match(await readmePage.textContent("#out"), /^chain verified: 10 pixels, head sha256:[0-9a-f]{64}$/);
    const chainFile = path.join(dir, "pixels_demo-agent.jsonl");
    fs.writeFileSync(chainFile, fs.readFileSync(chainFile, "utf8").replace('"psi":0.9375', '"psi":0.9376'));
    await readmePage.goto(url);
    await readmePage.waitForFunction(() => !document.getElementById("out").textContent.startsWith("verifying"));
    assert.match(await readmePage.textContent("#out"), /^TAMPERED at pixel 3 \(line 4\): HASH_MISMATCH$/);

    // A bundler (Vite) builds an app that imports the package; the app runs in Chromium.
    const app = path.join(dir, "app");
    fs.mkdirSync(app);
    fs.writeFileSync(
      path.join(app, "index.html"),
      '<!doctype html><meta charset="utf-8"><pre id="out">loading</pre><script type="module" src="./main.js"></script>',
    );
    fs.writeFileSync(
      path.join(app, "main.js"),
      `import { Chain, verify, canonicalize } from "tokenpixel";
const chain = new Chain("bundled-agent", "s");
const pixels = [0, 1].map((i) => chain.emit("DISTRICT_1.CHAMBER_0.NODE_POST", { state: { i }, timestampMs: 1000 + i }));
document.getElementById("out").textContent = verify(pixels).ok + " " + canonicalize("[1.0]");`,
    );
    fs.writeFileSync(path.join(app, "vite.config.mjs"), 'export default { base: "./", build: { target: "esnext" }, logLevel: "error" };\n');
    execFileSync(path.join(PKG, "node_modules", ".bin", "vite"), ["build", "--config", "vite.config.mjs"], { cwd: app, stdio: "ignore" });
    const bundled = await browser.newPage();
    await bundled.goto(`http://127.0.0.1:${server.address().port}/app/dist/index.html`);
    await bundled.waitForFunction(() => document.getElementById("out").textContent !== "loading");
    assert.equal(await bundled.textContent("#out"), "true [1]");

    const again = new tp.Chain("browser-agent", "tab-1").emit("DISTRICT_3.CHAMBER_ROUTER.NODE_POST", {
      state: { from: "browser" },
      timestampMs: 1763900000000,
    });
    assert.equal(result.emitted, tp.toJsonLine(again));
  } finally {
    await browser.close();
    server.close();
  }
});
