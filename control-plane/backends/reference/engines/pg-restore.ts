/**
 * Restoring a PostgreSQL base backup (./pg-backup.ts) into a new service's
 * folder: the copy is unpacked with its backup_label and the archived WAL it
 * needs, and started once on its own: recovery to the target (`immediate`
 * for a backup id, the time for a point in time, or the end of the archive),
 * then promote. That first run listens on a private Unix socket only and
 * trusts the backend's role there, so the backend can give the role a
 * password of the new service; then it stops, and the engine starts it like
 * any other (PostgresDriver.initialize sees RESTORED_MARKER and keeps it).
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { giveTo, type RunAs } from "./os-user";
import { type PgBackupInfo, RESTORED_MARKER, tar } from "./pg-backup";
import { ADMIN_ROLE, scramVerifier } from "./postgres";
import { launch, stopChild, tail } from "./process";

const ADMIN_SECRET_FILE = "admin.secret";
const RECOVERY_TIMEOUT_MS = 180_000;

export type RecoveryTarget = { kind: "immediate" } | { kind: "time"; time: number } | { kind: "end" };

export interface RestoreInput {
  dir: string;
  runAs: RunAs | null;
  /** Folder of this major's `postgres`. */
  binDir: string;
  /** The base backup (tar.gz) and its manifest's PostgreSQL part. */
  base: Buffer;
  info: PgBackupInfo;
  /** Archived WAL files by name (segments and timeline histories), uncompressed. */
  wal: Map<string, Buffer>;
  target: RecoveryTarget;
}

/**
 * Builds the new service's cluster from a base backup and WAL, recovered to
 * `target` and promoted, with a fresh password for the backend's role.
 * Returns the target it reached: a time past the archived WAL falls back to
 * the end of the archive (PostgreSQL refuses a time it cannot reach).
 */
export async function restoreCluster(input: RestoreInput): Promise<RecoveryTarget> {
  try {
    await recoverOnce(input, input.target);
    return input.target;
  } catch (err) {
    if (
      input.target.kind === "time" &&
      err instanceof Error &&
      /before configured recovery target/.test(err.message)
    ) {
      await recoverOnce(input, { kind: "end" });
      return { kind: "end" };
    }
    throw err;
  }
}

