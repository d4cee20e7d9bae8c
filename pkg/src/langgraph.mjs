// tokenpixel/langgraph: LangGraph.js checkpoints in tokenpixel chains (docs/SPEC.md section 13),
// the same layout and the same bytes as Python's tokenpixel.langgraph.TokenPixelSaver, so a
// thread written by a Python graph is read here and the other way round.
//
// Every checkpoint and every batch of pending writes becomes a pixel in a hash chain, one chain
// per (thread, checkpoint namespace). Channel values, the checkpoint body and its metadata are
// serialized by the saver's serializer into content-addressed blobs beside the chains
// (`blobs/<h[0:2]>/<h>`, keyed by the SHA-256 of their bytes, which the pixel records). Every read
// verifies what it returns: the chain (incrementally: only the pixels added since the last
// verified head) and every blob it loads.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import {
  BaseCheckpointSaver,
  DeltaSnapshot,
  TASKS,
  WRITES_IDX_MAP,
  compareWritesSortKeys,
  getCheckpointId,
  maxChannelVersion,
  writesSortKey,
} from "@langchain/langgraph-checkpoint";
import { Chain, JsonlVerifier, makeError } from "./node.mjs";

export const CORRIDOR_CHECKPOINT = "DISTRICT_4.CHAMBER_LANGGRAPH.NODE_CHECKPOINT";
export const CORRIDOR_WRITES = "DISTRICT_4.CHAMBER_LANGGRAPH.NODE_WRITES";
export const CORRIDOR_REWRITE = "DISTRICT_4.CHAMBER_LANGGRAPH.NODE_REWRITE";
export const CORRIDOR_REGISTRY = "DISTRICT_0.CHAMBER_LANGGRAPH.NODE_REGISTRY";
export const REGISTRY = "lg-registry";
export const SESSION = "langgraph";

/** The chain of a thread and namespace: any strings map to a valid agent id (SPEC 13.1). */
export function agentFor(threadId, checkpointNs) {
  const digest = createHash("sha256").update(`${threadId}\0${checkpointNs}`, "utf8").digest("hex");
  return `lg-${digest.slice(0, 40)}`;
}

function argumentError(message) {
  return makeError("INVALID_ARGUMENT", `invalid argument: ${message}`);
}

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

// -- blobs -------------------------------------------------------------------------------------

/** `<directory>/<first two hex digits>/<sha256 hex>`: the JSONL store's blobs (SPEC 13.2). */
class DirectoryBlobs {
  constructor(directory) {
    this.directory = directory;
  }

