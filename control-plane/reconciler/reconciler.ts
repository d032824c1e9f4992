/**
 * Drives each managed service to its desired state through its provider's
 * backend, and records what it observes and every step as an event.
 *
 * One step per wake: look at the backend, send what is missing (create, the
 * pending change, the delete), and either record convergence or come back
 * later: soon while a backend is working, with backoff after a failure
 * (backoff.ts). A failing service never holds up others: each has its own
 * schedule in the queue. Secrets are opened and scrubbed through
 * step-secrets.ts, step records written through step-records.ts. Converged
 * services leave the queue; the health watch (health-watch.ts) looks at them
 * in batches and wakes those whose backend reports a change.
 */
import type * as schemas from "../../sdk/schemas";
import { type BackendClient, BackendClients, BackendError } from "../backends/client";
import { PendingEvents, recordEvent } from "../domain/events";
import type { Catalog } from "../domain/providers";
import type { ServiceRecord, Store } from "../store/store";
import type { Vault } from "../store/vault";
import { failureDelay, pollDelay } from "./backoff";
import { BackupSteps, StepSuperseded } from "./backups";
import { type HealthStats, HealthWatch } from "./health-watch";
import { type Leases, LocalLeases } from "./leases";
import { ObserveBatcher } from "./observe-batch";
import { converged, same, scrub } from "./observed";
import { type Clock, WorkQueue } from "./queue";
import { SharedWork } from "./shared-work";
import { StepRecords } from "./step-records";
import { StepSecrets } from "./step-secrets";

export interface ReconcilerOptions {
  store: Store;
  vault: Vault;
  catalog: Catalog;
  clock: Clock;
  log?: (rec: Record<string, unknown>) => void;
  countOutcome?: (outcome: string) => void;
  concurrency?: number;
  /** Who works which service when replicas share a database (default: this process works everything). */
  leases?: Leases;
  /** Random source for backoff jitter (tests make it deterministic). */
  random?: () => number;
  /**
   * How often converged services' backends are asked again, on the control
   * plane's clock (default 60 s, jittered by up to 10%; health-watch.ts): a
   * server that died or was restarted behind the API's back shows in the
   * service's events.
   */
  healthCheckMs?: number;
}

const DAY_MS = 86_400_000;

export class Reconciler {
  readonly queue: WorkQueue;
  readonly sharing: SharedWork;
  private readonly polls = new Map<string, number>();
  private readonly clients = new BackendClients();
  private readonly random: () => number;
  private readonly backups: BackupSteps;
  /** Events of the running step of each service, written with the step's record in one transaction. */
  private readonly pendingEvents = new PendingEvents();
  private readonly records: StepRecords;
  private readonly observer = new ObserveBatcher();
  private readonly health: HealthWatch;
  private readonly secrets: StepSecrets;

  constructor(private readonly o: ReconcilerOptions) {
    this.random = o.random ?? Math.random;
    this.secrets = new StepSecrets(o.store, o.vault);
    this.records = new StepRecords(o.store, () => this.queue, this.pendingEvents);
    this.backups = new BackupSteps({
      now: () => o.clock.now(),
      event: (r, name, body, severity, attributes) => this.event(r, name, body, severity, attributes),
      secrets: (owner, kind) => this.secrets.open(owner, kind),
      scrub: (r, text) => this.secrets.scrub(r, text),
      commit: (r) => this.records.commit(r),
    });
    // A step is often started by a request inside its transaction (wake): it must not run in it.
    const concurrency = o.concurrency ?? 64;
    this.sharing = new SharedWork({
      leases: o.leases ?? new LocalLeases(),
      maxHeld: 2 * concurrency,
      ...(o.log ? { log: o.log } : {}),
    });
    this.queue = new WorkQueue(
      o.clock,
      this.sharing.wrap((id) => o.store.outside(() => this.step(id))),
      concurrency,
    );
    this.health = new HealthWatch({
      clock: o.clock,
      random: this.random,
      ...(o.healthCheckMs ? { everyMs: o.healthCheckMs } : {}),
      page: (after, limit) => o.store.convergedServices(after, limit),
      backendOf: async (r) => {
        const provider = await o.catalog.forTeam(r.teamId, r.provider.name, r.provider.schemaVersion);
        const address = provider && (await o.catalog.backendOf(provider));
        return address ? this.clients.for(address.endpoint, address.key) : undefined;
      },
      mine: () => this.sharing.singleton("health-watch"),
      wake: (id) => this.wake(id),
      ...(o.log ? { log: o.log } : {}),
    });
  }

