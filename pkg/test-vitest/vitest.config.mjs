// Vitest for LangGraph.js's checkpointer conformance suite (`npm run test:langgraph`): the suite
// uses Vitest's globals (describe, it, expect), as in LangGraph.js's own saver packages.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  test: {
    root: path.dirname(here),
    include: ["test-vitest/**/*.test.mjs"],
    globals: true,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
