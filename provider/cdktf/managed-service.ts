/**
 * `ManagedService`: resource `codesphere_managed_service`. The class is the
 * binding generated from the provider's schema (generated/managed-service.ts,
 * the shape `cdktf get` gives any provider), plus checks at synth time of the
 * values already known; values that are still tokens (references to other
 * resources, variables) are left to the provider, which checks them at plan
 * time against the live catalog.
 */
import { type IResolvable, Token } from "cdktf";
import type { Construct } from "constructs";
import * as generated from "./generated/managed-service";

export * from "./generated/managed-service";

/** @deprecated The props are `ManagedServiceConfig`, as in every generated binding. */
export type ManagedServiceProps = generated.ManagedServiceConfig;

/** What validation sees: the inputs as set so far, any of them possibly a token. */
export type ManagedServiceInputs = {
  readonly [K in keyof generated.ManagedServiceConfig]?: generated.ManagedServiceConfig[K] | IResolvable;
};

const NAME = /^(?!\s)[a-zA-Z0-9\-_\s]{0,126}[a-zA-Z0-9\-_]$/;
const PROVIDER_NAME = /^[a-z0-9-_]+$/;
const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

/** The value if it is known at synth time (not a token, not absent). */
function known<T>(v: T | IResolvable | undefined): T | undefined {
  return v === undefined || Token.isUnresolved(v) ? undefined : (v as T);
}

/** Problems with the inputs' known values; unresolved tokens are left to the provider. */
export function validateManagedServiceProps(props: ManagedServiceInputs): string[] {
  const errors: string[] = [];
  const integer = (field: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (known(v) !== undefined && !(Number.isInteger(v) && (v as number) >= min && (v as number) <= max)) {
      errors.push(
        `${field}: must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ""}, got ${String(v)}`,
      );
    }
  };
  const name = known(props.name);
  if (name !== undefined && !NAME.test(name)) {
    errors.push(`name: must be 1 to 127 letters, digits, '-', '_' or inner spaces, got "${name}"`);
  }
  const providerName = known(props.providerName);
  if (providerName !== undefined && !PROVIDER_NAME.test(providerName)) {
    errors.push(`providerName: must be lowercase letters, digits, '-' or '_', got "${providerName}"`);
  }
  const providerVersion = known(props.providerVersion);
  if (providerVersion !== undefined && !/^v?[0-9][0-9a-z]*$/.test(providerVersion)) {
    errors.push(`providerVersion: must look like v15 or 15, got "${providerVersion}"`);
  }
  integer("teamId", props.teamId, 0);
  integer("planId", props.planId, 0);
  for (const [k, v] of Object.entries(known(props.planParameters) ?? {})) {
    integer(`planParameters.${k}`, v, 0);
  }
  const b = known(props.backups);
  if (b) {
    integer("backups.intervalH", b.intervalH, 1, 730);
    integer("backups.deleteRetentionDays", b.deleteRetentionDays, 1, 365);
    if (b.enabled === true && (b.config === undefined || b.secrets === undefined)) {
      errors.push("backups: config and secrets are required when backups are enabled");
    }
  }
  const r = known(props.recoverFrom);
  if (r) {
    const byBackup = r.backupId !== undefined;
    const byTime = r.serviceId !== undefined || r.time !== undefined;
    if (byBackup === byTime) errors.push("recoverFrom: set either backupId, or serviceId and time");
    if (byTime && (r.serviceId === undefined || r.time === undefined)) {
      errors.push("recoverFrom: point-in-time recovery needs both serviceId and time");
    }
  }
  const timeouts = known(props.timeouts);
  for (const op of ["create", "update", "delete"] as const) {
    const t = known(timeouts?.[op]);
    if (t !== undefined && !DURATION.test(t)) {
      errors.push(`timeouts.${op}: expected a duration like 30s, 20m or 1h, got "${t}"`);
    }
  }
  return errors;
}

/** The inputs as set now: through the constructor, setters or `put*`. */
function inputsOf(s: generated.ManagedService): ManagedServiceInputs {
  return {
    name: s.nameInput,
    providerName: s.providerNameInput,
    providerVersion: s.providerVersionInput,
    teamId: s.teamIdInput,
    planId: s.planIdInput,
    planParameters: s.planParametersInput,
    backups: s.backupsInput,
    recoverFrom: s.recoverFromInput,
    timeouts: s.timeoutsInput,
  };
}

/** A Codesphere managed service; see the generated base for every attribute. */
export class ManagedService extends generated.ManagedService {
  constructor(scope: Construct, id: string, config: generated.ManagedServiceConfig) {
    super(scope, id, config);
    this.node.addValidation({
      validate: () => validateManagedServiceProps(inputsOf(this)).map((e) => `${this.node.path}: ${e}`),
    });
  }
}
