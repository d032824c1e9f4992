/**
 * Runs a TypeScript module of this package before the build, e.g.
 * `node provider/cdk/run-ts.cjs provider/cdk/write.ts`: the build's own
 * output cannot make the files the build compiles, and Node 20 does not run
 * TypeScript. Each file is only transpiled; tsc type-checks all of them
 * right after.
 */
const fs = require("node:fs");
const path = require("node:path");
const ts = require("typescript");

require.extensions[".ts"] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, "utf8"), {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      sourceMap: false,
    },
  });
  module._compile(outputText, filename);
};

const entry = require(path.resolve(process.argv[2]));
if (typeof entry.main === "function") entry.main(process.argv.slice(3));
