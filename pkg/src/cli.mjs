#!/usr/bin/env node
// `npx tokenpixel`: the pipeline commands of the Python CLI, with the same flags, output and
// exit codes (0 success, 1 verification failed, 2 usage error or unreadable input):
//   now [--notes N] [--corridor C]      emit [--corridor C] [--state-file F] [--context-file F]
//   head [--github]                     [--var K=V ...] [--github]
//   list [--limit N]                    verify [FILE] [--anchor H] [--expect-head H] [--json]
//   view [--port P] [--host H] [--no-browser]   (--store may be a URL: postgresql://, s3://)
// Common options: --store DIR (default .checkpoints), --agent ID (or TOKENPIXEL_AGENT).
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { JsonlVerifier, TokenPixelError, parseVerifierKey, validateAgentId, version } from "./node.mjs";
import { Checkpointer } from "./checkpointer.mjs";
import { JsonlStore } from "./store.mjs";

const DEFAULT_STORE = ".checkpoints";
const DEFAULT_CORRIDOR = "DISTRICT_0.CHAMBER_CLI.NODE_CHECKPOINT";
const CHUNK = 1 << 20;

class UsageError extends Error {}

const USAGE = `usage: tokenpixel [--store DIR] [--agent ID] COMMAND [options]

Tamper-evident checkpoints for agents and pipelines (the Node CLI: now, emit, head, list, verify).

  now      create a checkpoint now (--notes TEXT, --corridor C)
  emit     emit a pixel for a pipeline job: --corridor C [--state-file F] [--context-file F]
           [--var KEY=VALUE ...] [--github]; prints the new head hash
  head     print the chain's head hash [--github]
  list     list checkpoints [--limit N] [--json]
  verify   verify a chain file or the store [FILE] [--anchor H] [--expect-head H] [--json]
           [--key VKEY ...: also the signed checkpoint (TRUNCATED, ROOT_MISMATCH...)] [--log L]
  keygen   a new Ed25519 signing key: --name NAME [--out FILE]; prints the verifier key
  sign     sign a checkpoint of the chain's head: --key FILE [--log L]
  prove    an inclusion proof file for one pixel: --seq N [--out FILE]
  verify-proof FILE --key VKEY   check a proof file, no chain needed
  consistency OLD NEW --key VKEY a newer signed checkpoint extends an older one
  view     open the viewer on the store's chains [--port P (default 8765)] [--host H]
           [--no-browser] [--key VKEY ...: check signed checkpoints]; --store may also be
           postgresql://... or s3://bucket/prefix

--store DIR   store directory (default ${DEFAULT_STORE})
--agent ID    agent id (default: TOKENPIXEL_AGENT, else the store's only agent)
--version     print the version`;

