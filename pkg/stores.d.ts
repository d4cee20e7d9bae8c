// Types for the shared stores of `tokenpixel/node` (docs/SPEC.md 12.9 to 12.12): PostgresStore
// (needs `pg`), S3Store (needs `@aws-sdk/client-s3`) and openStore. Both are optional peer
// dependencies, loaded only when such a store is made. Every method of these stores is async.
import type { AnchorRecord } from "./node.js";
import type { TokenPixel, VerifyReport } from "./index.js";
import type { JsonlStore, JsonlStoreOptions } from "./node.js";

/**
 * A transaction of an async store (12.1): every call returns a promise, and calls run one at a
 * time in call order. Valid until the transaction's function settles.
 */
export interface AsyncTransaction {
  readonly agentId: string;
  /** The last stored pixel, or undefined for an empty chain. */
  head(): Promise<TokenPixel | undefined>;
  /** The trusted hash the first stored pixel links to (after pruning), or undefined. */
  anchor(): Promise<string | undefined>;
  /** Stores one pixel (object or canonical line) that extends `head()`: else CHAIN_CONFLICT. */
  append(pixel: TokenPixel | string): Promise<void>;
  /**
   * Appends pixels in order; at one that does not extend the chain its error is thrown and
   * those before it stay appended (PostgreSQL: stored when the transaction commits, that is
   * when the transaction's function catches the error; a statement the database refused rolls
   * the whole transaction back).
   */
  extend(pixels: Iterable<TokenPixel | string> | AsyncIterable<TokenPixel | string>): Promise<void>;
  /**
   * Replaces the chain by `lines`, which must verify against `anchor` (none: from genesis).
   * S3 replaces only an empty chain (it has no atomic rewrite): use prune() to shorten one.
   */
  /** `frontier`: the pruned prefix's Merkle frontier to keep with the anchor (12.7). */
  replace(lines: Iterable<TokenPixel | string> | AsyncIterable<TokenPixel | string>, anchor?: string | null, frontier?: string[] | null): Promise<void>;
}

/** What every async store offers (the interface of 12.1, with promises). */
export interface AsyncStore {
  /** Always true: the Checkpointer emits through `emitAsync`. */
  readonly async: true;
  /** The agents that have a chain, sorted by UTF-16 code units. */
  agents(): Promise<string[]>;
  transaction<T>(agentId: string, fn: (tx: AsyncTransaction) => T | Promise<T>): Promise<T>;
  append(pixel: TokenPixel | string): Promise<void>;
  anchor(agentId?: string): Promise<string | undefined>;
  anchorRecord(agentId?: string): Promise<AnchorRecord | undefined>;
  latest(agentId?: string): Promise<TokenPixel | undefined>;
  /** Stored canonical lines, oldest first, streamed. */
  lines(agentId?: string): AsyncIterableIterator<string>;
  /** Pixels, oldest first, streamed. */
  iter(agentId?: string): AsyncIterableIterator<TokenPixel>;
  [Symbol.asyncIterator](): AsyncIterator<TokenPixel>;
  /** The newest `limit` pixels (all when omitted), oldest first. */
  list(agentId?: string, options?: { limit?: number }): Promise<TokenPixel[]>;
  /** By seq (a number or a string of digits), full hash or unique hash prefix: else NOT_FOUND / AMBIGUOUS_KEY. */
  get(key: number | string, agentId?: string): Promise<TokenPixel>;
  /** Keeps the newest `keep` pixels and records the anchor; resolves to how many were removed. */
  prune(keep: number, agentId?: string): Promise<number>;
  verify(agentId?: string): Promise<VerifyReport>;
  close(): Promise<void>;
}

/** node-postgres Pool options (see the `pg` package); `connectionString` is a libpq URL. */
export interface PostgresPoolOptions {
  connectionString?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string | (() => string | Promise<string>);
  database?: string;
  ssl?: unknown;
  max?: number;
  connectionTimeoutMillis?: number;
  idleTimeoutMillis?: number;
  [option: string]: unknown;
}

/** A pg.Pool made by the caller (the store queries through it and never ends it). */
export interface PostgresPool {
  connect(): Promise<unknown>;
  query(text: string, values?: unknown[]): Promise<unknown>;
  end(): Promise<void>;
}

export interface PostgresStoreOptions {
  /** How long a transaction waits for the agent's advisory lock before STORE_LOCKED (default 30000). */
  lockTimeoutMs?: number;
  /** The same in seconds, as Python's `lock_timeout` (give one of the two). */
  lockTimeout?: number;
}

/**
 * Async iterator of an agent's pixels as they commit (`PostgresStore.follow`). `return()` (or
 * `break` in `for await`) stops it and releases its connection, also while a `next()` waits.
 */
export interface PixelFollower extends AsyncIterableIterator<TokenPixel> {
  /** Resolves once it listens and knows where it starts (rejects when it cannot connect). */
  readonly ready: Promise<void>;
  return(): Promise<IteratorReturnResult<undefined>>;
}

/**
 * Pixels in PostgreSQL tables `tokenpixel_pixels` and `tokenpixel_anchors` (SPEC 12.10), on
 * node-postgres (`npm install pg`). The database refuses a fork itself (a trigger); writers of
 * one agent serialize on an advisory lock held by their transaction.
 */
