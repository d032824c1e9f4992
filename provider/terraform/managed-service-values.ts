/**
 * Terraform values of `codesphere_managed_service` in the API's terms: the
 * shared spec (provider/core) for planning, the create and update bodies,
 * and the fingerprints of write-only secrets.
 */
import type * as schemas from "../../sdk/schemas";
import type { ServiceSpec } from "../core/fields";
import { fingerprintValues } from "../core/fingerprints";
import type { PathStep } from "./diagnostics";
import type { TfObject } from "./provider";
import { type TfValue, UNKNOWN, valuesEqual } from "./values";

/** Stands for an unknown value inside specs handed to provider/core (they are cloned, so no symbol). */
export const UNKNOWN_TEXT = "74D93920-ED26-11E3-AC10-0800200C9A66";
export const coreUnknown = (v: unknown) => v === UNKNOWN_TEXT;

export function forCore(v: TfValue | undefined): unknown {
  if (v === UNKNOWN) return UNKNOWN_TEXT;
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v)) return v.map(forCore);
  if (typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) {
      const c = forCore(e);
      if (c !== undefined) out[k] = c;
    }
    return out;
  }
  return v;
}

export type Obj = Record<string, TfValue>;
export const obj = (v: TfValue | undefined): Obj | null =>
  v !== null && v !== undefined && v !== UNKNOWN && typeof v === "object" && !Array.isArray(v)
    ? (v as Obj)
    : null;
export const str = (v: TfValue | undefined): string | undefined => (typeof v === "string" ? v : undefined);
export const num = (v: TfValue | undefined): number | undefined => (typeof v === "number" ? v : undefined);

/** `15` and `v15` name the same version. */
export const sameVersion = (a: unknown, b: unknown) =>
  typeof a === "string" && typeof b === "string" && a.replace(/^v/, "") === b.replace(/^v/, "");

/** The JSON values of a map/object value, for the API. */
export function jsonValues(v: TfValue | undefined): schemas.Values {
  // Unknown here is a computed default not chosen yet (config or plan_parameters left out): send none.
  if (v === UNKNOWN) return {};
  return (forCore(v ?? null) as schemas.Values | undefined) ?? {};
}

/** A copy with write-only secrets set to null (what plan and state hold on Terraform 1.11+). */
export function withoutSecrets(v: TfObject): TfObject {
  const out: TfObject = { ...v, secrets: null };
  for (const key of ["backups", "recover_from"]) {
    const nested = obj(out[key]);
    if (nested) out[key] = { ...nested, secrets: null };
  }
  return out;
}

// ---------------------------------------------------------------- to the API's terms

/** A Terraform value as the shared spec (API names); unknown values become core's unknown marker. */
export function specOf(
  v: TfObject,
  teamId: number | undefined | typeof UNKNOWN,
  version?: string,
): ServiceSpec {
  const backups = obj(v.backups);
  const recover = obj(v.recover_from);
  const spec: Record<string, unknown> = {
    teamId: forCore(v.team_id) ?? (teamId === UNKNOWN ? UNKNOWN_TEXT : teamId),
    name: forCore(v.name),
    provider: { name: forCore(v.provider_name), version: forCore(v.provider_version) ?? version },
    plan: { id: forCore(v.plan_id), parameters: forCore(v.plan_parameters) ?? {} },
    config: forCore(v.config) ?? {},
    secrets: forCore(v.secrets) ?? {},
    pause: v.pause === UNKNOWN ? UNKNOWN_TEXT : v.pause === true,
  };
  if (v.backups === UNKNOWN) spec.backups = UNKNOWN_TEXT;
  else if (backups) {
    spec.backups =
      backups.enabled === false
        ? { enabled: false }
        : {
            enabled: forCore(backups.enabled),
            intervalH: forCore(backups.interval_h) ?? 24,
            deleteRetentionDays: forCore(backups.delete_retention_days) ?? 7,
            config: forCore(backups.config) ?? {},
            secrets: forCore(backups.secrets) ?? {},
          };
  }
  if (v.recover_from === UNKNOWN) spec.recoverFrom = UNKNOWN_TEXT;
  else if (recover) {
    const base = { config: forCore(recover.config) ?? {}, secrets: forCore(recover.secrets) ?? {} };
    spec.recoverFrom =
      recover.backup_id !== null && recover.backup_id !== undefined
        ? { id: forCore(recover.backup_id), ...base }
        : { msId: forCore(recover.service_id), time: forCore(recover.time), ...base };
  }
  return spec as unknown as ServiceSpec;
}

