// The tokenpixel viewer: verifies a chain in a Web Worker (the wasm core), then draws it.
// No network beyond its own origin; docs/SPEC.md ("The viewer") says what it serves and shows.
import * as tp from "./tokenpixel/web.js";
import { Charts } from "./charts.js";

const $ = (id) => document.getElementById(id);
// One colour per district (DISTRICT_0..7); red is kept for the failure.
const COLORS = ["#8e8e93", "#1a73e8", "#e37400", "#188038", "#a142f4", "#12b5cb", "#795548", "#c2185b"];
const decoder = new TextDecoder();
const state = {
  name: "",
  bytes: new Uint8Array(0),
  lines: null, // typed arrays from the worker: starts, seq, time, autonomy, delta, size, district, mark
  districts: [],
  report: null,
  torn: false,
  anchor: null,
  failure: null,
  selected: -1,
  zoom: 1,
  offset: 0,
  agent: null,
  events: null,
  busy: false,
  pending: [],
};
const charts = new Charts($("charts"), (i) => select(i));

const count = () => (state.lines ? state.lines.seq.length : 0);

function setStatus(text, kind) {
  const el = $("status");
  el.textContent = text;
  el.className = `status ${kind}`;
  el.dataset.kind = kind;
}

/** The text of line i (without its newline). */
function lineText(i) {
  const { starts } = state.lines;
  let end = starts[i + 1];
  if (state.bytes[end - 1] === 0x0a) end -= 1;
  return decoder.decode(state.bytes.subarray(starts[i], end));
}

function pixel(i) {
  try {
    return JSON.parse(lineText(i));
  } catch {
    return null;
  }
}

/** Runs the worker over `bytes`; resolves to its report and line index. */
function verifyInWorker(bytes, anchor, districts) {
  const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  return new Promise((resolve, reject) => {
    worker.onmessage = (e) => {
      if (e.data.type === "progress") {
        const { done, total, count: n, seconds } = e.data;
        $("progress").value = done / total;
        $("rate").textContent = seconds > 0 ? `${n.toLocaleString("en")} pixels, ${Math.round(n / seconds).toLocaleString("en")} pixels/s` : "";
        return;
      }
      worker.terminate();
      resolve(e.data);
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(e.message || "the verifier failed to start"));
    };
    worker.postMessage({ bytes, anchor, districts });
  });
}

function showReport() {
  const { report, torn, seconds } = state;
  const rate = seconds >= 0.05 ? ` in ${seconds.toFixed(2)} s (${Math.round(report.count / seconds).toLocaleString("en")} pixels/s)` : "";
  const anchored = state.anchor ? `, pruned: starts after ${state.anchor}` : "";
  const live = state.events ? " · live" : "";
  if (report.ok) {
    state.failure = null;
    setStatus(`verified: ${report.count} pixels, head ${report.head}${anchored}${rate}${live}`, "ok");
    return;
  }
  const e = report.error;
  state.failure = e.index;
  const where = [`pixel ${e.index}`, e.line ? `line ${e.line}` : null, e.column ? `column ${e.column}` : null, e.path ? `at ${e.path}` : null]
    .filter(Boolean)
    .join(", ");
  const tail = torn ? " — the file ends in a torn tail: its last line has no newline (a write cut short)" : "";
  setStatus(`FAILED ${e.code} at ${where}: ${e.message}${tail}`, "bad");
}

async function open(bytes, name, anchor = null, frontier = null) {
  closeEvents();
  state.name = name;
  state.anchor = anchor;
  state.frontier = frontier;
  state.selected = -1;
  state.zoom = 1;
  state.offset = 0;
  setStatus(`verifying ${name}…`, "busy");
  $("progress").hidden = false;
  $("progress").value = 0;
  let result;
  try {
    result = await verifyInWorker(bytes, anchor, []);
  } catch (err) {
    $("progress").hidden = true;
    return setStatus(`cannot verify ${name}: ${err.message}`, "bad");
  }
  $("progress").hidden = true;
  Object.assign(state, { bytes, lines: result.lines, districts: result.districts, report: result.report, torn: result.torn, seconds: result.seconds });
  $("rate").textContent = "";
  showReport();
  charts.update(state.lines, $("axis").value);
  $("reload").hidden = !state.agent;
  if (state.failure !== null) select(Math.min(state.failure, count() - 1));
  else if (count()) select(count() - 1);
  draw();
  followLive();
  await checkSigned();
}

