// `npx tokenpixel` (issue 10): the pipeline commands behave as the Python CLI's do, on one
// shared store: same output, same GitHub Actions files, same exit codes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import test from "node:test";
import { PKG, PYTHON, ROOT } from "./helpers.mjs";

const NODE_CLI = path.join(PKG, "dist", "cli.mjs");

function cli(lang, args, { cwd, env = {} }) {
  const [cmd, pre] = lang === "node" ? [process.execPath, [NODE_CLI]] : [PYTHON, ["-m", "tokenpixel"]];
  const clean = { ...process.env, GITHUB_ACTIONS: "", GITHUB_OUTPUT: "", GITHUB_STEP_SUMMARY: "", TOKENPIXEL_AGENT: "", ...env };
  const r = spawnSync(cmd, [...pre, ...args], { cwd, env: clean, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Both CLIs, each on its own copy of the store as it is now: their answers must agree. */
function both(args, dir, env = {}) {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), "tp-cli-copy-"));
  fs.cpSync(dir, copy, { recursive: true });
  const py = cli("python", args, { cwd: dir, env });
  const node = cli("node", args, { cwd: copy, env });
  return { py, node };
}

test("emit, head, list and verify agree with the Python CLI on one store", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-cli-"));
  const env = { TOKENPIXEL_SESSION: "job-1" };
  fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify({ docs: 3, model: "lora-7" }));
  // The languages take turns writing one chain.
  const steps = [
    ["node", ["emit", "--corridor", "DISTRICT_1.CHAMBER_INGEST.NODE_PRE", "--state-file", "state.json"]],
    ["python", ["emit", "--corridor", "DISTRICT_1.CHAMBER_INGEST.NODE_POST", "--var", "docs=3", "--var", "ok=true"]],
    ["node", ["emit", "--corridor", "DISTRICT_2.CHAMBER_LORA.NODE_PRE", "--var", "rank=8", "--var", "name=adapter x"]],
    ["node", ["now", "--notes", "manual checkpoint"]],
    ["python", ["emit", "--corridor", "DISTRICT_2.CHAMBER_LORA.NODE_POST", "--var", "rank=16"]],
  ];
  const hashes = [];
  for (const [lang, args] of steps) {
    const r = cli(lang, args, { cwd: dir, env });
    assert.equal(r.code, 0, r.err);
    hashes.push(r.out.trim().match(/sha256:[0-9a-f]{64}|[0-9a-f]{12}/)[0]);
  }
  const store = path.join(dir, ".checkpoints");
  const lines = fs.readFileSync(path.join(store, "pixels_cli-agent.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 5);
  assert.deepEqual(lines[1].context.variables, { docs: 3, ok: true });
  assert.deepEqual(lines[2].context.variables, { docs: 3, ok: true, rank: 8, name: "adapter x" }, "context carries forward");
  assert.equal(lines[3].context.notes, "manual checkpoint");
  assert.deepEqual(lines[4].context.variables, { docs: 3, ok: true, rank: 16, name: "adapter x" });
  assert.equal(lines[4].context.notes, "manual checkpoint");
  assert.deepEqual(lines[0].state, { docs: 3, model: "lora-7" });

  for (const args of [["head"], ["list"], ["list", "--limit", "2"], ["verify"], ["verify", path.join(store, "pixels_cli-agent.jsonl")], ["verify", "--expect-head", lines[4].hash]]) {
    const { py, node } = both(args, dir);
    assert.equal(node.code, py.code, `${args}: ${node.err} / ${py.err}`);
    assert.equal(node.out.replaceAll(path.join(dir, ".checkpoints"), "X"), py.out.replaceAll(path.join(dir, ".checkpoints"), "X"), args.join(" "));
  }
  const { py, node } = both(["verify", "--json"], dir);
  assert.deepEqual(JSON.parse(node.out), JSON.parse(py.out));
  assert.equal(cli("node", ["head"], { cwd: dir }).out.trim(), lines[4].hash);
});