  /** Queues every service that has work due (after a restart, say). */
  async start(): Promise<void> {
    await this.sharing.start(this.queue);
    this.health.start();
    // Shared: the leases' catch-up claims due work; alone, everything due is this process's.
    if (this.sharing.shared) return;
    for (const r of await this.o.store.dueServices()) this.queue.schedule(r.id, r.next_attempt_at);
  }

  /** What this replica's health sweeps did (for /metrics). */
  healthStats(): HealthStats {
    return this.health.stats;
  }

  /** Re-evaluates what is due, after the clock jumped (tests). */
  tick(): void {
    this.queue.tick();
    this.health.tick();
  }

  wake(id: string): void {
    this.polls.delete(id);
    this.sharing.wake(id);
  }

  /** Services of a provider that changed or disappeared need a fresh look. */
  async providerChanged(name: string, schemaVersion: string): Promise<void> {
    for (const r of await this.o.store.services()) {
      if (r.provider.name === name && r.provider.schemaVersion === schemaVersion) this.sharing.wake(r.id);
    }
  }

  async stop(): Promise<void> {
    await this.health.stop();
    this.queue.stop();
    await this.queue.drained();
    await this.sharing.stop();
  }

  // ---------------------------------------------------------------- one step

  private async step(id: string): Promise<void> {
    const current = await this.o.store.service(id);
    if (!current) return;
    const r = this.records.begin(current);
    const now = this.o.clock.now();
    if (r.state === "deleted") {
      if (r.purgeAfter && Date.parse(r.purgeAfter) <= now) {
        await this.o.store.purgeService(id);
        this.o.log?.({ msg: "service purged after its retention period", serviceId: id });
        this.o.countOutcome?.("purged");
      } else {
        await this.records.save(r, r.purgeAfter ? Date.parse(r.purgeAfter) : null);
      }
      return;
    }
    // Scoped to the service's team: a provider whose scope no longer includes it gets none of its secrets.
    const provider = await this.o.catalog.forTeam(r.teamId, r.provider.name, r.provider.schemaVersion);
    const address = provider && (await this.o.catalog.backendOf(provider));
    if (!provider || !address) {
      if (r.state !== "invalid provider") {
        r.resumeState = r.state;
        r.state = "invalid provider";
        this.event(
          r,
          "ProviderInvalid",
          `provider ${r.provider.name} ${r.provider.schemaVersion} is ${provider ? "not served by an API backend" : `no longer in the catalog of team ${r.teamId}`}`,
          "error",
        );
        this.o.countOutcome?.("invalid_provider");
      }
      await this.records.save(r, null);
      return;
    }
    if (r.state === "invalid provider") {
      r.state = r.resumeState ?? (r.deletedAt ? "deleting" : "updating");
      this.event(
        r,
        "ProviderRestored",
        `provider ${r.provider.name} ${r.provider.schemaVersion} is back in the catalog`,
      );
    }
    const client = this.clients.for(address.endpoint, address.key);
    try {
      if (r.deletedAt) await this.stepDeletion(r, client);
      else await this.stepLive(r, client);
    } catch (error) {
      // Superseded: the save notices the newer record, keeps this step's backup progress and looks again.
      if (error instanceof StepSuperseded) await this.records.save(r, null);
      else await this.failed(r, error, now, address.key);
    }
  }

