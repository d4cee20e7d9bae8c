// What every store's transaction shares (docs/SPEC.md 12.1): the argument rules of
// `replace`, and the promise-returning face of an asynchronous store's transaction (PostgreSQL
// and S3), whose calls run one after another on the store's session.
import { makeError } from "./node.mjs";

/** INVALID_ARGUMENT for what `replace(lines, anchor, frontier)` refuses; else undefined. */
export function replaceArgumentError(anchor, frontier) {
  if (anchor !== undefined && anchor !== null && typeof anchor !== "string") {
    return makeError("INVALID_ARGUMENT", "anchor must be a string");
  }
  if (frontier !== undefined && frontier !== null && (anchor === undefined || anchor === null)) {
    return makeError("INVALID_ARGUMENT", "a frontier goes with an anchor (a pruned chain)");
  }
  return undefined;
}

/** The public face of an asynchronous store's transaction: every call returns a promise. */
export class AsyncTransaction {
  #session;

  constructor(session) {
    this.#session = session;
  }

  get agentId() {
    return this.#session.agent;
  }

  /** The last stored pixel (a plain object), or undefined for an empty chain. */
  head() {
    return this.#session.serial(async () => {
      const line = await this.#session.headLine();
      return line === undefined ? undefined : JSON.parse(line);
    });
  }

  /** The trusted hash the first stored pixel links to (after pruning), or undefined. */
  anchor() {
    return this.#session.serial(async () => (await this.#session.anchorRecord())?.anchor);
  }

  /** Stores one pixel (object or canonical line) that extends `head()`: else CHAIN_CONFLICT. */
  append(pixel) {
    return this.#session.serial(() => this.#session.append(pixel));
  }

  /** Appends pixels in order; those before one that fails are stored, its error is thrown. */
  extend(pixels) {
    return this.#session.serial(() => this.#session.extend(pixels));
  }

  /**
   * Replaces the chain by `lines`, which must verify against `anchor` (none: from genesis),
   * keeping `frontier` with the anchor (12.7). S3 replaces only an empty chain.
   */
  replace(lines, anchor, frontier) {
    const refused = replaceArgumentError(anchor, frontier);
    if (refused) return Promise.reject(refused);
    return this.#session.serial(() => this.#session.replace(lines, anchor, frontier ?? null));
  }

  /** The session, for the store's own whole-chain operations. */
  static sessionOf(tx) {
    return tx.#session;
  }
}
