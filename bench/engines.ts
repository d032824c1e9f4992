/**
 * Real-engine benchmarks of the bundled reference backends, each beside a
 * baseline of the same binary started by hand in the same run (these
 * machines are noisy; compare ratios, not numbers):
 *
 *  1. Time from `POST /api/managed-services` to a connectable server: a `pg`
 *     client logs in with the service's dsn and secrets and runs SELECT 1
 *     (Redis: AUTH + PING). `postgresql` 15, `postgres` v1 (16) and `redis`,
 *     `--runs` each, interleaved with a bare initdb + postgres (or
 *     redis-server) of the same binary and settings: median and p90.
 *  2. Memory of `--idle` idle servers of each engine: RSS and PSS (shared
 *     pages split) summed over every server process, read from /proc, the
 *     same for as many bare servers.
 *
 * Every server it started is stopped at the end (and on Ctrl-C); a server
 * left behind fails the run.
 *
 * Run: npm run bench:engines [-- --runs 10 --idle 20 --settle-ms 5000]
 */
import fs from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import pg from "pg";
import { findPostgres, findRedis } from "../control-plane/backends/reference/engines/finder";
import { engineUser } from "../control-plane/backends/reference/engines/os-user";
import { PostgresDriver } from "../control-plane/backends/reference/engines/postgres";
import { CodesphereClient, waitForState } from "../sdk";
import {
  type BareServer,
  barePostgres,
  bareRedis,
  type Memory,
  memoryOf,
  processesUnder,
  processTable,
  redisPing,
  serverMemory,
} from "./support/engine-servers";
import { CLI, median, startNodeProcess } from "./support/processes";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10" },
    idle: { type: "string", default: "20" },
    "settle-ms": { type: "string", default: "5000" },
  },
});
const RUNS = Number(values.runs);
const IDLE = Number(values.idle);
const SETTLE_MS = Number(values["settle-ms"]);
const TOKEN = "bench-engines-token";

interface Case {
  label: string;
  engine: "postgres" | "redis";
  provider: { name: string; version: string };
  plan: { id: number; parameters: Record<string, number> };
  config: Record<string, unknown>;
  secrets: (n: number) => Record<string, string>;
  /** Plan 0's memory and cpu, read from the catalog at start: the bare server gets the settings they give. */
  memoryMiB: number;
  cpu: number;
  user: (n: number) => string;
  password: (n: number) => string;
  bare: (memoryMiB: number, cpu: number) => Promise<BareServer>;
  /** Where the service's server writes its pid, under the engines folder. */
  pidFile: (serviceDir: string) => string;
}

interface Made {
  id: string;
  elapsedMs: number;
  /** When the POST was answered, and when the details first named the server's port. */
  acceptedMs: number;
  portMs: number;
  dir: string;
}

const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.9) - 1]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