  #path(digest) {
    return path.join(this.directory, digest.slice(0, 2), digest);
  }

  put(bytes) {
    const digest = sha256(bytes);
    const file = this.#path(digest);
    if (!fs.existsSync(file)) {
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
        fs.writeFileSync(tmp, bytes);
        fs.renameSync(tmp, file);
      } catch (err) {
        throw makeError("STORE_IO", `cannot write blob ${file}: ${err.message}`);
      }
    }
    return digest;
  }

  get(digest) {
    try {
      return fs.readFileSync(this.#path(digest));
    } catch (err) {
      if (err.code === "ENOENT") return undefined;
      throw makeError("STORE_IO", `cannot read blob ${this.#path(digest)}: ${err.message}`);
    }
  }

  delete(digest) {
    fs.rmSync(this.#path(digest), { force: true });
  }

  all() {
    let dirs;
    try {
      dirs = fs.readdirSync(this.directory);
    } catch (err) {
      if (err.code === "ENOENT") return [];
      throw makeError("STORE_IO", `cannot list ${this.directory}: ${err.message}`);
    }
    const out = [];
    for (const d of dirs) {
      if (d.length !== 2) continue;
      let names;
      try {
        names = fs.readdirSync(path.join(this.directory, d));
      } catch {
        continue;
      }
      for (const n of names) if (n.length === 64 && /^[0-9a-f]{64}$/.test(n)) out.push(n);
    }
    return out;
  }
}

// -- what one verified chain holds, rebuilt record by record ----------------------------------

/** Channel versions are strings or numbers: one key each (Python's `_vkey`). */
function blobKey(channel, version) {
  const kind = typeof version === "string" ? "str" : Number.isInteger(version) ? "int" : "float";
  return `${channel}\0${kind}:${version}`;
}

function refsOf(record) {
  const out = [];
  for (const key of ["checkpoint", "metadata"]) {
    const ref = record[key];
    if (ref && typeof ref === "object" && typeof ref.sha256 === "string") out.push(ref.sha256);
  }
  for (const entry of Object.values(record.channels ?? {})) {
    if (typeof entry?.blob?.sha256 === "string") out.push(entry.blob.sha256);
  }
  for (const w of Array.isArray(record.writes) ? record.writes : []) {
    if (typeof w?.blob?.sha256 === "string") out.push(w.blob.sha256);
  }
  return out;
}

class ThreadIndex {
  head = undefined; // hash of the last verified pixel
  count = 0;
  thread = undefined;
  ns = undefined;
  checkpoints = new Map(); // id -> record
  blobs = new Map(); // blobKey(channel, version) -> ref
  writes = new Map(); // checkpoint id -> Map(`${task}\0${idx}` -> {task, idx, channel, blob, path})
  refs = new Set(); // every blob any record names (what garbage collection keeps)

  apply(record) {
    if (record === null || typeof record !== "object") return;
    if (this.thread === undefined && typeof record.thread === "string") {
      this.thread = record.thread;
      this.ns = record.ns;
    }
    for (const digest of refsOf(record)) this.refs.add(digest);
    if (record.type === "langgraph.checkpoint") {
      this.checkpoints.set(record.id, record);
      for (const [channel, entry] of Object.entries(record.channels)) {
        this.blobs.set(blobKey(channel, entry.version), entry.blob);
      }
    } else if (record.type === "langgraph.writes") {
      let stored = this.writes.get(record.checkpoint);
      if (stored === undefined) this.writes.set(record.checkpoint, (stored = new Map()));
      for (const w of record.writes) {
        const key = `${record.task}\0${w.idx}`;
        if (w.idx >= 0 && stored.has(key)) continue; // the first write of a (task, idx) stands
        stored.set(key, { task: record.task, idx: w.idx, channel: w.channel, blob: w.blob, path: record.path ?? "" });
      }
    }
  }

  /** The stored writes of a checkpoint in LangGraph's `writesSortKey` order. */
  orderedWrites(checkpointId) {
    const stored = this.writes.get(checkpointId);
    if (stored === undefined) return [];
    return [...stored.values()]
      .map((w) => ({ w, key: writesSortKey(w.path, w.task, w.idx) }))
      .sort((a, b) => compareWritesSortKeys(a.key, b.key))
      .map(({ w }) => w);
  }
}

class RegistryIndex {
  head = undefined;
  count = 0;
  live = new Map(); // agent -> {thread, ns}

  apply(record) {
    if (record?.type === "langgraph.thread") this.live.set(record.agent, { thread: record.thread, ns: record.ns });
    else if (record?.type === "langgraph.deleted") this.live.delete(record.agent);
  }
}

function corridorOf(record) {
  if (record.type === "langgraph.writes") return CORRIDOR_WRITES;
  if (record.type === "langgraph.rewritten") return CORRIDOR_REWRITE;
  if (record.type === "langgraph.thread" || record.type === "langgraph.deleted") return CORRIDOR_REGISTRY;
  return CORRIDOR_CHECKPOINT;
}

function jsonable(value) {
  if (value === undefined || value === null) return null;
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  return String(value);
}

function versionJson(version) {
  if (typeof version === "string" || (typeof version === "number" && Number.isFinite(version))) return version;
  throw argumentError(`a channel version must be a string or a finite number: ${String(version)}`);
}

/** thread and namespace of a config, for the writers: a thread id is required. */
function threadOf(config, what) {
  const configurable = config?.configurable;
  if (configurable === null || typeof configurable !== "object") {
    throw argumentError(`${what} needs config.configurable with a thread_id`);
  }
  const thread = configurable.thread_id;
  if (thread === undefined || thread === null || thread === "") {
    throw argumentError(`${what} needs config.configurable.thread_id (graph.invoke(input, { configurable: { thread_id } }))`);
  }
  if (typeof thread !== "string" && typeof thread !== "number") throw argumentError("thread_id must be a string");
  const ns = configurable.checkpoint_ns ?? "";
  if (typeof ns !== "string") throw argumentError("checkpoint_ns must be a string");
  return { thread: String(thread), ns };
}

// -- reading what LangGraph Python wrote (msgpack) ----------------------------------------------

// LangGraph Python's JsonPlusSerializer writes most values as "msgpack" (ormsgpack), with
// extension types for Python objects; LangGraph.js's serializer reads only "json" and "bytes".
// Plain values decode to their JS equivalents; Python objects that have one map to it (sets,
// LangChain messages, Send, DeltaSnapshot, datetimes as ISO strings, dataclasses and pydantic
// models as plain objects of their fields); anything else is UNSUPPORTED_TYPE.
const EXT_CONSTRUCTOR_SINGLE_ARG = 0;
const EXT_CONSTRUCTOR_POS_ARGS = 1;
const EXT_CONSTRUCTOR_KW_ARGS = 2;
const EXT_METHOD_SINGLE_ARG = 3;
const EXT_PYDANTIC_V1 = 4;
const EXT_PYDANTIC_V2 = 5;
const EXT_DELTA_SNAPSHOT = 7;

/** A LangChain object (message) to revive with the saver's serializer once decoding is done. */
class LcRecord {
  constructor(record) {
    this.record = record;
  }

  toJSON() {
    return this.record; // nested in another record: the serializer revives both
  }
}

let msgpack;
async function loadMsgpack() {
  if (msgpack === undefined) {
    try {
      msgpack = await import("@msgpack/msgpack");
    } catch (err) {
      throw makeError(
        "UNSUPPORTED_TYPE",
        `a blob written by LangGraph Python is msgpack: install @msgpack/msgpack to read it (${err.message})`,
      );
    }
  }
  return msgpack;
}

function unsupported(module, name, where) {
  return makeError("UNSUPPORTED_TYPE", `a ${module}.${name} value in ${where} has no JS equivalent the saver can read`);
}

function fromExt(type, payload, where, found) {
  if (type === EXT_DELTA_SNAPSHOT) return new DeltaSnapshot(payload);
  if (!Array.isArray(payload) || payload.length < 3) {
    throw makeError("UNSUPPORTED_TYPE", `msgpack extension ${type} in ${where} is not LangGraph's`);
  }
  const [module, name, arg] = payload;
  switch (type) {
    case EXT_CONSTRUCTOR_SINGLE_ARG:
      if (module === "builtins" && (name === "set" || name === "frozenset")) return new Set(arg);
      if (module === "uuid" && name === "UUID" && typeof arg === "string" && arg.length === 32) {
        return `${arg.slice(0, 8)}-${arg.slice(8, 12)}-${arg.slice(12, 16)}-${arg.slice(16, 20)}-${arg.slice(20)}`;
      }
      // deque (a list), Decimal and IP addresses (strings), ZoneInfo (its key), enums (their
      // value), secrets (their value): the one argument is the value.
      return arg;
    case EXT_CONSTRUCTOR_POS_ARGS:
      if (module === "langgraph.types" && name === "Send" && Array.isArray(arg)) {
        return { node: arg[0], args: arg[1], ...(arg[2] !== undefined && arg[2] !== null ? { timeout: arg[2] } : {}) };
      }
      if (module === "datetime" && name === "date" && Array.isArray(arg)) {
        const [y, m, d] = arg;
        return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
      }
      if (module === "pathlib" && Array.isArray(arg)) return arg.join("/").replace(/^\/\//, "/");
      throw unsupported(module, name, where);
    case EXT_CONSTRUCTOR_KW_ARGS: // dataclasses, namedtuples, time: their fields
      return arg;
    case EXT_METHOD_SINGLE_ARG: // datetime.fromisoformat(...): the ISO string
      return arg;
    case EXT_PYDANTIC_V1:
    case EXT_PYDANTIC_V2:
      if (typeof module === "string" && module.startsWith("langchain_core.")) {
        found.lc = true;
        return new LcRecord({ lc: 1, type: "constructor", id: [...module.split("."), name], kwargs: arg });
      }
      return arg; // another model: its fields
    default:
      throw unsupported(module, name, where);
  }
}

// -- the saver ------------------------------------------------------------------------------

/**
 * A LangGraph.js checkpointer that keeps every checkpoint in a verified tokenpixel chain:
 * `graph.compile({ checkpointer: new TokenPixelSaver(new JsonlStore(dir)) })`.
 */
export class TokenPixelSaver extends BaseCheckpointSaver {
  #indexes = new Map(); // agent -> ThreadIndex | RegistryIndex (verified up to its head)
  #verified = 0;

  /**
   * @param {import("./store.mjs").JsonlStore} store  a JSONL store (`tokenpixel/node`)
   * @param {{blobsDir?: string, serde?: object}} [options]  blobs default to `<store>/blobs`
   */
  constructor(store, options = {}) {
    if (options === null || typeof options !== "object") throw argumentError("options must be an object");
    super(options.serde);
    if (store === null || typeof store !== "object" || typeof store.transaction !== "function" || typeof store.lines !== "function") {
      throw argumentError("TokenPixelSaver needs a JsonlStore (tokenpixel/node)");
    }
    let blobsDir = options.blobsDir;
    if (blobsDir === undefined) {
      if (typeof store.directory !== "string") throw argumentError("this store has no directory: pass { blobsDir }");
      blobsDir = path.join(store.directory, "blobs");
    }
    if (typeof blobsDir !== "string" || blobsDir === "") throw argumentError("blobsDir must be a non-empty string");
    this.store = store;
    this.blobsDir = blobsDir;
    this.blobs = new DirectoryBlobs(blobsDir);
  }

  /** How many pixels this saver has verified by reading them (its own appends are not read back). */
  get verifiedPixels() {
    return this.#verified;
  }

  // -- blobs ---------------------------------------------------------------------------------

  async #putBlob(value) {
    const [type, data] = await this.serde.dumpsTyped(value);
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    return { type, sha256: this.blobs.put(bytes) };
  }

  async #loadBlob(ref, where) {
    const data = this.blobs.get(ref.sha256);
    if (data === undefined) throw makeError("STORE_CORRUPT", `blob sha256:${ref.sha256} of ${where} is missing`);
    if (sha256(data) !== ref.sha256) {
      throw makeError("HASH_MISMATCH", `blob sha256:${ref.sha256} of ${where} was changed: it is refused`);
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    switch (ref.type) {
      case "null":
        return null;
      case "bytes":
      case "bytearray":
        return bytes;
      case "msgpack":
        return this.#loadMsgpack(bytes, where);
      default:
        return this.serde.loadsTyped(ref.type, bytes);
    }
  }

  async #loadMsgpack(bytes, where) {
    const { decode, ExtensionCodec } = await loadMsgpack();
    const found = { lc: false };
    const extensionCodec = new ExtensionCodec();
    const options = { extensionCodec, useBigInt64: false };
    for (const type of [0, 1, 2, 3, 4, 5, 6, 7]) {
      extensionCodec.register({
        type,
        encode: () => null,
        decode: (data) => fromExt(type, decode(data, options), where, found),
      });
    }
    let value;
    try {
      value = decode(bytes, options);
    } catch (err) {
      if (err?.code !== undefined && err?.family !== undefined) throw err;
      throw makeError("STORE_CORRUPT", `a msgpack blob of ${where} cannot be decoded: ${err.message}`);
    }
    return found.lc ? this.#revive(value) : value;
  }

  /** Replaces LcRecords by the objects the serializer makes of them (LangChain messages). */
  async #revive(value) {
    if (value instanceof LcRecord) return this.serde.loadsTyped("json", JSON.stringify(value.record));
    if (Array.isArray(value)) return Promise.all(value.map((v) => this.#revive(v)));
    if (value instanceof DeltaSnapshot) return new DeltaSnapshot(await this.#revive(value.value));
    if (value instanceof Set) return new Set(await this.#revive([...value]));
    if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
      const out = {};
      for (const [k, v] of Object.entries(value)) out[k] = await this.#revive(v);
      return out;
    }
    return value;
  }

  // -- chains --------------------------------------------------------------------------------

  /** The chain's records, verified: from the cached verified head while the stored chain still
   * extends it, else from the start. */
  #index(agent, Kind = ThreadIndex) {
    let latest;
    try {
      latest = this.store.latest(agent);
    } catch (err) {
      if (err?.code !== "NOT_FOUND") throw err;
    }
    if (latest === undefined) {
      this.#indexes.delete(agent);
      return new Kind();
    }
    const cached = this.#indexes.get(agent);
    if (cached !== undefined && cached.head === latest.hash) return cached;
    let index = cached !== undefined ? this.#extend(agent, cached, latest.hash) : undefined;
    if (index === undefined) index = this.#extend(agent, new Kind(), latest.hash);
    this.#indexes.set(agent, index);
    return index;
  }

  /** `base` plus the pixels after it, verified (base is changed only once all verified);
   * undefined when the chain no longer extends `base` (it was rewritten): start over. */
  #extend(agent, base, latestHash) {
    const verifier = base.count > 0 ? new JsonlVerifier({ anchor: base.head }) : new JsonlVerifier();
    const fresh = [];
    const lines = this.store.lines(agent);
    try {
      for (let i = 0; i < base.count; i += 1) if (lines.next().done) return undefined;
      for (const line of lines) {
        verifier.feed(Buffer.from(`${line}\n`, "utf8"));
        this.#verified += 1;
        if (verifier.failed) break;
        fresh.push(line);
      }
    } finally {
      lines.return?.();
    }
    const report = verifier.finish();
    if (!report.ok) {
      if (base.count > 0 && report.error.index === 0) return undefined; // rewritten since
      let who = agent === REGISTRY ? "the LangGraph thread registry" : agent;
      if (base.thread !== undefined) who = `LangGraph thread ${JSON.stringify(base.thread)}`;
      throw makeError(
        report.error.code,
        `the chain of ${who} (${agent}) fails verification at pixel ${base.count + report.error.index}: ${report.error.message}`,
      );
    }
    if (base.count > 0 && fresh.length === 0 && base.head !== latestHash) return undefined;
    const pixels = fresh.map((line) => JSON.parse(line));
    if (base.count > 0 && pixels.length > 0 && pixels[0].seq !== base.count) return undefined;
    try {
      for (const pixel of pixels) base.apply(pixel.state);
    } catch (err) {
      this.#indexes.delete(agent);
      throw makeError("STORE_CORRUPT", `a record of chain ${agent} is not a LangGraph record: ${err.message}`);
    }
    base.count += pixels.length;
    if (pixels.length > 0) base.head = report.head;
    return base;
  }

  /**
   * Appends the records `build(index)` returns (index: the chain verified to its head, under the
   * writer lock) and goes on with the verified index; returns whether the chain is new.
   */
  #append(agent, Kind, build) {
    let created = false;
    this.store.transaction(agent, (tx) => {
      const index = this.#index(agent, Kind);
      const records = build(index);
      if (records.length === 0) return;
      const head = tx.head();
      created = head === undefined;
      const chain = head !== undefined ? Chain.resume([head], { anchor: head.prevHash, sessionId: SESSION }) : new Chain(agent, SESSION);
      const known = (head?.hash ?? undefined) === index.head;
      for (const record of records) tx.append(chain.emitLine(corridorOf(record), { state: record }));
      if (!known) {
        this.#indexes.delete(agent); // read back next time
        return;
      }
      for (const record of records) index.apply(record);
      index.count += records.length;
      index.head = chain.headHash;
      this.#indexes.set(agent, index);
    });
    return created;
  }

  #appendThread(thread, ns, build) {
    const agent = agentFor(thread, ns);
    if (this.#append(agent, ThreadIndex, build)) {
      this.#append(REGISTRY, RegistryIndex, () => [{ type: "langgraph.thread", thread, ns, agent }]);
    }
  }

  /** Live chains: agent -> {thread, ns}, from the registry chain (verified). */
  #threads() {
    return this.#index(REGISTRY, RegistryIndex).live;
  }

  // -- reading -------------------------------------------------------------------------------

  async #tuple(index, checkpointId, metadata) {
    const record = index.checkpoints.get(checkpointId);
    const { thread, ns } = record;
    const where = `checkpoint ${checkpointId} of thread ${JSON.stringify(thread)}`;
    const body = await this.#loadBlob(record.checkpoint, where);
    const values = {};
    for (const [channel, version] of Object.entries(body?.channel_versions ?? {})) {
      const ref = index.blobs.get(blobKey(channel, version));
      if (ref === undefined || ref.type === "empty") continue;
      values[channel] = await this.#loadBlob(ref, where);
    }
    const checkpoint = { ...body, channel_values: values };
    const parent = record.parent;
    if (typeof body?.v === "number" && body.v < 4 && parent && !Object.hasOwn(body, "pending_sends")) {
      // LangGraph.js checkpoints before v4 kept pending sends as the parent's TASKS writes: they
      // become the TASKS channel (as MemorySaver migrates them). LangGraph Python's (v2, with
      // `pending_sends`) are returned as written: Python's graph migrates them itself.
      const sends = [];
      for (const w of index.orderedWrites(parent)) if (w.channel === TASKS) sends.push(await this.#loadBlob(w.blob, where));
      const versions = { ...checkpoint.channel_versions };
      values[TASKS] = sends;
      versions[TASKS] = Object.keys(versions).length > 0 ? maxChannelVersion(...Object.values(versions)) : this.getNextVersion(undefined);
      checkpoint.channel_versions = versions;
    }
    const pendingWrites = [];
    for (const w of index.orderedWrites(checkpointId)) pendingWrites.push([w.task, w.channel, await this.#loadBlob(w.blob, where)]);
    const tuple = {
      config: { configurable: { thread_id: thread, checkpoint_ns: ns, checkpoint_id: checkpointId } },
      checkpoint,
      metadata: metadata !== undefined ? metadata : await this.#loadBlob(record.metadata, where),
      pendingWrites,
    };
    if (parent) tuple.parentConfig = { configurable: { thread_id: thread, checkpoint_ns: ns, checkpoint_id: parent } };
    return tuple;
  }

  async getTuple(config) {
    const configurable = config?.configurable;
    const thread = configurable?.thread_id;
    if (thread === undefined || thread === null) return undefined;
    const ns = configurable.checkpoint_ns ?? "";
    const index = this.#index(agentFor(String(thread), ns));
    const checkpointId = getCheckpointId(config);
    if (checkpointId) return index.checkpoints.has(checkpointId) ? this.#tuple(index, checkpointId) : undefined;
    let latest;
    for (const id of index.checkpoints.keys()) if (latest === undefined || id > latest) latest = id;
    return latest === undefined ? undefined : this.#tuple(index, latest);
  }

  /** Checkpoints newest first (by id), across threads and namespaces unless the config names them. */
  async *list(config, options) {
    const { before, limit, filter } = options ?? {};
    if (limit !== undefined && limit !== null && !(typeof limit === "number" && Number.isInteger(limit))) {
      throw argumentError("limit must be an integer");
    }
    const configurable = config?.configurable ?? {};
    const thread = configurable.thread_id === undefined || configurable.thread_id === null ? undefined : String(configurable.thread_id);
    const wantedNs = configurable.checkpoint_ns;
    const wantedId = configurable.checkpoint_id || undefined;
    const beforeId = before ? getCheckpointId(before) || undefined : undefined;
    const agents = new Set();
    for (const [agent, t] of this.#threads()) {
      if ((thread === undefined || t.thread === thread) && (wantedNs === undefined || t.ns === wantedNs)) agents.add(agent);
    }
    if (thread !== undefined && wantedNs !== undefined) agents.add(agentFor(thread, wantedNs)); // even if unregistered
    const found = [];
    for (const agent of agents) {
      const index = this.#index(agent);
      for (const id of index.checkpoints.keys()) {
        if (wantedId !== undefined && id !== wantedId) continue;
        if (beforeId !== undefined && id >= beforeId) continue;
        found.push({ index, id });
      }
    }
    const order = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
    found.sort((a, b) => order(b.id, a.id) || order(a.index.thread, b.index.thread) || order(a.index.ns, b.index.ns));
    let remaining = limit ?? undefined;
    const conditions = filter ? Object.entries(filter) : [];
    for (const { index, id } of found) {
      let metadata;
      if (conditions.length > 0) {
        const record = index.checkpoints.get(id);
        metadata = await this.#loadBlob(record.metadata, `checkpoint ${id} of thread ${JSON.stringify(record.thread)}`);
        if (!conditions.every(([key, value]) => isDeepStrictEqual(metadata?.[key], value))) continue;
      }
      if (remaining !== undefined) {
        if (remaining <= 0) return;
        remaining -= 1;
      }
      yield await this.#tuple(index, id, metadata);
    }
  }

  // -- writing -------------------------------------------------------------------------------

  async put(config, checkpoint, metadata, newVersions) {
    const { thread, ns } = threadOf(config, "put");
    if (checkpoint === null || typeof checkpoint !== "object" || typeof checkpoint.id !== "string" || checkpoint.id === "") {
      throw argumentError("put needs a checkpoint with a string id");
    }
    const { channel_values: values = {}, ...body } = checkpoint;
    const channels = {};
    for (const [channel, version] of Object.entries(newVersions ?? {})) {
      const blob = Object.hasOwn(values ?? {}, channel) ? await this.#putBlob(values[channel]) : { type: "empty" };
      channels[channel] = { version: versionJson(version), blob };
    }
    const versions = {};
    for (const [channel, version] of Object.entries(checkpoint.channel_versions ?? {})) versions[channel] = versionJson(version);
    const record = {
      type: "langgraph.checkpoint",
      thread,
      ns,
      id: checkpoint.id,
      parent: config.configurable.checkpoint_id || null,
      step: jsonable(metadata?.step),
      source: jsonable(metadata?.source),
      run_id: jsonable(metadata?.run_id),
      checkpoint: await this.#putBlob(body),
      metadata: await this.#putBlob(metadata ?? {}),
      channels,
      versions,
    };
    this.#appendThread(thread, ns, () => [record]);
    return { configurable: { thread_id: thread, checkpoint_ns: ns, checkpoint_id: checkpoint.id } };
  }

  async putWrites(config, writes, taskId, taskPath = "") {
    const { thread, ns } = threadOf(config, "putWrites");
    const checkpointId = config.configurable.checkpoint_id;
    if (typeof checkpointId !== "string" || checkpointId === "") throw argumentError("putWrites needs config.configurable.checkpoint_id");
    if (typeof taskId !== "string") throw argumentError("taskId must be a string");
    if (!Array.isArray(writes)) throw argumentError("writes must be an array of [channel, value]");
    const agent = agentFor(thread, ns);
    const isNew = (stored, idx) => !(idx >= 0 && stored?.has(`${taskId}\0${idx}`)); // a repeated (task, idx) is stored once
    const before = this.#index(agent).writes.get(checkpointId);
    const entries = [];
    for (const [i, [channel, value]] of writes.entries()) {
      const idx = Object.hasOwn(WRITES_IDX_MAP, channel) ? WRITES_IDX_MAP[channel] : i;
      if (isNew(before, idx)) entries.push({ idx, channel, blob: await this.#putBlob(value) });
    }
    if (entries.length === 0) return;
    this.#appendThread(thread, ns, (index) => {
      const stored = index.writes.get(checkpointId); // again under the lock: another writer may have been first
      const fresh = entries.filter((e) => isNew(stored, e.idx));
      if (fresh.length === 0) return [];
      return [{ type: "langgraph.writes", thread, ns, checkpoint: checkpointId, task: taskId, path: taskPath ?? "", writes: fresh }];
    });
  }

  // -- deleting ------------------------------------------------------------------------------

  /** Removes every chain of the thread, records each in the registry, then deletes the blobs no
   * live chain references (SPEC 13.3). */
  async deleteThread(threadId) {
    if (threadId === undefined || threadId === null) throw argumentError("deleteThread needs a thread id");
    const thread = String(threadId);
    for (const [agent, t] of [...this.#threads()]) {
      if (t.thread === thread) this.#deleteChain(agent, t.thread, t.ns, "delete_thread");
    }
    this.#collectGarbage();
  }

  /** Deletes a chain under its writer lock (SPEC 12.14) and records it in the registry. */
  #deleteChain(agent, thread, ns, reason) {
    let head;
    this.store.transaction(agent, (tx) => {
      head = tx.head();
      if (typeof this.store.delete === "function") {
        if (head !== undefined) this.store.delete(agent);
      } else {
        for (const name of [`pixels_${agent}.anchor`, `pixels_${agent}.jsonl`]) {
          try {
            fs.rmSync(path.join(this.store.directory, name), { force: true });
          } catch (err) {
            throw makeError("STORE_IO", `cannot delete ${name} in ${this.store.directory}: ${err.message}`);
          }
        }
      }
    });
    this.#indexes.delete(agent);
    this.#append(REGISTRY, RegistryIndex, () => [
      { type: "langgraph.deleted", thread, ns, agent, reason, head: head?.hash ?? null, count: head !== undefined ? head.seq + 1 : 0 },
    ]);
  }

  #collectGarbage() {
    const used = new Set();
    for (const agent of this.#threads().keys()) for (const digest of this.#index(agent).refs) used.add(digest);
    for (const digest of this.blobs.all()) if (!used.has(digest)) this.blobs.delete(digest);
  }

  /**
   * LangGraph.js's integer versions; a thread that LangGraph Python wrote has string versions,
   * which go on as Python's saver makes them (`<32 digits>.<16 hex>`).
   */
  getNextVersion(current) {
    if (typeof current === "string") {
      const n = Number.parseInt(current.split(".")[0], 10);
      return `${String((Number.isFinite(n) ? n : 0) + 1).padStart(32, "0")}.${randomBytes(8).toString("hex")}`;
    }
    return typeof current === "number" ? current + 1 : 1;
  }
}
