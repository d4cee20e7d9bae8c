// tokenpixel/node: S3Store, the S3 store of docs/SPEC.md 12.9 and 12.11, on the AWS SDK v3
// (`npm install @aws-sdk/client-s3`, loaded only when an S3Store is made). The same keys and
// bytes as Python's tokenpixel.S3Store; works with AWS S3 and S3-compatible servers.
//
// One object per pixel, `<prefix><agent>/p/<16-digit seq>`, created only with
// `If-None-Match: *`: of two writers racing for one seq exactly one wins, the other gets
// CHAIN_CONFLICT. No lock service. Long chains are read from 1000-pixel segment objects.
import { createRequire } from "node:module";
import {
  JsonlVerifier,
  TokenPixelError,
  anchorRecord,
  prunedFrontier,
  checkAppend,
  makeError,
  parseAnchorRecord,
  parseKey,
  toJsonLine,
  validateAgentId,
  pixelNotFound,
} from "./node.mjs";
import { AsyncTransaction } from "./transaction.mjs";

const SEGMENT = 1000;
const DIGITS = 16;
const WINDOW = 8; // reads in flight while a chain is streamed
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const requireOptional = createRequire(import.meta.url);
let SDK;

/** The AWS SDK's S3 client module, loaded on first use: a user of JsonlStore never needs it. */
function loadSdk() {
  if (SDK === undefined) {
    try {
      SDK = requireOptional("@aws-sdk/client-s3");
    } catch (err) {
      if (err?.code !== "MODULE_NOT_FOUND") throw err;
      throw makeError("INVALID_ARGUMENT", "invalid argument: S3Store needs the AWS SDK: npm install @aws-sdk/client-s3");
    }
  }
  return SDK;
}

function argumentError(message) {
  return makeError("INVALID_ARGUMENT", `invalid argument: ${message}`);
}

const num = (seq) => String(seq).padStart(DIGITS, "0");
const DIGITS_ONLY = /^[0-9]{16}$/;

function statusOf(err) {
  return err?.$metadata?.httpStatusCode ?? err?.$response?.statusCode;
}

function isMissing(err) {
  if (err?.name === "NoSuchBucket" || err?.Code === "NoSuchBucket") return false;
  return err?.name === "NoSuchKey" || err?.name === "NotFound" || statusOf(err) === 404;
}

