/**
 * PostgreSQL's read of a service's API view (GET /api/managed-services/{id}),
 * batched: the views asked for within one turn of the event loop are read
 * with one statement (`id = ANY(...)`, up to 256 ids). Each request still
 * reads the database after it arrived, so a write committed through any
 * replica is seen at once; what is shared is the round trip, which on a
 * busy server costs more than the lookup (64 connections: a few statements
 * per turn instead of dozens).
 */
import type { Db } from "./db";

const MAX_IDS = 256;
const VIEWS = "SELECT id, team_id, view FROM services WHERE id = ANY(?)";

export interface ServiceView {
  teamId: number;
  view: string;
}

interface Waiter {
  resolve(found: ServiceView | undefined): void;
  reject(error: unknown): void;
}

export class BatchedViews {
  private pending = new Map<string, Waiter[]>();
  private flushing = false;

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
    const batch = this.pending;
    this.pending = new Map();
    const ids = [...batch.keys()];
    for (let i = 0; i < ids.length; i += MAX_IDS) {
      const chunk = ids.slice(i, i + MAX_IDS);
      this.db.all<{ id: string; team_id: number; view: string | null }>(VIEWS, [chunk]).then(
        (rows) => {
          const found = new Map(rows.map((r) => [r.id, { teamId: r.team_id, view: r.view ?? "" }]));
          for (const id of chunk) for (const w of batch.get(id)!) w.resolve(found.get(id));
        },
        (error: unknown) => {
          for (const id of chunk) for (const w of batch.get(id)!) w.reject(error);
        },
      );
    }
  }
}
