/**
 * The `__provider` texts earlier landform versions recorded in Pulumi state,
 * exactly as Pulumi 3.248's closure serializer wrote them, so tests can turn a
 * fresh state into one written by an older landform (`pulumi stack import`)
 * and show that the current one still refreshes, updates and destroys it.
 *
 * - the first stub (format 1): `require` of a checkout's absolute path;
 * - format 2 (`landform-pulumi-provider/2`): landform found by package from
 *   the project, a checkout's path only as a fallback; 3.4 kB, which format 3
 *   cut down (docs/decisions/021-small-pulumi-state.md).
 */

/** One serialized provider method: the serializer's wrapper around `body`. */
function method(name: string, params: string, body: string): string {
  return `function ${name}(${params}) {
  return (function() {
    with({ load: __load, this: undefined, arguments: undefined }) {

return ${body};

    }
  }).apply(undefined, undefined).apply(this, arguments);
}
`;
}

const METHODS = `${method("__f1", "__0, __1", "(olds, news) => load().check(olds, news)")}
${method("__f2", "__0, __1, __2", "(id, olds, news) => load().diff(id, olds, news)")}
${method("__f3", "__0", "(inputs) => load().create(inputs)")}
${method("__f4", "__0, __1", "(id, props) => load().read(id, props)")}
${method("__f5", "__0, __1, __2", "(id, olds, news) => load().update(id, olds, news)")}
${method("__f6", "__0, __1", "(id, props) => load().remove(id, props)")}
function __f0() {
  return (function() {
    with({ provider: __provider, this: undefined, arguments: undefined }) {

return () => provider;

    }
  }).apply(undefined, undefined).apply(this, arguments);
}
`;

/** The first stub: loads the implementation at this absolute path, nothing else. */
export function pathBoundProvider(implementation: string): string {
  return `exports.handler = __f0;

var __provider = {check: __f1, diff: __f2, create: __f3, read: __f4, update: __f5, delete: __f6};

function __load() {
  return (function() {
    with({ IMPLEMENTATION: ${JSON.stringify(implementation)}, load: __load, this: undefined, arguments: undefined }) {

return function /*load*/() {
    return require(IMPLEMENTATION);
};

    }
  }).apply(undefined, undefined).apply(this, arguments);
}

${METHODS}`;
}

/**
 * Format 2, as written for a program that finds landform by package
 * (`checkout` undefined) or loads a checkout by path (`checkout`: that
 * checkout's dist/provider/pulumi/implementation.js).
 */
export function secondFormatProvider(checkout?: string): string {
  const recorded = checkout === undefined ? "undefined" : JSON.stringify(checkout);
  return `exports.handler = __f0;

var __exports = {SERIALIZED_FORMAT: "landform-pulumi-provider/2"};
var __provider = {check: __f1, diff: __f2, create: __f3, read: __f4, update: __f5, delete: __f6};

function __load() {
  return (function() {
    with({ exports: __exports, CHECKOUT: ${recorded}, SPECIFIER: "landform/package.json", IN_PACKAGE: "dist/provider/pulumi/implementation.js", load: __load, this: undefined, arguments: undefined }) {

return function /*load*/() {
    const format = exports.SERIALIZED_FORMAT;
    const checkout = CHECKOUT;
    const specifier = SPECIFIER;
    const inPackage = IN_PACKAGE;
    const nodeFs = require("node:fs");
    const nodePath = require("node:path");
    if (checkout !== undefined && nodeFs.existsSync(checkout))
        return require(checkout);
    // createRequire from a file in the project: node_modules lookup from there, and the
    // package's own name when the project is inside landform itself.
    const fromProject = require("node:module").createRequire(nodePath.join(process.cwd(), "package.json"));
    let packageDir;
    try {
        packageDir = nodePath.dirname(fromProject.resolve(specifier));
    }
    catch (error) {
        throw new Error(\`\${format}: cannot find the landform package from the Pulumi project at \${process.cwd()}\` +
            (checkout === undefined ? "" : \` (the checkout it was deployed with, \${checkout}, is gone)\`) +
            "; install landform in the project (npm install landform)", { cause: error });
    }
    return require(nodePath.join(packageDir, inPackage));
};

    }
  }).apply(undefined, undefined).apply(this, arguments);
}

${METHODS}`;
}