function isConflict(err) {
  const name = err?.name ?? err?.Code;
  return name === "PreconditionFailed" || name === "ConditionalRequestConflict" || statusOf(err) === 412 || statusOf(err) === 409;
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

/** Results of fn over `items`, in order, with up to `width` calls in flight. */
async function* ordered(items, width, fn) {
  const inFlight = [];
  let i = 0;
  const fill = () => {
    while (inFlight.length < width && i < items.length) {
      const p = fn(items[i++]);
      p.catch(() => {}); // awaited below; never an unhandled rejection if the reader stops
      inFlight.push(p);
    }
  };
  fill();
  while (inFlight.length) {
    const value = await inFlight.shift();
    fill();
    yield value;
  }
}

/**
 * What a transaction does (optimistic, 12.9): `head()` reads the head (or starts from the head
 * this store object last wrote), `append()` is a conditional create.
 */
class S3Session {
  #head; // the head line, once known: read, or written by this session or store
  #headKnown;
  #queue = Promise.resolve();
  #block = null; // the lines of the current 1000-block that this session appended, in order

  constructor(store, agent) {
    this.store = store;
    this.agent = agent;
    this.active = true;
    this.hint = undefined; // the seq of the last append, for the head hint
    const remembered = store._remembered(agent);
    this.#head = remembered;
    this.#headKnown = remembered !== undefined;
  }

  serial(op) {
    if (!this.active) return Promise.reject(argumentError("this transaction has ended: use it inside the transaction's function"));
    const run = this.#queue.then(op);
    this.#queue = run.catch(() => {});
    return run;
  }

  async headLine() {
    if (!this.#headKnown) {
      this.#head = await this.store._headLine(this.agent);
      this.#headKnown = true;
    }
    return this.#head;
  }

  anchorRecord() {
    return this.store._anchorRecord(this.agent);
  }

  #forget() {
    this.#head = undefined;
    this.#headKnown = false;
    this.#block = null;
    this.store._remember(this.agent, undefined);
  }

  async append(pixel) {
    const line = lineOf(pixel);
    const head = await this.headLine();
    const record = head === undefined ? await this.anchorRecord() : undefined;
    const p = checkAppend(head, record?.anchor, line, record?.firstSeq);
    if (p.agentId !== this.agent) {
      throw makeError("AGENT_CHANGED", `a pixel of agent ${p.agentId} cannot go into the chain of agent ${this.agent}`);
    }
    const key = this.store._key(this.agent, "p", p.seq);
    const body = Buffer.from(`${line}\n`);
    const { created } = await this.store._create(key, body);
    if (!created) {
      // Forget the head: the next attempt finds the real one (hint, then galloping), which may
      // be far ahead when many writers race. Taking the object at this seq as the next head
      // would advance one seq per attempt and let a writer fall behind forever.
      this.#forget();
      throw makeError(
        "CHAIN_CONFLICT",
        `chain conflict: seq ${p.seq} of agent ${this.agent} was taken by another writer (re-read the head and re-seal)`,
      );
    }
    this.#head = line;
    this.#headKnown = true;
    this.hint = p.seq;
    this.store._remember(this.agent, line);
    this.#track(p, body);
    if ((p.seq + 1) % SEGMENT === 0 && this.store.compactEvery > 0 && (p.seq + 1) % this.store.compactEvery === 0) {
      await this.#autoCompact(p.seq);
    }
  }

  /** Keeps the bytes of the block being appended, so its segment needs no reads (12.11). */
  #track(p, body) {
    if (p.seq % SEGMENT === 0) this.#block = { first: p.seq, prevHash: p.prevHash, bodies: [body] };
    else if (this.#block && this.#block.first + this.#block.bodies.length === p.seq) this.#block.bodies.push(body);
    else this.#block = null;
  }

  /** The writer's compaction after seq `last` (12.11); a failure is a warning, the pixel stays acknowledged. */
  async #autoCompact(last) {
    const block = this.#block;
    this.#block = null;
    try {
      const from = last + 1 - this.store.compactEvery;
      for (let first = Math.max(0, from); first < last; first += SEGMENT) {
        if (block && block.first === first && block.bodies.length === SEGMENT) {
          // Appended by this session: each link was checked (checkAppend) as it was created.
          await this.store._writeSegment(this.agent, first, block.bodies, first === 0 ? undefined : block.prevHash);
        } else {
          await this.store._compactBlock(this.agent, first, await this.anchorRecord(), true);
        }
      }
    } catch (err) {
      process.emitWarning(`tokenpixel: compaction of agent ${this.agent} in ${this.store} failed (the chain is intact; run compact()): ${err?.message ?? err}`);
    }
  }

  async extend(pixels) {
    for await (const pixel of iterableOf(pixels, "pixels")) await this.append(pixel);
  }

  /** S3 has no atomic rewrite: only an empty chain is replaced (an import); prune() shortens. */
  async replace(lines, anchor, frontier = null) {
    if ((await this.headLine()) !== undefined) {
      throw argumentError("an S3 store replaces only an empty chain (it has no atomic rewrite): use prune() to shorten one");
    }
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
    const anchorKey = this.store._key(this.agent, "anchor");
    if (anchor === undefined || anchor === null) {
      await this.store._deleteKeys([anchorKey]);
    } else {
      const firstSeq = texts.length ? JSON.parse(texts[0]).seq : ((await this.anchorRecord())?.firstSeq ?? 0);
      await this.store._put(anchorKey, Buffer.from(`${anchorRecord(anchor, firstSeq, Date.now(), frontier)}\n`));
    }
    for (const text of texts) await this.append(text);
  }

  /** 12.11: the anchor first, then the segments and objects below it, oldest first. */
  async prune(keep) {
    this.#forget();
    const store = this.store;
    const record = await this.anchorRecord();
    const first = record?.firstSeq ?? 0;
    const head = await store._headSeq(this.agent, first);
    if (head === undefined || head - first + 1 <= keep) return 0;
    const newFirst = head - keep + 1;
    const key = store._key(this.agent, "p", newFirst);
    const body = await store._get(key);
    if (body === undefined) throw makeError("CHAIN_CONFLICT", `${key} vanished while the chain was pruned`);
    const pixel = JSON.parse(store._text(body, key));
    const hashes = [];
    for await (const line of store.lines(this.agent)) {
      if (hashes.length === newFirst - first) break;
      hashes.push(JSON.parse(line).hash);
    }
    if (hashes.length !== newFirst - first) throw makeError("CHAIN_CONFLICT", `the chain of ${this.agent} changed while it was pruned`);
    const frontier = prunedFrontier(record, hashes);
    await store._put(store._key(this.agent, "anchor"), Buffer.from(`${anchorRecord(pixel.prevHash, newFirst, Date.now(), frontier)}\n`));
    const doomed = (await store._segments(this.agent)).filter((s) => s.last < newFirst).map((s) => s.key);
    const base = `${store._key(this.agent, "p")}/`;
    for await (const k of store._keys(base)) {
      const name = k.slice(base.length);
      if (DIGITS_ONLY.test(name) && Number(name) >= newFirst) break;
      doomed.push(k);
    }
    await store._deleteKeys(doomed);
    return newFirst - first;
  }
}

