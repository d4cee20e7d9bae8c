// A Node pipeline job that continues the chain `make demo` wrote: it verifies the stored
// chain, resumes it in a new session, checkpoints an audit stage and a release stage, and
// verifies again. Run after `make demo`:  node examples/node_pipeline.mjs [STORE_DIR]
import { Chain, verifyJsonl } from "tokenpixel";
import { JsonlStore } from "tokenpixel/node";
import fs from "node:fs";

const dir = process.argv[2] ?? ".checkpoints";
const agent = "demo-agent";
const store = new JsonlStore(dir);

const before = store.verify(agent);
if (!before.ok) {
  console.error(`the stored chain does not verify: ${before.error.code} at pixel ${before.error.index}`);
  process.exit(1);
}
console.log(`verified ${before.count} pixels written by Python; head ${before.head}`);

const chain = Chain.resume(store.list(agent), { anchor: store.anchor(agent), sessionId: `node-${process.pid}` });
const head = chain.head;
for (const [node, extra] of [
  ["PRE", {}],
  ["POST", { audited: true, findings: 0 }],
]) {
  const pixel = chain.emit(`DISTRICT_6.CHAMBER_AUDIT.NODE_${node}`, {
    state: { ...head.state, ...extra },
    eventDelta: node === "POST" ? 1 : 0,
  });
  store.append(pixel);
  console.log(`  checkpoint ${pixel.hash.slice(7, 19)}  seq ${String(pixel.seq).padStart(2)}  ${pixel.corridor}`);
}

const after = verifyJsonl(fs.readFileSync(store.path(agent)), { anchor: store.anchor(agent) });
console.log(`verified: ${after.ok}, ${after.count} pixels, head ${after.head}`);
process.exit(after.ok ? 0 : 1);