const OPTIONS = {
  store: { type: "string" },
  agent: { type: "string" },
  json: { type: "boolean" },
  github: { type: "boolean" },
  notes: { type: "string" },
  corridor: { type: "string" },
  "state-file": { type: "string" },
  "context-file": { type: "string" },
  var: { type: "string", multiple: true },
  limit: { type: "string" },
  anchor: { type: "string" },
  "expect-head": { type: "string" },
  port: { type: "string" },
  name: { type: "string" },
  out: { type: "string" },
  log: { type: "string" },
  seq: { type: "string" },
  host: { type: "string" },
  "no-browser": { type: "boolean" },
  key: { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
};

const COMMANDS = {
  now: { options: ["notes", "corridor", "json"], run: cmdNow },
  emit: { options: ["corridor", "state-file", "context-file", "var", "github"], run: cmdEmit },
  head: { options: ["github"], run: cmdHead },
  list: { options: ["limit", "json"], run: cmdList },
  verify: { options: ["anchor", "expect-head", "json", "key", "log"], positional: true, run: cmdVerify },
  keygen: { options: ["name", "out"], run: cmdKeygen },
  sign: { options: ["key", "log", "json"], run: cmdSign },
  prove: { options: ["seq", "out"], run: cmdProve },
  "verify-proof": { options: ["key"], positional: true, run: cmdVerifyProof },
  consistency: { options: ["key"], positional: true, run: cmdConsistency },
  view: { options: ["port", "host", "no-browser", "key"], run: cmdView },
};

const rfc3339 = (ms) => new Date(ms).toISOString();
const shortId = (p) => p.hash.slice(7, 19);

function openStore(args) {
  const dir = args.store ?? DEFAULT_STORE;
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new UsageError(`--store ${dir} is not a directory`);
  return new JsonlStore(dir);
}

/** The agent named by --agent or TOKENPIXEL_AGENT (checked first), else the store's only agent. */
function agentOf(args, store, creating = false) {
  const named = args.agent || process.env.TOKENPIXEL_AGENT;
  if (named) {
    validateAgentId(named);
    return named;
  }
  const agents = store.agents();
  if (agents.length === 1) return agents[0];
  const where = args.store ?? DEFAULT_STORE;
  if (!agents.length) {
    if (creating) return "cli-agent";
    throw new UsageError(`no checkpoints in ${where}: create one with \`tokenpixel now\``);
  }
  throw new UsageError(`${where} holds several agents (${agents.join(", ")}): pass --agent`);
}

/** `--var k=5` stores the number 5, `k=true` a boolean, anything else a string. */
function parseVar(raw) {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function readObject(file, what) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${file}: ${err.message}`);
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} ${file} is not JSON: ${err.message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UsageError(`${what} ${file} must hold a JSON object`);
  return value;
}

const githubMode = (args) => Boolean(args.github) || process.env.GITHUB_ACTIONS === "true";

/** The session id for pipeline jobs: TOKENPIXEL_SESSION, or the GitHub run and job. */
function jobSession() {
  const explicit = process.env.TOKENPIXEL_SESSION;
  if (explicit) return explicit;
  const { GITHUB_RUN_ID: run, GITHUB_JOB: job } = process.env;
  if (run && job) return `gh-${run}-${job}`.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 128);
  return undefined;
}

/** `head=` to $GITHUB_OUTPUT; a Markdown table of this job's pixels to the step summary. */
function writeGithub(head, pixels) {
  const out = process.env.GITHUB_OUTPUT;
  if (out) fs.appendFileSync(out, `head=${head}\n`);
  const summary = process.env.GITHUB_STEP_SUMMARY;
  if (summary && pixels.length) {
    const rows = ["| seq | corridor | time (UTC) | hash |", "|---:|---|---|---|"];
    for (const p of pixels) rows.push(`| ${p.seq} | \`${p.corridor}\` | ${rfc3339(p.timestampMs)} | \`${shortId(p)}\` |`);
    fs.appendFileSync(summary, `### tokenpixel: ${pixels.at(-1).agentId}\n\n${rows.join("\n")}\n\n`);
  }
}

function json(data) {
  console.log(JSON.stringify(data, null, 2));
}

function cmdNow(args) {
  const store = openStore(args);
  const agent = agentOf(args, store, true);
  const cp = new Checkpointer(store, agent, { metrics: false });
  const context = { ...(cp.head?.context ?? {}) };
  if (args.notes !== undefined) context.notes = args.notes;
  const pixel = cp.emit(args.corridor ?? DEFAULT_CORRIDOR, { context });
  if (args.json) json(pixel);
  else console.log(`created checkpoint ${shortId(pixel)} (seq ${pixel.seq}) for ${agent} in ${args.store ?? DEFAULT_STORE}`);
  return 0;
}

function cmdEmit(args) {
  if (!args.corridor) throw new UsageError("emit needs --corridor (e.g. DISTRICT_2.CHAMBER_LORA.NODE_POST)");
  const store = openStore(args);
  const agent = agentOf(args, store, true);
  const state = args["state-file"] ? readObject(args["state-file"], "--state-file") : undefined;
  let context = args["context-file"] ? readObject(args["context-file"], "--context-file") : undefined;
  const cp = new Checkpointer(store, agent, { sessionId: jobSession(), metrics: false });
  if (args.var?.length) {
    // --var sets variables in the given context, else in the one carried from the head.
    context ??= { ...(cp.head?.context ?? {}) };
    const variables = { ...(context.variables ?? {}) };
    for (const item of args.var) {
      const at = item.indexOf("=");
      if (at <= 0) throw new UsageError(`--var takes KEY=VALUE, got ${JSON.stringify(item)}`);
      variables[item.slice(0, at)] = parseVar(item.slice(at + 1));
    }
    context = { ...(context ?? {}), variables };
  }
  const fields = {};
  if (state !== undefined) fields.state = state;
  if (context !== undefined) fields.context = context;
  const pixel = cp.emit(args.corridor, fields);
  console.log(pixel.hash);
  if (githubMode(args)) {
    const mine = store.list(agent, { limit: 100 }).filter((p) => p.sessionId === cp.sessionId);
    writeGithub(pixel.hash, mine);
  }
  return 0;
}

