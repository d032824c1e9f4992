/**
 * The shapes the store keeps: service records with their backups, catalog
 * entries, and the kinds of sealed secrets.
 */
import type * as schemas from "../../sdk/schemas";

export interface BackupSettings {
  enabled: boolean;
  intervalH?: number;
  deleteRetentionDays?: number;
  config?: schemas.Values;
  /** When the next scheduled backup is due (ISO time on the control plane's clock). */
  nextAt?: string;
}

/** One backup of a service, as the API shows it plus what the reconciler tracks. */
export interface BackupRecord extends schemas.BackupEntry {
  /** Why the backup was taken: on the schedule, on request, or before deletion. */
  reason: "scheduled" | "manual" | "final";
  /** The store settings the backup was taken with (status and deletion must go to the same place). */
  storeConfig?: schemas.Values;
  failures?: number;
  lastError?: string;
  /**
   * When the control plane first held this backup (its clock). An unconfirmed
   * backup's age counts from here, not from `scheduledAt`, which for a
   * scheduled backup is the due time and may lie long before (after downtime).
   */
  queuedAt?: string;
}

/** A managed service: what the user asked for (desired) and what the reconciler saw (observed). */
export interface ServiceRecord {
  id: string;
  teamId: number;
  name: string;
  provider: { name: string; schemaVersion: string };
  version?: string;
  plan: schemas.PlanSelection;
  config: schemas.Values;
  pause: boolean;
  backups: BackupSettings;
  backupEntries: BackupRecord[];
  /** Recovery source without its secrets (those are in the vault as kind "recover"). */
  recoverFrom?: { id?: string; msId?: string; time?: string; config: schemas.Values };
  createdAt: string;
  deletedAt?: string;
  /** When a soft-deleted record is removed for good. */
  purgeAfter?: string;

  state: schemas.ServiceState;
  detailsRef?: string;
  details?: Record<string, unknown>;
  /** Bumped by every change of desired state; the reconciler is done when observed catches up. */
  generation: number;
  observedGeneration: number;
  /** The generation last sent to the backend (POST or PATCH), so a change is sent once. */
  sentGeneration: number;
  /** Bumped when secrets change; sent with the next PATCH. */
  secretsVersion: number;
  sentSecretsVersion: number;
  /** Whether the backend accepted the create (so a restart never creates twice). */
  backendCreated: boolean;
  /** The state to return to after `unknown` or `invalid provider` clears. */
  resumeState?: schemas.ServiceState;
  /** Whether the backend accepted the DELETE of this service. */
  deleteSent?: boolean;
  failures: number;
  /** Bumped by the store on every write; lets a writer detect that it raced another. */
  rev?: number;
  /** Epoch ms of the next reconcile attempt, or null when nothing is due. */
  nextAttemptAt: number | null;
  recentEvents: schemas.LogRecord[];
}

export interface StoredProvider {
  entry: schemas.Provider;
  scope: schemas.ProviderScope;
  builtin: boolean;
}

export type SecretKind = "service" | "backups" | "recover";
