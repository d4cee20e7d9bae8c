// Node CommonJS entry.
"use strict";
const { makeApi } = require("./api.cjs");
const api = makeApi(require("./wasm-node/tokenpixel.js"));
module.exports = api;
module.exports.default = api;
