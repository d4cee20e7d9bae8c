// `tokenpixel/node`: the Node-only parts of the package: the JSONL store (docs/SPEC.md section
// 12), the Checkpointer with its background writer, and the automatic triggers.
export * from "./store.mjs";
export * from "./checkpointer.mjs";
