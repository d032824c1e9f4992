/**
 * The full, paged event log of each service, with bounded growth.
 *
 * Retention (defaults: 1,000 events per service, 30 days): a busy service
 * trims its own log as it writes, every `trimEvery` events, through the
 * (service_id, seq) index, so a trim reads at most about `maxPerService +
 * trimEvery` rows of that service and never the whole table. Services that
 * stop writing are aged out by `pruneOlderThan`, which the control plane
 * calls at start and then hourly; it deletes through the index on `at`, so
 * it only touches the rows it removes. Age is measured on the control plane's
 * clock: an event's own timestamp is the "now" of the trim that follows it.
 */
import type Database from "better-sqlite3";
import type * as schemas from "../../sdk/schemas";

export interface EventRetention {
  /** Events kept per service (the newest); older ones are dropped. */
  maxPerService: number;
  /** Events older than this are dropped. */
  maxAgeDays: number;
}

export const DEFAULT_EVENT_RETENTION: EventRetention = { maxPerService: 1_000, maxAgeDays: 30 };

const DAY_MS = 86_400_000;

export class EventLog {
  private readonly stmts;
  /** Events written per service since its last trim. */
  private readonly sinceTrim = new Map<string, number>();
  private readonly trimEvery: number;

  constructor(
    db: Database.Database,
    readonly retention: EventRetention = DEFAULT_EVENT_RETENTION,
  ) {
    if (!(retention.maxPerService >= 1) || !(retention.maxAgeDays > 0))
      throw new Error("event retention: maxPerService must be at least 1 and maxAgeDays above 0");
    // A tenth of the cap (at most 100): the log overshoots the cap by at most that much.
    this.trimEvery = Math.max(1, Math.min(100, Math.floor(retention.maxPerService / 10)));
    this.stmts = {
      add: db.prepare("INSERT INTO events (service_id, record, at) VALUES (?, ?, ?)"),
      page: db.prepare<[string, number, number], { seq: number; record: string }>(
        "SELECT seq, record FROM events WHERE service_id = ? AND seq > ? ORDER BY seq LIMIT ?",
      ),
      trimCount: db.prepare(
        `DELETE FROM events WHERE service_id = ? AND seq <= (
           SELECT seq FROM events WHERE service_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
      ),
      trimAge: db.prepare("DELETE FROM events WHERE service_id = ? AND at < ?"),
      pruneAge: db.prepare("DELETE FROM events WHERE at < ?"),
      deleteAll: db.prepare("DELETE FROM events WHERE service_id = ?"),
    };
  }

  add(serviceId: string, event: schemas.LogRecord): void {
    const at = Date.parse(event.timestamp) || 0;
    this.stmts.add.run(serviceId, JSON.stringify(event), at);
    // The first write after a start trims, so a log that grew under other
    // settings (or an older release) is brought within bounds.
    const n = (this.sinceTrim.get(serviceId) ?? this.trimEvery) + 1;
    if (n < this.trimEvery) {
      this.sinceTrim.set(serviceId, n);
      return;
    }
    this.sinceTrim.set(serviceId, 0);
    this.stmts.trimCount.run(serviceId, serviceId, this.retention.maxPerService);
    this.stmts.trimAge.run(serviceId, at - this.retention.maxAgeDays * DAY_MS);
  }

  page(serviceId: string, afterSeq: number, limit: number): { seq: number; event: schemas.LogRecord }[] {
    return this.stmts.page
      .all(serviceId, afterSeq, limit)
      .map((row) => ({ seq: row.seq, event: JSON.parse(row.record) as schemas.LogRecord }));
  }

  /** Drops every event older than the retention age as of `now`; returns how many. */
  pruneOlderThan(now: number): number {
    return this.stmts.pruneAge.run(now - this.retention.maxAgeDays * DAY_MS).changes;
  }

  deleteAll(serviceId: string): void {
    this.stmts.deleteAll.run(serviceId);
    this.sinceTrim.delete(serviceId);
  }
}
