// tokenpixel/node: PostgresStore, the PostgreSQL store of docs/SPEC.md 12.9 and 12.10, on
// node-postgres (`npm install pg`, loaded only when a PostgresStore is made). The same tables,
// triggers and bytes as Python's tokenpixel.PostgresStore: the schema text is the core's
// (PG_MIGRATIONS), so a database set up by either language is used by both.
//
// The database itself refuses a fork (primary key, unique hash, the tokenpixel_link trigger);
// writers of one agent serialize on an advisory lock held by their transaction, so a killed
// writer's transaction rolls back and frees it. Every decision about the bytes is the core's
// (checkAppend, JsonlVerifier) through ./node.mjs.
import { AsyncLocalStorage } from "node:async_hooks";
import { createRequire } from "node:module";
import {
  JsonlVerifier,
  PG_MIGRATIONS,
  PG_SETUP_LOCK,
  TokenPixelError,
  checkAppend,
  frontierText,
  parseFrontierText,
  prunedFrontier,
  makeError,
  parseKey,
  toJsonLine,
  validateAgentId,
  pixelNotFound,
} from "./node.mjs";
import { AsyncTransaction } from "./transaction.mjs";

const DEFAULT_LOCK_TIMEOUT_MS = 30_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const POLL_MS = 5_000;
const PAGE = 1000;
const SQLSTATE = /^[0-9A-Z]{5}$/;

// The one statement setup() runs before the migrations (the same text as Python's).
const VERSION_TABLE =
  "CREATE TABLE IF NOT EXISTS tokenpixel_schema_version (" +
  "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())";
const INSERT =
  "INSERT INTO tokenpixel_pixels (agent_id, seq, hash, prev_hash, corridor, timestamp_ms, line)" +
  " VALUES ($1, $2, $3, $4, $5, $6, $7)";
const HEAD = "SELECT line FROM tokenpixel_pixels WHERE agent_id = $1 ORDER BY seq DESC LIMIT 1";
const AFTER = "SELECT seq, line FROM tokenpixel_pixels WHERE agent_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";
const ANCHOR = "SELECT anchor, first_seq, frontier FROM tokenpixel_anchors WHERE agent_id = $1";
// The frontier column (schema version 2): a JSON array of base64 nodes, or NULL (12.7).
const UPSERT_ANCHOR =
  "INSERT INTO tokenpixel_anchors (agent_id, anchor, first_seq, frontier) VALUES ($1, $2, $3, $4)" +
  " ON CONFLICT (agent_id) DO UPDATE SET anchor = EXCLUDED.anchor, first_seq = EXCLUDED.first_seq, frontier = EXCLUDED.frontier";

/** An anchor row as a record, its frontier column checked by the core (12.10). */
function recordOf(row) {
  if (row === undefined) return undefined;
  const firstSeq = Number(row.first_seq);
  return { anchor: row.anchor, firstSeq, frontier: row.frontier === null ? null : parseFrontierText(firstSeq, row.frontier) };
}

const requireOptional = createRequire(import.meta.url);
let PG;

/** node-postgres, loaded on first use: a user of JsonlStore never needs it. */
function loadPg() {
  if (PG === undefined) {
    try {
      PG = requireOptional("pg");
    } catch (err) {
      if (err?.code !== "MODULE_NOT_FOUND") throw err;
      throw makeError("INVALID_ARGUMENT", "invalid argument: PostgresStore needs node-postgres: npm install pg");
    }
  }
  return PG;
}

function argumentError(message) {
  return makeError("INVALID_ARGUMENT", `invalid argument: ${message}`);
}

function firstLine(err) {
  const text = String(err?.message ?? err ?? "").trim();
  return text.split("\n")[0] || err?.name || "unknown error";
}

