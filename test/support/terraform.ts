/**
 * The real Terraform binary and cdktf CLI for the end-to-end suites: a
 * provider mirror and CLI configuration of the test's own (as `landform
 * tools` writes them), offline settings, and a runner that keeps output.
 * A missing terraform fails the suite; it never skips.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ensureTerraformMirror, type TerraformMirror } from "../../cli/terraform-mirror";
import { findOnPath, toolsCacheRoot } from "../../cli/tools";
import { ROOT } from "./serve";

export { PROVIDER_SOURCE } from "../../cli/terraform-mirror";

export const CDKTF = path.join(ROOT, "node_modules", ".bin", "cdktf");

/** terraform from PATH, else from `landform tools`' cache; throws (never skips) when there is none. */
export function findTerraform(env: NodeJS.ProcessEnv = process.env): string {
  const onPath = findOnPath("terraform", env);
  if (onPath) return onPath;
  const root = toolsCacheRoot(env);
  if (fs.existsSync(root)) {
    for (const dir of fs.readdirSync(root)) {
      const candidate = path.join(root, dir, "bin", "terraform");
      if (fs.existsSync(candidate)) return candidate;
    }
  }
  throw new Error(
    "terraform not found on PATH or in the landform tools cache: run `npm run tools` (landform tools) first; " +
      "these tests need the real binary and never skip",
  );
}

export interface Workspace {
  dir: string;
  mirror: TerraformMirror;
  terraform: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

/** A temporary folder with its own provider mirror, CLI configuration and environment. */
export function workspace(prefix: string, extraEnv: Record<string, string> = {}): Workspace {
  const terraform = findTerraform();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `landform-${prefix}-`));
  const mirror = ensureTerraformMirror({ cacheRoot: path.join(dir, ".tools"), packageDir: ROOT });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CHECKPOINT_DISABLE: "1",
    TF_CLI_CONFIG_FILE: mirror.configFile,
    TF_IN_AUTOMATION: "1",
    TF_INPUT: "0",
    // cdktf: no telemetry, no prompts.
    CDKTF_DISABLE_PLUGIN_CACHE_ENV: "1",
    DISABLE_VERSION_CHECK: "true",
    CI: "1",
    PATH: `${path.dirname(terraform)}${path.delimiter}${process.env.PATH ?? ""}`,
    ...extraEnv,
  };
  // Mutual TLS stays on; no inherited setting may turn it off or point elsewhere.
  delete env.TF_DISABLE_PLUGIN_TLS;
  delete env.TF_REATTACH_PROVIDERS;
  delete env.TF_PLUGIN_CACHE_DIR;
  return {
    dir,
    mirror,
    terraform,
    env,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function run(
  cmd: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: options.timeoutMs ?? 240_000,
    });
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", (err) =>
      resolve({ code: null, stdout, stderr: `${stderr}${err}`, ms: Date.now() - started }),
    );
    child.on("close", (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
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