/** API path (from provider/core) to the Terraform attribute path that shows it. */
export function terraformPath(apiPath: string): PathStep[] {
  const [head, second, third] = apiPath.split(".");
  switch (head) {
    case "teamId":
      return ["team_id"];
    case "provider":
      return [second === "name" ? "provider_name" : "provider_version"];
    case "plan":
      if (second === "parameters") return third ? ["plan_parameters", ["key", third]] : ["plan_parameters"];
      return ["plan_id"];
    case "recoverFrom":
      return ["recover_from"];
    case "backups":
      return ["backups"];
    case "secrets":
      return ["secrets"];
    case "config":
      return ["config"];
    default:
      return [head ?? apiPath];
  }
}

/** Fingerprints of every secret in a value (config side: plain secrets). */
export function fingerprintsOf(v: TfObject, key: string): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (field: string, values: TfValue | undefined) => {
    const plain = forCore(values ?? null) as schemas.Values | undefined;
    if (!plain) return;
    for (const [k, fp] of Object.entries(fingerprintValues(key, field, plain))) out[`${field}.${k}`] = fp;
  };
  add("secrets", v.secrets);
  add("backups.secrets", obj(v.backups)?.secrets);
  add("recoverFrom.secrets", obj(v.recover_from)?.secrets);
  return out;
}

/** Fingerprints as the spec's secret maps, so planChanges compares fingerprints on both sides. */
export function specWithFingerprints(spec: ServiceSpec, fingerprints: Record<string, string>): ServiceSpec {
  const pick = (field: string) => {
    const out: Record<string, string> = {};
    for (const [k, fp] of Object.entries(fingerprints))
      if (k.startsWith(`${field}.`)) out[k.slice(field.length + 1)] = fp;
    return out;
  };
  const next: ServiceSpec = { ...spec, secrets: pick("secrets") };
  if (next.backups && typeof next.backups === "object" && next.backups.enabled === true) {
    next.backups = { ...next.backups, secrets: pick("backups.secrets") };
  }
  if (next.recoverFrom && typeof next.recoverFrom === "object") {
    next.recoverFrom = { ...next.recoverFrom, secrets: pick("recoverFrom.secrets") } as schemas.RecoverFrom;
  }
  return next;
}

// ---------------------------------------------------------------- request bodies

export function pick(v: TfObject, keys: string[]): TfObject {
  const out: TfObject = {};
  for (const k of keys) if (k in v) out[k] = v[k]!;
  return out;
}

export function secretValues(v: TfObject): TfValue[] {
  return [v.secrets ?? null, obj(v.backups)?.secrets ?? null, obj(v.recover_from)?.secrets ?? null];
}

