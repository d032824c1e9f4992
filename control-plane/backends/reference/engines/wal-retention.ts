/**
 * Archived WAL is kept as long as a backup can use it: once a backup is
 * deleted, the segments older than the oldest remaining base backup's start
 * go too. With no backup left, the whole archive goes, but only when the
 * service is gone here: a running one may have a backup in flight whose
 * manifest (written last) is not in the store yet.
 *
 * A cold copy (of a paused server) records no WAL position; while one
 * remains, nothing is pruned.
 */
import { serviceFolder } from "../backup-store";
import { parseManifest, walFolder } from "./backup-layout";
import type { BlobStore } from "./blob-store";

const SEGMENT = /^([0-9A-F]{24})(\.[0-9A-F]{8}\.backup)?$/;

/** Deletes the archived WAL no remaining backup of the service needs; returns how many objects went. */
export async function pruneWal(
  blobs: BlobStore,
  teamId: number,
  msId: string,
  deletedBackupId: string,
  serviceGone: boolean,
): Promise<number> {
  const folder = serviceFolder(blobs.location, teamId, msId);
  const keys = await blobs.list(folder);
  let oldest: string | undefined;
  let remaining = 0;
  for (const key of keys) {
    const rest = key.slice(folder.length);
    if (!rest.endsWith(".json") || rest.includes("/") || rest === `${deletedBackupId}.json`) continue;
    const body = await blobs.get(key);
    if (!body) continue;
    const m = parseManifest(body.toString("utf8"));
    // Anything not understood here (a simulated backup, a newer format) is left with its WAL.
    if (typeof m === "string") return 0;
    remaining += 1;
    if (m.engine !== "postgres") continue;
    if (m.postgres?.cold || !m.postgres?.startWal) return 0;
    if (!oldest || m.postgres.startWal < oldest) oldest = m.postgres.startWal;
  }
  if (remaining === 0 && !serviceGone) return 0;
  const wal = walFolder(blobs.location, teamId, msId);
  let removed = 0;
  for (const key of keys) {
    if (!key.startsWith(wal)) continue;
    const name = key.slice(wal.length).replace(/\.gz$/, "");
    const segment = SEGMENT.exec(name)?.[1];
    // Timeline histories stay: they are small, and a later timeline's recovery may ask for them.
    if (!segment) continue;
    if (oldest === undefined ? remaining === 0 : segment < oldest) {
      await blobs.delete(key);
      removed += 1;
    }
  }
  return removed;
}
