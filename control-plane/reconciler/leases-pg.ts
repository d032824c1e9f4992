/**
 * Leases in PostgreSQL (the interface and its reasons: leases.ts).
 *
 * - A claim locks due `services` rows with `FOR UPDATE SKIP LOCKED`, earliest
 *   `next_attempt_at` first (the `services_due` index), so competing replicas
 *   pass over each other's rows instead of queueing behind them. The upsert
 *   into `service_leases` is the real guard: it takes a row only when it is
 *   free, expired or already ours, so two replicas never hold one service
 *   even when their snapshots disagree. Work under a live lease (ours too:
 *   it is running here) is not claimed again; a notification for it wakes
 *   the holder instead.
 * - Release deletes the lease row: a row that is still there and belongs to
 *   someone else when claimed was never released, so its holder stopped
 *   renewing; that claim counts as taken over.
 * - Expiry is on the database's clock (clock_timestamp), due times on the
 *   control plane's (the test clock can move it).
 * - New work arrives as NOTIFY on one channel with the service id as payload;
 *   a dedicated connection LISTENs (a pooled one would be handed to others).
 * - The catch-up slows down while it finds nothing (catch-up-plan.ts).
 */
import pg from "pg";
import { CatchUpPlan } from "./catch-up-plan";
import type { Claim, LeaseEvents, LeaseStats, Leases } from "./leases";
import type { Clock } from "./queue";

export const WORK_CHANNEL = "landform_work";
const DB_NOW = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
/** Deadlock and serialization failures: the statement is safe to run again. */
const RETRYABLE = new Set(["40P01", "40001"]);

export interface PgLeasesOptions {
  pool: pg.Pool;
  replicaId: string;
  /** The control plane's clock, for due times. */
  clock: Clock;
  /** How long a lease lasts without renewal (default 15 s); renewed every third of it. */
  ttlMs?: number;
  /** Work due again within this many ms keeps its lease and stays local (default 2 s; 0: always release). */
  keepMs?: number;
  /** How often due work is looked for besides notifications, while some is found (default 1 s). */
  catchUpMs?: number;
  /** The longest wait between catch-ups that find nothing (default a third of ttlMs, at least catchUpMs). */
  idleCatchUpMs?: number;
  /** Makes the LISTEN connection; default: a client with the pool's settings. */
  listenClient?: () => pg.Client;
}

export class PgLeases implements Leases {
  readonly shared = true;
  readonly replicaId: string;
  private readonly held = new Set<string>();
  private readonly singletons = new Set<string>();
  private takenOver = 0;
  private readonly ttlMs: number;
  private readonly keepMs: number;
  private readonly catchUps: CatchUpPlan;
  private events: LeaseEvents | undefined;
  private listener: pg.Client | undefined;
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private notified = new Set<string>();
  private toNotify: { ids: string[]; sent: Promise<void> } | undefined;
  private claimingNotified = false;

  constructor(private readonly o: PgLeasesOptions) {
    this.replicaId = o.replicaId;
    this.ttlMs = o.ttlMs ?? 15_000;
    this.keepMs = o.keepMs ?? 2_000;
    const catchUpMs = o.catchUpMs ?? 1_000;
    this.catchUps = new CatchUpPlan({
      baseMs: catchUpMs,
      idleMs: o.idleCatchUpMs ?? Math.floor(this.ttlMs / 3),
      run: () => this.catchUp(),
    });
  }

  async claimDue(limit: number): Promise<Claim[]> {
    if (limit <= 0) return [];
    return this.claimWhere(
      "s.next_attempt_at IS NOT NULL AND s.next_attempt_at <= $4",
      [this.o.clock.now()],
      limit,
    );
  }

  async claim(ids: readonly string[]): Promise<Claim[]> {
    if (ids.length === 0) return [];
    return this.claimWhere("s.id = ANY($4::text[])", [ids], ids.length);
  }

