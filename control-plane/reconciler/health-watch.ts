/**
 * The health watch: converged services are looked at again every `everyMs`
 * on the control plane's clock (default 60 s), so a server that died, lost
 * its service or was restarted behind the API's back shows in the service's
 * state and events.
 *
 * One sweep reads the converged services page by page (id order) and asks
 * each backend about up to `batch` of them in one call (the contract's
 * multi-id GET). Only a service whose answer differs from its record (or
 * whose backend failed to answer) gets a reconcile step, which records what
 * happened; the others cost nothing more: no step, no write. Holding 10,000
 * services thus costs about a hundred backend calls a minute, not 170 steps
 * and writes a second.
 *
 * Services with work due within the interval are left to that work. Under
 * leases one replica sweeps at a time (a cluster-wide chore).
 */
import type { BackendClient, ObservedService } from "../backends/client";
import type { WatchedService } from "../store/store";
import { unchanged } from "./observed";
import type { Clock } from "./queue";

export const HEALTH_CHECK_MS = 60_000;
const BATCH = 100;

export interface HealthWatchOptions {
  clock: Clock;
  everyMs?: number;
  /** Jitter of each interval (up to 10% shorter), so replicas' and restarts' sweeps drift apart. */
  random: () => number;
  /** Up to `limit` converged services (synchronized or paused, not deleted) with ids after `afterId`, in id order. */
  page(afterId: string, limit: number): Promise<WatchedService[]>;
  /** The client of the service's backend; undefined when its provider has none (a step records that). */
  backendOf(r: WatchedService): Promise<BackendClient | undefined>;
  /** Whether this replica sweeps now. */
  mine(): Promise<boolean>;
  /** The service needs a step. */
  wake(id: string): void;
  log?: (rec: Record<string, unknown>) => void;
}

/** What this replica's sweeps did (for /metrics). */
export interface HealthStats {
  sweeps: number;
  /** Services asked about. */
  checked: number;
  /** Services found changed (or unanswered) and woken for a step. */
  woken: number;
}

/** The health watch's lines of /metrics (Prometheus text). */
export function renderHealthMetrics(s: HealthStats): string[] {
  return [
    "# HELP landform_health_sweeps_total Health sweeps over the converged services this replica ran to the end.",
    "# TYPE landform_health_sweeps_total counter",
    `landform_health_sweeps_total ${s.sweeps}`,
    "# HELP landform_health_checked_total Converged services this replica's health sweeps asked their backends about.",
    "# TYPE landform_health_checked_total counter",
    `landform_health_checked_total ${s.checked}`,
    "# HELP landform_health_woken_total Services a health sweep found changed or unanswered and woke for a step.",
    "# TYPE landform_health_woken_total counter",
    `landform_health_woken_total ${s.woken}`,
  ];
}

export class HealthWatch {
  readonly stats: HealthStats = { sweeps: 0, checked: 0, woken: 0 };
  private readonly everyMs: number;
  private dueAt = Number.POSITIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: HealthWatchOptions) {
    this.everyMs = o.everyMs ?? HEALTH_CHECK_MS;
  }

  start(): void {
    this.plan();
  }

  /** Re-evaluates the timer, e.g. after the clock jumped. */
  tick(): void {
    this.arm();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.sweeping;
  }

  /** One sweep over every converged service; resolves when it is done. */
  async sweep(): Promise<void> {
    const horizon = this.o.clock.now() + this.everyMs;
    // Within one sweep a provider's backend is looked up once, not once per service.
    const backends = new Map<string, Promise<BackendClient | undefined>>();
    let after = "";
    for (;;) {
      if (this.stopped) return;
      const page = await this.o.page(after, BATCH * 5);
      if (page.length === 0) {
        this.stats.sweeps += 1;
        return;
      }
      after = page.at(-1)!.id;
      const groups = new Map<BackendClient, WatchedService[]>();
      for (const r of page) {
        if (r.nextAttemptAt !== null && r.nextAttemptAt <= horizon) continue;
        const key = `${r.teamId}\n${r.provider.name}\n${r.provider.schemaVersion}`;
        let backend = backends.get(key);
        if (!backend) {
          backend = this.o.backendOf(r);
          backends.set(key, backend);
        }
        const client = await backend;
        if (!client) {
          this.wake(r.id);
          continue;
        }
        const group = groups.get(client);
        if (group) group.push(r);
        else groups.set(client, [r]);
      }
      for (const [client, records] of groups)
        for (let i = 0; i < records.length; i += BATCH) await this.check(client, records.slice(i, i + BATCH));
    }
  }

  private async check(client: BackendClient, records: WatchedService[]): Promise<void> {
    this.stats.checked += records.length;
    let observed: Record<string, ObservedService>;
    try {
      observed = await client.get(records.map((r) => r.id));
    } catch {
      // Each service's step meets the failure itself and records it with its own retry schedule.
      for (const r of records) this.wake(r.id);
      return;
    }
    for (const r of records) if (!unchanged(r, observed[r.id])) this.wake(r.id);
  }

  private wake(id: string): void {
    this.stats.woken += 1;
    this.o.wake(id);
  }

  private plan(): void {
    this.dueAt = this.o.clock.now() + Math.round(this.everyMs * (1 - this.o.random() * 0.1));
    this.arm();
  }

  private arm(): void {
    if (this.stopped || this.sweeping) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.min(Math.max(this.dueAt - this.o.clock.now(), 0), 2 ** 31 - 1);
    this.timer = setTimeout(() => this.due(), delay);
    this.timer.unref?.();
  }

  private due(): void {
    this.timer = undefined;
    this.sweeping = (async () => {
      try {
        if (await this.o.mine()) await this.sweep();
      } catch (error) {
        this.o.log?.({
          level: "warn",
          msg: "health sweep failed; next one as planned",
          error: String(error),
        });
      } finally {
        this.sweeping = undefined;
        if (!this.stopped) this.plan();
      }
    })();
  }
}
