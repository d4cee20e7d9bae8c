// The README's Node example runs as written.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { PKG, ROOT } from "./helpers.mjs";

test("README Node example runs", () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 1);
  // Inside the package directory, `import "tokenpixel"` resolves to this package itself.
  const file = path.join(PKG, "test", ".readme-example.mjs");
  fs.writeFileSync(file, blocks[0]);
  try {
    const out = execFileSync(process.execPath, [file], { encoding: "utf8" });
    assert.match(out, /ok: true,\s+count: 2/);
    assert.match(out, /true 3/);
    assert.match(out, /\{"a":\[1e\+21\],"b":1\}/);
    assert.match(out, /UNSUPPORTED_TYPE .*\$\.state\.when/);
  } finally {
    fs.rmSync(file, { force: true });
  }
});
