// Signed heads over Node stores (tokenpixel/node: keygen, signHead, verifySigned, prove...) and
// `npx tokenpixel keygen | sign | verify --key | prove | verify-proof | consistency`, checked
// against the Python CLI and library on the same stores: JSONL, PostgreSQL and S3.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import test from "node:test";
import { S3Client } from "@aws-sdk/client-s3";
import tp from "tokenpixel";
import { JsonlStore, PostgresStore, S3Store, chainHashes, checkConsistency, keygen, loadCheckpoint, prove, readKey, signHead, verifyProof, verifySigned, writeKey } from "tokenpixel/node";
import { PKG, PYTHON } from "./helpers.mjs";

const C = "DISTRICT_5.CHAMBER_DEPLOY.NODE_POST";
const CLI = path.join(PKG, "dist", "cli.mjs");
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "tp-sign-"));
const node = (args, cwd) => spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8" });
const python = (args, cwd) => spawnSync(PYTHON, ["-m", "tokenpixel", ...args], { cwd, encoding: "utf8" });

async function codeOf(promise) {
  try {
    await promise;
  } catch (err) {
    return err.code;
  }
  return "no error";
}

function fillJsonl(dir, agent, n) {
  const store = new JsonlStore(dir);
  const chain = new tp.Chain(agent, "sign");
  for (let i = 0; i < n; i++) store.append(chain.emit(C, { state: { i }, timestampMs: 1000 + i }));
  return store;
}

test("key files: mode 0600, never overwritten, read back", () => {
  const dir = tmp();
  const file = path.join(dir, "ci.key");
  const signer = keygen("example.com/ci");
  writeKey(file, signer);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(readKey(file).verifier, signer.verifier);
  assert.throws(() => writeKey(file, keygen("example.com/ci")), (err) => err.code === "INVALID_ARGUMENT" && /never overwritten/.test(err.message));
  assert.equal(readKey(file).verifier, signer.verifier);
});

test("JSONL: sign, verify, truncation, rewrite, wrong key, proofs, consistency", async () => {
  const dir = tmp();
  const store = fillJsonl(dir, "deploy", 12);
  const signer = keygen("example.com/ci");
  const first = await signHead(store, "deploy", signer);
  assert.equal(await loadCheckpoint(store, "deploy"), first);
  assert.equal(fs.readFileSync(path.join(dir, "pixels_deploy.tlog-checkpoint"), "utf8"), first);
  const head = await verifySigned(store, "deploy", [signer.verifier]);
  assert.deepEqual(head, { agent: "deploy", origin: "example.com/ci/deploy", size: 12, root: tp.treeRoot(await chainHashes(store, "deploy")), signedBy: ["example.com/ci"], count: 12 });
  // Pixels after the signed size are allowed; a newer checkpoint extends the older.
  const chain = tp.Chain.resume([store.latest("deploy")], { anchor: store.latest("deploy").prevHash });
  for (let i = 0; i < 5; i++) store.append(chain.emit(C, { state: { more: i } }));
  assert.equal((await verifySigned(store, "deploy", [signer.verifier])).count, 17);
  const second = await signHead(store, "deploy", signer);
  const proof = await checkConsistency(store, "deploy", first, second, [signer.verifier]);
  tp.verifyConsistency(12, 17, tp.readCheckpoint(first).root, tp.readCheckpoint(second).root, proof);
  // One pixel, proven without the chain.
  const text = await prove(store, "deploy", 7);
  const proved = verifyProof(text, [signer.verifier]);
  assert.deepEqual([proved.seq, proved.size, proved.line], [7, 17, tp.toJsonLine(store.get(7, "deploy"))]);
  assert.equal(await codeOf(prove(store, "deploy", 17)), "INVALID_ARGUMENT");
  // Cut the last pixels: the chain still verifies, the signed checkpoint says TRUNCATED.
  const file = store.path("deploy");
  const whole = fs.readFileSync(file, "utf8");
  fs.writeFileSync(file, whole.split("\n").slice(0, 14).join("\n") + "\n");
  assert.equal(store.verify("deploy").ok, true);
  assert.equal(await codeOf(verifySigned(store, "deploy", [signer.verifier])), "TRUNCATED");
  // Replace the chain by another of the same length: ROOT_MISMATCH.
  fs.rmSync(file);
  const other = fillJsonl(dir, "deploy", 17);
  assert.equal(await codeOf(verifySigned(other, "deploy", [signer.verifier])), "ROOT_MISMATCH");
  fs.writeFileSync(file, whole);
  assert.equal(await codeOf(verifySigned(store, "deploy", [keygen("example.com/ci").verifier])), "UNKNOWN_KEY");
  assert.equal(await codeOf(verifySigned(store, "deploy", [signer.verifier], { log: "example.com/other" })), "ORIGIN_MISMATCH");
  assert.equal(await codeOf(verifySigned(store, "deploy", [signer.verifier], { note: second.replace("\n17\n", "\n16\n") })), "BAD_SIGNATURE");
  // A pruned chain keeps its prefix's frontier: the checkpoint still verifies (SPEC 14.6).
  store.prune(3, "deploy");
  assert.equal((await verifySigned(store, "deploy", [signer.verifier])).size, 17);
});

