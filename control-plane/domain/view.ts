/**
 * A service record as the public API shows it: no secrets, no reconciler
 * bookkeeping. The store keeps this view serialized next to each record
 * (column `view`), so GET /api/managed-services/{id} sends it as text.
 */
import type * as schemas from "../../sdk/schemas";
import type { ServiceRecord } from "../store/records";

export function statusOf(r: ServiceRecord): schemas.ServiceStatus {
  switch (r.state) {
    case "deleted":
    case "deleting":
      return { state: r.state, deletedAt: r.deletedAt ?? r.createdAt };
    case "synchronized":
      return { state: r.state, detailsRef: r.detailsRef ?? r.id };
    default:
      return { state: r.state };
  }
}

/** The record as the public API shows it: no secrets, no reconciler bookkeeping. */
export function viewOf(r: ServiceRecord): schemas.ManagedService {
  const entries = r.backupEntries.map(({ id, scheduledAt, initiatedAt, confirmedAt }) => ({
    id,
    scheduledAt,
    ...(initiatedAt ? { initiatedAt } : {}),
    ...(confirmedAt ? { confirmedAt } : {}),
  }));
  const b = r.backups;
  return {
    id: r.id,
    provider: {
      name: r.provider.name,
      version: r.provider.schemaVersion,
      schemaVersion: r.provider.schemaVersion,
    },
    name: r.name,
    backups:
      b.enabled && b.intervalH !== undefined && b.deleteRetentionDays !== undefined
        ? {
            enabled: true,
            deleteRetentionDays: b.deleteRetentionDays,
            intervalH: b.intervalH,
            entries,
            config: b.config ?? {},
          }
        : { enabled: false, entries },
    pause: r.pause,
    plan: r.plan,
    createdAt: r.createdAt,
    config: r.config,
    recentEvents: r.recentEvents,
    status: statusOf(r),
    ...(r.version ? { version: r.version } : {}),
    ...(r.details ? { details: r.details } : {}),
  };
}