test("--github writes the same head= and step summary; a cut chain fails --expect-head in both", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-cli-gh-"));
  const files = (tag) => ({ GITHUB_OUTPUT: path.join(dir, `out-${tag}`), GITHUB_STEP_SUMMARY: path.join(dir, `summary-${tag}`) });
  const run = (lang, tag, corridor) => {
    const r = cli(lang, ["emit", "--corridor", corridor], { cwd: dir, env: { GITHUB_ACTIONS: "true", GITHUB_RUN_ID: "77", GITHUB_JOB: `job ${tag}`, ...files(tag) } });
    assert.equal(r.code, 0, r.err);
    return r.out.trim();
  };
  const a = [run("python", "a", "DISTRICT_1.CHAMBER_0.NODE_PRE"), run("python", "a", "DISTRICT_1.CHAMBER_0.NODE_POST")];
  const b = [run("node", "b", "DISTRICT_2.CHAMBER_0.NODE_PRE"), run("node", "b", "DISTRICT_2.CHAMBER_0.NODE_POST")];
  const read = (f) => fs.readFileSync(f, "utf8");
  assert.equal(read(files("a").GITHUB_OUTPUT), `head=${a[0]}\nhead=${a[1]}\n`);
  assert.equal(read(files("b").GITHUB_OUTPUT), `head=${b[0]}\nhead=${b[1]}\n`);
  // Each job's table lists its own pixels (its session: gh-<run>-<job>), in the same format.
  const table = (s) => s.trim().split("\n\n").at(-1).split("\n");
  const [pyRows, nodeRows] = [table(read(files("a").GITHUB_STEP_SUMMARY)), table(read(files("b").GITHUB_STEP_SUMMARY))];
  assert.deepEqual(pyRows.slice(0, 2), nodeRows.slice(0, 2));
  assert.equal(pyRows.length, 4);
  assert.equal(nodeRows.length, 4);
  assert.match(nodeRows[2], /^\| 2 \| `DISTRICT_2\.CHAMBER_0\.NODE_PRE` \| \d{4}-\d\d-\d\dT[\d:.]+Z \| `[0-9a-f]{12}` \|$/);
  assert.match(pyRows[3], /^\| 1 \| `DISTRICT_1\.CHAMBER_0\.NODE_POST` \|/);
  const lines = fs.readFileSync(path.join(dir, ".checkpoints", "pixels_cli-agent.jsonl"), "utf8").trim().split("\n");
  assert.equal(JSON.parse(lines[3]).sessionId, "gh-77-job-b");

  // The next job expects b[1]; the artifact lost its last pixel on the way.
  fs.writeFileSync(path.join(dir, ".checkpoints", "pixels_cli-agent.jsonl"), lines.slice(0, 3).join("\n") + "\n");
  const { py, node } = both(["verify", "--expect-head", b[1]], dir);
  assert.equal(py.code, 1);
  assert.equal(node.code, 1);
  assert.equal(node.out, py.out);
  assert.match(node.out, /the chain ends at sha256:[0-9a-f]{64}, expected/);
});

test("errors: same exit codes in both CLIs", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-cli-err-"));
  fs.writeFileSync(path.join(dir, "bad.json"), "{not json");
  fs.writeFileSync(path.join(dir, "list.json"), "[1]");
  const cases = [
    [["head"], 2], // no chain yet
    [["verify"], 2], // no store
    [["emit", "--corridor", "DISTRICT_1.CHAMBER_0.NODE_PRE", "--var", "novalue"], 2],
    [["emit", "--corridor", "DISTRICT_1.CHAMBER_0.NODE_PRE", "--state-file", "bad.json"], 2],
    [["emit", "--corridor", "DISTRICT_1.CHAMBER_0.NODE_PRE", "--state-file", "list.json"], 2],
    [["emit", "--corridor", "not a corridor"], 2],
    [["--agent", "../etc", "head"], 2],
    [["emit", "--corridor", "DISTRICT_1.CHAMBER_0.NODE_PRE", "--state-file", "missing.json"], 2],
  ];
  for (const [args, code] of cases) {
    const { py, node } = both(args, dir);
    assert.equal(py.code, code, `python ${args}: ${py.err}`);
    assert.equal(node.code, code, `node ${args}: ${node.err}`);
    assert.match(node.err, /^tokenpixel: /, args.join(" "));
  }
  assert.equal(fs.existsSync(path.join(dir, ".checkpoints", "pixels_cli-agent.jsonl")), false, "nothing was written");
  // A tampered chain: exit 1 and the same report line.
  assert.equal(cli("node", ["emit", "--corridor", "DISTRICT_1.CHAMBER_0.NODE_PRE"], { cwd: dir }).code, 0);
  const file = path.join(dir, ".checkpoints", "pixels_cli-agent.jsonl");
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("DISTRICT_1", "DISTRICT_3"));
  const { py, node } = both(["verify"], dir);
  assert.deepEqual([py.code, node.code], [1, 1]);
  assert.equal(node.out, py.out);
});

test("npx tokenpixel runs the package's bin", () => {
  const r = spawnSync("npx", ["--no-install", "tokenpixel", "--version"], { cwd: path.join(ROOT, "examples"), encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^tokenpixel \d+\.\d+\.\d+/);
});
