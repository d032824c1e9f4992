/**
 * Between the engine's property bags and the API: inputs to a spec, recorded
 * outputs to a spec with fingerprints for secrets, a service to outputs.
 */
import type * as schemas from "../../sdk/schemas";
import { splitDetails } from "../core/details";
import type { BackupsSpec, ServiceSpec } from "../core/fields";
import { fingerprintValues } from "../core/fingerprints";
import type { ManagedServiceLifecycle } from "../core/lifecycle";
import { observedSpec } from "../core/requests";
import { catalogEntry } from "./session";
import {
  type BackupsInputs,
  isUnknown,
  type LandscapeMembership,
  type ServiceInputs,
  type ServiceOutputs,
} from "./shapes";
import { sealed, unsealed } from "./wire";

/** Inputs (plain secrets) -> the spec in API terms. */
export function specOf(inputs: ServiceInputs): ServiceSpec {
  return {
    teamId: inputs.teamId,
    name: inputs.name,
    provider: inputs.provider,
    plan: isUnknown(inputs.plan)
      ? (inputs.plan as schemas.PlanSelection)
      : { id: inputs.plan?.id, parameters: inputs.plan?.parameters ?? {} },
    config: inputs.config ?? {},
    secrets: inputs.secrets ?? {},
    ...(inputs.backups !== undefined ? { backups: backupsSpec(inputs.backups) } : {}),
    pause: inputs.pause ?? false,
    ...(inputs.recoverFrom !== undefined ? { recoverFrom: inputs.recoverFrom } : {}),
  };
}

export function backupsSpec(b: BackupsInputs): BackupsSpec {
  if (isUnknown(b)) return b as BackupsSpec;
  if (b.enabled === false) return { enabled: false };
  return {
    enabled: true,
    intervalH: b.intervalH as number,
    deleteRetentionDays: b.deleteRetentionDays as number,
    config: b.config ?? {},
    secrets: b.secrets ?? {},
  };
}

/** Writes the catalog's defaults (config, plan parameters, canonical version) back into the inputs. */
export function applySpec(inputs: ServiceInputs, spec: ServiceSpec): void {
  inputs.provider = spec.provider;
  inputs.plan = spec.plan;
  inputs.config = spec.config;
  inputs.secrets = spec.secrets;
  if (spec.backups?.enabled && inputs.backups && !isUnknown(inputs.backups)) {
    inputs.backups = { ...inputs.backups, config: spec.backups.config, secrets: spec.backups.secrets };
  }
}

/** The new inputs with every secret replaced by its fingerprint under the recorded key. */
export function comparableSpec(news: ServiceInputs, key: string): ServiceSpec & Record<string, unknown> {
  const spec = specOf(news);
  const fp = (field: string, values: unknown) =>
    isUnknown(values) ? values : fingerprintValues(key, field, (values ?? {}) as schemas.Values);
  return {
    ...spec,
    secrets: fp("secrets", spec.secrets) as schemas.Values,
    ...(spec.backups?.enabled
      ? {
          backups: {
            ...spec.backups,
            secrets: fp("backups.secrets", spec.backups.secrets) as schemas.Values,
          },
        }
      : {}),
    ...(spec.recoverFrom && !isUnknown(spec.recoverFrom)
      ? {
          recoverFrom: {
            ...spec.recoverFrom,
            secrets: fp("recoverFrom.secrets", spec.recoverFrom.secrets) as schemas.Values,
          },
        }
      : {}),
    ...("adopt" in news ? { adopt: news.adopt } : {}),
    timeouts: news.timeouts,
  };
}

/** The recorded outputs as a spec whose secrets are fingerprints. */
export function recordedSpec(olds: ServiceOutputs): ServiceSpec & Record<string, unknown> {
  const fps = olds.secretFingerprints ?? {};
  const b = olds.backups;
  return {
    teamId: olds.teamId,
    name: olds.name,
    provider: olds.provider,
    plan: olds.plan,
    config: olds.config ?? {},
    secrets: fps.secrets ?? {},
    backups: b?.enabled
      ? {
          enabled: true,
          intervalH: b.intervalH as number,
          deleteRetentionDays: b.deleteRetentionDays as number,
          config: b.config ?? {},
          secrets: fps["backups.secrets"] ?? {},
        }
      : { enabled: false },
    pause: olds.pause,
    ...(olds.recoverFrom
      ? {
          recoverFrom: {
            ...olds.recoverFrom,
            secrets: fps["recoverFrom.secrets"] ?? {},
          } as schemas.RecoverFrom,
        }
      : {}),
    adopt: olds.adopt,
    timeouts: olds.timeouts,
  };
}

