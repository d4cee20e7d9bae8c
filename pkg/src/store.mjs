// tokenpixel/node: JsonlStore, the JSONL store of docs/SPEC.md section 12: the same files and the
// same writer lock as Python's tokenpixel.JsonlStore, so Python and Node writers share a chain.
// Every decision about the bytes (agent ids, keys, whether a line extends the chain, torn tails,
// the anchor record) is made by the core through ./node.mjs; this module only does the IO.
import { AsyncLocalStorage } from "node:async_hooks";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  JsonlVerifier,
  MAX_LINE_BYTES,
  TokenPixelError,
  anchorRecord,
  checkAppend,
  classifyTail,
  makeError,
  parseAnchorRecord,
  prunedFrontier,
  parseKey,
  toJsonLine,
  validateAgentId,
  pixelNotFound,
} from "./node.mjs";
import { replaceArgumentError } from "./transaction.mjs";

const CHUNK = 1 << 20;
const DEFAULT_LOCK_TIMEOUT_MS = 30_000;
const MAX_BACKOFF_MS = 25;
const MAX_OWNER_BYTES = 4096;
const MAX_ANCHOR_BYTES = 4096;
const OWNER_FILE = /^owner-[0-9a-f]{32}\.json$/;

// Every file is opened without following a symlink and without blocking on a FIFO; what is
// opened is then checked to be a regular file (12.2).
const { O_RDONLY, O_WRONLY, O_RDWR, O_APPEND, O_CREAT, O_EXCL, O_TRUNC, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
const SAFE = O_NOFOLLOW | O_NONBLOCK;
const READ = O_RDONLY | SAFE;
const UPDATE = O_RDWR | SAFE;
const APPEND = O_WRONLY | O_APPEND | SAFE;
const CREATE = O_WRONLY | O_CREAT | O_EXCL | SAFE;
const REWRITE = O_WRONLY | O_CREAT | O_TRUNC | SAFE;

const AsyncFunction = (async () => {}).constructor;
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

// -- errors ------------------------------------------------------------------------------------

function argumentError(message) {
  return makeError("INVALID_ARGUMENT", `invalid argument: ${message}`);
}

function ioError(what, file, err) {
  return makeError("STORE_IO", `${what} ${file}: ${err.message}`);
}

function describe(st) {
  if (st.isSymbolicLink()) return "a symbolic link";
  if (st.isFIFO()) return "a FIFO";
  if (st.isDirectory()) return "a directory";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  return "not a regular file";
}

function unsafePath(file, st) {
  return makeError(
    "UNSAFE_PATH",
    `${file} is ${describe(st)}: a store opens only regular files in its own directory and never follows a link`,
  );
}

/** What a failed open means: UNSAFE_PATH when the path is a link or a special file, else STORE_IO. */
function openFailure(err, file) {
  let st;
  try {
    st = fs.lstatSync(file);
  } catch {
    st = undefined;
  }
  if (st && !st.isFile()) return unsafePath(file, st);
  return ioError("cannot open", file, err);
}

function tooLong(file, offset) {
  return makeError(
    "LIMIT_EXCEEDED",
    `the line at byte offset ${offset} of ${file} is longer than ${MAX_LINE_BYTES} bytes (16 MiB): refused before reading it whole`,
  );
}

// -- file IO -----------------------------------------------------------------------------------

/** Opens a regular file: the fd, undefined when it does not exist, UNSAFE_PATH / STORE_IO otherwise. */
function openRegular(file, flags) {
  let fd;
  try {
    fd = fs.openSync(file, flags, 0o644);
  } catch (err) {
    if (err.code === "ENOENT") return undefined;
    throw openFailure(err, file);
  }
  let st;
  try {
    st = fs.fstatSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    throw ioError("cannot stat", file, err);
  }
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw unsafePath(file, st);
  }
  return fd;
}

function closeQuietly(fd) {
  try {
    fs.closeSync(fd);
  } catch {
    // nothing was written through it that a failed close could lose
  }
}

/** Runs fn(fd) on an opened regular file and closes it; `missing()` when it does not exist. */
function withFile(file, flags, fn, missing = () => undefined) {
  const fd = openRegular(file, flags);
  if (fd === undefined) return missing();
  try {
    return fn(fd);
  } finally {
    closeQuietly(fd);
  }
}

function sizeOf(fd, file) {
  try {
    return fs.fstatSync(fd).size;
  } catch (err) {
    throw ioError("cannot stat", file, err);
  }
}

