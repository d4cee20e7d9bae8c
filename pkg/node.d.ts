// Types for `tokenpixel/node`: the Node-only JSONL store (docs/SPEC.md section 12).
import type { TokenPixel, VerifyReport } from "./index.js";

// The Checkpointer and triggers live in checkpointer.d.ts, the shared stores (PostgreSQL, S3,
// store URLs) in stores.d.ts; `tokenpixel/node` exports them all.
export * from "./checkpointer.js";
export * from "./stores.js";
export * from "./signing.js";
/** The PostgreSQL schema migrations (the core's text, run by every language) and the setup lock key. */
export { PG_MIGRATIONS, PG_SETUP_LOCK } from "./index.js";

/** What pruning keeps (docs/SPEC.md 12.2): `frontier` is null for chains pruned before it was kept. */
export interface AnchorRecord {
  anchor: string;
  firstSeq: number;
  frontier: string[] | null;
}

/** What the store did about a torn last line left by a crash (12.5). */
export interface Recovery {
  agentId: string;
  /** "completed": a whole pixel that only lost its newline; "moved": copied to `savedTo`, then cut. */
  action: "completed" | "moved";
  byteCount: number;
  savedTo: string | undefined;
}

export interface JsonlStoreOptions {
  /** Flush every append (and every new file's directory) to disk before it is acknowledged. */
  fsync?: boolean;
  /** How long a writer waits for the writer lock before STORE_LOCKED (default 30000). */
  lockTimeoutMs?: number;
}

/**
 * Exclusive write access to one agent's chain (12.1), valid only while the transaction's
 * function runs (or, for a promise, until it settles).
 */
export interface Transaction {
  readonly agentId: string;
  /** The last stored pixel, or undefined for an empty chain. */
  head(): TokenPixel | undefined;
  /** The trusted hash the first stored pixel links to (after pruning), or undefined. */
  anchor(): string | undefined;
  /** Stores one pixel (object or canonical line) that extends `head()`: else CHAIN_CONFLICT. */
  append(pixel: TokenPixel | string): void;
  /** Replaces the chain by `lines`, which must verify against `anchor` (none: from genesis). */
  /** `frontier`: the pruned prefix's Merkle frontier to keep with the anchor (12.7). */
  replace(lines: Iterable<TokenPixel | string>, anchor?: string | null, frontier?: string[] | null): void;
}

/** One append-only file per agent (`pixels_<agentId>.jsonl`), the same format and lock as Python's. */
export class JsonlStore implements Iterable<TokenPixel> {
  /** Reads never create the directory; the first append does. */
  constructor(directory: string, options?: JsonlStoreOptions);
  readonly directory: string;
  readonly fsync: boolean;
  readonly lockTimeoutMs: number;
  readonly recoveries: Recovery[];
  /** The chain file of an agent (INVALID_ARGUMENT for an id that is not an agent id). */
  path(agentId: string): string;
  /** The agents that have a chain, sorted. */
  agents(): string[];
  /**
   * Runs `fn` under the agent's writer lock and returns its result. When `fn` returns a
   * promise, the lock is kept until it settles; an async `fn` waits behind other transactions
   * of this process on the same chain, and a transaction inside another on the same chain joins it.
   */
  transaction<T>(agentId: string, fn: (tx: Transaction) => T): T;
  anchor(agentId?: string): string | undefined;
  /** What pruning kept (12.2): the anchor, the first kept seq and the pruned prefix's frontier. */
  anchorRecord(agentId?: string): AnchorRecord | undefined;
  /** Complete stored lines, oldest first, streamed from the file. */
  lines(agentId?: string): IterableIterator<string>;
  /** Pixels, oldest first, streamed from the file. */
  iter(agentId?: string): IterableIterator<TokenPixel>;
  [Symbol.iterator](): Iterator<TokenPixel>;
  /** The newest `limit` pixels (all when omitted), oldest first. */
  list(agentId?: string, options?: { limit?: number }): TokenPixel[];
  latest(agentId?: string): TokenPixel | undefined;
  /** By seq (a number or a string of digits), full hash or unique hash prefix: else NOT_FOUND / AMBIGUOUS_KEY. */
  get(key: number | string, agentId?: string): TokenPixel;
  recover(agentId?: string): Recovery | undefined;
  append(pixel: TokenPixel | string): void;
  /** Keeps the newest `keep` pixels and records the anchor; returns how many were removed. */
  prune(keep: number, agentId?: string): number;
  verify(agentId?: string): VerifyReport;
}
export * from "./checkpointer.js";