test("the Node CLI and the Python CLI: same commands, same outputs, each verifies the other's", () => {
  const dir = tmp();
  const store = path.join(dir, "store");
  fillJsonl(store, "deploy", 9);
  // Node makes the key and signs; Python verifies (and the other way round).
  const keygenNode = node(["keygen", "--name", "example.com/node", "--out", path.join(dir, "node.key")], dir);
  assert.equal(keygenNode.status, 0, keygenNode.stderr);
  const vkeyNode = keygenNode.stdout.trim();
  assert.match(keygenNode.stderr, /private key written to .*node\.key \(mode 0600\): keep it secret/);
  assert.equal(node(["keygen", "--name", "example.com/node", "--out", path.join(dir, "node.key")], dir).status, 2);
  const signed = node(["--store", store, "sign", "--key", path.join(dir, "node.key")], dir);
  assert.equal(signed.status, 0, signed.stderr);
  assert.equal(signed.stdout, fs.readFileSync(path.join(store, "pixels_deploy.tlog-checkpoint"), "utf8"));
  for (const cli of [node, python]) {
    const r = cli(["--store", store, "verify", "--key", vkeyNode], dir);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^OK {4}deploy: signed by example\.com\/node at size 9 \(root [A-Za-z0-9+/=]+\)\n$/);
  }
  const fromNode = node(["--store", store, "verify", "--key", vkeyNode], dir).stdout;
  assert.equal(python(["--store", store, "verify", "--key", vkeyNode], dir).stdout, fromNode);
  // Python signs; Node verifies; both prove a pixel with byte-identical proof files.
  const keygenPy = python(["keygen", "--name", "example.com/py", "--out", path.join(dir, "py.key")], dir);
  assert.equal(keygenPy.status, 0, keygenPy.stderr);
  const vkeyPy = keygenPy.stdout.trim();
  assert.equal(python(["--store", store, "sign", "--key", path.join(dir, "py.key")], dir).status, 0);
  assert.equal(node(["--store", store, "verify", "--key", vkeyPy], dir).stdout, python(["--store", store, "verify", "--key", vkeyPy], dir).stdout);
  const proofNode = node(["--store", store, "prove", "--seq", "4"], dir);
  const proofPy = python(["--store", store, "prove", "--seq", "4"], dir);
  assert.equal(proofNode.status, 0, proofNode.stderr);
  assert.equal(proofNode.stdout, proofPy.stdout);
  fs.writeFileSync(path.join(dir, "p4.tlog-proof"), proofNode.stdout);
  const checked = [node, python].map((cli) => cli(["verify-proof", path.join(dir, "p4.tlog-proof"), "--key", vkeyPy], dir));
  assert.deepEqual(checked.map((r) => r.status), [0, 0]);
  assert.equal(checked[0].stdout, checked[1].stdout);
  assert.match(checked[0].stdout, /^OK {4}.*p4\.tlog-proof: seq 4 is in example\.com\/py\/deploy at size 9, signed by example\.com\/py\n$/);
  const wrongKey = [node, python].map((cli) => cli(["verify-proof", path.join(dir, "p4.tlog-proof"), "--key", vkeyNode], dir));
  assert.deepEqual(wrongKey.map((r) => r.status), [1, 1]);
  assert.equal(wrongKey[0].stdout, wrongKey[1].stdout);
  // Consistency between two checkpoints files, and truncation caught by both CLIs (exit 1).
  const older = path.join(dir, "older.note");
  fs.copyFileSync(path.join(store, "pixels_deploy.tlog-checkpoint"), older);
  const s = new JsonlStore(store);
  const chain = tp.Chain.resume([s.latest("deploy")], { anchor: s.latest("deploy").prevHash });
  for (let i = 0; i < 4; i++) s.append(chain.emit(C, { state: { later: i } }));
  assert.equal(node(["--store", store, "sign", "--key", path.join(dir, "py.key")], dir).status, 0);
  const newer = path.join(dir, "newer.note");
  fs.copyFileSync(path.join(store, "pixels_deploy.tlog-checkpoint"), newer);
  const cons = [node, python].map((cli) => cli(["--store", store, "consistency", older, newer, "--key", vkeyPy], dir));
  assert.deepEqual(cons.map((r) => r.status), [0, 0], cons.map((r) => r.stdout + r.stderr).join("\n"));
  assert.equal(cons[0].stdout, cons[1].stdout);
  const file = path.join(store, "pixels_deploy.jsonl");
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").split("\n").slice(0, 10).join("\n") + "\n");
  const cut = [node, python].map((cli) => cli(["--store", store, "verify", "--key", vkeyPy], dir));
  assert.deepEqual(cut.map((r) => r.status), [1, 1]);
  assert.equal(cut[0].stdout, cut[1].stdout);
  assert.match(cut[0].stdout, /^FAIL  deploy: TRUNCATED: the chain of deploy has 10 pixels, the signed checkpoint 13/);
  // Usage errors exit 2.
  assert.equal(node(["--store", store, "prove"], dir).status, 2);
  assert.equal(node(["keygen"], dir).status, 2);
});