async function recoverOnce(input: RestoreInput, target: RecoveryTarget): Promise<void> {
  const { dir, runAs } = input;
  const pgdata = path.join(dir, "pgdata");
  const walDir = path.join(dir, "restore-wal");
  const hba = path.join(dir, "restore-hba.conf");
  const logFile = path.join(dir, "server.log");
  fs.rmSync(pgdata, { recursive: true, force: true });
  fs.rmSync(walDir, { recursive: true, force: true });
  fs.mkdirSync(pgdata, { recursive: true, mode: 0o700 });
  const archive = path.join(dir, "restore-base.tar.gz");
  fs.writeFileSync(archive, input.base, { mode: 0o600 });
  try {
    await tar(["-xzf", archive, "-C", pgdata], [0]);
  } finally {
    fs.rmSync(archive, { force: true });
  }
  for (const sub of [
    "pg_wal/archive_status",
    "pg_replslot",
    "pg_stat_tmp",
    "pg_dynshmem",
    "pg_notify",
    "pg_serial",
    "pg_snapshots",
    "pg_subtrans",
  ]) {
    fs.mkdirSync(path.join(pgdata, sub), { recursive: true, mode: 0o700 });
  }
  if (input.info.label) fs.writeFileSync(path.join(pgdata, "backup_label"), input.info.label);
  if (input.info.tablespaceMap)
    fs.writeFileSync(path.join(pgdata, "tablespace_map"), input.info.tablespaceMap);
  fs.writeFileSync(path.join(pgdata, "recovery.signal"), "");
  fs.mkdirSync(walDir, { mode: 0o700 });
  for (const [name, body] of input.wal) fs.writeFileSync(path.join(walDir, name), body);
  fs.writeFileSync(hba, `local all ${ADMIN_ROLE} trust\n`);
  fs.chmodSync(pgdata, 0o700);
  giveTo(runAs, pgdata);
  giveTo(runAs, walDir);
  giveTo(runAs, hba);
  // A short private folder: socket paths are limited to about 100 bytes, and nobody else may reach it.
  const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), "lf-pg-"));
  giveTo(runAs, socketDir);

  const targetArgs =
    target.kind === "immediate"
      ? ["-c", "recovery_target=immediate"]
      : target.kind === "time"
        ? ["-c", `recovery_target_time=${pgTimestamp(target.time)}`]
        : [];
  const child = launch({
    file: path.join(input.binDir, "postgres"),
    args: [
      "-D",
      pgdata,
      "-c",
      "listen_addresses=",
      "-c",
      `unix_socket_directories=${socketDir}`,
      "-c",
      "port=5432",
      "-c",
      `hba_file=${hba}`,
      "-c",
      "archive_mode=off",
      "-c",
      `restore_command=cp "${walDir}/%f" "%p"`,
      "-c",
      "recovery_target_action=promote",
      ...targetArgs,
    ],
    cwd: dir,
    logFile,
    runAs,
  });
  recoveries.add(child);
  let exited = false;
  child.once("exit", () => {
    exited = true;
    recoveries.delete(child);
  });
  child.once("error", () => {
    exited = true;
  });
  try {
    await promoted(socketDir, logFile, () => exited);
    const password = randomBytes(24).toString("base64url");
    await withSocket(socketDir, async (c) => {
      // Settings the source changed with ALTER SYSTEM are the source's: the new service's come from its own spec.
      await c.query("ALTER SYSTEM RESET ALL");
      await c.query(
        `ALTER ROLE ${c.escapeIdentifier(ADMIN_ROLE)} PASSWORD ${c.escapeLiteral(scramVerifier(password))}`,
      );
      await c.query("CHECKPOINT");
    });
    fs.writeFileSync(path.join(dir, ADMIN_SECRET_FILE), password, { mode: 0o600 });
  } finally {
    await stopChild(child, "SIGINT", 15_000);
    fs.rmSync(socketDir, { recursive: true, force: true });
    fs.rmSync(walDir, { recursive: true, force: true });
    fs.rmSync(hba, { force: true });
  }
  fs.writeFileSync(
    path.join(dir, RESTORED_MARKER),
    JSON.stringify({
      target: target.kind,
      ...(target.kind === "time" ? { time: new Date(target.time).toISOString() } : {}),
    }),
  );
}

/** Recovery runs in flight, so a shutdown of the backend leaves none behind. */
const recoveries = new Set<ChildProcess>();

/** Stops every recovery run in flight (their restores then fail). */
export async function stopRecoveries(): Promise<void> {
  await Promise.allSettled([...recoveries].map((c) => stopChild(c, "SIGINT", 15_000)));
}

async function withSocket<T>(socketDir: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: socketDir, port: 5432, user: ADMIN_ROLE, database: "postgres" });
  client.on("error", () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Waits until recovery has ended and the server is promoted; fails with the log's last lines if it exits. */
async function promoted(socketDir: string, logFile: string, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + RECOVERY_TIMEOUT_MS;
  for (;;) {
    if (exited()) throw new Error(`recovery stopped: ${tail(logFile, 8)}`);
    try {
      const inRecovery = await withSocket(socketDir, async (c) => {
        const r = await c.query<{ r: boolean }>("SELECT pg_is_in_recovery() AS r");
        return r.rows[0]!.r;
      });
      if (!inRecovery) return;
    } catch {
      // Not accepting connections before consistency: wait.
    }
    if (Date.now() > deadline) throw new Error(`recovery did not finish in time: ${tail(logFile, 3)}`);
    await sleep(100);
  }
}

/** A time as PostgreSQL's recovery_target_time reads it (it refuses ISO 8601's "T" and "Z"). */
export function pgTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "+00");
}
