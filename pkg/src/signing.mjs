// Signed heads over Node stores (docs/SPEC.md section 14): key files, the checkpoint each store
// keeps beside a chain (14.5), signing the head, verifying a chain against its signed
// checkpoint (14.6), proofs. The same files, rows and objects as Python's tokenpixel.signing;
// the formats and every check are the core's (wasm).
import fs from "node:fs";
import path from "node:path";
import {
  NoteSigner,
  checkpointText,
  consistencyProof,
  inclusionProof,
  makeError,
  openCheckpoint,
  originFor,
  proofText,
  readCheckpoint,
  toJsonLine,
  treeRoot,
  validateAgentId,
  verifyConsistency,
  verifyProofText,
} from "./node.mjs";

/** A new Ed25519 signer named `name` (a fresh secret seed from crypto.getRandomValues). */
export function keygen(name) {
  return NoteSigner.generate(name);
}

/** Writes the private key file, mode 0600; never overwrites a file (INVALID_ARGUMENT). */
export function writeKey(file, signer) {
  let fd;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0), 0o600);
  } catch (err) {
    if (err.code === "EEXIST") throw makeError("INVALID_ARGUMENT", `${file} exists: a key file is never overwritten`);
    throw makeError("INVALID_ARGUMENT", `cannot write the key file ${file}: ${err.message}`);
  }
  try {
    fs.writeSync(fd, `${signer.toText()}\n`);
  } finally {
    fs.closeSync(fd);
  }
}

export function readKey(file) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw makeError("INVALID_ARGUMENT", `cannot read the key file ${file}: ${err.message}`);
  }
  return NoteSigner.fromText(text.trim());
}

// -- where a store keeps its latest signed checkpoint (14.5) ------------------------------------

/** A JSONL store (files in a directory), by shape, so that two copies of the package agree. */
export const isFileStore = (store) => typeof store.directory === "string" && typeof store.path === "function";
const isPgStore = (store) => Boolean(store.pool) && typeof store.pool.query === "function";
const isS3Store = (store) => typeof store._get === "function" && typeof store._put === "function" && typeof store.prefix === "string";
const PG_TABLE = "CREATE TABLE IF NOT EXISTS tokenpixel_checkpoints (agent_id text PRIMARY KEY, note text NOT NULL)";

/** The agent's latest signed checkpoint, or undefined. */
export async function loadCheckpoint(store, agent) {
  validateAgentId(agent);
  if (isFileStore(store)) {
    const file = path.join(store.directory, `pixels_${agent}.tlog-checkpoint`);
    try {
      if (!fs.lstatSync(file).isFile()) return undefined; // never a symlink
    } catch {
      return undefined;
    }
    return fs.readFileSync(file, "utf8");
  }
  if (isPgStore(store)) {
    try {
      return (await store.pool.query("SELECT note FROM tokenpixel_checkpoints WHERE agent_id = $1", [agent])).rows[0]?.note;
    } catch (err) {
      if (err?.code === "42P01") return undefined; // nothing was ever signed in this database
      throw makeError("STORE_IO", `cannot read the checkpoint of ${agent} from ${store}: ${err.message}`);
    }
  }
  if (isS3Store(store)) return (await store._get(`${store.prefix}${agent}/tlog-checkpoint`))?.toString("utf8");
  return undefined;
}

/** Keeps `note` as the agent's latest signed checkpoint. */
export async function saveCheckpoint(store, agent, note) {
  validateAgentId(agent);
  if (isFileStore(store)) {
    const file = path.join(store.directory, `pixels_${agent}.tlog-checkpoint`);
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, note);
    fs.renameSync(tmp, file);
    return;
  }
  if (isPgStore(store)) {
    try {
      await store.pool.query(PG_TABLE);
      await store.pool.query(
        "INSERT INTO tokenpixel_checkpoints (agent_id, note) VALUES ($1, $2) ON CONFLICT (agent_id) DO UPDATE SET note = EXCLUDED.note",
        [agent, note],
      );
    } catch (err) {
      throw makeError("STORE_IO", `cannot keep the checkpoint of ${agent} in ${store}: ${err.message}`);
    }
    return;
  }
  if (isS3Store(store)) {
    await store._put(`${store.prefix}${agent}/tlog-checkpoint`, Buffer.from(note));
    return;
  }
  throw makeError("INVALID_ARGUMENT", `${store?.constructor?.name ?? typeof store} keeps no signed checkpoints`);
}

// -- the chain as a tree ---------------------------------------------------------------------

/**
 * A verified chain as a Merkle tree (SPEC 14.6): the stored pixels' hashes and, for a pruned
 * chain, the pruned prefix's frontier from its anchor record. `root(size)`, `inclusion(seq,
 * size)` and `consistency(old, new)` refuse (INVALID_ARGUMENT) what reaches into the prefix.
 */
