// tokenpixel/node: store URLs (docs/SPEC.md 12.12): one string names any store, as Python's
// tokenpixel.open_store reads it.
import { fileURLToPath } from "node:url";
import { makeError } from "./node.mjs";
import { PostgresStore } from "./pg_store.mjs";
import { S3Store } from "./s3_store.mjs";
import { JsonlStore } from "./store.mjs";

const SCHEMES = "a directory path, file:///dir, sqlite:///path.db (Python only), s3://bucket/prefix, postgresql://... or postgres://...";
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

function argumentError(message) {
  return makeError("INVALID_ARGUMENT", `invalid argument: ${message}`);
}

function decode(text, url) {
  try {
    return decodeURIComponent(text);
  } catch {
    throw argumentError(`${url}: bad percent-encoding`);
  }
}

async function open(url, options) {
  if (url instanceof URL) url = url.href;
  if (typeof url !== "string" || url === "") throw argumentError(`a store URL is a non-empty string (${SCHEMES})`);
  if (options === null || typeof options !== "object") throw argumentError("options must be an object");
  const match = SCHEME.exec(url);
  const scheme = match ? match[1].toLowerCase() : "";
  if (!match || (scheme.length === 1 && process.platform === "win32")) return new JsonlStore(url, options);
  if (scheme === "file") {
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      throw argumentError(`${url}: a file URL names a local path (file:///dir)`);
    }
    if (parsed.hostname !== "" && parsed.hostname !== "localhost") throw argumentError(`${url}: a file URL names a local path (file:///dir)`);
    return new JsonlStore(fileURLToPath(`file://${parsed.pathname}`), options);
  }
  if (scheme === "sqlite") throw argumentError(`${url}: SQLite stores are Python-only for now (tokenpixel.open_store)`);
  if (scheme === "s3") {
    const rest = url.slice("s3://".length);
    if (!url.toLowerCase().startsWith("s3://") || rest === "" || rest.startsWith("/")) {
      throw argumentError(`${url}: write s3://bucket or s3://bucket/prefix`);
    }
    const slash = rest.indexOf("/");
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const prefix = slash === -1 ? "" : decode(rest.slice(slash + 1).replace(/[?#].*$/, ""), url);
    return new S3Store(bucket, prefix, options);
  }
  if (scheme === "postgresql" || scheme === "postgres") {
    const store = new PostgresStore(url, options);
    try {
      await store.setup();
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
    return store;
  }
  throw argumentError(`unknown store URL scheme ${JSON.stringify(scheme)} in ${JSON.stringify(url)}: use ${SCHEMES}`);
}

/**
 * The store a URL names (12.12): a path or `file:///dir` (JsonlStore), `s3://bucket[/prefix]`
 * (S3Store), `postgresql://...` / `postgres://...` (PostgresStore, after `setup()`).
 * `options` go to the store's constructor. Always a promise.
 */
export function openStore(url, options = {}) {
  return open(url, options);
}
