/**
 * Recovery of the reference backends from the team's S3-compatible store:
 * `recoverFrom` on create. Split from ./store-backups.ts because taking
 * backups and reading them back share only the store and its layout; here a
 * backup's data set is read back by id, or a point in time is rebuilt from
 * the source service's backups and, past the newest one, its live change log
 * when this backend still holds it.
 *
 * Nothing here logs or answers a credential: failures carry messages
 * ./backup-store.ts and ./backup-format.ts write, scrubbed of the request's
 * secrets besides.
 */

import {
  type BackupObject,
  type BackupSummary,
  parseBackupObject,
  planRestore,
  replay,
  summaryFromMetadata,
  summaryOf,
} from "./backup-format";
import {
  type BackupStore,
  BackupStoreError,
  backupKey,
  isKeySegment,
  objectUrl,
  type StoreSettings,
  scrub,
  serviceFolder,
  storeSettings,
  teamFolder,
} from "./backup-store";
import { type BackupAnswer, RecoveryError, type RecoveryRequest, refusal } from "./backups";
import type { ReferenceStore } from "./store";

export interface StoreRecoveryOptions {
  store: ReferenceStore;
  log: (rec: Record<string, unknown>) => void;
  /** Opens a client of the backup store (the caller owns its timeout). */
  open: (settings: StoreSettings) => BackupStore;
}

export class StoreRecovery {
  private readonly store: ReferenceStore;
  private readonly log: (rec: Record<string, unknown>) => void;
  private readonly open: (settings: StoreSettings) => BackupStore;

  constructor(opts: StoreRecoveryOptions) {
    this.store = opts.store;
    this.log = opts.log;
    this.open = opts.open;
  }

  checkRecovery(req: RecoveryRequest): BackupAnswer | undefined {
    const settings = storeSettings(req.config, req.secrets);
    if ("problems" in settings) {
      return refusal(422, settings.problems.map((p) => `recoverFrom.${p}`).join("; "));
    }
    const { source } = req;
    if (source.kind === "backup" && !isKeySegment(source.backupId)) {
      return refusal(400, "recoverFrom.id must be letters, digits, '.', '_' or '-'");
    }
    if (source.msId !== undefined && !isKeySegment(source.msId)) {
      return refusal(400, "recoverFrom.msId must be letters, digits, '.', '_' or '-'");
    }
    return undefined;
  }

  async recover(req: RecoveryRequest): Promise<Record<string, unknown>> {
    const settings = storeSettings(req.config, req.secrets);
    if ("problems" in settings) throw new RecoveryError(settings.problems.join("; "));
    const store = this.open(settings);
    try {
      return req.source.kind === "backup"
        ? await this.fromBackup(store, req, req.source.backupId, req.source.msId)
        : await this.toTime(store, req, req.source.msId, req.source.time);
    } catch (err) {
      if (err instanceof RecoveryError || err instanceof BackupStoreError) {
        err.message = scrub(err.message, Object.values(req.secrets));
      }
      throw err;
    } finally {
      store.close();
    }
  }

  private async fromBackup(
    store: BackupStore,
    req: RecoveryRequest,
    backupId: string,
    msId: string | undefined,
  ): Promise<Record<string, unknown>> {
    const key = await this.findBackup(store, req, backupId, msId);
    const text = key === undefined ? undefined : await store.get(key);
    if (key === undefined || text === undefined) {
      const folder =
        msId === undefined
          ? teamFolder(store.location, req.teamId)
          : serviceFolder(store.location, req.teamId, msId);
      throw new RecoveryError(
        `backup ${backupId} is not in the store (looked in ${objectUrl(store.location, folder)})`,
      );
    }
    const object = this.readObject(store, key, text, req);
    if (object.backupId !== backupId) {
      throw new RecoveryError(
        `${objectUrl(store.location, key)} holds backup ${object.backupId}, not ${backupId}`,
      );
    }
    return object.data;
  }

