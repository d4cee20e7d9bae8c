// Types for `tokenpixel/langgraph`: LangGraph.js checkpoints in tokenpixel chains (docs/SPEC.md
// section 13). Needs `@langchain/langgraph-checkpoint` (an optional peer dependency); reading
// threads written by LangGraph Python also needs `@msgpack/msgpack`.
import type { RunnableConfig } from "@langchain/core/runnables";
import type {
  BaseCheckpointSaver,
  ChannelVersions,
  Checkpoint,
  CheckpointListOptions,
  CheckpointMetadata,
  CheckpointTuple,
  PendingWrite,
  SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import type { JsonlStore } from "./node.js";

export const CORRIDOR_CHECKPOINT: "DISTRICT_4.CHAMBER_LANGGRAPH.NODE_CHECKPOINT";
export const CORRIDOR_WRITES: "DISTRICT_4.CHAMBER_LANGGRAPH.NODE_WRITES";
export const CORRIDOR_REWRITE: "DISTRICT_4.CHAMBER_LANGGRAPH.NODE_REWRITE";
export const CORRIDOR_REGISTRY: "DISTRICT_0.CHAMBER_LANGGRAPH.NODE_REGISTRY";
/** The registry chain: each thread chain when it is created and when it is deleted. */
export const REGISTRY: "lg-registry";
export const SESSION: "langgraph";

/** The agent id of the chain of a thread and namespace: `lg-` + 40 hex digits of SHA-256 of `thread \0 ns`. */
export function agentFor(threadId: string, checkpointNs: string): string;

export interface TokenPixelSaverOptions {
  /** Where blobs go (`<h[0:2]>/<h>`); default `blobs/` in the store's directory, where Python's saver keeps them. */
  blobsDir?: string;
  /** LangGraph's serializer (default: its JsonPlusSerializer). */
  serde?: SerializerProtocol;
}

/** Content-addressed blob files (SHA-256 hex of their bytes). */
export interface DirectoryBlobs {
  readonly directory: string;
  put(bytes: Uint8Array): string;
  get(digest: string): Uint8Array | undefined;
  delete(digest: string): void;
  all(): string[];
}

/**
 * A LangGraph.js checkpointer that keeps every checkpoint in a verified tokenpixel chain, one
 * chain per (thread, namespace), in the same layout and bytes as Python's
 * `tokenpixel.langgraph.TokenPixelSaver`. Every read verifies the chain (incrementally) and every
 * blob it loads: a changed blob or pixel is a TokenPixelError (`HASH_MISMATCH`, ...).
 */
export class TokenPixelSaver extends BaseCheckpointSaver<number | string> {
  constructor(store: JsonlStore, options?: TokenPixelSaverOptions);
  readonly store: JsonlStore;
  readonly blobsDir: string;
  readonly blobs: DirectoryBlobs;
  /** How many pixels this saver has verified by reading them (its own appends are not read back). */
  readonly verifiedPixels: number;
  getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined>;
  /** Newest first (by checkpoint id), across threads and namespaces unless the config names them. */
  list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple>;
  put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig>;
  putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void>;
  /** Deletes the thread's chains, records each deletion in the registry, and removes blobs no live chain uses. */
  deleteThread(threadId: string): Promise<void>;
  /** Integers as LangGraph.js makes them; after a string version (a Python-written thread), Python's form. */
  getNextVersion(current: number | string | undefined): number | string;
}
