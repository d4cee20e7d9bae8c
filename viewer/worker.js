// Verifies a chain off the main thread: feeds the wasm streaming verifier (the core's, the
// same code as every other binding) chunk by chunk, reporting progress and pixels/s, then
// indexes the lines for the timeline and charts (typed arrays, transferred, not copied).
// The wasm module loads with a top-level await: imported statically, a message posted while it
// loads would reach no handler. So the handler is set at once and awaits the module.
const loading = import("./tokenpixel/web.js");

const CHUNK = 1 << 20;
const MARKS = { NODE_ERROR: 1, NODE_ANOMALY: 2 };

/** Line offsets and the fields the page draws, one entry per line (a torn tail included). */
function index(bytes, districts) {
  const starts = [];
  for (let pos = 0; pos < bytes.length; ) {
    starts.push(pos);
    const nl = bytes.indexOf(0x0a, pos);
    pos = nl === -1 ? bytes.length : nl + 1;
  }
  const n = starts.length;
  const out = {
    starts: new Float64Array(n + 1),
    seq: new Float64Array(n),
    time: new Float64Array(n),
    autonomy: new Float64Array(n),
    delta: new Float64Array(n),
    size: new Float64Array(n),
    district: new Uint16Array(n),
    mark: new Uint8Array(n),
    hashes: new Array(n), // for the Merkle root of a signed checkpoint (SPEC 14.6)
  };
  const decoder = new TextDecoder();
  const lanes = new Map(districts.map((d, i) => [d, i]));
  for (let i = 0; i < n; i++) {
    const start = starts[i];
    const end = i + 1 < n ? starts[i + 1] : bytes.length;
    out.starts[i] = start;
    const body = bytes[end - 1] === 0x0a ? end - 1 : end;
    out.size[i] = body - start;
    let p = null;
    try {
      p = JSON.parse(decoder.decode(bytes.subarray(start, body)));
    } catch {
      // shown as raw text; the verifier names the problem
    }
    const num = (v) => (typeof v === "number" ? v : NaN);
    out.seq[i] = num(p?.seq);
    out.time[i] = num(p?.timestampMs);
    out.autonomy[i] = num(p?.autonomyIndex);
    out.delta[i] = num(p?.eventDelta);
    const parts = typeof p?.corridor === "string" ? p.corridor.split(".") : ["?"];
    if (!lanes.has(parts[0])) {
      lanes.set(parts[0], districts.length);
      districts.push(parts[0]);
    }
    out.district[i] = lanes.get(parts[0]);
    out.mark[i] = MARKS[parts[2]] ?? 0;
    out.hashes[i] = typeof p?.hash === "string" ? p.hash : "";
  }
  out.starts[n] = bytes.length;
  return out;
}

self.onmessage = async (event) => {
  const tp = await loading;
  const { bytes, anchor, districts } = event.data;
  const verifier = anchor ? new tp.JsonlVerifier({ anchor }) : new tp.JsonlVerifier();
  const started = performance.now();
  let shown = 0;
  for (let pos = 0; pos < bytes.length && !verifier.failed; pos += CHUNK) {
    verifier.feed(bytes.subarray(pos, pos + CHUNK));
    const now = performance.now();
    if (now - shown > 50) {
      shown = now;
      const seconds = (now - started) / 1000;
      self.postMessage({ type: "progress", done: Math.min(bytes.length, pos + CHUNK), total: bytes.length, count: verifier.count, seconds });
    }
  }
  const report = verifier.finish();
  const seconds = (performance.now() - started) / 1000;
  const torn = bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a;
  const names = [...(districts ?? [])];
  const lines = index(bytes, names);
  const transfer = Object.values(lines).filter(ArrayBuffer.isView).map((a) => a.buffer);
  self.postMessage({ type: "report", report, torn, seconds, lines, districts: names }, transfer);
};
