// Compiled by `tsc --noEmit`: the declared types fit real use (never executed).
import tp, { Chain, TokenPixelError, verifyJsonl, type TokenPixel, type VerifyReport } from "tokenpixel";
import { JsonlStore, type Recovery, type Transaction } from "tokenpixel/node";

const chain = new Chain("agent-7", "session-1");
const pixel: TokenPixel = chain.emit("DISTRICT_2.CHAMBER_LORA.NODE_POST", {
  state: { adapter: "lora-7", docs: ["a", "b"], nested: { ok: true, n: null } },
  stateVector: { psi: 0.9375 },
  autonomyIndex: 0.6,
  context: { tasks: [{ id: "1", status: "done" }], variables: { env: "prod" } },
});
const seq: number = pixel.seq;
const report: VerifyReport = verifyJsonl(tp.toJsonLine(pixel) + "\n", { anchor: undefined });
if (!report.ok && report.error) {
  const where: number | null = report.error.line;
  console.log(report.error.code, where, seq);
}
try {
  tp.canonicalize("{");
} catch (err) {
  if (err instanceof TokenPixelError) console.log(err.code, err.reason);
}
const store = new JsonlStore(".checkpoints", { fsync: true });
store.append(pixel);
const latest: TokenPixel | undefined = store.latest("agent-7");
for (const p of store) console.log(p.hash, latest?.corridor);
const resumed = Chain.resume(store.list("agent-7"), { anchor: store.anchor("agent-7"), sessionId: "s2" });
console.log(resumed.nextSeq, resumed.head?.hash);
const patient = new JsonlStore(".checkpoints", { lockTimeoutMs: 5000 });
const appendedSeq: number = patient.transaction("agent-7", (tx: Transaction) => {
  const head: TokenPixel | undefined = tx.head();
  const next = head ? Chain.resume([head], { anchor: head.prevHash }) : new Chain(tx.agentId);
  const p = next.emit("DISTRICT_2.CHAMBER_LORA.NODE_PRE");
  tx.append(p);
  const anchor: string | undefined = tx.anchor();
  if (anchor) tx.replace([p], anchor);
  return p.seq;
});
const later: Promise<string | undefined> = patient.transaction("agent-7", async (tx) => tx.head()?.hash);
for (const line of patient.lines("agent-7")) console.log(line.length, appendedSeq, later);
const byKey: TokenPixel = patient.get("sha256:3fa9", "agent-7");
const recovered: Recovery | undefined = patient.recover("agent-7");
const removed: number = patient.prune(10, "agent-7");
console.log(byKey.seq, recovered?.savedTo, removed, [...patient.iter("agent-7")].length);
const d = tp.diff(pixel, pixel);
const moved: string | undefined = d.corridor?.to;
const text: string = tp.diffText(pixel, pixel) + tp.diffRange([pixel], { text: true });
const summary = tp.summarize(pixel, { level: "minimal", forTask: "terraform", maxTokens: 200 });
const n: number = summary.tokens + tp.estimateTokens(summary.text);
console.log(moved, text, n, summary.sourceHash, d.crossed.length);

// The Checkpointer and triggers of tokenpixel/node (issue 10).
import { Checkpointer, EventTriggeredCheckpointer, PeriodicCheckpointer } from "tokenpixel/node";
import type { CheckpointEvent } from "tokenpixel/node";
async function checkpointerTypes(store: JsonlStore): Promise<void> {
  const cp = new Checkpointer(store, "agent-1", { background: true, queueSize: 64, onFull: "throw" });
  cp.addListener((e: CheckpointEvent) => void e.metadata.sizeBytes);
  const p = cp.emit("DISTRICT_1.CHAMBER_0.NODE_PRE", { state: { n: 1 }, intentHash: null });
  const n: number = await cp.stage("DISTRICT_2.CHAMBER_LORA", async (st) => {
    st.state = { drift: 0.1 };
    st.update({ autonomyIndex: 0.5 });
    return p.seq;
  });
  const timer = new PeriodicCheckpointer(cp, 1000, { state: () => ({ n }) }).start();
  timer.stop();
  new EventTriggeredCheckpointer(cp).handle("ANOMALY_DETECTED", { n });
  await cp.close();
}
void checkpointerTypes;

// Signed heads over the stores (issue 14).
import { keygen, signHead, verifySigned, prove, verifyProof, type SignedHead } from "tokenpixel/node";
async function signedHeads(store: JsonlStore): Promise<number> {
  const signer = keygen("example.com/ci");
  const note: string = await signHead(store, "agent-7", signer);
  const head: SignedHead = await verifySigned(store, "agent-7", [signer.verifier], { note });
  const proved = verifyProof(await prove(store, "agent-7", 0), [signer.verifier]);
  const signers: string[] = tp.readCheckpoint(note).signers;
  return head.size + proved.seq + signers.length + tp.parseVerifierKey(signer.verifier).id;
}
void signedHeads;
