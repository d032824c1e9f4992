/**
 * The real Terraform-compatible CLIs and the cdktf CLI for the end-to-end
 * suites: OpenTofu always (found on PATH or built into the tools cache by the
 * tools code itself, so each suite provides its own), and Terraform when PATH
 * has 1.11 or later. Each gets a provider mirror and CLI configuration of the
 * test's own (as `landform tools` writes them), offline settings, and a
 * runner that keeps output. A CLI that cannot be had fails the suite; it
 * never skips.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ensureTerraformMirror, stopResident, type TerraformMirror } from "../../cli/terraform-mirror";
import { ensureOpenTofu, findOnPath, terraformVersionUsable, toolsCacheRoot } from "../../cli/tools";
import { run as runTool, type RunResult as ToolRunResult } from "../../cli/tools/process";
import { ROOT } from "./serve";

export { PROVIDER_SOURCE } from "../../cli/terraform-mirror";

export const CDKTF = path.join(ROOT, "node_modules", ".bin", "cdktf");

/** A cold OpenTofu build takes minutes on a busy machine; the hook that may build it waits this long. */
export const RUNTIME_TIMEOUT_MS = 30 * 60_000;

export interface TerraformRuntime {
  /** For test names and for what `version` prints first. */
  name: "Terraform" | "OpenTofu";
  /** The binary; OpenTofu's is built into the tools cache when PATH has none (cached, locked). */
  binary(): Promise<string>;
}

/**
 * The CLIs the suites run against. Terraform joins only when PATH has a
 * Terraform of 1.11 or later (write-only attributes); the tools cache's own
 * bin directory is not looked in, as its `terraform` may be OpenTofu.
 */
export function terraformRuntimes(env: NodeJS.ProcessEnv = process.env): TerraformRuntime[] {
  const runtimes: TerraformRuntime[] = [{ name: "OpenTofu", binary: () => ensureOpenTofu({ env }) }];
  const terraform = findOnPath("terraform", env, toolsCacheRoot(env));
  if (terraform && terraformVersionUsable(versionOf(terraform))) {
    runtimes.push({ name: "Terraform", binary: async () => terraform });
  }
  // The Node.js matrix (test/node-runtimes.test.ts) varies the provider's runtime, not the CLI: one CLI is enough there.
  const only = env.LANDFORM_TEST_TERRAFORM_CLI;
  if (only) {
    const chosen = runtimes.filter((r) => r.name === only);
    if (chosen.length === 0)
      throw new Error(`LANDFORM_TEST_TERRAFORM_CLI=${only}: not one of ${runtimes.map((r) => r.name)}`);
    return chosen;
  }
  return runtimes;
}

/** One CLI for a suite that needs any: Terraform from PATH when there is one (nothing to build), else OpenTofu. */
export async function anyRuntime(): Promise<{ name: TerraformRuntime["name"]; binary: string }> {
  const runtimes = terraformRuntimes();
  const runtime = runtimes.find((r) => r.name === "Terraform") ?? runtimes[0]!;
  return { name: runtime.name, binary: await runtime.binary() };
}

function versionOf(bin: string): string | undefined {
  try {
    return execFileSync(bin, ["version"], {
      encoding: "utf8",
      env: { ...process.env, CHECKPOINT_DISABLE: "1" },
      // Warnings (a TF_CLI_CONFIG_FILE naming a missing file) are not the suite's output.
      stdio: ["ignore", "pipe", "ignore"],
    });
  } catch {
    return undefined;
  }
}

/**
 * PATH with every folder that holds one of `names` replaced by a folder of
 * links to everything else in it: what a machine without those tools has.
 */
export function pathWithout(names: string[], pathValue: string, shadowRoot: string): string {
  return pathValue
    .split(path.delimiter)
    .filter((dir) => dir !== "")
    .map((dir, i) => {
      if (!names.some((n) => fs.existsSync(path.join(dir, n)))) return dir;
      const shadow = path.join(shadowRoot, `path-${i}`);
      fs.mkdirSync(shadow, { recursive: true });
      for (const entry of fs.readdirSync(dir)) {
        if (!names.includes(entry)) fs.symlinkSync(path.join(dir, entry), path.join(shadow, entry));
      }
      return shadow;
    })
    .join(path.delimiter);
}

