// Types for `tokenpixel/node`: the Node-only JSONL store.
import type { TokenPixel, VerifyReport } from "./index.js";

export interface Recovery {
  agentId: string;
  action: "completed" | "moved";
  byteCount: number;
  savedTo: string | undefined;
}

/** One append-only file per agent (`pixels_<agentId>.jsonl`), the same format as Python's. */
export class JsonlStore implements Iterable<TokenPixel> {
  constructor(directory: string, options?: { fsync?: boolean });
  readonly directory: string;
  readonly recoveries: Recovery[];
  path(agentId: string): string;
  agents(): string[];
  anchor(agentId?: string): string | undefined;
  lines(agentId?: string): string[];
  iter(agentId?: string): Generator<TokenPixel>;
  [Symbol.iterator](): Iterator<TokenPixel>;
  list(agentId?: string, options?: { limit?: number }): TokenPixel[];
  latest(agentId?: string): TokenPixel | undefined;
  get(key: number | string, agentId?: string): TokenPixel | undefined;
  recover(agentId?: string): Recovery | undefined;
  append(pixel: TokenPixel | string): void;
  prune(keep: number, agentId?: string): number;
  verify(agentId?: string): VerifyReport;
}