/** New lines from the live stream, verified against the current head. */
async function appendLines(text) {
  state.pending.push(text);
  if (state.busy) return;
  state.busy = true;
  try {
    while (state.pending.length) {
      const added = new TextEncoder().encode(state.pending.splice(0).join(""));
      if (!state.report?.ok) break; // a failed chain stays failed
      const base = count();
      const result = await verifyInWorker(added, state.report.head, state.districts);
      const bytes = new Uint8Array(state.bytes.length + added.length);
      bytes.set(state.bytes);
      bytes.set(added, state.bytes.length);
      const merged = {};
      for (const [key, old] of Object.entries(state.lines)) {
        const extra = result.lines[key];
        if (key === "hashes") {
          merged[key] = old.concat(extra);
        } else if (key === "starts") {
          const starts = new Float64Array(base + extra.length);
          starts.set(old.subarray(0, base));
          for (let i = 0; i < extra.length; i++) starts[base + i] = extra[i] + state.bytes.length;
          merged[key] = starts;
        } else {
          const out = new old.constructor(old.length + extra.length);
          out.set(old);
          out.set(extra, old.length);
          merged[key] = out;
        }
      }
      const r = result.report;
      const report = r.ok
        ? { ...r, count: state.report.count + r.count }
        : { ...r, count: state.report.count + r.count, error: { ...r.error, index: base + r.error.index, line: r.error.line && base + r.error.line } };
      const follow = state.selected === base - 1;
      Object.assign(state, { bytes, lines: merged, districts: result.districts, report, torn: result.torn });
      showReport();
      charts.update(state.lines, $("axis").value);
      if (state.failure !== null) select(state.failure);
      else if (follow) select(count() - 1);
      draw();
      await checkSigned();
    }
  } finally {
    state.busy = false;
  }
}

// --- signed checkpoints (SPEC 14) ---------------------------------------------------------

function setSigned(text, kind) {
  const el = $("signed");
  el.hidden = text === null;
  el.textContent = text ?? "";
  el.className = `status ${kind}`;
  el.dataset.kind = kind;
}

/** Verifier keys: the server's (`tokenpixel view --key`) and the ones typed into the page. */
function verifierKeys() {
  const typed = $("keys").value.split(/\s+/).filter(Boolean);
  return [...(state.info?.keys ?? []), ...typed];
}

/** Checks the chain against the store's signed checkpoint, as `tokenpixel verify --key`. */
async function checkSigned() {
  state.note = null;
  setSigned(null, "idle");
  if (!state.agent || !state.info) return;
  let response;
  try {
    response = await fetch(`./api/checkpoints/${encodeURIComponent(state.agent)}`, { cache: "no-store" });
  } catch {
    return;
  }
  if (response.status !== 200) return; // 204: no signed checkpoint is kept for this chain
  state.note = await response.text();
  showSigned();
}

function showSigned() {
  if (state.note === null || state.note === undefined) return;
  const keys = verifierKeys();
  let cp;
  try {
    cp = keys.length ? tp.openCheckpoint(state.note, keys) : tp.readCheckpoint(state.note);
  } catch (e) {
    return setSigned(`signed checkpoint: ${e.code}: ${e.message}`, "bad");
  }
  const names = keys.length ? cp.signedBy : cp.signers;
  const what = `signed by ${names.join(", ")} at size ${cp.size}`;
  if (!cp.origin.endsWith(`/${state.agent}`)) {
    return setSigned(`${what}: ORIGIN_MISMATCH: the checkpoint is for ${cp.origin}, not for the chain of ${state.agent}`, "bad");
  }
  // A pruned chain: its prefix stands as the frontier its anchor record keeps (SPEC 14.6).
  const first = state.anchor ? state.lines.seq[0] : 0;
  if (state.anchor && !state.frontier) {
    return setSigned(`${what}: not checked: the chain was pruned before pruning kept the prefix's Merkle frontier`, "idle");
  }
  if (cp.size < first) {
    return setSigned(`${what}: not checked: the checkpoint is older than the ${first} pruned pixels`, "idle");
  }
  const verified = first + (state.report.ok ? state.report.count : state.report.error.index);
  if (verified < cp.size) {
    return setSigned(`${what}: TRUNCATED: the chain has ${verified} verified pixels, the signed checkpoint ${cp.size}: pixels were cut from the end`, "bad");
  }
  let root;
  try {
    const prefix = state.anchor ? { size: first, nodes: state.frontier } : undefined;
    root = tp.treeRoot(state.lines.hashes.slice(0, cp.size - first), prefix);
  } catch (e) {
    return setSigned(`${what}: ${e.code}: ${e.message}`, "bad");
  }
  if (root !== cp.root) {
    return setSigned(`${what}: ROOT_MISMATCH: the first ${cp.size} pixels do not give the signed root: the chain was replaced or rewritten`, "bad");
  }
  if (!keys.length) {
    return setSigned(`${what} (not verified: no verifier key; give one with tokenpixel view --key or below): the first ${cp.size} pixels give its root`, "idle");
  }
  setSigned(`${what}: signature verified, the first ${cp.size} pixels give the signed root`, "ok");
}

