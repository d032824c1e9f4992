/**
 * The dynamic provider text every ManagedService records in state
 * (`__provider`, beside both its inputs and its outputs). The Node.js dynamic
 * provider host runs that text as a CommonJS module and calls its
 * `exports.handler()` for the provider object (check, diff, create, read,
 * update, delete); `pulumi.dynamic.Resource` is a CustomResource of type
 * `pulumi-nodejs:dynamic/<module>:<type>` whose `__provider` it fills by
 * serializing a closure. ManagedService writes the text itself instead:
 * the serializer's output for the same six methods was 2.6 to 3.4 kB, and
 * the engine rewrites the whole state after every step, so each resource's
 * state size is paid about twice per resource in the stack
 * (docs/decisions/021-small-pulumi-state.md).
 *
 * The engine runs the text from state, not from the program, for everything
 * the program no longer declares and for every refresh and destroy. So the
 * text names landform by package: it finds `landform` as the Pulumi project
 * sees it (the provider process runs in the project directory) and loads the
 * implementation inside that copy, so a stack moves between checkouts,
 * machines and CI with nothing rewritten. Only a program that loads landform
 * by path (a checkout, as this repo's own tests and example do) records that
 * path, as a fallback used while it still exists. Earlier texts keep working
 * (./implementation's path and exports stay); see diff in ./implementation.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import type * as implementation from "./implementation";

/** Equal to PROVIDER_FORMAT in ./shapes (a test holds them equal); the text's first line names it. */
export const SERIALIZED_FORMAT = "landform-pulumi-provider/3";
/** ./implementation as built (dist/); not resolved at load, so the TypeScript sources import too. */
const OWN = path.join(__dirname, "implementation.js");

/**
 * Whether the project directory finds this very copy of landform by package
 * name (`landform/package.json` is exported; the implementation sits at a
 * fixed place beside it in the same copy).
 */
function foundByPackage(): boolean {
  try {
    const found = createRequire(path.join(process.cwd(), "package.json")).resolve("landform/package.json");
    const inPackage = path.join(path.dirname(found), "dist/provider/pulumi/implementation.js");
    return fs.realpathSync(inPackage) === fs.realpathSync(OWN);
  } catch {
    return false;
  }
}

/**
 * The provider object, as it runs in the provider process. Its source text
 * (Function.prototype.toString of the compiled function) is what state
 * records, so it uses nothing from this module, only its argument, `require`
 * and `process`, and holds no comments. `load` takes the checkout's own copy
 * while it exists, else landform as the project finds it by package:
 * createRequire from the project directory looks in node_modules from there,
 * and finds the package's own name when the project is inside landform itself.
 */
function managedServiceProvider(checkout: string | undefined): pulumi.dynamic.ResourceProvider {
  const load = (): typeof implementation => {
    if (checkout && require("node:fs").existsSync(checkout)) return require(checkout);
    let found: string;
    try {
      found = require("node:module").createRequire(`${process.cwd()}/`).resolve("landform/package.json");
    } catch (cause) {
      const gone = checkout ? ` (nor ${checkout})` : "";
      throw new Error(
        `landform-pulumi-provider/3: no landform in the Pulumi project at ${process.cwd()}${gone}; npm install landform`,
        { cause },
      );
    }
    return require(found.replace(/package\.json$/, "dist/provider/pulumi/implementation.js"));
  };
  return {
    check: (o, n) => load().check(o, n),
    diff: (i, o, n) => load().diff(i, o, n),
    create: (n) => load().create(n),
    read: (i, p) => load().read(i, p),
    update: (i, o, n) => load().update(i, o, n),
    delete: (i, p) => load().remove(i, p),
  };
}

/** The `__provider` text for a program that finds landform by package (`checkout` undefined) or loads this checkout. */
export function providerText(checkout: string | undefined): string {
  const argument = checkout === undefined ? "undefined" : JSON.stringify(checkout);
  // Without the compiler's indentation: no line of the source is inside a multi-line literal.
  const source = managedServiceProvider.toString().replace(/^[ \t]+/gm, "");
  return (
    `// ${SERIALIZED_FORMAT}: landform's ManagedService, loaded from the project (docs/pulumi.md)\n` +
    `exports.handler = () => (${source})(${argument});\n`
  );
}

/** What this program's ManagedServices record. */
export const PROVIDER_TEXT = providerText(foundByPackage() ? undefined : OWN);