  /** `sent`: the secrets this step just created the service with; it looks again at once, maybe converged. */
  private async stepLive(r: ServiceRecord, client: BackendClient, sent?: schemas.Values): Promise<void> {
    const observed = await this.observer.observe(client, r.id);
    this.restoreFromUnknown(r);
    if (!observed && sent) return this.poll(r);
    if (!observed) {
      if (r.backendCreated) {
        this.event(
          r,
          "BackendLostService",
          "the backend no longer holds this service; creating it again",
          "warn",
        );
      }
      const secrets = await this.secrets.open(r.id, "service");
      await client.create({
        id: r.id,
        teamId: r.teamId,
        plan: { parameters: r.plan.parameters },
        config: r.config,
        secrets,
        ...(r.pause ? { pause: true } : {}),
        ...(r.recoverFrom
          ? { recoverFrom: { ...r.recoverFrom, secrets: await this.secrets.open(r.id, "recover") } }
          : {}),
      });
      r.backendCreated = true;
      r.sentGeneration = r.generation;
      r.sentSecretsVersion = r.secretsVersion;
      this.event(r, "BackendCreateAccepted", "the backend accepted the creation");
      // A backend that is done at once (or fast) converges in this step: one write, no poll timer.
      return this.stepLive(r, client, secrets);
    }
    if (observed.error) throw new BackendError(502, `backend reports: ${observed.error}`);
    if (!r.backendCreated) {
      // Created before a restart cut the bookkeeping short: adopt, never create twice.
      r.backendCreated = true;
      r.sentGeneration = Math.max(r.sentGeneration, 1);
      r.sentSecretsVersion = Math.max(r.sentSecretsVersion, 1);
    }
    if (r.sentGeneration < r.generation || r.sentSecretsVersion < r.secretsVersion) {
      const secretsChanged = r.sentSecretsVersion < r.secretsVersion;
      await client.patch({
        id: r.id,
        teamId: r.teamId,
        plan: { parameters: r.plan.parameters },
        config: r.config,
        pause: r.pause,
        ...(secretsChanged ? { secrets: await this.secrets.open(r.id, "service") } : {}),
      });
      r.sentGeneration = r.generation;
      r.sentSecretsVersion = r.secretsVersion;
      this.event(
        r,
        "BackendUpdateAccepted",
        `the backend accepted the ${r.state === "pausing" ? "pause" : r.state === "unpausing" ? "resume" : "update"}`,
      );
      return this.poll(r);
    }
    if (!converged(r, observed)) {
      if (r.state === "synchronized" && observed.details?.ready === false && !this.polls.has(r.id)) {
        this.event(r, "BackendNotReady", "the backend reports the service's server not ready", "warn");
      }
      return this.poll(r);
    }

    const target: schemas.ServiceState = r.pause ? "paused" : "synchronized";
    const details = scrub(
      observed.details ?? {},
      Object.values(sent ?? (await this.secrets.open(r.id, "service"))),
    );
    const restarts = Number(details.restarts ?? 0);
    if (r.state === target && restarts > Number(r.details?.restarts ?? 0)) {
      this.event(
        r,
        "BackendRestartedServer",
        `the backend restarted the service's server after it stopped unexpectedly (restart ${restarts})`,
        "warn",
      );
    }
    if (r.state !== target || r.observedGeneration !== r.generation || !same(details, r.details)) {
      const from = r.state;
      r.state = target;
      r.observedGeneration = r.generation;
      r.details = details;
      r.detailsRef = r.id;
      if (from !== target) {
        this.event(r, target === "paused" ? "ServicePaused" : "ServiceSynchronized", `${from} -> ${target}`);
        this.o.countOutcome?.(target);
      }
    }
    r.failures = 0;
    this.polls.delete(r.id);
    if (r.state === "synchronized" && (await this.backups.step(r, client))) return this.poll(r);
    // Nothing due but backups: the health watch looks at converged services.
    await this.records.save(r, this.backups.nextDeadline(r));
  }