/** A node-postgres error as a TokenPixelError with a SPEC code (12.9, 12.10). */
function pgError(store, err) {
  if (err instanceof TokenPixelError) return err;
  const sqlstate = typeof err?.code === "string" && SQLSTATE.test(err.code) ? err.code : undefined;
  const message = firstLine(err);
  if (sqlstate === "23505" || sqlstate === "TP001") return makeError("CHAIN_CONFLICT", `chain conflict in ${store}: ${message}`);
  if (sqlstate === "55P03") {
    return makeError("STORE_LOCKED", `the writer lock in ${store} was not granted within ${store.lockTimeoutMs} ms (${message})`);
  }
  if (sqlstate === "42P01") return makeError("STORE_IO", `${store} has no tokenpixel tables: call setup() (${message})`);
  return makeError("STORE_IO", `PostgreSQL ${store}: ${message}`);
}

/** A connection URL without its password, for messages. */
function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = "";
    return u.toString().replace(/:@/, "@");
  } catch {
    return url.replace(/:\/\/([^:/@]*):[^@]*@/, "://$1@");
  }
}

function describeConfig(config) {
  if (typeof config.connectionString === "string") return redact(config.connectionString);
  const user = config.user ?? process.env.PGUSER ?? "";
  const host = config.host ?? process.env.PGHOST ?? "localhost";
  const db = config.database ?? process.env.PGDATABASE ?? "";
  return `postgresql://${user ? `${user}@` : ""}${host}/${db}`;
}

function lineOf(pixel) {
  if (typeof pixel === "string") return pixel;
  if (pixel !== null && typeof pixel === "object") return toJsonLine(pixel);
  throw argumentError("append takes a pixel object or a canonical line (string)");
}

function agentOfLine(line) {
  let agent;
  try {
    agent = JSON.parse(line).agentId;
  } catch {
    agent = undefined;
  }
  validateAgentId(agent);
  return agent;
}

function iterableOf(value, what) {
  if (value !== null && typeof value === "object" && (Symbol.iterator in value || Symbol.asyncIterator in value)) return value;
  throw argumentError(`${what} must be an iterable of pixels or canonical lines`);
}

const UNREAD = Symbol("unread");

/** What a transaction does on its connection under the agent's advisory lock. */
class PgSession {
  #head = UNREAD;
  #queue = Promise.resolve();

  constructor(store, client, agent) {
    this.store = store;
    this.client = client;
    this.agent = agent;
    this.active = true;
    /** The first database error of this transaction: it is rolled back whatever fn does. */
    this.failure = undefined;
  }

  /** Runs the operations of one transaction one at a time, in call order. */
  serial(op) {
    if (!this.active) return Promise.reject(argumentError("this transaction has ended: use it inside the transaction's function"));
    const run = this.#queue.then(op);
    this.#queue = run.catch(() => {});
    return run;
  }

  async query(text, values) {
    if (this.failure) throw this.failure;
    try {
      return await this.client.query(text, values);
    } catch (err) {
      this.failure = pgError(this.store, err);
      throw this.failure;
    }
  }

