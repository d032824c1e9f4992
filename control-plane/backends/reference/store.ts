/**
 * Durable state of the reference backends: one SQLite file in the data folder
 * (`reference-backends.sqlite`, WAL, synchronous=NORMAL).
 *
 * - `services`: each service's desired and observed spec, its lifecycle phase,
 *   and its secrets. The secrets play the part of the database server's own
 *   credentials: they are stored so the service could check them, and are never
 *   returned or logged.
 * - `data`: each service's key-value data set (the data a real server keeps on
 *   its volume); it survives pause, resume and restarts, and goes with delete.
 * - `data_changes`: every change to a data set, in order (time, key, value or
 *   deletion): the write-ahead log of the data set. Backups archive it and
 *   point-in-time recovery replays it.
 * - `backups`: the backups this backend took (where it wrote them, the log
 *   position they cover, whether the upload is in flight, done or failed).
 *   The objects themselves live in the team's S3-compatible store.
 *
 * A service being recovered from a backup carries `recovery_token` (the
 * recovery in flight) or `recovery_error` (it failed); until it is recovered it
 * stays provisioning.
 */
import fs from "node:fs";
import path from "node:path";
import type Database from "better-sqlite3";
import { openSqlite, preparedStatements } from "../../store/sqlite-open";
import type { Spec, Values } from "./operations";
import {
  type BackupRecord,
  type BackupRow,
  backupFromRow,
  type DataChange,
  type DataSnapshot,
  fromRow,
  MIGRATIONS,
  type ServiceRow,
  type StoredService,
} from "./store-rows";

export type { BackupRecord, BackupState, DataChange, DataSnapshot, StoredService } from "./store-rows";

export const DATABASE_FILE = "reference-backends.sqlite";

