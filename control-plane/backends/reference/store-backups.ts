/**
 * Backups and recovery of the reference backends against the team's
 * S3-compatible store (the default `Backups`).
 *
 * - PUT /backups/ID: the service's data set and its change log since the
 *   previous successful backup are cut at once (one read transaction, the
 *   backend's clock), answered 202, and uploaded as ONE object
 *   `prefix/TEAM/MS/ID.json` (./backup-format.ts) in the background. A PUT of
 *   an id already taken (in flight or uploaded) writes nothing; a PUT of one
 *   whose upload failed takes it afresh. The upload itself is conditional
 *   (If-None-Match), so the store never holds two versions of one backup.
 * - POST /backups/ID/status: `{exists: false}` while the upload is in flight;
 *   then what a HEAD of the object says: `{exists: true}`, or `{exists: false,
 *   error}` with why the upload failed or why the store cannot be asked.
 * - DELETE /backups/ID: 202, the object is deleted in the background (after
 *   an upload of it still in flight). Deleting what is not there is no error.
 * - Recovery (`recoverFrom` on create): a backup's data set, read back from
 *   the store; or a point in time, rebuilt from the backups of the source
 *   service and, past the newest one, its live change log when this backend
 *   still holds it.
 *
 * Backups of a service the backend no longer holds can still be asked about
 * and deleted (retention outlives the service); only PUT needs the service.
 * Nothing here logs or answers a credential: store failures carry messages
 * ./backup-store.ts writes, scrubbed of the request's secrets besides.
 */

import {
  type BackupObject,
  type BackupSummary,
  backupMetadata,
  backupObject,
  parseBackupObject,
  planRestore,
  replay,
  summaryFromMetadata,
  summaryOf,
} from "./backup-format";
import {
  BackupStore,
  BackupStoreError,
  backupKey,
  DEFAULT_STORE_TIMEOUT_MS,
  isKeySegment,
  objectUrl,
  type StoreSettings,
  scrub,
  serviceFolder,
  storeSettings,
  teamFolder,
} from "./backup-store";
import {
  type BackupAnswer,
  type BackupRequest,
  type Backups,
  RecoveryError,
  type RecoveryRequest,
} from "./backups";
import type { Values } from "./lifecycle";
import type { BackupRecord, ReferenceStore } from "./store";
import type { Tasks } from "./tasks";

export interface StoreBackupsOptions {
  store: ReferenceStore;
  tasks: Tasks;
  now: () => number;
  log: (rec: Record<string, unknown>) => void;
  /** Per request to the backup store; default `DEFAULT_STORE_TIMEOUT_MS`. */
  storeTimeoutMs?: number;
}

function fail(status: number, error: string): BackupAnswer {
  return { status, body: { error } };
}

const accepted: BackupAnswer = { status: 202 };

export class StoreBackups implements Backups {
  private readonly store: ReferenceStore;
  private readonly tasks: Tasks;
  private readonly now: () => number;
  private readonly log: (rec: Record<string, unknown>) => void;
  private readonly storeTimeoutMs: number;
  /** The newest background job per backup (`provider/id`), so a delete waits for its upload. */
  private readonly jobs = new Map<string, Promise<void>>();

  constructor(opts: StoreBackupsOptions) {
    this.store = opts.store;
    this.tasks = opts.tasks;
    this.now = opts.now;
    this.log = opts.log;
    this.storeTimeoutMs = opts.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  }

  private open(settings: StoreSettings): BackupStore {
    return new BackupStore(settings, this.storeTimeoutMs);
  }

  // ---------------------------------------------------------------- PUT

