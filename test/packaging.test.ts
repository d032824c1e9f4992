/**
 * The packed package as TypeScript users consume it: every subpath resolves
 * with types under every module resolution they use (node10, node16,
 * nodenext, bundler), from CommonJS and from ES module programs, with
 * TypeScript 5 and 7; and the compiled programs load the package at run time.
 *
 * Only diagnostics in the consumer's own files and in our package's
 * declarations fail the test: other packages' declaration files are not ours
 * to fix (and ts-node, which `pulumi up` uses, reports per compiled file, not
 * for libraries).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { linkDependencies, tscOf, typeErrors } from "./support/consumer";
import { ROOT } from "./support/serve";

/** Every entry point the package exports; the consumer below imports each. */
const SUBPATHS = [
  "landform",
  "landform/sdk",
  "landform/pulumi",
  "landform/cdktf",
  "landform/cdktn",
  "landform/policy",
  "landform/control-plane",
];

const CONSUMER = `
import { CodesphereClient, waitForState, type ManagedService as Service } from "landform/sdk";
import { CodesphereClient as RootClient } from "landform";
import { ManagedService, Landscape } from "landform/pulumi";
import { CodesphereProvider, Landscape as TfLandscape, ManagedService as TfManagedService } from "landform/cdktf";
import { Landscape as TnLandscape, ManagedService as TnManagedService } from "landform/cdktn";
import { landformPolicyPack } from "landform/policy";
import { startControlPlane } from "landform/control-plane";

const client: CodesphereClient = new RootClient({ baseUrl: "http://127.0.0.1:9/api", token: "t" });
const seen: Array<Service | undefined> = [];
const parts: Record<string, unknown> = {
  CodesphereClient: RootClient, waitForState, ManagedService, Landscape, CodesphereProvider,
  TfLandscape, TfManagedService, TnLandscape, TnManagedService, landformPolicyPack, startControlPlane, client, seen,
};
const missing = Object.entries(parts).filter(([, v]) => v === undefined).map(([k]) => k);
if (missing.length > 0) throw new Error("undefined at run time: " + missing.join(", "));
console.log("loaded " + Object.keys(parts).length);
`;

type Resolution = "node10" | "node16" | "nodenext" | "bundler";
type Flavor = "commonjs" | "module";

const moduleFor = (resolution: Resolution, flavor: Flavor): string =>
  resolution === "node10"
    ? flavor === "commonjs"
      ? "commonjs"
      : "esnext"
    : resolution === "bundler"
      ? "esnext"
      : resolution;

let work = "";
let packageDir = "";

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "landform-consumers-"));
  const packed = execFileSync("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", work], {
    cwd: ROOT,
    encoding: "utf8",
  }).trim();
  // One node_modules for every consumer: the packed package, and the
  // repository's installed dependencies beside it (as npm would hoist them).
  packageDir = join(work, "node_modules", "landform");
  mkdirSync(packageDir, { recursive: true });
  execFileSync("tar", [
    "-xzf",
    join(work, packed.split("\n").pop() as string),
    "-C",
    packageDir,
    "--strip-components=1",
  ]);
  linkDependencies(work);
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Type-checks (and emits) one consumer; returns the diagnostics that are ours or the consumer's. */
function compile(major: 5 | 7, resolution: Resolution, flavor: Flavor): { dir: string; errors: string[] } {
  const dir = join(work, `ts${major}-${resolution}-${flavor}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: flavor }));
  writeFileSync(join(dir, "index.ts"), CONSUMER);
  const args = [
    "--strict",
    "--target",
    "es2022",
    "--module",
    moduleFor(resolution, flavor),
    "--moduleResolution",
    resolution,
    "--types",
    "node",
    "--outDir",
    join(dir, "out"),
    join(dir, "index.ts"),
  ];
  if (major === 5 && resolution === "node10") args.push("--esModuleInterop");
  const errors = typeErrors(tscOf(major), args, dir);
  return { dir, errors };
}

const CASES: [5 | 7, Resolution, Flavor][] = [];
for (const major of [5, 7] as const)
  for (const resolution of ["node10", "node16", "nodenext", "bundler"] as const)
    for (const flavor of ["commonjs", "module"] as const)
      if (!(major === 7 && resolution === "node10")) CASES.push([major, resolution, flavor]);

describe("the packed package under every module resolution", () => {
  it.each(CASES)(
    "TypeScript %i, moduleResolution %s, a %s program: every subpath has types",
    (major, resolution, flavor) => {
      const { dir, errors } = compile(major, resolution, flavor);
      expect(errors).toEqual([]);
      // Programs Node runs as they are compiled also load every subpath at run time.
      if (
        resolution === "node16" ||
        resolution === "nodenext" ||
        (resolution === "node10" && flavor === "commonjs")
      ) {
        const out = execFileSync(process.execPath, [join(dir, "out", "index.js")], {
          cwd: dir,
          encoding: "utf8",
        });
        expect(out).toContain("loaded 13");
      }
    },
  );

  it("TypeScript 7 has removed node10 resolution, so node10 users are on TypeScript 5 or 6", () => {
    const { errors } = compile(7, "node10", "commonjs");
    expect(errors.join("\n")).toMatch(/TS5108|node10/);
  });

  it("names every subpath the package exports", () => {
    const pkg = require(join(packageDir, "package.json")) as { exports: Record<string, unknown> };
    const exported = Object.keys(pkg.exports)
      .filter((k) => k !== "./package.json")
      .map((k) => (k === "." ? "landform" : `landform/${k.slice(2)}`));
    expect(exported.sort()).toEqual([...SUBPATHS].sort());
    for (const subpath of SUBPATHS) expect(CONSUMER).toContain(`from "${subpath}"`);
  });
});