  async headLine() {
    if (this.#head === UNREAD) this.#head = (await this.query(HEAD, [this.agent])).rows[0]?.line;
    return this.#head;
  }

  async anchorRecord() {
    return recordOf((await this.query(ANCHOR, [this.agent])).rows[0]);
  }

  /** 12.4: checkAppend against the head (or the anchor), then one INSERT. */
  async append(pixel) {
    const line = lineOf(pixel);
    const head = await this.headLine();
    const record = head === undefined ? await this.anchorRecord() : undefined;
    const p = checkAppend(head, record?.anchor, line, record?.firstSeq);
    if (p.agentId !== this.agent) {
      throw makeError("AGENT_CHANGED", `a pixel of agent ${p.agentId} cannot go into the chain of agent ${this.agent}`);
    }
    await this.insert(p, line);
    this.#head = line;
  }

  async insert(p, line) {
    await this.query(INSERT, [p.agentId, p.seq, p.hash, p.prevHash, p.corridor, p.timestampMs, line]);
  }

  async extend(pixels) {
    for await (const pixel of iterableOf(pixels, "pixels")) await this.append(pixel);
  }

  /** 12.7: the new lines must verify against `anchor`, else nothing changes. */
  async replace(lines, anchor, frontier = null) {
    const texts = [];
    for await (const item of iterableOf(lines, "lines")) texts.push(lineOf(item));
    const verifier = new JsonlVerifier({ anchor: anchor ?? undefined });
    for (const text of texts) {
      verifier.feed(Buffer.from(`${text}\n`));
      if (verifier.failed) break;
    }
    const report = verifier.finish();
    if (!report.ok) {
      const e = report.error;
      throw new TokenPixelError(`the new chain does not verify: ${e.message}`, e.code, e.reason ?? null);
    }
    const pixels = texts.map((t) => JSON.parse(t));
    let firstSeq = pixels[0]?.seq;
    if (firstSeq === undefined && anchor !== undefined && anchor !== null) {
      const head = await this.headLine();
      firstSeq = head !== undefined ? JSON.parse(head).seq + 1 : ((await this.anchorRecord())?.firstSeq ?? 0);
    }
    for (const p of pixels) {
      if (p.agentId !== this.agent) {
        throw makeError("AGENT_CHANGED", `a pixel of agent ${p.agentId} cannot go into the chain of agent ${this.agent}`);
      }
    }
    this.#head = UNREAD;
    await this.query("DELETE FROM tokenpixel_pixels WHERE agent_id = $1", [this.agent]);
    if (anchor === undefined || anchor === null) {
      await this.query("DELETE FROM tokenpixel_anchors WHERE agent_id = $1", [this.agent]);
    } else {
      await this.query(UPSERT_ANCHOR, [this.agent, anchor, firstSeq, frontier === null ? null : frontierText(firstSeq, frontier)]);
    }
    for (let i = 0; i < pixels.length; i++) await this.insert(pixels[i], texts[i]);
    this.#head = texts.length ? texts[texts.length - 1] : undefined;
  }

  /** Deletes the rows below the newest `keep` and records the anchor, in this transaction. */
  async prune(keep) {
    const count = Number((await this.query("SELECT count(*) AS n FROM tokenpixel_pixels WHERE agent_id = $1", [this.agent])).rows[0].n);
    if (count <= keep) return 0;
    const row = (
      await this.query("SELECT line FROM tokenpixel_pixels WHERE agent_id = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2", [this.agent, keep - 1])
    ).rows[0];
    const first = JSON.parse(row.line);
    const removed = await this.query("SELECT hash FROM tokenpixel_pixels WHERE agent_id = $1 AND seq < $2 ORDER BY seq", [this.agent, first.seq]);
    const frontier = prunedFrontier(await this.anchorRecord(), removed.rows.map((r) => r.hash));
    await this.query("DELETE FROM tokenpixel_pixels WHERE agent_id = $1 AND seq < $2", [this.agent, first.seq]);
    await this.query(UPSERT_ANCHOR, [this.agent, first.prevHash, first.seq, frontier === null ? null : frontierText(first.seq, frontier)]);
    return count - keep;
  }
}

/**
 * An async iterator over an agent's pixels as they commit (12.10 follow): LISTEN first, then
 * what is there, then again after each notification for the agent (and every 5 s).
 */
class Follower {
  #store;
  #agent;
  #last;
  #client;
  #buffer = [];
  #stopped = false;
  #signalled = false;
  #wake = null;
  #queue;
  #startError;
  #failure;

