/**
 * What the ManagedService provider costs, in two measurements (these
 * machines are noisy: compare ratios from one run, not numbers across runs):
 *
 *  1. `pulumi up` (and `pulumi destroy`) of N ManagedServices against
 *     `landform serve` with zero backend latency, beside the same program
 *     declaring N resources of a no-op dynamic provider, in alternating
 *     rounds; the ratio of medians is what the provider adds (API calls,
 *     waits, its process's work) over the engine's own per-resource cost.
 *     Beside it, the control plane's own share (first creation request to
 *     last ServiceSynchronized): the part no provider can take away.
 *  2. The lag between a service turning synchronized (the control plane's
 *     `ServiceSynchronized` event) and the provider's create returning, with
 *     backend operations that take a given time: the waits poll, so this is
 *     what polling costs.
 *
 * With `--baseline DIR` (another built checkout, e.g. a worktree at main) a
 * third stack declares the same services through that checkout's provider,
 * in the same rounds: before and after from one run.
 *
 * Run: npm run build && node dist/bench/pulumi-up.js [--count 50] [--rounds 3] [--lag-services 20] [--baseline DIR]
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ensureTools } from "../cli/tools";
import { CodesphereClient } from "../sdk";
import { controlPlaneWindow } from "./support/control-plane-window";
import { median, ROOT, startServe } from "./support/processes";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "50" },
    rounds: { type: "string", default: "3" },
    "lag-services": { type: "string", default: "20" },
    /** Passed to `pulumi up --parallel` (0: the CLI's default). */
    parallel: { type: "string", default: "0" },
    baseline: { type: "string" },
  },
});
const COUNT = Number(values.count);
const ROUNDS = Number(values.rounds);
const LAG_SERVICES = Number(values["lag-services"]);
const TOKEN = "bench-token";

const PULUMI_YAML =
  "name: bench\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n";

/** N ManagedServices (redis, the cheapest), named per round so soft-deleted names never clash. */
function servicesProgram(packageDir: string = ROOT): string {
  return `"use strict";
const { ManagedService } = require(${JSON.stringify(path.join(packageDir, "dist", "provider", "pulumi"))});
const round = process.env.BENCH_ROUND;
for (let i = 0; i < ${COUNT}; i++) {
  new ManagedService("svc-" + i, {
    name: "bench-" + round + "-" + i,
    provider: { name: "redis", version: "v1" },
    plan: { id: 0 },
    secrets: { password: "bench-password-" + i },
  });
}
`;
}

/**
 * N resources of a dynamic provider that does nothing, declared with the same
 * inputs as the services, the secret password included: the engine's own cost
 * per resource of that shape, the floor the ratios are taken against. A secret
 * input costs the engine encryption in every checkpoint it writes, so the
 * earlier floor without it (still shown, `withSecret` false) counted that as
 * the provider's overhead.
 */
function noopProgram(withSecret = true): string {
  const secret = withSecret ? `\n    secrets: pulumi.secret({ password: "bench-password-" + i }),` : "";
  return `"use strict";
const pulumi = require("@pulumi/pulumi");
const noop = {
  async create(inputs) { return { id: inputs.name, outs: inputs }; },
  async delete() {},
};
class Noop extends pulumi.dynamic.Resource {
  constructor(name, args) { super(noop, name, args, {}, "bench", "Noop"); }
}
for (let i = 0; i < ${COUNT}; i++) {
  new Noop("svc-" + i, {
    name: "bench-" + i,
    provider: { name: "redis", version: "v1" },
    plan: { id: 0 },${secret}
  });
}
`;
}

/**
 * CPU time (ms) of this process's finished children and theirs (Linux
 * /proc/self/stat cutime + cstime, at the kernel's 100 ticks a second), or
 * NaN elsewhere. Around one spawnSync of the CLI it is what that run's whole
 * process tree (engine, language host, program, provider) computed: unlike
 * wall time, it hardly moves when other work shares the machine.
 */
function childrenCpuMs(): number {
  try {
    const stat = fs.readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 16 and 17 of proc(5), counted from the state (field 3) here.
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return Number.NaN;
  }
}

