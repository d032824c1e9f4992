/**
 * Create, update, pause and delete a managed service and wait until the
 * control plane reports the target state, within a deadline. Shared by every
 * IaC engine: it speaks the SDK, never an engine's types.
 *
 * Waiting polls `GET /managed-services/{id}` through the SDK waiters with a
 * pause that grows with the time already waited (about 1/40 of it, between
 * 25 ms and 2 s): a service that is ready after three seconds is seen within
 * ~75 ms, one that takes ten minutes costs a request every two seconds. The
 * 25 ms floor keeps the lag of short operations far under 100 ms while a
 * stack of services waiting at once sends 40 polls a second each, not 100.
 * The first pauses are shorter (5 ms, growing by half each poll to 25 ms):
 * an operation the control plane finishes at once costs a few more polls
 * in its first 50 ms instead of a 25 ms wait.
 */
import type { CodesphereClient } from "../../sdk/client";
import { ConflictError, NotFoundError, RequestValidationError } from "../../sdk/errors";
import type * as schemas from "../../sdk/schemas";
import { type WaitTarget, WaitTimeoutError, waitForDeleted, waitForState } from "../../sdk/waiters";
import { DEFAULT_DEADLINES, settledState } from "./deadlines";
import { CreateIntents } from "./intents";
import type { PlannedChanges, ServiceSpec } from "./plan-changes";
import { createRequest, updateRequest } from "./requests";

export {
  DEFAULT_DEADLINES,
  type Deadlines,
  deadlinesFrom,
  parseDuration,
  settledState,
  type Timeouts,
} from "./deadlines";

/** The first pause between polls; it grows (sdk/waiters) to at least MIN_POLL_MS. */
const FIRST_POLL_MS = 5;
const MIN_POLL_MS = 25;
const MAX_POLL_MS = 2000;
/** The lag after the target state stays under 1/LAG_DIVISOR of the time waited. */
const LAG_DIVISOR = 40;

// ---------------------------------------------------------------- errors

/**
 * The service was created but did not reach its target state (deadline,
 * invalid provider, a failing backend). Carries the id so the engine records
 * the service instead of forgetting it (and creating a second one next time).
 */