  private async stepDeletion(r: ServiceRecord, client: BackendClient): Promise<void> {
    this.restoreFromUnknown(r);
    if (!r.backendCreated) {
      // Never reached the backend: nothing to delete there, unless a create raced a restart.
      const observed = await this.observer.observe(client, r.id);
      if (observed) r.backendCreated = true;
    }
    if (r.backendCreated && r.backups.enabled && !r.deleteSent) {
      // Nothing is deleted without its final backup: take it, wait for it, then delete.
      if (await this.backups.final(r, client)) return this.poll(r);
    }
    if (r.backendCreated) {
      if (!r.deleteSent) {
        try {
          await client.delete(r.id);
        } catch (error) {
          if (!(error instanceof BackendError && error.status === 404)) throw error;
        }
        r.deleteSent = true;
        this.event(r, "BackendDeleteAccepted", "the backend accepted the deletion");
      }
      const observed = await this.observer.observe(client, r.id);
      if (observed) return this.poll(r);
    }
    this.polls.delete(r.id);
    this.o.countOutcome?.("deleted");
    if (r.backups.enabled) {
      const retention = (r.backups.deleteRetentionDays ?? 1) * DAY_MS;
      const purgeAt = Date.parse(r.deletedAt!) + retention;
      r.state = "deleted";
      r.purgeAfter = new Date(purgeAt).toISOString();
      r.failures = 0;
      this.event(r, "ServiceDeleted", `deleted by the backend; the record is kept until ${r.purgeAfter}`);
      // The secrets go only with the record's write: a step that lost a race keeps them.
      await this.records.save(r, purgeAt, () => this.o.store.purgeSecrets(r.id));
    } else {
      this.pendingEvents.drop(r.id);
      await this.o.store.purgeService(r.id);
      this.o.log?.({ msg: "service deleted", serviceId: r.id });
    }
  }

  // ---------------------------------------------------------------- bookkeeping

  private restoreFromUnknown(r: ServiceRecord): void {
    if (r.state === "unknown") {
      r.state = r.resumeState ?? "updating";
      delete r.resumeState;
      this.event(r, "BackendReachable", "the backend answers again");
    }
  }

  private async poll(r: ServiceRecord): Promise<void> {
    // The backend answered: backoff counts failures in a row, not a service's failures over its life.
    r.failures = 0;
    const n = this.polls.get(r.id) ?? 0;
    this.polls.set(r.id, n + 1);
    await this.records.save(r, this.o.clock.now() + pollDelay(n));
  }

  private async failed(r: ServiceRecord, error: unknown, now: number, backendKey?: string): Promise<void> {
    // Error text carries what the backend said: it goes into an event only scrubbed and cut short.
    const message = await this.secrets.scrub(
      r,
      error instanceof Error ? error.message : String(error),
      backendKey,
    );
    r.failures += 1;
    const delay = failureDelay(r.failures, this.random);
    const unreachable = error instanceof BackendError && error.unreachable;
    if (unreachable && r.state !== "unknown") {
      r.resumeState = r.state;
      r.state = "unknown";
    }
    this.event(
      r,
      unreachable ? "BackendUnreachable" : "BackendCallFailed",
      `${message}; retry ${r.failures} in ${delay} ms`,
      "error",
      {
        attempt: String(r.failures),
      },
    );
    this.o.countOutcome?.(unreachable ? "unreachable" : "failed");
    this.polls.delete(r.id);
    await this.records.save(r, now + delay);
  }

  private event(
    r: ServiceRecord,
    name: string,
    body: string,
    severity: "info" | "warn" | "error" = "info",
    attributes?: Record<string, string>,
  ): void {
    recordEvent(this.pendingEvents, r, this.o.clock.now(), name, body, severity, attributes);
  }
}