  async take(req: BackupRequest): Promise<BackupAnswer> {
    const settings = parseRequest(req);
    if ("status" in settings) return settings;
    const service = this.store.get(req.provider, req.msId);
    if (!service) return fail(404, `service ${req.msId} not found`);
    if (service.teamId !== req.teamId)
      return fail(400, `teamId does not match the team of service ${req.msId}`);
    if (service.recoveryToken) {
      return fail(
        409,
        `service ${req.msId} is still being recovered from a backup; back it up once it is ready`,
      );
    }
    const key = backupKey(settings.location, req.teamId, req.msId, req.backupId);
    const location = objectUrl(settings.location, key);
    const now = this.now();

    const cut = this.store.transaction((): BackupAnswer | { object: BackupObject; record: BackupRecord } => {
      const existing = this.store.backup(req.provider, req.backupId);
      if (existing && existing.serviceId !== req.msId) {
        return fail(409, `backup ${req.backupId} belongs to another service`);
      }
      // A failed or deleted backup may be taken afresh, anywhere; a live one stays where it is.
      const live = existing && existing.state !== "failed" && existing.state !== "deleted";
      if (live && existing.location !== location) {
        return fail(409, `backup ${req.backupId} was written to another location (${existing.location})`);
      }
      if (existing && (existing.state === "uploading" || existing.state === "uploaded")) return accepted;
      if (existing?.state === "deleting") {
        return fail(409, `backup ${req.backupId} is being deleted; take it again once it is gone`);
      }
      const snap = this.store.snapshot(
        req.provider,
        req.msId,
        this.store.archivedSeq(req.provider, req.msId),
      );
      const object = backupObject({
        provider: req.provider,
        teamId: req.teamId,
        msId: req.msId,
        backupId: req.backupId,
        takenAt: now,
        serviceCreatedAt: service.createdAt,
        seq: snap.seq,
        changeCount: snap.changeCount,
        ...(req.retentionDays === undefined ? {} : { retentionDays: req.retentionDays }),
        data: snap.data,
        changes: snap.changes,
      });
      const record: BackupRecord = {
        provider: req.provider,
        id: req.backupId,
        serviceId: req.msId,
        teamId: req.teamId,
        location,
        seq: snap.seq,
        changeCount: snap.changeCount,
        takenAt: now,
        state: "uploading",
        uploaded: false,
      };
      this.store.saveBackup(record, now);
      return { object, record };
    });
    if ("status" in cut) return cut;

    this.log({
      level: "info",
      msg: "backup started",
      provider: req.provider,
      msId: req.msId,
      backupId: req.backupId,
      location,
      seq: cut.record.seq,
      changes: cut.object.changes.length,
    });
    this.track(req, () => this.upload(req, settings, key, cut.object));
    return accepted;
  }

  private async upload(req: BackupRequest, settings: StoreSettings, key: string, object: BackupObject) {
    const store = this.open(settings);
    try {
      const body = JSON.stringify(object);
      const outcome = await store.putNew(key, body, backupMetadata(object));
      // An object already there (an earlier attempt whose answer was lost) is the backup.
      const summary =
        outcome === "exists" ? summaryFromMetadata(req.backupId, (await store.head(key)) ?? {}) : undefined;
      this.settle(req, (r) => ({
        ...r,
        uploaded: true,
        state: r.state === "uploading" ? "uploaded" : r.state,
        ...(summary ? { seq: summary.seq, changeCount: summary.changeCount } : {}),
        error: undefined,
      }));
      this.log({
        level: "info",
        msg: outcome === "written" ? "backup uploaded" : "backup already in the store",
        provider: req.provider,
        msId: req.msId,
        backupId: req.backupId,
        location: objectUrl(settings.location, key),
        bytes: Buffer.byteLength(body),
      });
    } catch (err) {
      const error = safeMessage(err, req);
      this.settle(req, (r) => ({ ...r, state: r.state === "uploading" ? "failed" : r.state, error }));
      this.log({
        level: "warn",
        msg: "backup failed",
        provider: req.provider,
        msId: req.msId,
        backupId: req.backupId,
        error,
      });
    } finally {
      store.close();
    }
  }

  // ---------------------------------------------------------------- status

  async status(req: BackupRequest): Promise<BackupAnswer> {
    const settings = parseRequest(req);
    if ("status" in settings) return settings;
    const record = this.store.backup(req.provider, req.backupId);
    if (record && record.serviceId !== req.msId) {
      return fail(409, `backup ${req.backupId} belongs to another service`);
    }
    if (record?.state === "uploading") return { status: 200, body: { exists: false } };

    const key = backupKey(settings.location, req.teamId, req.msId, req.backupId);
    const store = this.open(settings);
    let metadata: Record<string, string> | undefined;
    try {
      metadata = await store.head(key);
    } catch (err) {
      // A HEAD has no body to say why; the failed upload's own reason is the better one.
      const error = record?.state === "failed" && record.error ? record.error : safeMessage(err, req);
      return { status: 200, body: { exists: false, error } };
    } finally {
      store.close();
    }
    if (metadata) {
      if (record && !record.uploaded) {
        const summary = summaryFromMetadata(req.backupId, metadata);
        this.settle(req, (r) => ({
          ...r,
          uploaded: true,
          state: r.state === "failed" ? "uploaded" : r.state,
          ...(summary ? { seq: summary.seq, changeCount: summary.changeCount } : {}),
          error: undefined,
        }));
      }
      return { status: 200, body: { exists: true } };
    }
    if (!record) return fail(404, `backup ${req.backupId} of service ${req.msId} not found`);
    switch (record.state) {
      case "failed":
        return { status: 200, body: { exists: false, error: record.error ?? "the upload failed" } };
      case "uploaded":
        return {
          status: 200,
          body: {
            exists: false,
            error: `backup ${req.backupId} is no longer in the store (${record.location})`,
          },
        };
      default:
        return { status: 200, body: { exists: false } };
    }
  }