/** Reads into all of `buf` from `position` (less only at the end of the file); returns the count. */
function readAt(fd, file, buf, position) {
  let done = 0;
  try {
    while (done < buf.length) {
      const n = fs.readSync(fd, buf, done, buf.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
  } catch (err) {
    throw ioError("cannot read", file, err);
  }
  return done;
}

/** Writes all of `bytes`: a write may be partial (a full disk), so it loops until done or an error. */
function writeAll(fd, bytes, position) {
  let done = 0;
  while (done < bytes.length) {
    const at = position === undefined ? null : position + done;
    const n = fs.writeSync(fd, bytes, done, bytes.length - done, at);
    if (n <= 0) throw new Error(`write made no progress after ${done} of ${bytes.length} bytes`);
    done += n;
  }
}

function fsyncDirectory(dir) {
  const fd = fs.openSync(dir, O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function sleepSync(ms) {
  if (ms > 0) Atomics.wait(SLEEPER, 0, 0, ms);
}

// -- reading lines -----------------------------------------------------------------------------

/**
 * The complete lines of a file from byte `start`, oldest first, as Buffers without their "\n".
 * A torn tail (bytes after the last "\n") is left out. Memory: one chunk plus the longest line;
 * a line over MAX_LINE_BYTES is LIMIT_EXCEEDED once that many bytes were read without its end.
 */
function* forwardLines(fd, file, start = 0) {
  const buf = Buffer.allocUnsafe(CHUNK);
  let parts = [];
  let pending = 0;
  let lineStart = start;
  for (let pos = start; ; ) {
    const n = readAt(fd, file, buf, pos);
    if (n === 0) return;
    const chunk = buf.subarray(0, n);
    let from = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, from)) {
      const piece = chunk.subarray(from, nl);
      if (pending + piece.length > MAX_LINE_BYTES) throw tooLong(file, lineStart);
      const line = pending ? Buffer.concat([...parts, piece]) : Buffer.from(piece);
      parts = [];
      pending = 0;
      from = nl + 1;
      lineStart = pos + from;
      yield line;
    }
    if (from < n) {
      parts.push(Buffer.from(chunk.subarray(from)));
      pending += n - from;
      if (pending > MAX_LINE_BYTES) throw tooLong(file, lineStart);
    }
    pos += n;
  }
}

/**
 * The complete lines before byte `end`, newest first (read backwards: `latest` and `list(limit)`
 * never read more than the lines they return). The bytes after the last "\n" before `end` are a
 * torn tail and are skipped; a tail or line over MAX_LINE_BYTES is LIMIT_EXCEEDED.
 */
function* backwardLines(fd, file, end) {
  let parts = [];
  let pending = 0;
  let inTail = true;
  let pos = end;
  while (pos > 0) {
    const n = Math.min(CHUNK, pos);
    pos -= n;
    const chunk = Buffer.allocUnsafe(n);
    readAt(fd, file, chunk, pos);
    let stop = n;
    for (let nl = lastNewline(chunk, stop); nl !== -1; nl = lastNewline(chunk, stop)) {
      const piece = chunk.subarray(nl + 1, stop);
      if (pending + piece.length > MAX_LINE_BYTES) throw tooLong(file, pos + nl + 1);
      if (!inTail) yield Buffer.concat([piece, ...parts]);
      inTail = false;
      parts = [];
      pending = 0;
      stop = nl;
    }
    parts.unshift(chunk.subarray(0, stop));
    pending += stop;
    if (pending > MAX_LINE_BYTES) throw tooLong(file, pos);
  }
  if (!inTail) yield Buffer.concat(parts);
}

function lastNewline(chunk, stop) {
  return stop === 0 ? -1 : chunk.lastIndexOf(0x0a, stop - 1);
}

/** A stored line as text: invalid UTF-8 is NOT_I_JSON / INVALID_UTF8, as `verify` reports it. */
function decodeLine(bytes, file) {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new TokenPixelError(`a line of ${file} is not valid UTF-8`, "NOT_I_JSON", "INVALID_UTF8");
  }
}

/** A stored line as a plain object; a line that is not a JSON object gets the core's code. */
function parsePixel(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) return value;
  toJsonLine(text); // throws the precise code (MALFORMED_JSON, SCHEMA_VIOLATION, ...)
  throw makeError("SCHEMA_VIOLATION", "a stored line is not a pixel object");
}

/** The last complete line before `end` as text, or undefined. */
function lastLine(fd, file, end) {
  const next = backwardLines(fd, file, end).next();
  return next.done ? undefined : decodeLine(next.value, file);
}

/** The seq of a chain file's first line, or undefined when there is none or it is not readable. */
function firstSeq(file) {
  return withFile(file, READ, (fd) => {
    try {
      const first = forwardLines(fd, file).next();
      return first.done ? undefined : JSON.parse(decodeLine(first.value, file)).seq;
    } catch (err) {
      if (err instanceof TokenPixelError && err.family === "store") throw err;
      return undefined; // a broken first line is reported by verify with its own code
    }
  });
}

/** `{anchor, firstSeq}` of an anchor file, or undefined; STORE_CORRUPT when it is not a record. */
function readAnchor(anchorFile, chainFile) {
  const bytes = withFile(anchorFile, READ, (fd) => {
    const buf = Buffer.allocUnsafe(MAX_ANCHOR_BYTES + 1);
    return buf.subarray(0, readAt(fd, anchorFile, buf, 0));
  });
  if (bytes === undefined) return undefined;
  const record = parseAnchorRecord(bytes);
  const seq = firstSeq(chainFile);
  if (seq !== undefined && seq !== record.firstSeq) {
    throw makeError(
      "STORE_CORRUPT",
      `${anchorFile} records firstSeq ${record.firstSeq}, but the first pixel of ${chainFile} has seq ${seq}`,
    );
  }
  return record;
}

// -- the writer lock (12.3) --------------------------------------------------------------------

let IDENTITY;

/** This process as an owner file names it: host, boot id, pid and start time (cached). */
function identity() {
  if (IDENTITY === undefined) {
    let boot = "";
    try {
      boot = fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    } catch {
      boot = "";
    }
    IDENTITY = { host: os.hostname(), boot, pid: process.pid, start: processStart(process.pid) ?? "" };
  }
  return IDENTITY;
}

/**
 * Field 22 of /proc/<pid>/stat (the start time), "" where there is no /proc, null when the
 * process is gone or a zombie (killed, not yet reaped: it holds nothing any more).
 */
function processStart(pid) {
  let stat;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (err) {
    return err.code === "ENOENT" || err.code === "ESRCH" ? null : "";
  }
  // Field 2 (comm) is in parentheses and may hold spaces or ')': split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return null;
  return fields[22 - 3] ?? "";
}

function ownerRecord() {
  const me = identity();
  return JSON.stringify({ host: me.host, boot: me.boot, pid: me.pid, start: me.start, lang: "node", acquiredMs: Date.now() });
}

