// Types for the signed-heads helpers of `tokenpixel/node` (docs/SPEC.md section 14).
import type { NoteSigner } from "./index.js";

/** Any store of `tokenpixel/node`: JsonlStore, PostgresStore or S3Store. */
type AnyStore = object;

export interface SignedHead {
  agent: string;
  origin: string;
  size: number;
  /** base64 root hash */
  root: string;
  signedBy: string[];
  /** Pixels in the chain: the signed ones and any after them. */
  count: number;
}

/** A new Ed25519 signer named `name`. */
export function keygen(name: string): NoteSigner;
/** Writes the private key file, mode 0600; never overwrites a file (INVALID_ARGUMENT). */
export function writeKey(file: string, signer: NoteSigner): void;
export function readKey(file: string): NoteSigner;
/** The agent's latest signed checkpoint kept in the store (14.5), or undefined. */
export function loadCheckpoint(store: AnyStore, agentId: string): Promise<string | undefined>;
export function saveCheckpoint(store: AnyStore, agentId: string, note: string): Promise<void>;
/** A verified chain as a Merkle tree; a pruned chain's from its prefix's frontier (14.6). */
export interface ChainTree {
  /** The first stored seq: the size of the pruned prefix (0 when not pruned). */
  first: number;
  prefix: { size: number; nodes: string[] } | undefined;
  /** The stored pixels' hashes. */
  hashes: string[];
  size: number;
  root(size: number): string;
  inclusion(seq: number, size: number): string[];
  consistency(oldSize: number, newSize: number): string[];
}
export function chainTree(store: AnyStore, agentId: string): Promise<ChainTree>;
/** The pixel hashes of a verified, unpruned chain, in seq order. */
export function chainHashes(store: AnyStore, agentId: string): Promise<string[]>;
/** Signs a checkpoint of the chain's head (origin `<log>/<agent>`) and keeps it in the store. */
export function signHead(store: AnyStore, agentId: string, signer: NoteSigner, log?: string): Promise<string>;
/** The chain and its signed checkpoint (14.6): TRUNCATED, ROOT_MISMATCH, ORIGIN_MISMATCH, UNKNOWN_KEY, BAD_SIGNATURE. */
export function verifySigned(store: AnyStore, agentId: string, verifierKeys: string[], options?: { note?: string; log?: string }): Promise<SignedHead>;
/** A C2SP tlog-proof of pixel `seq` against the signed checkpoint. */
export function prove(store: AnyStore, agentId: string, seq: number, note?: string): Promise<string>;
export function verifyProof(
  text: string,
  verifierKeys: string[],
  pixelHash?: string,
): { seq: number; size: number; origin: string; signedBy: string[]; line: string | null };
/** Both checkpoints verified and the newer extends the older; resolves to the proof. */
export function checkConsistency(store: AnyStore, agentId: string, older: string, newer: string, verifierKeys: string[]): Promise<string[]>;
