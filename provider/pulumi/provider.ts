/**
 * The dynamic provider object Pulumi serializes into every ManagedService's
 * state (`__provider`). Pulumi captures module-scope values by value and
 * local modules deeply, so this object holds nothing but thin functions and
 * a few strings; each call loads ./implementation in the provider process,
 * where the real code lives as an ordinary module.
 *
 * The engine runs the serialized text from state, not from the program, for
 * everything the program no longer declares and for every refresh and
 * destroy. So the text names landform by package: it finds `landform` as
 * the Pulumi project sees it (the provider process runs in the project
 * directory) and loads the implementation inside that copy, so a stack moves
 * between checkouts, machines and CI with nothing rewritten.
 *
 * Only a program that loads landform by path (a checkout, as this repo's own
 * tests and example do) records that path, as a fallback used while it still
 * exists. States written by the earlier stub carry just an absolute path;
 * their next `pulumi up` rewrites them (see diff in ./implementation).
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import type * as implementation from "./implementation";

/** Equal to PROVIDER_FORMAT in ./shapes (a test holds them equal); the state's text carries it. */
export const SERIALIZED_FORMAT = "landform-pulumi-provider/2";
/** Exported by the package; the implementation sits at a fixed place beside it in the same copy. */
const SPECIFIER = "landform/package.json";
const IN_PACKAGE = "dist/provider/pulumi/implementation.js";
/** ./implementation as built (dist/); not resolved at load, so the TypeScript sources import too. */
const OWN = path.join(__dirname, "implementation.js");

/** Whether the project directory finds this very copy of landform by package name. */
function foundByPackage(): boolean {
  try {
    const found = createRequire(path.join(process.cwd(), "package.json")).resolve(SPECIFIER);
    return fs.realpathSync(path.join(path.dirname(found), IN_PACKAGE)) === fs.realpathSync(OWN);
  } catch {
    return false;
  }
}

const CHECKOUT: string | undefined = foundByPackage() ? undefined : OWN;

/** Runs in the provider process, from the text in state; uses only what it requires itself. */
function load(): typeof implementation {
  const format = SERIALIZED_FORMAT;
  const checkout = CHECKOUT;
  const specifier = SPECIFIER;
  const inPackage = IN_PACKAGE;
  const nodeFs = require("node:fs") as typeof fs;
  const nodePath = require("node:path") as typeof path;
  if (checkout !== undefined && nodeFs.existsSync(checkout)) return require(checkout);
  // createRequire from a file in the project: node_modules lookup from there, and the
  // package's own name when the project is inside landform itself.
  const fromProject = (require("node:module") as typeof import("node:module")).createRequire(
    nodePath.join(process.cwd(), "package.json"),
  );
  let packageDir: string;
  try {
    packageDir = nodePath.dirname(fromProject.resolve(specifier));
  } catch (error) {
    throw new Error(
      `${format}: cannot find the landform package from the Pulumi project at ${process.cwd()}` +
        (checkout === undefined ? "" : ` (the checkout it was deployed with, ${checkout}, is gone)`) +
        "; install landform in the project (npm install landform)",
      { cause: error },
    );
  }
  return require(nodePath.join(packageDir, inPackage));
}

export const managedServiceProvider: pulumi.dynamic.ResourceProvider = {
  check: (olds, news) => load().check(olds, news),
  diff: (id, olds, news) => load().diff(id, olds, news),
  create: (inputs) => load().create(inputs),
  read: (id, props) => load().read(id, props),
  update: (id, olds, news) => load().update(id, olds, news),
  delete: (id, props) => load().remove(id, props),
};
