// What an outside probe broke in the JSONL store (issue 9, section 4), each as a test: symlinks,
// special files, agent ids on every path, a full disk, memory that grew with the file.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import tp from "tokenpixel";
import { JsonlStore } from "tokenpixel/node";
import { PKG } from "./helpers.mjs";

const C = "DISTRICT_4.CHAMBER_EXEC.NODE_POST";
const FIXTURES = path.join(PKG, "test", "fixtures");
const CHUNK = 1 << 20;
const made = [];
after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-safe-"));
  made.push(dir);
  return dir;
};
const digest = (file) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

function chainLines(agent, n, pad = 0) {
  const chain = new tp.Chain(agent, "s1");
  return Array.from({ length: n }, (_, i) => {
    const state = pad ? { i, pad: "x".repeat(pad) } : { i };
    return `${tp.toJsonLine(chain.emit(C, { state, timestampMs: 1000 + i }))}\n`;
  });
}

/** Every store operation on one agent, in a child process (a hang is a timeout, not a stuck suite). */
function runOps(dir, agent) {
  const r = spawnSync(process.execPath, [path.join(FIXTURES, "store_ops.mjs"), dir, agent], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(r.signal, null, `the operations hung: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function allUnsafe(codes) {
  const { agents, ...rest } = codes;
  assert.equal(agents, "ok");
  for (const [op, code] of Object.entries(rest)) assert.equal(code, "UNSAFE_PATH", op);
}

test("a symlinked chain file is UNSAFE_PATH everywhere and the file outside is never touched", () => {
  const root = tmp();
  const dir = path.join(root, "store");
  fs.mkdirSync(dir);
  const outside = path.join(root, "outside.jsonl");
  // A chain with a torn tail: recovery would have moved it, appends would have extended it.
  fs.writeFileSync(outside, `${chainLines("a", 3).join("")}{"torn`);
  const before = digest(outside);
  fs.symlinkSync(outside, path.join(dir, "pixels_a.jsonl"));
  allUnsafe(runOps(dir, "a"));
  assert.equal(digest(outside), before);
  assert.deepEqual(fs.readdirSync(dir), ["pixels_a.jsonl"]); // no lock, torn or tmp file left
  assert.deepEqual(fs.readdirSync(root).sort(), ["outside.jsonl", "store"]);

  // A dangling link: an append must not create its target outside the store.
  fs.symlinkSync(path.join(root, "created-outside.jsonl"), path.join(dir, "pixels_b.jsonl"));
  const codes = runOps(dir, "b");
  assert.equal(codes.append, "UNSAFE_PATH");
  assert.equal(fs.existsSync(path.join(root, "created-outside.jsonl")), false);
});

test("symlinked anchor, lock and prune files are UNSAFE_PATH too", () => {
  const root = tmp();
  const dir = path.join(root, "store");
  const store = new JsonlStore(dir);
  for (const line of chainLines("c", 6)) store.append(line.trimEnd());
  store.prune(3, "c");
  // The anchor file.
  const anchorFile = path.join(dir, "pixels_c.anchor");
  const outsideAnchor = path.join(root, "outside.anchor");
  fs.renameSync(anchorFile, outsideAnchor);
  fs.symlinkSync(outsideAnchor, anchorFile);
  assert.throws(() => store.anchor("c"), { code: "UNSAFE_PATH" });
  assert.throws(() => store.verify("c"), { code: "UNSAFE_PATH" });
  fs.unlinkSync(anchorFile);
  fs.renameSync(outsideAnchor, anchorFile);
  // The prune's temporary file.
  const outside = path.join(root, "outside.txt");
  fs.writeFileSync(outside, "keep me\n");
  fs.symlinkSync(outside, path.join(dir, "pixels_c.jsonl.tmp"));
  const chainBefore = digest(store.path("c"));
  assert.throws(() => store.prune(1, "c"), { code: "UNSAFE_PATH" });
  assert.equal(fs.readFileSync(outside, "utf8"), "keep me\n");
  assert.equal(digest(store.path("c")), chainBefore);
  // The lock directory.
  const outsideDir = path.join(root, "lock-target");
  fs.mkdirSync(outsideDir);
  fs.symlinkSync(outsideDir, path.join(dir, "pixels_d.lock"));
  const line = chainLines("d", 1)[0].trimEnd();
  assert.throws(() => store.append(line), { code: "UNSAFE_PATH" });
  assert.deepEqual(fs.readdirSync(outsideDir), []);
  assert.equal(fs.existsSync(path.join(dir, "pixels_d.jsonl")), false);
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes(".tmp-")), []);
});