test("PostgreSQL and S3: Node signs, Python verifies the same stored checkpoint, and back", async () => {
  const pgUrl = process.env.TOKENPIXEL_TEST_PG;
  const s3 = process.env.TOKENPIXEL_TEST_S3;
  const bucket = process.env.TOKENPIXEL_TEST_BUCKET;
  assert.ok(pgUrl && s3 && bucket, "TOKENPIXEL_TEST_PG/S3/BUCKET are not set: run under `python tests/servers/servers.py run -- ...` (make test does)");
  const prefix = `sign-${process.pid}-${Date.now()}`;
  const client = new S3Client({ endpoint: s3, forcePathStyle: true, region: "us-east-1" });
  const stores = [
    [new PostgresStore(pgUrl), pgUrl],
    [new S3Store(bucket, prefix, { client }), `s3://${bucket}/${prefix}`],
  ];
  try {
    for (const [store, url] of stores) {
      await store.setup?.();
      const agent = `signed-${process.pid}-${stores.findIndex(([s]) => s === store)}`;
      const chain = new tp.Chain(agent, "sign");
      for (let i = 0; i < 6; i++) await store.append(chain.emit(C, { state: { i } }));
      const signer = keygen("example.com/fleet");
      const note = await signHead(store, agent, signer);
      assert.equal(await loadCheckpoint(store, agent), note);
      const script = `
import sys, tokenpixel as tp
from tokenpixel import signing
store = tp.open_store(sys.argv[1])
head = signing.verify_signed(store, sys.argv[2], [sys.argv[3]])
print(head.size, ",".join(head.signed_by), signing.load_checkpoint(store, sys.argv[2]) == sys.argv[4])
py = tp.NoteSigner("example.com/py", bytes(32))
signing.sign_head(store, sys.argv[2], py)
print(py.verifier)
`;
      const out = execFileSync(PYTHON, ["-c", script, url, agent, signer.verifier, note], {
        encoding: "utf8",
        env: { ...process.env, AWS_ENDPOINT_URL_S3: s3 },
      }).split("\n");
      assert.equal(out[0], "6 example.com/fleet True", url);
      assert.equal((await verifySigned(store, agent, [out[1]])).signedBy[0], "example.com/py");
      assert.equal(await codeOf(verifySigned(store, agent, [signer.verifier])), "UNKNOWN_KEY"); // Python's replaced it
    }
  } finally {
    for (const [store] of stores) await store.close?.();
  }
});