export class CreateIncompleteError extends Error {
  override name = "CreateIncompleteError";
  constructor(
    message: string,
    readonly service: schemas.ManagedService,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The name is taken in the team and adoption was not asked for. */
export class NameTakenError extends Error {
  override name = "NameTakenError";
  constructor(
    readonly existing: schemas.ManagedService,
    teamId: number,
  ) {
    super(
      `team ${teamId} already has a managed service named "${existing.name}" (id ${existing.id}, ` +
        `${existing.provider.name} ${existing.provider.schemaVersion}, ${existing.status.state}). ` +
        "To manage that service with this resource, set `adopt: true` on it (it then takes the service " +
        "over and applies the declared settings); otherwise choose another name.",
    );
  }
}

// ---------------------------------------------------------------- the lifecycle

export interface LifecycleOptions {
  /** Journal of creates in flight, to recognise one cut short (see ./intents). */
  intents?: CreateIntents;
  /** Called after every poll while waiting (benchmarks, progress). */
  onPoll?: (service: schemas.ManagedService | undefined) => void;
}

export interface CreateOptions {
  /** Take over an existing service of the same name instead of failing. */
  adopt?: boolean;
  deadlineMs?: number;
  signal?: AbortSignal;
  /**
   * Sent as the create's Idempotency-Key, which makes the POST safe to retry
   * after a lost answer (engines without an intents journal use it).
   */
  idempotencyKey?: string;
}

export interface CreateOutcome {
  service: schemas.ManagedService;
  /** How the service came to be: made now, taken over on request, or resumed after an interrupted create. */
  origin: "created" | "adopted" | "resumed";
}

export class ManagedServiceLifecycle {
  constructor(
    readonly client: CodesphereClient,
    private readonly options: LifecycleOptions = {},
  ) {}

  /**
   * Creates the service for `spec` (plain secret values) and waits until it
   * is synchronized (or paused, when `spec.pause`). With `adopt`, an existing
   * service of that name is taken over and brought to `spec`.
   */
  async create(spec: ServiceSpec, options: CreateOptions = {}): Promise<CreateOutcome> {
    const deadline = Date.now() + (options.deadlineMs ?? DEFAULT_DEADLINES.createMs);
    const intents = this.options.intents;
    const api = this.client.baseUrl;

    if (options.adopt) {
      const existing = await this.findByName(spec.teamId, spec.name);
      if (existing)
        return { service: await this.takeOver(existing, spec, deadline, options), origin: "adopted" };
    }

    // Read what an interrupted create may have left before `begin` replaces it.
    const leftBehind = intents?.leftBehind(api, spec.teamId, spec.name);
    const intent = intents?.begin(api, spec.teamId, spec.name);
    let created: schemas.ManagedService;
    try {
      created = await this.client.managedServices.create(createRequest(spec), {
        signal: options.signal,
        ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
      });
    } catch (error) {
      if (!(error instanceof ConflictError)) {
        if (intent && isDefinite(error)) intents?.end(intent);
        throw error;
      }
      if (intent) intents?.end(intent);
      const existing = await this.findByName(spec.teamId, spec.name);
      if (!existing) throw error;
      if (leftBehind && CreateIntents.madeBy(leftBehind, existing)) {
        return { service: await this.takeOver(existing, spec, deadline, options), origin: "resumed" };
      }
      throw new NameTakenError(existing, spec.teamId);
    }
    // Should this write fail, the intent still recognises the service by its creation time.
    if (intent) {
      try {
        intents?.created(intent, created.id);
      } catch {
        // kept as begun
      }
    }

    try {
      let service = created;
      if (spec.pause) {
        // Create has no pause field: wait until it exists, then pause it.
        service = await this.waitFor(created.id, "synchronized", deadline, options.signal);
        await this.client.managedServices.update(created.id, { pause: true }, { signal: options.signal });
      }
      service = await this.waitFor(created.id, settledState(spec.pause === true), deadline, options.signal);
      return { service, origin: "created" };
    } catch (error) {
      const latest = await this.client.managedServices.get(created.id).catch(() => created);
      throw new CreateIncompleteError(
        `managed service ${created.id} (${spec.name}) was created but is not ready: ${messageOf(error)}`,
        latest,
        { cause: error },
      );
    } finally {
      if (intent) intents?.end(intent);
    }
  }

  /**
   * Applies `changes.updates` (from `planChanges`) to the service and waits
   * for the resulting state. `before` is the recorded spec (secrets may be
   * fingerprints), `after` the wanted one with plain secrets.
   */
  async update(
    id: string,
    before: Partial<ServiceSpec>,
    after: ServiceSpec,
    changes: Pick<PlannedChanges, "updates">,
    options: { deadlineMs?: number; signal?: AbortSignal } = {},
  ): Promise<schemas.ManagedService> {
    return this.applyUpdate(id, updateRequest(before, after, changes), after.pause === true, options);
  }

  /**
   * Sends an update body an engine made itself (nothing when it is empty)
   * and waits until the service is paused (`pause`) or synchronized.
   */
  async applyUpdate(
    id: string,
    body: schemas.UpdateManagedServiceRequest | undefined,
    pause: boolean,
    options: { deadlineMs?: number; signal?: AbortSignal } = {},
  ): Promise<schemas.ManagedService> {
    const deadline = Date.now() + (options.deadlineMs ?? DEFAULT_DEADLINES.updateMs);
    if (body && Object.keys(body).length > 0) {
      await this.client.managedServices.update(id, body, { signal: options.signal });
    }
    return this.waitFor(id, settledState(pause), deadline, options.signal);
  }

  /** Pauses (true) or resumes (false) the service and waits until it is paused or synchronized. */
  async setPaused(
    id: string,
    pause: boolean,
    options: { deadlineMs?: number; signal?: AbortSignal } = {},
  ): Promise<schemas.ManagedService> {
    const deadline = Date.now() + (options.deadlineMs ?? DEFAULT_DEADLINES.updateMs);
    await this.client.managedServices.update(id, { pause }, { signal: options.signal });
    return this.waitFor(id, settledState(pause), deadline, options.signal);
  }

  /**
   * Deletes the service and waits until it is gone (404) or soft-deleted
   * (state `deleted`, when backups keep it for their retention). A service
   * that is already gone is not an error.
   */
  async delete(id: string, options: { deadlineMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINES.deleteMs;
    try {
      await this.client.managedServices.delete(id, { signal: options.signal });
    } catch (error) {
      if (error instanceof NotFoundError) return;
      throw error;
    }
    const started = Date.now();
    await this.poll(started + deadlineMs, (minDelayMs, maxDelayMs, timeoutMs) =>
      waitForDeleted(this.client, id, {
        timeoutMs,
        minDelayMs,
        maxDelayMs,
        ...(options.signal ? { signal: options.signal } : {}),
        ...this.pollHook(),
      }),
    );
  }

  /** The service as the API reports it, or undefined when it is gone (404 or deleted). */
  async read(
    id: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<schemas.ManagedService | undefined> {
    try {
      const service = await this.client.managedServices.get(id, { signal: options.signal });
      return service.status.state === "deleted" ? undefined : service;
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /** The team's live service with this name, if any. */
  async findByName(teamId: number, name: string): Promise<schemas.ManagedService | undefined> {
    const services = await this.client.managedServices.list({ team: teamId });
    return services.find((s) => s.name === name && !s.status.state.startsWith("delet"));
  }

  /** Waits until `target` holds, within the absolute `deadline` (ms since epoch). */
  async waitFor(
    id: string,
    target: WaitTarget,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<schemas.ManagedService> {
    return this.poll(deadline, (minDelayMs, maxDelayMs, timeoutMs) =>
      waitForState(this.client, id, target, {
        timeoutMs,
        minDelayMs,
        maxDelayMs,
        ...(signal ? { signal } : {}),
        ...this.pollHook(),
      }),
    );
  }

  /**
   * Runs SDK waits in phases whose longest pause is about 1/40 of the time
   * waited so far, so the lag after the target state stays proportional to
   * the operation. Only the first phase starts with short pauses
   * (FIRST_POLL_MS): an operation that is done at once is seen at once. The
   * last phase ends at the deadline and its timeout error is the one the
   * caller sees.
   */
  private async poll<T>(
    deadline: number,
    wait: (minDelayMs: number, maxDelayMs: number, timeoutMs: number) => Promise<T>,
  ): Promise<T> {
    const started = Date.now();
    for (let phase = 0; ; phase++) {
      const elapsed = Date.now() - started;
      const maxDelayMs = Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, Math.round(elapsed / LAG_DIVISOR)));
      const minDelayMs = phase === 0 ? FIRST_POLL_MS : maxDelayMs;
      const remaining = deadline - Date.now();
      const phaseMs = Math.max(1000, maxDelayMs * LAG_DIVISOR);
      if (remaining <= phaseMs) return wait(minDelayMs, maxDelayMs, Math.max(1, remaining));
      try {
        return await wait(minDelayMs, maxDelayMs, phaseMs);
      } catch (error) {
        if (!(error instanceof WaitTimeoutError)) throw error;
      }
    }
  }

  private pollHook(): { onPoll?: (p: { service?: schemas.ManagedService }) => void } {
    const onPoll = this.options.onPoll;
    return onPoll ? { onPoll: (p) => onPoll(p.service) } : {};
  }

  /** Brings an existing service to `spec`: provider must match; everything else is sent. */
  private async takeOver(
    existing: schemas.ManagedService,
    spec: ServiceSpec,
    deadline: number,
    options: CreateOptions,
  ): Promise<schemas.ManagedService> {
    if (
      existing.provider.name !== spec.provider.name ||
      existing.provider.schemaVersion !== spec.provider.version
    ) {
      throw new Error(
        `cannot adopt managed service "${existing.name}" (id ${existing.id}): it is ` +
          `${existing.provider.name} ${existing.provider.schemaVersion}, the resource declares ` +
          `${spec.provider.name} ${spec.provider.version}`,
      );
    }
    const body: schemas.UpdateManagedServiceRequest = {
      plan: spec.plan,
      config: withRemovals(existing.config, spec.config),
      secrets: spec.secrets,
      pause: spec.pause,
    };
    if (spec.backups) {
      body.backups = spec.backups.enabled
        ? {
            enabled: true,
            intervalH: spec.backups.intervalH,
            deleteRetentionDays: spec.backups.deleteRetentionDays,
            config: spec.backups.config,
            secrets: spec.backups.secrets,
          }
        : { enabled: false };
    }
    await this.client.managedServices.update(existing.id, body, { signal: options.signal });
    return this.waitFor(existing.id, settledState(spec.pause === true), deadline, options.signal);
  }
}

function withRemovals(before: schemas.Values, after: schemas.Values): schemas.Values {
  const out: schemas.Values = { ...after };
  for (const key of Object.keys(before)) if (!(key in after)) out[key] = null;
  return out;
}

/** An error after which the create surely did not happen (never sent, or answered with a 4xx). */
function isDefinite(error: unknown): boolean {
  if (error instanceof RequestValidationError) return true;
  const status = (error as { status?: unknown }).status;
  return typeof status === "number" && status >= 400 && status < 500;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
