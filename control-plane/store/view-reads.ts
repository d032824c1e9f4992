/**
 * PostgreSQL's read of a service's API view (GET /api/managed-services/{id}),
 * batched: the views asked for within one turn of the event loop are read
 * with one statement (`id = ANY(...)`, up to 256 ids; one id by equality). Each request still
 * reads the database after it arrived, so a write committed through any
 * replica is seen at once; what is shared is the round trip, which on a
 * busy server costs more than the lookup (64 connections: a few statements
 * per turn instead of dozens). At most MAX_VIEW_STATEMENTS are out at once;
 * views asked for meanwhile go in the next one, still read after they were asked.
 */
import type { Db } from "./db";

const MAX_IDS = 256;
/**
 * Statements out at once. More only cut the same reads into smaller batches:
 * each one more round trip, more parsing on both ends and another wake-up of
 * the database's backend (measured on 2 cores at 64 connections: batches of
 * about 25 views, and 5-10% more GETs a second with one or two out than with
 * one per turn). Two keep one in flight while the last one is answered, and
 * leave the rest of the pool to writes.
 */
export const MAX_VIEW_STATEMENTS = 2;
const VIEWS = "SELECT id, team_id, view FROM services WHERE id = ANY(?)";
/**
 * A batch of one id (many callers asking for the same service, or a quiet
 * server) by equality: PostgreSQL plans `id = ANY($1)` generically as a bitmap
 * scan, which costs its server about twice the CPU of this index scan
 * (measured: 75-100 µs against 40 µs a statement).
 */
const ONE_VIEW = "SELECT id, team_id, view FROM services WHERE id = ?";

export interface ServiceView {
  teamId: number;
  view: string;
}

interface Row {
  id: string;
  team_id: number;
  view: string | null;
}

interface Waiter {
  resolve(found: ServiceView | undefined): void;
  reject(error: unknown): void;
}

export class BatchedViews {
  private pending = new Map<string, Waiter[]>();
  private flushing = false;
  private inFlight = 0;

  constructor(private readonly db: Db) {}

  read(id: string): Promise<ServiceView | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.pending.get(id);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(id, [{ resolve, reject }]);
      if (!this.flushing) {
        this.flushing = true;
        // Outside the caller's transaction (callers inside one read through it, not here).
        this.db.outside(() => setImmediate(() => this.flush()));
      }
    });
  }

  private flush(): void {
    this.flushing = false;
    while (this.inFlight < MAX_VIEW_STATEMENTS && this.pending.size > 0) this.send(this.take());
  }

  /** Up to MAX_IDS of the pending views (the oldest first); the rest wait for the next statement. */
  private take(): Map<string, Waiter[]> {
    const batch = new Map<string, Waiter[]>();
    for (const [id, waiters] of this.pending) {
      if (batch.size === MAX_IDS) break;
      batch.set(id, waiters);
      this.pending.delete(id);
    }
    return batch;
  }

  private send(batch: Map<string, Waiter[]>): void {
    this.inFlight += 1;
    const ids = [...batch.keys()];
    const statement = ids.length === 1 ? this.db.all<Row>(ONE_VIEW, ids) : this.db.all<Row>(VIEWS, [ids]);
    statement.then(
      (rows) => {
        this.done();
        const found = new Map(rows.map((r) => [r.id, { teamId: r.team_id, view: r.view ?? "" }]));
        for (const [id, waiters] of batch) for (const w of waiters) w.resolve(found.get(id));
      },
      (error: unknown) => {
        this.done();
        for (const waiters of batch.values()) for (const w of waiters) w.reject(error);
      },
    );
  }

  /** A statement is answered: what was asked for meanwhile goes out now, as one batch. */
  private done(): void {
    this.inFlight -= 1;
    if (!this.flushing) this.flush();
  }
}