export interface Workspace {
  dir: string;
  mirror: TerraformMirror;
  /** The CLI under test (terraform or tofu). */
  terraform: string;
  runtime: TerraformRuntime["name"];
  env: NodeJS.ProcessEnv;
  /** Ends the workspace's resident provider and removes the folder. */
  cleanup(): Promise<void>;
}

/**
 * A temporary folder with its own provider mirror, CLI configuration and
 * environment for one runtime. For OpenTofu, PATH holds no terraform at all
 * (checked), so nothing can fall back to one.
 */
export function workspace(
  prefix: string,
  runtime: { name: TerraformRuntime["name"]; binary: string },
  extraEnv: Record<string, string> = {},
): Workspace {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `landform-${prefix}-`));
  const mirror = ensureTerraformMirror({ cacheRoot: path.join(dir, ".tools"), packageDir: ROOT });
  const inherited = process.env.PATH ?? "";
  const rest =
    runtime.name === "OpenTofu"
      ? pathWithout(["terraform", "tofu"], inherited, path.join(dir, ".path"))
      : inherited;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CHECKPOINT_DISABLE: "1",
    TF_CLI_CONFIG_FILE: mirror.configFile,
    TF_IN_AUTOMATION: "1",
    TF_INPUT: "0",
    // cdktf runs this binary for every terraform command.
    TERRAFORM_BINARY_NAME: runtime.binary,
    // cdktf: no telemetry, no prompts.
    CDKTF_DISABLE_PLUGIN_CACHE_ENV: "1",
    DISABLE_VERSION_CHECK: "true",
    CI: "1",
    PATH: `${path.dirname(runtime.binary)}${path.delimiter}${rest}`,
    ...extraEnv,
  };
  // Mutual TLS stays on; no inherited setting may turn it off or point elsewhere.
  delete env.TF_DISABLE_PLUGIN_TLS;
  delete env.TF_REATTACH_PROVIDERS;
  delete env.TF_PLUGIN_CACHE_DIR;
  if (runtime.name === "OpenTofu" && findOnPath("terraform", env)) {
    throw new Error(`the OpenTofu workspace still has a terraform on PATH: ${findOnPath("terraform", env)}`);
  }
  return {
    dir,
    mirror,
    terraform: runtime.binary,
    runtime: runtime.name,
    env,
    cleanup: async () => {
      await stopResident(mirror.residentDir);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RunResult extends ToolRunResult {
  ms: number;
}

/** `landform tools`' way of running a command (cli/tools/process.ts), timed, with the suites' default limit. */
export async function run(
  cmd: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<RunResult> {
  const started = Date.now();
  const r = await runTool(cmd, args, { ...options, timeoutMs: options.timeoutMs ?? 240_000 });
  return { ...r, ms: Date.now() - started };
}

/** Runs and throws with the whole output when the exit code is not the expected one. */
export async function mustRun(
  cmd: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; expect?: number[]; timeoutMs?: number },
): Promise<RunResult> {
  const r = await run(cmd, args, options);
  const expected = options.expect ?? [0];
  if (r.code === null || !expected.includes(r.code)) {
    throw new Error(
      `${path.basename(cmd)} ${args.join(" ")} exited ${r.code} (expected ${expected.join(" or ")})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
  }
  return r;
}

/** The resource changes of `terraform show -json PLANFILE`, as `address -> actions`. */
export function planActions(planJson: string): Record<string, string[]> {
  const plan = JSON.parse(planJson) as {
    resource_changes?: { address: string; change: { actions: string[] } }[];
  };
  return Object.fromEntries((plan.resource_changes ?? []).map((c) => [c.address, c.change.actions]));
}

/**
 * Every file under `dir` that Terraform wrote (state, backups of it, plans,
 * .terraform), as text, for searching; `skip` names inputs (the configuration).
 */
export function readTree(dir: string, skip: (name: string) => boolean = () => false): string {
  let all = "";
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (skip(e.name)) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) all += `${fs.readFileSync(p).toString("latin1")}\n`;
    }
  };
  walk(dir);
  return all;
}