function validOwner(info) {
  return (
    info !== null &&
    typeof info === "object" &&
    typeof info.host === "string" &&
    typeof info.boot === "string" &&
    Number.isSafeInteger(info.pid) &&
    info.pid > 0 &&
    typeof info.start === "string"
  );
}

/** Whether the holder of a lock is dead (12.3): same host and another boot, or no such process. */
function holderIsDead(info) {
  if (!validOwner(info)) return false;
  const me = identity();
  if (info.host !== me.host) return false; // another host: never broken automatically
  if (info.boot !== me.boot) return true;
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if (err.code === "ESRCH") return true;
  }
  const start = processStart(info.pid);
  if (start === null) return true; // gone, or a zombie
  if (info.start === "" || me.start === "") return false;
  return start !== "" && start !== info.start;
}

/** The current holder of a lock directory: {name, info}, or undefined when there is none now. */
function readHolder(lockDir) {
  let names;
  try {
    const st = fs.lstatSync(lockDir);
    if (!st.isDirectory()) throw unsafePath(lockDir, st);
    names = fs.readdirSync(lockDir);
  } catch (err) {
    if (err instanceof TokenPixelError) throw err;
    if (err.code === "ENOENT") return undefined;
    throw ioError("cannot read the lock", lockDir, err);
  }
  const name = names.find((n) => OWNER_FILE.test(n));
  if (name === undefined) return undefined;
  const file = path.join(lockDir, name);
  const text = withFile(file, READ, (fd) => {
    const buf = Buffer.allocUnsafe(MAX_OWNER_BYTES);
    return buf.subarray(0, readAt(fd, file, buf, 0)).toString("utf8");
  });
  if (text === undefined) return undefined;
  let info;
  try {
    info = JSON.parse(text);
  } catch {
    info = null;
  }
  return { name, info };
}

function describeHolder(holder) {
  if (holder === undefined) return "a directory without an owner file (remove it if no writer runs)";
  const { name, info } = holder;
  if (!validOwner(info)) return `an unreadable owner file ${name}`;
  const since = Number.isFinite(info.acquiredMs) ? ` since ${new Date(info.acquiredMs).toISOString()}` : "";
  const lang = typeof info.lang === "string" ? ` (${info.lang})` : "";
  return `pid ${info.pid}${lang} on host ${info.host}${since}`;
}

/** Step 1: the directory `<lock>.tmp-<token>` holding this process's owner file. */
function prepareTaker(lockDir) {
  const token = crypto.randomBytes(16).toString("hex");
  const tmp = `${lockDir}.tmp-${token}`;
  const name = `owner-${token}.json`;
  try {
    fs.mkdirSync(tmp);
  } catch (err) {
    throw ioError("cannot create", tmp, err);
  }
  try {
    const file = path.join(tmp, name);
    const fd = openRegular(file, CREATE);
    try {
      writeAll(fd, Buffer.from(ownerRecord()));
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    removeTaker(tmp, name);
    throw err instanceof TokenPixelError ? err : ioError("cannot write", path.join(tmp, name), err);
  }
  return { tmp, name };
}

/** Step 4: removes the taker's directory, whatever happened. */
function removeTaker(tmp, name) {
  try {
    fs.unlinkSync(path.join(tmp, name));
  } catch {
    // already gone
  }
  try {
    fs.rmdirSync(tmp);
  } catch {
    // already gone (renamed into place)
  }
}

/** Step 2: rename onto the lock; false when it is held (a non-empty directory). */
function tryRename(tmp, lockDir) {
  try {
    fs.renameSync(tmp, lockDir);
    return true;
  } catch (err) {
    if (err.code === "ENOTEMPTY" || err.code === "EEXIST") return false;
    if ((err.code === "ENOTDIR" || err.code === "EISDIR") && removeOldLockFile(lockDir)) return tryRename(tmp, lockDir);
    if (err.code === "ENOTDIR" || err.code === "EISDIR") throw notALockDirectory(err, lockDir);
    throw ioError("cannot take the lock", lockDir, err);
  }
}

/**
 * Upgrading: tokenpixel 0.1's Python store locked with flock on an empty regular file at the
 * lock path. Such a file (regular, empty, not a link) is removed so the directory lock can take
 * its place (SPEC 12.3); anything else there stays and is UNSAFE_PATH.
 */
function removeOldLockFile(lockDir) {
  try {
    const st = fs.lstatSync(lockDir);
    if (!st.isFile() || st.size !== 0) return false;
    fs.unlinkSync(lockDir);
    return true;
  } catch {
    return false;
  }
}

function notALockDirectory(err, lockDir) {
  let st;
  try {
    st = fs.lstatSync(lockDir);
  } catch {
    return ioError("cannot take the lock", lockDir, err);
  }
  if (st.isDirectory()) return ioError("cannot take the lock", lockDir, err);
  const what = st.isFile() ? "a regular file (a lock file of an older version? remove it when no writer runs)" : describe(st);
  return makeError("UNSAFE_PATH", `${lockDir} is ${what}, not a lock directory (SPEC 12.3)`);
}

/** Breaks a dead holder's lock: unlinks exactly its owner file (gone already: someone else did). */
function breakLock(lockDir, name) {
  try {
    fs.unlinkSync(path.join(lockDir, name));
  } catch (err) {
    if (err.code !== "ENOENT") throw ioError("cannot break the stale lock", lockDir, err);
  }
}

/**
 * The take loop of 12.3 as a generator: it yields how long to wait before trying again (the
 * sync driver sleeps with Atomics.wait, the async one with a timer) and returns the held lock.
 */
function* takeSteps(lockDir, timeoutMs) {
  const { tmp, name } = prepareTaker(lockDir);
  let taken = false;
  try {
    const deadline = Date.now() + timeoutMs;
    let delay = 1;
    let retried = false;
    for (;;) {
      if (tryRename(tmp, lockDir)) {
        taken = true;
        return { lockDir, owner: path.join(lockDir, name) };
      }
      const holder = readHolder(lockDir);
      if (holder === undefined && !retried) {
        retried = true; // it vanished meanwhile: try again at once
        continue;
      }
      retried = false;
      if (holder !== undefined && holderIsDead(holder.info)) {
        breakLock(lockDir, holder.name);
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw makeError("STORE_LOCKED", `the writer lock ${lockDir} is held by ${describeHolder(holder)}; waited ${timeoutMs} ms`);
      }
      yield Math.min(delay, left);
      delay = Math.min(delay * 2, MAX_BACKOFF_MS);
    }
  } finally {
    if (!taken) removeTaker(tmp, name);
  }
}

function takeSync(lockDir, timeoutMs) {
  const steps = takeSteps(lockDir, timeoutMs);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    sleepSync(step.value);
  }
}

