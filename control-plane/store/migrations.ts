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
 *   2. Keep the SQL portable, the same text runs on SQLite and PostgreSQL
 *      (store/db.ts): plain CREATE TABLE / ALTER TABLE ADD COLUMN / CREATE
 *      INDEX, TEXT, INTEGER, BIGINT. Where the dialects really differ (an
 *      auto-increment key), take the spelling from `Dialect` instead of
 *      writing it out.
 *   3. If existing rows need new values, give a `data` step: it runs in the
 *      same transaction, after the DDL, through the small `SqlRunner`.
 *   4. Add a case to store/migrations.test.ts that opens a data dir at the
 *      previous version and checks the new shape.
 *
 * Data dirs from before versioning (no `schema_migrations` table) hold
 * exactly version 1: its statements use IF NOT EXISTS, so applying it to
 * them changes nothing and records the adoption.
 *
 * Callers serialize migration runs: SQLite through the data dir's lock,
 * PostgreSQL through an advisory lock (replicas starting together take turns,
 * and the second finds nothing left to do).
 */
import { viewOf } from "../domain/view";
import type { Db } from "./db";
import { type Dialect, POSTGRES, SQLITE } from "./dialect";
import type { ServiceRecord } from "./records";
import { watchColumn } from "./watch";

export { type Dialect, POSTGRES, SQLITE };

/** What a data step may do: read rows and run statements with positional (?) parameters. */
export interface SqlRunner {
  all<T>(sql: string, ...params: unknown[]): Promise<T[]>;
  run(sql: string, ...params: unknown[]): Promise<void>;
}

export interface Migration {
  version: number;
  name: string;
  sql: (d: Dialect) => string[];
  data?: (db: SqlRunner) => Promise<void>;
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
    data: async (db) => {
      // The time is inside each event's JSON; reading it in code keeps the
      // SQL free of a dialect's JSON functions. Runs once per data dir.
      const rows = await db.all<{ seq: number; record: string }>("SELECT seq, record FROM events");
      for (const row of rows) {
        const at = Date.parse((JSON.parse(row.record) as { timestamp?: string }).timestamp ?? "");
        await db.run("UPDATE events SET at = ? WHERE seq = ?", Number.isFinite(at) ? at : 0, row.seq);
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
  {
    version: 4,
    name: "each service's revision and API view in columns, so reads need no in-memory copy",
    sql: () => [`ALTER TABLE services ADD COLUMN rev BIGINT`, `ALTER TABLE services ADD COLUMN view TEXT`],
    data: async (db) => {
      // A write compares and bumps `rev` (optimistic concurrency between
      // requests and replicas); GET /api/managed-services/{id} sends `view` as is.
      const rows = await db.all<{ id: string; record: string }>("SELECT id, record FROM services");
      for (const row of rows) {
        const record = JSON.parse(row.record) as ServiceRecord;
        record.rev ??= 1;
        await db.run(
          "UPDATE services SET rev = ?, view = ?, record = ? WHERE id = ?",
          record.rev,
          JSON.stringify(viewOf(record)),
          JSON.stringify(record),
          row.id,
        );
      }
    },
  },
  {
    version: 5,
    name: "leases: which replica works which service, and cluster-wide chores (reconciler/leases.ts)",
    // Expiry times are ms on the database's clock, so replicas with skewed clocks agree on when a lease ran out.
    sql: () => [
      `CREATE TABLE service_leases (
         service_id TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL,
         acquired_at BIGINT NOT NULL, prev_holder TEXT)`,
      `CREATE INDEX service_leases_holder ON service_leases (holder)`,
      `CREATE TABLE cluster_leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL)`,
    ],
  },
  {
    version: 6,
    name: "an index of converged services in id order, for the health watch's pages",
    // The health watch reads converged services 500 at a time (store-sql.ts `converged`; its WHERE
    // must keep matching this predicate). Through the primary key, each page is 500 index entries
    // only while the planner's statistics are fresh: after a burst of writes (10,000 creates)
    // PostgreSQL's stale estimates made it AND the primary key with services_live_name and sort,
    // reading every remaining row for each page (12-20 ms of server CPU a page instead of 2-3).
    // This index answers the page in order by itself, whatever the statistics say.
    sql: () => [
      `CREATE INDEX services_converged ON services (id)
         WHERE deleted_at IS NULL AND state IN ('synchronized', 'paused')`,
    ],
  },
  {
    version: 7,
    name: "what the health watch compares of each service, in a column and a covering index (store/watch.ts)",
    // A sweep reads this short text instead of parsing every converged record (decision 023). The
    // index holds everything a sweep's page reads (store-sql.ts `converged`, whose WHERE must keep
    // matching its predicate), in id order as services_converged did: SQLite would otherwise walk
    // each row's overflow pages past `record` and `view` to reach the last column. SQLite counts
    // the predicate's columns as read, so they are in the index too.
    sql: () => [
      `ALTER TABLE services ADD COLUMN watch TEXT`,
      `CREATE INDEX services_watched ON services (id, team_id, next_attempt_at, watch, state, deleted_at)
         WHERE deleted_at IS NULL AND state IN ('synchronized', 'paused')`,
      `DROP INDEX services_converged`,
    ],
    data: async (db) => {
      const rows = await db.all<{ id: string; record: string }>("SELECT id, record FROM services");
      for (const row of rows)
        await db.run(
          "UPDATE services SET watch = ? WHERE id = ?",
          watchColumn(JSON.parse(row.record) as ServiceRecord),
          row.id,
        );
    },
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Thrown when a database was written by a newer landform. */
export class SchemaTooNewError extends Error {}

/**
 * Brings the database to `LATEST_VERSION` (or `upTo`, for tests of a
 * migration). Returns the version it found before migrating.
 */
export async function migrate(
  db: Db,
  where: string,
  migrations: readonly Migration[] = MIGRATIONS,
  upTo = Number.POSITIVE_INFINITY,
): Promise<number> {
  await db.exec(
    `CREATE TABLE IF NOT EXISTS schema_migrations (
       version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
  );
  const found = await schemaVersion(db);
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
    all: <T>(sql: string, ...params: unknown[]) => db.all<T>(sql, params),
    run: async (sql, ...params) => {
      await db.run(sql, params);
    },
  };
  for (const m of migrations) {
    if (m.version <= found || m.version > upTo) continue;
    await db.transaction(async () => {
      for (const sql of m.sql(db.dialect)) await db.exec(sql);
      await m.data?.(runner);
      await db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [
        m.version,
        m.name,
        new Date().toISOString(),
      ]);
    });
  }
  return found;
}

/** The version the database records (0: none). */
export async function schemaVersion(db: Db): Promise<number> {
  const row = await db.get<{ v: number | null }>("SELECT MAX(version) AS v FROM schema_migrations");
  return row?.v ?? 0;
}
