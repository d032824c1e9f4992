/**
 * A directory laid out as a user's project that depends on landform: its
 * node_modules holds landform (the packed package, or this checkout) and the
 * repository's installed dependencies beside it, as npm would hoist them.
 * TypeScript programs in it are checked with a chosen compiler and settings.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./serve";

/** Fills `dir/node_modules` with the repository's dependencies, and landform from `landformDir` (linked) unless it is already there. */
export function linkDependencies(dir: string, landformDir?: string): void {
  const modules = join(dir, "node_modules");
  mkdirSync(modules, { recursive: true });
  for (const name of readdirSync(join(ROOT, "node_modules"))) {
    if (name === "landform" || name.startsWith(".")) continue;
    symlinkSync(join(ROOT, "node_modules", name), join(modules, name));
  }
  if (landformDir) symlinkSync(landformDir, join(modules, "landform"));
}

export const tscOf = (major: 5 | 7) => join(ROOT, "node_modules", `typescript${major}`, "bin", "tsc");

/**
 * Runs tsc and returns its error lines that concern the program or landform:
 * other packages' declaration files are not ours to fix (and ts-node, which
 * `pulumi up` uses, reports diagnostics per compiled file, not for libraries).
 */
export function typeErrors(tsc: string, args: string[], cwd: string): string[] {
  let output = "";
  try {
    output = execFileSync(tsc, [...args, "--pretty", "false"], { cwd, encoding: "utf8" });
  } catch (error) {
    output = String((error as { stdout?: string }).stdout ?? error);
  }
  return output
    .split("\n")
    .filter((line) => /error TS\d+/.test(line))
    .filter((line) => !line.includes("node_modules/") || line.includes("node_modules/landform/"));
}

/** The compiler settings of `pulumi new typescript`'s tsconfig.json, as flags. */
export const PULUMI_TEMPLATE_FLAGS = [
  "--strict",
  "--target",
  "es2020",
  "--module",
  "commonjs",
  "--moduleResolution",
  "node",
  "--experimentalDecorators",
  "--noFallthroughCasesInSwitch",
  "--noImplicitReturns",
  "--forceConsistentCasingInFileNames",
  "--noEmit",
];
