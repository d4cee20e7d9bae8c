// Signed heads and Merkle proofs in Node (issue 14, SPEC 14): the interop vectors, and the
// same bytes and results as Python on one chain.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import test from "node:test";
import tp from "tokenpixel";
import { Checkpointer, JsonlStore } from "tokenpixel/node";
import { PYTHON, ROOT } from "./helpers.mjs";

const V = JSON.parse(fs.readFileSync(path.join(ROOT, "tests", "vectors", "tlog.json"), "utf8"));
const C = "DISTRICT_1.CHAMBER_0.NODE_PRE";
const codeOf = (fn) => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof tp.TokenPixelError, String(e));
    return e.code;
  }
  return "no error";
};

test("C2SP and Go notes verify; Go's signature is reproduced byte for byte", () => {
  for (const c of V.notes) {
    if (c.error) assert.equal(codeOf(() => tp.openNote(c.note, c.keys)), c.error, c.desc);
    else assert.deepEqual(tp.openNote(c.note, c.keys).signedBy, c.signedBy, c.desc);
  }
  const go = V.signing[0];
  const signer = tp.NoteSigner.fromText(go.privateKey);
  assert.equal(signer.verifier, go.verifierKey);
  assert.equal(signer.sign(go.text), go.signed);
  assert.equal(signer.toText(), go.privateKey);
});

test("transparency-dev tree roots and a sample of its proofs", () => {
  // Leaves there are arbitrary bytes; ours are pixel hashes, so the proofs are checked through
  // Python-independent identities: every proof we make verifies, and a changed one does not.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-tlog-"));
  const cp = new Checkpointer(new JsonlStore(dir), "tree");
  const hashes = Array.from({ length: 21 }, (_, i) => cp.emit(C, { state: { i } }).hash);
  for (let size = 1; size <= hashes.length; size++) {
    const root = tp.treeRoot(hashes.slice(0, size));
    for (let i = 0; i < size; i++) {
      const proof = tp.inclusionProof(hashes, i, size);
      tp.verifyInclusion(hashes[i], i, size, proof, root);
      if (size > 1) assert.equal(codeOf(() => tp.verifyInclusion(hashes[(i + 1) % size], i, size, proof, root)), "PROOF_INVALID");
    }
    for (let old = 1; old < size; old++) {
      tp.verifyConsistency(old, size, tp.treeRoot(hashes.slice(0, old)), root, tp.consistencyProof(hashes, old, size));
    }
  }
  assert.equal(codeOf(() => tp.verifyConsistency(0, 3, tp.treeRoot([]), tp.treeRoot(hashes.slice(0, 3)), [])), "PROOF_INVALID");
  assert.equal(tp.treeRoot([]), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
});

test("Python signs, Node verifies (and the other way): same roots, notes and proofs", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-tlog-x-"));
  const script = `
import json, sys, tokenpixel as tp
from tokenpixel import signing
store = tp.JsonlStore(sys.argv[1])
cp = tp.Checkpointer(store, "xl", session_id="s")
for i in range(11):
    cp.emit("${C}", state={"i": i}, timestamp_ms=1000 + i)
signer = tp.NoteSigner("example.com/xl", bytes(range(32)))
note = signing.sign_head(store, "xl", signer)
print(json.dumps({"note": note, "vkey": signer.verifier, "proof": signing.prove(store, "xl", 7),
                  "hashes": [p.hash for p in store.list("xl")]}))
`;
  const py = JSON.parse(execFileSync(PYTHON, ["-c", script, dir], { encoding: "utf8" }));
  // Node reads the chain Python wrote and computes the same root and note.
  const store = new JsonlStore(dir);
  const hashes = store.list("xl").map((p) => p.hash);
  assert.deepEqual(hashes, py.hashes);
  const opened = tp.openCheckpoint(py.note, [py.vkey]);
  assert.deepEqual(opened, { origin: "example.com/xl/xl", size: 11, root: tp.treeRoot(hashes), signedBy: ["example.com/xl"] });
  const signer = new tp.NoteSigner("example.com/xl", Uint8Array.from({ length: 32 }, (_, i) => i));
  assert.equal(signer.verifier, py.vkey);
  assert.equal(signer.sign(tp.checkpointText(opened.origin, 11, opened.root)), py.note, "Ed25519 is deterministic");
  // Python's proof file verifies in Node with the key alone; Node's proof file equals it.
  const proved = tp.verifyProofText(py.proof, [py.vkey]);
  assert.equal(proved.seq, 7);
  assert.equal(proved.line, tp.toJsonLine(store.get(7, "xl")));
  const ours = tp.proofText(7, tp.inclusionProof(hashes, 7, 11), py.note, proved.line);
  assert.equal(ours, py.proof);
  // Truncation and bad input have codes.
  assert.equal(codeOf(() => tp.verifyProofText(py.proof.replace("index 7", "index 6"), [py.vkey])), "PROOF_INVALID");
  assert.equal(codeOf(() => tp.openCheckpoint(py.note.replace("\n11\n", "\n10\n"), [py.vkey])), "BAD_SIGNATURE");
  assert.equal(codeOf(() => tp.openCheckpoint(py.note, [tp.NoteSigner.generate("example.com/other").verifier])), "UNKNOWN_KEY");
  assert.equal(codeOf(() => tp.openNote("no blank line\n", [])), "MALFORMED_NOTE");
  assert.equal(codeOf(() => new tp.NoteSigner("bad name", new Uint8Array(32))), "INVALID_ARGUMENT");
  assert.equal(codeOf(() => new tp.NoteSigner("ok", new Uint8Array(31))), "INVALID_ARGUMENT");
});

test("readCheckpoint names the signers without trusting them; parseVerifierKey", () => {
  const a = tp.NoteSigner.generate("example.com/a");
  const b = tp.NoteSigner.generate("example.com/b");
  const body = tp.checkpointText(tp.originFor("example.com/a", "agent-x"), 3, tp.treeRoot(["sha256:" + "1".repeat(64), "sha256:" + "2".repeat(64), "sha256:" + "3".repeat(64)]));
  const once = a.sign(body);
  // A cosigned note: b's signature line appended to a's note.
  const twice = once + b.sign(body).split("\n\n")[1];
  const read = tp.readCheckpoint(twice);
  assert.deepEqual([read.origin, read.size, read.signers], ["example.com/a/agent-x", 3, ["example.com/a", "example.com/b"]]);
  assert.equal(read.signedBy, undefined);
  assert.deepEqual(tp.openCheckpoint(twice, [b.verifier]).signedBy, ["example.com/b"]);
  assert.deepEqual(tp.parseVerifierKey(a.verifier), { name: "example.com/a", id: Number.parseInt(a.verifier.split("+")[1], 16) });
  assert.throws(() => tp.parseVerifierKey("nope"), (err) => err.code === "UNKNOWN_KEY");
  assert.throws(() => tp.parseVerifierKey(a.toText()), (err) => err.code === "UNKNOWN_KEY");
});
