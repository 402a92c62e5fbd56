// `node --require test/support/ts-require.js …`: a child process of a test can require the
// TypeScript sources as they are, transpiled one file at a time (as ts-jest does with isolatedModules).
const { readFileSync } = require("node:fs");
const ts = require("typescript");

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
};

require.extensions[".ts"] = function compileTypeScript(module, filename) {
  const { outputText } = ts.transpileModule(readFileSync(filename, "utf8"), { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};
