/**
 * Waiting for a managed service to reach a state. Polls `get(id)` starting
 * fast (tens of milliseconds, since the control plane often settles at once)
 * and backing off to about 2 s, returns the moment the target holds, and
 * stops at once when the target can no longer be reached. A state this SDK
 * does not know (a newer platform's) is never the target and never final: the
 * wait goes on through it, and a timeout says the last state was unknown here.
 */
import {
  AbortError,
  CodesphereError,
  ConnectionError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
  TimeoutError,
} from "./errors";
import { isKnownState, type LogRecord, type ManagedService, type ServiceState } from "./schemas";
import { type RequestOptions, sleep } from "./transport";

/** What a waiter needs of the client (a `CodesphereClient` fits). */
export interface ManagedServiceReader {
  managedServices: { get(id: string, options?: RequestOptions): Promise<ManagedService> };
}

export type WaitTarget = ServiceState | readonly ServiceState[] | ((service: ManagedService) => boolean);

export interface PollInfo {
  /** 1 for the first poll. */
  attempt: number;
  elapsedMs: number;
  service?: ManagedService;
  /** A transient failure of this poll (the wait goes on). */
  error?: unknown;
}

export interface WaitOptions {
  /** Give up after this long with `WaitTimeoutError`. Default 10 minutes. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** First pause between polls. Default 25 ms. */
  minDelayMs?: number;
  /** Longest pause between polls. Default 2000 ms. */
  maxDelayMs?: number;
  /** Called after every poll. */
  onPoll?: (poll: PollInfo) => void;
}

export const DEFAULT_WAIT_TIMEOUT_MS = 10 * 60_000;
const DELAY_GROWTH = 1.5;
const EVENTS_IN_MESSAGE = 5;

/** The wait cannot succeed. Carries the latest service seen and its recent events. */
export class WaitError extends CodesphereError {
  readonly serviceId: string;
  /** The last service seen, if any poll succeeded. */
  readonly service: ManagedService | undefined;
  readonly recentEvents: LogRecord[];
  constructor(
    serviceId: string,
    reason: string,
    service: ManagedService | undefined,
    options: { cause?: unknown } = {},
  ) {
    const events = service?.recentEvents?.slice(-EVENTS_IN_MESSAGE) ?? [];
    super(
      `managed service ${serviceId}${service ? ` (${service.name})` : ""} ${reason}${describeEvents(events)}`,
      options,
    );
    this.serviceId = serviceId;
    this.service = service;
    this.recentEvents = events;
  }
}

/** The deadline passed before the target held. */
export class WaitTimeoutError extends WaitError {
  readonly timeoutMs: number;
  constructor(
    serviceId: string,
    reason: string,
    service: ManagedService | undefined,
    timeoutMs: number,
    options: { cause?: unknown } = {},
  ) {
    super(serviceId, reason, service, options);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Polls until `target` holds and returns that service. Throws `WaitError` at
 * once on `invalid provider`, or when the service is deleted (or 404) and
 * deletion is not the target; `WaitTimeoutError` at the deadline;
 * `AbortError` when `signal` fires.
 */
export async function waitForState(
  client: ManagedServiceReader,
  id: string,
  target: WaitTarget,
  options: WaitOptions = {},
): Promise<ManagedService> {
  const result = await poll(client, id, target, false, options);
  // Without acceptMissing, poll never resolves undefined.
  return result as ManagedService;
}

/**
 * Waits until the service is gone: a 404 (resolves undefined) or state
 * `deleted` (resolves that record).
 */
export function waitForDeleted(
  client: ManagedServiceReader,
  id: string,
  options: WaitOptions = {},
): Promise<ManagedService | undefined> {
  return poll(client, id, "deleted", true, options);
}

async function poll(
  client: ManagedServiceReader,
  id: string,
  target: WaitTarget,
  acceptMissing: boolean,
  options: WaitOptions,
): Promise<ManagedService | undefined> {
  const { signal, onPoll } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  const minDelayMs = options.minDelayMs ?? 25;
  const maxDelayMs = options.maxDelayMs ?? 2000;
  const holds = toPredicate(target);
  const wanted = describeTarget(target);
  const started = Date.now();

  if (signal?.aborted) throw new AbortError(signal.reason);
  // One signal for polls and pauses: fires on the caller's abort or at the deadline.
  const controller = new AbortController();
  let deadlinePassed = false;
  const deadline = setTimeout(() => {
    deadlinePassed = true;
    controller.abort();
  }, timeoutMs);
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });

  let latest: ManagedService | undefined;
  let lastError: unknown;
  const timeout = () =>
    new WaitTimeoutError(
      id,
      `did not reach ${wanted} within ${timeoutMs} ms (last state: ${describeState(latest)}` +
        `${lastError instanceof Error ? `; last error: ${lastError.message}` : ""})`,
      latest,
      timeoutMs,
      { cause: lastError },
    );

  try {
    let delay = minDelayMs;
    for (let attempt = 1; ; attempt++) {
      let service: ManagedService | undefined;
      let transient: unknown;
      try {
        service = await client.managedServices.get(id, { signal: controller.signal });
      } catch (error) {
        if (signal?.aborted) throw new AbortError(signal.reason);
        if (deadlinePassed) throw timeout();
        if (error instanceof NotFoundError) {
          if (acceptMissing) return undefined;
          throw new WaitError(id, `was not found (404) while waiting for ${wanted}`, latest, {
            cause: error,
          });
        }
        if (!isTransient(error)) throw error;
        transient = error;
        lastError = error;
      }
      onPoll?.({ attempt, elapsedMs: Date.now() - started, service, error: transient });

      if (service) {
        latest = service;
        lastError = undefined;
        if (holds(service)) return service;
        const stop = terminal(service, target);
        if (stop) throw new WaitError(id, `${stop} while waiting for ${wanted}`, service);
      }

      const remaining = timeoutMs - (Date.now() - started);
      if (remaining <= 0) throw timeout();
      try {
        await sleep(Math.min(delay, remaining), controller.signal);
      } catch (error) {
        if (signal?.aborted) throw new AbortError(signal.reason);
        if (deadlinePassed) throw timeout();
        throw error;
      }
      delay = Math.min(maxDelayMs, delay * DELAY_GROWTH);
    }
  } finally {
    clearTimeout(deadline);
    signal?.removeEventListener("abort", onAbort);
  }
}

function toPredicate(target: WaitTarget): (service: ManagedService) => boolean {
  if (typeof target === "function") return target;
  const states: readonly string[] = typeof target === "string" ? [target] : target;
  return (service) => states.includes(service.status.state);
}

function describeState(service: ManagedService | undefined): string {
  if (!service) return "never seen";
  const state = service.status.state;
  return isKnownState(state) ? state : `"${state}", a state this SDK does not know, waited through`;
}

/** Why the target can no longer hold, or undefined while it still can. */
function terminal(service: ManagedService, target: WaitTarget): string | undefined {
  const state = service.status.state;
  if (state === "invalid provider") return `has state "invalid provider"`;
  if (state === "deleted") return "was deleted";
  // A service being deleted never comes back; only a list of states can say deletion is not wanted.
  if (state === "deleting" && typeof target !== "function") {
    const states: readonly ServiceState[] = typeof target === "string" ? [target] : target;
    if (!states.includes("deleted")) return "is being deleted";
  }
  return undefined;
}

/** Failures worth polling through: the next poll may well succeed. */
function isTransient(error: unknown): boolean {
  return (
    error instanceof ConnectionError ||
    error instanceof TimeoutError ||
    error instanceof RateLimitError ||
    error instanceof InternalServerError
  );
}

function describeTarget(target: WaitTarget): string {
  if (typeof target === "function") return "the expected condition";
  const states: readonly ServiceState[] = typeof target === "string" ? [target] : target;
  return states.map((s) => `"${s}"`).join(" or ");
}

function describeEvents(events: LogRecord[]): string {
  if (events.length === 0) return "";
  return `; recent events: ${events.map((e) => `[${e.eventName}] ${e.body}`).join(" | ")}`;
}