async function takeAsync(lockDir, timeoutMs) {
  const steps = takeSteps(lockDir, timeoutMs);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise((resolve) => setTimeout(resolve, step.value));
  }
}

/** Release: unlink the own owner file, then rmdir the lock unless a new taker already holds it. */
function unlock(lock) {
  try {
    fs.unlinkSync(lock.owner);
  } catch (err) {
    if (err.code !== "ENOENT") throw ioError("cannot release the lock", lock.lockDir, err);
  }
  try {
    fs.rmdirSync(lock.lockDir);
  } catch (err) {
    if (!["ENOTEMPTY", "EEXIST", "ENOENT"].includes(err.code)) throw ioError("cannot remove the lock", lock.lockDir, err);
  }
}

// -- the held chain of one agent: what a transaction does under the lock -----------------------

const UNREAD = Symbol("unread");

class Session {
  #head = UNREAD;
  #torn = true; // a torn tail may be there: at the start, and after an append that could not be undone

  constructor(store, agent) {
    this.store = store;
    this.agent = agent;
    this.file = store.path(agent);
    this.anchorFile = path.join(store.directory, `pixels_${agent}.anchor`);
    this.recovery = undefined;
  }

  /** Torn-tail recovery (12.5), when one may be needed; reported to the store and as a warning. */
  recover() {
    if (!this.#torn) return;
    this.recovery = recoverTail(this);
    this.#torn = false;
    if (this.recovery === undefined) return;
    this.#head = UNREAD;
    this.store.recoveries.push(this.recovery);
    process.emitWarning(`tokenpixel: recovered a torn last line in ${this.file}: ${this.recovery.action}`);
  }

  /** The last stored line (text), read from the end once and then kept up to date. */
  headLine() {
    if (this.#head === UNREAD) this.#head = withFile(this.file, READ, (fd) => lastLine(fd, this.file, sizeOf(fd, this.file)));
    return this.#head;
  }

  anchorRecord() {
    return readAnchor(this.anchorFile, this.file);
  }

  append(pixel) {
    const line = typeof pixel === "string" ? pixel : toJsonLine(pixel);
    this.recover();
    const head = this.headLine();
    const record = head === undefined ? this.anchorRecord() : undefined;
    const appended = checkAppend(head, record?.anchor, line, record?.firstSeq);
    if (appended.agentId !== this.agent) {
      throw makeError("AGENT_CHANGED", `a pixel of agent ${appended.agentId} cannot go into the chain of agent ${this.agent}`);
    }
    try {
      appendLine(this.file, Buffer.from(`${line}\n`), this.store.fsync, this.store.directory);
    } catch (err) {
      this.#head = UNREAD;
      this.#torn = true; // if cutting back failed, the next append first moves the partial line aside
      throw err;
    }
    this.#head = line;
  }

  /** Replaces the chain by `lines` (verified against `anchor`) and records the anchor (12.7). */
  replace(lines, anchor, frontier = null) {
    const texts = (function* () {
      for (const item of lines) yield typeof item === "string" ? item : toJsonLine(item);
    })();
    let first;
    const chunks = (function* () {
      for (const text of texts) {
        first ??= text;
        yield Buffer.from(`${text}\n`);
      }
    })();
    const fallbackSeq = () => {
      const head = this.headLine();
      return head !== undefined ? parsePixel(head).seq + 1 : (this.anchorRecord()?.firstSeq ?? 0);
    };
    const seqOf = () => (first !== undefined ? parsePixel(first).seq : fallbackSeq());
    this.#rewrite(chunks, anchor ?? undefined, seqOf, frontier);
  }

  /** Keeps the newest `keep` lines: a count pass, then a copy pass of the kept bytes. */
  prune(keep) {
    return withFile(
      this.file,
      READ,
      (fd) => {
        const { count, end } = countLines(fd, this.file);
        if (count <= keep) return 0;
        const start = offsetAfterLine(fd, this.file, count - keep);
        const first = parsePixel(decodeLine(forwardLines(fd, this.file, start).next().value, this.file));
        const hashes = [];
        for (const raw of forwardLines(fd, this.file)) {
          if (hashes.length === count - keep) break;
          hashes.push(parsePixel(decodeLine(raw, this.file)).hash);
        }
        const frontier = prunedFrontier(this.anchorRecord(), hashes);
        this.#rewrite(copyRange(fd, this.file, start, end), first.prevHash, () => first.seq, frontier);
        return count - keep;
      },
      () => {
        throw notFound(this.agent, this.store.directory);
      },
    );
  }

  /** Streams `chunks` into the .tmp files, verifying them, then renames anchor and chain. */
  #rewrite(chunks, anchor, seqOf, frontier = null) {
    const tmp = `${this.file}.tmp`;
    writeVerified(tmp, chunks, anchor);
    try {
      if (anchor === undefined) {
        removeFile(this.anchorFile);
      } else {
        const record = `${anchorRecord(anchor, seqOf(), Date.now(), frontier)}\n`;
        const anchorTmp = `${this.anchorFile}.tmp`;
        writeFileSafely(anchorTmp, Buffer.from(record));
        renameInStore(anchorTmp, this.anchorFile);
      }
      renameInStore(tmp, this.file);
    } catch (err) {
      removeFile(tmp, true);
      throw err;
    }
    try {
      fsyncDirectory(this.store.directory);
    } catch (err) {
      throw ioError("cannot flush the directory", this.store.directory, err);
    }
    this.#head = UNREAD;
  }
}

function notFound(agent, dir) {
  return makeError("NOT_FOUND", `no chain for agent ${agent} in ${dir}`);
}

/** 12.4: one append of the whole line; on any failure the file is cut back to its old length. */
function appendLine(file, bytes, fsync, dir) {
  let created = false;
  let fd = openRegular(file, APPEND);
  if (fd === undefined) {
    fd = openRegular(file, APPEND | O_CREAT | O_EXCL);
    if (fd === undefined) throw makeError("STORE_IO", `cannot create ${file}: its directory is gone`);
    created = true;
  }
  let size;
  try {
    size = fs.fstatSync(fd).size;
    writeAll(fd, bytes);
    if (fsync) fs.fsyncSync(fd);
  } catch (err) {
    const undone = undoAppend(fd, file, size, created);
    throw makeError("STORE_IO", `cannot append to ${file}: ${err.message}; ${undone}`);
  } finally {
    closeQuietly(fd);
  }
  if (created && fsync) {
    try {
      fsyncDirectory(dir);
    } catch (err) {
      removeFile(file, true);
      throw ioError("cannot flush the directory", dir, err);
    }
  }
}

function undoAppend(fd, file, size, created) {
  try {
    if (created) fs.unlinkSync(file);
    else if (size !== undefined) fs.ftruncateSync(fd, size);
    return "the file is as it was";
  } catch (err) {
    return `and cutting it back failed (${err.message}): the next writer moves the partial line aside`;
  }
}

/** Writes a new file (create or truncate, never through a link) and flushes it. */
function writeFileSafely(file, bytes) {
  const fd = openRegular(file, REWRITE);
  try {
    writeAll(fd, bytes);
    fs.fsyncSync(fd);
  } catch (err) {
    throw ioError("cannot write", file, err);
  } finally {
    closeQuietly(fd);
  }
}

/** Writes `chunks` to `tmp` while a JsonlVerifier checks them; refuses (and removes tmp) if bad. */
function writeVerified(tmp, chunks, anchor) {
  const verifier = new JsonlVerifier({ anchor });
  const fd = openRegular(tmp, REWRITE);
  try {
    for (const chunk of chunks) {
      verifier.feed(chunk);
      if (verifier.failed) break;
      writeAll(fd, chunk);
    }
    const report = verifier.finish();
    if (!report.ok) {
      const e = report.error;
      throw new TokenPixelError(`the new chain does not verify: ${e.message}`, e.code, e.reason ?? null);
    }
    fs.fsyncSync(fd);
  } catch (err) {
    closeQuietly(fd);
    removeFile(tmp, true);
    throw err instanceof TokenPixelError ? err : ioError("cannot write", tmp, err);
  }
  closeQuietly(fd);
}

function removeFile(file, quietly = false) {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if (err.code !== "ENOENT" && !quietly) throw ioError("cannot remove", file, err);
  }
}

