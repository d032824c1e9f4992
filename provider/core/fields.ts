/**
 * The field rules of a managed service: one table that answers, per field,
 * "what is it called in the API, in Pulumi and in Terraform, and what does
 * changing it do?", in the spirit of terraform-plugin-framework's plan
 * modifiers (RequiresReplace, Sensitive, WriteOnly, Computed) kept next to
 * the attribute. Both IaC engines read this table; neither keeps its own.
 *
 * Fixed rules say which fields replace the service (team, provider name and
 * version, recoverFrom) and which update in place (name, plan, config,
 * secrets, backups, pause). The provider catalog refines them per key: a
 * config or secret key or plan parameter whose JSON Schema carries
 * `x-update-constraint` replaces when the change cannot happen in place
 * (`immutable`: any change; `increase-only`: a decrease; `minor-upgrade-only`:
 * another major or an older version).
 *
 * `planChanges` applies the table to old and new inputs and answers in API
 * paths (`config.version`, `plan.parameters.storage`, `secrets.userPassword`).
 * Secret maps are compared as given, so callers pass fingerprints on both
 * sides (see ./fingerprints), never a secret in one place and its hash in the
 * other.
 */
import { constraintBreach, constraintOf, propertiesOf, type UpdateConstraint } from "../../sdk/catalog";
import type * as schemas from "../../sdk/schemas";

/** What a change of the field does to the service. */
export type OnChange =
  /** Sent with PATCH /managed-services/{id}; the service stays. */
  | "update"
  /** Cannot change in place: a new service is created and the old one deleted. */
  | "replace"
  /** A setting of the IaC resource only (adopt, timeouts): recorded, nothing is sent. */
  | "state"
  /** Read from the API, never set by the user. */
  | "computed";

/** Which catalog schema refines the rule per key (through `x-update-constraint`). */
export type CatalogSchema = "configSchema" | "secretsSchema" | "planParameters" | "backupsConfigSchema";

export interface FieldRule {
  /** Path in the public API (request and response bodies), dotted. Local settings use their IaC name. */
  readonly path: string;
  /** Property path of the Pulumi resource (camelCase). */
  readonly pulumi: string;
  /** Attribute path of the Terraform resource (snake_case). */
  readonly terraform: string;
  readonly onChange: OnChange;
  /** Must be given at create (after defaults such as the stack's team are applied). */
  readonly required: boolean;
  /** Only sent at create; after that a change follows `onChange` but is never PATCHed. */
  readonly createOnly: boolean;
  /** A secret: never shown, never logged; kept in state only as a fingerprint or encrypted. */
  readonly sensitive: boolean;
  /** The API accepts it but never returns it: state cannot be refreshed from the API. */
  readonly writeOnly: boolean;
  /** Filled in by the API (an output, or an input whose default comes from the catalog). */
  readonly computed: boolean;
  /** Removing the value later changes nothing (it only mattered at create). */
  readonly ignoreRemoval: boolean;
  /** Per-key refinement from the provider's catalog entry. */
  readonly catalog?: CatalogSchema;
  readonly description: string;
}

type RuleInit = Pick<FieldRule, "path" | "pulumi" | "terraform" | "onChange" | "description"> &
  Partial<Omit<FieldRule, "path" | "pulumi" | "terraform" | "onChange" | "description">>;

function rule(init: RuleInit): FieldRule {
  return {
    required: false,
    createOnly: false,
    sensitive: false,
    writeOnly: false,
    computed: init.onChange === "computed",
    ignoreRemoval: false,
    ...init,
  };
}

/**
 * Every field of a managed service, inputs first, then outputs. Nested rows
 * (`backups.intervalH`) refine their parent (`backups`); the most specific
 * row for a path wins (see {@link ruleFor}).
 *
 * Terraform reserves `provider` as a meta-argument, so the provider's name and
 * version are flat attributes there (`provider_name`, `provider_version`).
 */
