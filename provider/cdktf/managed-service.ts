/**
 * `ManagedService`: resource `codesphere_managed_service`, one to one. Props
 * are the resource's attributes in camelCase; values that are still tokens
 * (references to other resources, variables) are not validated here, the
 * provider checks them at plan time against the live catalog.
 */
import { type ITerraformDependable, type TerraformMetaArguments, TerraformResource, Token } from "cdktf";
import type { Construct } from "constructs";
import { defined, definedHcl, hclBlock, hclBoolean, hclNumber, hclObject, hclString } from "./hcl";

/** A JSON object of settings (`config`, backup store settings). */
export type Settings = Record<string, unknown>;

export interface ManagedServiceBackups {
  /** Whether backups run. */
  readonly enabled: boolean;
  /** Hours between backups, 1 to 730. Default 24. */
  readonly intervalH?: number;
  /** Days a deleted service and its backups are kept, 1 to 365. Default 7. */
  readonly deleteRetentionDays?: number;
  /** Backup store settings (the catalog's `backups.configSchema`), e.g. `{ endpointUrl, destinationPath }`. */
  readonly config?: Settings;
  /** Backup store credentials. Write-only on Terraform 1.11+, else stored in state marked sensitive. */
  readonly secrets?: Settings;
}

export interface ManagedServiceRecoverFrom {
  /** Restore this backup (its id). */
  readonly backupId?: string;
  /** Restore the data of this service at `time` (point-in-time recovery). */
  readonly serviceId?: string;
  /** The point in time, RFC 3339. */
  readonly time?: string;
  /** Backup store settings. */
  readonly config?: Settings;
  /** Backup store credentials (write-only on Terraform 1.11+). */
  readonly secrets?: Settings;
}

export interface ManagedServiceTimeouts {
  /** Default `20m`. */
  readonly create?: string;
  /** Default `20m`. */
  readonly update?: string;
  /** Default `10m`. */
  readonly delete?: string;
}

export interface ManagedServiceProps extends TerraformMetaArguments {
  /** Team that owns the service. Default: the provider's `teamId` (or `CS_TEAM_ID`). Changing it replaces the service. */
  readonly teamId?: number;
  /** Service name, unique in the team: 1 to 127 letters, digits, '-', '_' or inner spaces. */
  readonly name: string;
  /** Catalog provider, e.g. `postgres`, `postgresql`, `redis`, `s3`. Changing it replaces the service. */
  readonly providerName: string;
  /** Catalog schema version, e.g. `v1` (`15` reads as `v15`). Default: the newest. Changing it replaces the service. */
  readonly providerVersion?: string;
  /** Plan id from the provider's catalog entry. Updates in place. */
  readonly planId: number;
  /** Plan parameters, e.g. `{ storage: 10 }`. A decrease of an increase-only parameter replaces the service. */
  readonly planParameters?: Record<string, number>;
  /** Provider configuration (the catalog's `configSchema`). Keys the catalog marks immutable replace when changed. */
  readonly config?: Settings;
  /** Provider secrets (the catalog's `secretsSchema`). Write-only on Terraform 1.11+, else stored in state marked sensitive. */
  readonly secrets?: Settings;
  /** Raise it to send the secrets again (changes of the secrets themselves are found without it). */
  readonly secretsVersion?: number;
  /** Automated backups (providers with the backups capability). */
  readonly backups?: ManagedServiceBackups;
  /** true pauses the service (keeps its data); false resumes it. Default false. */
  readonly pause?: boolean;
  /** Create the service from a backup or a point in time. Only used at create; changing it replaces. */
  readonly recoverFrom?: ManagedServiceRecoverFrom;
  /** How long create, update and delete may take. */
  readonly timeouts?: ManagedServiceTimeouts;
}

const NAME = /^(?!\s)[a-zA-Z0-9\-_\s]{0,126}[a-zA-Z0-9\-_]$/;
const PROVIDER_NAME = /^[a-z0-9-_]+$/;
const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

const resolved = (v: unknown): boolean => v !== undefined && !Token.isUnresolved(v);