function renameInStore(from, to) {
  try {
    fs.renameSync(from, to);
  } catch (err) {
    throw ioError(`cannot rename ${from} to`, to, err);
  }
}

/** The number of complete lines and the offset just past the last "\n" (one streaming pass). */
function countLines(fd, file) {
  const buf = Buffer.allocUnsafe(CHUNK);
  let count = 0;
  let end = 0;
  for (let pos = 0, n; (n = readAt(fd, file, buf, pos)) > 0; pos += n) {
    const chunk = buf.subarray(0, n);
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, nl + 1)) {
      count += 1;
      end = pos + nl + 1;
    }
  }
  return { count, end };
}

/** The byte offset where line `index` (0-based) starts: just past the index-th "\n". */
function offsetAfterLine(fd, file, index) {
  const buf = Buffer.allocUnsafe(CHUNK);
  let seen = 0;
  for (let pos = 0, n; (n = readAt(fd, file, buf, pos)) > 0; pos += n) {
    const chunk = buf.subarray(0, n);
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, nl + 1)) {
      seen += 1;
      if (seen === index) return pos + nl + 1;
    }
  }
  throw makeError("STORE_IO", `${file} changed while it was pruned`);
}

/** The bytes [start, end) of a file in chunks. */
function* copyRange(fd, file, start, end) {
  for (let pos = start; pos < end; ) {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, end - pos));
    const n = readAt(fd, file, chunk, pos);
    if (n === 0) throw makeError("STORE_IO", `${file} shrank while it was pruned`);
    pos += n;
    yield chunk.subarray(0, n);
  }
}

// -- torn tails (12.5) -------------------------------------------------------------------------

