/**
 * How the reconciler reads a backend's answer for one service: whether the
 * service is where it should be, and whether anything differs from what the
 * record last saw. Shared by the step (reconciler.ts) and the health watch
 * (health-watch.ts), so both judge a service the same way.
 */
import type { ObservedService } from "../backends/client";
import type { ServiceRecord, WatchedService } from "../store/store";
import { expectedAnswer } from "../store/watch";

export const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Replaces any secret value a backend might echo in its details. */
export function scrub(details: Record<string, unknown>, secrets: unknown[]): Record<string, unknown> {
  const needles = secrets.filter((s): s is string => typeof s === "string" && s.length >= 4);
  if (needles.length === 0) return details;
  let text = JSON.stringify(details);
  for (const n of needles) text = text.split(JSON.stringify(n).slice(1, -1)).join("***");
  return JSON.parse(text) as Record<string, unknown>;
}

/** Paused as asked (when the backend says), and ready unless paused. */
function pausedAsAsked(pause: boolean, observed: ObservedService): boolean {
  return (
    (observed.pause === undefined || observed.pause === pause) && (pause || observed.details?.ready !== false)
  );
}

/** The backend runs the service as the record wants it: plan, config, pause, and (unless paused) ready. */
export function converged(r: ServiceRecord, observed: ObservedService): boolean {
  return (
    same(observed.plan?.parameters ?? {}, r.plan.parameters) &&
    same(observed.config ?? {}, r.config) &&
    pausedAsAsked(r.pause, observed)
  );
}

/**
 * Nothing for a step to do or record: the backend holds the service without
 * an error, converged (as `converged` judges it), with the very details the
 * record keeps. Details are compared as the backend sent them, so a backend
 * that echoes a secret (kept scrubbed in the record) always gets a step,
 * which then finds nothing to write. Judged on the health watch's column
 * (store/watch.ts): plan parameters, config and details as one text.
 */
export function unchanged(w: WatchedService, observed: ObservedService | undefined): boolean {
  return (
    observed !== undefined &&
    !observed.error &&
    pausedAsAsked(w.pause, observed) &&
    expectedAnswer(observed.plan?.parameters ?? {}, observed.config ?? {}, observed.details ?? {}) ===
      w.expected
  );
}
