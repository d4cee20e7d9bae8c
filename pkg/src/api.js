// The JS face of tokenpixel, shared by every build (Node ESM, Node CJS, browsers, bundlers).
// It only adapts values: pixels come back as plain objects in their JSON shape, errors as
// TokenPixelError. Every rule lives in the Rust core (see docs/SPEC.md).

// `host.sha256Batch(preimages, ends)`, when given, hashes for the core's verifiers in
// batches (one call per MiB of preimages): Node passes node:crypto, whose SHA-256 uses the
// CPU's SHA instructions, which WebAssembly cannot. Browsers hash inside wasm (WebCrypto's
// digest is asynchronous, and verification is not).
export function makeApi(wasm, host = {}) {
  const constants = wasm.constants();
  const hasher = host.sha256Batch ?? undefined;
  const utf8 = new TextEncoder();

  const FAMILIES = new Map(constants.errorCodes.map((code, i) => [code, constants.errorFamilies[i]]));

  /** Every tokenpixel error: `.code` (SPEC section 7), `.family`, `.reason` (NOT_I_JSON only). */
  class TokenPixelError extends Error {
    constructor(message, code, reason = null) {
      super(message);
      this.name = "TokenPixelError";
      this.code = code;
      this.family = FAMILIES.get(code) ?? "argument";
      this.reason = reason;
    }
  }

  /** A TokenPixelError for any SPEC code (what host stores throw for store codes). */
  function makeError(code, message) {
    if (!FAMILIES.has(code)) throw argumentError(`${JSON.stringify(code)} is not a tokenpixel error code`);
    return new TokenPixelError(message, code);
  }

  function rethrow(err) {
    if (err instanceof TokenPixelError) throw err;
    if (err && typeof err === "object" && typeof err.code === "string") {
      throw new TokenPixelError(err.message, err.code, err.reason ?? null);
    }
    throw err;
  }

  function call(fn) {
    try {
      return fn();
    } catch (err) {
      return rethrow(err);
    }
  }

  function argumentError(message) {
    return new TokenPixelError(`invalid argument: ${message}`, "INVALID_ARGUMENT");
  }

  function anchorOf(options) {
    if (options === undefined || options === null) return undefined;
    if (typeof options !== "object") throw argumentError("options must be an object");
    const { anchor } = options;
    if (anchor === undefined || anchor === null) return undefined;
    if (typeof anchor !== "string") throw argumentError("anchor must be a string");
    return anchor;
  }

  const parse = (line) => JSON.parse(line);

  // Fast path: plain JSON data crosses into WebAssembly as one JSON.stringify text, which the
  // core parses strictly. Anything JSON.stringify would change (undefined, NaN, Date, Map,
  // class instances, lone surrogates, sparse arrays, deep nesting) takes the value-by-value
  // path instead, where the core reports the exact problem and its JSON path.
  const wellFormed =
    typeof String.prototype.isWellFormed === "function"
      ? (s) => s.isWellFormed()
      : (s) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
  const MAX_DEPTH = 128;

  function plain(v, depth) {
    switch (typeof v) {
      case "string":
        return wellFormed(v);
      case "number":
        return Number.isFinite(v);
      case "boolean":
        return true;
      case "object": {
        if (v === null) return true;
        if (depth >= MAX_DEPTH) return false;
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            if (!(i in v) || !plain(v[i], depth + 1)) return false;
          }
          return true;
        }
        const proto = Object.getPrototypeOf(v);
        if (proto !== Object.prototype && proto !== null) return false;
        for (const k in v) {
          if (!Object.hasOwn(v, k)) return false;
          if (!wellFormed(k) || !plain(v[k], depth + 1)) return false;
        }
        return true;
      }
      default:
        return false;
    }
  }

  /** JSON text for plain data, or undefined when the value must take the checked path. */
  function jsonText(v) {
    return plain(v, 0) ? JSON.stringify(v) : undefined;
  }

  function withoutUndefined(options) {
    if (options === undefined || options === null) return {};
    if (typeof options !== "object" || Array.isArray(options)) return options;
    const out = {};
    for (const [k, v] of Object.entries(options)) if (v !== undefined) out[k] = v;
    return out;
  }

  /** RFC 8785 canonical form of a JSON text. */
  function canonicalize(text) {
    if (typeof text !== "string") throw argumentError("canonicalize takes a string");
    return call(() => wasm.canonicalize(text));
  }

  /** RFC 8785 canonical form of a plain JS value. */
  function canonicalJson(value) {
    const text = jsonText(value);
    return call(() => (text !== undefined ? wasm.canonicalize(text) : wasm.canonicalJson(value)));
  }

  /** The canonical JSONL line of a pixel (a plain object or JSON text). */
  function toJsonLine(pixel) {
    const input = typeof pixel === "string" ? pixel : (jsonText(pixel) ?? pixel);
    return call(() => wasm.toJsonLine(input));
  }

  function pixelInputs(pixels) {
    if (!Array.isArray(pixels)) return pixels;
    return pixels.map((p) => (typeof p === "string" ? p : (jsonText(p) ?? p)));
  }

  /** Verifies pixels (plain objects or JSON lines) in order. Bad items are reported. */
  function verify(pixels, options) {
    const anchor = anchorOf(options);
    const inputs = pixelInputs(pixels);
    return call(() => wasm.verify(inputs, anchor));
  }

  /** Verifies JSONL given as a string or bytes. */
  function verifyJsonl(data, options) {
    const anchor = anchorOf(options);
    if (typeof data === "string") return call(() => verifyText(data, anchor));
    if (data instanceof Uint8Array) return call(() => verifyBytes(data, anchor));
    throw argumentError("verifyJsonl takes a string or a Uint8Array");
  }

  // Strings cross into wasm as UTF-8, encoded natively into one reused buffer (wasm-bindgen
  // would copy a string a character at a time; encoding a whole 100 MB string at once costs
  // more in fresh memory than the encoding itself). A surrogate pair is never split.
  const TEXT_CHUNK = 1 << 20;
  function verifyText(text, anchor) {
    const verifier = new wasm.JsonlVerifier(anchor, hasher);
    const buffer = new Uint8Array(TEXT_CHUNK);
    for (let i = 0; i < text.length && !verifier.failed; ) {
      let end = Math.min(text.length, i + TEXT_CHUNK / 3); // at most 3 bytes per unit
      const last = text.charCodeAt(end - 1);
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
      const { read, written } = utf8.encodeInto(text.slice(i, end), buffer);
      verifier.feed(buffer.subarray(0, written));
      i += read;
    }
    return verifier.finish();
  }

  // Bytes cross 1 MiB at a time, so wasm memory stays small whatever the input's size (a
  // wasm32 module has at most 4 GiB).
  function verifyBytes(bytes, anchor) {
    if (bytes.length <= TEXT_CHUNK) return wasm.verifyJsonlBytes(bytes, anchor, hasher);
    const verifier = new wasm.JsonlVerifier(anchor, hasher);
    for (let i = 0; i < bytes.length && !verifier.failed; i += TEXT_CHUNK) {
      verifier.feed(bytes.subarray(i, i + TEXT_CHUNK));
    }
    return verifier.finish();
  }

  /** A streaming JSONL verifier: feed(Uint8Array) chunks, then finish(). */
  class JsonlVerifier {
    #inner;
    constructor(options) {
      const anchor = anchorOf(options);
      this.#inner = call(() => new wasm.JsonlVerifier(anchor, hasher));
    }
    feed(chunk) {
      if (!(chunk instanceof Uint8Array)) throw argumentError("feed takes a Uint8Array");
      call(() => this.#inner.feed(chunk));
    }
    get failed() {
      return this.#inner.failed;
    }
    get count() {
      return this.#inner.count;
    }
    finish() {
      return call(() => this.#inner.finish());
    }
  }

  /** An emitter for one agent's chain; it keeps only the newest pixel. */
  class Chain {
    #inner;
    constructor(agentId, sessionId, inner) {
      if (inner) {
        this.#inner = inner;
        return;
      }
      if (typeof agentId !== "string") throw argumentError("agentId must be a string");
      if (sessionId !== undefined && sessionId !== null && typeof sessionId !== "string") {
        throw argumentError("sessionId must be a string");
      }
      this.#inner = call(() => new wasm.Chain(agentId, sessionId ?? undefined));
    }

    /** Continues a chain after verifying it: pixels are plain objects or JSON lines. */
    static resume(pixels, options = {}) {
      const anchor = anchorOf(options);
      const sessionId = options?.sessionId ?? undefined;
      const inputs = pixelInputs(pixels);
      const inner = call(() => wasm.Chain.resume(inputs, anchor, sessionId));
      return new Chain(undefined, undefined, inner);
    }

    /** Emits the next pixel; returns it as a plain object in its JSON shape. */
    emit(corridor, options = {}) {
      return parse(this.emitLine(corridor, options));
    }

    /** Emits the next pixel; returns its canonical line (what a store keeps), no object. */
    emitLine(corridor, options = {}) {
      if (typeof corridor !== "string") throw argumentError("corridor must be a string");
      const clean = withoutUndefined(options);
      const text = jsonText(clean);
      return call(() =>
        text !== undefined
          ? this.#inner.emitJson(corridor, utf8.encode(text), hasher)
          : this.#inner.emit(corridor, options, hasher),
      );
    }

    get agentId() {
      return this.#inner.agentId;
    }
    get sessionId() {
      return this.#inner.sessionId;
    }
    get nextSeq() {
      return this.#inner.nextSeq;
    }
    get headHash() {
      return this.#inner.headHash;
    }
    get head() {
      const line = this.#inner.headLine;
      return line === undefined ? undefined : parse(line);
    }
  }

  function pixelInput(p) {
    return typeof p === "string" ? p : (jsonText(p) ?? p);
  }

  /** What changed from pixel `a` to pixel `b` (JSON form, as Python's Diff.to_dict()). */
  function diff(a, b) {
    return parse(call(() => wasm.diffJson(pixelInput(a), pixelInput(b))));
  }

  /** The same diff, rendered for people. */
  function diffText(a, b) {
    return call(() => wasm.diffText(pixelInput(a), pixelInput(b)));
  }

  /** First-to-last diff over a run of pixels, with every corridor crossed. */
  function diffRange(pixels, options = {}) {
    const inputs = pixelInputs(pixels);
    return options.text ? call(() => wasm.diffRangeText(inputs)) : parse(call(() => wasm.diffRangeJson(inputs)));
  }

  /** A token-budgeted summary: { text, tokens, sourceHash, level, focus, omitted }. */
  function summarize(pixel, options = {}) {
    const { level, forTask, relevantKeys, maxTokens, ...rest } = options ?? {};
    const unknown = Object.keys(rest);
    if (unknown.length) throw argumentError(`unknown summarize option ${JSON.stringify(unknown[0])}`);
    if (relevantKeys !== undefined && relevantKeys !== null && !(Array.isArray(relevantKeys) && relevantKeys.every((k) => typeof k === "string"))) {
      throw argumentError("relevantKeys must be an array of strings");
    }
    return parse(
      call(() => wasm.summarizeJson(pixelInput(pixel), level ?? undefined, forTask ?? undefined, relevantKeys ?? undefined, maxTokens ?? undefined)),
    );
  }

  // --- store-format rules (SPEC section 12), for host stores ------------------------------
  const optString = (v, name) => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw argumentError(`${name} must be a string`);
    return v;
  };
  const bytesArg = (v, name) => {
    if (!(v instanceof Uint8Array)) throw argumentError(`${name} must be a Uint8Array`);
    return v;
  };

  /** Throws INVALID_ARGUMENT unless `agentId` may name a chain in a store. */
  function validateAgentId(agentId) {
    call(() => wasm.validateAgentId(agentId));
  }

  /** `{kind: "seq", seq}` or `{kind: "prefix", prefix}` (SPEC 12.6). */
  function parseKey(key) {
    if (typeof key !== "number" && typeof key !== "string") {
      throw argumentError("a pixel key is a seq (number) or a string");
    }
    return call(() => wasm.parseKey(key));
  }

  /**
   * Checks that `line` extends the stored `head` line (SPEC 12.4); returns the pixel.
   * `firstSeq` (from the anchor record) makes a chain pruned to nothing accept only that seq.
   */
  function checkAppend(head, anchor, line, firstSeq) {
    const h = optString(head, "head");
    const a = optString(anchor, "anchor");
    if (typeof line !== "string") throw argumentError("line must be a string");
    if (firstSeq !== undefined && firstSeq !== null && !(Number.isSafeInteger(firstSeq) && firstSeq >= 0)) {
      throw argumentError("firstSeq must be a non-negative integer");
    }
    return parse(call(() => wasm.checkAppend(h, a, line, firstSeq ?? undefined)));
  }

  /** Whether a torn tail is a whole pixel extending `previous` (SPEC 12.5). */
  function classifyTail(previous, tail, anchor) {
    const p = optString(previous, "previous");
    const a = optString(anchor, "anchor");
    return call(() => wasm.classifyTail(p, bytesArg(tail, "tail"), a));
  }

  /** The anchor file's line, without its newline (SPEC 12.2). */
  function anchorRecord(anchor, firstSeq, prunedAtMs, frontier) {
    if (typeof anchor !== "string") throw argumentError("anchor must be a string");
    const nodes = frontier === undefined || frontier === null ? undefined : strings(frontier, "frontier");
    return call(() => wasm.anchorRecord(anchor, firstSeq, prunedAtMs, nodes));
  }

  /**
   * The pruned prefix's frontier once the pixels with these hashes (the ones a prune removes,
   * in seq order) are pruned too, from the current anchor record (undefined: never pruned);
   * null when the earlier prefix's frontier is unknown (pruned before it was kept).
   */
  function prunedFrontier(record, hashes) {
    if (record === undefined || record === null) return call(() => wasm.extendFrontier(0, [], strings(hashes, "hashes")));
    if (record.frontier === null || record.frontier === undefined) return null;
    return call(() => wasm.extendFrontier(int(record.firstSeq, "firstSeq"), strings(record.frontier, "frontier"), strings(hashes, "hashes")));
  }

  /** A tree's pruned prefix `{size, nodes}` as the wasm arguments (none: two undefined). */
  function prefixArgs(prefix) {
    if (prefix === undefined || prefix === null) return [undefined, undefined];
    if (typeof prefix !== "object") throw argumentError("prefix must be {size, nodes}");
    return [int(prefix.size, "prefix.size"), strings(prefix.nodes, "prefix.nodes")];
  }

  /** `{anchor, firstSeq, frontier}` from an anchor file's bytes; STORE_CORRUPT otherwise. */
  function parseAnchorRecord(bytes) {
    return call(() => wasm.parseAnchorRecord(bytesArg(bytes, "bytes")));
  }

  // --- pipeline naming (the CI/CD seed's districts) ----------------------------------------
  /** The five districts of the convention: `District.DEPLOYMENT === "DISTRICT_5"`. */
  const District = Object.freeze(
    Object.fromEntries(constants.districts.map(([n, name]) => [name, `DISTRICT_${n}`])),
  );
  /** What each district is for, by its value: `DISTRICT_PURPOSE.DISTRICT_2`. */
  const DISTRICT_PURPOSE = Object.freeze(
    Object.fromEntries(constants.districts.map(([n, , purpose]) => [`DISTRICT_${n}`, purpose])),
  );

  /**
   * `DISTRICT_<n>.CHAMBER_<X>.NODE_<Y>`, or the stage prefix `DISTRICT_<n>.CHAMBER_<X>` without
   * `node`. Names are upper-cased and other characters than A-Z 0-9 _ become `_`.
   */
  function corridor(district, chamber, node) {
    if (typeof chamber !== "string") throw argumentError("chamber must be a string");
    if (node !== undefined && node !== null && typeof node !== "string") throw argumentError("node must be a string");
    return call(() => wasm.buildCorridor(district, chamber, node ?? undefined));
  }

  /** Estimated tokens of a text (what summaries budget with). */
  function estimateTokens(text) {
    if (typeof text !== "string") throw argumentError("estimateTokens takes a string");
    return wasm.estimateTokens(text);
  }

  // --- signed heads and Merkle proofs (SPEC section 14) --------------------------------------
  const strings = (xs, what) => {
    if (!Array.isArray(xs) || xs.some((x) => typeof x !== "string")) throw argumentError(`${what} must be an array of strings`);
    return xs;
  };
  const str = (x, what) => {
    if (typeof x !== "string") throw argumentError(`${what} must be a string`);
    return x;
  };
  const int = (x, what) => {
    if (!Number.isSafeInteger(x) || x < 0) throw argumentError(`${what} must be an integer from 0 to 2^53 - 1`);
    return x;
  };

  const WRAP = Symbol("wrap an inner signer");

  /** An Ed25519 note signer (C2SP signed-note; Go's sumdb/note key texts). */
  class NoteSigner {
    #inner;

    /** A signer named `name` from a 32-byte secret `seed` (Uint8Array). */
    constructor(name, seed) {
      this.#inner = name === WRAP ? seed : call(() => new wasm.NoteSigner(str(name, "name"), bytesArg(seed, "seed")));
    }

    /** A new signer with a fresh seed from `crypto.getRandomValues`. */
    static generate(name) {
      return new NoteSigner(name, globalThis.crypto.getRandomValues(new Uint8Array(32)));
    }

    /** Reads a private key text `PRIVATE+KEY+<name>+<id>+<key>`. */
    static fromText(text) {
      return new NoteSigner(WRAP, call(() => wasm.NoteSigner.fromText(str(text, "text").trim())));
    }

    get name() {
      return this.#inner.name;
    }

    /** The verifier key text `<name>+<id>+<key>` to hand to verifiers. */
    get verifier() {
      return this.#inner.verifier;
    }

    /** The private key text (keep it secret). */
    toText() {
      return this.#inner.toText();
    }

    /** The signed note of `text` (which ends in a newline). */
    sign(text) {
      return call(() => this.#inner.sign(str(text, "text")));
    }
  }

  const tlog = {
    /** The RFC 9162 root (base64) of the tree whose leaves are these pixel hashes, in order. */
    treeRoot: (hashes, prefix) => call(() => wasm.treeRoot(strings(hashes, "hashes"), ...prefixArgs(prefix))),
    extendFrontier: (size, nodes, hashes) => call(() => wasm.extendFrontier(int(size, "size"), strings(nodes, "nodes"), strings(hashes, "hashes"))),
    /** Throws the NOT_FOUND error of `get(agent, key)` (SPEC 12.6), one message everywhere. */
    pixelNotFound: (agent, key) => call(() => wasm.pixelNotFound(String(agent), typeof key === "string" ? key : Number(key))),
    frontierText: (firstSeq, nodes) => call(() => wasm.frontierText(int(firstSeq, "firstSeq"), strings(nodes, "nodes"))),
    parseFrontierText: (firstSeq, text) => call(() => wasm.parseFrontierText(int(firstSeq, "firstSeq"), str(text, "text"))),
    inclusionProof: (hashes, index, size, prefix) =>
      call(() => wasm.inclusionProof(strings(hashes, "hashes"), int(index, "index"), int(size, "size"), ...prefixArgs(prefix))),
    consistencyProof: (hashes, oldSize, newSize, prefix) =>
      call(() => wasm.consistencyProof(strings(hashes, "hashes"), int(oldSize, "oldSize"), int(newSize, "newSize"), ...prefixArgs(prefix))),
    verifyInclusion: (pixelHash, index, size, proof, root) =>
      call(() => wasm.verifyInclusion(str(pixelHash, "pixelHash"), int(index, "index"), int(size, "size"), strings(proof, "proof"), str(root, "root"))),
    verifyConsistency: (oldSize, newSize, oldRoot, newRoot, proof) =>
      call(() => wasm.verifyConsistency(int(oldSize, "oldSize"), int(newSize, "newSize"), str(oldRoot, "oldRoot"), str(newRoot, "newRoot"), strings(proof, "proof"))),
    checkpointText: (origin, size, root) => call(() => wasm.checkpointText(str(origin, "origin"), int(size, "size"), str(root, "root"))),
    originFor: (log, agentId) => call(() => wasm.originFor(str(log, "log"), str(agentId, "agentId"))),
    /** `{origin, size, root, signedBy}` of a signed checkpoint verified against verifier keys. */
    openCheckpoint: (note, keys) => call(() => wasm.openCheckpoint(str(note, "note"), strings(keys, "keys"))),
    /** `{origin, size, root}` of a signed checkpoint, not verified. */
    readCheckpoint: (note) => call(() => wasm.readCheckpoint(str(note, "note"))),
    parseVerifierKey: (text) => call(() => wasm.parseVerifierKey(str(text, "verifier key"))),
    openNote: (note, keys) => call(() => wasm.openNote(str(note, "note"), strings(keys, "keys"))),
    proofText: (index, proof, checkpoint, line) =>
      call(() => wasm.proofText(int(index, "index"), strings(proof, "proof"), str(checkpoint, "checkpoint"), line === undefined ? undefined : str(line, "line"))),
    /** Checks a proof file with the verifier keys alone: `{seq, size, origin, signedBy, line}`. */
    verifyProofText: (text, keys, pixelHash) =>
      call(() => wasm.verifyProofText(str(text, "text"), strings(keys, "keys"), pixelHash === undefined ? undefined : str(pixelHash, "pixelHash"))),
  };

  return {
    NoteSigner,
    ...tlog,
    diff,
    diffText,
    diffRange,
    summarize,
    estimateTokens,
    canonicalize,
    canonicalJson,
    toJsonLine,
    verify,
    verifyJsonl,
    Chain,
    JsonlVerifier,
    TokenPixelError,
    makeError,
    validateAgentId,
    parseKey,
    checkAppend,
    classifyTail,
    anchorRecord,
    parseAnchorRecord,
    prunedFrontier,
    MAX_LINE_BYTES: constants.maxLineBytes,
    /** The PostgreSQL store's schema migrations (SPEC 12.10), from the core. */
    PG_MIGRATIONS: Object.freeze([...constants.pgMigrations]),
    PG_SETUP_LOCK: constants.pgSetupLock,
    District,
    DISTRICT_PURPOSE,
    corridor,
    GENESIS_HASH: constants.genesisHash,
    SCHEMA_VERSION: constants.schemaVersion,
    ERROR_CODES: Object.freeze([...constants.errorCodes]),
    version: constants.version,
  };
}