  constructor(store, agent, after) {
    this.#store = store;
    this.#agent = agent;
    this.#last = after;
    this.#queue = this.#start().catch((err) => {
      this.#startError = err;
    });
  }

  /** Resolves once the follower listens and knows where it starts (rejects if it cannot). */
  get ready() {
    return this.#queue.then(() => {
      if (this.#startError) throw this.#startError;
    });
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  async #start() {
    const store = this.#store;
    const client = await store._connect();
    this.#client = client;
    if (this.#stopped) return;
    client.on("notification", (note) => {
      if (note.channel !== "tokenpixel" || String(note.payload).split(" ", 1)[0] !== this.#agent) return;
      this.#signalled = true;
      this.#wake?.();
    });
    client.on("error", (err) => {
      this.#failure ??= pgError(store, err);
      this.#wake?.();
    });
    try {
      await client.query("LISTEN tokenpixel");
      if (this.#last === undefined) {
        const row = (await client.query("SELECT max(seq) AS seq FROM tokenpixel_pixels WHERE agent_id = $1", [this.#agent])).rows[0];
        this.#last = row?.seq === null || row?.seq === undefined ? -1 : Number(row.seq);
      }
    } catch (err) {
      throw pgError(store, err);
    }
  }

  next() {
    const step = this.#queue.then(() => this.#step());
    this.#queue = step.catch(() => {});
    return step;
  }

  async #step() {
    if (this.#startError) {
      await this.#close();
      throw this.#startError;
    }
    for (;;) {
      if (this.#buffer.length) return { done: false, value: this.#buffer.shift() };
      if (this.#stopped) return { done: true, value: undefined };
      if (this.#failure) {
        await this.#close();
        throw this.#failure;
      }
      this.#signalled = false;
      let rows;
      try {
        rows = (await this.#client.query(AFTER, [this.#agent, this.#last, PAGE])).rows;
      } catch (err) {
        if (this.#stopped) return { done: true, value: undefined };
        await this.#close();
        throw pgError(this.#store, err);
      }
      for (const row of rows) {
        this.#last = Number(row.seq);
        this.#buffer.push(JSON.parse(row.line));
      }
      if (rows.length || this.#signalled) continue;
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  /** Stops following and releases the connection. */
  async return() {
    this.#stopped = true;
    this.#buffer = [];
    this.#wake?.();
    await this.#queue;
    await this.#close();
    return { done: true, value: undefined };
  }

  async throw(err) {
    await this.return();
    throw err;
  }

  async #close() {
    this.#stopped = true;
    this.#store._forget(this);
    const client = this.#client;
    this.#client = undefined;
    if (client) {
      client.removeAllListeners("notification");
      try {
        client.release(true); // closed, not reused: it holds a LISTEN
      } catch {
        // already released
      }
    }
  }
}

/**
 * Pixels in PostgreSQL tables `tokenpixel_pixels` and `tokenpixel_anchors` (SPEC 12.10).
 * Every method is async. Call `setup()` once (idempotent; `openStore` does it).
 */
export class PostgresStore {
  #pool;
  #ownsPool;
  #name;
  #context = new AsyncLocalStorage();
  #followers = new Set();

  /**
   * @param connection a libpq connection URL, node-postgres Pool options, or a pg.Pool
   * @param options {lockTimeoutMs} (default 30000) or {lockTimeout} in seconds (as Python's)
   */
  constructor(connection, options = {}) {
    if (options === null || typeof options !== "object") throw argumentError("options must be an object");
    const { lockTimeoutMs, lockTimeout } = options;
    if (lockTimeoutMs !== undefined && lockTimeout !== undefined) throw argumentError("give lockTimeoutMs or lockTimeout (seconds), not both");
    const ms = lockTimeout !== undefined ? lockTimeout * 1000 : (lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) throw argumentError("lockTimeoutMs must be a number of milliseconds >= 0");
    this.lockTimeoutMs = ms;
    if (connection !== null && typeof connection === "object" && typeof connection.connect === "function" && typeof connection.query === "function") {
      this.#pool = connection; // a pg.Pool made by the caller, who ends it
      this.#ownsPool = false;
      this.#name = describeConfig(connection.options ?? {});
    } else {
      let config;
      if (typeof connection === "string" && connection !== "") config = { connectionString: connection };
      else if (connection !== null && typeof connection === "object" && !Array.isArray(connection)) config = { ...connection };
      else throw argumentError("PostgresStore takes a connection URL, node-postgres Pool options or a pg.Pool");
      config.connectionTimeoutMillis ??= DEFAULT_CONNECT_TIMEOUT_MS;
      const pg = loadPg();
      this.#pool = new pg.Pool(config);
      this.#ownsPool = true;
      this.#name = describeConfig(config);
      // A connection that breaks while idle is reported by the next query, not as a crash.
      this.#pool.on("error", () => {});
    }
  }

  /** Always true: every method returns a promise (the Checkpointer uses emitAsync). */
  get async() {
    return true;
  }

  /** The pool this store queries through. */
  get pool() {
    return this.#pool;
  }

  toString() {
    return this.#name;
  }

  // -- connections -----------------------------------------------------------------------------

  /** A pooled connection (internal). */
  async _connect() {
    try {
      return await this.#pool.connect();
    } catch (err) {
      throw makeError("STORE_IO", `cannot connect to PostgreSQL ${this}: ${firstLine(err)}`);
    }
  }

  _forget(follower) {
    this.#followers.delete(follower);
  }

  async #query(text, values) {
    try {
      return await this.#pool.query(text, values);
    } catch (err) {
      throw pgError(this, err);
    }
  }

  /** Stops every follower and ends the pool (when this store made it). */
  async close() {
    await Promise.all([...this.#followers].map((f) => f.return()));
    if (this.#ownsPool) await this.#pool.end();
  }

  async [Symbol.asyncDispose]() {
    await this.close();
  }

  // -- schema ----------------------------------------------------------------------------------

  /**
   * Creates or upgrades the schema (12.10) in one transaction under the setup lock; idempotent,
   * and a no-op on a database that Python (or another process) set up. Returns the version.
   */
  async setup() {
    const client = await this._connect();
    let broken = false;
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock($1)", [PG_SETUP_LOCK]);
      await client.query(VERSION_TABLE);
      const current = Number((await client.query("SELECT coalesce(max(version), 0) AS v FROM tokenpixel_schema_version")).rows[0].v);
      if (current > PG_MIGRATIONS.length) {
        throw makeError(
          "STORE_IO",
          `${this} has tokenpixel schema version ${current}, newer than this tokenpixel knows (${PG_MIGRATIONS.length}): upgrade tokenpixel`,
        );
      }
      for (let version = current + 1; version <= PG_MIGRATIONS.length; version++) {
        await client.query(PG_MIGRATIONS[version - 1]);
        await client.query("INSERT INTO tokenpixel_schema_version (version) VALUES ($1)", [version]);
      }
      await client.query("COMMIT");
      return PG_MIGRATIONS.length;
    } catch (err) {
      try {
        await client.query("ROLLBACK");
      } catch {
        broken = true;
      }
      throw pgError(this, err);
    } finally {
      client.release(broken);
    }
  }

  /** The schema version of the database (0 before setup()). */
  async schemaVersion() {
    try {
      return Number((await this.#pool.query("SELECT coalesce(max(version), 0) AS v FROM tokenpixel_schema_version")).rows[0].v);
    } catch (err) {
      if (err?.code === "42P01") return 0;
      throw pgError(this, err);
    }
  }

  // -- the store interface ---------------------------------------------------------------------

  /** The agents that have a chain, sorted by UTF-16 code units. */
  async agents() {
    const rows = (await this.#query("SELECT DISTINCT agent_id FROM tokenpixel_pixels")).rows;
    return rows.map((r) => r.agent_id).sort();
  }

  async #agent(agentId) {
    if (agentId !== undefined && agentId !== null) {
      validateAgentId(agentId);
      return agentId;
    }
    const agents = await this.agents();
    if (agents.length === 1) return agents[0];
    if (agents.length === 0) throw makeError("NOT_FOUND", `the store ${this} has no chain yet`);
    throw argumentError(`the store holds several agents (${agents.join(", ")}): name one`);
  }

  /** NOT_FOUND unless the agent has a row or an anchor. */
  async #require(agent) {
    const row = (
      await this.#query(
        "SELECT EXISTS (SELECT 1 FROM tokenpixel_pixels WHERE agent_id = $1)" +
          " OR EXISTS (SELECT 1 FROM tokenpixel_anchors WHERE agent_id = $1) AS found",
        [agent],
      )
    ).rows[0];
    if (!row?.found) throw makeError("NOT_FOUND", `no chain for agent ${agent} in ${this}`);
  }

  /**
   * A database transaction holding the agent's advisory lock (12.10): `await fn(tx)` runs in
   * it and its result is returned; it commits when fn resolves and rolls back when it throws
   * (or when a statement of it failed, even if fn caught that error). A transaction opened
   * inside another on the same agent (same store, same async context) joins it.
   */
  async transaction(agentId, fn) {
    validateAgentId(agentId);
    if (typeof fn !== "function") throw argumentError("transaction takes a function (tx) => ...");
    const open = this.#context.getStore()?.get(agentId);
    if (open !== undefined && open.session.active) return fn(open.tx);
    const client = await this._connect();
    const session = new PgSession(this, client, agentId);
    const tx = new AsyncTransaction(session);
    let broken = false;
    try {
      const ms = Math.max(1, Math.ceil(this.lockTimeoutMs));
      // One round trip; the agent id is checked (A-Z a-z 0-9 _ . -), so it is a safe literal.
      await session.query(
        `BEGIN; SET LOCAL lock_timeout = '${ms}ms'; SELECT pg_advisory_xact_lock(hashtextextended('tokenpixel:${agentId}', 0))`,
      );
      const scope = new Map(this.#context.getStore() ?? []);
      scope.set(agentId, { session, tx });
      const result = await this.#context.run(scope, fn, tx);
      await session.serial(() => {}); // operations fn started and did not await
      session.active = false;
      if (session.failure) throw session.failure; // rolled back even if fn caught it
      await session.query("COMMIT");
      return result;
    } catch (err) {
      // fn's own errors pass unchanged; the store's are TokenPixelErrors already.
      session.active = false;
      try {
        await client.query("ROLLBACK");
      } catch {
        broken = true;
      }
      throw err;
    } finally {
      session.active = false;
      client.release(broken);
    }
  }

  /** Appends a pixel (plain object or canonical line) that extends the stored head. */
  async append(pixel) {
    const canonical = toJsonLine(pixel);
    const line = typeof pixel === "string" ? pixel : canonical;
    await this.transaction(agentOfLine(canonical), (tx) => tx.append(line));
  }

  /** The trusted hash the first stored pixel links to, if the chain was pruned. */
  async anchor(agentId) {
    return (await this.anchorRecord(agentId))?.anchor;
  }

  /** What pruning kept (12.2): `{anchor, firstSeq, frontier}`, or undefined when never pruned. */
  async anchorRecord(agentId) {
    const agent = await this.#agent(agentId);
    const record = recordOf((await this.#query(ANCHOR, [agent])).rows[0]);
    if (record === undefined) await this.#require(agent);
    return record;
  }

  /** The newest pixel (the row with the highest seq); undefined for a chain pruned to nothing. */
  async latest(agentId) {
    const agent = await this.#agent(agentId);
    const row = (await this.#query(HEAD, [agent])).rows[0];
    if (row === undefined) {
      await this.#require(agent);
      return undefined;
    }
    return JSON.parse(row.line);
  }

  /** Stored lines, oldest first, streamed in pages of 1000 (keyset pagination). */
  lines(agentId) {
    const store = this;
    return (async function* () {
      const agent = await store.#agent(agentId);
      await store.#require(agent);
      yield* store.#linesAfter(agent, -1);
    })();
  }

  async *#linesAfter(agent, last) {
    for (;;) {
      const rows = (await this.#query(AFTER, [agent, last, PAGE])).rows;
      for (const row of rows) yield row.line;
      if (rows.length < PAGE) return;
      last = rows[rows.length - 1].seq;
    }
  }

  /** Pixels as plain objects, oldest first, streamed. */
  iter(agentId) {
    const lines = this.lines(agentId);
    return (async function* () {
      for await (const line of lines) yield JSON.parse(line);
    })();
  }

  [Symbol.asyncIterator]() {
    return this.iter();
  }

  /** The newest `limit` pixels (all when omitted), oldest first. */
  async list(agentId, options = {}) {
    const limit = options?.limit;
    if (limit !== undefined && limit !== null && !(Number.isSafeInteger(limit) && limit >= 0)) {
      throw argumentError("limit must be an integer >= 0");
    }
    const agent = await this.#agent(agentId);
    if (limit === undefined || limit === null) {
      const out = [];
      for await (const p of this.iter(agent)) out.push(p);
      return out;
    }
    await this.#require(agent);
    const rows = (await this.#query("SELECT line FROM tokenpixel_pixels WHERE agent_id = $1 ORDER BY seq DESC LIMIT $2", [agent, limit])).rows;
    return rows.reverse().map((r) => JSON.parse(r.line));
  }

  /** A pixel by seq (number or digits) or by hash / unique hex prefix (12.6). */
  async get(key, agentId) {
    const wanted = parseKey(key);
    const agent = await this.#agent(agentId);
    let rows;
    if (wanted.kind === "seq") {
      rows = (await this.#query("SELECT line, 1 AS n FROM tokenpixel_pixels WHERE agent_id = $1 AND seq = $2", [agent, wanted.seq])).rows;
    } else {
      // The prefix is hex digits only (parseKey), so it holds no LIKE wildcard.
      rows = (
        await this.#query(
          "SELECT line, count(*) OVER () AS n FROM tokenpixel_pixels WHERE agent_id = $1 AND hash LIKE $2 ORDER BY seq LIMIT 1",
          [agent, `sha256:${wanted.prefix}%`],
        )
      ).rows;
    }
    const matches = rows.length ? Number(rows[0].n) : 0;
    if (matches > 1) {
      throw makeError("AMBIGUOUS_KEY", `${JSON.stringify(key)} matches ${matches} pixels of agent ${agent}: give more digits`);
    }
    if (matches === 0) {
      await this.#require(agent);
      pixelNotFound(agent, key);
    }
    return JSON.parse(rows[0].line);
  }

  /** Keeps the newest `keep` pixels and records the anchor, in one transaction; returns how many went. */
  async prune(keep, agentId) {
    if (!Number.isSafeInteger(keep) || keep < 1) throw argumentError("keep must be an integer >= 1 (the head is never pruned)");
    const agent = await this.#agent(agentId);
    await this.#require(agent);
    return this.transaction(agent, (tx) => {
      const session = AsyncTransaction.sessionOf(tx);
      return session.serial(() => session.prune(keep));
    });
  }

  /**
   * Verifies the stored chain against its anchor, streamed, in one read-only snapshot (a
   * prune that commits meanwhile is not half seen).
   */
  async verify(agentId) {
    const agent = await this.#agent(agentId);
    const client = await this._connect();
    let broken = false;
    try {
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      const anchorRow = (await client.query(ANCHOR, [agent])).rows[0];
      const verifier = new JsonlVerifier({ anchor: anchorRow?.anchor });
      let seen = anchorRow !== undefined;
      for (let last = -1; !verifier.failed; ) {
        const rows = (await client.query(AFTER, [agent, last, PAGE])).rows;
        if (rows.length) {
          seen = true;
          verifier.feed(Buffer.from(rows.map((r) => `${r.line}\n`).join("")));
        }
        if (rows.length < PAGE) break;
        last = rows[rows.length - 1].seq;
      }
      await client.query("COMMIT");
      if (!seen) throw makeError("NOT_FOUND", `no chain for agent ${agent} in ${this}`);
      return verifier.finish();
    } catch (err) {
      try {
        await client.query("ROLLBACK");
      } catch {
        broken = true;
      }
      throw pgError(this, err);
    } finally {
      client.release(broken);
    }
  }

  /**
   * The agent's pixels with seq > `after` (default: the head when the follower has started,
   * see `ready`) as they commit, oldest first, until `return()` (or `break` in for await),
   * which releases its connection.
   */
  follow(agentId, options = {}) {
    validateAgentId(agentId);
    const after = options?.after;
    if (after !== undefined && after !== null && !(Number.isSafeInteger(after) && after >= -1)) {
      throw argumentError("after must be a seq (an integer >= -1)");
    }
    const follower = new Follower(this, agentId, after ?? undefined);
    this.#followers.add(follower);
    return follower;
  }
}