test("pruned chains keep their signed heads in Node, and across languages on every store", async () => {
  // JSONL in Node: prune, then the checkpoint signed before still verifies; proofs of kept pixels.
  const dir = tmp();
  const store = fillJsonl(dir, "pruned", 30);
  const signer = keygen("example.com/prune");
  const note = await signHead(store, "pruned", signer);
  const all = store.list("pruned").map((p) => p.hash);
  assert.equal(store.prune(9, "pruned"), 21);
  const record = store.anchorRecord("pruned");
  assert.equal(record.firstSeq, 21);
  assert.deepEqual(record.frontier, tp.extendFrontier(0, [], all.slice(0, 21)));
  assert.equal((await verifySigned(store, "pruned", [signer.verifier], { note })).size, 30);
  const proof = await prove(store, "pruned", 25, note);
  for (const h of tp.inclusionProof(all, 25, 30)) assert.ok(proof.includes(`\n${h}\n`));
  assert.equal(verifyProof(proof, [signer.verifier]).seq, 25);
  assert.equal(await codeOf(prove(store, "pruned", 3, note)), "INVALID_ARGUMENT");
  // Python reads Node's anchor record and verifies the same checkpoint.
  const py = python(["--store", dir, "--agent", "pruned", "verify", "--key", signer.verifier], dir);
  assert.equal(py.status, 0, py.stdout + py.stderr);
  assert.match(py.stdout, /^OK {4}pruned: signed by example\.com\/prune at size 30/);
  // PostgreSQL and S3: Python prunes and signs, Node verifies; Node prunes, Python verifies.
  const pgUrl = process.env.TOKENPIXEL_TEST_PG;
  const s3 = process.env.TOKENPIXEL_TEST_S3;
  const bucket = process.env.TOKENPIXEL_TEST_BUCKET;
  assert.ok(pgUrl && s3 && bucket, "run under tests/servers/servers.py (make test does)");
  const prefix = `prune-${process.pid}-${Date.now()}`;
  const client = new S3Client({ endpoint: s3, forcePathStyle: true, region: "us-east-1" });
  for (const [shared, url] of [
    [new PostgresStore(pgUrl), pgUrl],
    [new S3Store(bucket, prefix, { client }), `s3://${bucket}/${prefix}`],
  ]) {
    try {
      await shared.setup?.();
      const agent = `pruned-${process.pid}-${url.startsWith("s3") ? "s3" : "pg"}`;
      const script = `
import sys, tokenpixel as tp
from tokenpixel import signing
store = tp.open_store(sys.argv[1])
cp = tp.Checkpointer(store, sys.argv[2])
for i in range(12):
    cp.emit("${C}", state={"i": i})
signer = tp.NoteSigner("example.com/py", bytes(32))
signing.sign_head(store, sys.argv[2], signer)
store.prune(5, sys.argv[2])
print(signer.verifier)
`;
      const vkey = execFileSync(PYTHON, ["-c", script, url, agent], { encoding: "utf8", env: { ...process.env, AWS_ENDPOINT_URL_S3: s3 } }).trim();
      assert.equal((await shared.anchorRecord(agent)).firstSeq, 7);
      assert.equal((await verifySigned(shared, agent, [vkey])).size, 12, url);
      const chain = tp.Chain.resume([await shared.latest(agent)], { anchor: (await shared.latest(agent)).prevHash });
      for (let i = 0; i < 4; i++) await shared.append(chain.emit(C, { state: { node: i } }));
      assert.equal(await shared.prune(5, agent), 4); // 16 pixels, 7 pruned before: 11 now
      const after = await shared.anchorRecord(agent);
      assert.equal(after.firstSeq, 11);
      assert.equal(after.frontier.length, 3); // 11 = 8 + 2 + 1
      const check = `
import sys, tokenpixel as tp
from tokenpixel import signing
print(signing.verify_signed(tp.open_store(sys.argv[1]), sys.argv[2], [sys.argv[3]]).size)
`;
      const size = execFileSync(PYTHON, ["-c", check, url, agent, vkey], { encoding: "utf8", env: { ...process.env, AWS_ENDPOINT_URL_S3: s3 } }).trim();
      assert.equal(size, "12", url);
      // A copy made with tx.replace(lines, anchor, frontier), as `tokenpixel sync` makes it,
      // keeps the frontier: the checkpoint signed on the source verifies on the copy.
      const lines = [];
      for await (const line of shared.lines(agent)) lines.push(line);
      const copy = new JsonlStore(tmp());
      copy.transaction(agent, (tx) => tx.replace(lines, after.anchor, after.frontier));
      assert.deepEqual(copy.anchorRecord(agent), after);
      const copied = await verifySigned(copy, agent, [vkey], { note: await loadCheckpoint(shared, agent) });
      assert.equal(copied.size, 12);
      assert.throws(() => copy.transaction(agent, (tx) => tx.replace(lines, null, after.frontier)), (err) => err.code === "INVALID_ARGUMENT");
    } finally {
      await shared.close?.();
    }
  }
});