/** Under the lock: completes or moves aside a torn tail. Returns what was done, or undefined. */
function recoverTail(session) {
  const { file, agent } = session;
  return withFile(file, UPDATE, (fd) => {
    const size = sizeOf(fd, file);
    if (size === 0) return undefined;
    const last = Buffer.alloc(1);
    readAt(fd, file, last, size - 1);
    if (last[0] === 0x0a) return undefined;
    const cut = tailStart(fd, file, size);
    const tail = Buffer.allocUnsafe(size - cut);
    readAt(fd, file, tail, cut);
    const previous = lastLine(fd, file, cut);
    const anchor = previous === undefined ? session.anchorRecord()?.anchor : undefined;
    if (classifyTail(previous, tail, anchor)) {
      guardIo(file, () => {
        writeAll(fd, Buffer.from("\n"), size);
        fs.fsyncSync(fd);
      });
      return { agentId: agent, action: "completed", byteCount: tail.length, savedTo: undefined };
    }
    const savedTo = saveTail(file, tail);
    guardIo(file, () => {
      fsyncDirectory(path.dirname(file));
      fs.ftruncateSync(fd, cut);
      fs.fsyncSync(fd);
    });
    return { agentId: agent, action: "moved", byteCount: tail.length, savedTo };
  });
}

function guardIo(file, fn) {
  try {
    fn();
  } catch (err) {
    throw err instanceof TokenPixelError ? err : ioError("cannot repair", file, err);
  }
}

/** Where the torn tail starts (just past the last "\n"); STORE_CORRUPT when it is over 16 MiB. */
function tailStart(fd, file, size) {
  const buf = Buffer.allocUnsafe(CHUNK);
  let cut = 0;
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - CHUNK);
    const chunk = buf.subarray(0, end - start);
    readAt(fd, file, chunk, start);
    const nl = chunk.lastIndexOf(0x0a);
    if (nl !== -1) {
      cut = start + nl + 1;
      break;
    }
    end = start;
  }
  if (size - cut > MAX_LINE_BYTES) {
    throw makeError(
      "STORE_CORRUPT",
      `${file} ends with ${size - cut} bytes without a newline, from byte offset ${cut}: a torn tail over 16 MiB cannot be a pixel; nothing was changed`,
    );
  }
  return cut;
}

/** Copies a torn tail to `<file>.torn-<unix ms>` (a new file, flushed); returns its path. */
function saveTail(file, tail) {
  for (let ms = Date.now(); ; ms++) {
    const savedTo = `${file}.torn-${ms}`;
    let fd;
    try {
      fd = fs.openSync(savedTo, CREATE, 0o644);
    } catch (err) {
      if (err.code === "EEXIST") continue;
      throw openFailure(err, savedTo);
    }
    try {
      writeAll(fd, tail);
      fs.fsyncSync(fd);
    } catch (err) {
      closeQuietly(fd);
      removeFile(savedTo, true);
      throw ioError("cannot save the torn tail to", savedTo, err);
    }
    closeQuietly(fd);
    return savedTo;
  }
}

// -- transactions: the process-wide registry ---------------------------------------------------

// Shared through globalThis so that the ESM and CommonJS copies of this module in one process
// see one registry (otherwise a nested transaction would wait for its own process).
const REGISTRY = (globalThis[Symbol.for("tokenpixel.JsonlStore.locks")] ??= {
  held: new Map(),
  context: new AsyncLocalStorage(),
});

/** The public face of a held lock: `head`, `anchor`, `append`, `replace` (12.1). */
class Transaction {
  #entry;

  constructor(entry) {
    this.#entry = entry;
  }

  get agentId() {
    return this.#entry.session.agent;
  }

