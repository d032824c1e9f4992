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
 * - Recovery (`recoverFrom` on create) is ./store-recovery.ts's, handed the
 *   same store settings and client; this class only forwards to it.
 *
 * Backups of a service the backend no longer holds can still be asked about
 * and deleted (retention outlives the service); only PUT needs the service.
 * Nothing here logs or answers a credential: store failures carry messages
 * ./backup-store.ts writes, scrubbed of the request's secrets besides.
 */

import { type BackupObject, backupMetadata, backupObject, summaryFromMetadata } from "./backup-format";
import {
  BackupStore,
  BackupStoreError,
  backupKey,
  DEFAULT_STORE_TIMEOUT_MS,
  isKeySegment,
  objectUrl,
  type StoreSettings,
  scrub,
  storeSettings,
} from "./backup-store";
import {
  type BackupAnswer,
  type BackupRequest,
  type Backups,
  RecoveryError,
  type RecoveryRequest,
  refusal,
} from "./backups";
import type { Values } from "./operations";
import type { BackupRecord, ReferenceStore } from "./store";
import { StoreRecovery } from "./store-recovery";
import type { Tasks } from "./tasks";

export interface StoreBackupsOptions {
  store: ReferenceStore;
  tasks: Tasks;
  now: () => number;
  log: (rec: Record<string, unknown>) => void;
  /** Per request to the backup store; default `DEFAULT_STORE_TIMEOUT_MS`. */
  storeTimeoutMs?: number;
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
  private readonly recovery: StoreRecovery;

  constructor(opts: StoreBackupsOptions) {
    this.store = opts.store;
    this.tasks = opts.tasks;
    this.now = opts.now;
    this.log = opts.log;
    this.storeTimeoutMs = opts.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    this.recovery = new StoreRecovery({ store: this.store, log: this.log, open: (s) => this.open(s) });
  }

  private open(settings: StoreSettings): BackupStore {
    return new BackupStore(settings, this.storeTimeoutMs);
  }

  // ---------------------------------------------------------------- PUT

  async take(req: BackupRequest): Promise<BackupAnswer> {
    const settings = parseRequest(req);
    if ("status" in settings) return settings;
    const service = this.store.get(req.provider, req.msId);
    if (!service) return refusal(404, `service ${req.msId} not found`);
    if (service.teamId !== req.teamId)
      return refusal(400, `teamId does not match the team of service ${req.msId}`);
    if (service.recoveryToken) {
      return refusal(
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
        return refusal(409, `backup ${req.backupId} belongs to another service`);
      }
      // A failed or deleted backup may be taken afresh, anywhere; a live one stays where it is.
      const live = existing && existing.state !== "failed" && existing.state !== "deleted";
      if (live && existing.location !== location) {
        return refusal(409, `backup ${req.backupId} was written to another location (${existing.location})`);
      }
      if (existing && (existing.state === "uploading" || existing.state === "uploaded")) return accepted;
      if (existing?.state === "deleting") {
        return refusal(409, `backup ${req.backupId} is being deleted; take it again once it is gone`);
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
      return refusal(409, `backup ${req.backupId} belongs to another service`);
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
    if (!record) return refusal(404, `backup ${req.backupId} of service ${req.msId} not found`);
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
      return refusal(409, `backup ${req.backupId} belongs to another service`);
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
    return this.recovery.checkRecovery(req);
  }

  recover(req: RecoveryRequest): Promise<Record<string, unknown>> {
    return this.recovery.recover(req);
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
  if (!isKeySegment(req.backupId))
    return refusal(400, "the backup id must be letters, digits, '.', '_' or '-'");
  if (!isKeySegment(req.msId)) return refusal(400, "msId must be letters, digits, '.', '_' or '-'");
  const settings = storeSettings(req.config, req.secrets);
  return "problems" in settings ? refusal(422, settings.problems.join("; ")) : settings;
}

/** A failure's message fit to answer and log: ours, scrubbed of the request's secrets. */
function safeMessage(err: unknown, req: { secrets: Values }): string {
  const message =
    err instanceof BackupStoreError || err instanceof RecoveryError
      ? err.message
      : "internal error while talking to the backup store";
  return scrub(message, Object.values(req.secrets));
}