/** Problems with the props' resolved values; unresolved tokens are left to the provider. */
export function validateManagedServiceProps(props: ManagedServiceProps): string[] {
  const errors: string[] = [];
  const integer = (field: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (resolved(v) && !(Number.isInteger(v) && (v as number) >= min && (v as number) <= max)) {
      errors.push(
        `${field}: must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ""}, got ${String(v)}`,
      );
    }
  };
  if (resolved(props.name) && !NAME.test(props.name)) {
    errors.push(`name: must be 1 to 127 letters, digits, '-', '_' or inner spaces, got "${props.name}"`);
  }
  if (resolved(props.providerName) && !PROVIDER_NAME.test(props.providerName)) {
    errors.push(`providerName: must be lowercase letters, digits, '-' or '_', got "${props.providerName}"`);
  }
  if (resolved(props.providerVersion) && !/^v?[0-9][0-9a-z]*$/.test(props.providerVersion!)) {
    errors.push(`providerVersion: must look like v15 or 15, got "${props.providerVersion}"`);
  }
  integer("teamId", props.teamId, 0);
  integer("planId", props.planId, 0);
  for (const [k, v] of Object.entries(resolved(props.planParameters) ? props.planParameters! : {})) {
    integer(`planParameters.${k}`, v, 0);
  }
  const b = props.backups;
  if (b && resolved(b)) {
    integer("backups.intervalH", b.intervalH, 1, 730);
    integer("backups.deleteRetentionDays", b.deleteRetentionDays, 1, 365);
    if (b.enabled === true && (b.config === undefined || b.secrets === undefined)) {
      errors.push("backups: config and secrets are required when backups are enabled");
    }
  }
  const r = props.recoverFrom;
  if (r && resolved(r)) {
    const byBackup = r.backupId !== undefined;
    const byTime = r.serviceId !== undefined || r.time !== undefined;
    if (byBackup === byTime) errors.push("recoverFrom: set either backupId, or serviceId and time");
    if (byTime && (r.serviceId === undefined || r.time === undefined)) {
      errors.push("recoverFrom: point-in-time recovery needs both serviceId and time");
    }
  }
  for (const op of ["create", "update", "delete"] as const) {
    const t = props.timeouts?.[op];
    if (resolved(t) && !DURATION.test(t!))
      errors.push(`timeouts.${op}: expected a duration like 30s, 20m or 1h, got "${t}"`);
  }
  return errors;
}

export class ManagedService extends TerraformResource {
  static readonly tfResourceType = "codesphere_managed_service";
  readonly props: ManagedServiceProps;

  constructor(scope: Construct, id: string, props: ManagedServiceProps) {
    super(scope, id, {
      terraformResourceType: ManagedService.tfResourceType,
      terraformGeneratorMetadata: { providerName: "codesphere" },
      provider: props.provider,
      dependsOn: props.dependsOn as ITerraformDependable[] | undefined,
      count: props.count,
      lifecycle: props.lifecycle,
      forEach: props.forEach,
      provisioners: props.provisioners,
      connection: props.connection,
    });
    this.props = props;
    this.node.addValidation({
      validate: () => validateManagedServiceProps(this.props).map((e) => `${this.node.path}: ${e}`),
    });
  }

  /** Service id (UUID). */
  get serviceId(): string {
    return this.getStringAttribute("id");
  }
  /** The service's state: `synchronized`, `paused`, ... */
  get status(): string {
    return this.getStringAttribute("status");
  }
  /** When the service was created (RFC 3339). */
  get createdAt(): string {
    return this.getStringAttribute("created_at");
  }
  /** Team that owns the service (after defaults). */
  get teamIdOutput(): number {
    return this.getNumberAttribute("team_id");
  }
  /** Provider schema version (after defaults). */
  get providerVersionOutput(): string {
    return this.getStringAttribute("provider_version");
  }
  /** Connection details (hostname, port, dsn, ...); sensitive. */
  get details(): Record<string, unknown> {
    return this.getAnyMapAttribute("details");
  }
  /** One connection detail, e.g. `detail("hostname")`; sensitive like all details. */
  detail(key: string): string {
    return this.getStringAttribute(`details.${key}`);
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    const p = this.props;
    return defined({
      team_id: p.teamId,
      name: p.name,
      provider_name: p.providerName,
      provider_version: p.providerVersion,
      plan_id: p.planId,
      plan_parameters: p.planParameters,
      config: p.config,
      secrets: p.secrets,
      secrets_version: p.secretsVersion,
      backups: backupsToTerraform(p.backups),
      pause: p.pause,
      recover_from: recoverToTerraform(p.recoverFrom),
      timeouts: p.timeouts ? defined({ ...p.timeouts }) : undefined,
    });
  }

  protected override synthesizeHclAttributes(): Record<string, unknown> {
    const p = this.props;
    return definedHcl({
      team_id: hclNumber(p.teamId),
      name: hclString(p.name),
      provider_name: hclString(p.providerName),
      provider_version: hclString(p.providerVersion),
      plan_id: hclNumber(p.planId),
      plan_parameters: hclObject(p.planParameters),
      config: hclObject(p.config),
      secrets: hclObject(p.secrets),
      secrets_version: hclNumber(p.secretsVersion),
      backups: hclObject(backupsToTerraform(p.backups)),
      pause: hclBoolean(p.pause),
      recover_from: hclObject(recoverToTerraform(p.recoverFrom)),
      timeouts: hclBlock(p.timeouts ? defined({ ...p.timeouts }) : undefined),
    });
  }
}

function backupsToTerraform(b: ManagedServiceBackups | undefined): Record<string, unknown> | undefined {
  if (b === undefined) return undefined;
  if (Token.isUnresolved(b)) return b as unknown as Record<string, unknown>;
  return defined({
    enabled: b.enabled,
    interval_h: b.intervalH,
    delete_retention_days: b.deleteRetentionDays,
    config: b.config,
    secrets: b.secrets,
  });
}

function recoverToTerraform(r: ManagedServiceRecoverFrom | undefined): Record<string, unknown> | undefined {
  if (r === undefined) return undefined;
  if (Token.isUnresolved(r)) return r as unknown as Record<string, unknown>;
  return defined({
    backup_id: r.backupId,
    service_id: r.serviceId,
    time: r.time,
    config: r.config,
    secrets: r.secrets,
  });
}