function cmdHead(args) {
  const store = openStore(args);
  const agent = agentOf(args, store);
  const head = store.latest(agent);
  if (head === undefined) throw new UsageError(`the chain of ${agent} is empty`);
  console.log(head.hash);
  if (githubMode(args)) writeGithub(head.hash, []);
  return 0;
}

function cmdList(args) {
  const limit = args.limit === undefined ? 20 : Number(args.limit);
  if (!Number.isSafeInteger(limit) || limit < 0) throw new UsageError(`--limit takes a count, got ${args.limit}`);
  const store = openStore(args);
  const agent = agentOf(args, store);
  const pixels = store.list(agent, { limit });
  if (args.json) {
    json(pixels);
    return 0;
  }
  if (!pixels.length) {
    console.log(`no checkpoints for ${agent}`);
    return 0;
  }
  console.log(`${"seq".padStart(6)}  ${"id".padEnd(12)}  ${"time (UTC)".padEnd(24)}  corridor`);
  for (const p of pixels) {
    const notes = p.context?.notes ? `  ${p.context.notes}` : "";
    console.log(`${String(p.seq).padStart(6)}  ${shortId(p).padEnd(12)}  ${rfc3339(p.timestampMs).padEnd(24)}  ${p.corridor}${notes}`);
  }
  return 0;
}

/** Streams a chain file through the verifier (a FIFO or device is refused, never read). */
function verifyFile(file, anchor) {
  let fd;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${err.message}`);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new UsageError(`${file} is not a regular file`);
    const verifier = new JsonlVerifier({ anchor });
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let n; !verifier.failed && (n = fs.readSync(fd, buf, 0, CHUNK, null)) > 0; ) verifier.feed(buf.subarray(0, n));
    return verifier.finish();
  } finally {
    fs.closeSync(fd);
  }
}

/** The explicit anchor, else the one a store recorded beside `pixels_<agent>.jsonl`. */
function anchorForFile(file, explicit) {
  if (explicit) return explicit;
  const name = path.basename(file);
  if (!name.startsWith("pixels_") || !name.endsWith(".jsonl")) return undefined;
  try {
    const agent = name.slice("pixels_".length, -".jsonl".length);
    validateAgentId(agent);
    return new JsonlStore(path.dirname(file)).anchor(agent);
  } catch (err) {
    if (err instanceof TokenPixelError) return undefined;
    throw err;
  }
}

function printReport(name, r) {
  if (r.ok) {
    console.log(`OK    ${name}: ${r.count} pixels, head ${r.head}`);
    return;
  }
  const e = r.error;
  const where = `pixel ${e.index}${e.line ? ` (line ${e.line})` : ""}`;
  console.log(`FAIL  ${name}: ${where}: ${e.code}: ${e.message}`);
}

/** `verify --key`: each chain and its signed checkpoint (SPEC 14.6), as the Python CLI prints. */
async function verifyKeys(args, agents) {
  const signing = await import("./signing.mjs");
  const store = await storeOf(args);
  let failed = 0;
  for (const agent of agents) {
    try {
      const head = await signing.verifySigned(store, agent, args.key, { log: args.log });
      const extra = head.count > head.size ? `, ${head.count - head.size} pixels after it` : "";
      console.log(`OK    ${agent}: signed by ${head.signedBy.join(", ")} at size ${head.size} (root ${head.root})${extra}`);
    } catch (err) {
      if (!(err instanceof TokenPixelError)) throw err;
      failed += 1;
      console.log(`FAIL  ${agent}: ${err.code}: ${err.message}`);
    }
  }
  await store.close?.();
  return failed ? 1 : 0;
}

/** The store named by --store: a directory, or a URL (postgresql://, s3://). */
async function storeOf(args) {
  const where = args.store ?? DEFAULT_STORE;
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(where)) {
    const { openStore: openUrl } = await import("./open_store.mjs");
    return openUrl(where);
  }
  return openStore(args);
}

/** The agent of a store that may be async (URL stores). */
async function agentOfStore(args, store) {
  const named = args.agent || process.env.TOKENPIXEL_AGENT;
  if (named) {
    validateAgentId(named);
    return named;
  }
  const agents = await store.agents();
  if (agents.length === 1) return agents[0];
  const where = args.store ?? DEFAULT_STORE;
  if (!agents.length) throw new UsageError(`no checkpoints in ${where}: create one with \`tokenpixel now\``);
  throw new UsageError(`${where} holds several agents (${agents.join(", ")}): pass --agent`);
}

