// Compiled by `tsc --noEmit`: the declared types fit real use (never executed).
import tp, { Chain, TokenPixelError, verifyJsonl, type TokenPixel, type VerifyReport } from "tokenpixel";
import { JsonlStore } from "tokenpixel/node";

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
const d = tp.diff(pixel, pixel);
const moved: string | undefined = d.corridor?.to;
const text: string = tp.diffText(pixel, pixel) + tp.diffRange([pixel], { text: true });
const summary = tp.summarize(pixel, { level: "minimal", forTask: "terraform", maxTokens: 200 });
const n: number = summary.tokens + tp.estimateTokens(summary.text);
console.log(moved, text, n, summary.sourceHash, d.crossed.length);
