// Builds the viewer: a static site in one directory (index.html, the page's modules, the
// package's browser build under tokenpixel/, uPlot under vendor/) that any static host serves.
// No bundler. `node pkg/scripts/build.mjs` calls buildViewer() for pkg/dist/viewer/ (served by
// `npx tokenpixel view`) and for the Python package's viewer_site/ (`tokenpixel view`);
// `node viewer/build.mjs DIR` (make viewer) writes one more copy to DIR.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const pkgDist = path.join(root, "pkg", "dist");
const uplot = path.join(root, "pkg", "node_modules", "uplot", "dist");

/** The site's files: relative path in the site -> source file. */
export function siteFiles() {
  const files = {};
  for (const f of ["index.html", "app.js", "worker.js", "charts.js", "style.css"]) files[f] = path.join(here, f);
  for (const f of ["web.js", "api.js", "wasm-web/tokenpixel.js", "wasm-web/tokenpixel_bg.wasm"]) {
    files[`tokenpixel/${f}`] = path.join(pkgDist, f);
  }
  files["vendor/uPlot.esm.js"] = path.join(uplot, "uPlot.esm.js");
  files["vendor/uPlot.min.css"] = path.join(uplot, "uPlot.min.css");
  files["vendor/uPlot.LICENSE"] = path.join(uplot, "..", "LICENSE");
  return files;
}

export function buildViewer(out) {
  fs.rmSync(out, { recursive: true, force: true });
  for (const [rel, src] of Object.entries(siteFiles())) {
    if (!fs.existsSync(src)) throw new Error(`viewer: ${src} is missing (build the npm package, npm ci in pkg/)`);
    fs.mkdirSync(path.dirname(path.join(out, rel)), { recursive: true });
    fs.copyFileSync(src, path.join(out, rel));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const out = path.resolve(process.argv[2] ?? path.join(here, "dist"));
  buildViewer(out);
  console.log(`viewer: static site in ${path.relative(process.cwd(), out) || "."}/ (copy it to any static host)`);
}