async function cmdKeygen(args) {
  if (!args.name) throw new UsageError("keygen needs --name NAME (for example example.com/ci)");
  const { keygen, writeKey } = await import("./signing.mjs");
  const signer = keygen(args.name);
  const out = args.out ?? `${args.name.replaceAll("/", "_")}.key`;
  writeKey(out, signer);
  console.log(signer.verifier);
  console.error(`private key written to ${out} (mode 0600): keep it secret`);
  return 0;
}

async function cmdSign(args) {
  if (!args.key?.length) throw new UsageError("sign needs --key FILE (the private key file)");
  if (args.key.length > 1) throw new UsageError("sign takes one --key");
  const { readKey, signHead } = await import("./signing.mjs");
  const store = await storeOf(args);
  try {
    const agent = await agentOfStore(args, store);
    const signer = readKey(args.key[0]);
    const note = await signHead(store, agent, signer, args.log ?? signer.name);
    if (args.json) json({ agentId: agent, checkpoint: note });
    else process.stdout.write(note);
  } finally {
    await store.close?.();
  }
  return 0;
}

async function cmdProve(args) {
  if (args.seq === undefined || !/^[0-9]{1,16}$/.test(args.seq)) throw new UsageError("prove needs --seq N (a pixel's seq)");
  const { prove } = await import("./signing.mjs");
  const store = await storeOf(args);
  try {
    const agent = await agentOfStore(args, store);
    const text = await prove(store, agent, Number(args.seq));
    if (args.out) {
      fs.writeFileSync(args.out, text);
      console.log(`proof of seq ${args.seq} written to ${args.out}`);
    } else process.stdout.write(text);
  } finally {
    await store.close?.();
  }
  return 0;
}

