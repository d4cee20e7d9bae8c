import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PKG = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ROOT = path.dirname(PKG);
export const VECTORS = path.join(ROOT, "tests", "vectors");
export const PYTHON = process.env.TOKENPIXEL_PYTHON ?? path.join(ROOT, ".venv", "bin", "python");

export function loadVectors(name) {
  return JSON.parse(fs.readFileSync(path.join(VECTORS, name), "utf8"));
}

/** Replays golden-vector emit steps on a Chain; returns the JSONL text. */
export function runSteps(tp, chain, steps) {
  return steps
    .map(({ corridor, ...options }) => `${tp.toJsonLine(chain.emit(corridor, options))}\n`)
    .join("");
}

export function checkReport(assert, report, expect) {
  assert.equal(report.ok, expect.ok);
  assert.equal(report.count, expect.count);
  assert.equal(report.head, expect.head);
  if (expect.error) {
    assert.equal(report.error.code, expect.error.code);
    assert.equal(report.error.index, expect.error.index);
    assert.equal(report.error.line, expect.error.line);
    assert.equal(report.error.reason, expect.error.reason ?? null);
    assert.ok(report.error.message.length > 0);
  } else {
    assert.equal(report.error, null);
  }
}