interface Run {
  ms: number;
  cpuMs: number;
}

function pulumiRun(
  bin: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  args: string[],
): Run & { stdout: string } {
  const cpuBefore = childrenCpuMs();
  const started = process.hrtime.bigint();
  const r = spawnSync(bin, [...args, "--non-interactive"], {
    cwd,
    env,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return { ms, cpuMs: childrenCpuMs() - cpuBefore, stdout: r.stdout };
}

function pulumi(bin: string, cwd: string, env: NodeJS.ProcessEnv, args: string[]): Run {
  const { ms, cpuMs } = pulumiRun(bin, cwd, env, args);
  return { ms, cpuMs };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]!;
}

async function upVersusNoop(work: string, binDir: string): Promise<string> {
  const loadBefore = os.loadavg()[0]!;
  const cp = await startServe(TOKEN, 0);
  const programs: Record<string, string> = {
    services: servicesProgram(),
    noop: noopProgram(),
    "noop-plain": noopProgram(false),
  };
  if (values.baseline) programs.baseline = servicesProgram(path.resolve(values.baseline));
  const dirs = Object.fromEntries(Object.keys(programs).map((kind) => [kind, path.join(work, kind)]));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ""}`,
    PULUMI_BACKEND_URL: `file://${path.join(work, "backend")}`,
    PULUMI_CONFIG_PASSPHRASE: "bench",
    PULUMI_HOME: path.join(work, "home"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    CS_API: cp.apiUrl,
    CS_TOKEN: TOKEN,
    CS_TEAM_ID: "1",
  };
  const bin = path.join(binDir, "pulumi");
  const api = new CodesphereClient({ baseUrl: cp.apiUrl, token: TOKEN });
  try {
    fs.mkdirSync(path.join(work, "backend"));
    for (const [kind, dir] of Object.entries(dirs)) {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, "Pulumi.yaml"), PULUMI_YAML);
      fs.writeFileSync(path.join(dir, "package.json"), '{ "name": "bench", "private": true }\n');
      fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
      fs.writeFileSync(path.join(dir, "index.js"), programs[kind]!);
      pulumi(bin, dir, env, ["stack", "init", kind]);
    }
    const kinds = Object.keys(programs);
    const results = Object.fromEntries(
      kinds.map((k) => [
        k,
        {
          up: [] as number[],
          upCpu: [] as number[],
          destroy: [] as number[],
          controlPlane: [] as number[],
          stateBytes: [] as number[],
        },
      ]),
    );
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order, so none always runs first on a cooler machine.
      const order = kinds.map((_, i) => kinds[(round + i) % kinds.length]!);
      for (const kind of order) {
        const roundEnv = { ...env, BENCH_ROUND: `${kind}-${round}` };
        const parallel = Number(values.parallel) > 0 ? ["--parallel", String(values.parallel)] : [];
        const up = pulumi(bin, dirs[kind]!, roundEnv, ["up", "--yes", "--skip-preview", ...parallel]);
        results[kind]!.up.push(up.ms);
        results[kind]!.upCpu.push(up.cpuMs);
        // What each checkpoint write serializes: the stack's state, per resource.
        const exported = pulumiRun(bin, dirs[kind]!, roundEnv, ["stack", "export"]).stdout;
        results[kind]!.stateBytes.push(Buffer.byteLength(exported) / COUNT);
        if (!kind.startsWith("noop")) {
          results[kind]!.controlPlane.push(await controlPlaneWindow(api, `bench-${roundEnv.BENCH_ROUND}-`));
        }
      }
      for (const kind of order) {
        const roundEnv = { ...env, BENCH_ROUND: `${kind}-${round}` };
        results[kind]!.destroy.push(
          pulumi(bin, dirs[kind]!, roundEnv, ["destroy", "--yes", "--skip-preview"]).ms,
        );
      }
    }
    const seconds = (xs: number[]) => `${(median(xs) / 1000).toFixed(2)} s`;
    const ratio = (xs: number[], base: number[]) => `${(median(xs) / median(base)).toFixed(2)}x`;
    const floor = results.noop!;
    let table =
      `pulumi ${spawnSync(bin, ["version"], { encoding: "utf8" }).stdout.trim()}, ${COUNT} resources, median of ${ROUNDS} rounds, load average ${loadBefore.toFixed(2)} before, ${os.loadavg()[0]!.toFixed(2)} after\n` +
      `${"".padEnd(22)} ${"up".padStart(9)} ${"ratio".padStart(7)} ${"up cpu".padStart(9)} ${"ratio".padStart(7)} ${"destroy".padStart(9)} ${"ratio".padStart(7)} ${"control plane".padStart(14)} ${"state/resource".padStart(15)}\n`;
    const labels: Record<string, string> = {
      noop: "no-op (floor)",
      "noop-plain": "no-op, no secret",
      services: "services",
      baseline: "services (baseline)",
    };
    for (const kind of kinds) {
      const r = results[kind]!;
      table += `${(labels[kind] ?? kind).padEnd(22)} ${seconds(r.up).padStart(9)} ${ratio(r.up, floor.up).padStart(7)} ${seconds(r.upCpu).padStart(9)} ${ratio(r.upCpu, floor.upCpu).padStart(7)} ${seconds(r.destroy).padStart(9)} ${ratio(r.destroy, floor.destroy).padStart(7)} ${(r.controlPlane.length ? seconds(r.controlPlane) : "").padStart(14)} ${`${Math.round(median(r.stateBytes))} B`.padStart(15)}\n`;
    }
    return `${table}(up cpu: CPU time of the CLI and every process it started; state: \`pulumi stack export\` bytes per resource after up)\n`;
  } finally {
    await api.close();
    await cp.stop();
  }
}

