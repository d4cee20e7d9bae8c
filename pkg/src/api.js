// The JS face of tokenpixel, shared by every build (Node ESM, Node CJS, browsers, bundlers).
// It only adapts values: pixels come back as plain objects in their JSON shape, errors as
// TokenPixelError. Every rule lives in the Rust core (see docs/SPEC.md).

export function makeApi(wasm) {
  const constants = wasm.constants();

  class TokenPixelError extends Error {
    constructor(message, code, reason = null) {
      super(message);
      this.name = "TokenPixelError";
      this.code = code;
      this.reason = reason;
    }
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

  /** RFC 8785 canonical form of a JSON text. */
  function canonicalize(text) {
    if (typeof text !== "string") throw argumentError("canonicalize takes a string");
    return call(() => wasm.canonicalize(text));
  }

  /** RFC 8785 canonical form of a plain JS value. */
  function canonicalJson(value) {
    return call(() => wasm.canonicalJson(value));
  }

  /** The canonical JSONL line of a pixel (a plain object or JSON text). */
  function toJsonLine(pixel) {
    return call(() => wasm.toJsonLine(pixel));
  }

  /** Verifies pixels (plain objects or JSON lines) in order. Bad items are reported. */
  function verify(pixels, options) {
    const anchor = anchorOf(options);
    return call(() => wasm.verify(pixels, anchor));
  }

  /** Verifies JSONL given as a string or bytes. */
  function verifyJsonl(data, options) {
    const anchor = anchorOf(options);
    if (typeof data === "string") return call(() => wasm.verifyJsonlText(data, anchor));
    if (data instanceof Uint8Array) return call(() => wasm.verifyJsonlBytes(data, anchor));
    throw argumentError("verifyJsonl takes a string or a Uint8Array");
  }

  /** A streaming JSONL verifier: feed(Uint8Array) chunks, then finish(). */
  class JsonlVerifier {
    #inner;
    constructor(options) {
      const anchor = anchorOf(options);
      this.#inner = call(() => new wasm.JsonlVerifier(anchor));
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
      const inner = call(() => wasm.Chain.resume(pixels, anchor, sessionId));
      return new Chain(undefined, undefined, inner);
    }

    /** Emits the next pixel; returns it as a plain object in its JSON shape. */
    emit(corridor, options = {}) {
      if (typeof corridor !== "string") throw argumentError("corridor must be a string");
      return parse(call(() => this.#inner.emit(corridor, options)));
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

  return {
    canonicalize,
    canonicalJson,
    toJsonLine,
    verify,
    verifyJsonl,
    Chain,
    JsonlVerifier,
    TokenPixelError,
    GENESIS_HASH: constants.genesisHash,
    SCHEMA_VERSION: constants.schemaVersion,
    ERROR_CODES: Object.freeze([...constants.errorCodes]),
    version: constants.version,
  };
}
