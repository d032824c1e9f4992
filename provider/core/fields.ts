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
 * `planChanges` (./plan-changes.ts) applies the table to old and new inputs.
 */

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

// The IaC engines (provider/pulumi, provider/terraform) import the inputs and
// the change planner from this path, the one module they know the field rules by.
export * from "./plan-changes";