function closeEvents() {
  state.events?.close();
  state.events = null;
}

async function followLive() {
  if (!state.agent || !state.report?.ok || !state.info?.live) return;
  const last = count() ? state.lines.seq[count() - 1] : -1;
  const source = new EventSource(`./api/follow/${encodeURIComponent(state.agent)}?after=${Number.isFinite(last) ? last : -1}`);
  state.events = source;
  source.onmessage = (e) => appendLines(`${e.data}\n`);
  showReport();
}

// --- timeline --------------------------------------------------------------------------------

function cellAt(x) {
  const width = $("timeline").clientWidth * state.zoom;
  return Math.floor(((x + state.offset) / width) * count());
}

function draw() {
  const canvas = $("timeline");
  const ratio = window.devicePixelRatio || 1;
  canvas.width = canvas.clientWidth * ratio;
  canvas.height = canvas.clientHeight * ratio;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.clearRect(0, 0, canvas.clientWidth, canvas.clientHeight);
  const n = count();
  if (!n) return;
  const lanes = state.districts.map((name, i) => [name, i]).sort((a, b) => a[0].localeCompare(b[0]));
  const row = new Map(lanes.map(([, i], r) => [i, r]));
  const laneH = canvas.clientHeight / Math.max(1, lanes.length);
  const cellW = (canvas.clientWidth * state.zoom) / n;
  const { district, mark } = state.lines;
  const first = Math.max(0, cellAt(0));
  const last = Math.min(n - 1, cellAt(canvas.clientWidth) + 1);
  const step = Math.max(1, Math.floor(1 / cellW)); // about one cell per CSS pixel
  for (let i = first; i <= last; i += step) {
    const r = row.get(district[i]);
    const name = state.districts[district[i]];
    const x = i * cellW - state.offset;
    ctx.fillStyle = COLORS[(Number(name.replace("DISTRICT_", "")) || 0) % COLORS.length];
    if (state.failure !== null && i >= state.failure) ctx.fillStyle = i === state.failure ? "#d93025" : "rgba(217,48,37,0.25)";
    ctx.fillRect(x, r * laneH + 16, Math.max(1, cellW - (cellW > 3 ? 1 : 0)), laneH - 20);
    if (mark[i]) {
      ctx.fillStyle = mark[i] === 1 ? "#d93025" : "#f9ab00";
      ctx.fillRect(x, r * laneH + 12, Math.max(2, cellW), 4);
    }
  }
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = getComputedStyle(document.body).color;
  lanes.forEach(([name], r) => ctx.fillText(name, 4, r * laneH + 11));
  if (state.selected >= 0) {
    const x = state.selected * cellW - state.offset;
    ctx.strokeStyle = "#ffbf00";
    ctx.lineWidth = 2;
    ctx.strokeRect(x - 1, 1, Math.max(3, cellW + 2), canvas.clientHeight - 2);
  }
}

/** Keeps pixel i on screen when zoomed in. */
function reveal(i) {
  const canvas = $("timeline");
  const cellW = (canvas.clientWidth * state.zoom) / count();
  const x = i * cellW - state.offset;
  if (x < 0 || x > canvas.clientWidth - cellW) state.offset = Math.max(0, i * cellW - canvas.clientWidth / 2);
}

// --- panes -----------------------------------------------------------------------------------