test("a FIFO, a directory or a socket as the chain file is UNSAFE_PATH, with no hang", () => {
  const dir = tmp();
  execFileSync("mkfifo", [path.join(dir, "pixels_f.jsonl")]);
  allUnsafe(runOps(dir, "f"));
  fs.mkdirSync(path.join(dir, "pixels_g.jsonl"));
  allUnsafe(runOps(dir, "g"));
  assert.deepEqual(fs.readdirSync(dir).sort(), ["pixels_f.jsonl", "pixels_g.jsonl"]);
});

test("bad agent ids are INVALID_ARGUMENT on every path and leave no file anywhere", () => {
  const root = tmp();
  const dir = path.join(root, "store");
  const store = new JsonlStore(dir);
  for (const line of chainLines("ok", 2)) store.append(line.trimEnd());
  // A neighbour store that '../' ids would reach.
  const other = path.join(root, "other");
  fs.mkdirSync(other);
  fs.writeFileSync(path.join(other, "pixels_v.jsonl"), chainLines("v", 3).join(""));
  const bad = ["../x", "a/../../other/pixels_v", "../other/pixels_v", "a\tb", "a\nb", "", ".hidden", "-x", "x".repeat(129), "a b", "é", 7, null];
  const ops = {
    path: (a) => store.path(a),
    transaction: (a) => store.transaction(a, () => "ran"),
    verify: (a) => store.verify(a ?? "\0"),
    latest: (a) => store.latest(a ?? "\0"),
    list: (a) => store.list(a ?? "\0", { limit: 2 }),
    lines: (a) => store.lines(a ?? "\0"),
    iter: (a) => store.iter(a ?? "\0"),
    get: (a) => store.get(0, a ?? "\0"),
    anchor: (a) => store.anchor(a ?? "\0"),
    prune: (a) => store.prune(1, a ?? "\0"),
    recover: (a) => store.recover(a ?? "\0"),
  };
  for (const agent of bad) {
    for (const [name, op] of Object.entries(ops)) {
      assert.throws(() => op(agent), { code: "INVALID_ARGUMENT" }, `${name}(${JSON.stringify(agent)})`);
    }
  }
  assert.deepEqual(fs.readdirSync(dir), ["pixels_ok.jsonl"]);
  assert.deepEqual(fs.readdirSync(root).sort(), ["other", "store"]);
  assert.deepEqual(fs.readdirSync(other), ["pixels_v.jsonl"]);
  // agents() lists only names that are valid agent ids.
  for (const name of ["pixels_.jsonl", "pixels_a b.jsonl", "pixels_-x.jsonl", "pixels_.hidden.jsonl", "pixels_ok2.jsonl"]) {
    fs.writeFileSync(path.join(dir, name), "");
  }
  assert.deepEqual(store.agents(), ["ok", "ok2"]);
});

/** A tmpfs of `size` mounted for the test (root only); undefined when mounting is refused. */
function smallDisk(t, size) {
  const mnt = tmp();
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", mnt], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  t.after(() => execFileSync("umount", [mnt]));
  return mnt;
}

test("an append that does not fit on the disk is STORE_IO and leaves the file as it was", (t) => {
  const chain = new tp.Chain("full", "s1");
  const emit = (i, pad) => tp.toJsonLine(chain.emit(C, { state: { i, pad: "x".repeat(pad) }, timestampMs: 1000 + i }));
  const stored = [0, 1, 2, 3].map((i) => emit(i, 9000)); // 36 KB
  const tooBig = emit(4, 30_000); // 30 KB more than a 64 KB disk has left
  const mnt = smallDisk(t, "64k");
  const dir = path.join(mnt ?? tmp(), "store");
  const store = new JsonlStore(dir);
  for (const line of stored) store.append(line);
  const file = store.path("full");
  const before = fs.readFileSync(file);
  if (mnt !== undefined) {
    assert.throws(
      () => store.append(tooBig),
      (e) => e.code === "STORE_IO" && /cannot append .*(ENOSPC|no space)/i.test(e.message) && /as it was/.test(e.message),
    );
  } else {
    // Mounting refused: a file-size limit (RLIMIT_FSIZE) makes the write fail part-way instead.
    const lineFile = path.join(tmp(), "line.json");
    fs.writeFileSync(lineFile, tooBig);
    const limitKb = Math.ceil((before.length + 2000) / 1024);
    const out = execFileSync(
      "bash",
      ["-c", `trap '' XFSZ; ulimit -f ${limitKb}; exec "$0" "$@"`, process.execPath, path.join(FIXTURES, "append_line.mjs"), dir, lineFile],
      { encoding: "utf8" },
    );
    assert.match(out, /^STORE_IO .*(EFBIG|too large)/i);
  }
  assert.deepEqual(fs.readFileSync(file), before);
  assert.deepEqual(fs.readdirSync(dir), ["pixels_full.jsonl"]); // no lock left behind
  // The store still works: a pixel that fits is appended after the failed one.
  store.append(tp.Chain.resume(stored).emit(C, { state: { small: true }, timestampMs: 9000 }));
  assert.equal(store.verify("full").count, 5);
});

