/**
 * `recoverFrom` of a create (./server.ts): reading the request, and restoring
 * the new service's data set in the background.
 */
import { BackupStoreError } from "./backup-store";
import { RecoveryError, type RecoveryRequest, type RecoverySource } from "./backups";
import type { ProviderProfile } from "./providers";
import type { ServerDeps } from "./server";
import { HttpError, values } from "./server-http";

/** Reads `recoverFrom`; throws the answer refusing it. */
export function recoveryRequest(
  profile: ProviderProfile,
  id: string,
  teamId: number,
  v: unknown,
): RecoveryRequest {
  const r = values(v, "recoverFrom")!;
  if (!profile.canBackup) throw new HttpError(501, `provider ${profile.name} has no backups to recover from`);
  const msId = r.msId ?? undefined;
  if (msId !== undefined && (typeof msId !== "string" || msId === "")) {
    throw new HttpError(400, "recoverFrom.msId must be a non-empty string");
  }
  let source: RecoverySource;
  if (r.id !== undefined && r.id !== null) {
    if (typeof r.id !== "string" || r.id === "")
      throw new HttpError(400, "recoverFrom.id must be a non-empty string");
    source = { kind: "backup", backupId: r.id, ...(msId === undefined ? {} : { msId }) };
  } else if (msId !== undefined && r.time !== undefined && r.time !== null) {
    if (!profile.canRecoverToTime) {
      throw new HttpError(501, `provider ${profile.name} has no point-in-time recovery`);
    }
    source = { kind: "time", msId, time: pointInTime(r.time) };
  } else {
    throw new HttpError(400, "recoverFrom needs id (a backup) or msId and time (a point in time)");
  }
  return {
    provider: profile.name,
    serviceId: id,
    teamId,
    source,
    config: values(r.config, "recoverFrom.config") ?? {},
    secrets: values(r.secrets, "recoverFrom.secrets") ?? {},
  };
}

/** An ISO 8601 date-time, or milliseconds since the epoch. */
export function pointInTime(v: unknown): number {
  const ms = typeof v === "string" ? Date.parse(v) : Number.isSafeInteger(v) ? (v as number) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new HttpError(
      400,
      "recoverFrom.time must be an ISO 8601 date-time or milliseconds since the epoch",
    );
  }
  return ms;
}

/**
 * Restores the new service's data set in the background; provisioning ends
 * once it is in place. A failure becomes the service's `error` and the
 * service never becomes ready.
 */
export function startRecovery(deps: ServerDeps, req: RecoveryRequest, token: string): void {
  void deps.tasks.run(async () => {
    let data: Record<string, unknown>;
    try {
      data = await deps.backups.recover(req);
    } catch (err) {
      const known = err instanceof RecoveryError || err instanceof BackupStoreError;
      // Only our own messages are shown; anything else is a bug, named but not echoed.
      const reason = known ? err.message : "an internal error";
      if (!known) {
        deps.log({
          level: "error",
          msg: "recovery crashed",
          error: err instanceof Error ? err.name : "unknown",
        });
      }
      const error = `recovery failed: ${reason}`;
      deps.store.failRecovery(req.provider, req.serviceId, token, error, deps.now());
      deps.log({ level: "warn", msg: "recovery failed", provider: req.provider, id: req.serviceId, error });
      return;
    }
    const done = deps.store.finishRecovery(req.provider, req.serviceId, token, data, deps.now());
    if (done && deps.engines.backed(req.provider, req.serviceId))
      deps.engines.sync(req.provider, req.serviceId);
    deps.log({
      level: "info",
      msg: done ? "service recovered" : "recovery discarded: the service is gone or was created again",
      provider: req.provider,
      id: req.serviceId,
      keys: Object.keys(data).length,
    });
  });
}