  /** The key of backup `backupId` in the new service's team: named, remembered, or found by listing. */
  private async findBackup(
    store: BackupStore,
    req: RecoveryRequest,
    backupId: string,
    msId: string | undefined,
  ): Promise<string | undefined> {
    if (msId !== undefined) return backupKey(store.location, req.teamId, msId, backupId);
    const record = this.store.backup(req.provider, backupId);
    if (record && record.teamId === req.teamId) {
      return backupKey(store.location, record.teamId, record.serviceId, backupId);
    }
    const folder = teamFolder(store.location, req.teamId);
    const suffix = `/${backupId}.json`;
    return (await store.list(folder)).find(
      (k) => k.endsWith(suffix) && !k.slice(folder.length, -suffix.length).includes("/"),
    );
  }

  private async toTime(
    store: BackupStore,
    req: RecoveryRequest,
    msId: string,
    time: number,
  ): Promise<Record<string, unknown>> {
    const when = new Date(time).toISOString();
    const source = this.store.get(req.provider, msId);
    if (source && source.teamId !== req.teamId)
      throw new RecoveryError(`service ${msId} belongs to another team`);
    const folder = serviceFolder(store.location, req.teamId, msId);
    const keys = (await store.list(folder)).filter(
      (k) => k.endsWith(".json") && !k.slice(folder.length).includes("/"),
    );

    // Choose by metadata (HEAD); read an object only when it lacks it, or when replay needs it.
    const objects = new Map<string, BackupObject>();
    const keyOf = new Map<string, string>();
    const summaries: BackupSummary[] = [];
    for (const key of keys) {
      const backupId = key.slice(folder.length, -".json".length);
      keyOf.set(backupId, key);
      const metadata = await store.head(key);
      if (!metadata) continue; // deleted since the listing
      let summary = summaryFromMetadata(backupId, metadata);
      if (!summary) {
        const text = await store.get(key);
        if (text === undefined) continue;
        const object = this.readObject(store, key, text, req);
        objects.set(backupId, object);
        summary = summaryOf(object);
      }
      summaries.push(summary);
    }
    const plan = planRestore(summaries, time);
    if ("problem" in plan) {
      throw new RecoveryError(
        `cannot recover service ${msId} to ${when}: ${plan.problem} (${objectUrl(store.location, folder)})`,
      );
    }
    const load = async (backupId: string): Promise<BackupObject> => {
      const cached = objects.get(backupId);
      if (cached) return cached;
      const key = keyOf.get(backupId)!;
      const text = await store.get(key);
      if (text === undefined) {
        throw new RecoveryError(
          `cannot recover service ${msId} to ${when}: backup ${backupId} disappeared from the store`,
        );
      }
      const object = this.readObject(store, key, text, req);
      if (object.msId !== msId)
        throw new RecoveryError(`${objectUrl(store.location, key)} is a backup of another service`);
      return object;
    };
    const base = plan.base.kind === "backup" ? await load(plan.base.summary.backupId) : undefined;
    const later: BackupObject[] = [];
    for (const s of plan.later) later.push(await load(s.backupId));
    const archivedTo = Math.max(base?.seq ?? 0, ...later.map((o) => o.seq));
    const live =
      !plan.coveredByArchive && source ? this.store.dataChanges(req.provider, msId, archivedTo) : undefined;
    const result = replay(base, later, live, time);
    if ("problem" in result)
      throw new RecoveryError(`cannot recover service ${msId} to ${when}: ${result.problem}`);
    this.log({
      level: "info",
      msg: "point in time rebuilt",
      provider: req.provider,
      msId,
      time: when,
      base: plan.base.kind === "backup" ? plan.base.summary.backupId : "service creation",
      backups: later.length,
      liveLog: live !== undefined,
    });
    return result.data;
  }

  private readObject(store: BackupStore, key: string, text: string, req: RecoveryRequest): BackupObject {
    const object = parseBackupObject(text);
    const where = objectUrl(store.location, key);
    if (typeof object === "string") throw new RecoveryError(`${where} is not a backup: it ${object}`);
    if (object.provider !== req.provider) {
      throw new RecoveryError(`${where} is a backup of a ${object.provider} service, not ${req.provider}`);
    }
    if (object.teamId !== req.teamId)
      throw new RecoveryError(`${where} is a backup of another team's service`);
    return object;
  }
}
