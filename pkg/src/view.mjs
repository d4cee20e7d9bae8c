// `npx tokenpixel view`: the viewer's static site and a store's chains, read-only, the same
// routes and rules as the Python `tokenpixel view` (docs/SPEC.md, "The viewer"):
//   the site's own files (a table built at start-up, never joined to a request path),
//   GET /api/info, /api/agents, /api/chains/<agent>.jsonl (TokenPixel-Anchor and
//   TokenPixel-Frontier headers for a pruned chain), /api/checkpoints/<agent> (the latest signed checkpoint, SPEC 14.5), and
//   /api/follow/<agent>?after=<seq> (Server-Sent Events, PostgreSQL stores).
// Everything else (.., %2e%2e, absolute paths, NUL bytes, a chain file that is a symlink out of
// the store) is 404.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { TokenPixelError, toJsonLine, validateAgentId } from "./node.mjs";
import { isFileStore, loadCheckpoint } from "./signing.mjs";

export const SITE = fileURLToPath(new URL("./viewer/", import.meta.url));
export const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; " +
  "connect-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; " +
  "base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".png": "image/png",
};
const HEARTBEAT_MS = 5000;

/** URL path -> file, for every regular file of the built site (no symlinks followed). */
export function siteFiles(site = SITE) {
  if (!fs.existsSync(path.join(site, "index.html"))) {
    throw new Error(`the viewer is not built in ${site} (a source checkout builds it with \`make viewer\`)`);
  }
  const table = new Map();
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) table.set(`/${path.relative(site, full).split(path.sep).join("/")}`, full);
    }
  };
  walk(site);
  table.set("/", table.get("/index.html"));
  return table;
}

function agentIn(route, prefix, suffix = "") {
  if (!route.startsWith(prefix) || !route.endsWith(suffix)) return null;
  const name = route.slice(prefix.length, route.length - suffix.length);
  try {
    validateAgentId(name);
  } catch {
    return null;
  }
  return name;
}

async function chainOf(store, agent) {
  let file;
  if (isFileStore(store)) {
    file = store.path(agent);
    let st;
    try {
      st = fs.lstatSync(file);
    } catch {
      return null;
    }
    const root = fs.realpathSync(store.directory);
    const rel = path.relative(root, fs.realpathSync(file));
    if (st.isSymbolicLink() || rel.startsWith("..") || path.isAbsolute(rel)) return null; // never followed
  }
  if (!(await store.agents()).includes(agent)) return null;
  const record = await store.anchorRecord(agent);
  const anchor = record?.anchor ?? null;
  const frontier = record?.frontier ?? null;
  if (file) return { body: fs.readFileSync(file), anchor, frontier };
  const lines = [];
  for await (const line of store.lines(agent)) lines.push(line, "\n");
  return { body: Buffer.from(lines.join("")), anchor, frontier };
}

/**
 * An http.Server for the viewer over `store` (not listening yet: call listen). Options:
 * `agent` (the chain the page opens first), `site` (the built site's directory), `keys`
 * (verifier keys the page checks signed checkpoints with).
 */
export function createViewServer(store, options = {}) {
  const files = siteFiles(options.site ?? SITE);
  const agent = options.agent ?? null;
  const keys = [...(options.keys ?? [])];
  const live = typeof store.follow === "function"; // PostgresStore (LISTEN/NOTIFY)
  const headers = (type, extra = {}) => ({
    "Content-Type": type,
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
    ...extra,
  });
  const send = (req, res, status, body, type, extra) => {
    res.writeHead(status, headers(type, { "Content-Length": Buffer.byteLength(body), ...extra }));
    res.end(req.method === "HEAD" ? undefined : body);
  };
  const notFound = (req, res) => send(req, res, 404, "not found\n", "text/plain; charset=utf-8");

  async function follow(req, res, name, query) {
    let after;
    for (const text of [req.headers["last-event-id"], query.get("after")]) {
      if (typeof text === "string" && /^[0-9]{1,16}$/.test(text)) {
        after = Number(text);
        break;
      }
    }
    const follower = store.follow(name, { after });
    res.writeHead(200, headers("text/event-stream", { Connection: "close" }));
    res.write(": following\n\n");
    const beat = setInterval(() => res.write(": idle\n\n"), HEARTBEAT_MS);
    const stop = () => {
      clearInterval(beat);
      follower.return().catch(() => {});
    };
    req.on("close", stop);
    try {
      for await (const pixel of follower) res.write(`id: ${pixel.seq}\ndata: ${toJsonLine(pixel)}\n\n`);
    } catch {
      // the store went away: the browser reconnects
    } finally {
      stop();
      res.end();
    }
  }

  async function handle(req, res) {
    const raw = req.url ?? "";
    if (!["GET", "HEAD"].includes(req.method)) return send(req, res, 405, "read-only\n", "text/plain; charset=utf-8");
    if (raw.includes("\0") || !raw.startsWith("/")) return notFound(req, res);
    // The raw path, decoded once; never normalised (WHATWG URL parsing would resolve
    // `/%2e%2e/x` to `/x`): a dot segment is refused, not resolved.
    const query = raw.indexOf("?");
    let route;
    try {
      route = decodeURIComponent(query === -1 ? raw : raw.slice(0, query));
    } catch {
      return notFound(req, res);
    }
    if (/[\0\\]|\/\/|(^|\/)\.\.?(\/|$)/.test(route)) return notFound(req, res);
    const url = new URL(raw, "http://viewer.invalid");
    const file = files.get(route);
    if (file) return send(req, res, 200, fs.readFileSync(file), TYPES[path.extname(file)] ?? "text/plain");
    if (route === "/api/info") return send(req, res, 200, JSON.stringify({ live, agent, store: String(store.directory ?? store), keys }), "application/json");
    if (route === "/api/agents") return send(req, res, 200, JSON.stringify(await store.agents()), "application/json");
    let name = agentIn(route, "/api/chains/", ".jsonl");
    if (name !== null) {
      const chain = await chainOf(store, name);
      if (!chain) return notFound(req, res);
      const extra = {};
      if (chain.anchor) extra["TokenPixel-Anchor"] = chain.anchor;
      if (chain.frontier) extra["TokenPixel-Frontier"] = chain.frontier.join(",");
      return send(req, res, 200, chain.body, "application/x-ndjson", extra);
    }
    name = agentIn(route, "/api/checkpoints/");
    if (name !== null) {
      const note = await loadCheckpoint(store, name);
      // None kept: 204 (not 404, which browsers log as an error on every unsigned chain).
      if (note === undefined) return send(req, res, 204, "", "text/plain; charset=utf-8");
      return send(req, res, 200, note, "text/plain; charset=utf-8");
    }
    name = agentIn(route, "/api/follow/");
    if (name !== null && live) return follow(req, res, name, url.searchParams);
    return notFound(req, res);
  }

  return http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (res.headersSent) return res.destroy();
      if (err?.code === "ENOENT" || err?.code === "NOT_FOUND") return notFound(req, res);
      const code = err instanceof TokenPixelError ? err.code : "INTERNAL";
      send(req, res, 500, JSON.stringify({ code, message: String(err?.message ?? err) }), "application/json");
    });
  });
}

/** True for addresses that only this machine reaches. */
export function isLoopback(host) {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