async function main(): Promise<void> {
  if (process.env.LANDFORM_ENGINES === "simulated")
    throw new Error("unset LANDFORM_ENGINES: this measures the real engines");
  const pg15 = findPostgres(15);
  const pg16 = findPostgres(16);
  const redis = findRedis();
  for (const b of [pg15, pg16, redis])
    if (b.kind === "missing") throw new Error(`${b.engine} is missing: ${b.hint}`);
  if (pg15.kind !== "postgres" || pg16.kind !== "postgres" || redis.kind !== "redis")
    throw new Error("unreachable");
  const runAs = engineUser();
  const pgSettings = (memory: number, cpu: number) =>
    new PostgresDriver(pg15, () => ({ user: "", password: "", database: "" })).settings({
      spec: { parameters: { memory, cpu }, config: {}, pause: false },
      config: {},
      secrets: {},
    });
  const cases: Case[] = [
    {
      label: "postgresql 15",
      engine: "postgres",
      provider: { name: "postgresql", version: "v15" },
      plan: { id: 0, parameters: { storage: 5 } },
      config: {},
      secrets: (n) => ({ username: `bench_${n}`, password: `bench-pw-${n}-postgresql` }),
      memoryMiB: 0,
      cpu: 0,
      user: (n) => `bench_${n}`,
      password: (n) => `bench-pw-${n}-postgresql`,
      bare: (memory, cpu) => barePostgres(pg15, runAs, pgSettings(memory, cpu)),
      pidFile: (dir) => path.join(dir, "pgdata", "postmaster.pid"),
    },
    {
      label: `postgres v1 (${pg16.version})`,
      engine: "postgres",
      provider: { name: "postgres", version: "v1" },
      plan: { id: 0, parameters: { storage: 1024 } },
      config: { userName: "bench", databaseName: "bench" },
      secrets: (n) => ({
        userPassword: `bench-pw-${n}-postgres`,
        superuserPassword: `bench-su-${n}-postgres`,
      }),
      memoryMiB: 0,
      cpu: 0,
      user: () => "bench",
      password: (n) => `bench-pw-${n}-postgres`,
      bare: (memory, cpu) => barePostgres(pg16, runAs, pgSettings(memory, cpu)),
      pidFile: (dir) => path.join(dir, "pgdata", "postmaster.pid"),
    },
    {
      label: `redis (${redis.version})`,
      engine: "redis",
      provider: { name: "redis", version: "v1" },
      plan: { id: 0, parameters: {} },
      config: {},
      secrets: (n) => ({ password: `bench-pw-${n}-redis` }),
      memoryMiB: 0,
      cpu: 0,
      user: () => "default",
      password: (n) => `bench-pw-${n}-redis`,
      bare: (memory) =>
        bareRedis(redis, runAs, { maxmemory: `${memory}mb`, "maxmemory-policy": "noeviction" }),
      pidFile: (dir) => path.join(dir, "redis.pid"),
    },
  ];

  const dataDir = fs.mkdtempSync(path.join(tmpdir(), "landform-bench-engines-"));
  const bare: BareServer[] = [];
  let serve: Awaited<ReturnType<typeof startNodeProcess>> | undefined;
  let client: CodesphereClient | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      await client?.close();
      // landform serve stops every server it started when it stops.
      await serve?.stop();
      await Promise.allSettled(bare.map((b) => b.stop()));
      const left = processesUnder(dataDir);
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (left.length > 0) throw new Error(`landform serve left servers running: pids ${left.join(", ")}`);
    })();
    return cleaning;
  };
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    serve = await startNodeProcess([
      CLI,
      "serve",
      "--port",
      "0",
      "--data-dir",
      dataDir,
      "--token",
      `${TOKEN}=1`,
      "--operation-delay-ms",
      "0",
    ]);
    client = new CodesphereClient({ baseUrl: String(serve.ready.apiUrl), token: TOKEN });
    const api = client;
    // From the catalog: plan 0's memory and cpu (what the engine derives its settings from), and
    // for postgres v1 its 16.x minor (the catalog lists the minors the installed builds run).
    const catalog = await api.providers.list();
    for (const c of cases) {
      const entry = catalog.find((p) => p.name === c.provider.name && p.version === c.provider.version);
      const params = entry?.plans.find((p) => p.id === 0)?.parameters as
        | Record<string, { schema?: { const?: number; default?: number } }>
        | undefined;
      const fixed = (k: string) => Number(params?.[k]?.schema?.const ?? params?.[k]?.schema?.default);
      c.memoryMiB = fixed("memory");
      c.cpu = fixed("cpu");
      if (!(c.memoryMiB > 0 && c.cpu > 0)) throw new Error(`${c.label}: plan 0 has no memory and cpu`);
      if (c.provider.name !== "postgres") continue;
      const versions = (entry?.configSchema as { properties?: { version?: { enum?: string[] } } })?.properties
        ?.version?.enum;
      const v16 = versions?.find((v) => v.startsWith("16."));
      if (!v16) throw new Error(`postgres v1 offers no 16.x version: ${JSON.stringify(versions)}`);
      c.config = { ...c.config, version: v16 };
    }
    let serial = 0;

    /** Creates one service and times it until a client of its own gets an answer. */
    const create = async (c: Case): Promise<Made> => {
      const n = serial++;
      const started = performance.now();
      const svc = await api.managedServices.create({
        teamId: 1,
        name: `bench-${c.engine}-${n}`,
        provider: c.provider,
        plan: c.plan,
        config: c.config,
        secrets: c.secrets(n),
      });
      const acceptedMs = performance.now() - started;
      let portMs = 0;
      const deadline = Date.now() + 120_000;
      for (;;) {
        const d = (await api.managedServices.get(svc.id)).details as Record<string, unknown> | null;
        if (d?.simulated) throw new Error(`${c.label}: the service is simulated, not a real server`);
        if (typeof d?.port === "number" && d.port > 0 && typeof d.dsn === "string") {
          portMs ||= performance.now() - started;
          try {
            if (c.engine === "redis") await redisPing(d.port, c.password(n));
            else await pgSelect1(d.dsn, c.user(n), c.password(n));
            const dir = path.join(dataDir, "engines", c.provider.name, encodeURIComponent(svc.id));
            return { id: svc.id, elapsedMs: performance.now() - started, acceptedMs, portMs, dir };
          } catch {
            // not up yet, or its role not made yet
          }
        }
        if (Date.now() > deadline) throw new Error(`${c.label}: not connectable within 120 s`);
        await sleep(10);
      }
    };

    const rows: string[][] = [];
    const memory: { label: string; ours: Memory[]; base: Memory[] }[] = [];
    for (const engine of ["postgres", "redis"] as const) {
      const engineCases = cases.filter((c) => c.engine === engine);
      const made: Made[] = [];
      const made0 = bare.length;
      for (const c of engineCases) {
        const ours: number[] = [];
        const base: number[] = [];
        const timed: Made[] = [];
        // Interleaved, so a noisy neighbour slows both sides alike.
        for (let i = 0; i < RUNS; i++) {
          const b = await c.bare(c.memoryMiB, c.cpu);
          bare.push(b);
          base.push(b.elapsedMs);
          const m = await create(c);
          made.push(m);
          timed.push(m);
          ours.push(m.elapsedMs);
        }
        rows.push([
          c.label,
          `${ms(median(ours))} / ${ms(p90(ours))}`,
          `${ms(median(base))} / ${ms(p90(base))}`,
          (median(ours) / median(base)).toFixed(2),
        ]);
        // Where the time goes, and the raw runs (on stderr, beside the table).
        console.error(
          `${c.label}: POST answered after ${ms(median(timed.map((m) => m.acceptedMs)))}, ` +
            `details named the port after ${ms(median(timed.map((m) => m.portMs)))} (medians); ` +
            `runs landform ${ours.map((x) => x.toFixed(0)).join(" ")}; bare ${base.map((x) => x.toFixed(0)).join(" ")}`,
        );
      }
      // Up to --idle servers of this engine on each side, the extra ones untimed.
      for (let i = 0; made.length < IDLE; i++) {
        const c = engineCases[i % engineCases.length]!;
        bare.push(await c.bare(c.memoryMiB, c.cpu));
        made.push(await create(c));
      }
      const all = await api.managedServices.list({ team: 1 });
      for (const m of made) {
        if (all.find((s) => s.id === m.id)?.status.state !== "synchronized")
          await waitForState(api, m.id, "synchronized");
      }
      await sleep(SETTLE_MS);
      const table = processTable();
      const ours = made.map((m) => {
        const c = cases.find((x) => m.dir.includes(`${path.sep}${x.provider.name}${path.sep}`))!;
        const pid = Number.parseInt(fs.readFileSync(c.pidFile(m.dir), "utf8"), 10);
        return serverMemory(pid, table);
      });
      const base = bare.slice(made0).map((b) => serverMemory(b.pid, table));
      memory.push({
        label:
          engine === "redis"
            ? `redis (${redis.version})`
            : `PostgreSQL (${engineCases.map((c) => c.label).join(" + ")})`,
        ours,
        base,
      });
    }

    const serveMem = memoryOf([serve.proc.pid!]);
    printTable(
      `time from POST /api/managed-services to an answered query (median / p90 of ${RUNS}; bare: initdb + postgres, or redis-server, of the same binary and settings)`,
      ["service", "landform serve", "bare server", "ratio"],
      rows,
    );
    const memRows = memory.flatMap(({ label, ours, base }) => {
      const sum = (xs: Memory[], k: keyof Memory) => xs.reduce((a, x) => a + x[k], 0);
      return [
        [
          `${label}: ${ours.length} idle, RSS`,
          mib(sum(ours, "rssKiB")),
          mib(sum(base, "rssKiB")),
          (sum(ours, "rssKiB") / sum(base, "rssKiB")).toFixed(2),
        ],
        [
          "  per server, RSS",
          mib(sum(ours, "rssKiB") / ours.length),
          mib(sum(base, "rssKiB") / base.length),
          "",
        ],
        [
          "  per server, PSS",
          mib(sum(ours, "pssKiB") / ours.length),
          mib(sum(base, "pssKiB") / base.length),
          (sum(ours, "pssKiB") / sum(base, "pssKiB")).toFixed(2),
        ],
        [
          "  processes per server",
          (sum(ours, "processes") / ours.length).toFixed(1),
          (sum(base, "processes") / base.length).toFixed(1),
          "",
        ],
      ];
    });
    printTable(
      `resident memory of idle servers after ${SETTLE_MS} ms (sum over each server's processes, from /proc/<pid>/smaps_rollup)`,
      ["servers", "landform serve", "bare server", "ratio"],
      memRows,
    );
    console.log(
      `landform serve itself (the node process): RSS ${mib(serveMem.rssKiB)}, PSS ${mib(serveMem.pssKiB)}`,
    );
  } finally {
    await cleanup();
  }
}

async function pgSelect1(dsn: string, user: string, password: string): Promise<void> {
  const url = new URL(dsn);
  const c = new pg.Client({
    host: url.hostname,
    port: Number(url.port),
    database: url.pathname.slice(1),
    user,
    password,
    connectionTimeoutMillis: 5_000,
  });
  c.on("error", () => {});
  await c.connect();
  try {
    await c.query("SELECT 1");
  } finally {
    await c.end().catch(() => {});
  }
}

function printTable(title: string, head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  console.log(`\n${title}`);
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
