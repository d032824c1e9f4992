/**
 * The store's schema, as an ordered list of numbered migrations.
 *
 * The database records which migrations it has (table `schema_migrations`);
 * opening a store applies the missing ones in order, each in its own
 * transaction together with its `schema_migrations` row, so a crash leaves
 * the schema at one version or the next, never between. A database recording
 * a version newer than the last one here is refused: this code would not know
 * what the newer columns mean.
 *
 * How to add a migration:
 *   1. Append an entry with the next `version` (never renumber, edit or
 *      remove a released one: data dirs out there have applied it).
 *   2. Keep the SQL portable, the same text must run on the planned
 *      PostgreSQL store (issue 11): plain CREATE TABLE / ALTER TABLE ADD
 *      COLUMN / CREATE INDEX, TEXT, INTEGER, BIGINT. Where the dialects
 *      really differ (an auto-increment key), take the spelling from
 *      `Dialect` instead of writing it out.
 *   3. If existing rows need new values, give a `data` step: it runs in the
 *      same transaction, after the DDL, through the small `SqlRunner`.
 *   4. Add a case to store/migrations.test.ts that opens a data dir at the
 *      previous version and checks the new shape.
 *
 * Data dirs from before versioning (no `schema_migrations` table) hold
 * exactly version 1: its statements use IF NOT EXISTS, so applying it to
 * them changes nothing and records the adoption.
 */
import type Database from "better-sqlite3";

/** The few spellings in which SQLite and PostgreSQL differ. */
export interface Dialect {
  name: "sqlite" | "postgres";
  /** A column that numbers rows in insertion order. */
  serialPrimaryKey: string;
}

export const SQLITE: Dialect = { name: "sqlite", serialPrimaryKey: "INTEGER PRIMARY KEY AUTOINCREMENT" };
export const POSTGRES: Dialect = { name: "postgres", serialPrimaryKey: "BIGSERIAL PRIMARY KEY" };

/** What a data step may do: read rows and run statements with positional (?) parameters. */
export interface SqlRunner {
  all<T>(sql: string, ...params: unknown[]): T[];
  run(sql: string, ...params: unknown[]): void;
}

export interface Migration {
  version: number;
  name: string;
  sql: (d: Dialect) => string[];
  data?: (db: SqlRunner) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "catalog, services, events and sealed secrets",
    sql: (d) => [
      `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS providers (
         name TEXT NOT NULL, schema_version TEXT NOT NULL, builtin INTEGER NOT NULL,
         scope TEXT NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (name, schema_version))`,
      `CREATE TABLE IF NOT EXISTS services (
         id TEXT PRIMARY KEY, team_id INTEGER NOT NULL, name TEXT NOT NULL,
         deleted_at TEXT, state TEXT NOT NULL, next_attempt_at BIGINT, record TEXT NOT NULL)`,
      `CREATE UNIQUE INDEX IF NOT EXISTS services_live_name ON services (team_id, name) WHERE deleted_at IS NULL`,
      `CREATE INDEX IF NOT EXISTS services_due ON services (next_attempt_at) WHERE next_attempt_at IS NOT NULL`,
      `CREATE TABLE IF NOT EXISTS events (
         seq ${d.serialPrimaryKey}, service_id TEXT NOT NULL, record TEXT NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS events_service ON events (service_id, seq)`,
      `CREATE TABLE IF NOT EXISTS secrets (
         owner TEXT NOT NULL, kind TEXT NOT NULL, sealed TEXT NOT NULL, PRIMARY KEY (owner, kind))`,
    ],
  },
  {
    version: 2,
    name: "event times, so retention can drop old events through an index",
    sql: () => [`ALTER TABLE events ADD COLUMN at BIGINT`, `CREATE INDEX events_at ON events (at)`],
    data: (db) => {
      // The time is inside each event's JSON; reading it in code keeps the
      // SQL free of a dialect's JSON functions. Runs once per data dir.
      const rows = db.all<{ seq: number; record: string }>("SELECT seq, record FROM events");
      for (const row of rows) {
        const at = Date.parse((JSON.parse(row.record) as { timestamp?: string }).timestamp ?? "");
        db.run("UPDATE events SET at = ? WHERE seq = ?", Number.isFinite(at) ? at : 0, row.seq);
      }
    },
  },
  {
    version: 3,
    name: "idempotency keys: the first answer to a keyed write, for 24 hours",
    sql: () => [
      `CREATE TABLE idempotency_keys (
         scope TEXT NOT NULL, idem_key TEXT NOT NULL, fingerprint TEXT NOT NULL,
         status INTEGER NOT NULL, content_type TEXT NOT NULL, body TEXT NOT NULL,
         created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, PRIMARY KEY (scope, idem_key))`,
      `CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)`,
    ],
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Thrown when a data dir was written by a newer landform. */
export class SchemaTooNewError extends Error {}

/**
 * Brings the SQLite database to `LATEST_VERSION` (or `upTo`, for tests of a
 * migration). Returns the version it found before migrating.
 */
export function migrate(
  db: Database.Database,
  where: string,
  migrations: readonly Migration[] = MIGRATIONS,
  upTo = Number.POSITIVE_INFINITY,
): number {
  db.exec(
    `CREATE TABLE IF NOT EXISTS schema_migrations (
       version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
  );
  const found =
    db.prepare<[], { v: number | null }>("SELECT MAX(version) AS v FROM schema_migrations").get()?.v ?? 0;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`migration ${m.name}: expected version ${i + 1}, got ${m.version}`);
  });
  const known = migrations.length;
  if (found > known) {
    throw new SchemaTooNewError(
      `${where} has schema version ${found}, but this landform knows versions up to ${known}: ` +
        "it was written by a newer landform; run that version (or newer) on it",
    );
  }
  const runner: SqlRunner = {
    all: <T>(sql: string, ...params: unknown[]) => db.prepare(sql).all(...params) as T[],
    run: (sql, ...params) => {
      db.prepare(sql).run(...params);
    },
  };
  const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
  for (const m of migrations) {
    if (m.version <= found || m.version > upTo) continue;
    db.transaction(() => {
      for (const sql of m.sql(SQLITE)) db.exec(sql);
      m.data?.(runner);
      record.run(m.version, m.name, new Date().toISOString());
    })();
  }
  return found;
}

/** The version the database records (0: none). */
export function schemaVersion(db: Database.Database): number {
  return (
    db.prepare<[], { v: number | null }>("SELECT MAX(version) AS v FROM schema_migrations").get()?.v ?? 0
  );
}
