// LangGraph.js's own checkpointer conformance suite (@langchain/langgraph-checkpoint-validation)
// on TokenPixelSaver over a JSONL store: every test of `validate`, plus the opt-in
// getDeltaChannelHistory group. The suite skips "should only store channel_values that have
// changed (based on newVersions)" by checkpointer name for MemorySaver, MongoDB and SQLite only:
// under the name "TokenPixelSaver" it runs (checked below).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { deltaChannelHistoryTests, validate } from "@langchain/langgraph-checkpoint-validation";
import { JsonlStore } from "tokenpixel/node";
import { TokenPixelSaver } from "tokenpixel/langgraph";

const NAME = "TokenPixelSaver";
const dirs = new Map();

const initializer = {
  checkpointerName: NAME,
  createCheckpointer() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tp-lg-vitest-"));
    const saver = new TokenPixelSaver(new JsonlStore(dir));
    dirs.set(saver, dir);
    return saver;
  },
  destroyCheckpointer(saver) {
    const dir = dirs.get(saver);
    dirs.delete(saver);
    // Every chain the suite wrote verifies, and every blob is where its pixel says.
    for (const agent of saver.store.agents()) expect(saver.store.verify(agent).ok).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  },
};

validate(initializer);
deltaChannelHistoryTests(initializer);

// The suite decides what to skip by checkpointer name (it_skipForSomeModules): record which
// tests ran (afterEach runs for no skipped test) and check at the end that its channel-deltas test
// did.
const ran = new Set();
afterEach((context) => {
  ran.add(context.task.name);
});

describe(`${NAME} is held to the whole suite`, () => {
  it("ran the test the suite skips for LangGraph's own savers", () => {
    expect(ran).toContain("should only store channel_values that have changed (based on newVersions)");
    expect([...ran].filter((name) => name.startsWith("[because"))).toEqual([]);
  });
});
