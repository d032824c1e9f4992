/**
 * The TypeScript examples and starter templates type-check with the settings
 * of the official templates (`pulumi new typescript`, `cdktf init --template
 * typescript`), with the TypeScript the tools load: the Pulumi language host
 * loads `typescript` from where @pulumi/pulumi resolves it (6 here), and the
 * apps compile with the project's own. Both examples import the built
 * package by name, so this runs after `npm run build`.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { init } from "../cli/init";
import { linkDependencies } from "./support/consumer";
import { ROOT } from "./support/serve";

/** The tsc of the TypeScript that @pulumi/pulumi's language host loads. */
const TSC = join(
  require.resolve("typescript/package.json", {
    paths: [require.resolve("@pulumi/pulumi", { paths: [ROOT] })],
  }),
  "..",
  "bin",
  "tsc",
);

/**
 * compilerOptions of `pulumi new typescript` (pulumi/templates typescript/tsconfig.json
 * since March 2026: nodenext, as TypeScript 6 deprecates node10 resolution).
 */
const PULUMI_TEMPLATE = {
  strict: true,
  outDir: "bin",
  target: "es2020",
  module: "nodenext",
  moduleResolution: "nodenext",
  sourceMap: true,
  experimentalDecorators: true,
  pretty: true,
  noFallthroughCasesInSwitch: true,
  noImplicitReturns: true,
  forceConsistentCasingInFileNames: true,
};
/** cdktf's own template, as the installed cdktf-cli ships it. */
const CDKTF_TEMPLATE = JSON.parse(
  readFileSync(
    join(ROOT, "node_modules", "cdktf-cli", "bundle", "templates", "typescript", "tsconfig.json"),
    "utf8",
  ),
) as { compilerOptions: Record<string, unknown> };

const compilerOptions = (file: string) =>
  (JSON.parse(readFileSync(file, "utf8")) as { compilerOptions: Record<string, unknown> }).compilerOptions;

/** `tsc -p DIR` (one run): its errors, and the program's own files it checked. */
function check(dir: string): { errors: string[]; files: string[] } {
  let output: string;
  try {
    output = execFileSync(TSC, ["-p", dir, "--noEmit", "--listFiles", "--pretty", "false"], {
      cwd: dir,
      encoding: "utf8",
    });
  } catch (error) {
    output = String((error as { stdout?: string }).stdout ?? error);
  }
  const lines = output.split("\n");
  return {
    errors: lines.filter((l) => /error TS\d+/.test(l)),
    files: lines.filter((f) => f.startsWith(dir) && !f.includes("node_modules")).sort(),
  };
}

let work = "";
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "landform-examples-tsc-"));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the examples, with the official templates' settings", () => {
  it("examples/pulumi: pulumi new typescript's tsconfig (plus types node), index.ts and connect.ts clean", () => {
    const dir = join(ROOT, "examples", "pulumi");
    expect(compilerOptions(join(dir, "tsconfig.json"))).toEqual({ ...PULUMI_TEMPLATE, types: ["node"] });
    const { errors, files } = check(dir);
    expect(errors).toEqual([]);
    expect(files).toEqual([join(dir, "connect.ts"), join(dir, "index.ts")]);
  });

  it("examples/cdktf: cdktf's typescript template tsconfig (plus types node, outDir), main.ts clean", () => {
    const dir = join(ROOT, "examples", "cdktf");
    expect(compilerOptions(join(dir, "tsconfig.json"))).toEqual({
      ...CDKTF_TEMPLATE.compilerOptions,
      types: ["node"],
      outDir: "../../dist/examples/cdktf",
    });
    const { errors, files } = check(dir);
    expect(errors).toEqual([]);
    expect(files).toEqual([join(dir, "main.ts")]);
  });

  it("catches an error in the example stack, at its file and line", () => {
    // A copy beside a node_modules holding landform, as a user's project has it.
    const dir = join(work, "pulumi-example");
    cpSync(join(ROOT, "examples", "pulumi"), dir, { recursive: true, filter: (f) => !f.endsWith(".js") });
    linkDependencies(dir, ROOT);
    expect(check(dir).errors).toEqual([]);
    const source = readFileSync(join(dir, "index.ts"), "utf8").split("\n");
    const line = source.findIndex((l) => l.includes("plan: { id: 0 },"));
    source[line] = source[line]!.replace("id: 0", 'id: "zero"');
    writeFileSync(join(dir, "index.ts"), source.join("\n"));
    const { errors } = check(dir);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`index\\.ts\\(${line + 1},\\d+\\): error TS2322`));
  });
});

describe("the starter templates, as landform init writes them", () => {
  it.each(["pulumi", "cdktf"])(
    "%s: the official template's tsconfig (plus types node), clean",
    (template) => {
      const dir = join(work, `starter-${template}`);
      init({ template, dir, landform: `file:${ROOT}` });
      linkDependencies(dir, ROOT);
      expect(compilerOptions(join(dir, "tsconfig.json"))).toEqual({
        ...(template === "pulumi" ? PULUMI_TEMPLATE : CDKTF_TEMPLATE.compilerOptions),
        types: ["node"],
      });
      const { errors, files } = check(dir);
      expect(errors).toEqual([]);
      expect(files).toEqual([join(dir, template === "pulumi" ? "index.ts" : "main.ts")]);
    },
  );

  it("depends on the landform version this package is, when installed from the registry", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    for (const template of ["pulumi-typescript", "cdktf-typescript"]) {
      const shipped = JSON.parse(readFileSync(join(ROOT, "templates", template, "package.json"), "utf8"));
      expect(shipped.dependencies.landform, template).toBe(`^${pkg.version}`);
      expect(shipped.dependencies["@pulumi/pulumi"] ?? shipped.dependencies.cdktf, template).toBe(
        template.startsWith("pulumi") ? "3.248.0" : "0.21.0",
      );
    }
  });
});