export class ReferenceStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.db = openSqlite(path.join(dataDir, DATABASE_FILE));
    this.statement = preparedStatements(this.db);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 5000");
    this.migrate();
  }

  private migrate(): void {
    const version = this.db.pragma("user_version", { simple: true }) as number;
    this.transaction(() => {
      for (let v = version; v < MIGRATIONS.length; v++) {
        this.db.exec(MIGRATIONS[v]!);
      }
      this.db.pragma(`user_version = ${MIGRATIONS.length}`);
    });
  }

  /** Statements by their text, prepared once (per call was 3% of serve's CPU in bench/terraform-apply). */
  private readonly statement: (sql: string) => Database.Statement;

  /** Runs `fn` in one immediate transaction: all of it is stored, or none. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    this.db.close();
  }

  /** Whether the database answers. */
  ping(): boolean {
    try {
      return this.statement("SELECT 1 AS one").get() !== undefined;
    } catch {
      return false;
    }
  }

  // ---------------------------------------------------------------- services

  /** Every service of every provider (to bring engine servers back after a restart). */
  allServices(): { provider: string; id: string }[] {
    return this.statement("SELECT provider, id FROM services ORDER BY created_at, rowid").all() as {
      provider: string;
      id: string;
    }[];
  }

  /**
   * Ends the operation in flight of an engine-backed service once its server
   * has converged to `desired` with `secrets`: false when the service is gone,
   * has changed since, or waits for a recovery.
   */
  completeOperation(provider: string, id: string, desired: Spec, secrets: Values, now: number): boolean {
    return (
      this.statement(
        `UPDATE services SET due_at = ?, updated_at = ?
           WHERE provider = ? AND id = ? AND desired = ? AND secrets = ? AND due_at > ?
             AND recovery_token IS NULL AND recovery_error IS NULL`,
      ).run(now, now, provider, id, JSON.stringify(desired), JSON.stringify(secrets), now).changes > 0
    );
  }

  listIds(provider: string): string[] {
    const rows = this.statement("SELECT id FROM services WHERE provider = ? ORDER BY created_at, rowid").all(
      provider,
    ) as { id: string }[];
    return rows.map((r) => r.id);
  }

  get(provider: string, id: string): StoredService | undefined {
    const row = this.statement("SELECT * FROM services WHERE provider = ? AND id = ?").get(provider, id) as
      | ServiceRow
      | undefined;
    return row && fromRow(row);
  }

  insert(s: StoredService, now: number): void {
    this.statement(
      `INSERT INTO services (provider, id, team_id, desired, observed, secrets, phase, due_at, created_at, updated_at,
                               recovery_token, recovery_error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      s.provider,
      s.id,
      s.teamId,
      JSON.stringify(s.desired),
      s.observed && JSON.stringify(s.observed),
      JSON.stringify(s.secrets),
      s.phase,
      s.dueAt,
      s.createdAt,
      now,
      s.recoveryToken ?? null,
      s.recoveryError ?? null,
    );
  }

  update(s: StoredService, now: number): void {
    this.statement(
      `UPDATE services SET desired = ?, observed = ?, secrets = ?, phase = ?, due_at = ?, updated_at = ?
         WHERE provider = ? AND id = ?`,
    ).run(
      JSON.stringify(s.desired),
      s.observed && JSON.stringify(s.observed),
      JSON.stringify(s.secrets),
      s.phase,
      s.dueAt,
      now,
      s.provider,
      s.id,
    );
  }

  /** Removes the service with its data set and change log. */
  delete(provider: string, id: string): boolean {
    return this.transaction(() => {
      this.statement("DELETE FROM data WHERE provider = ? AND service_id = ?").run(provider, id);
      this.statement("DELETE FROM data_changes WHERE provider = ? AND service_id = ?").run(provider, id);
      return (
        this.statement("DELETE FROM services WHERE provider = ? AND id = ?").run(provider, id).changes > 0
      );
    });
  }

  /**
   * Ends the recovery `token` of a service: its data set becomes `data` (each
   * key written through the change log, so the recovered service's own log is
   * complete from its start) and provisioning completes at `now`. False when
   * the service is gone or no longer waits for this recovery.
   */
  finishRecovery(
    provider: string,
    id: string,
    token: string,
    data: Record<string, unknown>,
    now: number,
  ): boolean {
    return this.transaction(() => {
      const done = this.statement(
        `UPDATE services SET recovery_token = NULL, recovery_error = NULL, due_at = ?, updated_at = ?
           WHERE provider = ? AND id = ? AND recovery_token = ?`,
      ).run(now, now, provider, id, token).changes;
      if (done === 0) return false;
      this.statement("DELETE FROM data WHERE provider = ? AND service_id = ?").run(provider, id);
      for (const [key, value] of Object.entries(data)) this.putData(provider, id, key, value, now);
      return true;
    });
  }

  /** Records why the recovery `token` failed; the service stays provisioning. */
  failRecovery(provider: string, id: string, token: string, error: string, now: number): boolean {
    return (
      this.statement(
        `UPDATE services SET recovery_token = NULL, recovery_error = ?, updated_at = ?
           WHERE provider = ? AND id = ? AND recovery_token = ?`,
      ).run(error, now, provider, id, token).changes > 0
    );
  }

  /**
   * After a restart no upload, deletion or recovery is in flight any more:
   * those that were are marked failed, so a caller learns it and asks again.
   */
  failInterrupted(now: number): void {
    this.transaction(() => {
      this.statement(
        `UPDATE services SET recovery_token = NULL, recovery_error = ?, updated_at = ?
           WHERE recovery_token IS NOT NULL`,
      ).run(
        "the recovery was interrupted by a restart of the backend; delete the service and create it again",
        now,
      );
      this.statement(
        "UPDATE backups SET state = 'failed', error = ?, updated_at = ? WHERE state = 'uploading'",
      ).run("the upload was interrupted by a restart of the backend; take the backup again", now);
      this.statement(
        `UPDATE backups SET state = CASE uploaded WHEN 1 THEN 'uploaded' ELSE 'failed' END, error = ?, updated_at = ?
           WHERE state = 'deleting'`,
      ).run("the deletion was interrupted by a restart of the backend; delete the backup again", now);
    });
  }

  // ---------------------------------------------------------------- data sets

  readData(provider: string, id: string): Record<string, unknown> {
    const rows = this.statement(
      "SELECT key, value FROM data WHERE provider = ? AND service_id = ? ORDER BY key",
    ).all(provider, id) as { key: string; value: string }[];
    return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value)]));
  }

  /** Number of keys and total size in bytes of the stored values, without `exceptKey`. */
  dataUsage(provider: string, id: string, exceptKey: string): { keys: number; bytes: number } {
    const row = this.statement(
      `SELECT COUNT(*) AS keys, COALESCE(SUM(LENGTH(CAST(value AS BLOB))), 0) AS bytes
         FROM data WHERE provider = ? AND service_id = ? AND key <> ?`,
    ).get(provider, id, exceptKey) as { keys: number; bytes: number };
    return row;
  }

  /** Sets `key` and records the change, in one transaction. */
  putData(provider: string, id: string, key: string, value: unknown, now: number): void {
    const json = JSON.stringify(value);
    this.transaction(() => {
      this.statement(
        `INSERT INTO data (provider, service_id, key, value, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (provider, service_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      ).run(provider, id, key, json, now);
      this.recordChange(provider, id, key, json, now);
    });
  }

  /** Deletes `key` and records the change; false when there was no such key. */
  deleteData(provider: string, id: string, key: string, now: number): boolean {
    return this.transaction(() => {
      const deleted =
        this.statement("DELETE FROM data WHERE provider = ? AND service_id = ? AND key = ?").run(
          provider,
          id,
          key,
        ).changes > 0;
      if (deleted) this.recordChange(provider, id, key, null, now);
      return deleted;
    });
  }

  /** The change log of one service's data set after `afterSeq`, oldest first. */
  dataChanges(provider: string, id: string, afterSeq = 0): DataChange[] {
    const rows = this.statement(
      `SELECT seq, at, key, value, deleted FROM data_changes
         WHERE provider = ? AND service_id = ? AND seq > ? ORDER BY seq`,
    ).all(provider, id, afterSeq) as {
      seq: number;
      at: number;
      key: string;
      value: string | null;
      deleted: number;
    }[];
    return rows.map((r) => ({
      seq: r.seq,
      at: r.at,
      key: r.key,
      deleted: r.deleted === 1,
      ...(r.value === null ? {} : { value: JSON.parse(r.value) }),
    }));
  }

  /**
   * The data set with its log position, and the log entries after `fromSeq`,
   * read in one transaction so they agree.
   */
  snapshot(provider: string, id: string, fromSeq: number): DataSnapshot {
    return this.transaction(() => {
      const position = this.statement(
        `SELECT COALESCE(MAX(seq), 0) AS seq, COUNT(*) AS count FROM data_changes
           WHERE provider = ? AND service_id = ?`,
      ).get(provider, id) as { seq: number; count: number };
      return {
        data: this.readData(provider, id),
        seq: position.seq,
        changeCount: position.count,
        changes: this.dataChanges(provider, id, fromSeq),
      };
    });
  }

  private recordChange(provider: string, id: string, key: string, json: string | null, now: number): void {
    this.statement(
      "INSERT INTO data_changes (provider, service_id, at, key, value, deleted) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(provider, id, now, key, json, json === null ? 1 : 0);
  }

  // ---------------------------------------------------------------- backups

  backup(provider: string, id: string): BackupRecord | undefined {
    const row = this.statement("SELECT * FROM backups WHERE provider = ? AND id = ?").get(provider, id) as
      | BackupRow
      | undefined;
    return row && backupFromRow(row);
  }

  /** Inserts or replaces the record of a backup. */
  saveBackup(b: BackupRecord, now: number): void {
    this.statement(
      `INSERT OR REPLACE INTO backups
           (provider, id, service_id, team_id, location, seq, change_count, taken_at, state, uploaded, error, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      b.provider,
      b.id,
      b.serviceId,
      b.teamId,
      b.location,
      b.seq,
      b.changeCount,
      b.takenAt,
      b.state,
      b.uploaded ? 1 : 0,
      b.error ?? null,
      now,
    );
  }

  /**
   * The log position up to which a service's change log is archived in the
   * store: the newest backup whose upload succeeded (deleting it later does
   * not un-archive what later backups then started from). 0 when none.
   */
  archivedSeq(provider: string, serviceId: string): number {
    const row = this.statement(
      `SELECT COALESCE(MAX(seq), 0) AS seq FROM backups
         WHERE provider = ? AND service_id = ? AND uploaded = 1`,
    ).get(provider, serviceId) as { seq: number };
    return row.seq;
  }
}