export const FIELD_RULES: readonly FieldRule[] = [
  rule({
    path: "teamId",
    pulumi: "teamId",
    terraform: "team_id",
    onChange: "replace",
    required: true,
    description: "Team that owns the service. Default: stack config codesphere:teamId, else CS_TEAM_ID.",
  }),
  rule({
    path: "name",
    pulumi: "name",
    terraform: "name",
    onChange: "update",
    required: true,
    description: "Service name, unique in the team (1 to 127 letters, digits, '-', '_' or inner spaces).",
  }),
  rule({
    path: "provider.name",
    pulumi: "provider.name",
    terraform: "provider_name",
    onChange: "replace",
    required: true,
    description: "Catalog provider, e.g. postgres, redis, s3.",
  }),
  rule({
    path: "provider.version",
    pulumi: "provider.version",
    terraform: "provider_version",
    onChange: "replace",
    required: true,
    description: "Catalog schema version, e.g. v1 (15 is read as v15).",
  }),
  rule({
    path: "plan",
    pulumi: "plan",
    terraform: "plan",
    onChange: "update",
    required: true,
    description: "Plan selection: id and parameters.",
  }),
  rule({
    path: "plan.id",
    pulumi: "plan.id",
    terraform: "plan.id",
    onChange: "update",
    required: true,
    description: "Plan id from the provider's catalog entry.",
  }),
  rule({
    path: "plan.parameters",
    pulumi: "plan.parameters",
    terraform: "plan.parameters",
    onChange: "update",
    computed: true,
    catalog: "planParameters",
    description: "Plan parameters; omitted ones take the plan's default, read-only ones the plan's value.",
  }),
  rule({
    path: "config",
    pulumi: "config",
    terraform: "config",
    onChange: "update",
    computed: true,
    catalog: "configSchema",
    description: "Provider configuration, checked against the catalog's configSchema; defaults filled in.",
  }),
  rule({
    path: "secrets",
    pulumi: "secrets",
    terraform: "secrets",
    onChange: "update",
    sensitive: true,
    writeOnly: true,
    catalog: "secretsSchema",
    description: "Provider secrets, checked against the catalog's secretsSchema; never returned by the API.",
  }),
  rule({
    path: "backups",
    pulumi: "backups",
    terraform: "backups",
    onChange: "update",
    description: "Automated backups to an S3-compatible store (providers with capabilities.backups).",
  }),
  rule({
    path: "backups.enabled",
    pulumi: "backups.enabled",
    terraform: "backups.enabled",
    onChange: "update",
    description: "Whether backups run.",
  }),
  rule({
    path: "backups.intervalH",
    pulumi: "backups.intervalH",
    terraform: "backups.interval_h",
    onChange: "update",
    description: "Hours between backups (1 to 730).",
  }),
  rule({
    path: "backups.deleteRetentionDays",
    pulumi: "backups.deleteRetentionDays",
    terraform: "backups.delete_retention_days",
    onChange: "update",
    description: "Days a deleted service and its backups are kept (1 to 365).",
  }),
  rule({
    path: "backups.config",
    pulumi: "backups.config",
    terraform: "backups.config",
    onChange: "update",
    catalog: "backupsConfigSchema",
    description: "Backup store settings, checked against the catalog's backups.configSchema.",
  }),
  rule({
    path: "backups.secrets",
    pulumi: "backups.secrets",
    terraform: "backups.secrets",
    onChange: "update",
    sensitive: true,
    writeOnly: true,
    description: "Backup store credentials; never returned by the API.",
  }),
  rule({
    path: "pause",
    pulumi: "pause",
    terraform: "pause",
    onChange: "update",
    description: "true pauses the service (releases CPU and memory, keeps data); false resumes it.",
  }),
  rule({
    path: "recoverFrom",
    pulumi: "recoverFrom",
    terraform: "recover_from",
    onChange: "replace",
    createOnly: true,
    ignoreRemoval: true,
    description:
      "Create from a backup ({id}) or a point in time of another service ({msId, time}). " +
      "Setting or changing it creates a new service; removing it later changes nothing.",
  }),
  rule({
    path: "recoverFrom.secrets",
    pulumi: "recoverFrom.secrets",
    terraform: "recover_from.secrets",
    onChange: "replace",
    createOnly: true,
    ignoreRemoval: true,
    sensitive: true,
    writeOnly: true,
    description: "Credentials of the backup store to recover from.",
  }),
  rule({
    path: "adopt",
    pulumi: "adopt",
    terraform: "adopt",
    onChange: "state",
    createOnly: true,
    description:
      "At create, take over an existing service of the same name in the team and apply the " +
      "declared settings, instead of failing.",
  }),
  rule({
    path: "timeouts",
    pulumi: "timeouts",
    terraform: "timeouts",
    onChange: "state",
    description: "Deadlines for create, update and delete, e.g. {create: '30m'}. Default 20m, 20m, 10m.",
  }),
  // ------------------------------------------------------------ outputs
  rule({
    path: "id",
    pulumi: "id",
    terraform: "id",
    onChange: "computed",
    description: "Service id (UUID).",
  }),
  rule({
    path: "status.state",
    pulumi: "status",
    terraform: "status",
    onChange: "computed",
    description: "The service's state: synchronized, paused, creating, updating, ...",
  }),
  rule({
    path: "details",
    pulumi: "details",
    terraform: "details",
    onChange: "computed",
    description: "Connection details the provider reports (hostname, port, dsn, ...).",
  }),
  rule({
    path: "details.dsn",
    pulumi: "details.dsn",
    terraform: "details.dsn",
    onChange: "computed",
    sensitive: true,
    description: "Connection string; secret, like any credential-looking detail.",
  }),
  rule({
    path: "backups.entries",
    pulumi: "backupEntries",
    terraform: "backup_entries",
    onChange: "computed",
    description: "Backups taken or scheduled: id, scheduledAt, initiatedAt, confirmedAt.",
  }),
  rule({
    path: "createdAt",
    pulumi: "createdAt",
    terraform: "created_at",
    onChange: "computed",
    description: "When the service was created (RFC 3339).",
  }),
  rule({
    path: "secretFingerprints",
    pulumi: "secretFingerprints",
    terraform: "secret_fingerprints",
    onChange: "computed",
    description: "Keyed fingerprints of each secret value, so a change is detected without storing it.",
  }),
];

