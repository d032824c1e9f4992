/**
 * Where the backups of real engines live in the team's store, and what their
 * manifest says (docs/backups.md). For service MS of team T under the
 * destination's prefix P:
 *
 *   P/T/MS/BACKUP_ID.json          manifest, written last (its presence is the backup's existence)
 *   P/T/MS/BACKUP_ID/base.tar.gz   PostgreSQL: the data folder, copied between pg_backup_start and stop
 *   P/T/MS/BACKUP_ID/dump.rdb      Redis: the RDB snapshot
 *   P/T/MS/wal/SEGMENT.gz          PostgreSQL: archived WAL (segments and timeline histories), gzip
 *
 * The manifest key is the one simulated backups use for their JSON object
 * (../backup-store.ts), so status and listing work the same for both.
 *
 * The store settings a service's WAL goes to are those of its newest backup
 * call, kept in `<service dir>/backup-target.json` (mode 0600, the backend's
 * own file: the engine user cannot read it).
 */
import fs from "node:fs";
import path from "node:path";
import { backupKey, type StoreLocation, serviceFolder } from "../backup-store";
import type { Values } from "../operations";
import type { PgBackupInfo } from "./pg-backup";

export const ENGINE_BACKUP_FORMAT = "landform-engine-backup";
export const TARGET_FILE = "backup-target.json";

export interface EngineManifest {
  format: typeof ENGINE_BACKUP_FORMAT;
  version: 1;
  engine: "postgres" | "redis";
  /** PostgreSQL major; a base backup restores only into a server of the same major. */
  major?: number;
  serverVersion?: string;
  provider: string;
  teamId: number;
  msId: string;
  backupId: string;
  startedAt: string;
  /** When the copy was complete and its WAL archived: the earliest time it can be recovered to. */
  finishedAt: string;
  /** Objects under `BACKUP_ID/`, with their sizes. */
  parts: { name: string; bytes: number }[];
  postgres?: PgBackupInfo;
}

export function manifestKey(loc: StoreLocation, teamId: number, msId: string, backupId: string): string {
  return backupKey(loc, teamId, msId, backupId);
}

export function partKey(
  loc: StoreLocation,
  teamId: number,
  msId: string,
  backupId: string,
  part: string,
): string {
  return `${serviceFolder(loc, teamId, msId)}${backupId}/${part}`;
}

export function walFolder(loc: StoreLocation, teamId: number, msId: string): string {
  return `${serviceFolder(loc, teamId, msId)}wal/`;
}

/** A manifest read back from the store, or why it is not one. */
export function parseManifest(text: string): EngineManifest | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return "is not JSON";
  }
  const m = v as Partial<EngineManifest>;
  if (typeof m !== "object" || m === null || m.format !== ENGINE_BACKUP_FORMAT) {
    return "is not a backup of a real server (it holds a simulated data set)";
  }
  if (m.version !== 1) return `has manifest version ${String(m.version)}, which this backend cannot read`;
  if (m.engine !== "postgres" && m.engine !== "redis") return "names no known engine";
  if (typeof m.backupId !== "string" || typeof m.msId !== "string" || typeof m.finishedAt !== "string") {
    return "lacks its backup id, service or finish time";
  }
  if (m.engine === "postgres" && (typeof m.major !== "number" || !m.postgres))
    return "lacks its PostgreSQL part";
  return m as EngineManifest;
}

/** What the service's WAL shipping needs: the store settings of its newest backup call. */
export interface ShipTarget {
  teamId: number;
  msId: string;
  config: Values;
  secrets: Values;
}

export function writeTarget(dir: string, target: ShipTarget): void {
  const file = path.join(dir, TARGET_FILE);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(target), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

export function readTarget(dir: string): ShipTarget | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, TARGET_FILE), "utf8")) as ShipTarget;
  } catch {
    return undefined;
  }
}