function readText(file) {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${err.message}`);
  }
}

async function cmdVerifyProof(args, positionals) {
  if (positionals.length !== 1) throw new UsageError("verify-proof takes one proof file");
  if (!args.key?.length) throw new UsageError("verify-proof needs --key VKEY");
  const { verifyProof } = await import("./signing.mjs");
  const [file] = positionals;
  const text = readText(file);
  let proved;
  try {
    proved = verifyProof(text, args.key);
  } catch (err) {
    if (err instanceof TokenPixelError && ["PROOF_INVALID", "BAD_SIGNATURE", "UNKNOWN_KEY", "HASH_MISMATCH"].includes(err.code)) {
      console.log(`FAIL  ${file}: ${err.code}: ${err.message}`);
      return 1;
    }
    throw err;
  }
  console.log(`OK    ${file}: seq ${proved.seq} is in ${proved.origin} at size ${proved.size}, signed by ${proved.signedBy.join(", ")}`);
  return 0;
}

async function cmdConsistency(args, positionals) {
  if (positionals.length !== 2) throw new UsageError("consistency takes two checkpoint files: OLD NEW");
  if (!args.key?.length) throw new UsageError("consistency needs --key VKEY");
  const { checkConsistency } = await import("./signing.mjs");
  const [older, newer] = positionals.map(readText);
  const store = await storeOf(args);
  try {
    const agent = await agentOfStore(args, store);
    let proof;
    try {
      proof = await checkConsistency(store, agent, older, newer, args.key);
    } catch (err) {
      if (err instanceof TokenPixelError && ["PROOF_INVALID", "TRUNCATED", "ROOT_MISMATCH", "ORIGIN_MISMATCH"].includes(err.code)) {
        console.log(`FAIL  ${err.code}: ${err.message}`);
        return 1;
      }
      throw err;
    }
    console.log(`OK    the newer checkpoint extends the older (${proof.length} proof hashes)`);
    for (const h of proof) console.log(h);
  } finally {
    await store.close?.();
  }
  return 0;
}

function cmdVerify(args, positionals) {
  const results = [];
  if (positionals.length > 1) throw new UsageError("verify takes at most one file");
  if (args.key?.length && positionals.length) throw new UsageError("verify --key checks a store's chains, not a file: pass --store and --agent");
  if (positionals.length) {
    const file = positionals[0];
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new UsageError(`${file} is a directory: use --store ${file}`);
    results.push([file, verifyFile(file, anchorForFile(file, args.anchor))]);
  } else {
    const dir = args.store ?? DEFAULT_STORE;
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`no store at ${dir}`);
    const store = new JsonlStore(dir);
    const agents = args.agent || process.env.TOKENPIXEL_AGENT ? [agentOf(args, store)] : store.agents();
    if (!agents.length) throw new UsageError(`no chains in ${dir}`);
    if (args.key?.length) return verifyKeys(args, agents);
    for (const agent of agents) {
      const file = store.path(agent);
      const anchor = args.anchor ?? store.anchor(agent);
      results.push([file, verifyFile(file, anchor)]);
    }
  }
  const expect = args["expect-head"];
  if (expect !== undefined) {
    if (results.length !== 1) throw new UsageError("--expect-head needs one chain: pass --agent or a file");
    const [name, r] = results[0];
    if (r.ok && r.head !== expect) {
      console.log(`FAIL  ${name}: the chain ends at ${r.head}, expected ${expect} (pixels were cut from the end, or the chain was replaced)`);
      return 1;
    }
  }
  const ok = results.every(([, r]) => r.ok);
  if (args.json) json({ ok, results: results.map(([file, r]) => ({ file, ...r })) });
  else for (const [name, r] of results) printReport(name, r);
  return ok ? 0 : 1;
}

/** Serves the viewer until Ctrl-C (SIGINT) or SIGTERM; resolves to the exit status. */
async function cmdView(args) {
  const { createViewServer, isLoopback } = await import("./view.mjs");
  const port = args.port === undefined ? 8765 : Number(args.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${args.port} is not a port number`);
  const host = args.host ?? "127.0.0.1";
  const agent = args.agent || process.env.TOKENPIXEL_AGENT || null;
  if (agent) validateAgentId(agent);
  for (const key of args.key ?? []) parseVerifierKey(key); // a bad key is a usage error now, not a red page later
  const where = args.store ?? DEFAULT_STORE;
  const { openStore: openUrl } = await import("./open_store.mjs");
  const store = /^[a-z][a-z0-9+.-]+:\/\//i.test(where) ? await openUrl(where) : openStore(args);
  let server;
  try {
    server = createViewServer(store, { agent, keys: args.key ?? [] });
  } catch (err) {
    throw new UsageError(err.message);
  }
  if (!isLoopback(host)) {
    console.error(`warning: serving on ${host}, not only this machine: anyone who reaches this address can read every chain in the store`);
  }
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const { port: bound } = server.address();
  const shown = host.includes(":") ? `[${host}]` : host;
  const url = `http://${shown}:${bound}/${agent ? `?agent=${agent}` : ""}`;
  console.error(`tokenpixel view: ${url} (Ctrl-C stops)`);
  if (!args["no-browser"]) {
    const { spawn } = await import("node:child_process");
    const opener = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
    spawn(opener, [url], { stdio: "ignore", detached: true }).on("error", () => {}).unref();
  }
  await new Promise((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, resolve);
  });
  server.closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
  await store.close?.();
  console.error("stopped");
  return 0;
}

function report(err) {
  if (err instanceof UsageError) {
    console.error(`tokenpixel: ${err.message}`);
    return 2;
  }
  if (err instanceof TokenPixelError) {
    console.error(`tokenpixel: ${err.code}: ${err.message}`);
    return 2;
  }
  if (err?.code && typeof err.syscall === "string") {
    console.error(`tokenpixel: ${err.message}`);
    return 2;
  }
  throw err;
}

function main(argv = process.argv.slice(2)) {
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError(err.message);
    }
    const { values: args, positionals } = parsed;
    if (args.version) {
      console.log(`tokenpixel ${version}`);
      return 0;
    }
    if (args.help || !positionals.length) {
      (args.help ? console.log : console.error)(USAGE);
      return args.help ? 0 : 2;
    }
    const [name, ...rest] = positionals;
    const command = COMMANDS[name];
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)} (choose from ${Object.keys(COMMANDS).join(", ")})`);
    const allowed = new Set(["store", "agent", ...command.options]);
    const stray = Object.keys(args).find((k) => !allowed.has(k));
    if (stray) throw new UsageError(`${name} does not take --${stray}`);
    if (rest.length && !command.positional) throw new UsageError(`${name} takes no argument ${JSON.stringify(rest[0])}`);
    return command.run(args, rest);
  } catch (err) {
    return report(err);
  }
}

const status = main();
if (status instanceof Promise) status.then((code) => (process.exitCode = code), (err) => (process.exitCode = report(err)));
else process.exitCode = status;