function select(i) {
  if (!state.lines || i < 0 || i >= count()) return;
  state.selected = i;
  reveal(i);
  const p = pixel(i);
  const detail = $("detail");
  detail.textContent = "";
  const head = document.createElement("div");
  head.className = "toolbar";
  const title = document.createElement("strong");
  title.textContent = p ? `seq ${p.seq} · ${p.corridor}` : `line ${i + 1} (not JSON)`;
  head.append(title);
  if (i > 0) {
    const link = document.createElement("a");
    link.href = "#";
    link.id = "prevLink";
    link.textContent = "prevHash → previous pixel";
    link.onclick = (e) => {
      e.preventDefault();
      select(i - 1);
    };
    head.append(link);
  }
  if (p?.hash) {
    const copy = document.createElement("button");
    copy.type = "button";
    copy.textContent = "copy hash";
    copy.onclick = async () => {
      try {
        await navigator.clipboard.writeText(p.hash);
        copy.textContent = "copied";
      } catch {
        copy.textContent = "copy failed";
      }
    };
    head.append(copy);
  }
  const pre = document.createElement("pre");
  pre.className = "mono";
  pre.id = "pixelJson";
  pre.textContent = p ? JSON.stringify(p, null, 2) : lineText(i);
  detail.append(head, pre);
  $("diffTo").max = $("diffFrom").max = String(count() - 1);
  $("diffTo").value = String(i);
  $("diffFrom").value = String(Math.max(0, i - 1));
  showDiff();
  showSummary();
  draw();
}

function showDiff() {
  const a = pixel(Number($("diffFrom").value));
  const b = pixel(Number($("diffTo").value));
  try {
    $("diff").textContent = a && b ? tp.diffText(a, b) : "";
  } catch (e) {
    $("diff").textContent = `${e.code ?? "error"}: ${e.message}`;
  }
}

function showSummary() {
  const budget = Number($("budget").value);
  $("budgetValue").textContent = String(budget);
  const p = state.selected >= 0 ? pixel(state.selected) : null;
  if (!p) return;
  try {
    const s = tp.summarize(p, { level: $("level").value, maxTokens: budget });
    $("summary").textContent = s.text;
    $("tokens").textContent = `${tp.estimateTokens(s.text)} tokens (budget ${budget})`;
  } catch (e) {
    $("summary").textContent = `${e.code ?? "error"}: ${e.message}`;
    $("tokens").textContent = "";
  }
}

// --- loading ---------------------------------------------------------------------------------

async function loadUrl(url, name) {
  let response;
  try {
    response = await fetch(url, { cache: "no-store" });
  } catch (err) {
    return setStatus(`cannot load ${name}: ${err.message}`, "bad");
  }
  if (!response.ok) return setStatus(`cannot load ${name}: HTTP ${response.status}`, "bad");
  const frontier = response.headers.get("TokenPixel-Frontier");
  await open(new Uint8Array(await response.arrayBuffer()), name, response.headers.get("TokenPixel-Anchor"), frontier ? frontier.split(",") : null);
}

async function loadAgent(agent) {
  state.agent = agent;
  $("agents").value = agent;
  await loadUrl(`./api/chains/${encodeURIComponent(agent)}.jsonl`, agent);
}

async function openFile(file) {
  state.agent = null;
  $("agents").value = "";
  await open(new Uint8Array(await file.arrayBuffer()), file.name);
}

async function start() {
  const params = new URLSearchParams(location.search);
  const chain = params.get("chain");
  if (chain !== null) {
    // Same origin only: a relative path, never a scheme or a host.
    if (/^[a-z][a-z0-9+.-]*:|^\/\/|^\\\\/i.test(chain)) return setStatus(`refused ?chain=${chain}: the viewer opens only files of its own origin`, "bad");
    return loadUrl(chain, chain);
  }
  let info = null;
  try {
    const response = await fetch("./api/info", { cache: "no-store" });
    if (response.ok) info = await response.json();
  } catch {
    // served as static files: no store behind the page
  }
  state.info = info;
  if (!info) return;
  const agents = await (await fetch("./api/agents", { cache: "no-store" })).json();
  for (const a of agents) $("agents").append(new Option(a, a));
  const wanted = params.get("agent") ?? info.agent;
  const first = agents.includes(wanted) ? wanted : agents[0];
  if (first) await loadAgent(first);
  else setStatus(`the store ${info.store} holds no chain yet`, "idle");
}

