// Types for the npm package `tokenpixel` (checked by `tsc --noEmit` in the tests).

/** A JSON value as tokenpixel accepts it: plain objects, arrays, strings, finite numbers, booleans, null. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A pixel in its JSON shape (schema v1, docs/SPEC.md). */
export interface TokenPixel {
  schema: 1;
  seq: number;
  agentId: string;
  sessionId: string;
  corridor: string;
  timestampMs: number;
  autonomyIndex: number;
  intentHash: string | null;
  eventDelta: number;
  stateVector: Record<string, number>;
  state: { [key: string]: Json };
  context: Context | null;
  stateHash: string;
  prevHash: string;
  hash: string;
}

/** The optional working context of a pixel. */
export interface Context {
  phase?: { name: string; number?: number; status?: string; startedAt?: string | null; notes?: string | null; [key: string]: Json | undefined } | null;
  phasesCompleted?: number[];
  tasks?: Array<{ id: string; status: string; subject?: string; owner?: string | null; blocks?: string[]; blockedBy?: string[]; [key: string]: Json | undefined }>;
  activeTaskId?: string | null;
  dependencies?: Array<{ name: string; status: string; type?: string; endpoint?: string | null; lastChecked?: string | null; [key: string]: Json | undefined }>;
  variables?: { [key: string]: Json };
  recentOutputs?: Array<{ [key: string]: Json }>;
  notes?: string | null;
  agentTier?: number | null;
}

/** What changes at one step; omitted surface values carry forward from the previous pixel. */
export interface EmitOptions {
  state?: { [key: string]: Json };
  context?: Context | null;
  /** Unix milliseconds; defaults to now (never before the previous pixel). */
  timestampMs?: number;
  autonomyIndex?: number;
  intentHash?: string;
  /** Events since the previous pixel; defaults to 0. */
  eventDelta?: number;
  stateVector?: Record<string, number>;
}

export interface VerifyError {
  code: ErrorCode;
  index: number;
  line: number | null;
  message: string;
  reason: string | null;
}

export interface VerifyReport {
  ok: boolean;
  count: number;
  head: string;
  error: VerifyError | null;
}

export type ErrorCode =
  | "MALFORMED_JSON"
  | "NOT_I_JSON"
  | "LIMIT_EXCEEDED"
  | "UNSUPPORTED_TYPE"
  | "NOT_CANONICAL"
  | "SCHEMA_VIOLATION"
  | "UNKNOWN_SCHEMA_VERSION"
  | "INVALID_CORRIDOR"
  | "HASH_MISMATCH"
  | "STATE_HASH_MISMATCH"
  | "BROKEN_LINK"
  | "SEQUENCE_GAP"
  | "AGENT_CHANGED"
  | "TIME_REVERSED"
  | "NOT_GENESIS"
  | "ANCHOR_MISMATCH"
  | "INVALID_ARGUMENT";

/** Every tokenpixel failure; `code` is stable (docs/SPEC.md lists them). */
export class TokenPixelError extends Error {
  readonly code: ErrorCode;
  /** For NOT_I_JSON: DUPLICATE_KEY, LONE_SURROGATE, ... */
  readonly reason: string | null;
}

export type PixelLike = TokenPixel | string;

export interface AnchorOptions {
  /** The trusted hash a pruned chain's first pixel links to. */
  anchor?: string;
}

/** RFC 8785 canonical form of a JSON text. */
export function canonicalize(text: string): string;
/** RFC 8785 canonical form of a plain JS value. */
export function canonicalJson(value: Json): string;
/** The canonical JSONL line of a pixel. */
export function toJsonLine(pixel: PixelLike): string;
/** Verifies pixels in order; bad items are reported, not thrown. */
export function verify(pixels: PixelLike[], options?: AnchorOptions): VerifyReport;
/** Verifies JSONL text or bytes (one canonical pixel per line). */
export function verifyJsonl(data: string | Uint8Array, options?: AnchorOptions): VerifyReport;

/** An emitter for one agent's chain; it keeps only the newest pixel. */
export class Chain {
  constructor(agentId: string, sessionId?: string);
  static resume(pixels: PixelLike[], options?: AnchorOptions & { sessionId?: string }): Chain;
  emit(corridor: string, options?: EmitOptions): TokenPixel;
  readonly agentId: string;
  readonly sessionId: string;
  readonly nextSeq: number;
  readonly headHash: string;
  readonly head: TokenPixel | undefined;
}

/** A streaming JSONL verifier. */
export class JsonlVerifier {
  constructor(options?: AnchorOptions);
  feed(chunk: Uint8Array): void;
  readonly failed: boolean;
  readonly count: number;
  finish(): VerifyReport;
}

/** A diff in its JSON form (docs/SPEC.md, "Diff"). */
export interface Diff {
  from: { seq: number; hash: string; corridor: string; timestampMs: number; stateHash: string };
  to: { seq: number; hash: string; corridor: string; timestampMs: number; stateHash: string };
  sameState: boolean;
  corridor: { from: string; to: string } | null;
  crossed: string[];
  stateVector: Array<{ name: string; from: number | null; to: number | null; delta: number | null }>;
  autonomyIndex: { from: number; to: number; delta: number } | null;
  intentHash: { from: string | null; to: string | null } | null;
  state: Array<{ path: string; change: "added" | "removed" | "changed"; old?: Json; new?: Json }>;
  context: { [key: string]: Json };
}

export interface SummaryOptions {
  level?: "minimal" | "compact" | "standard" | "full";
  /** terraform/ansible/infrastructure, database/query/ledger, promotion/revocation/governance, ... */
  forTask?: string;
  relevantKeys?: string[];
  /** Hard cap on estimated tokens. */
  maxTokens?: number;
}

export interface Summary {
  text: string;
  tokens: number;
  sourceHash: string;
  level: "minimal" | "compact" | "standard" | "full";
  focus: "infrastructure" | "data" | "governance" | "generic";
  omitted: string[];
}

export function diff(a: PixelLike, b: PixelLike): Diff;
export function diffText(a: PixelLike, b: PixelLike): string;
export function diffRange(pixels: PixelLike[]): Diff;
export function diffRange(pixels: PixelLike[], options: { text: true }): string;
export function summarize(pixel: PixelLike, options?: SummaryOptions): Summary;
export function estimateTokens(text: string): number;

export const GENESIS_HASH: string;
export const SCHEMA_VERSION: number;
export const ERROR_CODES: readonly ErrorCode[];
export const version: string;

declare const api: {
  diff: typeof diff;
  diffText: typeof diffText;
  diffRange: typeof diffRange;
  summarize: typeof summarize;
  estimateTokens: typeof estimateTokens;
  canonicalize: typeof canonicalize;
  canonicalJson: typeof canonicalJson;
  toJsonLine: typeof toJsonLine;
  verify: typeof verify;
  verifyJsonl: typeof verifyJsonl;
  Chain: typeof Chain;
  JsonlVerifier: typeof JsonlVerifier;
  TokenPixelError: typeof TokenPixelError;
  GENESIS_HASH: string;
  SCHEMA_VERSION: number;
  ERROR_CODES: readonly ErrorCode[];
  version: string;
};
export default api;
