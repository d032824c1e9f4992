/**
 * What the health watch compares of a converged service, kept in the
 * services table's `watch` column beside the record (migration 7): its
 * provider, whether it is paused, and the text the backend's answer must
 * match (plan parameters, config, details). A sweep over 10,000 services
 * then reads and compares short strings instead of parsing every record
 * (reconciler/health-watch.ts; docs/decisions/023-health-watch-column.md).
 *
 * Column format: a JSON header `[providerName, schemaVersion, pause]`, a
 * newline, then the expected answer's JSON. JSON text never holds a raw
 * newline, so the first one ends the header.
 */
import type { ServiceRecord } from "./records";

export interface WatchedService {
  id: string;
  teamId: number;
  provider: { name: string; schemaVersion: string };
  nextAttemptAt: number | null;
  pause: boolean;
  /** What the backend must answer, as `expectedAnswer` writes it. */
  expected: string;
}

/**
 * The comparable text of a backend's view of a service. Equal texts mean
 * each part is equal as JSON (the parts are whole JSON values in an array).
 */
export function expectedAnswer(parameters: unknown, config: unknown, details: unknown): string {
  return JSON.stringify([parameters, config, details]);
}

const expectedOf = (r: ServiceRecord) => expectedAnswer(r.plan.parameters, r.config, r.details ?? {});

/** The `watch` column of a record. */
export function watchColumn(r: ServiceRecord): string {
  return `${JSON.stringify([r.provider.name, r.provider.schemaVersion, r.pause])}\n${expectedOf(r)}`;
}

/** What the watch compares of a record, computed from the record itself. */
export function watchOf(r: ServiceRecord): WatchedService {
  return {
    id: r.id,
    teamId: r.teamId,
    provider: r.provider,
    nextAttemptAt: r.nextAttemptAt,
    pause: r.pause,
    expected: expectedOf(r),
  };
}

/** A row of store-sql.ts `converged` (both stores give integers as numbers: postgres-db.ts parses int8). */
export interface WatchRow {
  id: string;
  team_id: number;
  next_attempt_at: number | null;
  watch: string | null;
}

/** A row of the converged page; undefined when its `watch` is empty (then read the record: `watchOf`). */
export function watchedService(row: WatchRow): WatchedService | undefined {
  const cut = row.watch?.indexOf("\n") ?? -1;
  if (cut < 0) return undefined;
  const [name, schemaVersion, pause] = JSON.parse(row.watch!.slice(0, cut)) as [string, string, boolean];
  return {
    id: row.id,
    teamId: row.team_id,
    provider: { name, schemaVersion },
    nextAttemptAt: row.next_attempt_at,
    pause,
    expected: row.watch!.slice(cut + 1),
  };
}
