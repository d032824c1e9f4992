/** Child processes of `landform tools`: running a command, asking a tool its version. */
import { spawn } from "node:child_process";
import { findOnPath } from "./files";
import type { Found } from "./versions";

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; onStderr?: (text: string) => void },
): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    const child = spawn(cmd, args, {
      env: opts.env,
      cwd: opts.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: opts.timeoutMs,
    });
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      opts.onStderr?.(d);
    });
    child.on("error", (err) => resolve({ code: null, stdout, stderr: stderr + String(err) }));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** What `bin args` prints, trimmed; undefined when it fails. Update checks are turned off. */
export async function versionOutput(
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  const quiet = { ...env, PULUMI_SKIP_UPDATE_CHECK: "true", CHECKPOINT_DISABLE: "1" };
  const r = await run(bin, args, { env: quiet, timeoutMs: 60_000 });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

export type VersionOf = (bin: string, env: NodeJS.ProcessEnv) => Promise<string | undefined>;

/** `name` on PATH (outside `exclude`, the cache) and its version output. */
export async function probe(
  name: string,
  env: NodeJS.ProcessEnv,
  exclude: string,
  version: VersionOf,
): Promise<Found | undefined> {
  const p = findOnPath(name, env, exclude);
  return p ? { path: p, versionOutput: await version(p, env) } : undefined;
}
