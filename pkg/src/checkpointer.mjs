// tokenpixel/node: the Checkpointer (emit and persist in one step, stages, listeners, a
// background writer) and the automatic triggers (periodic, event-driven). The same names and
// the same bytes as Python's tokenpixel.Checkpointer; see docs/PIPELINES.md.
import { attributes, instruments } from "./metrics.mjs";
import { Chain, TokenPixelError, canonicalJson, corridor, makeError } from "./node.mjs";

const DEFAULT_QUEUE = 1024;
const DEFAULT_BATCH = 256;
const DEFAULT_RETRIES = 16;
const open = new Set(); // background checkpointers to drain at process exit

function argumentError(message) {
  return makeError("INVALID_ARGUMENT", `invalid argument: ${message}`);
}

/** A short random back-off before retry `attempt` (0, 1, ...): up to 1 ms doubling to 64 ms. */
function backoff(attempt) {
  const ms = Math.random() * 2 ** Math.min(attempt, 6);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The corridor's district number and chamber name (`DISTRICT_4.CHAMBER_EXEC.NODE_PRE`). */
function prefixOf(corridorText) {
  const [d, c] = corridorText.split(".");
  return [Number(d.slice("DISTRICT_".length)), c.slice("CHAMBER_".length)];
}

/** The pixel's canonical line size in bytes (JSON.stringify of a pixel object is its line). */
function sizeOf(pixel) {
  return Buffer.byteLength(JSON.stringify(pixel));
}

function eventOf(pixel) {
  return {
    eventType: "CHECKPOINT_CREATED",
    tokenPixelId: pixel.hash,
    agentId: pixel.agentId,
    corridor: pixel.corridor,
    timestampMs: pixel.timestampMs,
    autonomyIndex: pixel.autonomyIndex,
    metadata: {
      seq: pixel.seq,
      intentHash: pixel.intentHash,
      eventDelta: pixel.eventDelta,
      stateHash: pixel.stateHash,
      sizeBytes: sizeOf(pixel),
    },
    pixel,
  };
}

/** A stage in progress: set `state`, `context` or surface values for the post pixel. */
export class Stage {
  constructor(prefix, pre) {
    this.prefix = prefix;
    this.pre = pre;
    this.post = undefined;
    this.error = undefined;
    this.state = undefined;
    this.context = undefined;
    this.surface = {};
  }

  /** Sets surface values for the post pixel: autonomyIndex, intentHash, eventDelta, stateVector. */
  update(surface) {
    Object.assign(this.surface, surface);
  }

  fields() {
    const out = { ...this.surface };
    if (this.state !== undefined) out.state = this.state;
    if (this.context !== undefined) out.context = this.context;
    return out;
  }
}

/**
 * Emits pixels for one agent and persists them in `store` through its public transaction.
 *
 * Sync mode: each emit takes the writer lock, continues from the stored head, appends.
 * Async stores (`store.async === true`: PostgresStore, S3Store): `await emitAsync()`; on
 * CHAIN_CONFLICT (another writer took the seq) it re-reads the head, re-seals and tries again,
 * up to `retries` times (default 16) with a short random back-off (SPEC 12.9).
 * Background mode (`{background: true}`, sync stores only): the checkpointer holds the writer lock until
 * `close()`; `emit` seals the pixel at once (hash and seq known) and queues the write, which
 * runs after the caller's synchronous code (batched). A full queue blocks (drains on the
 * caller) or throws QUEUE_FULL (`onFull: "throw"`). A failed write is thrown by the next
 * `emit`, `flush` or `close`; nothing is dropped. Pending writes are drained at process exit.
 */
export class Checkpointer {
  #store;
  #chain;
  #listeners = [];
  #bg = null;
  #metrics;
  #async;
  #emitting = Promise.resolve();

  constructor(store, agentId, options = {}) {
    if (!store || typeof store.transaction !== "function") throw argumentError("store must offer transaction()");
    const {
      sessionId,
      background = false,
      queueSize = DEFAULT_QUEUE,
      onFull = "block",
      batchSize = DEFAULT_BATCH,
      metrics = true,
      retries = DEFAULT_RETRIES,
    } = options;
    if (typeof metrics !== "boolean" && metrics !== null && typeof metrics?.getMeter !== "function") {
      throw argumentError("metrics must be true, false or an OpenTelemetry MeterProvider");
    }
    if (!Number.isSafeInteger(queueSize) || queueSize < 1) throw argumentError("queueSize must be a positive integer");
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw argumentError("batchSize must be a positive integer");
    if (onFull !== "block" && onFull !== "throw") throw argumentError('onFull must be "block" or "throw"');
    if (!Number.isSafeInteger(retries) || retries < 0) throw argumentError("retries must be an integer >= 0");
    this.#async = store.async === true;
    if (background && this.#async) {
      throw argumentError("background mode needs a synchronous store (JsonlStore); with an async store, await emitAsync()");
    }
    this.retries = retries;
    this.#store = store;
    this.agentId = agentId;
    this.#chain = new Chain(agentId, sessionId);
    this.sessionId = this.#chain.sessionId;
    this.#metrics = instruments(metrics);
    if (background) {
      this.#startWriter({ queueSize, onFull, batchSize });
      this.#metrics?.watchQueue(this);
    }
  }

  get store() {
    return this.#store;
  }

  /** Whether the store is async (emit through emitAsync). */
  get async() {
    return this.#async;
  }

  /** The newest pixel: the in-memory head in background mode, else the stored head. */
  get head() {
    if (this.#bg) return this.#chain.head;
    if (this.#async) throw argumentError("the store is async: use await checkpointer.headAsync()");
    try {
      return this.#store.latest(this.agentId);
    } catch (err) {
      if (err instanceof TokenPixelError && err.code === "NOT_FOUND") return undefined;
      throw err;
    }
  }

  /** The newest pixel, for every store: the stored head (async stores too), or undefined. */
  async headAsync() {
    if (!this.#async) return this.head;
    try {
      return await this.#store.latest(this.agentId);
    } catch (err) {
      if (err instanceof TokenPixelError && err.code === "NOT_FOUND") return undefined;
      throw err;
    }
  }

  /** How many emitted pixels are not yet durable (background mode). */
  get pending() {
    return this.#bg ? this.#bg.queue.length : 0;
  }

  addListener(fn) {
    this.#listeners.push(fn);
  }

  removeListener(fn) {
    this.#listeners = this.#listeners.filter((f) => f !== fn);
  }

  #sync(head) {
    if (head === undefined) {
      if (this.#chain.head !== undefined) this.#chain = new Chain(this.agentId, this.sessionId);
      return;
    }
    if (this.#chain.headHash !== head.hash) {
      this.#chain = Chain.resume([head], { anchor: head.prevHash, sessionId: this.sessionId });
    }
  }

  /** Emits the next pixel and persists it (or queues it, in background mode). */
  emit(corridorText, options = {}) {
    if (this.#async) throw argumentError("the store is async: use await checkpointer.emitAsync(corridor, fields)");
    const started = performance.now();
    let pixel;
    if (this.#bg) {
      pixel = this.#enqueue(corridorText, options);
    } else {
      this.#store.transaction(this.agentId, (tx) => {
        this.#sync(tx.head());
        const line = this.#chain.emitLine(corridorText, options);
        pixel = JSON.parse(line);
        tx.append(line); // the canonical line as sealed: no second canonicalization
      });
      this.#notify(pixel);
    }
    this.#metrics?.latency.record((performance.now() - started) / 1000, attributes(this.agentId, pixel.corridor));
    return pixel;
  }

  /**
   * Emits the next pixel and persists it, for every store: a sync store's emit, or an async
   * store's transaction, retried on CHAIN_CONFLICT (re-read the head, re-seal) up to `retries`
   * times. Emits of one checkpointer run one after another, in call order.
   */
  emitAsync(corridorText, options = {}) {
    if (!this.#async) {
      try {
        return Promise.resolve(this.emit(corridorText, options));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const run = this.#emitting.then(() => this.#emitStored(corridorText, options));
    this.#emitting = run.catch(() => {});
    return run;
  }

  async #emitStored(corridorText, options) {
    const started = performance.now();
    let pixel;
    for (let attempt = 0; ; attempt++) {
      try {
        pixel = await this.#store.transaction(this.agentId, async (tx) => {
          this.#sync(await tx.head());
          const line = this.#chain.emitLine(corridorText, options);
          await tx.append(line);
          return JSON.parse(line);
        });
        break;
      } catch (err) {
        if (!(err instanceof TokenPixelError && err.code === "CHAIN_CONFLICT") || attempt >= this.retries) throw err;
        // Another writer took the seq: the next attempt starts from its head (never re-sends this pixel).
        await backoff(attempt);
      }
    }
    this.#notify(pixel);
    this.#metrics?.latency.record((performance.now() - started) / 1000, attributes(this.agentId, pixel.corridor));
    return pixel;
  }

  #notify(pixel) {
    if (this.#metrics) {
      const attrs = attributes(this.agentId, pixel.corridor);
      this.#metrics.checkpoints.add(1, attrs);
      this.#metrics.size.record(sizeOf(pixel), attrs);
    }
    if (!this.#listeners.length) return;
    const event = eventOf(pixel);
    for (const fn of [...this.#listeners]) {
      try {
        fn(event);
      } catch (err) {
        // The pixel is persisted; a failing listener must not undo or block it.
        process.emitWarning(`tokenpixel: checkpoint listener failed: ${err?.message ?? err}`);
      }
    }
  }

  /**
   * Runs `fn(stage)` between `<prefix>.NODE_PRE` and `<prefix>.NODE_POST` pixels; when it
   * throws, a `<prefix>.NODE_ERROR` pixel records the error type and message, then the error
   * is rethrown. Returns what `fn` returned.
   */
  async stage(prefix, fn, options = {}) {
    if (typeof prefix !== "string") throw argumentError("prefix must be a string");
    if (typeof fn !== "function") throw argumentError("fn must be a function");
    const st = new Stage(prefix, this.#async ? await this.emitAsync(`${prefix}.NODE_PRE`, options) : this.emit(`${prefix}.NODE_PRE`, options));
    let result;
    try {
      result = await fn(st);
    } catch (err) {
      const type = err?.name ?? err?.constructor?.name ?? typeof err;
      const message = String(err?.message ?? err);
      const context = { ...(st.context ?? st.pre.context ?? {}) };
      context.variables = { ...(context.variables ?? {}), error_type: type, error_msg: message.slice(0, 2000) };
      context.notes = `Error: ${type}: ${message.slice(0, 500)}`;
      const fields = { ...st.fields(), context };
      st.error = this.#async ? await this.emitAsync(`${prefix}.NODE_ERROR`, fields) : this.emit(`${prefix}.NODE_ERROR`, fields);
      throw err;
    }
    st.post = this.#async ? await this.emitAsync(`${prefix}.NODE_POST`, st.fields()) : this.emit(`${prefix}.NODE_POST`, st.fields());
    return result;
  }

  // --- background writer --------------------------------------------------------------------

  #startWriter({ queueSize, onFull, batchSize }) {
    const bg = { queue: [], lines: [], times: [], queueSize, onFull, batchSize, tx: null, release: null, done: null, error: null, scheduled: false, closed: false };
    bg.done = this.#store.transaction(this.agentId, (tx) => {
      bg.tx = tx;
      return new Promise((resolve) => {
        bg.release = resolve;
      });
    });
    if (!bg.tx) throw makeError("STORE_LOCKED", "the store did not open the writer's transaction synchronously");
    this.#bg = bg;
    this.#sync(bg.tx.head());
    open.add(this);
  }

  #enqueue(corridorText, options) {
    const bg = this.#bg;
    if (bg.closed) throw argumentError("this checkpointer is closed");
    this.#raisePending();
    if (bg.queue.length >= bg.queueSize) {
      if (bg.onFull === "throw") {
        throw makeError("QUEUE_FULL", `the background queue holds ${bg.queue.length} pixels (queueSize ${bg.queueSize}); nothing was queued`);
      }
      this.#drain(Infinity);
      this.#raisePending();
    }
    const line = this.#chain.emitLine(corridorText, options);
    const pixel = JSON.parse(line);
    bg.queue.push(pixel);
    bg.lines.push(line);
    bg.times.push(performance.now());
    if (!bg.scheduled) {
      bg.scheduled = true;
      setImmediate(() => {
        bg.scheduled = false;
        this.#drain(bg.batchSize);
        if (bg.queue.length && !bg.error) {
          bg.scheduled = true;
          setImmediate(() => {
            bg.scheduled = false;
            this.#drain(Infinity);
          });
        }
      });
    }
    return pixel;
  }

  /** Appends up to `max` queued pixels, in order; stops at the first failure and keeps it. */
  #drain(max) {
    const bg = this.#bg;
    let n = 0;
    while (bg.queue.length && n < max && !bg.error) {
      const pixel = bg.queue[0];
      try {
        bg.tx.append(bg.lines[0]);
      } catch (err) {
        bg.error = err;
        return;
      }
      bg.queue.shift();
      bg.lines.shift();
      const enqueuedAt = bg.times.shift();
      n += 1;
      this.#metrics?.wait.record((performance.now() - enqueuedAt) / 1000, attributes(this.agentId, pixel.corridor));
      this.#notify(pixel);
    }
  }

  #raisePending() {
    const err = this.#bg?.error;
    if (err) throw err;
  }

  /** Writes everything queued now; throws a failed write. */
  flushSync() {
    if (!this.#bg) return;
    this.#drain(Infinity);
    this.#raisePending();
  }

  /** Resolves when everything emitted so far is durable; rejects with a failed write. */
  async flush() {
    this.flushSync();
  }

  /** Flushes, releases the writer lock and stops the writer. */
  async close() {
    const bg = this.#bg;
    if (!bg || bg.closed) return;
    try {
      this.flushSync();
    } finally {
      bg.closed = true;
      open.delete(this);
      this.#metrics?.unwatchQueue(this);
      bg.release();
      await bg.done;
    }
  }

  async [Symbol.asyncDispose]() {
    await this.close();
  }

  /** At process exit: write what is queued (sync IO is allowed in "exit" handlers). */
  static drainAtExit() {
    for (const cp of open) {
      try {
        cp.flushSync();
      } catch (err) {
        process.stderr.write(`tokenpixel: pending checkpoints of ${cp.agentId} not written: ${err?.message ?? err}\n`);
      }
    }
  }
}

