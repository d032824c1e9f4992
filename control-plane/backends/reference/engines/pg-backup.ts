/**
 * Physical backups of the PostgreSQL engine (layout: docs/backups.md).
 *
 * - WAL archiving: every server runs with `archive_mode = on` and an
 *   `archive_command` that only copies the finished segment into the
 *   service's spool folder (`<service dir>/wal-spool`); the backend ships the
 *   spool to the backup store (./wal-shipper.ts). Copying locally cannot fail
 *   because the store is down, and a segment leaves the spool only once it is
 *   uploaded, so no WAL is lost while the store is unreachable. Should the
 *   copy itself fail, PostgreSQL keeps the segment and retries.
 * - Base backup: a file-level copy of the data folder (tar, gzip) taken
 *   between pg_backup_start and pg_backup_stop in one session (the npm builds
 *   of PostgreSQL ship no pg_basebackup). pg_backup_stop waits until the
 *   last segment the copy needs is archived.
 * - Restore: ./pg-restore.ts.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { giveTo, type RunAs } from "./os-user";
import { ADMIN_ROLE } from "./postgres";

export const SPOOL_DIR = "wal-spool";
/** Left in a service folder whose data came from a backup: initialize must not run initdb over it. */
export const RESTORED_MARKER = "restored.json";
const ADMIN_SECRET_FILE = "admin.secret";
const ARCHIVE_TIMEOUT_MS = 60_000;

/** A running service's server, as the backend reaches it. */
export interface PgServer {
  dir: string;
  port: number;
  major: number;
}

/** What a base backup needs besides its files, kept in the backup's manifest. */
export interface PgBackupInfo {
  startLsn: string;
  stopLsn: string;
  /** The WAL segment files from the backup's start to its end (inclusive): what consistency needs. */
  startWal: string;
  stopWal: string;
  timeline: number;
  /** Contents of backup_label and tablespace_map, as pg_backup_stop returned them. */
  label: string;
  tablespaceMap: string;
  /**
   * A copy of a stopped (paused) server: its WAL is in the copy, there is no
   * label and no WAL range, and it is consistent as it is.
   */
  cold?: boolean;
}

/** The server settings that archive WAL into the spool; creates the spool folder. */
export function archiveSettings(dir: string, runAs: RunAs | null): string[] {
  const spool = path.join(dir, SPOOL_DIR);
  fs.mkdirSync(spool, { recursive: true, mode: 0o700 });
  giveTo(runAs, spool);
  // Re-archiving a segment that is already there (a crash between copy and bookkeeping) succeeds only if identical.
  const command =
    `if [ -f "${spool}/%f" ]; then cmp -s "%p" "${spool}/%f"; ` +
    `else cp "%p" "${spool}/%f.part" && mv "${spool}/%f.part" "${spool}/%f"; fi`;
  return [
    "wal_level = 'replica'",
    "archive_mode = 'on'",
    `archive_command = '${command}'`,
    // A segment that is not full is still archived after 5 minutes of activity: what a lost server can lose at most.
    "archive_timeout = '300s'",
  ];
}

/** Whether the folder holds a cluster restored from a backup, not yet started by the engine. */
export function isRestored(dir: string): boolean {
  return (
    fs.existsSync(path.join(dir, RESTORED_MARKER)) && fs.existsSync(path.join(dir, "pgdata", "PG_VERSION"))
  );
}