  /** `filter` may use $4 (its one parameter); $1 is this replica, $2 the limit, $3 the lease time. */
  private async claimWhere(filter: string, param: unknown[], limit: number): Promise<Claim[]> {
    const sql = `
      WITH due AS (
        SELECT s.id, s.next_attempt_at FROM services s
        WHERE ${filter}
          AND NOT EXISTS (SELECT 1 FROM service_leases l WHERE l.service_id = s.id AND l.expires_at > ${DB_NOW})
        ORDER BY s.next_attempt_at NULLS FIRST
        LIMIT $2
        FOR UPDATE OF s SKIP LOCKED
      ), taken AS (
        INSERT INTO service_leases (service_id, holder, expires_at, acquired_at, prev_holder)
        SELECT id, $1, ${DB_NOW} + $3, ${DB_NOW}, NULL FROM due
        ON CONFLICT (service_id) DO UPDATE
          SET prev_holder = service_leases.holder, holder = EXCLUDED.holder,
              expires_at = EXCLUDED.expires_at, acquired_at = EXCLUDED.acquired_at
          WHERE service_leases.holder = EXCLUDED.holder OR service_leases.expires_at <= ${DB_NOW}
        RETURNING service_id, prev_holder
      )
      SELECT t.service_id AS id, t.prev_holder, d.next_attempt_at FROM taken t JOIN due d ON d.id = t.service_id
      ORDER BY d.next_attempt_at`;
    const rows = await this.query<{ id: string; prev_holder: string | null; next_attempt_at: string }>(sql, [
      this.replicaId,
      limit,
      this.ttlMs,
      ...param,
    ]);
    const now = this.o.clock.now();
    if (this.stopping) {
      // Claimed while stopping: give them straight back.
      await this.giveBack(rows.map((r) => r.id));
      return [];
    }
    return rows.map((r) => {
      this.held.add(r.id);
      // Claimed by id (a notification) means "look now", whatever the row's own time says.
      const due = r.next_attempt_at === null ? now : Math.min(Number(r.next_attempt_at), now);
      const claim: Claim = { id: r.id, nextAttemptAt: due };
      if (r.prev_holder !== null && r.prev_holder !== this.replicaId) {
        claim.takenOverFrom = r.prev_holder;
        this.takenOver++;
      }
      return claim;
    });
  }

  async renew(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.query<{ service_id: string }>(
      `UPDATE service_leases SET expires_at = ${DB_NOW} + $3
       WHERE service_id = ANY($1::text[]) AND holder = $2 RETURNING service_id`,
      [ids, this.replicaId, this.ttlMs],
    );
    const kept = new Set(rows.map((r) => r.service_id));
    for (const id of ids) if (!kept.has(id)) this.held.delete(id);
    return kept;
  }

  async release(id: string, nextAttemptAt: number | null): Promise<"kept" | "released" | "lost"> {
    if (!this.held.has(id)) return "lost";
    // Kept when the next step is due within keepMs; keepMs 0 never keeps (a step already overdue included).
    if (
      !this.stopping &&
      this.keepMs > 0 &&
      nextAttemptAt !== null &&
      nextAttemptAt - this.o.clock.now() < this.keepMs
    )
      return "kept";
    this.held.delete(id);
    const rows = await this.query(
      "DELETE FROM service_leases WHERE service_id = $1 AND holder = $2 RETURNING 1",
      [id, this.replicaId],
    );
    // Room for more work now; and this one, if due again later, is looked for then, not after an idle wait.
    this.catchUps.soon();
    if (nextAttemptAt !== null) this.catchUps.at(nextAttemptAt - this.o.clock.now());
    return rows.length === 1 ? "released" : "lost";
  }

