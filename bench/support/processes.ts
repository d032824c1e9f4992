/**
 * Child processes for the benchmarks. Their output goes to a file, not a
 * pipe: a benchmark that blocks its own event loop (spawnSync of the Pulumi
 * CLI, say) would otherwise let a pipe fill and stall the server it measures.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(__dirname, "..", "..", "..");
export const CLI = join(ROOT, "dist", "cli", "main.js");

export interface BenchProcess {
  proc: ChildProcess;
  /** The `url` of the process's `{"msg":"ready"}` line. */
  url: string;
  ready: Record<string, unknown>;
  stop(): Promise<void>;
}

/**
 * Children still running. A benchmark that dies (an exception, or EPIPE from
 * `| head` closing its stdout) ends them on its way out: they run detached from
 * any terminal, so nothing else would.
 */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGTERM");
});

/** Starts `node ARGS` and waits for the JSON line `{"msg":"ready","url":...}` it prints. */
export async function startNodeProcess(
  args: string[],
  timeoutMs = 60_000,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BenchProcess> {
  const dir = mkdtempSync(join(tmpdir(), "landform-bench-log-"));
  const logFile = join(dir, "output.log");
  const fd = openSync(logFile, "w");
  const proc = spawn(process.execPath, args, { stdio: ["ignore", fd, fd], env });
  closeSync(fd);
  running.add(proc);
  proc.once("exit", () => running.delete(proc));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = readFileSync(logFile, "utf8");
    for (const line of text.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        const rec = JSON.parse(line) as Record<string, unknown>;
        if (rec.msg === "ready" && typeof rec.url === "string") {
          return {
            proc,
            url: rec.url,
            ready: rec,
            stop: async () => {
              // A process killed by a signal has signalCode set and exitCode null: a second stop must not wait for it.
              if (proc.exitCode === null && proc.signalCode === null) {
                const exited = new Promise((r) => proc.once("exit", r));
                proc.kill("SIGTERM");
                await exited;
              }
              rmSync(dir, { recursive: true, force: true });
            },
          };
        }
      } catch {
        // a partial line
      }
    }
    // A process that fails to start leaves neither itself nor its log folder behind.
    if (proc.exitCode !== null || proc.signalCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`node ${args.join(" ")} exited with ${proc.exitCode ?? proc.signalCode}:\n${text}`);
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`node ${args.join(" ")} printed no ready line:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * `landform serve` on a free port with its own data dir, a token for team 1
 * and the given backend delay. The reference backends simulate every provider
 * here: these benchmarks measure the control plane and the IaC tools, not the
 * engines' start-up (bench/engines.ts measures that).
 */
export async function startServe(
  token: string,
  operationDelayMs: number,
  options: { extraArgs?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<BenchProcess & { apiUrl: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), "landform-bench-data-"));
  // LANDFORM_BENCH_CPU_PROF=DIR: each serve writes a V8 CPU profile into DIR when it stops (for finding hot spots).
  const profileDir = process.env.LANDFORM_BENCH_CPU_PROF;
  const p = await startNodeProcess(
    [
      ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
      CLI,
      "serve",
      "--port",
      "0",
      "--data-dir",
      dataDir,
      "--token",
      `${token}=1`,
      "--operation-delay-ms",
      String(operationDelayMs),
      ...(options.extraArgs ?? []),
    ],
    60_000,
    // Extra variables (LANDFORM_DATABASE, say) through the environment: a URL with a password stays out of `ps`.
    { ...process.env, ...options.env, LANDFORM_ENGINES: "simulated" },
  ).catch((error: unknown) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });
  return {
    ...p,
    apiUrl: String(p.ready.apiUrl),
    stop: async () => {
      await p.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