process.on("exit", () => Checkpointer.drainAtExit());

const same = (a, b) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/**
 * Emits a checkpoint every `intervalMs` from a state callback, at `corridor` or the current
 * district and chamber at NODE_PERIODIC. Fixed schedule (no drift), missed ticks dropped,
 * unchanged state skipped unless `skipUnchanged: false`, nothing after `stop()`.
 */
export class PeriodicCheckpointer {
  #timer = null;
  #start = 0;
  #ticks = 0;

  constructor(checkpointer, intervalMs, options = {}) {
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw argumentError("intervalMs must be a positive number");
    const { corridor: where, state, context, skipUnchanged = true, onError, unref = false } = options;
    this.checkpointer = checkpointer;
    this.intervalMs = intervalMs;
    this.corridor = where;
    this.state = state;
    this.context = context;
    this.skipUnchanged = skipUnchanged;
    this.onError = onError;
    this.unref = unref;
    this.emitted = [];
    this.skipped = 0;
    this.errors = [];
  }

  get running() {
    return this.#timer !== null;
  }

  start() {
    if (this.#timer) return this;
    this.#start = performance.now();
    this.#ticks = 0;
    this.#schedule();
    return this;
  }

  stop() {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule() {
    this.#ticks += 1;
    const due = this.#start + this.#ticks * this.intervalMs;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, due - performance.now()));
    if (this.unref) this.#timer.unref();
  }

  #fire() {
    if (!this.#timer) return;
    try {
      this.tick();
    } catch (err) {
      this.errors.push(err);
      this.onError?.(err);
    }
    if (!this.#timer) return; // stopped from a callback
    // Missed ticks are dropped, not replayed in a burst.
    this.#ticks = Math.max(this.#ticks, Math.floor((performance.now() - this.#start) / this.intervalMs));
    this.#schedule();
  }

  /** One emission now: the pixel, or undefined when skipped. */
  tick() {
    const state = this.state ? this.state() : undefined;
    const context = this.context ? this.context() : undefined;
    const cp = this.checkpointer;
    const head = cp.head;
    if (this.skipUnchanged && head) {
      const unchanged = (state === undefined || same(state, head.state)) && (context === undefined || same(context, head.context));
      if (unchanged) {
        this.skipped += 1;
        return undefined;
      }
    }
    const where = this.corridor ?? (head ? corridor(...prefixOf(head.corridor), "PERIODIC") : corridor(0, "AGENT", "PERIODIC"));
    const fields = {};
    if (state !== undefined) fields.state = state;
    if (context !== undefined) fields.context = context;
    const pixel = cp.emit(where, fields);
    this.emitted.push(pixel);
    return pixel;
  }
}

/** Events that checkpoint at the current district and chamber, and their node. */
export const EVENT_NODES = Object.freeze({ INTENT_CHANGED: "INTENT_CHANGE", ANOMALY_DETECTED: "ANOMALY" });

/**
 * Emits a checkpoint when a trigger event arrives: `subscribe(emitter)` (an EventEmitter, or
 * anything with `on(name, fn)`) or `handle(name, payload)`. INTENT_CHANGED and ANOMALY_DETECTED
 * checkpoint at the current district and chamber (NODE_INTENT_CHANGE, NODE_ANOMALY);
 * CORRIDOR_CROSSED at the corridor entered (`payload.corridor`, or the payload string).
 */
export class EventTriggeredCheckpointer {
  static EVENTS = Object.freeze(["INTENT_CHANGED", "ANOMALY_DETECTED", "CORRIDOR_CROSSED"]);

  constructor(checkpointer, options = {}) {
    this.checkpointer = checkpointer;
    this.state = options.state;
    this.emitted = [];
  }

  subscribe(source) {
    if (!source || typeof source.on !== "function") throw argumentError("the event source needs an on(name, fn) method");
    for (const name of EventTriggeredCheckpointer.EVENTS) source.on(name, (payload) => this.handle(name, payload));
    return this;
  }

  handle(name, payload) {
    const cp = this.checkpointer;
    const data = payload && typeof payload === "object" && !Array.isArray(payload) ? payload : {};
    let where;
    if (name === "CORRIDOR_CROSSED") {
      where = typeof payload === "string" ? payload : data.corridor;
      if (typeof where !== "string") throw argumentError("CORRIDOR_CROSSED needs the corridor entered (payload.corridor)");
    } else if (name in EVENT_NODES) {
      const head = cp.head;
      where = head ? corridor(...prefixOf(head.corridor), EVENT_NODES[name]) : corridor(0, "AGENT", EVENT_NODES[name]);
    } else {
      throw argumentError(`unknown trigger event ${JSON.stringify(name)}: expected one of ${EventTriggeredCheckpointer.EVENTS.join(", ")}`);
    }
    const base = this.state ? { ...(this.state() ?? {}) } : { ...(cp.head?.state ?? {}) };
    base.event = { name, payload: Object.keys(data).length ? data : (payload ?? null) };
    const fields = { state: base };
    const intent = data.intent_hash ?? data.intentHash;
    if (name === "INTENT_CHANGED" && typeof intent === "string") fields.intentHash = intent;
    const pixel = cp.emit(where, fields);
    this.emitted.push(pixel);
    return pixel;
  }
}
