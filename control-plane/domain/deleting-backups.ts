/**
 * Backup settings of a service on its way out. A service with backups is
 * deleted at the backend only once its final backup is stored (the platform's
 * deletion flow); a final backup that cannot be stored (a bucket that is not
 * there, credentials the store refuses) would otherwise hold the delete for
 * good. So while the delete waits, and only then, `backups` may still change:
 * new store settings are used for the next attempt, and `enabled: false`
 * lets the delete go on without a final backup (docs/decisions/018).
 */
import type * as schemas from "../../sdk/schemas";
import type { ServiceRecord } from "../store/store";
import { conflict } from "./types";

/** Refuses an update of a deleting service unless it changes only backups and the delete still waits. */
export function checkUpdateWhileDeleting(
  current: ServiceRecord,
  body: schemas.UpdateManagedServiceRequest,
): void {
  const others = Object.entries(body)
    .filter(([key, value]) => key !== "backups" && value !== undefined)
    .map(([key]) => key);
  if (current.state !== "deleting" || current.deleteSent || !body.backups || others.length > 0) {
    const why =
      current.state === "deleting" && !current.deleteSent
        ? `; only backups can change while the delete waits for its final backup${others.length > 0 ? ` (not ${others.join(", ")})` : ""}`
        : "";
    throw conflict(`id: service ${current.id} is ${current.state} and can no longer change${why}`);
  }
}

/**
 * Backups not yet started are taken with the settings they find when they
 * start; their failures under the old settings no longer count. Backups in
 * flight or stored keep the settings they were written with.
 */
export function retargetWaitingBackups(next: ServiceRecord): void {
  for (const entry of next.backupEntries) {
    if (entry.confirmedAt || entry.initiatedAt) continue;
    delete entry.storeConfig;
    delete entry.failures;
    delete entry.lastError;
  }
}

/** The event text of a backups change while the delete waits. */
export function deletingBackupsChange(next: ServiceRecord): string {
  return next.backups.enabled
    ? "backup settings changed while the delete waits for its final backup; it is tried again now"
    : "backups disabled while the delete waits for its final backup; the service is deleted without one";
}
