// The five districts of the CI/CD seed, checkpointed from Node: the same stages as
// examples/districts/pipeline.py, with a background writer.
//   node examples/districts/pipeline.mjs [STORE]      (default .checkpoints)
// (`npm install` in examples/ first: it links the local package.)
import crypto from "node:crypto";
import { District, corridor } from "tokenpixel";
import { Checkpointer, JsonlStore } from "tokenpixel/node";

const AGENT = "districts-agent-node";
const store = new JsonlStore(process.argv[2] ?? ".checkpoints");
const cp = new Checkpointer(store, AGENT, { sessionId: "districts-run-node", background: true });

await cp.stage(corridor(District.INGESTION, "0"), async (st) => {
  st.state = { documents: ["runbook.md", "incident-42.md", "architecture.md"], chunks: 42 };
  st.context = { phase: { name: "Ingestion", number: 1, status: "completed" } };
});
let psi = 1;
await cp.stage(corridor(District.LORA_BIAS, "LORA"), async (st) => {
  const drift = 0.0625;
  psi = Math.max(0, psi - drift);
  st.state = { adapter: "lora-r8", drift };
  st.update({ stateVector: { psi, omega: 0 } });
});
const intent = "deploy";
const chamber = "exec-gpu-1"; // a dynamic chamber id
await cp.stage(corridor(District.ROUTING, "ROUTER"), async (st) => {
  st.state = { query: "deploy the new build", intent, chamber };
  st.update({ intentHash: `sha256:${crypto.createHash("sha256").update(intent).digest("hex")}`, autonomyIndex: 0.75 });
});
cp.emit(corridor(District.ROUTING, chamber, "POST"), { state: { routedTo: chamber } });
await cp.stage(corridor(District.EXECUTION, "EXEC"), async (st) => {
  await new Promise((resolve) => setTimeout(resolve, 10)); // the task itself
  const output = `built app-1.4.2.tgz on ${chamber}`;
  st.state = { output, outputSize: output.length };
  st.update({ eventDelta: 1 });
});
const deployed = [];
for (const [i, target] of ["EDGE", "EU"].entries()) {
  cp.emit(corridor(District.DEPLOYMENT, "DEPLOY", `${target}_PRE`));
  deployed.push(`${target.toLowerCase()}-deploy-${i + 1}`);
  cp.emit(corridor(District.DEPLOYMENT, "DEPLOY", `${target}_POST`), {
    state: { deployments: [...deployed] },
    stateVector: { psi: 0.9375, omega: i + 1 },
  });
}
await cp.close();
const report = store.verify(AGENT);
console.log(`${AGENT}: ${report.count} pixels, verified ${report.ok}, head ${report.head}`);
for (const p of store.list(AGENT)) console.log(`  ${String(p.seq).padStart(2)}  ${p.corridor}`);
