/**
 * Checks of the parts of a create or update request that need more than the
 * provider's schemas: backup settings (merged with what the service had) and
 * the source of a recovery (a confirmed backup, or a point in time of a
 * service of the same team).
 */
import { destinationProblems } from "../../sdk/backup-destination";
import type * as schemas from "../../sdk/schemas";
import type { BackupSettings, ServiceRecord, Store } from "../store/store";
import { badRequest, type Caller } from "./types";
import { checkAgainstSchema } from "./validation";

/** `{...before, ...patch}` where a null in the patch removes the key. */
export function merge(before: schemas.Values, patch: schemas.Values): schemas.Values {
  const out: schemas.Values = { ...before };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** Merges and checks backup settings; secrets come back separately, for the vault. */
export function backupsFor(
  provider: schemas.Provider,
  before: BackupSettings,
  beforeSecrets: schemas.Values,
  patch: schemas.UpdateManagedServiceRequest["backups"] | schemas.BackupsRequest | undefined,
): { settings: BackupSettings; secrets?: schemas.Values } {
  if (!patch) return { settings: before };
  const enabled = patch.enabled ?? before.enabled;
  if (!enabled) {
    return { settings: { ...before, enabled: false } };
  }
  if (!provider.capabilities?.backups || !provider.backups) {
    throw badRequest(
      `backups: ${provider.name} ${provider.schemaVersion} does not support backups (capabilities.backups is not true)`,
    );
  }
  const p = patch as Partial<schemas.Values> & { intervalH?: number; deleteRetentionDays?: number };
  const settings: BackupSettings = {
    enabled: true,
    intervalH: p.intervalH ?? before.intervalH,
    deleteRetentionDays: p.deleteRetentionDays ?? before.deleteRetentionDays,
    config: merge(before.config ?? {}, (p.config as schemas.Values | undefined) ?? {}),
  };
  const secrets = merge(beforeSecrets, (p.secrets as schemas.Values | undefined) ?? {});
  if (settings.intervalH === undefined)
    throw badRequest("backups.intervalH: is required when backups are enabled");
  if (settings.deleteRetentionDays === undefined) {
    throw badRequest("backups.deleteRetentionDays: is required when backups are enabled");
  }
  checkAgainstSchema("backups.config", provider.backups.configSchema, settings.config);
  checkAgainstSchema("backups.secrets", provider.backups.secretsSchema, secrets);
  checkDestination("backups.config", settings.config ?? {});
  return { settings, secrets };
}

/**
 * A `format: uri` is all the core schema says of a backup store's address;
 * its description asks for more ("Must use the s3:// scheme"). A store that
 * cannot be addressed is refused here, not found out by a delete that waits
 * for its final backup (sdk/backup-destination.ts).
 */
function checkDestination(field: string, config: schemas.Values): void {
  const [problem] = destinationProblems(field, config);
  if (problem) throw badRequest(problem);
}

export async function checkRecovery(
  store: Store,
  now: () => number,
  caller: Caller,
  provider: schemas.Provider,
  teamId: number,
  from: schemas.RecoverFrom,
): Promise<{ source: NonNullable<ServiceRecord["recoverFrom"]>; secrets: schemas.Values }> {
  if (!provider.capabilities?.backups || !provider.backups) {
    throw badRequest(`recoverFrom: ${provider.name} ${provider.schemaVersion} does not support backups`);
  }
  checkAgainstSchema("recoverFrom.config", provider.backups.configSchema, structuredClone(from.config));
  checkAgainstSchema("recoverFrom.secrets", provider.backups.secretsSchema, structuredClone(from.secrets));
  checkDestination("recoverFrom.config", from.config);
  if ("msId" in from) {
    if (!provider.capabilities.pointInTimeRecovery) {
      throw badRequest(
        `recoverFrom.msId: ${provider.name} ${provider.schemaVersion} does not support point-in-time recovery`,
      );
    }
    const source = await store.service(from.msId);
    if (!source || !caller.teams.has(source.teamId) || source.teamId !== teamId) {
      throw badRequest(`recoverFrom.msId: no service ${from.msId} in team ${teamId} to recover from`);
    }
    const confirmed = source.backupEntries
      .filter((b) => b.confirmedAt)
      .map((b) => Date.parse(b.confirmedAt!));
    const time = Date.parse(from.time);
    const earliest = confirmed.length > 0 ? Math.min(...confirmed) : undefined;
    if (earliest === undefined || time < earliest || time > now()) {
      throw badRequest(
        `recoverFrom.time: ${from.time} is outside the recoverable range of service ${from.msId}` +
          (earliest === undefined
            ? " (it has no confirmed backup yet)"
            : ` (${new Date(earliest).toISOString()} to now)`),
      );
    }
    return { source: { msId: from.msId, time: from.time, config: from.config }, secrets: from.secrets };
  }
  const owner = (await store.servicesOfTeam(teamId)).find(
    (r) => r.teamId === teamId && r.backupEntries.some((b) => b.id === from.id && b.confirmedAt),
  );
  if (!owner) throw badRequest(`recoverFrom.id: no confirmed backup ${from.id} in team ${teamId}`);
  return { source: { id: from.id, msId: owner.id, config: from.config }, secrets: from.secrets };
}