// --- events ----------------------------------------------------------------------------------

const canvas = $("timeline");
canvas.addEventListener("click", (e) => {
  if (!drag?.moved) select(cellAt(e.offsetX));
});
canvas.addEventListener("mousemove", (e) => {
  const i = cellAt(e.offsetX);
  const tip = $("tooltip");
  if (!state.lines || i < 0 || i >= count()) return void (tip.hidden = true);
  const p = pixel(i);
  tip.hidden = false;
  tip.textContent = p ? `seq ${p.seq} · ${p.corridor} · ${Number.isFinite(p.timestampMs) ? new Date(p.timestampMs).toISOString() : "?"}` : `line ${i + 1}: not JSON`;
  tip.style.left = `${Math.min(e.clientX + 12, window.innerWidth - tip.offsetWidth - 4)}px`;
  tip.style.top = `${e.clientY + 14}px`;
});
canvas.addEventListener("mouseleave", () => ($("tooltip").hidden = true));
canvas.addEventListener(
  "wheel",
  (e) => {
    if (!state.lines) return;
    e.preventDefault();
    const at = (e.offsetX + state.offset) / state.zoom;
    state.zoom = Math.min(Math.max(1, state.zoom * (e.deltaY < 0 ? 1.25 : 0.8)), Math.max(1, count() / 4));
    state.offset = Math.max(0, at * state.zoom - e.offsetX);
    draw();
  },
  { passive: false },
);
let drag = null;
canvas.addEventListener("pointerdown", (e) => (drag = { x: e.clientX, offset: state.offset, moved: false }));
window.addEventListener("pointerup", () => setTimeout(() => (drag = null)));
window.addEventListener("pointermove", (e) => {
  if (!drag || !(e.buttons & 1)) return;
  if (Math.abs(e.clientX - drag.x) > 3) drag.moved = true;
  const max = canvas.clientWidth * (state.zoom - 1);
  state.offset = Math.min(max, Math.max(0, drag.offset - (e.clientX - drag.x)));
  draw();
});
document.addEventListener("keydown", (e) => {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
  const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, PageDown: 100, PageUp: -100 };
  if (e.key in moves) {
    e.preventDefault();
    select(Math.min(count() - 1, Math.max(0, state.selected + moves[e.key])));
  } else if (e.key === "Home") select(0);
  else if (e.key === "End") select(count() - 1);
  else if (e.key === "+" || e.key === "=") zoomBy(2);
  else if (e.key === "-") zoomBy(0.5);
});

function zoomBy(factor) {
  if (!state.lines) return;
  const centre = state.selected >= 0 ? state.selected : count() / 2;
  state.zoom = Math.min(Math.max(1, state.zoom * factor), Math.max(1, count() / 4));
  state.offset = 0;
  reveal(centre);
  draw();
}

window.addEventListener("resize", draw);
$("diffFrom").addEventListener("input", showDiff);
$("diffTo").addEventListener("input", showDiff);
$("diffPrev").addEventListener("click", () => select(state.selected));
$("budget").addEventListener("input", showSummary);
$("level").addEventListener("change", showSummary);
$("axis").addEventListener("change", () => state.lines && charts.update(state.lines, $("axis").value));
$("keys").addEventListener("change", showSigned);
$("reload").addEventListener("click", () => state.agent && loadAgent(state.agent));
$("zoomIn").addEventListener("click", () => zoomBy(2));
$("zoomOut").addEventListener("click", () => zoomBy(0.5));
$("file").addEventListener("change", async (e) => {
  const f = e.target.files?.[0];
  if (f) await openFile(f);
});
$("agents").addEventListener("change", (e) => {
  if (e.target.value) loadAgent(e.target.value);
});
for (const type of ["dragenter", "dragover"]) {
  document.addEventListener(type, (e) => {
    e.preventDefault();
    document.body.classList.add("dragging");
  });
}
document.addEventListener("dragleave", (e) => {
  if (!e.relatedTarget) document.body.classList.remove("dragging");
});
document.addEventListener("drop", async (e) => {
  e.preventDefault();
  document.body.classList.remove("dragging");
  const f = e.dataTransfer?.files?.[0];
  if (f) await openFile(f);
});

await start();
document.body.dataset.ready = "true";
