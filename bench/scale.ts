/**
 * The scale-out benchmark of issue 11: the embedded SQLite store and
 * PostgreSQL side by side in one run, each against the same baseline.
 *
 * For each store:
 *  1. GET /api/managed-services/{id} at 64 connections against a bare node:http
 *     server answering the same JSON bytes (interleaved rounds): requests per
 *     second, the ratio of medians, p99 (autocannon keeps whole milliseconds,
 *     floored: 2 is 2.0-2.99). A closed loop's latency is bound by its
 *     throughput (64 connections at R req/s wait 64/R s on average), so p50
 *     and p99 of both are also measured open loop at one offered rate (`--rate`).
 *     The load generator shares the machine's cores, so each round also
 *     reports the server's CPU per request (with PostgreSQL, its server's
 *     too) and the load average: the figures that say what the code costs
 *     when other work shakes req/s and p99. Each round starts with a warm-up
 *     (`--warmup` seconds, not counted, its p99 printed): the first seconds
 *     after a server starts pay V8's compilation on the same two cores.
 *  2. N creates through the API (32 at a time): creates per second, and the
 *     time from the first create until all N are synchronized, the reference
 *     backends simulated with operations taking 0 ms.
 *  3. The idle cost of holding those N synchronized services: CPU of the serve
 *     process(es) and, reported apart, of the PostgreSQL server, as % of one
 *     core, in consecutive windows. Converged services are re-checked by the
 *     reconciler every 60 s (health watch, jittered up to 10%): that is part
 *     of the idle cost, so the idle time spans three one-minute windows by
 *     default (the first also holds what the burst of creates left to clean
 *     up: PostgreSQL's autovacuum, V8's collections); how many sweeps it held
 *     is printed (from /metrics), as one minute can hold one or two.
 *
 * The services live on `landform backend` in a process of its own (simulated
 * engines, 0 ms operations; bench/support/fleet-backend.ts), registered as a
 * team provider: every replica reaches the same one, and its CPU is reported
 * apart from the control plane's.
 *
 * PostgreSQL is a real server started here (initdb into a temp dir, as in the
 * tests). With `--replicas 2` and a serve that knows `--replica-id`, phase 2
 * and 3 run with two replicas on the database (creates go through the first);
 * a serve without it runs one replica and the table says so.
 *
 * Run: npm run build && node dist/bench/scale.js [--services 10000] [--stores sqlite,postgres]
 *      [--seconds 5] [--rounds 3] [--connections 64] [--concurrency 32] [--idle-seconds 180]
 *      [--idle-window 60] [--replicas 2] [--sync-timeout 300] [--rate 1000] [--warmup 2]
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { CodesphereClient } from "../sdk";
import { startBareServer } from "./support/bare-server";
import { rssMiB, treeCpuSeconds } from "./support/cpu";
import { FLEET_PROVIDER, startFleetBackend } from "./support/fleet-backend";
import { pacedGet } from "./support/paced";
import { startPostgres, type TestPostgres } from "./support/postgres";
import { CLI, startServe } from "./support/processes";
import { type Figures, type Load, ms, pct, printLoads, printTable } from "./support/scale-report";

const { values } = parseArgs({
  options: {
    services: { type: "string", default: "10000" },
    stores: { type: "string", default: "sqlite,postgres" },
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "64" },
    concurrency: { type: "string", default: "32" },
    "idle-seconds": { type: "string", default: "180" },
    "idle-window": { type: "string", default: "60" },
    replicas: { type: "string", default: "2" },
    "sync-timeout": { type: "string", default: "300" },
    rate: { type: "string", default: "1000" },
    warmup: { type: "string", default: "2" },
  },
});
const num = (name: keyof typeof values): number => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && name !== "warmup"))
    throw new Error(`--${name}: expected a positive number, got "${values[name]}"`);
  return n;
};
const N = num("services");
const CONNECTIONS = num("connections");
const STORES = String(values.stores)
  .split(",")
  .map((s) => s.trim());
for (const s of STORES)
  if (s !== "sqlite" && s !== "postgres") throw new Error(`--stores: "${s}" is not sqlite or postgres`);
const TOKEN = "bench-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };

/** Everything started here, stopped in reverse order on the way out (also on Ctrl-C). */
const cleanups: (() => Promise<void>)[] = [];
async function cleanUp(): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()!().catch((e: unknown) => console.error("cleanup:", e));
}
const own = <T extends { stop(): Promise<void> }>(thing: T): T => {
  cleanups.push(() => thing.stop());
  return thing;
};

