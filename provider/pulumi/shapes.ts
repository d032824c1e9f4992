/**
 * The shapes the ManagedService dynamic provider exchanges with the engine:
 * inputs as the program declares them (after check), outputs as state
 * records them, and the engine's marker for a value not known yet.
 */
import type * as schemas from "../../sdk/schemas";
import type { Timeouts } from "../core/lifecycle";

/** What the engine sends for a value not known yet (a preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export const isUnknown = (v: unknown): boolean => v === UNKNOWN;

/**
 * Named by the provider text of ./provider. Every text since /2 finds
 * landform by package; /3 is the one ./provider writes itself, a third of the
 * size (docs/decisions/021-small-pulumi-state.md). A recorded `__provider`
 * without the prefix is the first stub, which loads a checkout's absolute
 * path; diff then asks for an update that records the current one. A /2 text
 * is left as it is: it works, and rewriting it would cost every stack an update.
 */
export const PROVIDER_FORMAT = "landform-pulumi-provider/3";
export const PORTABLE_STUB_PREFIX = "landform-pulumi-provider/";

export type Teardown = "delete" | "pause";

/** Set by a Landscape on its members: shared defaults resolved against the catalog in check. */
export interface LandscapeMembership {
  name: string;
  /** Pause the member when its provider can pause. */
  pause?: boolean;
  /** Backups for members whose provider supports them (unless the member sets its own). */
  backups?: BackupsInputs;
  /** `pause`: on delete, pause the service and leave it in place instead of deleting it. */
  teardown?: Teardown;
}

export interface BackupsInputs {
  enabled?: boolean;
  intervalH?: number;
  deleteRetentionDays?: number;
  config?: schemas.Values;
  secrets?: schemas.Values;
}

/** The resource's inputs as the provider sees them (Pulumi property names). */
export interface ServiceInputs {
  teamId: number;
  name: string;
  provider: { name: string; version: string };
  plan: { id: number; parameters?: Record<string, number> };
  config?: schemas.Values;
  secrets?: schemas.Values;
  backups?: BackupsInputs;
  pause?: boolean;
  recoverFrom?: schemas.RecoverFrom;
  adopt?: boolean;
  timeouts?: Timeouts;
  landscape?: LandscapeMembership;
  /** Where the API is; the token only when it came from stack config (else CS_TOKEN at run time). */
  __connection: { apiUrl: string; token?: string };
  /** The id from the `import` resource option: create takes that service over unchanged. */
  __import?: string;
}

/** The resource's outputs (what state records). */
export interface ServiceOutputs {
  teamId: number;
  name: string;
  provider: { name: string; version: string };
  plan: schemas.PlanSelection;
  config: schemas.Values;
  pause: boolean;
  backups: { enabled: boolean; intervalH?: number; deleteRetentionDays?: number; config?: schemas.Values };
  recoverFrom?: Omit<schemas.RecoverFrom, "secrets">;
  adopt?: boolean;
  timeouts?: Timeouts;
  landscape?: Omit<LandscapeMembership, "backups">;
  status: schemas.ReportedServiceState;
  details: Record<string, unknown>;
  backupEntries: schemas.BackupEntry[];
  createdAt: string;
  /** API path of each secret map -> key -> fingerprint. */
  secretFingerprints: Record<string, Record<string, string>>;
  /** The fingerprint key; an encrypted output (additionalSecretOutputs). */
  fingerprintKey: string;
  __connection: { apiUrl: string; token?: unknown };
  /** The serialized provider stub the engine keeps beside the outputs (./provider). */
  __provider?: string;
}