/** Connects as the backend's own role with the password in the service folder. */
async function withAdmin<T>(server: PgServer, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    host: "127.0.0.1",
    port: server.port,
    user: ADMIN_ROLE,
    password: fs.readFileSync(path.join(server.dir, ADMIN_SECRET_FILE), "utf8"),
    database: "postgres",
    connectionTimeoutMillis: 5_000,
  });
  client.on("error", () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Copies the running server's data folder into `outFile` (tar.gz) between
 * pg_backup_start and pg_backup_stop; resolves once the WAL the copy needs
 * is in the spool.
 */
export async function takeBaseBackup(
  server: PgServer,
  label: string,
  outFile: string,
): Promise<PgBackupInfo> {
  const newApi = server.major >= 15;
  return withAdmin(server, async (c) => {
    const start = await c.query<{ lsn: string; wal: string }>(
      newApi
        ? "SELECT lsn::text AS lsn, pg_walfile_name(lsn) AS wal FROM pg_backup_start($1, true) AS lsn"
        : "SELECT lsn::text AS lsn, pg_walfile_name(lsn) AS wal FROM pg_start_backup($1, true, false) AS lsn",
      [label],
    );
    try {
      await tarData(path.join(server.dir, "pgdata"), outFile);
    } catch (err) {
      await c
        .query(newApi ? "SELECT pg_backup_stop(false)" : "SELECT pg_stop_backup(false, false)")
        .catch(() => {});
      throw err;
    }
    // Waiting for the archive has a bound: a spool that cannot be written must not hang the backup for ever.
    await c.query(`SET statement_timeout = ${ARCHIVE_TIMEOUT_MS}`);
    const stop = await c.query<{ lsn: string; wal: string; labelfile: string; spcmapfile: string | null }>(
      `SELECT lsn::text AS lsn, pg_walfile_name(lsn) AS wal, labelfile, spcmapfile FROM ${
        newApi ? "pg_backup_stop(true)" : "pg_stop_backup(false, true)"
      }`,
    );
    const s = start.rows[0]!;
    const e = stop.rows[0]!;
    return {
      startLsn: s.lsn,
      stopLsn: e.lsn,
      startWal: s.wal,
      stopWal: e.wal,
      timeline: Number.parseInt(s.wal.slice(0, 8), 16),
      label: e.labelfile,
      tablespaceMap: e.spcmapfile ?? "",
    };
  });
}

/**
 * Makes the WAL up to now archivable: a commit stamped now (so recovery to
 * any earlier time finds a record past it), then a segment switch, and waits
 * until the switched segment is in the spool.
 */
export async function switchWal(server: PgServer): Promise<void> {
  await withAdmin(server, async (c) => {
    await c.query("SELECT txid_current()");
    const r = await c.query<{ wal: string }>("SELECT pg_walfile_name(pg_switch_wal()) AS wal");
    const wanted = r.rows[0]!.wal;
    const deadline = Date.now() + ARCHIVE_TIMEOUT_MS;
    for (;;) {
      const a = await c.query<{ last: string | null }>(
        "SELECT last_archived_wal AS last FROM pg_stat_archiver",
      );
      const last = a.rows[0]?.last;
      if (last && /^[0-9A-F]{24}$/.test(last) && last >= wanted) return;
      if (Date.now() > deadline) throw new Error(`WAL segment ${wanted} was not archived in time`);
      await sleep(100);
    }
  });
}

/**
 * Copies the data folder of a stopped server, WAL included: a cleanly shut
 * down cluster needs nothing else. (A paused service is backed up this way, so
 * the final backup before deleting it does not need a running server.)
 */
export async function takeColdCopy(dir: string, outFile: string): Promise<PgBackupInfo> {
  await tarData(path.join(dir, "pgdata"), outFile, true);
  return {
    startLsn: "",
    stopLsn: "",
    startWal: "",
    stopWal: "",
    timeline: 0,
    label: "",
    tablespaceMap: "",
    cold: true,
  };
}

/** The data folder's files (without WAL and run-time state) as tar.gz; tar exit 1 means a file changed while read, which WAL replay repairs. */
function tarData(pgdata: string, outFile: string, withWal = false): Promise<void> {
  const excluded = [
    ...(withWal ? [] : ["./pg_wal/*"]),
    "./postmaster.pid",
    "./postmaster.opts",
    "./pg_replslot/*",
    "./pg_stat_tmp/*",
    "./pg_dynshmem/*",
    "./pg_notify/*",
    "./pg_serial/*",
    "./pg_snapshots/*",
    "./pg_subtrans/*",
    "./pgsql_tmp*",
  ];
  return tar(
    [
      "-czf",
      outFile,
      "-C",
      pgdata,
      "--warning=no-file-changed",
      "--warning=no-file-removed",
      "--ignore-failed-read",
      ...excluded.map((p) => `--exclude=${p}`),
      ".",
    ],
    [0, 1],
  );
}

export function tar(args: string[], okCodes: number[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = "";
    const child = spawn("tar", args, { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr.on("data", (d: Buffer) => {
      if (err.length < 2000) err += d.toString("utf8");
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== null && okCodes.includes(code)) resolve();
      else reject(new Error(`tar failed (exit ${code}): ${err.trim().split("\n").slice(-2).join(" | ")}`));
    });
  });
}