/** Counts the bytes the store reads through fs.readSync, and refuses whole-file reads. */
function countReads(t) {
  const counter = { bytes: 0, largest: 0 };
  const { readSync, readFileSync } = fs;
  fs.readSync = function (...args) {
    const n = readSync.apply(this, args);
    counter.bytes += n;
    counter.largest = Math.max(counter.largest, n);
    return n;
  };
  fs.readFileSync = function (file, ...rest) {
    if (String(file).endsWith(".jsonl")) throw new Error(`whole-file read of ${file}`);
    return readFileSync.call(this, file, ...rest);
  };
  const restore = () => Object.assign(fs, { readSync, readFileSync });
  t.after(restore);
  return { counter, restore };
}

test("list(limit) and latest read only the tail of a 50 MB chain; the rest streams", (t) => {
  const dir = tmp();
  const lines = chainLines("big", 200, 256 * 1024);
  fs.writeFileSync(path.join(dir, "pixels_big.jsonl"), lines.join(""));
  const size = lines.reduce((n, l) => n + l.length, 0);
  assert.ok(size > 50e6);
  const lineSize = lines[0].length;
  const store = new JsonlStore(dir);
  const { counter, restore } = countReads(t);

  const newest = store.list("big", { limit: 20 });
  assert.deepEqual(newest.map((p) => p.seq), Array.from({ length: 20 }, (_, i) => 180 + i));
  assert.ok(counter.bytes <= 21 * lineSize + CHUNK, `list read ${counter.bytes} bytes`);
  counter.bytes = 0;
  assert.equal(store.latest("big").seq, 199);
  assert.ok(counter.bytes <= lineSize + 2 * CHUNK, `latest read ${counter.bytes} bytes`);
  // Whole-chain operations stream in chunks of at most 1 MiB.
  assert.equal(store.verify("big").count, 200);
  assert.equal(store.get(150, "big").seq, 150);
  assert.equal(store.prune(10, "big"), 190);
  assert.ok(counter.largest <= CHUNK, `largest read ${counter.largest}`);
  restore();
  assert.equal(store.verify("big").count, 10);
});

test("a line over 16 MiB is LIMIT_EXCEEDED before it is read whole", (t) => {
  const dir = tmp();
  const good = chainLines("huge", 2);
  const file = path.join(dir, "pixels_huge.jsonl");
  const huge = Buffer.alloc(17 * CHUNK, 0x78);
  fs.writeFileSync(file, Buffer.concat([Buffer.from(good.join("")), huge, Buffer.from("\n")]));
  const store = new JsonlStore(dir);
  const { counter } = countReads(t);
  for (const read of [() => store.latest("huge"), () => store.list("huge", { limit: 1 }), () => [...store.lines("huge")], () => store.get(5, "huge")]) {
    counter.bytes = 0;
    assert.throws(read, { code: "LIMIT_EXCEEDED" });
    assert.ok(counter.bytes <= 16 * CHUNK + 2 * CHUNK + 1000, `read ${counter.bytes} bytes`);
  }
  const report = store.verify("huge");
  assert.deepEqual([report.ok, report.count, report.error.code], [false, 2, "LIMIT_EXCEEDED"]);
});

test("a torn tail over 16 MiB is STORE_CORRUPT: nothing is copied or cut", () => {
  const dir = tmp();
  const good = chainLines("tail", 2);
  const file = path.join(dir, "pixels_tail.jsonl");
  fs.writeFileSync(file, Buffer.concat([Buffer.from(good.join("")), Buffer.alloc(17 * CHUNK, 0x78)]));
  const before = digest(file);
  const store = new JsonlStore(dir);
  const offset = good.join("").length;
  const next = tp.Chain.resume(good.map((l) => l.trimEnd())).emit(C, { timestampMs: 5000 });
  for (const write of [() => store.append(next), () => store.recover("tail")]) {
    assert.throws(write, (e) => e.code === "STORE_CORRUPT" && e.message.includes(`offset ${offset}`));
  }
  assert.equal(digest(file), before);
  assert.deepEqual(fs.readdirSync(dir), ["pixels_tail.jsonl"]);
});

test("verify of an agent without a chain is NOT_FOUND, not an empty valid chain", () => {
  const store = new JsonlStore(tmp());
  assert.throws(() => store.verify("nobody"), { code: "NOT_FOUND" });
  for (const line of chainLines("somebody", 1)) store.append(line.trimEnd());
  assert.throws(() => store.verify("nobody"), { code: "NOT_FOUND" });
  assert.equal(store.verify("somebody").count, 1);
});