/**
 * Chains in an S3 bucket under a key prefix (SPEC 12.11). Every method is async. The bucket
 * must exist: the store never creates one.
 */
export class S3Store {
  #sdk;
  #heads = new Map(); // agent -> the head line this store object last wrote (12.9 Cost)

  /**
   * @param bucket the bucket's name
   * @param prefix a key prefix ("" or ending in "/": one is added)
   * @param options {client} an S3Client (default: `new S3Client({})`, configured from the
   *   environment), {compactEvery} how often a writer compacts (default 1000: after every
   *   complete block; a multiple of 1000, or 0 to leave compaction to compact())
   */
  constructor(bucket, prefix = "", options = {}) {
    if (typeof bucket !== "string" || bucket === "") throw argumentError("bucket must be a non-empty string");
    if (typeof prefix !== "string") throw argumentError("prefix must be a string");
    if (options === null || typeof options !== "object") throw argumentError("options must be an object");
    const { client, compactEvery = SEGMENT } = options;
    if (!Number.isSafeInteger(compactEvery) || compactEvery < 0 || compactEvery % SEGMENT !== 0) {
      throw argumentError(`compactEvery must be 0 or a positive multiple of ${SEGMENT}`);
    }
    if (client !== undefined && client !== null && typeof client.send !== "function") {
      throw argumentError("client must be an S3Client (an object with send(command))");
    }
    this.#sdk = loadSdk();
    this.bucket = bucket;
    this.prefix = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
    this.compactEvery = compactEvery;
    this.client = client ?? new this.#sdk.S3Client({});
  }

  /** Always true: every method returns a promise (the Checkpointer uses emitAsync). */
  get async() {
    return true;
  }

  toString() {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  // -- requests (internal) ---------------------------------------------------------------------

  #fail(err, what) {
    if (err instanceof TokenPixelError) return err;
    if (err?.name === "NoSuchBucket" || err?.Code === "NoSuchBucket") {
      return makeError("STORE_IO", `the bucket ${this.bucket} does not exist (cannot ${what})`);
    }
    const status = statusOf(err);
    const detail = `${err?.name && err.name !== "Error" ? `${err.name}: ` : ""}${err?.message ?? err}${status ? ` (HTTP ${status})` : ""}`;
    return makeError("STORE_IO", `S3 ${this}: cannot ${what}: ${detail}`);
  }

