/**
 * State of `codesphere_managed_service` from what the API reports: after a
 * refresh in the shape the configuration used (so API defaults never show as
 * drift), after create or update with the plan's unknowns filled in.
 */
import type * as schemas from "../../sdk/schemas";
import { obj, sameVersion } from "./managed-service-values";
import type { TfObject } from "./provider";
import { isWhollyKnown, type TfValue, UNKNOWN, valuesEqual } from "./values";

/** The value kept when the API reports the same thing another way (so no phantom drift). */
function keepIfSame(prior: TfValue | undefined, reported: TfValue): TfValue {
  return prior !== undefined && prior !== null && valuesEqual(prior, reported) ? prior : reported;
}

/** The reported values restricted to the keys the prior value had (all of them when it had none). */
function narrow(prior: TfValue | undefined, reported: Record<string, unknown>, drop?: Set<string>): TfValue {
  const p = obj(prior ?? null);
  const out: Record<string, TfValue> = {};
  for (const [k, v] of Object.entries(reported)) {
    if (p ? !(k in p) : drop?.has(k)) continue;
    out[k] = v as TfValue;
  }
  return keepIfSame(prior, out);
}

function entriesOf(service: schemas.ManagedService): TfValue {
  return service.backups.entries.map((e) => ({
    id: e.id,
    scheduled_at: e.scheduledAt,
    initiated_at: e.initiatedAt ?? null,
    confirmed_at: e.confirmedAt ?? null,
  }));
}

/** State after a refresh: what the API reports now, in the shape the configuration used. */
export function stateFromApi(
  state: TfObject,
  service: schemas.ManagedService,
  dropParameters?: Set<string>,
): TfObject {
  const priorBackups = obj(state.backups);
  let backups: TfValue = state.backups ?? null;
  if (priorBackups || service.backups.enabled) {
    const view = service.backups;
    backups = keepIfSame(state.backups, {
      enabled: view.enabled,
      interval_h: view.enabled ? view.intervalH : (priorBackups?.interval_h ?? null),
      delete_retention_days: view.enabled
        ? view.deleteRetentionDays
        : (priorBackups?.delete_retention_days ?? null),
      config: view.enabled ? narrow(priorBackups?.config, view.config) : (priorBackups?.config ?? null),
      secrets: priorBackups?.secrets ?? null,
    });
    if (!priorBackups && !view.enabled) backups = null;
  }
  return {
    ...state,
    id: service.id,
    name: service.name,
    provider_name: service.provider.name,
    provider_version: sameVersion(state.provider_version, service.provider.schemaVersion)
      ? state.provider_version!
      : service.provider.schemaVersion,
    plan_id: service.plan.id,
    plan_parameters: narrow(state.plan_parameters, service.plan.parameters, dropParameters),
    config: narrow(state.config, service.config),
    pause: service.pause,
    backups,
    status: service.status.state,
    details: keepIfSame(state.details, (service.details ?? {}) as TfValue),
    backup_entries: keepIfSame(state.backup_entries, entriesOf(service)),
    created_at: service.createdAt,
  };
}

/** State after create or update: the plan, with what was unknown filled in from the API. */
export function stateAfter(
  planned: TfObject,
  service: schemas.ManagedService,
  fingerprints: Record<string, string>,
): TfObject {
  const reported = stateFromApi({ ...planned }, service);
  const out: TfObject = { ...planned };
  for (const [k, v] of Object.entries(planned)) {
    if (v === UNKNOWN) out[k] = reported[k] ?? null;
  }
  if (planned.secret_fingerprints === UNKNOWN) out.secret_fingerprints = fingerprints;
  // Outputs always as the API has them now.
  out.status = planned.status === UNKNOWN ? service.status.state : (planned.status ?? null);
  return known(out);
}

/** Replaces any unknown left at any depth with null (state must be wholly known). */
export function known(v: TfObject): TfObject {
  const fix = (x: TfValue): TfValue => {
    if (isWhollyKnown(x)) return x; // the same object, so a dynamic value keeps its exact type
    if (x === UNKNOWN) return null;
    if (Array.isArray(x)) return x.map(fix);
    if (x !== null && typeof x === "object") {
      return Object.fromEntries(Object.entries(x).map(([k, e]) => [k, fix(e)]));
    }
    return x;
  };
  return fix(v) as TfObject;
}
