// Preloaded (`node --require`) into a server process by test/production.test.ts: when the process
// exits, it writes the files of every CommonJS module it loaded to $USAGEGRAPH_LOADED_MODULES.
"use strict";
const { writeFileSync } = require("node:fs");

const target = process.env.USAGEGRAPH_LOADED_MODULES;
if (target) process.on("exit", () => writeFileSync(target, JSON.stringify(Object.keys(require.cache))));
