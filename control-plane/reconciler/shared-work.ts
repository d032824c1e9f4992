/**
 * The reconciler's work queue under leases (leases.ts): a replica steps only
 * services it holds a lease on, and hands a service back when its next step
 * is not soon, so any replica can take it when it is due.
 *
 * - Claimed work (the catch-up over due rows, or a notification) goes into
 *   the local queue at its due time.
 * - Before a step: a service not held (a local wake, say) is claimed first;
 *   if another replica holds it, that replica was notified and does the step.
 * - After a step: `release` with the queue's next time for it; a service due
 *   again soon stays leased and queued here, otherwise it leaves the queue.
 * - `wake` (the API changed a service) notifies every replica; the holder
 *   runs the step, or whoever claims it first when nobody holds it.
 *
 * With `LocalLeases` (one process, the embedded store) all of this reduces to
 * the plain queue: everything is held, nothing is released.
 */
import type { LeaseStats, Leases } from "./leases";
import type { WorkQueue } from "./queue";

export interface SharedWorkOptions {
  leases: Leases;
  /** Services held at most (claims stop there); about twice the step concurrency keeps the queue fed. */
  maxHeld: number;
  log?: (rec: Record<string, unknown>) => void;
}

export class SharedWork {
  private queue: WorkQueue | undefined;

  constructor(private readonly o: SharedWorkOptions) {}

  get shared(): boolean {
    return this.o.leases.shared;
  }

  stats(): LeaseStats {
    return this.o.leases.stats();
  }

  /** The queue's work function: `step` under a lease. */
  wrap(step: (id: string) => Promise<void>): (id: string) => Promise<void> {
    const { leases } = this.o;
    if (!leases.shared) return step;
    return async (id) => {
      if (!leases.holds(id) && (await leases.claim([id])).length === 0) {
        this.queue?.unschedule(id);
        return;
      }
      try {
        await step(id);
      } finally {
        const next = this.queue?.dueAt(id);
        const outcome = await leases.release(id, next ?? null).catch((err: unknown) => {
          this.o.log?.({
            level: "warn",
            msg: "could not release a lease",
            serviceId: id,
            error: String(err),
          });
          return "lost" as const;
        });
        // Claimed again meanwhile (a notification during the release): keep the queued run.
        if (outcome !== "kept" && !leases.holds(id)) this.queue?.unschedule(id);
      }
    };
  }

  /** Starts claiming work into `queue` (shared), or leaves the queue to the caller's own scan (local). */
  async start(queue: WorkQueue): Promise<void> {
    this.queue = queue;
    const { leases, maxHeld, log } = this.o;
    await leases.start({
      claimed: (claims) => {
        for (const c of claims) {
          if (c.takenOverFrom)
            log?.({
              msg: "lease taken over",
              serviceId: c.id,
              from: c.takenOverFrom,
              replica: leases.replicaId,
            });
          queue.schedule(c.id, c.nextAttemptAt);
        }
      },
      wake: (id) => queue.schedule(id),
      lost: (id) => {
        log?.({
          level: "warn",
          msg: "lease lost to another replica",
          serviceId: id,
          replica: leases.replicaId,
        });
        queue.unschedule(id);
      },
      capacity: () => maxHeld - leases.stats().services,
      error: (err) =>
        log?.({
          level: "warn",
          msg: "lease bookkeeping failed; retrying",
          error: String(err),
          replica: leases.replicaId,
        }),
    });
  }

  /** The service has new work: here when it is held (or local), and every replica is told. */
  wake(id: string): void {
    const { leases } = this.o;
    if (!leases.shared || leases.holds(id)) this.queue?.schedule(id);
    if (leases.shared)
      leases.notify(id).catch((err: unknown) => {
        // The catch-up finds it by its due time anyway.
        this.o.log?.({ level: "warn", msg: "could not notify replicas", serviceId: id, error: String(err) });
      });
  }

  /** Whether this replica runs the named cluster-wide chore now. */
  singleton(name: string): Promise<boolean> {
    return this.o.leases.singleton(name);
  }

  /** After the queue has drained: every lease goes back. */
  async stop(): Promise<void> {
    await this.o.leases.stop();
  }
}