export function dedupe(paths: PathStep[][]): PathStep[][] {
  const seen = new Set<string>();
  return paths.filter((p) => {
    const k = JSON.stringify(p);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function createBody(v: TfObject, team: number): schemas.CreateManagedServiceRequest {
  const backups = obj(v.backups);
  const recover = obj(v.recover_from);
  const version = str(v.provider_version);
  return {
    teamId: team,
    name: str(v.name)!,
    provider: { name: str(v.provider_name)!, ...(version ? { version } : {}) },
    plan: { id: num(v.plan_id)!, parameters: jsonValues(v.plan_parameters) as Record<string, number> },
    config: jsonValues(v.config),
    secrets: jsonValues(v.secrets),
    ...(backups ? { backups: backupsBody(backups) as schemas.BackupsRequest } : {}),
    ...(recover
      ? {
          recoverFrom: (recover.backup_id
            ? {
                id: str(recover.backup_id)!,
                config: jsonValues(recover.config),
                secrets: jsonValues(recover.secrets),
              }
            : {
                msId: str(recover.service_id)!,
                time: str(recover.time)!,
                config: jsonValues(recover.config),
                secrets: jsonValues(recover.secrets),
              }) as schemas.RecoverFrom,
        }
      : {}),
  };
}

/**
 * The create body as the shared lifecycle's spec, which sends it back
 * unchanged (provider/core/requests `createRequest`); pause follows the create.
 */
export function specOfBody(body: schemas.CreateManagedServiceRequest, pause: boolean): ServiceSpec {
  return {
    ...body,
    provider: { name: body.provider.name, version: body.provider.version as string },
    backups: body.backups as ServiceSpec["backups"],
    pause,
  };
}

function backupsBody(b: Obj): schemas.BackupsRequest | { enabled: boolean; [k: string]: unknown } {
  if (b.enabled !== true) return { enabled: false };
  return {
    enabled: true,
    intervalH: num(b.interval_h) ?? 24,
    deleteRetentionDays: num(b.delete_retention_days) ?? 7,
    config: jsonValues(b.config),
    secrets: jsonValues(b.secrets),
  };
}

/** Removed keys are sent as null: the API merges a PATCH's values and deletes null ones. */
function withRemovals(before: TfValue | undefined, after: TfValue | undefined): schemas.Values {
  const out: schemas.Values = jsonValues(after);
  for (const k of Object.keys(obj(before ?? null) ?? {})) if (!(k in out)) out[k] = null;
  return out;
}

/** What PATCH sends: only what differs from the prior state (secrets when their fingerprints differ). */
export function updateBody(
  prior: TfObject,
  next: TfObject,
  key: string,
): schemas.UpdateManagedServiceRequest {
  const body: schemas.UpdateManagedServiceRequest = {};
  if (!valuesEqual(prior.name, next.name)) body.name = str(next.name);
  if (
    !valuesEqual(prior.plan_id, next.plan_id) ||
    !valuesEqual(prior.plan_parameters, next.plan_parameters)
  ) {
    body.plan = {
      id: num(next.plan_id)!,
      parameters: jsonValues(next.plan_parameters) as Record<string, number>,
    };
  }
  if (!valuesEqual(prior.config, next.config)) body.config = withRemovals(prior.config, next.config);
  if (!valuesEqual(prior.pause, next.pause)) body.pause = next.pause === true;
  const versionBumped = !valuesEqual(prior.secrets_version, next.secrets_version);
  const fingerprints = fingerprintsOf(next, key);
  const recorded = (obj(prior.secret_fingerprints) as Record<string, string> | null) ?? {};
  const changed = (field: string) => {
    const keys = new Set(
      [...Object.keys(fingerprints), ...Object.keys(recorded)].filter((k) => k.startsWith(`${field}.`)),
    );
    return [...keys].some((k) => fingerprints[k] !== recorded[k]);
  };
  if ((versionBumped || changed("secrets")) && next.secrets !== null) body.secrets = jsonValues(next.secrets);
  const pb = obj(prior.backups);
  const nb = obj(next.backups);
  const backupsChanged =
    !valuesEqual(withoutSecrets({ b: pb }).b ?? null, nb ? { ...nb, secrets: null } : null) ||
    ((versionBumped || changed("backups.secrets")) && nb?.enabled === true);
  if (nb && backupsChanged) {
    body.backups =
      nb.enabled === true
        ? {
            enabled: true,
            intervalH: num(nb.interval_h) ?? 24,
            deleteRetentionDays: num(nb.delete_retention_days) ?? 7,
            config: jsonValues(nb.config),
            ...(nb.secrets !== null ? { secrets: jsonValues(nb.secrets) } : {}),
          }
        : { enabled: false };
  }
  return body;
}
