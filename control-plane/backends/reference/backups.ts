/**
 * The seam for backups and recovery in the reference backends. The server
 * parses and checks the backup calls of the contract (`PUT /backups/ID`,
 * `POST /backups/ID/status`, `DELETE /backups/ID`) and `recoverFrom` on
 * create, and hands them to a `Backups` implementation: by default
 * `StoreBackups` (./store-backups.ts), which writes each backup as an object
 * into the team's S3-compatible store and reads it back on recovery;
 * `backupsNotImplemented` answers 501.
 */
import type { Values } from "./operations";

/** The body of every backup call, as the contract defines it. */
export interface BackupRequest {
  provider: string;
  backupId: string;
  /** The managed service the backup belongs to. */
  msId: string;
  teamId: number;
  /** The backup store's settings and credentials (never logged). */
  config: Values;
  secrets: Values;
  retentionDays?: number;
}

export interface BackupAnswer {
  status: number;
  body?: unknown;
}

/** Where a new service's data set comes from (`recoverFrom` on create). */
export type RecoverySource =
  /** A backup by id; `msId` (an extension) names the service it was taken of, when the caller knows it. */
  | { kind: "backup"; backupId: string; msId?: string }
  /** The data set service `msId` had at `time` (ms since the epoch, the backend's clock). */
  | { kind: "time"; msId: string; time: number };

export interface RecoveryRequest {
  provider: string;
  /** The new service and its team; backups are looked for in this team's folder. */
  serviceId: string;
  teamId: number;
  source: RecoverySource;
  /** The backup store's settings and credentials (never logged). */
  config: Values;
  secrets: Values;
}

/** The answer refusing a backup call, with why; shared by taking backups and recovering from them. */
export function refusal(status: number, error: string): BackupAnswer {
  return { status, body: { error } };
}

/** A recovery that cannot complete; the message is safe to show (no value, no secret). */
export class RecoveryError extends Error {
  override name = "RecoveryError";
}

export interface Backups {
  /** PUT: start taking the backup; 202 once accepted. */
  take(req: BackupRequest): Promise<BackupAnswer>;
  /** POST .../status: 200 `{exists, error?}`. */
  status(req: BackupRequest): Promise<BackupAnswer>;
  /** DELETE: start removing the backup; 202 once accepted. */
  remove(req: BackupRequest): Promise<BackupAnswer>;
  /** Checks a recovery request before the service is created: the answer that refuses it, or undefined. */
  checkRecovery(req: RecoveryRequest): BackupAnswer | undefined;
  /** Reads the data set to recover; rejects with a `RecoveryError` or `BackupStoreError`. */
  recover(req: RecoveryRequest): Promise<Record<string, unknown>>;
}

const notImplemented: BackupAnswer = { status: 501, body: { error: "backups not implemented" } };

export const backupsNotImplemented: Backups = {
  take: async () => notImplemented,
  status: async () => notImplemented,
  remove: async () => notImplemented,
  checkRecovery: () => ({ status: 501, body: { error: "recovery from backups not implemented" } }),
  recover: async () => {
    throw new RecoveryError("recovery from backups not implemented");
  },
};
