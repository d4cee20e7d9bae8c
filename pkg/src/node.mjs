// Node ESM entry. It loads the CommonJS entry, so ESM and CJS users in one process share one
// wasm instance and one API (one TokenPixelError class: `instanceof` works across both).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const api = require("./node.cjs");

export const {
  diff,
  diffText,
  diffRange,
  summarize,
  estimateTokens,
  canonicalize,
  canonicalJson,
  toJsonLine,
  verify,
  verifyJsonl,
  Chain,
  JsonlVerifier,
  TokenPixelError,
  makeError,
  validateAgentId,
  parseKey,
  checkAppend,
  classifyTail,
  anchorRecord,
  parseAnchorRecord,
  MAX_LINE_BYTES,
  NoteSigner,
  treeRoot,
  inclusionProof,
  consistencyProof,
  verifyInclusion,
  verifyConsistency,
  checkpointText,
  originFor,
  openCheckpoint,
  readCheckpoint,
  openNote,
  parseVerifierKey,
  proofText,
  verifyProofText,
  PG_MIGRATIONS,
  PG_SETUP_LOCK,
  District,
  DISTRICT_PURPOSE,
  corridor,
  GENESIS_HASH,
  SCHEMA_VERSION,
  ERROR_CODES,
  version,
} = api;
export default api;