  /** The last stored pixel (a plain object), or undefined for an empty chain. */
  head() {
    const line = live(this.#entry).headLine();
    return line === undefined ? undefined : parsePixel(line);
  }

  /** The trusted hash the first stored pixel links to (after pruning), or undefined. */
  anchor() {
    return live(this.#entry).anchorRecord()?.anchor;
  }

  /** Appends one pixel (object or canonical line) that extends `head()` (12.4). */
  append(pixel) {
    live(this.#entry).append(pixel);
  }

  /** Replaces the chain by `lines` (which must verify against `anchor`) and records `anchor`. */
  /**
   * Replaces the chain by `lines` (verified against `anchor`). `frontier`: the pruned prefix's
   * Merkle frontier to keep with the anchor (12.7), base64 nodes; none by default.
   */
  replace(lines, anchor, frontier) {
    if (lines === null || typeof lines !== "object" || typeof lines[Symbol.iterator] !== "function") {
      throw argumentError("lines must be an iterable of pixels or canonical lines");
    }
    const refused = replaceArgumentError(anchor, frontier);
    if (refused) throw refused;
    live(this.#entry).replace(lines, anchor, frontier ?? null);
  }
}

function live(entry) {
  if (!entry.active) throw argumentError("this transaction has ended: use the store inside the transaction's function");
  return entry.session;
}

function isThenable(v) {
  return v !== null && (typeof v === "object" || typeof v === "function") && typeof v.then === "function";
}

function register(key) {
  let settle;
  const settled = new Promise((resolve) => {
    settle = resolve;
  });
  const entry = { key, depth: 0, active: false, lock: undefined, session: undefined, tx: undefined, settled, settle };
  REGISTRY.held.set(key, entry);
  return entry;
}

function unregister(entry) {
  entry.active = false;
  if (REGISTRY.held.get(entry.key) === entry) REGISTRY.held.delete(entry.key);
  entry.settle();
}

/** Opens the session of a freshly taken lock: torn-tail recovery runs first, under the lock. */
function start(entry, store, agent) {
  try {
    entry.session = new Session(store, agent);
    entry.session.recover();
  } catch (err) {
    unregister(entry);
    try {
      unlock(entry.lock);
    } catch {
      // the first error is the one to report
    }
    throw err;
  }
  entry.tx = new Transaction(entry);
  entry.active = true;
}

/** Runs fn(tx) as one frame of a held lock; the lock is released when the last frame ends. */
function enter(entry, fn) {
  entry.depth += 1;
  const scope = new Map(REGISTRY.context.getStore() ?? []);
  scope.set(entry.key, entry);
  let result;
  try {
    result = REGISTRY.context.run(scope, fn, entry.tx);
  } catch (err) {
    leave(entry, true);
    throw err;
  }
  if (!isThenable(result)) {
    leave(entry, false);
    return result;
  }
  return Promise.resolve(result).then(
    (value) => {
      leave(entry, false);
      return value;
    },
    (err) => {
      leave(entry, true);
      throw err;
    },
  );
}

function leave(entry, failed) {
  entry.depth -= 1;
  if (entry.depth > 0) return;
  unregister(entry);
  try {
    unlock(entry.lock);
  } catch (err) {
    if (!failed) throw err;
  }
}

function heldByThisProcess(store, agent) {
  return makeError(
    "STORE_LOCKED",
    `the writer lock of agent ${agent} in ${store.directory} is held by this process: an asynchronous ` +
      "transaction is still running (pass an async function to wait for it)",
  );
}

async function runQueued(store, agent, key, fn) {
  for (let e; (e = REGISTRY.held.get(key)) !== undefined; ) await e.settled;
  const entry = register(key);
  try {
    entry.lock = await takeAsync(lockPath(store, agent), store.lockTimeoutMs);
  } catch (err) {
    unregister(entry);
    throw err;
  }
  start(entry, store, agent);
  return enter(entry, fn);
}

function runTransaction(store, agent, fn) {
  const key = lockKey(store, agent);
  const held = REGISTRY.held.get(key);
  if (held !== undefined && held.active && REGISTRY.context.getStore()?.get(key) === held) return enter(held, fn);
  if (fn instanceof AsyncFunction) return runQueued(store, agent, key, fn);
  if (held !== undefined) throw heldByThisProcess(store, agent);
  const entry = register(key);
  try {
    entry.lock = takeSync(lockPath(store, agent), store.lockTimeoutMs);
  } catch (err) {
    unregister(entry);
    throw err;
  }
  start(entry, store, agent);
  return enter(entry, fn);
}

function lockPath(store, agent) {
  return path.join(store.directory, `pixels_${agent}.lock`);
}

/** The registry key: the store's real path and the agent. A writer creates the directory. */
function lockKey(store, agent) {
  try {
    fs.mkdirSync(store.directory, { recursive: true });
    return `${fs.realpathSync(store.directory)}\0${agent}`;
  } catch (err) {
    throw ioError("cannot open the store directory", store.directory, err);
  }
}

function agentOfLine(line) {
  let agent;
  try {
    agent = JSON.parse(line).agentId;
  } catch {
    agent = undefined;
  }
  validateAgentId(agent);
  return agent;
}

// -- the store ---------------------------------------------------------------------------------

/** One append-only file per agent (`pixels_<agentId>.jsonl`), the format and lock of SPEC 12. */
export class JsonlStore {
  /**
   * @param {string} directory  created by the first append, never by reads
   * @param {{fsync?: boolean, lockTimeoutMs?: number}} [options]
   */
  constructor(directory, options = {}) {
    if (typeof directory !== "string" || directory === "") throw argumentError("directory must be a non-empty string");
    if (options === null || typeof options !== "object") throw argumentError("options must be an object");
    const { fsync = false, lockTimeoutMs = DEFAULT_LOCK_TIMEOUT_MS } = options;
    if (typeof fsync !== "boolean") throw argumentError("fsync must be a boolean");
    if (typeof lockTimeoutMs !== "number" || !(lockTimeoutMs >= 0) || !Number.isFinite(lockTimeoutMs)) {
      throw argumentError("lockTimeoutMs must be a number of milliseconds >= 0");
    }
    this.directory = directory;
    this.fsync = fsync;
    this.lockTimeoutMs = lockTimeoutMs;
    /** Torn last lines repaired by this store: {agentId, action, byteCount, savedTo}. */
    this.recoveries = [];
  }

  /** The chain file of an agent (the id is checked first). */
  path(agentId) {
    validateAgentId(agentId);
    return path.join(this.directory, `pixels_${agentId}.jsonl`);
  }

  /** The agents that have a chain, sorted by UTF-16 code units. */
  agents() {
    let names;
    try {
      names = fs.readdirSync(this.directory);
    } catch (err) {
      if (err.code === "ENOENT") return [];
      throw ioError("cannot list", this.directory, err);
    }
    return names
      .filter((n) => n.startsWith("pixels_") && n.endsWith(".jsonl"))
      .map((n) => n.slice("pixels_".length, -".jsonl".length))
      .filter((id) => {
        try {
          validateAgentId(id);
          return true;
        } catch {
          return false;
        }
      })
      .sort();
  }

  #agent(agentId) {
    if (agentId !== undefined && agentId !== null) {
      validateAgentId(agentId);
      return agentId;
    }
    const agents = this.agents();
    if (agents.length === 1) return agents[0];
    if (agents.length === 0) throw makeError("NOT_FOUND", `the store ${this.directory} has no chain yet`);
    throw argumentError(`the store holds several agents (${agents.join(", ")}): name one`);
  }

  /** The chain file of an existing chain: NOT_FOUND when there is none, UNSAFE_PATH when not a file. */
  #existing(agent) {
    const file = this.path(agent);
    let st;
    try {
      st = fs.lstatSync(file);
    } catch (err) {
      if (err.code === "ENOENT") throw notFound(agent, this.directory);
      throw ioError("cannot stat", file, err);
    }
    if (!st.isFile()) throw unsafePath(file, st);
    return file;
  }

  #read(agent, fn) {
    const file = this.#existing(agent);
    return withFile(file, READ, (fd) => fn(fd, file), () => {
      throw notFound(agent, this.directory);
    });
  }

  /**
   * Exclusive write access to one agent's chain across processes (12.3): fn(tx) runs under the
   * lock and its result is returned. When fn returns a promise, the lock is kept until it
   * settles. An async fn waits behind other transactions of this process on the same chain; a
   * transaction opened inside another on the same chain joins it.
   */
  transaction(agentId, fn) {
    validateAgentId(agentId);
    if (typeof fn !== "function") throw argumentError("transaction takes a function (tx) => ...");
    return runTransaction(this, agentId, fn);
  }

  /** Runs op(session) in a transaction (joining one this code runs in). */
  #locked(agent, op) {
    return runTransaction(this, agent, () => op(REGISTRY.held.get(lockKey(this, agent)).session));
  }

