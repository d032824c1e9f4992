/**
 * The lifecycle of one service in a reference backend, as pure functions of
 * the stored state and the clock.
 *
 * A change (create, update, pause, resume) is accepted at once and sets the
 * desired spec; the backend then "works" for `operationDelayMs`, during which
 * the observed spec is still the old one and `details.ready` is false. The
 * operation completes lazily: whoever reads the state after `dueAt` sees the
 * observed spec equal to the desired one. No timers, so a restart in the middle
 * of an operation simply finishes it on time, and tests can drive the clock.
 */
import { isDeepStrictEqual } from "node:util";
import type { ServicePhase } from "../catalog";

export type Values = Record<string, unknown>;

/** What a service runs as: everything but its secrets. */
export interface Spec {
  /** Plan id when the control plane sent one (the contract only requires parameters). */
  planId?: number;
  parameters: Record<string, number>;
  config: Values;
  pause: boolean;
  customSubdomain?: string;
}

export interface ServiceState {
  desired: Spec;
  /** What the backend has reached; null until the first provisioning finishes. */
  observed: Spec | null;
  /** The operation in flight, or where the last one ended. */
  phase: ServicePhase;
  /** When the operation in flight completes (ms since the epoch). */
  dueAt: number;
}

const operations: ReadonlySet<ServicePhase> = new Set(["provisioning", "updating", "pausing", "resuming"]);

/** The state as of `now`: an operation past its due time has completed. */
export function settle(state: ServiceState, now: number): ServiceState {
  if (!operations.has(state.phase) || now < state.dueAt) return state;
  return { ...state, observed: state.desired, phase: state.desired.pause ? "paused" : "running" };
}

/** A new service: provisioning until `now + delay`. */
export function provision(desired: Spec, now: number, delay: number): ServiceState {
  return { desired, observed: null, phase: "provisioning", dueAt: now + delay };
}

/**
 * Request a new desired spec. Nothing changes when it equals the current one
 * and `secretsChanged` is false (repeating a request is not a new operation);
 * otherwise an operation starts that ends at `now + delay`.
 */
export function request(
  state: ServiceState,
  desired: Spec,
  secretsChanged: boolean,
  now: number,
  delay: number,
): ServiceState {
  const current = settle(state, now);
  if (!secretsChanged && isDeepStrictEqual(current.desired, desired)) return current;
  return {
    desired,
    observed: current.observed,
    phase: phaseTowards(current.observed, desired),
    dueAt: now + delay,
  };
}

function phaseTowards(observed: Spec | null, desired: Spec): ServicePhase {
  if (observed === null) return "provisioning";
  if (desired.pause && !observed.pause) return "pausing";
  if (!desired.pause && observed.pause) return "resuming";
  return "updating";
}

/** The spec to report: the observed one, or while first provisioning, the requested one. */
export function reported(state: ServiceState): Spec {
  return state.observed ?? state.desired;
}

/** Ready means usable: running, with no operation in flight. */
export function isReady(state: ServiceState): boolean {
  return state.phase === "running";
}