  // ---------------------------------------------------------------- DELETE

  async remove(req: BackupRequest): Promise<BackupAnswer> {
    const settings = parseRequest(req);
    if ("status" in settings) return settings;
    const record = this.store.backup(req.provider, req.backupId);
    if (record && record.serviceId !== req.msId) {
      return fail(409, `backup ${req.backupId} belongs to another service`);
    }
    if (record && record.state !== "deleted") this.settle(req, (r) => ({ ...r, state: "deleting" }));
    const key = backupKey(settings.location, req.teamId, req.msId, req.backupId);
    this.track(req, async () => {
      const store = this.open(settings);
      try {
        await store.delete(key);
        this.settle(req, (r) => ({ ...r, state: "deleted", error: undefined }));
        this.log({
          level: "info",
          msg: "backup deleted",
          provider: req.provider,
          msId: req.msId,
          backupId: req.backupId,
          location: objectUrl(settings.location, key),
        });
      } catch (err) {
        const error = `deleting the backup failed: ${safeMessage(err, req)}`;
        this.settle(req, (r) => ({ ...r, state: r.uploaded ? "uploaded" : "failed", error }));
        this.log({
          level: "warn",
          msg: "backup deletion failed",
          provider: req.provider,
          msId: req.msId,
          backupId: req.backupId,
          error,
        });
      } finally {
        store.close();
      }
    });
    return accepted;
  }

  // ---------------------------------------------------------------- recovery

  checkRecovery(req: RecoveryRequest): BackupAnswer | undefined {
    const settings = storeSettings(req.config, req.secrets);
    if ("problems" in settings) {
      return fail(422, settings.problems.map((p) => `recoverFrom.${p}`).join("; "));
    }
    const { source } = req;
    if (source.kind === "backup" && !isKeySegment(source.backupId)) {
      return fail(400, "recoverFrom.id must be letters, digits, '.', '_' or '-'");
    }
    if (source.msId !== undefined && !isKeySegment(source.msId)) {
      return fail(400, "recoverFrom.msId must be letters, digits, '.', '_' or '-'");
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
        err.message = scrub(err.message, secretValues(req));
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

  // ---------------------------------------------------------------- bookkeeping

  /** Runs `fn` after the backup's previous job, as a tracked background task. */
  private track(req: BackupRequest, fn: () => Promise<void>): void {
    const k = `${req.provider}/${req.backupId}`;
    const previous = this.jobs.get(k) ?? Promise.resolve();
    const job = this.tasks.run(async () => {
      await previous;
      await fn();
    });
    this.jobs.set(k, job);
    void job.then(() => {
      if (this.jobs.get(k) === job) this.jobs.delete(k);
    });
  }

  /** Updates the backup's record, if it still exists (the store may be closing). */
  private settle(req: BackupRequest, change: (r: BackupRecord) => BackupRecord): void {
    this.store.transaction(() => {
      const r = this.store.backup(req.provider, req.backupId);
      if (r) this.store.saveBackup(change(r), this.now());
    });
  }
}

/** The store settings of a backup call, or the answer refusing it. */
function parseRequest(req: BackupRequest): StoreSettings | BackupAnswer {
  if (!isKeySegment(req.backupId)) return fail(400, "the backup id must be letters, digits, '.', '_' or '-'");
  if (!isKeySegment(req.msId)) return fail(400, "msId must be letters, digits, '.', '_' or '-'");
  const settings = storeSettings(req.config, req.secrets);
  return "problems" in settings ? fail(422, settings.problems.join("; ")) : settings;
}

function secretValues(req: { secrets: Values }): unknown[] {
  return Object.values(req.secrets);
}

/** A failure's message fit to answer and log: ours, scrubbed of the request's secrets. */
function safeMessage(err: unknown, req: { secrets: Values }): string {
  const message =
    err instanceof BackupStoreError || err instanceof RecoveryError
      ? err.message
      : "internal error while talking to the backup store";
  return scrub(message, secretValues(req));
}