  async #send(command, what) {
    try {
      return await this.client.send(command);
    } catch (err) {
      throw this.#fail(err, what);
    }
  }

  _key(agent, kind, seq) {
    const base = `${this.prefix}${agent}/${kind}`;
    return seq === undefined ? base : `${base}/${num(seq)}`;
  }

  async _exists(key) {
    try {
      await this.client.send(new this.#sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw this.#fail(err, `read ${key}`);
    }
  }

  /** An object's bytes, or undefined when it does not exist. */
  async _get(key) {
    try {
      const res = await this.client.send(new this.#sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const bytes = await res.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw this.#fail(err, `read ${key}`);
    }
  }

  /** A stored pixel object's line: STORE_CORRUPT unless it is UTF-8 and exactly one line. */
  _text(body, key) {
    let text;
    try {
      text = UTF8.decode(body);
    } catch {
      throw makeError("STORE_CORRUPT", `${key} is not UTF-8`);
    }
    if (!text.endsWith("\n") || text.indexOf("\n") !== text.length - 1) {
      throw makeError("STORE_CORRUPT", `${key} does not hold exactly one line`);
    }
    return text.slice(0, -1);
  }

  /**
   * A conditional create (`If-None-Match: *`): `{created: false, stored}` when the key exists
   * (`stored`: what it holds). A refusal whose object holds exactly `body` is this create,
   * acknowledged late (an SDK retry of a create whose answer was lost): created.
   */
  async _create(key, body) {
    try {
      await this.client.send(
        new this.#sdk.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, IfNoneMatch: "*", ContentType: "application/x-ndjson" }),
      );
      return { created: true, stored: undefined };
    } catch (err) {
      if (!isConflict(err)) throw this.#fail(err, `write ${key}`);
    }
    const stored = await this._get(key);
    return { created: stored !== undefined && stored.equals(body), stored };
  }

  async _put(key, body) {
    await this.#send(new this.#sdk.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }), `write ${key}`);
  }

  /** Keys under `prefix`, ascending, paginated (ListObjectsV2). */
  async *_keys(prefix, startAfter) {
    let token;
    do {
      const res = await this.#send(
        new this.#sdk.ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(startAfter ? { StartAfter: startAfter } : {}),
          ...(token ? { ContinuationToken: token } : {}),
        }),
        `list ${prefix}`,
      );
      for (const item of res.Contents ?? []) yield item.Key;
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  async _deleteKeys(keys) {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((Key) => ({ Key }));
      const res = await this.#send(
        new this.#sdk.DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch, Quiet: true } }),
        "delete pruned objects",
      );
      if (res.Errors?.length) {
        const e = res.Errors[0];
        throw makeError("STORE_IO", `S3 ${this}: cannot delete ${e.Key}: ${e.Code} ${e.Message ?? ""}`.trim());
      }
    }
  }

  _remembered(agent) {
    return this.#heads.get(agent);
  }

  _remember(agent, line) {
    if (line === undefined) this.#heads.delete(agent);
    else this.#heads.set(agent, line);
  }

  // -- chain structure (internal) --------------------------------------------------------------

  /** `{anchor, firstSeq}` of the agent's anchor object, or undefined. */
  async _anchorRecord(agent) {
    const body = await this._get(this._key(agent, "anchor"));
    return body === undefined ? undefined : parseAnchorRecord(body);
  }

  async #hint(agent) {
    const body = await this._get(this._key(agent, "head"));
    if (body === undefined) return undefined;
    let seq;
    try {
      seq = JSON.parse(body.toString("utf8"))?.seq;
    } catch {
      return undefined;
    }
    return Number.isSafeInteger(seq) && seq >= 0 ? seq : undefined;
  }

  /** The highest stored seq (12.11): from the hint, galloping then bisecting; undefined: empty. */
  async _headSeq(agent, first) {
    let start;
    for (const candidate of [await this.#hint(agent), first]) {
      if (candidate !== undefined && candidate >= first && (await this._exists(this._key(agent, "p", candidate)))) {
        start = candidate;
        break;
      }
    }
    if (start === undefined) return undefined;
    let lo = start;
    let step = 1;
    while (await this._exists(this._key(agent, "p", lo + step))) {
      lo += step;
      step *= 2;
    }
    let hi = lo + step;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await this._exists(this._key(agent, "p", mid))) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /** The head's line, or undefined for an empty chain. */
  async _headLine(agent) {
    const record = await this._anchorRecord(agent);
    const seq = await this._headSeq(agent, record?.firstSeq ?? 0);
    if (seq === undefined) return undefined;
    const key = this._key(agent, "p", seq);
    const body = await this._get(key);
    if (body === undefined) throw makeError("CHAIN_CONFLICT", `${key} vanished while the head was read`);
    return this._text(body, key);
  }

  /** The agent's segments, ascending: {first, last, key}. */
  async _segments(agent) {
    const base = `${this._key(agent, "s")}/`;
    const out = [];
    for await (const key of this._keys(base)) {
      const m = /^([0-9]{16})-([0-9]{16})$/.exec(key.slice(base.length));
      if (m) out.push({ first: Number(m[1]), last: Number(m[2]), key });
    }
    return out.sort((a, b) => a.first - b.first || a.last - b.last);
  }

  /** Verifies a block's lines against `anchor` (the line before, or none: genesis) and creates its segment. */
  async _writeSegment(agent, first, bodies, anchor) {
    const last = first + SEGMENT - 1;
    const verifier = new JsonlVerifier({ anchor });
    for (const body of bodies) verifier.feed(body);
    const report = verifier.finish();
    if (!report.ok || report.count !== SEGMENT) {
      const e = report.error;
      throw new TokenPixelError(
        `cannot compact seqs ${first}..${last} of ${agent}: ${e ? e.message : `${report.count} lines`}`,
        e?.code ?? "STORE_CORRUPT",
        e?.reason ?? null,
      );
    }
    return (await this._create(`${this._key(agent, "s")}/${num(first)}-${num(last)}`, Buffer.concat(bodies))).created ? 1 : 0;
  }

  /** Compacts one block from its objects (12.11); 0 when it cannot or need not (already there). */
  async _compactBlock(agent, first, record, checkFirst = false) {
    if (record !== undefined && first < record.firstSeq) return 0;
    const last = first + SEGMENT - 1;
    if (checkFirst && (await this._exists(`${this._key(agent, "s")}/${num(first)}-${num(last)}`))) return 0;
    let anchor;
    if (record !== undefined && first === record.firstSeq) anchor = record.anchor;
    else if (first > 0) {
      const key = this._key(agent, "p", first - 1);
      const body = await this._get(key);
      if (body === undefined) return 0; // pruned meanwhile
      anchor = JSON.parse(this._text(body, key)).hash;
    }
    const seqs = Array.from({ length: SEGMENT }, (_, i) => first + i);
    const bodies = [];
    for await (const body of ordered(seqs, WINDOW * 2, (seq) => this._get(this._key(agent, "p", seq)))) {
      if (body === undefined) return 0; // incomplete, or pruned meanwhile
      bodies.push(body);
    }
    bodies.forEach((body, i) => this._text(body, this._key(agent, "p", first + i)));
    return this._writeSegment(agent, first, bodies, anchor);
  }

  /** The anchor record and head seq of an existing chain: NOT_FOUND when there is none. */
  async #require(agent) {
    const record = await this._anchorRecord(agent);
    const head = await this._headSeq(agent, record?.firstSeq ?? 0);
    if (head === undefined && record === undefined) throw makeError("NOT_FOUND", `no chain for agent ${agent} in ${this}`);
    return { record, head };
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

  /**
   * The chain as JSONL pieces (Buffers of whole lines): the segments from firstSeq on, then the
   * pixel objects after them up to `head`; every piece must continue the seqs before it.
   */
  async *#chunks(agent, first, head) {
    let expected = first;
    if (head === undefined) return;
    for (const seg of await this._segments(agent)) {
      if (seg.first < expected) continue;
      if (seg.first !== expected || seg.last > head) break; // not contiguous: read the objects from here
      const body = await this._get(seg.key);
      if (body === undefined) break;
      let lines = 0;
      for (let i = body.indexOf(0x0a); i !== -1; i = body.indexOf(0x0a, i + 1)) lines++;
      if (lines !== seg.last - seg.first + 1 || body[body.length - 1] !== 0x0a) {
        throw makeError("STORE_CORRUPT", `${seg.key} does not hold ${seg.last - seg.first + 1} lines`);
      }
      yield body;
      expected = seg.last + 1;
    }
    const base = `${this._key(agent, "p")}/`;
    const startAfter = expected > 0 ? this._key(agent, "p", expected - 1) : undefined;
    let page = [];
    const flush = async function* (store, keys) {
      for await (const [key, body] of ordered(keys, WINDOW, async (k) => [k, await store._get(k)])) {
        if (body === undefined) throw makeError("STORE_CORRUPT", `${key} vanished while the chain was read`);
        store._text(body, key);
        yield body;
      }
    };
    for await (const key of this._keys(base, startAfter)) {
      const name = key.slice(base.length);
      if (!DIGITS_ONLY.test(name)) continue;
      const seq = Number(name);
      if (seq > head) break;
      if (seq !== expected) throw makeError("STORE_CORRUPT", `${this}: agent ${agent} has no object for seq ${expected}`);
      expected += 1;
      page.push(key);
      if (page.length === SEGMENT) {
        yield* flush(this, page);
        page = [];
      }
    }
    yield* flush(this, page);
    if (expected <= head) throw makeError("STORE_CORRUPT", `${this}: agent ${agent} has no object for seq ${expected}`);
  }

  // -- the store interface ---------------------------------------------------------------------

  /** The agents that have a chain (a valid agent id under the prefix), sorted. */
  async agents() {
    const found = [];
    let token;
    do {
      const res = await this.#send(
        new this.#sdk.ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix,
          Delimiter: "/",
          ...(token ? { ContinuationToken: token } : {}),
        }),
        `list ${this.prefix || "/"}`,
      );
      for (const common of res.CommonPrefixes ?? []) {
        const name = common.Prefix.slice(this.prefix.length).replace(/\/$/, "");
        try {
          validateAgentId(name);
          found.push(name);
        } catch {
          // not a chain of this store
        }
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return found.sort();
  }

  /**
   * An optimistic transaction (12.9): no lock; `tx.append` is a conditional create that fails
   * with CHAIN_CONFLICT when another writer took that seq first (re-read the head and re-seal:
   * the Checkpointer's emitAsync does). The head hint is written when fn ends.
   */
  async transaction(agentId, fn) {
    validateAgentId(agentId);
    if (typeof fn !== "function") throw argumentError("transaction takes a function (tx) => ...");
    const session = new S3Session(this, agentId);
    try {
      const result = await fn(new AsyncTransaction(session));
      await session.serial(() => {}); // operations fn started and did not await
      return result;
    } finally {
      session.active = false;
      if (session.hint !== undefined) {
        try {
          await this._put(this._key(agentId, "head"), Buffer.from(`{"seq":${session.hint}}`));
        } catch {
          // only a hint
        }
      }
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
    const { record } = await this.#require(agent);
    return record;
  }

  /** The newest pixel (head discovery, no listing); undefined for a chain pruned to nothing. */
  async latest(agentId) {
    const agent = await this.#agent(agentId);
    const line = await this._headLine(agent);
    if (line === undefined) {
      await this.#require(agent);
      return undefined;
    }
    return JSON.parse(line);
  }

  /** Stored lines, oldest first, streamed: segments, then the pixel objects after them. */
  lines(agentId) {
    const store = this;
    return (async function* () {
      const agent = await store.#agent(agentId);
      const { record, head } = await store.#require(agent);
      for await (const chunk of store.#chunks(agent, record?.firstSeq ?? 0, head)) {
        let text;
        try {
          text = UTF8.decode(chunk);
        } catch {
          throw makeError("STORE_CORRUPT", `a piece of the chain of ${agent} in ${store} is not UTF-8`);
        }
        yield* text.slice(0, -1).split("\n");
      }
    })();
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

  /** The newest `limit` pixels (all when omitted), oldest first; with a limit, read back from the head. */
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
    const { record, head } = await this.#require(agent);
    if (head === undefined || limit === 0) return [];
    const first = Math.max(record?.firstSeq ?? 0, head - limit + 1);
    const seqs = Array.from({ length: head - first + 1 }, (_, i) => first + i);
    const out = [];
    for await (const [key, body] of ordered(seqs, WINDOW, async (seq) => {
      const key = this._key(agent, "p", seq);
      return [key, await this._get(key)];
    })) {
      if (body === undefined) throw makeError("STORE_CORRUPT", `${key} vanished while the chain was read`);
      out.push(JSON.parse(this._text(body, key)));
    }
    return out;
  }

  /** A pixel by seq (one read) or by hash / unique hex prefix (a streamed search) (12.6). */
  async get(key, agentId) {
    const wanted = parseKey(key);
    const agent = await this.#agent(agentId);
    if (wanted.kind === "seq") {
      const record = await this._anchorRecord(agent);
      if (record === undefined || wanted.seq >= record.firstSeq) {
        const objectKey = this._key(agent, "p", wanted.seq);
        const body = await this._get(objectKey);
        if (body !== undefined) return JSON.parse(this._text(body, objectKey));
      }
      await this.#require(agent);
      pixelNotFound(agent, key);
    }
    let found;
    let matches = 0;
    for await (const line of this.lines(agent)) {
      const pixel = JSON.parse(line);
      if (typeof pixel.hash === "string" && pixel.hash.startsWith(`sha256:${wanted.prefix}`)) {
        matches += 1;
        found ??= pixel;
      }
    }
    if (matches > 1) {
      throw makeError("AMBIGUOUS_KEY", `${JSON.stringify(key)} matches ${matches} pixels of agent ${agent}: give more digits`);
    }
    if (found === undefined) pixelNotFound(agent, key);
    return found;
  }

  /** Verifies the stored chain against its anchor, streamed (one stream of lines, 12.11). */
  async verify(agentId) {
    const agent = await this.#agent(agentId);
    const { record, head } = await this.#require(agent);
    const verifier = new JsonlVerifier({ anchor: record?.anchor });
    for await (const chunk of this.#chunks(agent, record?.firstSeq ?? 0, head)) {
      verifier.feed(chunk);
      if (verifier.failed) break;
    }
    return verifier.finish();
  }

  /** Keeps the newest `keep` pixels: the anchor first, then deletes below it; returns how many went. */
  async prune(keep, agentId) {
    if (!Number.isSafeInteger(keep) || keep < 1) throw argumentError("keep must be an integer >= 1 (the head is never pruned)");
    const agent = await this.#agent(agentId);
    await this.#require(agent);
    return this.transaction(agent, (tx) => {
      const session = AsyncTransaction.sessionOf(tx);
      return session.serial(() => session.prune(keep));
    });
  }

  /** Writes the missing segments of complete 1000-pixel blocks (12.11); returns how many it wrote. */
  async compact(agentId) {
    const agent = await this.#agent(agentId);
    const { record, head } = await this.#require(agent);
    if (head === undefined) return 0;
    const first = record?.firstSeq ?? 0;
    const done = new Set((await this._segments(agent)).map((s) => `${s.first}-${s.last}`));
    let written = 0;
    for (let block = Math.ceil(first / SEGMENT) * SEGMENT; block + SEGMENT - 1 <= head; block += SEGMENT) {
      if (!done.has(`${block}-${block + SEGMENT - 1}`)) written += await this._compactBlock(agent, block, record);
    }
    return written;
  }

  /** Nothing to release (the client is the caller's or the SDK's); for symmetry with PostgresStore. */
  async close() {}
}
