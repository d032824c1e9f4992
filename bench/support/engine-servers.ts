/**
 * The baselines of bench/engines.ts and what it reads from /proc.
 *
 * A bare server is the same binary the reference backends would pick
 * (engines/finder.ts), started by hand the way a person would without
 * Landform: initdb + postgres, or redis-server with a config file, as the
 * same unprivileged user the engines run as under root, with the same
 * settings, so the ratio shows what Landform adds and nothing else.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import type { PostgresBinaries, RedisBinary } from "../../control-plane/backends/reference/engines/finder";
import { giveTo, makeReachable, type RunAs } from "../../control-plane/backends/reference/engines/os-user";
import { freePort } from "../../control-plane/backends/reference/engines/process";
import { RespClient } from "../../control-plane/backends/reference/engines/resp";

export interface BareServer {
  /** The server's main process. */
  pid: number;
  port: number;
  /** ms from nothing on disk to the first answered query. */
  elapsedMs: number;
  stop(): Promise<void>;
}

const CONNECT_DEADLINE_MS = 60_000;

function spawnAs(file: string, args: string[], dir: string, runAs: RunAs | null): ChildProcess {
  const out = fs.openSync(path.join(dir, "server.log"), "a", 0o600);
  try {
    return spawn(file, args, {
      cwd: dir,
      stdio: ["ignore", out, out],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", LC_ALL: "C.UTF-8" },
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    });
  } finally {
    fs.closeSync(out);
  }
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once("exit", (code) => r(code)));
}

function logTail(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, "server.log"), "utf8").trimEnd().split("\n").slice(-5).join(" | ");
  } catch {
    return "";
  }
}

async function stopServer(child: ChildProcess, signal: NodeJS.Signals, dir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = exitOf(child);
    child.kill(signal);
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(killer);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

function ownedDir(prefix: string, runAs: RunAs | null): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), prefix));
  makeReachable(runAs, dir);
  giveTo(runAs, dir);
  return dir;
}

/**
 * initdb (the flags the engine uses: SCRAM, UTF8, C locale, no sync) and
 * postgres on 127.0.0.1 with `settings`, timed until a password login runs
 * SELECT 1.
 */
export async function barePostgres(
  bin: PostgresBinaries,
  runAs: RunAs | null,
  settings: Record<string, string>,
): Promise<BareServer> {
  const started = performance.now();
  const dir = ownedDir(`landform-bench-pg${bin.major}-`, runAs);
  const password = `bare-${process.pid}-${Date.now()}`;
  const pwfile = path.join(dir, "pw");
  fs.writeFileSync(pwfile, password, { mode: 0o600 });
  giveTo(runAs, pwfile);
  const pgdata = path.join(dir, "pgdata");
  const initdb = spawnAs(
    path.join(bin.binDir, "initdb"),
    ["-D", pgdata, "-U", "bench_admin", `--pwfile=${pwfile}`, "--auth=scram-sha-256"].concat([
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
    ]),
    dir,
    runAs,
  );
  const code = await exitOf(initdb);
  if (code !== 0) throw new Error(`initdb ${bin.major} failed (${code}): ${logTail(dir)}`);
  const port = await freePort();
  const flags = {
    listen_addresses: "127.0.0.1",
    port: String(port),
    unix_socket_directories: "",
    ...settings,
  };
  const server = spawnAs(
    path.join(bin.binDir, "postgres"),
    ["-D", pgdata, ...Object.entries(flags).flatMap(([k, v]) => ["-c", `${k}=${v}`])],
    dir,
    runAs,
  );
  const stop = () => stopServer(server, "SIGINT", dir);
  try {
    await untilAnswered(server, dir, async () => {
      const c = new pg.Client({
        host: "127.0.0.1",
        port,
        user: "bench_admin",
        password,
        database: "postgres",
        connectionTimeoutMillis: 5_000,
      });
      c.on("error", () => {});
      await c.connect();
      try {
        await c.query("SELECT 1");
      } finally {
        await c.end().catch(() => {});
      }
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: server.pid!, port, elapsedMs: performance.now() - started, stop };
}

/** redis-server with the persistence, limits and password the engine writes, timed until AUTH + PING answer. */
export async function bareRedis(
  bin: RedisBinary,
  runAs: RunAs | null,
  settings: Record<string, string>,
): Promise<BareServer> {
  const started = performance.now();
  const dir = ownedDir("landform-bench-redis-", runAs);
  const password = `bare-${process.pid}-${Date.now()}`;
  const port = await freePort();
  const conf = path.join(dir, "redis.conf");
  const lines = [
    "bind 127.0.0.1",
    `port ${port}`,
    "daemonize no",
    'logfile ""',
    `dir ${dir}`,
    "appendonly yes",
    "appendfsync everysec",
    "save 3600 1 300 100 60 10000",
    `requirepass "${password}"`,
    ...Object.entries(settings).map(([k, v]) => `${k} ${v}`),
  ];
  fs.writeFileSync(conf, `${lines.join("\n")}\n`, { mode: 0o600 });
  giveTo(runAs, conf);
  const server = spawnAs(bin.file, [conf], dir, runAs);
  const stop = () => stopServer(server, "SIGTERM", dir);
  try {
    await untilAnswered(server, dir, () => redisPing(port, password));
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: server.pid!, port, elapsedMs: performance.now() - started, stop };
}

/** AUTH as the default user and PING; rejects unless the answer is PONG. */
export async function redisPing(port: number, password: string): Promise<void> {
  const c = await RespClient.connect(port);
  try {
    await c.call("AUTH", password);
    const pong = await c.call("PING");
    if (pong !== "PONG") throw new Error(`PING answered ${String(pong)}`);
  } finally {
    c.close();
  }
}

async function untilAnswered(server: ChildProcess, dir: string, attempt: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + CONNECT_DEADLINE_MS;
  let last = "";
  for (;;) {
    if (server.exitCode !== null || server.signalCode !== null)
      throw new Error(`the bare server exited: ${logTail(dir)}`);
    try {
      await attempt();
      return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`the bare server did not answer in time: ${last}`);
    await sleep(10);
  }
}

// ---------------------------------------------------------------- /proc

/** Every live process's parent, read once (a server's workers are its children). */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      // Fields after the command (which may hold spaces): state, ppid, ...
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (rest[0] !== "Z") out.set(Number(name), Number(rest[1]));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** `root` and all its descendants. */
export function processTree(root: number, table = parents()): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    for (const [pid, ppid] of table) if (ppid === out[i]) out.push(pid);
  }
  return out.filter((pid) => table.has(pid));
}

export interface Memory {
  processes: number;
  /** Resident set size, KiB: shared pages count in every process that maps them. */
  rssKiB: number;
  /** Proportional set size, KiB: shared pages split among the processes sharing them. */
  pssKiB: number;
}

/** RSS and PSS of one server: its main process and every worker it forked. */
export function serverMemory(mainPid: number, table = parents()): Memory {
  return memoryOf(processTree(mainPid, table));
}

/** RSS and PSS summed over `pids`. */
export function memoryOf(pids: number[]): Memory {
  let rssKiB = 0;
  let pssKiB = 0;
  for (const pid of pids) {
    try {
      const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      rssKiB += Number(/^Rss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
      pssKiB += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
    } catch {
      // exited between the listing and the read
    }
  }
  return { processes: pids.length, rssKiB, pssKiB };
}

export { parents as processTable };

/** Pids of the live processes whose command line names a path under `dir`. */
export function processesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const [pid] of parents()) {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)) out.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
