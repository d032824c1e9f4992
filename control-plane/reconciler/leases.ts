/**
 * Who works which managed service when several control-plane replicas share
 * one database (issue 11).
 *
 * Each service is worked by one replica at a time: the replica holds a lease
 * row for it with an expiry on the database's clock, renews it while working
 * and deletes it when the step is done. A replica that dies stops renewing;
 * once its leases expire, another replica claims the work and counts it as
 * taken over. Cluster-wide chores (retention sweeps, the backup scheduler,
 * event pruning) run under a named lease, so once per cluster.
 *
 * Replicas learn of new work from a notification carrying the service id
 * (PostgreSQL LISTEN/NOTIFY), plus a periodic catch-up that reads due work
 * through the `services_due` index; neither reads every row.
 *
 * The tables are migration 5 (store/migrations.ts); the PostgreSQL
 * implementation is leases-pg.ts. With the embedded SQLite
 * store one process owns the data dir (store/lock.ts), so `LocalLeases` grants
 * everything and the reconciler schedules from its own store as before.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";

/** One service this replica now holds, and when its work is due (control-plane clock, ms). */
export interface Claim {
  id: string;
  nextAttemptAt: number;
  /** The lease had been another replica's and had expired: its work is taken over. */
  takenOverFrom?: string;
}

export interface LeaseStats {
  /** Service leases held now. */
  services: number;
  /** Singleton leases held now. */
  singletons: number;
  /** Service leases claimed after another replica's lease on them expired, since start. */
  takenOver: number;
}

export interface Leases {
  readonly replicaId: string;
  /**
   * False for one process owning everything (SQLite): the reconciler then
   * schedules from its own store and never waits on a claim.
   */
  readonly shared: boolean;
  /** Claims up to `limit` services whose work is due, earliest first, that no live lease holds. */
  claimDue(limit: number): Promise<Claim[]>;
  /** Claims these services if no live lease holds them, due or not (after a notification: "look now"). */
  claim(ids: readonly string[]): Promise<Claim[]>;
  /** Extends the leases on `ids`; returns those still held (a lease lost to expiry is not). */
  renew(ids: readonly string[]): Promise<Set<string>>;
  /**
   * Ends a step. Work due again within the lease's keep horizon stays leased
   * (and local: "kept"); otherwise the lease goes ("released") and whoever
   * sees the work due next claims it. "lost": the lease had expired and was
   * taken by another replica meanwhile.
   */
  release(id: string, nextAttemptAt: number | null): Promise<"kept" | "released" | "lost">;
  /** Tells every replica (this one too) that `id` has work. */
  notify(id: string): Promise<void>;
  /** Whether this replica holds (or just took) the named cluster-wide lease; held ones are renewed with the rest. */
  singleton(name: string): Promise<boolean>;
  /** Whether this replica holds the lease of service `id` right now (as far as it knows). */
  holds(id: string): boolean;
  stats(): LeaseStats;
  /** Starts notifications, renewal and catch-up; see `LeaseEvents`. */
  start(events: LeaseEvents): Promise<void>;
  /** Stops everything and gives every held lease back, so others need not wait for expiry. */
  stop(): Promise<void>;
}

export interface LeaseEvents {
  /** Newly claimed work: schedule it. */
  claimed(claims: Claim[]): void;
  /** A notification for a service this replica already holds: run it again soon. */
  wake(id: string): void;
  /** A lease this replica thought it held is gone (renewal came too late): stop working on it. */
  lost(id: string): void;
  /** How many more services this replica can take now. */
  capacity(): number;
  /** Renewal or catch-up failed (the database is away, say); retried on the next round. */
  error?(err: unknown): void;
}

/** A replica id unique among running replicas without configuration: hostname-pid-random. */
export function defaultReplicaId(): string {
  const host =
    os
      .hostname()
      .replace(/[^A-Za-z0-9.-]/g, "-")
      .slice(0, 63) || "host";
  return `${host}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

/** `--replica-id`: printable, short, no spaces (it appears in logs, metrics labels and lease rows). */
export function checkReplicaId(id: string): string | undefined {
  if (id.length === 0 || id.length > 128) return "must be 1 to 128 characters";
  if (!/^[A-Za-z0-9._:@-]+$/.test(id)) return "may hold only letters, digits and . _ : @ -";
  return undefined;
}

/** The lease lines of /metrics (Prometheus text). */
export function renderLeaseMetrics(replicaId: string, s: LeaseStats): string[] {
  const replica = replicaId.replace(/[\\"\n]/g, "_");
  return [
    "# HELP landform_leases_held Leases this replica holds, by kind (service or singleton).",
    "# TYPE landform_leases_held gauge",
    `landform_leases_held{replica="${replica}",kind="service"} ${s.services}`,
    `landform_leases_held{replica="${replica}",kind="singleton"} ${s.singletons}`,
    "# HELP landform_leases_taken_over_total Service leases this replica claimed after another replica's lease expired.",
    "# TYPE landform_leases_taken_over_total counter",
    `landform_leases_taken_over_total{replica="${replica}"} ${s.takenOver}`,
  ];
}

/**
 * One process owns all work (the embedded SQLite store's data dir lock makes
 * sure): every lease is granted, nothing is claimed from elsewhere, and a
 * notification goes straight back to this process.
 */
export class LocalLeases implements Leases {
  readonly shared = false;
  private events: LeaseEvents | undefined;

  constructor(readonly replicaId: string = defaultReplicaId()) {}

  async claimDue(_limit: number): Promise<Claim[]> {
    return [];
  }
  async claim(_ids: readonly string[]): Promise<Claim[]> {
    return [];
  }
  async renew(ids: readonly string[]): Promise<Set<string>> {
    return new Set(ids);
  }
  async release(_id: string, nextAttemptAt: number | null): Promise<"kept" | "released"> {
    // The local queue keeps every scheduled service; nothing to give back.
    return nextAttemptAt === null ? "released" : "kept";
  }
  async notify(id: string): Promise<void> {
    this.events?.wake(id);
  }
  async singleton(_name: string): Promise<boolean> {
    return true;
  }
  holds(_id: string): boolean {
    return true;
  }
  stats(): LeaseStats {
    return { services: 0, singletons: 0, takenOver: 0 };
  }
  async start(events: LeaseEvents): Promise<void> {
    this.events = events;
  }
  async stop(): Promise<void> {
    this.events = undefined;
  }
}