const byPath = new Map(FIELD_RULES.map((r) => [r.path, r]));

/** The most specific rule for an API path: `config.version` falls back to `config`. */
export function ruleFor(path: string): FieldRule | undefined {
  for (let p = path; p !== ""; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
    const found = byPath.get(p);
    if (found) return found;
  }
  return undefined;
}

/** Paths of the fields that are secrets (their values never leave the provider in plain text). */
export const SENSITIVE_INPUT_PATHS: readonly string[] = FIELD_RULES.filter(
  (r) => r.sensitive && r.onChange !== "computed",
).map((r) => r.path);

// ---------------------------------------------------------------- the inputs, in API terms

export type BackupsSpec =
  | {
      enabled: true;
      intervalH: number;
      deleteRetentionDays: number;
      config: schemas.Values;
      /** Plain values when sending; fingerprints when comparing. */
      secrets: schemas.Values;
    }
  | { enabled: false };

/**
 * A service's desired state in API names (what IaC inputs map to). Values may
 * be unknown during a preview (see {@link DiffOptions.isUnknown}).
 */
export interface ServiceSpec {
  teamId: number;
  name: string;
  provider: { name: string; version: string };
  plan: schemas.PlanSelection;
  config: schemas.Values;
  /** Plain values when sending; fingerprints when comparing. */
  secrets: schemas.Values;
  /** Absent: backups are left as they are (off for a new service). */
  backups?: BackupsSpec;
  pause: boolean;
  recoverFrom?: schemas.RecoverFrom;
}

/** Settings of the IaC resource itself (rule `state`): compared, never sent. */
export interface LocalSettings {
  adopt?: unknown;
  timeouts?: unknown;
}

export interface PlannedChanges {
  /** API paths whose change needs a new service. Empty: the service stays. */
  replaces: string[];
  /** API paths that change in place (or only in state, for local settings). */
  updates: string[];
}

export interface DiffOptions {
  /** Tells whether a value is not known yet (a preview). Unknown values count as changed. */
  isUnknown?: (value: unknown) => boolean;
}

type JsonSchema = Record<string, unknown>;

/**
 * Which fields change and whether that replaces the service. `old` is the
 * recorded state, `next` the wanted one (both with catalog defaults applied,
 * see ./normalize); `provider` is the catalog entry of the service's provider
 * (without it, only the fixed rules apply). Local settings (`adopt`,
 * `timeouts`) are compared when present on the objects.
 */