/** Outputs for a service as the API reports it, plus what only the resource knows. */
export async function outputsOf(
  lifecycle: ManagedServiceLifecycle,
  service: schemas.ManagedService,
  inputs: ServiceInputs | ServiceOutputs,
  fingerprintKey: string,
  recordedFingerprints?: ServiceOutputs["secretFingerprints"],
): Promise<ServiceOutputs> {
  const observed = observedSpec(service, inputs.teamId);
  const entry = await catalogEntry(lifecycle, inputs.teamId, observed.provider).catch(() => undefined);
  const { plain, secret } = splitDetails(service.details, entry?.detailsSchema);
  const details: Record<string, unknown> = { ...plain };
  for (const [k, v] of Object.entries(secret)) details[k] = sealed(v);

  const fingerprints = recordedFingerprints ?? fingerprintsOf(inputs as ServiceInputs, fingerprintKey);
  const b = observed.backups;
  const connection = inputs.__connection;
  const recover = inputs.recoverFrom as schemas.RecoverFrom | undefined;
  const outs: ServiceOutputs = {
    teamId: inputs.teamId,
    name: observed.name,
    provider: observed.provider,
    plan: observed.plan,
    config: observed.config,
    pause: observed.pause,
    backups: b?.enabled
      ? {
          enabled: true,
          intervalH: b.intervalH,
          deleteRetentionDays: b.deleteRetentionDays,
          config: b.config,
        }
      : { enabled: false },
    ...(recover ? { recoverFrom: withoutSecrets(recover) } : {}),
    ...(inputs.adopt !== undefined ? { adopt: inputs.adopt } : {}),
    ...(inputs.timeouts !== undefined ? { timeouts: inputs.timeouts } : {}),
    ...(inputs.landscape ? { landscape: withoutBackups(inputs.landscape) } : {}),
    status: service.status.state,
    details,
    backupEntries: service.backups.entries,
    createdAt: service.createdAt,
    secretFingerprints: fingerprints,
    fingerprintKey,
    __connection: {
      apiUrl: connection.apiUrl,
      ...(connection.token !== undefined ? { token: sealed(unsealed(connection.token)) } : {}),
    },
  };
  return outs;
}

/** Inputs as they would have to be to describe the service as observed (secrets aside). */
export function inputsFrom(outs: ServiceOutputs): Partial<ServiceInputs> {
  const { enabled, intervalH, deleteRetentionDays, config } = outs.backups;
  return {
    teamId: outs.teamId,
    name: outs.name,
    provider: outs.provider,
    plan: outs.plan,
    config: outs.config,
    pause: outs.pause,
    ...(enabled ? { backups: { enabled, intervalH, deleteRetentionDays, config } } : {}),
    ...(outs.recoverFrom ? { recoverFrom: outs.recoverFrom as schemas.RecoverFrom } : {}),
    ...(outs.adopt !== undefined ? { adopt: outs.adopt } : {}),
    ...(outs.timeouts !== undefined ? { timeouts: outs.timeouts } : {}),
    ...(outs.landscape ? { landscape: outs.landscape } : {}),
    __connection: outs.__connection as ServiceInputs["__connection"],
  };
}

export function fingerprintsOf(inputs: ServiceInputs, key: string): ServiceOutputs["secretFingerprints"] {
  const out: ServiceOutputs["secretFingerprints"] = {
    secrets: fingerprintValues(key, "secrets", inputs.secrets ?? {}),
  };
  if (inputs.backups?.enabled !== false && inputs.backups?.secrets) {
    out["backups.secrets"] = fingerprintValues(key, "backups.secrets", inputs.backups.secrets);
  }
  if (inputs.recoverFrom?.secrets) {
    out["recoverFrom.secrets"] = fingerprintValues(key, "recoverFrom.secrets", inputs.recoverFrom.secrets);
  }
  return out;
}

export function withoutSecrets(r: schemas.RecoverFrom): Omit<schemas.RecoverFrom, "secrets"> {
  const { secrets: _secrets, ...rest } = r;
  return rest;
}

export function withoutBackups(l: LandscapeMembership): Omit<LandscapeMembership, "backups"> {
  const { backups: _backups, ...rest } = l;
  return rest;
}