  /** Notifications of one event-loop turn go out as one statement (a burst of creates makes one round trip). */
  notify(id: string): Promise<void> {
    if (!this.toNotify) {
      const batch = { ids: [] as string[], sent: undefined as unknown as Promise<void> };
      this.toNotify = batch;
      batch.sent = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        this.toNotify = undefined;
        await this.query("SELECT pg_notify($1, id) FROM unnest($2::text[]) AS id", [WORK_CHANNEL, batch.ids]);
      });
    }
    this.toNotify.ids.push(id);
    return this.toNotify.sent;
  }

  async singleton(name: string): Promise<boolean> {
    if (this.stopping) return false;
    const rows = await this.query(
      `INSERT INTO cluster_leases (name, holder, expires_at) VALUES ($1, $2, ${DB_NOW} + $3)
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE cluster_leases.holder = EXCLUDED.holder OR cluster_leases.expires_at <= ${DB_NOW}
       RETURNING name`,
      [name, this.replicaId, this.ttlMs],
    );
    if (rows.length === 1) this.singletons.add(name);
    else this.singletons.delete(name);
    return rows.length === 1;
  }

  holds(id: string): boolean {
    return this.held.has(id);
  }

  stats(): LeaseStats {
    return { services: this.held.size, singletons: this.singletons.size, takenOver: this.takenOver };
  }

  async start(events: LeaseEvents): Promise<void> {
    this.events = events;
    this.stopping = false;
    await this.listen();
    const every = (ms: number, fn: () => Promise<void>) => {
      const t = setInterval(() => {
        fn().catch((err) => this.events?.error?.(err));
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(Math.max(Math.floor(this.ttlMs / 3), 10), () => this.renewAll());
    await this.catchUps.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.catchUps.stop();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
    const ids = [...this.held];
    const names = [...this.singletons];
    this.held.clear();
    this.singletons.clear();
    await this.giveBack(ids, names).catch((err) => this.events?.error?.(err));
    this.events = undefined;
  }

  /** Renews every held lease, service and singleton; reports the ones lost meanwhile. */
  private async renewAll(): Promise<void> {
    const ids = [...this.held];
    const kept = await this.renew(ids);
    for (const id of ids) if (!kept.has(id)) this.events?.lost(id);
    if (this.singletons.size > 0) {
      const names = [...this.singletons];
      const rows = await this.query<{ name: string }>(
        `UPDATE cluster_leases SET expires_at = ${DB_NOW} + $3
         WHERE name = ANY($1::text[]) AND holder = $2 RETURNING name`,
        [names, this.replicaId, this.ttlMs],
      );
      const still = new Set(rows.map((r) => r.name));
      for (const n of names) if (!still.has(n)) this.singletons.delete(n);
    }
  }

  /**
   * Claims due work up to this replica's capacity (the index on due work, not
   * a scan of every row). True if it found some, or had no room to look: work
   * may be waiting (notifications past capacity are dropped), so the cadence
   * must not slow down; a full replica asks the database nothing.
   */
  private async catchUp(): Promise<boolean> {
    if (this.stopping || !this.events) return false;
    const room = this.events.capacity();
    if (room <= 0) return true;
    try {
      const claims = await this.claimDue(room);
      if (claims.length > 0) this.events?.claimed(claims);
      return claims.length > 0;
    } catch (err) {
      this.events?.error?.(err);
      return false;
    }
  }

  private async listen(): Promise<void> {
    const client = this.o.listenClient?.() ?? new pg.Client(this.o.pool.options);
    client.on("notification", (msg) => {
      if (msg.channel === WORK_CHANNEL && msg.payload) this.onNotified(msg.payload);
    });
    const reconnect = () => {
      if (this.stopping || this.listener !== client) return;
      this.listener = undefined;
      // Notifications sent meanwhile are lost; the catch-up after reconnecting finds their work.
      const t = setTimeout(() => {
        this.timers = this.timers.filter((x) => x !== t);
        this.listen()
          .then(() => this.catchUps.at(0))
          .catch((err) => {
            this.events?.error?.(err);
            reconnect();
          });
      }, 1_000);
      t.unref();
      this.timers.push(t);
    };
    client.on("error", (err) => {
      this.events?.error?.(err);
      reconnect();
    });
    client.on("end", reconnect);
    this.listener = client;
    await client.connect();
    await client.query(`LISTEN ${WORK_CHANNEL}`);
  }

  private onNotified(id: string): void {
    if (this.stopping || !this.events) return;
    if (this.held.has(id)) {
      this.events.wake(id);
      return;
    }
    this.catchUps.soon();
    // Notifications come in bursts: claim what arrived together in one statement.
    this.notified.add(id);
    if (this.claimingNotified) return;
    this.claimingNotified = true;
    setImmediate(() => {
      void this.claimNotified();
    });
  }

  private async claimNotified(): Promise<void> {
    try {
      while (this.notified.size > 0 && this.events && !this.stopping) {
        const room = this.events.capacity();
        if (room <= 0) break; // the catch-up picks the rest up when there is room
        const ids = [...this.notified].slice(0, room);
        for (const id of ids) this.notified.delete(id);
        const claims = await this.claim(ids);
        if (claims.length > 0) this.events?.claimed(claims);
      }
    } catch (err) {
      this.events?.error?.(err);
    } finally {
      this.notified.clear();
      this.claimingNotified = false;
    }
  }

  private async giveBack(ids: string[], names: string[] = []): Promise<void> {
    if (ids.length > 0)
      await this.query("DELETE FROM service_leases WHERE service_id = ANY($1::text[]) AND holder = $2", [
        ids,
        this.replicaId,
      ]);
    if (names.length > 0)
      await this.query("DELETE FROM cluster_leases WHERE name = ANY($1::text[]) AND holder = $2", [
        names,
        this.replicaId,
      ]);
  }

  private async query<T extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params: unknown[],
  ): Promise<T[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.o.pool.query<T>(sql, params)).rows;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (attempt >= 3 || !code || !RETRYABLE.has(code)) throw err;
      }
    }
  }
}
