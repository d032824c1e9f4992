/**
 * The reference backends' tables (./store.ts): their schema, one migration
 * per release, the rows as SQLite returns them and the records made of them.
 */
import type { ServicePhase } from "../catalog";
import type { ServiceState, Spec, Values } from "./operations";

export interface StoredService extends ServiceState {
  provider: string;
  id: string;
  teamId: number;
  secrets: Values;
  createdAt: number;
  /** Set while the data set is being recovered from a backup: the recovery in flight. */
  recoveryToken?: string;
  /** Why the recovery failed; the service never becomes ready. */
  recoveryError?: string;
}

/** A consistent cut of one service's data set and change log. */
export interface DataSnapshot {
  data: Record<string, unknown>;
  /** The last change-log entry the data set includes (0: none yet). */
  seq: number;
  /** How many change-log entries the service has had up to `seq`. */
  changeCount: number;
  /** The entries after `fromSeq`, up to `seq`, oldest first. */
  changes: DataChange[];
}

export type BackupState = "uploading" | "uploaded" | "failed" | "deleting" | "deleted";

/** What the backend remembers of a backup it took (never the store's credentials). */
export interface BackupRecord {
  provider: string;
  id: string;
  serviceId: string;
  teamId: number;
  /** `s3://bucket/key`, for logs and to find the object again. */
  location: string;
  seq: number;
  changeCount: number;
  takenAt: number;
  state: BackupState;
  /** Whether the object was ever confirmed written: its archived log counts from then on. */
  uploaded: boolean;
  /** The last failure (upload or delete), safe to show. */
  error?: string;
}

export interface DataChange {
  seq: number;
  at: number;
  key: string;
  /** The new value, or undefined when the key was deleted. */
  value?: unknown;
  deleted: boolean;
}

export interface ServiceRow {
  provider: string;
  id: string;
  team_id: number;
  desired: string;
  observed: string | null;
  secrets: string;
  phase: string;
  due_at: number;
  created_at: number;
  recovery_token: string | null;
  recovery_error: string | null;
}

export interface BackupRow {
  provider: string;
  id: string;
  service_id: string;
  team_id: number;
  location: string;
  seq: number;
  change_count: number;
  taken_at: number;
  state: string;
  uploaded: number;
  error: string | null;
}

export const MIGRATIONS: string[] = [
  `CREATE TABLE services (
     provider   TEXT NOT NULL,
     id         TEXT NOT NULL,
     team_id    INTEGER NOT NULL,
     desired    TEXT NOT NULL,
     observed   TEXT,
     secrets    TEXT NOT NULL,
     phase      TEXT NOT NULL,
     due_at     INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (provider, id)
   );
   CREATE TABLE data (
     provider   TEXT NOT NULL,
     service_id TEXT NOT NULL,
     key        TEXT NOT NULL,
     value      TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (provider, service_id, key)
   );
   CREATE TABLE data_changes (
     seq        INTEGER PRIMARY KEY AUTOINCREMENT,
     provider   TEXT NOT NULL,
     service_id TEXT NOT NULL,
     at         INTEGER NOT NULL,
     key        TEXT NOT NULL,
     value      TEXT,
     deleted    INTEGER NOT NULL
   );
   CREATE INDEX data_changes_by_service ON data_changes (provider, service_id, seq);`,
  `ALTER TABLE services ADD COLUMN recovery_token TEXT;
   ALTER TABLE services ADD COLUMN recovery_error TEXT;
   CREATE TABLE backups (
     provider     TEXT NOT NULL,
     id           TEXT NOT NULL,
     service_id   TEXT NOT NULL,
     team_id      INTEGER NOT NULL,
     location     TEXT NOT NULL,
     seq          INTEGER NOT NULL,
     change_count INTEGER NOT NULL,
     taken_at     INTEGER NOT NULL,
     state        TEXT NOT NULL,
     uploaded     INTEGER NOT NULL,
     error        TEXT,
     updated_at   INTEGER NOT NULL,
     PRIMARY KEY (provider, id)
   );
   CREATE INDEX backups_by_service ON backups (provider, service_id, seq);`,
];

export function backupFromRow(row: BackupRow): BackupRecord {
  return {
    provider: row.provider,
    id: row.id,
    serviceId: row.service_id,
    teamId: row.team_id,
    location: row.location,
    seq: row.seq,
    changeCount: row.change_count,
    takenAt: row.taken_at,
    state: row.state as BackupState,
    uploaded: row.uploaded === 1,
    ...(row.error === null ? {} : { error: row.error }),
  };
}

export function fromRow(row: ServiceRow): StoredService {
  return {
    provider: row.provider,
    id: row.id,
    teamId: row.team_id,
    desired: JSON.parse(row.desired) as Spec,
    observed: row.observed === null ? null : (JSON.parse(row.observed) as Spec),
    secrets: JSON.parse(row.secrets) as Values,
    phase: row.phase as ServicePhase,
    dueAt: row.due_at,
    createdAt: row.created_at,
    ...(row.recovery_token === null ? {} : { recoveryToken: row.recovery_token }),
    ...(row.recovery_error === null ? {} : { recoveryError: row.recovery_error }),
  };
}
