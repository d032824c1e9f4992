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
const FORMAT = "landform-pulumi-provider/3";
export const SERIALIZED_FORMAT = FORMAT;
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

const CHECKOUT: string | undefined = foundByPackage() ? undefined : OWN;

/*
 * The text below is what state records, twice per resource (inputs and
 * outputs), and the engine rewrites the whole state after every step: every
 * byte counts (docs/decisions/020-small-pulumi-state.md). Hence no comments
 * inside the functions (the serializer keeps them), literals instead of named
 * constants, and the modules imported at the top (the serializer writes a
 * captured module as one `require`; not node:path, which on POSIX it names
 * `path/posix`). `load` runs in the provider process: the checkout's own copy
 * while it exists, else landform as the project finds it by package
 * (createRequire from the project directory: node_modules lookup from there,
 * and the package's own name when the project is inside landform itself).
 */
function load(): typeof implementation {
  if (CHECKOUT && fs.existsSync(CHECKOUT)) return require(CHECKOUT);
  let found: string;
  try {
    found = createRequire(`${process.cwd()}/`).resolve("landform/package.json");
  } catch (error) {
    const gone = CHECKOUT ? ` (nor ${CHECKOUT})` : "";
    throw new Error(
      `${FORMAT}: no landform in the Pulumi project at ${process.cwd()}${gone}; npm install landform`,
      {
        cause: error,
      },
    );
  }
  return require(found.replace(/package\.json$/, "dist/provider/pulumi/implementation.js"));
}

export const managedServiceProvider: pulumi.dynamic.ResourceProvider = {
  check: (o, n) => load().check(o, n),
  diff: (i, o, n) => load().diff(i, o, n),
  create: (n) => load().create(n),
  read: (i, p) => load().read(i, p),
  update: (i, o, n) => load().update(i, o, n),
  delete: (i, p) => load().remove(i, p),
};
