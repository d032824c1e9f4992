/**
 * Inputs to API request bodies, and the API's view of a service back to a
 * spec (what a refresh records). Pure functions: no I/O, no engine types.
 */
import type * as schemas from "../../sdk/schemas";
import { type BackupsSpec, type PlannedChanges, type ServiceSpec, sameValue } from "./plan-changes";

/** The create request for a spec holding plain secret values. `pause` is not part of create. */
export function createRequest(spec: ServiceSpec): schemas.CreateManagedServiceRequest {
  return {
    teamId: spec.teamId,
    name: spec.name,
    provider: { name: spec.provider.name, version: spec.provider.version },
    plan: spec.plan,
    config: spec.config,
    secrets: spec.secrets,
    ...(spec.backups ? { backups: backupsRequest(spec.backups) } : {}),
    ...(spec.recoverFrom ? { recoverFrom: spec.recoverFrom } : {}),
  };
}

function backupsRequest(b: BackupsSpec): schemas.BackupsRequest {
  return b.enabled
    ? {
        enabled: true,
        intervalH: b.intervalH,
        deleteRetentionDays: b.deleteRetentionDays,
        config: b.config,
        secrets: b.secrets,
      }
    : { enabled: false };
}

/**
 * The PATCH body that takes a service from `before` to `after` for the paths
 * in `changes.updates`. `after` holds plain secret values; `before` may hold
 * fingerprints (only its keys matter for secrets). A removed config or secret
 * key is sent as null, which the API reads as "remove". Returns undefined
 * when nothing needs sending (a change of local settings only).
 */
export function updateRequest(
  before: Partial<ServiceSpec>,
  after: ServiceSpec,
  changes: Pick<PlannedChanges, "updates">,
): schemas.UpdateManagedServiceRequest | undefined {
  const touched = (prefix: string) => changes.updates.some((p) => p === prefix || p.startsWith(`${prefix}.`));
  const body: schemas.UpdateManagedServiceRequest = {};
  if (touched("name")) body.name = after.name;
  if (touched("plan")) body.plan = after.plan;
  if (touched("config")) body.config = changedValues("config", before.config, after.config, changes.updates);
  if (touched("secrets")) {
    body.secrets = changedValues("secrets", before.secrets, after.secrets, changes.updates);
  }
  if (touched("backups") && after.backups) {
    const b = after.backups;
    if (!b.enabled) body.backups = { enabled: false };
    else {
      const a = before.backups?.enabled ? before.backups : undefined;
      body.backups = {
        enabled: true,
        intervalH: b.intervalH,
        deleteRetentionDays: b.deleteRetentionDays,
        config: a ? withRemovals(a.config, b.config) : b.config,
        // Unchanged secrets are not re-sent: the API keeps what it has.
        ...(touched("backups.secrets") || !a
          ? { secrets: changedValues("backups.secrets", a?.secrets, b.secrets, changes.updates, !a) }
          : {}),
      };
    }
  }
  if (touched("pause")) body.pause = after.pause;
  return Object.keys(body).length === 0 ? undefined : body;
}

/** The keys of `after` named in `updates` (`config.x`), plus null for keys removed since `before`. */
function changedValues(
  field: string,
  before: schemas.Values | undefined,
  after: schemas.Values,
  updates: readonly string[],
  all = false,
): schemas.Values {
  const out: schemas.Values = {};
  const whole = all || updates.includes(field);
  for (const [key, value] of Object.entries(after)) {
    if (whole || updates.includes(`${field}.${key}`)) out[key] = value;
  }
  for (const key of Object.keys(before ?? {})) {
    if (!(key in after)) out[key] = null;
  }
  return out;
}

function withRemovals(before: schemas.Values, after: schemas.Values): schemas.Values {
  const out: schemas.Values = { ...after };
  for (const key of Object.keys(before)) if (!(key in after)) out[key] = null;
  return out;
}

/**
 * The spec the API reports for a service: everything but secrets (which it
 * never returns) and recoverFrom (create-only). This is what a refresh
 * records, so the next diff compares the code against reality.
 */
export function observedSpec(service: schemas.ManagedService, teamId: number): Omit<ServiceSpec, "secrets"> {
  const b = service.backups;
  return {
    teamId,
    name: service.name,
    provider: { name: service.provider.name, version: service.provider.schemaVersion },
    plan: { id: service.plan.id, parameters: { ...service.plan.parameters } },
    config: { ...service.config },
    backups: b.enabled
      ? {
          enabled: true,
          intervalH: b.intervalH,
          deleteRetentionDays: b.deleteRetentionDays,
          config: { ...b.config },
          secrets: {},
        }
      : { enabled: false },
    pause: service.pause,
  };
}

export interface Drift {
  /** API path, e.g. `config.max_connections`. */
  path: string;
  recorded: unknown;
  observed: unknown;
}

/**
 * What changed outside the IaC tool: fields whose recorded value differs from
 * what the API reports. Secrets cannot drift visibly (the API never returns
 * them); a backups block the user never declared is compared too, because
 * the API reports it either way.
 */
export function driftBetween(
  recorded: Partial<Omit<ServiceSpec, "secrets">>,
  observed: Omit<ServiceSpec, "secrets">,
): Drift[] {
  const drifts: Drift[] = [];
  const compare = (path: string, a: unknown, b: unknown) => {
    if (!sameValue(a, b)) drifts.push({ path, recorded: a, observed: b });
  };
  compare("name", recorded.name, observed.name);
  compare("pause", recorded.pause, observed.pause);
  compare("plan.id", recorded.plan?.id, observed.plan.id);
  for (const key of keys(recorded.plan?.parameters, observed.plan.parameters)) {
    compare(`plan.parameters.${key}`, recorded.plan?.parameters?.[key], observed.plan.parameters[key]);
  }
  for (const key of keys(recorded.config, observed.config)) {
    compare(`config.${key}`, recorded.config?.[key], observed.config[key]);
  }
  const rb = recorded.backups ?? { enabled: false };
  const ob = observed.backups ?? { enabled: false };
  compare("backups.enabled", rb.enabled, ob.enabled);
  if (rb.enabled && ob.enabled) {
    compare("backups.intervalH", rb.intervalH, ob.intervalH);
    compare("backups.deleteRetentionDays", rb.deleteRetentionDays, ob.deleteRetentionDays);
    for (const key of keys(rb.config, ob.config)) {
      compare(`backups.config.${key}`, rb.config[key], ob.config[key]);
    }
  }
  return drifts;
}

function keys(a: object | undefined, b: object | undefined): string[] {
  return [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])].sort();
}
