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
  /** A string sets it; null clears it; omitted carries it forward (as for `context`). */
  intentHash?: string | null;
  /** Events since the previous pixel; defaults to 0. */
  eventDelta?: number;
  stateVector?: Record<string, number>;
}

export interface VerifyError {
  code: ErrorCode;
  index: number;
  line: number | null;
  /** 1-based column (characters) in the line, for syntax and I-JSON errors. */
  column: number | null;
  /** The JSON path inside the pixel (`$.prevHash`, `$.state.x`), where there is one. */
  path: string | null;
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
  | "INVALID_ARGUMENT"
  | "CHAIN_CONFLICT"
  | "STORE_LOCKED"
  | "STORE_IO"
  | "STORE_CORRUPT"
  | "UNSAFE_PATH"
  | "NOT_FOUND"
  | "AMBIGUOUS_KEY"
  | "QUEUE_FULL"
  | "MALFORMED_NOTE"
  | "UNKNOWN_KEY"
  | "BAD_SIGNATURE"
  | "ORIGIN_MISMATCH"
  | "TRUNCATED"
  | "ROOT_MISMATCH"
  | "PROOF_INVALID";

export type ErrorFamily = "json" | "schema" | "chain" | "argument" | "store" | "signature";

/** Every tokenpixel failure; `code` is stable (docs/SPEC.md lists them). */
export class TokenPixelError extends Error {
  constructor(message: string, code: ErrorCode, reason?: string | null);
  readonly code: ErrorCode;
  readonly family: ErrorFamily;
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
  /** Emits the next pixel and returns its canonical line (what a store keeps), no object. */
  emitLine(corridor: string, options?: EmitOptions): string;
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

/** A TokenPixelError for any code (what host stores throw for store codes). */
export function makeError(code: ErrorCode, message: string): TokenPixelError;
/** Throws INVALID_ARGUMENT unless `agentId` may name a chain in a store (SPEC 12.1). */
export function validateAgentId(agentId: string): void;
/** What `get(key)` looks for (SPEC 12.6). */
export function parseKey(key: number | string): { kind: "seq"; seq: number } | { kind: "prefix"; prefix: string };
/** Checks that `line` extends the stored `head` line (SPEC 12.4); returns the pixel. */
export function checkAppend(head: string | null | undefined, anchor: string | null | undefined, line: string, firstSeq?: number | null): TokenPixel;
/** Whether a torn tail is a whole pixel extending `previous` (SPEC 12.5). */
export function classifyTail(previous: string | null | undefined, tail: Uint8Array, anchor?: string | null): boolean;
/** The anchor file's line, without its newline (SPEC 12.2). */
export function anchorRecord(anchor: string, firstSeq: number, prunedAtMs: number, frontier?: string[] | null): string;
/** `{anchor, firstSeq}` from an anchor file's bytes; throws STORE_CORRUPT otherwise. */
export function parseAnchorRecord(bytes: Uint8Array): { anchor: string; firstSeq: number; frontier: string[] | null };
/** The pruned prefix's frontier after a prune removes the pixels with these hashes (null: unknown). */
export function prunedFrontier(record: { firstSeq: number; frontier?: string[] | null } | undefined, hashes: string[]): string[] | null;
/** The longest stored line a store reads (16 MiB). */
export const MAX_LINE_BYTES: number;
/** The PostgreSQL store's schema migrations (SPEC 12.10), in order, from the core. */
export const PG_MIGRATIONS: readonly string[];
/** The advisory lock key the PostgreSQL store's setup() holds (SPEC 12.10). */
export const PG_SETUP_LOCK: number;

// --- signed heads and Merkle proofs (docs/SPEC.md section 14) ------------------------------

/** An Ed25519 note signer (C2SP signed-note; Go's sumdb/note key texts). */
export class NoteSigner {
  /** A signer named `name` from a 32-byte secret seed. */
  constructor(name: string, seed: Uint8Array);
  /** A new signer with a fresh seed from `crypto.getRandomValues`. */
  static generate(name: string): NoteSigner;
  /** Reads a private key text `PRIVATE+KEY+<name>+<id>+<key>`. */
  static fromText(text: string): NoteSigner;
  readonly name: string;
  /** The verifier key text `<name>+<id>+<key>`. */
  readonly verifier: string;
  /** The private key text (keep it secret). */
  toText(): string;
  /** The signed note of `text` (ending in a newline). */
  sign(text: string): string;
}
export interface CheckpointInfo {
  origin: string;
  size: number;
  /** base64 root hash */
  root: string;
  signedBy?: string[];
}
/** A pruned chain's prefix as its anchor record keeps it: its size and frontier (base64 nodes). */
export interface TreePrefix {
  size: number;
  nodes: string[];
}
/** The RFC 9162 root (base64) of the tree whose leaves are these pixel hashes (after `prefix`). */
export function treeRoot(pixelHashes: string[], prefix?: TreePrefix): string;
/** The frontier nodes after appending these pixels to the frontier of `size` leaves. */
export function extendFrontier(size: number, nodes: string[], pixelHashes: string[]): string[];
/** Throws the NOT_FOUND error of `get(agent, key)` (SPEC 12.6): one message in every store. */
export function pixelNotFound(agentId: string, key: string | number): never;
/** A frontier as a store column keeps it (12.10): the checked JSON array of its base64 nodes. */
export function frontierText(firstSeq: number, nodes: string[]): string;
/** A frontier column read back; throws STORE_CORRUPT unless it is one for `firstSeq` pixels. */
export function parseFrontierText(firstSeq: number, text: string): string[];
/** `pixelHashes` are the pixels after `prefix` when it is given (a pruned chain's kept ones). */
export function inclusionProof(pixelHashes: string[], index: number, size: number, prefix?: TreePrefix): string[];
export function consistencyProof(pixelHashes: string[], oldSize: number, newSize: number, prefix?: TreePrefix): string[];
/** Throws PROOF_INVALID unless the proof shows the pixel at `index`. */
export function verifyInclusion(pixelHash: string, index: number, size: number, proof: string[], root: string): void;
export function verifyConsistency(oldSize: number, newSize: number, oldRoot: string, newRoot: string, proof: string[]): void;
export function checkpointText(origin: string, size: number, root: string): string;
export function originFor(log: string, agentId: string): string;
/** A signed checkpoint verified against verifier keys (UNKNOWN_KEY, BAD_SIGNATURE, MALFORMED_NOTE). */
export function openCheckpoint(note: string, verifierKeys: string[]): CheckpointInfo & { signedBy: string[] };
/** A signed checkpoint's body, NOT verified; `signers`: the key names its signature lines give. */
export function readCheckpoint(note: string): CheckpointInfo & { signers: string[] };
export function openNote(note: string, verifierKeys: string[]): { text: string; signedBy: string[] };
/** A verifier key's name and key id; UNKNOWN_KEY for a text that is not a verifier key. */
export function parseVerifierKey(text: string): { name: string; id: number };
export function proofText(index: number, proof: string[], checkpoint: string, line?: string): string;
/** Checks a proof file with the verifier keys alone. */
export function verifyProofText(
  text: string,
  verifierKeys: string[],
  pixelHash?: string,
): { seq: number; size: number; origin: string; signedBy: string[]; line: string | null };

/** The five districts of the convention: `District.DEPLOYMENT === "DISTRICT_5"`. */
export const District: Readonly<{
  INGESTION: "DISTRICT_1";
  LORA_BIAS: "DISTRICT_2";
  ROUTING: "DISTRICT_3";
  EXECUTION: "DISTRICT_4";
  DEPLOYMENT: "DISTRICT_5";
}>;
/** What each district is for, keyed by its value. */
export const DISTRICT_PURPOSE: Readonly<Record<string, string>>;
/** `DISTRICT_<n>.CHAMBER_<X>.NODE_<Y>`, or the stage prefix without `node`. */
export function corridor(district: number | string, chamber: string, node?: string): string;

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
  makeError: typeof makeError;
  validateAgentId: typeof validateAgentId;
  parseKey: typeof parseKey;
  checkAppend: typeof checkAppend;
  classifyTail: typeof classifyTail;
  anchorRecord: typeof anchorRecord;
  parseAnchorRecord: typeof parseAnchorRecord;
  prunedFrontier: typeof prunedFrontier;
  MAX_LINE_BYTES: number;
  NoteSigner: typeof NoteSigner;
  treeRoot: typeof treeRoot;
  extendFrontier: typeof extendFrontier;
  frontierText: typeof frontierText;
  parseFrontierText: typeof parseFrontierText;
  pixelNotFound: typeof pixelNotFound;
  inclusionProof: typeof inclusionProof;
  consistencyProof: typeof consistencyProof;
  verifyInclusion: typeof verifyInclusion;
  verifyConsistency: typeof verifyConsistency;
  checkpointText: typeof checkpointText;
  originFor: typeof originFor;
  openCheckpoint: typeof openCheckpoint;
  readCheckpoint: typeof readCheckpoint;
  openNote: typeof openNote;
  parseVerifierKey: typeof parseVerifierKey;
  proofText: typeof proofText;
  verifyProofText: typeof verifyProofText;
  PG_MIGRATIONS: readonly string[];
  PG_SETUP_LOCK: number;
  District: typeof District;
  DISTRICT_PURPOSE: typeof DISTRICT_PURPOSE;
  corridor: typeof corridor;
  GENESIS_HASH: string;
  SCHEMA_VERSION: number;
  ERROR_CODES: readonly ErrorCode[];
  version: string;
};
export default api;
