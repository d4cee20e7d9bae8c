// Node ESM entry: the wasm module is loaded synchronously from the package (nodejs target).
import { createRequire } from "node:module";
import { makeApi } from "./api.js";

const require = createRequire(import.meta.url);
const api = makeApi(require("./wasm-node/tokenpixel.js"));

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
  GENESIS_HASH,
  SCHEMA_VERSION,
  ERROR_CODES,
  version,
} = api;
export default api;
