/**
 * The seam for backups in the reference backends. The server parses and
 * checks the backup calls of the contract (`PUT /backups/ID`,
 * `POST /backups/ID/status`, `DELETE /backups/ID`) and hands them to a
 * `Backups` implementation; the one here answers 501 until real backups to an
 * S3-compatible store arrive. That implementation will read the service's
 * data set and its change log (`ReferenceStore.readData`, `dataChanges`).
 */
import type { Values } from "./lifecycle";

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

export interface Backups {
  /** PUT: start taking the backup; 202 once accepted. */
  take(req: BackupRequest): Promise<BackupAnswer>;
  /** POST .../status: 200 `{exists, error?}`. */
  status(req: BackupRequest): Promise<BackupAnswer>;
  /** DELETE: start removing the backup; 202 once accepted. */
  remove(req: BackupRequest): Promise<BackupAnswer>;
}

const notImplemented: BackupAnswer = { status: 501, body: { error: "backups not implemented yet" } };

export const backupsNotImplemented: Backups = {
  take: async () => notImplemented,
  status: async () => notImplemented,
  remove: async () => notImplemented,
};
