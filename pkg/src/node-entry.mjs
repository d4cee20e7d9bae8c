// `tokenpixel/node`: the Node-only parts of the package: the stores (docs/SPEC.md section 12:
// JSONL files, PostgreSQL, S3, and store URLs), the Checkpointer with its background writer,
// the automatic triggers, and signed heads over the stores (section 14).
export * from "./store.mjs";
export * from "./pg_store.mjs";
export * from "./s3_store.mjs";
export * from "./open_store.mjs";
export * from "./checkpointer.mjs";
export * from "./signing.mjs";
// The PostgreSQL schema (the core's text, the same in every language) and its setup lock key.
export { PG_MIGRATIONS, PG_SETUP_LOCK } from "./node.mjs";
