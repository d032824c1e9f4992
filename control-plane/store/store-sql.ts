/**
 * The statements of the store (store.ts), in SQL that SQLite and PostgreSQL
 * both accept, and the few helpers that read their rows.
 */
import type { ServiceRecord } from "./records";

export const SQL = {
  getMeta: "SELECT value FROM meta WHERE key = ?",
  putMeta:
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
  providers: "SELECT entry, scope, builtin FROM providers ORDER BY name, schema_version",
  putProvider: `INSERT INTO providers (name, schema_version, builtin, scope, entry) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (name, schema_version) DO UPDATE SET builtin = excluded.builtin, scope = excluded.scope, entry = excluded.entry`,
  deleteProvider: "DELETE FROM providers WHERE name = ? AND schema_version = ?",
  service: "SELECT record, rev FROM services WHERE id = ?",
  view: "SELECT team_id, view FROM services WHERE id = ?",
  ofTeam: "SELECT record, rev FROM services WHERE team_id = ?",
  all: "SELECT record, rev FROM services",
  liveNamed: "SELECT record, rev FROM services WHERE team_id = ? AND name = ? AND deleted_at IS NULL",
  byState: "SELECT state, COUNT(*) AS n FROM services GROUP BY state",
  // Its WHERE is the predicate of index services_watched (migration 7), which covers what it reads: keep the two alike.
  converged: `SELECT id, team_id, next_attempt_at, watch FROM services WHERE id > ? AND deleted_at IS NULL
    AND state IN ('synchronized', 'paused') ORDER BY id LIMIT ?`,
  due: "SELECT id, next_attempt_at FROM services WHERE next_attempt_at IS NOT NULL",
  insertService: `INSERT INTO services (id, team_id, name, deleted_at, state, next_attempt_at, record, rev, view, watch)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  updateService: `UPDATE services SET team_id = ?, name = ?, deleted_at = ?, state = ?, next_attempt_at = ?,
    record = ?, rev = ?, view = ?, watch = ? WHERE id = ? AND rev = ?`,
  deleteService: "DELETE FROM services WHERE id = ?",
  getSecret: "SELECT sealed FROM secrets WHERE owner = ? AND kind = ?",
  putSecret:
    "INSERT INTO secrets (owner, kind, sealed) VALUES (?, ?, ?) ON CONFLICT (owner, kind) DO UPDATE SET sealed = excluded.sealed",
  deleteSecrets: "DELETE FROM secrets WHERE owner = ?",
  allSecrets: "SELECT owner, kind, sealed FROM secrets",
  allMeta: "SELECT key, value FROM meta",
};

export interface RecordRow {
  record: string;
  rev: number | null;
}
export const parse = (row: RecordRow): ServiceRecord => {
  const record = JSON.parse(row.record) as ServiceRecord;
  if (row.rev !== null) record.rev = row.rev;
  return record;
};

/** A unique index refused the write (SQLite or PostgreSQL). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "23505";
}