/**
 * Calls the provider's create (the same function the Pulumi engine calls) for
 * services whose backend takes `delayMs`, and compares its return with the
 * control plane's ServiceSynchronized event.
 */
async function synchronizedToReturn(work: string, delayMs: number): Promise<number[]> {
  const cp = await startServe(TOKEN, delayMs);
  const api = new CodesphereClient({ baseUrl: cp.apiUrl, token: TOKEN });
  process.env.PULUMI_HOME = path.join(work, "home");
  const provider = require(path.join(ROOT, "dist", "provider", "pulumi", "implementation.js")) as {
    create(inputs: unknown): Promise<{ id: string }>;
  };
  try {
    const lags = await Promise.all(
      Array.from({ length: LAG_SERVICES }, async (_, i) => {
        const { id } = await provider.create({
          teamId: 1,
          name: `lag-${delayMs}-${i}`,
          provider: { name: "redis", version: "v1" },
          plan: { id: 0 },
          secrets: { password: `lag-password-${i}` },
          pause: false,
          __connection: { apiUrl: cp.apiUrl, token: TOKEN },
        });
        const returned = Date.now();
        const { events } = await api.managedServices.events(id);
        const synced = events.findLast((e) => e.eventName === "ServiceSynchronized");
        if (!synced) throw new Error(`no ServiceSynchronized event for ${id}`);
        return returned - Date.parse(synced.timestamp);
      }),
    );
    return lags;
  } finally {
    await api.close();
    await cp.stop();
  }
}

async function main(): Promise<void> {
  const tools = await ensureTools();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "landform-bench-pulumi-"));
  try {
    process.stdout.write(await upVersusNoop(work, tools.binDir));
    process.stdout.write(
      `\nsynchronized -> provider create returned, ${LAG_SERVICES} services at once\n` +
        `${"backend op".padEnd(12)} ${"median".padStart(8)} ${"p90".padStart(8)} ${"max".padStart(8)}\n`,
    );
    for (const delayMs of [250, 1000, 3000]) {
      const lags = await synchronizedToReturn(work, delayMs);
      process.stdout.write(
        `${`${delayMs} ms`.padEnd(12)} ${`${median(lags)} ms`.padStart(8)} ${`${percentile(lags, 90)} ms`.padStart(8)} ${`${Math.max(...lags)} ms`.padStart(8)}\n`,
      );
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  // The provider module keeps keep-alive clients and a watchdog timer; nothing else is pending.
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