  /** The trusted hash the first stored pixel links to, if the chain was pruned. */
  anchor(agentId) {
    return this.anchorRecord(agentId)?.anchor;
  }

  /** What pruning kept (12.2): `{anchor, firstSeq, frontier}`, or undefined when never pruned. */
  anchorRecord(agentId) {
    const agent = this.#agent(agentId);
    const file = this.#existing(agent);
    return readAnchor(path.join(this.directory, `pixels_${agent}.anchor`), file);
  }

  /** Complete stored lines, oldest first, streamed (a torn last line is left out). */
  lines(agentId) {
    const file = this.#existing(this.#agent(agentId));
    return (function* () {
      const fd = openRegular(file, READ);
      if (fd === undefined) return;
      try {
        for (const bytes of forwardLines(fd, file)) yield decodeLine(bytes, file);
      } finally {
        closeQuietly(fd);
      }
    })();
  }

  /** Pixels as plain objects, oldest first, streamed. */
  iter(agentId) {
    const lines = this.lines(agentId);
    return (function* () {
      for (const line of lines) yield parsePixel(line);
    })();
  }

  [Symbol.iterator]() {
    return this.iter();
  }

  /** The newest `limit` pixels (all when omitted), oldest first; with a limit, read from the end. */
  list(agentId, options = {}) {
    const limit = options?.limit;
    if (limit !== undefined && limit !== null && !(Number.isSafeInteger(limit) && limit >= 0)) {
      throw argumentError("limit must be an integer >= 0");
    }
    const agent = this.#agent(agentId);
    if (limit === undefined || limit === null) return [...this.iter(agent)];
    return this.#read(agent, (fd, file) => {
      const newest = [];
      if (limit === 0) return newest;
      for (const bytes of backwardLines(fd, file, sizeOf(fd, file))) {
        newest.push(bytes);
        if (newest.length === limit) break;
      }
      return newest.reverse().map((bytes) => parsePixel(decodeLine(bytes, file)));
    });
  }

  /** The newest complete pixel, read from the end of the file; undefined for an empty chain. */
  latest(agentId) {
    return this.#read(this.#agent(agentId), (fd, file) => {
      const line = lastLine(fd, file, sizeOf(fd, file));
      return line === undefined ? undefined : parsePixel(line);
    });
  }

  /** A pixel by seq (number or digits) or by hash / unique hex prefix (12.6). */
  get(key, agentId) {
    const wanted = parseKey(key);
    const agent = this.#agent(agentId);
    let found;
    let matches = 0;
    for (const line of this.lines(agent)) {
      const pixel = parsePixel(line);
      if (wanted.kind === "seq") {
        if (pixel.seq === wanted.seq) return pixel;
      } else if (typeof pixel.hash === "string" && pixel.hash.startsWith(`sha256:${wanted.prefix}`)) {
        matches += 1;
        found ??= pixel;
      }
    }
    if (matches > 1) {
      throw makeError("AMBIGUOUS_KEY", `${JSON.stringify(key)} matches ${matches} pixels of agent ${agent}: give more digits`);
    }
    if (found === undefined) pixelNotFound(agent, key);
    return found;
  }

  /** Repairs a torn last line (12.5; also done at the start of every transaction). */
  recover(agentId) {
    const agent = this.#agent(agentId);
    this.#existing(agent);
    return this.#locked(agent, (session) => session.recovery);
  }

  /** Appends a pixel (plain object or canonical line) that extends the stored head. */
  append(pixel) {
    const canonical = toJsonLine(pixel);
    const line = typeof pixel === "string" ? pixel : canonical;
    this.transaction(agentOfLine(canonical), (tx) => tx.append(line));
  }

  /** Keeps the newest `keep` pixels and records the anchor; returns how many were removed. */
  prune(keep, agentId) {
    if (!Number.isSafeInteger(keep) || keep < 1) throw argumentError("keep must be an integer >= 1 (the head is never pruned)");
    const agent = this.#agent(agentId);
    this.#existing(agent);
    return this.#locked(agent, (session) => session.prune(keep));
  }

  /** Verifies the stored chain, streaming the file (against its anchor, if pruned). */
  verify(agentId) {
    const agent = this.#agent(agentId);
    return this.#read(agent, (fd, file) => {
      const anchor = readAnchor(path.join(this.directory, `pixels_${agent}.anchor`), file)?.anchor;
      const verifier = new JsonlVerifier({ anchor });
      const buf = Buffer.allocUnsafe(CHUNK);
      for (let pos = 0, n; !verifier.failed && (n = readAt(fd, file, buf, pos)) > 0; pos += n) {
        verifier.feed(buf.subarray(0, n));
      }
      return verifier.finish();
    });
  }
}
