// Types for the Checkpointer and the automatic triggers of `tokenpixel/node` (issue 10).
import type { EmitOptions, TokenPixel } from "./index.js";
import type { AsyncStore } from "./stores.js";

/** What a store must offer a Checkpointer: the public transaction of docs/SPEC.md 12.1. */
export interface TransactionalStore {
  transaction<T>(agentId: string, fn: (tx: {
    head(): TokenPixel | undefined;
    anchor(): string | undefined;
    append(pixel: TokenPixel | string): void;
    replace(lines: Iterable<TokenPixel | string>, anchor?: string | null): void;
  }) => T): T;
  latest(agentId?: string): TokenPixel | undefined;
}

export interface CheckpointEvent {
  eventType: "CHECKPOINT_CREATED";
  tokenPixelId: string;
  agentId: string;
  corridor: string;
  timestampMs: number;
  autonomyIndex: number;
  metadata: { seq: number; intentHash: string | null; eventDelta: number; stateHash: string; sizeBytes: number };
  pixel: TokenPixel;
}

export interface CheckpointerOptions {
  sessionId?: string;
  /**
   * Seal on the caller, write in the background (the writer lock is held until close()).
   * Sync stores only (JsonlStore): with an async store (PostgresStore, S3Store) it is
   * INVALID_ARGUMENT for now.
   */
  background?: boolean;
  /** Background queue bound (default 1024). */
  queueSize?: number;
  /** When the queue is full: "block" (drain on the caller, the default) or "throw" (QUEUE_FULL). */
  onFull?: "block" | "throw";
  /** Pixels appended per background wakeup (default 256). */
  batchSize?: number;
  /**
   * OpenTelemetry metrics (needs `@opentelemetry/api`): true (default) records through the
   * global meter provider as it is when the checkpointer is made, false records none, or give
   * a MeterProvider.
   */
  metrics?: boolean | { getMeter(name: string, version?: string): unknown };
  /**
   * How often `emitAsync` on an async store re-reads the head, re-seals and tries again after
   * CHAIN_CONFLICT (another writer took the seq; S3, SPEC 12.9), with a short random back-off
   * (default 16).
   */
  retries?: number;
}

/** A stage in progress: what the post pixel records. */
export class Stage {
  readonly prefix: string;
  readonly pre: TokenPixel;
  post: TokenPixel | undefined;
  error: TokenPixel | undefined;
  state: EmitOptions["state"] | undefined;
  context: EmitOptions["context"] | undefined;
  surface: Pick<EmitOptions, "autonomyIndex" | "intentHash" | "eventDelta" | "stateVector">;
  update(surface: Pick<EmitOptions, "autonomyIndex" | "intentHash" | "eventDelta" | "stateVector">): void;
}

export class Checkpointer {
  /** `store`: a sync store (JsonlStore) or an async one (`store.async === true`: PostgresStore, S3Store). */
  constructor(store: TransactionalStore | AsyncStore, agentId: string, options?: CheckpointerOptions);
  readonly agentId: string;
  readonly sessionId: string;
  readonly store: TransactionalStore | AsyncStore;
  /** Whether the store is async (then use emitAsync and headAsync). */
  readonly async: boolean;
  readonly retries: number;
  /** The newest pixel (in-memory in background mode). INVALID_ARGUMENT on an async store: use headAsync(). */
  readonly head: TokenPixel | undefined;
  /** The newest stored pixel, for every store. */
  headAsync(): Promise<TokenPixel | undefined>;
  /** Emitted pixels not yet durable (background mode). */
  readonly pending: number;
  /** Emits and persists the next pixel (sync stores only: INVALID_ARGUMENT on an async store). */
  emit(corridor: string, options?: EmitOptions): TokenPixel;
  /**
   * Emits and persists the next pixel, for every store. On an async store it runs one
   * transaction and, on CHAIN_CONFLICT, re-reads the head and re-seals up to `retries` times;
   * emits of one checkpointer run one after another in call order.
   */
  emitAsync(corridor: string, options?: EmitOptions): Promise<TokenPixel>;
  /** Runs `fn` between NODE_PRE and NODE_POST (or NODE_ERROR) pixels; through emitAsync on an async store. */
  stage<T>(prefix: string, fn: (stage: Stage) => T | Promise<T>, options?: EmitOptions): Promise<T>;
  addListener(fn: (event: CheckpointEvent) => void): void;
  removeListener(fn: (event: CheckpointEvent) => void): void;
  flushSync(): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface PeriodicOptions {
  /** Where to checkpoint; default: the current district and chamber at NODE_PERIODIC. */
  corridor?: string;
  state?: () => EmitOptions["state"] | undefined;
  context?: () => EmitOptions["context"] | undefined;
  /** Skip a tick whose state and context equal the newest pixel's (default true). */
  skipUnchanged?: boolean;
  onError?: (err: unknown) => void;
  /** Let the process exit while the timer runs (default false). */
  unref?: boolean;
}

export class PeriodicCheckpointer {
  constructor(checkpointer: Checkpointer, intervalMs: number, options?: PeriodicOptions);
  readonly running: boolean;
  readonly emitted: TokenPixel[];
  readonly skipped: number;
  readonly errors: unknown[];
  start(): this;
  stop(): void;
  tick(): TokenPixel | undefined;
}

export const EVENT_NODES: Readonly<{ INTENT_CHANGED: "INTENT_CHANGE"; ANOMALY_DETECTED: "ANOMALY" }>;

export class EventTriggeredCheckpointer {
  static readonly EVENTS: readonly ["INTENT_CHANGED", "ANOMALY_DETECTED", "CORRIDOR_CROSSED"];
  constructor(checkpointer: Checkpointer, options?: { state?: () => EmitOptions["state"] | undefined });
  readonly emitted: TokenPixel[];
  subscribe(source: { on(name: string, fn: (payload?: unknown) => void): unknown }): this;
  handle(name: string, payload?: unknown): TokenPixel;
}
