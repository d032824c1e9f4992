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

import type * as schemas from "../../sdk/schemas";
import type { Db } from "./db";

export interface EventRetention {
  /** Events kept per service (the newest); older ones are dropped. */
  maxPerService: number;
  /** Events older than this are dropped. */
  maxAgeDays: number;
}

export const DEFAULT_EVENT_RETENTION: EventRetention = { maxPerService: 1_000, maxAgeDays: 30 };

const DAY_MS = 86_400_000;

const SQL = {
  add: "INSERT INTO events (service_id, record, at) VALUES (?, ?, ?)",
  page: "SELECT seq, record FROM events WHERE service_id = ? AND seq > ? ORDER BY seq LIMIT ?",
  // Past the cap or the age, in one statement (both through the service's rows only).
  trim: `DELETE FROM events WHERE service_id = ? AND (at < ? OR seq <= (
     SELECT seq FROM events WHERE service_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?))`,
  pruneAge: "DELETE FROM events WHERE at < ?",
  deleteAll: "DELETE FROM events WHERE service_id = ?",
};

export class EventLog {
  /** Events written per service since its last trim (this process's; each replica trims on its own). */
  private readonly sinceTrim = new Map<string, number>();
  private readonly trimEvery: number;

  constructor(
    private readonly db: Db,
    readonly retention: EventRetention = DEFAULT_EVENT_RETENTION,
  ) {
    if (!(retention.maxPerService >= 1) || !(retention.maxAgeDays > 0))
      throw new Error("event retention: maxPerService must be at least 1 and maxAgeDays above 0");
    // A tenth of the cap (at most 100): the log overshoots the cap by at most that much.
    this.trimEvery = Math.max(1, Math.min(100, Math.floor(retention.maxPerService / 10)));
  }

  async add(serviceId: string, event: schemas.LogRecord): Promise<void> {
    const at = Date.parse(event.timestamp) || 0;
    await this.db.run(SQL.add, [serviceId, JSON.stringify(event), at]);
    if (this.written(serviceId, 1)) await this.trim(serviceId, at);
  }

  /**
   * Counts `n` events written to the service's log by a caller's own
   * statement; true when the log is due a trim (`trim`). The first write
   * after a start trims, so a log that grew under other settings (or an older
   * release) is brought within bounds.
   */
  written(serviceId: string, n: number): boolean {
    const count = (this.sinceTrim.get(serviceId) ?? this.trimEvery) + n;
    if (count < this.trimEvery) {
      this.sinceTrim.set(serviceId, count);
      return false;
    }
    this.sinceTrim.set(serviceId, 0);
    return true;
  }

  /** Cuts the service's log to the retention, as of `at` (its newest event's time). */
  async trim(serviceId: string, at: number): Promise<void> {
    const [oldest, keep] = this.trimBounds(at);
    await this.db.run(SQL.trim, [serviceId, oldest, serviceId, keep]);
  }

  /** What a trim as of `at` keeps: events at or after the first number, and at most the second many. */
  trimBounds(at: number): [number, number] {
    return [at - this.retention.maxAgeDays * DAY_MS, this.retention.maxPerService];
  }

  /** A service created just now has no log that could have grown: its first write need not trim. */
  fresh(serviceId: string): void {
    this.sinceTrim.set(serviceId, 0);
  }

  async page(
    serviceId: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ seq: number; event: schemas.LogRecord }[]> {
    const rows = await this.db.all<{ seq: number; record: string }>(SQL.page, [serviceId, afterSeq, limit]);
    return rows.map((row) => ({ seq: row.seq, event: JSON.parse(row.record) as schemas.LogRecord }));
  }

  /** Drops every event older than the retention age as of `now`; returns how many. */
  pruneOlderThan(now: number): Promise<number> {
    return this.db.run(SQL.pruneAge, [now - this.retention.maxAgeDays * DAY_MS]);
  }

  async deleteAll(serviceId: string): Promise<void> {
    await this.db.run(SQL.deleteAll, [serviceId]);
    this.sinceTrim.delete(serviceId);
  }
}