/** Closed loop: each connection sends its next request when the answer is in. */
async function load(url: string, pids: number[]): Promise<Load> {
  const cpu = () => pids.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);
  const run = async (duration: number) => {
    const result = await autocannon({
      url,
      headers: AUTH,
      connections: CONNECTIONS,
      duration,
      pipelining: 1,
    });
    if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0)
      throw new Error(
        `${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
      );
    return result;
  };
  const warmup = num("warmup") > 0 ? await run(num("warmup")) : undefined;
  const cpuBefore = cpu();
  const result = await run(num("seconds"));
  const cpuMicros = ((cpu() - cpuBefore) / result.requests.total) * 1e6;
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    warmupP99: warmup?.latency.p99,
    cpuMicros,
    loadAverage: loadavg()[0]!,
  };
}

const createBody = (i: number) => ({
  teamId: 1,
  name: `fleet-${i}`,
  provider: FLEET_PROVIDER,
  plan: { id: 0, parameters: {} },
  config: {},
  secrets: { password: `fleet-password-${i}` },
});

/** Services in `state`, from /metrics: one cheap query, where listing 10,000 services would load the server it measures. */
async function countInState(url: string, state: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^landform_managed_services\\{state="${state}"\\} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** Health sweeps run so far, summed over the replicas (one sweeps at a time); NaN from a build without the counter. */
async function healthSweeps(urls: string[]): Promise<number> {
  let total = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    total += Number(/^landform_health_sweeps_total (\d+)$/m.exec(text)?.[1] ?? Number.NaN);
  }
  return total;
}

async function waitSynchronized(url: string, n: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await countInState(url, "synchronized")) >= n) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Whether the built serve can run as one of several replicas (leases wired in). */
function serveKnowsReplicas(): boolean {
  const help = execFileSync(process.execPath, [CLI, "--help"], { encoding: "utf8" });
  return help.includes("--replica-id");
}

async function measureStore(store: "sqlite" | "postgres"): Promise<Figures> {
  let pg: TestPostgres | undefined;
  let env: NodeJS.ProcessEnv = {};
  const shared = mkdtempSync(join(tmpdir(), "landform-bench-keys-"));
  cleanups.push(async () => rmSync(shared, { recursive: true, force: true }));
  // Replicas must open the same vault: one key file for all of them.
  const keyFile = join(shared, "vault.key");
  writeFileSync(keyFile, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
  const extraArgs = ["--vault-key-file", keyFile];
  if (store === "postgres") {
    pg = own(await startPostgres());
    env = { LANDFORM_DATABASE: await pg.createDatabase("landform_bench") };
  }
  const wantReplicas = store === "postgres" ? num("replicas") : 1;
  const replicas = wantReplicas > 1 && serveKnowsReplicas() ? wantReplicas : 1;
  const servers = [
    own(await startServe(TOKEN, 0, { env, extraArgs: [...extraArgs, ...replicaArgs(replicas, 0)] })),
  ];
  const first = servers[0]!;
  const client = new CodesphereClient({ baseUrl: `${first.url}/api`, token: TOKEN });
  cleanups.push(() => client.close());
  const backend = own(await startFleetBackend(shared, `${first.url}/api`, TOKEN));
  const label = store === "sqlite" ? "embedded SQLite" : `PostgreSQL ${pg!.version}`;
  const postmaster = pg
    ? Number(readFileSync(join(pg.dir, "pgdata", "postmaster.pid"), "utf8").split("\n")[0])
    : 0;
  console.log(`\n== ${label}`);

  // ---- 1: GET one service vs the bare server with the same bytes
  const svc = await client.managedServices.create(createBody(-1));
  if (!(await waitSynchronized(first.url, 1, 30_000))) throw new Error("the GET sample never synchronized");
  const path = `/api/managed-services/${svc.id}`;
  const body = await (await fetch(`${first.url}${path}`, { headers: AUTH })).text();
  const base = own(await startBareServer(body));
  const bareRounds: Load[] = [];
  const ours: Load[] = [];
  for (let round = 0; round < num("rounds"); round++) {
    bareRounds.push(await load(`${base.url}/`, [base.proc.pid!]));
    ours.push(await load(`${first.url}${path}`, pg ? [first.proc.pid!, postmaster] : [first.proc.pid!]));
  }
  // Closed-loop p99 at 64 connections is bound by throughput (Little's law: 64 / rate on average), so
  // latency is also measured at one offered rate both servers can carry.
  const paced = { rate: num("rate"), seconds: num("seconds"), connections: CONNECTIONS, headers: AUTH };
  const bareAtRate = await pacedGet(`${base.url}/`, paced);
  const oursAtRate = await pacedGet(`${first.url}${path}`, paced);
  await base.stop();
  console.log(`GET ${path}: ${body.length} bytes, ${CONNECTIONS} connections`);
  printLoads("  bare node:http", bareRounds);
  printLoads("  landform serve", ours);
  console.log(
    `  at ${values.rate} req/s offered: p50/p99 bare ${ms(bareAtRate.p50)}/${ms(bareAtRate.p99)} ms, ` +
      `landform ${ms(oursAtRate.p50)}/${ms(oursAtRate.p99)} ms (max ${ms(oursAtRate.max)}; served ${oursAtRate.rps.toFixed(0)} req/s)`,
  );

  // ---- 2: N creates, then all synchronized
  for (let r = 1; r < replicas; r++)
    servers.push(
      own(await startServe(TOKEN, 0, { env, extraArgs: [...extraArgs, ...replicaArgs(replicas, r)] })),
    );
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: num("concurrency") }, async () => {
      for (let i = next++; i < N; i = next++) await client.managedServices.create(createBody(i));
    }),
  );
  const accepted = performance.now();
  const acceptSeconds = (accepted - started) / 1000;
  const reached = await waitSynchronized(first.url, N + 1, num("sync-timeout") * 1000);
  const syncSeconds = reached ? (performance.now() - started) / 1000 : undefined;
  const syncedAtEnd = (await countInState(first.url, "synchronized")) - 1;
  console.log(
    `${N} creates, ${num("concurrency")} at a time: ${acceptSeconds.toFixed(2)} s, ${(N / acceptSeconds).toFixed(0)} creates/s`,
  );
  console.log(
    syncSeconds === undefined
      ? `  NOT all synchronized after ${values["sync-timeout"]} s: ${syncedAtEnd} of ${N}`
      : `  all synchronized ${syncSeconds.toFixed(2)} s after the first create (${replicas} replica${replicas > 1 ? "s" : ""})`,
  );

  // ---- 3: idle, holding the fleet
  const idleServe: number[] = [];
  const idlePostgres: number[] = [];
  const idleBackend: number[] = [];
  let sweeps = 0;
  if (reached) {
    const sample = () => ({
      at: performance.now(),
      serve: servers.reduce((sum, s) => sum + treeCpuSeconds(s.proc.pid!), 0),
      pg: pg ? treeCpuSeconds(postmaster) : 0,
      backend: treeCpuSeconds(backend.proc.pid!),
    });
    const windowMs = num("idle-window") * 1000;
    const urls = servers.map((s) => s.url);
    const sweepsBefore = await healthSweeps(urls);
    let prev = sample();
    for (let t = 0; t < num("idle-seconds") * 1000; t += windowMs) {
      await new Promise((r) => setTimeout(r, windowMs));
      const now = sample();
      const wall = (now.at - prev.at) / 1000;
      idleServe.push(((now.serve - prev.serve) / wall) * 100);
      idlePostgres.push(((now.pg - prev.pg) / wall) * 100);
      idleBackend.push(((now.backend - prev.backend) / wall) * 100);
      prev = now;
    }
    sweeps = (await healthSweeps(urls)) - sweepsBefore;
    const still = (await countInState(first.url, "synchronized")) - 1;
    console.log(
      `idle, ${num("idle-window")} s windows: serve ${idleServe.map(pct).join(", ")} of a core` +
        (pg ? `; PostgreSQL server ${idlePostgres.map(pct).join(", ")}` : "") +
        `; backend ${idleBackend.map(pct).join(", ")}` +
        `; ${still} of ${N} still synchronized; ${sweeps} health sweep(s)`,
    );
  }
  const rssServe = servers.map((s) => rssMiB(s.proc.pid!));

  await cleanUp();
  return {
    label,
    replicasSync: replicas,
    bodyBytes: body.length,
    bare: bareRounds,
    ours,
    bareAtRate,
    oursAtRate,
    createsPerSecond: N / acceptSeconds,
    acceptSeconds,
    syncSeconds,
    syncedAtEnd,
    idleServe,
    idlePostgres: pg ? idlePostgres : undefined,
    idleBackend,
    sweeps,
    rssServe,
  };
}

function replicaArgs(replicas: number, index: number): string[] {
  return replicas > 1 ? ["--replica-id", `bench-${index + 1}`] : [];
}

async function main(): Promise<void> {
  const onSignal = () => {
    void cleanUp().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const all: Figures[] = [];
  try {
    for (const store of STORES) all.push(await measureStore(store as "sqlite" | "postgres"));
  } finally {
    await cleanUp();
  }
  printTable(all, {
    services: N,
    rate: num("rate"),
    concurrency: num("concurrency"),
    syncTimeout: num("sync-timeout"),
    idleSeconds: num("idle-seconds"),
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
