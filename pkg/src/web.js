// Browser and bundler entry (ES module): fetches and instantiates the .wasm beside this file.
import init, * as wasm from "./wasm-web/tokenpixel.js";
import { makeApi } from "./api.js";

await init({ module_or_path: new URL("./wasm-web/tokenpixel_bg.wasm", import.meta.url) });
const api = makeApi(wasm);

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
