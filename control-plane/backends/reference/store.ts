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
 *   deletion). Point-in-time recovery will replay it; nothing reads it yet.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { ServicePhase } from "../catalog";
import type { ServiceState, Spec, Values } from "./lifecycle";

export const DATABASE_FILE = "reference-backends.sqlite";

export interface StoredService extends ServiceState {
  provider: string;
  id: string;
  teamId: number;
  secrets: Values;
  createdAt: number;
}

export interface DataChange {
  seq: number;
  at: number;
  key: string;
  /** The new value, or undefined when the key was deleted. */
  value?: unknown;
  deleted: boolean;
}

interface ServiceRow {
  provider: string;
  id: string;
  team_id: number;
  desired: string;
  observed: string | null;
  secrets: string;
  phase: string;
  due_at: number;
  created_at: number;
}

const MIGRATIONS: string[] = [
  `CREATE TABLE services (
     provider   TEXT NOT NULL,
     id         TEXT NOT NULL,
     team_id    INTEGER NOT NULL,
     desired    TEXT NOT NULL,
     observed   TEXT,
     secrets    TEXT NOT NULL,
     phase      TEXT NOT NULL,
     due_at     INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (provider, id)
   );
   CREATE TABLE data (
     provider   TEXT NOT NULL,
     service_id TEXT NOT NULL,
     key        TEXT NOT NULL,
     value      TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (provider, service_id, key)
   );
   CREATE TABLE data_changes (
     seq        INTEGER PRIMARY KEY AUTOINCREMENT,
     provider   TEXT NOT NULL,
     service_id TEXT NOT NULL,
     at         INTEGER NOT NULL,
     key        TEXT NOT NULL,
     value      TEXT,
     deleted    INTEGER NOT NULL
   );
   CREATE INDEX data_changes_by_service ON data_changes (provider, service_id, seq);`,
];

export class ReferenceStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.db = new Database(path.join(dataDir, DATABASE_FILE));
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
      return this.db.prepare("SELECT 1 AS one").get() !== undefined;
    } catch {
      return false;
    }
  }

  // ---------------------------------------------------------------- services

  listIds(provider: string): string[] {
    const rows = this.db
      .prepare("SELECT id FROM services WHERE provider = ? ORDER BY created_at, rowid")
      .all(provider) as { id: string }[];
    return rows.map((r) => r.id);
  }

  get(provider: string, id: string): StoredService | undefined {
    const row = this.db.prepare("SELECT * FROM services WHERE provider = ? AND id = ?").get(provider, id) as
      | ServiceRow
      | undefined;
    return row && fromRow(row);
  }

  insert(s: StoredService, now: number): void {
    this.db
      .prepare(
        `INSERT INTO services (provider, id, team_id, desired, observed, secrets, phase, due_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
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
      );
  }

  update(s: StoredService, now: number): void {
    this.db
      .prepare(
        `UPDATE services SET desired = ?, observed = ?, secrets = ?, phase = ?, due_at = ?, updated_at = ?
         WHERE provider = ? AND id = ?`,
      )
      .run(
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
      this.db.prepare("DELETE FROM data WHERE provider = ? AND service_id = ?").run(provider, id);
      this.db.prepare("DELETE FROM data_changes WHERE provider = ? AND service_id = ?").run(provider, id);
      return (
        this.db.prepare("DELETE FROM services WHERE provider = ? AND id = ?").run(provider, id).changes > 0
      );
    });
  }

  // ---------------------------------------------------------------- data sets

  readData(provider: string, id: string): Record<string, unknown> {
    const rows = this.db
      .prepare("SELECT key, value FROM data WHERE provider = ? AND service_id = ? ORDER BY key")
      .all(provider, id) as { key: string; value: string }[];
    return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value)]));
  }

  /** Number of keys and total size in bytes of the stored values, without `exceptKey`. */
  dataUsage(provider: string, id: string, exceptKey: string): { keys: number; bytes: number } {
    const row = this.db
      .prepare(
        `SELECT COUNT(*) AS keys, COALESCE(SUM(LENGTH(CAST(value AS BLOB))), 0) AS bytes
         FROM data WHERE provider = ? AND service_id = ? AND key <> ?`,
      )
      .get(provider, id, exceptKey) as { keys: number; bytes: number };
    return row;
  }

  /** Sets `key` and records the change, in one transaction. */
  putData(provider: string, id: string, key: string, value: unknown, now: number): void {
    const json = JSON.stringify(value);
    this.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO data (provider, service_id, key, value, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (provider, service_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        )
        .run(provider, id, key, json, now);
      this.recordChange(provider, id, key, json, now);
    });
  }

  /** Deletes `key` and records the change; false when there was no such key. */
  deleteData(provider: string, id: string, key: string, now: number): boolean {
    return this.transaction(() => {
      const deleted =
        this.db
          .prepare("DELETE FROM data WHERE provider = ? AND service_id = ? AND key = ?")
          .run(provider, id, key).changes > 0;
      if (deleted) this.recordChange(provider, id, key, null, now);
      return deleted;
    });
  }

  /** The change log of one service's data set, oldest first. */
  dataChanges(provider: string, id: string): DataChange[] {
    const rows = this.db
      .prepare(
        "SELECT seq, at, key, value, deleted FROM data_changes WHERE provider = ? AND service_id = ? ORDER BY seq",
      )
      .all(provider, id) as { seq: number; at: number; key: string; value: string | null; deleted: number }[];
    return rows.map((r) => ({
      seq: r.seq,
      at: r.at,
      key: r.key,
      deleted: r.deleted === 1,
      ...(r.value === null ? {} : { value: JSON.parse(r.value) }),
    }));
  }

  private recordChange(provider: string, id: string, key: string, json: string | null, now: number): void {
    this.db
      .prepare(
        "INSERT INTO data_changes (provider, service_id, at, key, value, deleted) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run(provider, id, now, key, json, json === null ? 1 : 0);
  }
}

function fromRow(row: ServiceRow): StoredService {
  return {
    provider: row.provider,
    id: row.id,
    teamId: row.team_id,
    desired: JSON.parse(row.desired) as Spec,
    observed: row.observed === null ? null : (JSON.parse(row.observed) as Spec),
    secrets: JSON.parse(row.secrets) as Values,
    phase: row.phase as ServicePhase,
    dueAt: row.due_at,
    createdAt: row.created_at,
  };
}