export function planChanges(
  old: Partial<ServiceSpec> & LocalSettings,
  next: Partial<ServiceSpec> & LocalSettings,
  provider: schemas.Provider | undefined,
  options: DiffOptions = {},
): PlannedChanges {
  const unknown = options.isUnknown ?? (() => false);
  const replaces: string[] = [];
  const updates: string[] = [];
  const note = (path: string, replace: boolean) => (replace ? replaces : updates).push(path);
  const differs = (a: unknown, b: unknown) => unknown(b) || !sameValue(a, b);

  for (const path of ["teamId", "provider.name", "provider.version", "name", "pause"]) {
    const a = valueAt(old, path);
    const b = valueAt(next, path);
    if (differs(a, b)) note(path, ruleFor(path)!.onChange === "replace");
  }

  // plan: the id updates in place; each parameter may carry a catalog constraint.
  const oldPlan = old.plan;
  const nextPlan = next.plan;
  if (unknown(nextPlan)) note("plan", false);
  else if (nextPlan !== undefined) {
    if (differs(oldPlan?.id, nextPlan.id)) note("plan.id", false);
    const plan = provider?.plans.find((p) => p.id === nextPlan.id);
    for (const key of keysOf(oldPlan?.parameters, nextPlan.parameters)) {
      const a = oldPlan?.parameters?.[key];
      const b = nextPlan.parameters?.[key];
      if (!differs(a, b)) continue;
      const schema = plan?.parameters[key]?.schema;
      if (schema?.readOnly === true) continue; // follows the plan id; never chosen
      note(`plan.parameters.${key}`, replacesUnderConstraint(constraintOf(schema), a, b, unknown));
    }
  }

  compareValues("config", old.config, next.config, provider?.configSchema, note, unknown);
  compareValues("secrets", old.secrets, next.secrets, provider?.secretsSchema, note, unknown);

  // backups: all in place; absent on the new side leaves them as they are.
  if (unknown(next.backups)) note("backups", false);
  else if (next.backups !== undefined) {
    const a = old.backups ?? { enabled: false as const };
    const b = next.backups;
    if (differs(a.enabled, b.enabled)) note("backups.enabled", false);
    if (a.enabled && b.enabled) {
      for (const key of ["intervalH", "deleteRetentionDays"] as const) {
        if (differs(a[key], b[key])) note(`backups.${key}`, false);
      }
      compareValues("backups.config", a.config, b.config, provider?.backups?.configSchema, note, unknown);
      compareValues("backups.secrets", a.secrets, b.secrets, undefined, note, unknown);
    }
  }

  // recoverFrom: only at create; setting or changing it means a new service, removing it nothing.
  if (next.recoverFrom !== undefined && differs(old.recoverFrom, next.recoverFrom)) {
    note("recoverFrom", true);
  }

  for (const path of ["adopt", "timeouts"] as const) {
    if (path in next && differs(old[path], next[path])) note(path, false);
  }

  return { replaces, updates };
}

function compareValues(
  field: string,
  before: schemas.Values | undefined,
  after: schemas.Values | undefined,
  schema: JsonSchema | undefined,
  note: (path: string, replace: boolean) => void,
  unknown: (v: unknown) => boolean,
): void {
  if (after === undefined) return;
  if (unknown(after)) {
    note(field, false);
    return;
  }
  const properties = propertiesOf(schema);
  for (const key of keysOf(before, after)) {
    const a = before?.[key];
    const b = after[key];
    if (!unknown(b) && sameValue(a, b)) continue;
    // A key that was never set may be set now without replacing (the API's own rule).
    const constraint = before !== undefined && key in before ? constraintOf(properties[key]) : undefined;
    note(`${field}.${key}`, replacesUnderConstraint(constraint, a, b, unknown));
  }
}

/** True when changing `before` to `after` cannot happen in place under `constraint`. */
export function replacesUnderConstraint(
  constraint: UpdateConstraint | undefined,
  before: unknown,
  after: unknown,
  unknown: (v: unknown) => boolean = () => false,
): boolean {
  if (constraint === "immutable") return true;
  // Whether an unknown value grows or stays within a major is decided when it is known.
  if (unknown(after) || before === undefined || after === undefined) return false;
  return constraintBreach(constraint, before, after) !== undefined;
}

export { constraintOf, propertiesOf };

function keysOf(a: object | undefined, b: object | undefined): string[] {
  return [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])].sort();
}

function valueAt(o: unknown, path: string): unknown {
  let v = o;
  for (const key of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** Deep equality of JSON values, independent of key order. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => sameValue(v, bb[i]));
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
