// Builds the npm package into pkg/dist: the wasm crate (profile wasm-release), wasm-bindgen
// glue for Node (nodejs target) and for browsers/bundlers (web target), wasm-opt when
// available, and the JS layer in ESM and CommonJS. Prints the wasm size, raw and gzipped.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import zlib from "node:zlib";

const pkg = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const root = path.dirname(pkg);
const dist = path.join(pkg, "dist");
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });

run("cargo", ["build", "-p", "tokenpixel-js", "--target", "wasm32-unknown-unknown", "--profile", "wasm-release"]);
const wasmIn = path.join(root, "target/wasm32-unknown-unknown/wasm-release/tokenpixel_js.wasm");

fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist, { recursive: true });
const sizes = {};
for (const [target, dir] of [
  ["nodejs", "wasm-node"],
  ["web", "wasm-web"],
]) {
  const out = path.join(dist, dir);
  run("wasm-bindgen", [wasmIn, "--target", target, "--out-dir", out, "--out-name", "tokenpixel", "--weak-refs"]);
  const bg = path.join(out, "tokenpixel_bg.wasm");
  const before = fs.statSync(bg).size;
  // binaryen from npm (pinned in devDependencies): Debian's wasm-opt is too old to read
  // the bulk-memory instructions rustc emits.
  const wasmOpt = path.join(pkg, "node_modules", ".bin", "wasm-opt");
  if (!fs.existsSync(wasmOpt)) {
    throw new Error(`wasm-opt is required for the release build and was not found at ${wasmOpt}: run \`npm ci\` in pkg/`);
  }
  {
    run(wasmOpt, [
      "-O3",
      "--enable-bulk-memory",
      "--enable-nontrapping-float-to-int",
      "--enable-sign-ext",
      "--enable-mutable-globals",
      "--enable-reference-types",
      "--enable-multivalue",
      bg,
      "-o",
      bg,
    ]);
  }
  const bytes = fs.readFileSync(bg);
  sizes[dir] = { beforeOpt: before, raw: bytes.length, gzip: zlib.gzipSync(bytes, { level: 9 }).length };
  // wasm-bindgen's own package.json would shadow ours ("type"); the glue's module kind is fixed
  // by the target, so state it explicitly.
  fs.rmSync(path.join(out, "package.json"), { force: true });
  fs.rmSync(path.join(out, ".gitignore"), { force: true });
}
// The nodejs target is CommonJS: mark its folder so Node never reads it as ESM.
fs.writeFileSync(path.join(dist, "wasm-node", "package.json"), '{ "type": "commonjs" }\n');

for (const f of [
  "api.js",
  "node.mjs",
  "node.cjs",
  "web.js",
  "store.mjs",
  "pg_store.mjs",
  "s3_store.mjs",
  "open_store.mjs",
  "checkpointer.mjs",
  "langgraph.mjs",
  "metrics.mjs",
  "node-entry.mjs",
  "cli.mjs",
  "view.mjs",
  "signing.mjs",
  "transaction.mjs",
]) {
  fs.copyFileSync(path.join(pkg, "src", f), path.join(dist, f));
}

/** ESM -> CommonJS for our two small modules (only the import/export forms they use). */
function toCjs(src, renames) {
  const exported = [];
  let out = src
    .replace(/^import (\w+) from "([^"]+)";$/gm, (_, name, mod) => `const ${name} = require("${mod}");`)
    .replace(/^import \{([^}]+)\} from "([^"]+)";$/gm, (_, names, mod) => `const {${names}} = require("${renames[mod] ?? mod}");`)
    .replace(/\bimport\.meta\.url\b/g, "__filename")
    .replace(/^export (class|async function|function|const) (\w+)/gm, (_, kind, name) => {
      exported.push(name);
      return `${kind} ${name}`;
    });
  if (/^\s*(import|export)\s/m.test(out)) throw new Error("toCjs: unsupported import/export form");
  out = `"use strict";\n${out}\nmodule.exports = { ${exported.join(", ")} };\n`;
  return out;
}
fs.writeFileSync(path.join(dist, "api.cjs"), toCjs(fs.readFileSync(path.join(pkg, "src/api.js"), "utf8"), {}));
const cjsRenames = { "./node.mjs": "./node.cjs", "./transaction.mjs": "./transaction.cjs" };
for (const name of ["transaction", "store", "pg_store", "s3_store"]) {
  fs.writeFileSync(path.join(dist, `${name}.cjs`), toCjs(fs.readFileSync(path.join(pkg, `src/${name}.mjs`), "utf8"), cjsRenames));
}
fs.writeFileSync(
  path.join(dist, "open_store.cjs"),
  toCjs(fs.readFileSync(path.join(pkg, "src/open_store.mjs"), "utf8"), {
    "./node.mjs": "./node.cjs",
    "./store.mjs": "./store.cjs",
    "./pg_store.mjs": "./pg_store.cjs",
    "./s3_store.mjs": "./s3_store.cjs",
  }),
);
fs.writeFileSync(
  path.join(dist, "signing.cjs"),
  toCjs(fs.readFileSync(path.join(pkg, "src/signing.mjs"), "utf8"), { "./node.mjs": "./node.cjs" }),
);
fs.writeFileSync(
  path.join(dist, "metrics.cjs"),
  toCjs(fs.readFileSync(path.join(pkg, "src/metrics.mjs"), "utf8"), { "./node.mjs": "./node.cjs" }),
);
fs.writeFileSync(
  path.join(dist, "checkpointer.cjs"),
  toCjs(fs.readFileSync(path.join(pkg, "src/checkpointer.mjs"), "utf8"), { "./node.mjs": "./node.cjs", "./metrics.mjs": "./metrics.cjs" }),
);
// `tokenpixel/node` in CommonJS: the same exports as node-entry.mjs.
fs.writeFileSync(
  path.join(dist, "node-entry.cjs"),
  '"use strict";\nconst { PG_MIGRATIONS, PG_SETUP_LOCK } = require("./node.cjs");\n' +
    "module.exports = {\n" +
    '  ...require("./store.cjs"),\n' +
    '  ...require("./pg_store.cjs"),\n' +
    '  ...require("./s3_store.cjs"),\n' +
    '  ...require("./open_store.cjs"),\n' +
    '  ...require("./checkpointer.cjs"),\n' +
    '  ...require("./signing.cjs"),\n' +
    "  PG_MIGRATIONS,\n" +
    "  PG_SETUP_LOCK,\n" +
    "};\n",
);
fs.chmodSync(path.join(dist, "cli.mjs"), 0o755); // the `tokenpixel` bin
fs.copyFileSync(path.join(root, "README.md"), path.join(pkg, "README.md"));
// The viewer's static site: in the npm package (`npx tokenpixel view`) and in the Python
// package (`tokenpixel view`), the same files.
const { buildViewer } = await import(pathToFileURL(path.join(root, "viewer", "build.mjs")).href);
buildViewer(path.join(dist, "viewer"));
buildViewer(path.join(root, "bindings-py", "python", "tokenpixel", "viewer_site"));

for (const [dir, s] of Object.entries(sizes)) {
  console.log(
    `wasm ${dir}: ${(s.raw / 1024).toFixed(1)} KiB raw (${(s.beforeOpt / 1024).toFixed(1)} KiB before wasm-opt), ${(s.gzip / 1024).toFixed(1)} KiB gzipped`,
  );
}