export class PostgresStore implements AsyncStore {
  /** A libpq connection URL, node-postgres Pool options, or a pg.Pool. */
  constructor(connection: string | PostgresPoolOptions | PostgresPool, options?: PostgresStoreOptions);
  readonly async: true;
  readonly lockTimeoutMs: number;
  /** The pg.Pool the store queries through. */
  readonly pool: PostgresPool;
  /** Creates or upgrades the schema (idempotent; a no-op on a database Python set up); resolves to the version. */
  setup(): Promise<number>;
  /** The database's schema version (0 before setup). */
  schemaVersion(): Promise<number>;
  agents(): Promise<string[]>;
  /**
   * `fn(tx)` in a database transaction holding the agent's advisory lock: it commits when fn
   * resolves, rolls back when it throws (or when one of its statements failed). A transaction
   * opened inside another on the same agent joins it.
   */
  transaction<T>(agentId: string, fn: (tx: AsyncTransaction) => T | Promise<T>): Promise<T>;
  append(pixel: TokenPixel | string): Promise<void>;
  anchor(agentId?: string): Promise<string | undefined>;
  anchorRecord(agentId?: string): Promise<AnchorRecord | undefined>;
  latest(agentId?: string): Promise<TokenPixel | undefined>;
  lines(agentId?: string): AsyncIterableIterator<string>;
  iter(agentId?: string): AsyncIterableIterator<TokenPixel>;
  [Symbol.asyncIterator](): AsyncIterator<TokenPixel>;
  list(agentId?: string, options?: { limit?: number }): Promise<TokenPixel[]>;
  get(key: number | string, agentId?: string): Promise<TokenPixel>;
  prune(keep: number, agentId?: string): Promise<number>;
  /** Verifies the chain against its anchor in one read-only snapshot, streamed. */
  verify(agentId?: string): Promise<VerifyReport>;
  /**
   * The agent's pixels with seq > `after` (default: the head once the follower started, see
   * `ready`) as they commit, oldest first, forever (LISTEN/NOTIFY, and a read every 5 s).
   */
  follow(agentId: string, options?: { after?: number }): PixelFollower;
  /** Stops the followers and ends the pool (when the store made it). */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** An S3 client: `S3Client` of `@aws-sdk/client-s3` (the store only calls `send`). */
export interface S3ClientLike {
  send(command: any, options?: any): Promise<any>;
}

export interface S3StoreOptions {
  /** Default: `new S3Client({})`, configured from the environment (AWS_ENDPOINT_URL_S3, ...). */
  client?: S3ClientLike;
  /**
   * How often a writer compacts: after appending a seq N with (N + 1) % compactEvery == 0 it
   * writes the missing 1000-pixel segments of that range. Default 1000 (every complete block);
   * a multiple of 1000, or 0 to leave compaction to `compact()`. Segments are always 1000 lines.
   */
  compactEvery?: number;
}

/**
 * Chains in an S3 bucket under a key prefix (SPEC 12.11), on `@aws-sdk/client-s3`: one object
 * per pixel created only with `If-None-Match: *`, 1000-pixel segments, a head hint. No lock:
 * transactions are optimistic (a racing append is CHAIN_CONFLICT). Never creates the bucket.
 */
export class S3Store implements AsyncStore {
  constructor(bucket: string, prefix?: string, options?: S3StoreOptions);
  readonly async: true;
  readonly bucket: string;
  /** "" or ending in "/". */
  readonly prefix: string;
  readonly compactEvery: number;
  readonly client: S3ClientLike;
  agents(): Promise<string[]>;
  /** Optimistic: `tx.append` is a conditional create; the head hint is written when fn ends. */
  transaction<T>(agentId: string, fn: (tx: AsyncTransaction) => T | Promise<T>): Promise<T>;
  append(pixel: TokenPixel | string): Promise<void>;
  anchor(agentId?: string): Promise<string | undefined>;
  anchorRecord(agentId?: string): Promise<AnchorRecord | undefined>;
  /** Head discovery (hint, galloping, bisection): never lists the chain. */
  latest(agentId?: string): Promise<TokenPixel | undefined>;
  /** Segments, then the pixel objects after them; STORE_CORRUPT when a piece does not continue the seqs. */
  lines(agentId?: string): AsyncIterableIterator<string>;
  iter(agentId?: string): AsyncIterableIterator<TokenPixel>;
  [Symbol.asyncIterator](): AsyncIterator<TokenPixel>;
  /** With a limit, reads back from the head (no listing). */
  list(agentId?: string, options?: { limit?: number }): Promise<TokenPixel[]>;
  get(key: number | string, agentId?: string): Promise<TokenPixel>;
  /** Writes the anchor first, then deletes the segments and objects below it, oldest first. */
  prune(keep: number, agentId?: string): Promise<number>;
  verify(agentId?: string): Promise<VerifyReport>;
  /** Writes the missing segments of complete 1000-pixel blocks; resolves to how many it wrote. */
  compact(agentId?: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * The store a URL names (SPEC 12.12): a path or `file:///dir` (JsonlStore), `s3://bucket[/prefix]`
 * (S3Store), `postgresql://...` or `postgres://...` (PostgresStore, after `setup()`). SQLite URLs
 * are Python-only for now (INVALID_ARGUMENT); any other scheme is INVALID_ARGUMENT.
 * `options` go to the store's constructor.
 */
export function openStore(url: string | URL, options?: JsonlStoreOptions & PostgresStoreOptions & S3StoreOptions): Promise<JsonlStore | S3Store | PostgresStore>;