export async function chainTree(store, agent) {
  const record = await store.anchorRecord(agent);
  const report = await store.verify(agent);
  if (!report.ok) {
    throw makeError(report.error.code, `the chain of ${agent} does not verify at pixel ${report.error.index}: ${report.error.message}`);
  }
  const hashes = [];
  for await (const line of store.lines(agent)) hashes.push(JSON.parse(line).hash);
  if (record && (record.frontier === null || record.frontier === undefined)) {
    throw makeError("INVALID_ARGUMENT", `the chain of ${agent} was pruned before pruning kept the prefix's Merkle frontier: its signed heads cannot be checked`);
  }
  const first = record ? record.firstSeq : 0;
  const prefix = record ? { size: record.firstSeq, nodes: record.frontier } : undefined;
  const reachable = (size, what) => {
    if (size < first) {
      throw makeError("INVALID_ARGUMENT", `${what} at size ${size} reaches into the ${first} pruned pixels: only sizes from the pruned prefix on can be checked (SPEC 14.6)`);
    }
  };
  return {
    first,
    prefix,
    hashes,
    size: first + hashes.length,
    root(size) {
      reachable(size, "a root");
      return treeRoot(hashes.slice(0, size - first), prefix);
    },
    inclusion(seq, size) {
      if (seq < first) throw makeError("INVALID_ARGUMENT", `pixel ${seq} was pruned: it cannot be proven`);
      return inclusionProof(hashes, seq, size, prefix);
    },
    consistency(oldSize, newSize) {
      if (oldSize !== 0) reachable(oldSize, "a consistency proof");
      return consistencyProof(hashes, oldSize, newSize, prefix);
    },
  };
}

/** The pixel hashes of a verified, unpruned chain, in seq order. */
export async function chainHashes(store, agent) {
  const tree = await chainTree(store, agent);
  if (tree.first) throw makeError("INVALID_ARGUMENT", `the chain of ${agent} was pruned`);
  return tree.hashes;
}

/**
 * Signs a checkpoint of the chain as it is now (origin `<log>/<agent>`, the log name by default
 * the key's name), keeps it in the store and returns the note.
 */
export async function signHead(store, agent, signer, log) {
  const tree = await chainTree(store, agent);
  const note = signer.sign(checkpointText(originFor(log || signer.name, agent), tree.size, tree.root(tree.size)));
  await saveCheckpoint(store, agent, note);
  return note;
}

/**
 * Verifies the chain and its signed checkpoint (the store's, or `options.note`), in the order of
 * SPEC 14.6: signatures, origin, the chain, TRUNCATED, ROOT_MISMATCH. Resolves to
 * `{agent, origin, size, root, signedBy, count}`.
 */
export async function verifySigned(store, agent, keys, options = {}) {
  const note = options.note ?? (await loadCheckpoint(store, agent));
  if (note === undefined) throw makeError("NOT_FOUND", `no signed checkpoint for ${agent} in ${store}`);
  const cp = openCheckpoint(note, keys);
  const expected = options.log ? originFor(options.log, agent) : undefined;
  if (expected ? cp.origin !== expected : !cp.origin.endsWith(`/${agent}`)) {
    throw makeError("ORIGIN_MISMATCH", `the checkpoint is for ${JSON.stringify(cp.origin)}, not for the chain of ${agent}${expected ? ` (${JSON.stringify(expected)})` : ""}`);
  }
  const tree = await chainTree(store, agent);
  if (tree.size < cp.size) {
    throw makeError("TRUNCATED", `the chain of ${agent} has ${tree.size} pixels, the signed checkpoint ${cp.size}: pixels were cut from the end`);
  }
  if (tree.root(cp.size) !== cp.root) {
    throw makeError("ROOT_MISMATCH", `the first ${cp.size} pixels of ${agent} do not give the signed root: the chain was replaced or rewritten`);
  }
  return { agent, origin: cp.origin, size: cp.size, root: cp.root, signedBy: cp.signedBy, count: tree.size };
}

/** A C2SP tlog-proof that pixel `seq` is in the signed checkpoint; it carries the pixel's line. */
export async function prove(store, agent, seq, note) {
  note = note ?? (await loadCheckpoint(store, agent));
  if (note === undefined) throw makeError("NOT_FOUND", `no signed checkpoint for ${agent}: run \`tokenpixel sign\``);
  const { size, root } = readCheckpoint(note);
  const tree = await chainTree(store, agent);
  if (!Number.isSafeInteger(seq) || seq < 0 || seq >= size) throw makeError("INVALID_ARGUMENT", `pixel ${seq} is not in the signed ${size} pixels`);
  if (tree.size < size || tree.root(size) !== root) throw makeError("ROOT_MISMATCH", `the stored chain of ${agent} is not the signed one`);
  const proof = tree.inclusion(seq, size);
  const line = toJsonLine(await store.get(seq, agent));
  return proofText(seq, proof, note, line);
}

/** Checks a proof file with the verifier keys alone; resolves to what it proved. */
export function verifyProof(text, keys, pixelHash) {
  return verifyProofText(text, keys, pixelHash);
}

/** Both checkpoints verified and the newer extends the older (proof from the stored chain). */
export async function checkConsistency(store, agent, older, newer, keys) {
  let o = openCheckpoint(older, keys);
  let n = openCheckpoint(newer, keys);
  if (o.origin !== n.origin) throw makeError("ORIGIN_MISMATCH", `${JSON.stringify(o.origin)} and ${JSON.stringify(n.origin)} are different logs`);
  if (o.size > n.size) [o, n] = [n, o];
  const tree = await chainTree(store, agent);
  if (tree.size < n.size) throw makeError("TRUNCATED", `the chain of ${agent} is shorter than ${n.size} pixels`);
  if (o.size === 0 || o.size === n.size) {
    if (o.size === n.size && o.root !== n.root) throw makeError("PROOF_INVALID", "two checkpoints of one size with different roots");
    return [];
  }
  const proof = tree.consistency(o.size, n.size);
  verifyConsistency(o.size, n.size, o.root, n.root, proof);
  return proof;
}
