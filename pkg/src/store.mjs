// tokenpixel/node: JsonlStore, the same on-disk format as Python's tokenpixel.JsonlStore:
// <dir>/pixels_<agentId>.jsonl, one canonical pixel per line, and pixels_<agentId>.anchor after
// pruning. A chain written by Python continues here, and the other way round.
import fs from "node:fs";
import path from "node:path";
import { GENESIS_HASH, JsonlVerifier, TokenPixelError, toJsonLine } from "./node.mjs";

const CHUNK = 1 << 20;
const LOCK_STALE_MS = 30_000;

function argumentError(message) {
  return new TokenPixelError(`invalid argument: ${message}`, "INVALID_ARGUMENT");
}

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export class JsonlStore {
  /**
   * @param {string} directory
   * @param {{fsync?: boolean}} [options]
   */
  constructor(directory, options = {}) {
    this.directory = directory;
    this.fsync = Boolean(options.fsync);
    /** Torn last lines repaired by this store: {agentId, action, byteCount, savedTo}. */
    this.recoveries = [];
    fs.mkdirSync(directory, { recursive: true });
  }

  path(agentId) {
    return path.join(this.directory, `pixels_${agentId}.jsonl`);
  }

  #anchorPath(agentId) {
    return path.join(this.directory, `pixels_${agentId}.anchor`);
  }

  agents() {
    return fs
      .readdirSync(this.directory)
      .filter((n) => n.startsWith("pixels_") && n.endsWith(".jsonl"))
      .map((n) => n.slice("pixels_".length, -".jsonl".length))
      .sort();
  }

  #agent(agentId) {
    if (agentId !== undefined && agentId !== null) return agentId;
    const agents = this.agents();
    if (agents.length === 1) return agents[0];
    if (agents.length === 0) throw argumentError("the store is empty: no agent has checkpoints yet");
    throw argumentError(`the store holds several agents (${agents.join(", ")}): name one`);
  }

  /** The trusted hash the first stored pixel links to, if the chain was pruned. */
  anchor(agentId) {
    const p = this.#anchorPath(this.#agent(agentId));
    if (!fs.existsSync(p)) return undefined;
    return String(JSON.parse(fs.readFileSync(p, "utf8")).anchor);
  }

  /** Complete stored lines, oldest first (a torn last line is left out). */
  lines(agentId) {
    const p = this.path(this.#agent(agentId));
    if (!fs.existsSync(p)) return [];
    const text = fs.readFileSync(p, "utf8");
    const lines = text.split("\n");
    lines.pop(); // after the last "\n": empty, or a torn tail
    return lines;
  }

  /** Pixels as plain objects, oldest first. */
  *iter(agentId) {
    for (const line of this.lines(agentId)) yield JSON.parse(line);
  }

  [Symbol.iterator]() {
    return this.iter();
  }

  /** The newest `limit` pixels (all when omitted), oldest first. */
  list(agentId, { limit } = {}) {
    const lines = this.lines(agentId);
    const slice = limit === undefined ? lines : lines.slice(Math.max(0, lines.length - limit));
    return slice.map((l) => JSON.parse(l));
  }

  /** The newest complete pixel, read from the end of the file (no full scan). */
  latest(agentId) {
    const p = this.path(this.#agent(agentId));
    if (!fs.existsSync(p)) return undefined;
    const fd = fs.openSync(p, "r");
    try {
      const size = fs.fstatSync(fd).size;
      for (let window = 64 * 1024; ; window *= 4) {
        const start = Math.max(0, size - window);
        const buf = Buffer.alloc(size - start);
        fs.readSync(fd, buf, 0, buf.length, start);
        const end = buf.lastIndexOf(0x0a); // the last complete line ends here
        if (end < 0) {
          if (start === 0) return undefined;
          continue;
        }
        const begin = buf.lastIndexOf(0x0a, end - 1) + 1;
        if (begin === 0 && start > 0) continue; // the line starts before this window
        return JSON.parse(buf.subarray(begin, end).toString("utf8"));
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /** A pixel by seq (number) or by hash / unique hex prefix. Undefined if none. */
  get(key, agentId) {
    const pixels = this.list(agentId);
    if (typeof key === "number") return pixels.find((p) => p.seq === key);
    let hex = String(key).toLowerCase();
    if (hex.startsWith("sha256:")) hex = hex.slice(7);
    if (!/^[0-9a-f]+$/.test(hex)) throw argumentError(`${key} is neither a seq nor a hex hash prefix`);
    const found = pixels.filter((p) => p.hash.slice(7).startsWith(hex));
    if (found.length > 1) throw argumentError(`${key} matches ${found.length} pixels: give more digits`);
    return found[0];
  }

  #withLock(agentId, fn) {
    const lock = path.join(this.directory, `pixels_${agentId}.nodelock`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        fs.mkdirSync(lock);
        break;
      } catch (err) {
        if (err.code !== "EEXIST") throw err;
        try {
          if (Date.now() - fs.statSync(lock).mtimeMs > LOCK_STALE_MS) fs.rmdirSync(lock);
        } catch {
          // another process removed it first
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
        sleepSync(5);
      }
    }
    try {
      return fn();
    } finally {
      fs.rmdirSync(lock);
    }
  }

  /** Repairs a torn last line left by a crash; returns what was done, or undefined. */
  recover(agentId) {
    const agent = this.#agent(agentId);
    return this.#withLock(agent, () => this.#recoverLocked(agent));
  }

  #recoverLocked(agentId) {
    const p = this.path(agentId);
    if (!fs.existsSync(p)) return undefined;
    // The common case costs one byte of IO: the file ends with a newline.
    const fd = fs.openSync(p, "r");
    let intact;
    try {
      const size = fs.fstatSync(fd).size;
      const last = Buffer.alloc(1);
      intact = size === 0 || (fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === 0x0a);
    } finally {
      fs.closeSync(fd);
    }
    if (intact) return undefined;
    const data = fs.readFileSync(p);
    const cut = data.lastIndexOf(0x0a) + 1;
    const tail = data.subarray(cut);
    const before = data.subarray(0, cut).toString("utf8").split("\n");
    before.pop();
    const previous = before.length ? JSON.parse(before[before.length - 1]) : undefined;
    let whole = false;
    try {
      const text = tail.toString("utf8");
      const pixel = JSON.parse(text);
      whole =
        toJsonLine(text) === text &&
        (previous ? pixel.prevHash === previous.hash : pixel.seq === 0);
    } catch {
      whole = false;
    }
    let recovery;
    if (whole) {
      fs.appendFileSync(p, "\n");
      recovery = { agentId, action: "completed", byteCount: tail.length, savedTo: undefined };
    } else {
      const savedTo = `${p}.torn-${Date.now()}`;
      fs.writeFileSync(savedTo, tail);
      fs.truncateSync(p, cut);
      recovery = { agentId, action: "moved", byteCount: tail.length, savedTo };
    }
    this.recoveries.push(recovery);
    process.emitWarning(`tokenpixel: recovered a torn last line in ${p}: ${recovery.action}`);
    return recovery;
  }

  /** Appends a pixel (plain object or JSON line); it must link to the stored head. */
  append(pixel) {
    const line = toJsonLine(pixel);
    const { agentId, prevHash, seq } = JSON.parse(line);
    this.#withLock(agentId, () => {
      this.#recoverLocked(agentId);
      const p = this.path(agentId);
      const head = fs.existsSync(p) ? this.latest(agentId) : undefined;
      const expected = head ? head.hash : (this.anchor(agentId) ?? GENESIS_HASH);
      if (prevHash !== expected) {
        throw new TokenPixelError(
          `pixel seq ${seq} links to ${prevHash}, but the stored head is ${expected}: ` +
            "another writer appended first, or the pixel is from another chain",
          "BROKEN_LINK",
        );
      }
      const fd = fs.openSync(p, "a");
      try {
        fs.writeSync(fd, `${line}\n`);
        if (this.fsync) fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    });
  }

  /** Keeps the newest `keep` pixels and records the anchor; returns how many were removed. */
  prune(keep, agentId) {
    if (!Number.isInteger(keep) || keep < 1) throw argumentError("keep must be an integer >= 1");
    const agent = this.#agent(agentId);
    return this.#withLock(agent, () => {
      const lines = this.lines(agent);
      if (lines.length <= keep) return 0;
      const kept = lines.slice(lines.length - keep);
      const first = JSON.parse(kept[0]);
      const p = this.path(agent);
      fs.writeFileSync(`${p}.tmp`, kept.map((l) => `${l}\n`).join(""));
      const anchor = { anchor: first.prevHash, firstSeq: first.seq, prunedAtMs: Date.now() };
      fs.writeFileSync(`${this.#anchorPath(agent)}.tmp`, `${JSON.stringify(anchor)}\n`);
      fs.renameSync(`${this.#anchorPath(agent)}.tmp`, this.#anchorPath(agent));
      fs.renameSync(`${p}.tmp`, p);
      return lines.length - keep;
    });
  }

  /** Verifies the stored chain, streaming the file (against its anchor, if pruned). */
  verify(agentId) {
    const agent = this.#agent(agentId);
    const verifier = new JsonlVerifier({ anchor: this.anchor(agent) });
    const p = this.path(agent);
    if (fs.existsSync(p)) {
      const fd = fs.openSync(p, "r");
      try {
        const buf = new Uint8Array(CHUNK);
        let n;
        while ((n = fs.readSync(fd, buf, 0, CHUNK, null)) > 0 && !verifier.failed) {
          verifier.feed(buf.subarray(0, n));
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    return verifier.finish();
  }
}
