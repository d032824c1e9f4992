/**
 * Backups of engine-backed services (real PostgreSQL and Redis servers) and
 * recovery into them; every other service is handed to the backups of
 * simulated data sets (`inner`, ../store-backups.ts). Same contract, same
 * records, same manifest key, so status works alike for both.
 *
 * - PUT: PostgreSQL takes a base backup (./pg-backup.ts) and its WAL is
 *   shipped continuously from then on (./wal-shipper.ts); Redis takes an
 *   RDB snapshot (./redis-backup.ts). The parts are uploaded first, the
 *   manifest last, so a manifest in the store is a complete backup.
 * - DELETE: the manifest (by `inner`) and the backup's parts.
 * - recoverFrom on create: the new service's folder is filled from the
 *   backup before its server first starts (./engine-restore.ts).
 */
import fs from "node:fs";
import path from "node:path";
import { BackupStoreError, objectUrl, scrub, serviceFolder, storeSettings } from "../backup-store";
import type { BackupAnswer, BackupRequest, Backups, RecoveryRequest } from "../backups";
import { RecoveryError } from "../backups";
import type { BackupRecord, ReferenceStore } from "../store";
import type { Tasks } from "../tasks";
import {
  ENGINE_BACKUP_FORMAT,
  type EngineManifest,
  manifestKey,
  partKey,
  writeTarget,
} from "./backup-layout";
import { BlobStore } from "./blob-store";
import { restoreEngine } from "./engine-restore";
import type { EngineManager } from "./index";
import { type PgBackupInfo, takeBaseBackup, takeColdCopy } from "./pg-backup";
import { stopRecoveries } from "./pg-restore";
import { readDump, takeSnapshot } from "./redis-backup";
import { pruneWal } from "./wal-retention";
import { WalShipper } from "./wal-shipper";

type EnginePlace = NonNullable<ReturnType<EngineManager["place"]>>;

export interface EngineBackupsOptions {
  inner: Backups;
  store: ReferenceStore;
  tasks: Tasks;
  engines: EngineManager;
  now: () => number;
  log: (rec: Record<string, unknown>) => void;
}

const accepted: BackupAnswer = { status: 202 };
const fail = (status: number, error: string): BackupAnswer => ({ status, body: { error } });

export class EngineBackups implements Backups {
  readonly shipper: WalShipper;

  constructor(private readonly o: EngineBackupsOptions) {
    this.shipper = new WalShipper(o.engines.enginesRoot, o.log);
    this.shipper.start();
  }

  async close(): Promise<void> {
    await stopRecoveries();
    await this.shipper.close();
  }

  async take(req: BackupRequest): Promise<BackupAnswer> {
    const found = this.o.engines.place(req.provider, req.msId);
    if (!found) return this.o.inner.take(req);
    const kind = found.kind;
    // Only PostgreSQL and Redis servers are backed up here; other engines (s3 buckets, ...) have none.
    if (kind.engine !== "postgres" && kind.engine !== "redis") {
      return fail(501, `provider ${req.provider} has no backups of its ${kind.engine} servers`);
    }
    const place = { ...found, kind };
    const service = this.o.store.get(req.provider, req.msId);
    if (!service) return fail(404, `service ${req.msId} not found`);
    if (service.teamId !== req.teamId)
      return fail(400, `teamId does not match the team of service ${req.msId}`);
    const settings = storeSettings(req.config, req.secrets);
    if ("problems" in settings) return fail(422, settings.problems.join("; "));
    const location = objectUrl(
      settings.location,
      manifestKey(settings.location, req.teamId, req.msId, req.backupId),
    );
    const existing = this.o.store.backup(req.provider, req.backupId);
    if (existing && existing.serviceId !== req.msId)
      return fail(409, `backup ${req.backupId} belongs to another service`);
    if (existing && (existing.state === "uploading" || existing.state === "uploaded")) return accepted;
    if (existing?.state === "deleting") {
      return fail(409, `backup ${req.backupId} is being deleted; take it again once it is gone`);
    }
    // A paused server is copied as it lies (the final backup before a delete must not need it running).
    const cold = !place.live && this.o.engines.status(req.provider, req.msId)?.spec?.pause === true;
    if (!place.live && !cold) {
      return fail(409, `service ${req.msId} has no running server to back up yet (starting or restoring)`);
    }
    const now = this.o.now();
    const record: BackupRecord = {
      provider: req.provider,
      id: req.backupId,
      serviceId: req.msId,
      teamId: req.teamId,
      location,
      seq: 0,
      changeCount: 0,
      takenAt: now,
      state: "uploading",
      uploaded: false,
    };
    this.o.store.saveBackup(record, now);
    // From here on the service's WAL goes to this store (before the copy starts, so none it needs is dropped).
    if (place.kind.engine === "postgres")
      writeTarget(place.dir, {
        teamId: req.teamId,
        msId: req.msId,
        config: req.config,
        secrets: req.secrets,
      });
    this.o.log({
      level: "info",
      msg: "backup started",
      provider: req.provider,
      msId: req.msId,
      backupId: req.backupId,
      location,
    });
    void this.o.tasks.run(async () => {
      const blobs = new BlobStore(settings);
      try {
        const manifest = await this.upload(req, place, blobs, now, cold);
        const key = manifestKey(settings.location, req.teamId, req.msId, req.backupId);
        await blobs.put(key, JSON.stringify(manifest), {
          onlyNew: true,
          contentType: "application/json",
          metadata: { format: ENGINE_BACKUP_FORMAT, engine: manifest.engine },
        });
        this.settle(req, (r) => ({
          ...r,
          uploaded: true,
          state: r.state === "uploading" ? "uploaded" : r.state,
          error: undefined,
        }));
        this.o.log({
          level: "info",
          msg: "backup uploaded",
          provider: req.provider,
          msId: req.msId,
          backupId: req.backupId,
          location,
          bytes: manifest.parts.reduce((n, p) => n + p.bytes, 0),
        });
      } catch (err) {
        const error = safe(err, req);
        this.settle(req, (r) => ({ ...r, state: r.state === "uploading" ? "failed" : r.state, error }));
        this.o.log({
          level: "warn",
          msg: "backup failed",
          provider: req.provider,
          msId: req.msId,
          backupId: req.backupId,
          error,
        });
      } finally {
        blobs.close();
      }
    });
    return accepted;
  }

  private async upload(
    req: BackupRequest,
    place: EnginePlace & { kind: { engine: "postgres"; major: number } | { engine: "redis" } },
    blobs: BlobStore,
    startedAt: number,
    cold: boolean,
  ): Promise<EngineManifest> {
    const loc = blobs.location;
    const parts: EngineManifest["parts"] = [];
    let postgres: PgBackupInfo | undefined;
    if (place.kind.engine === "postgres") {
      const tmp = path.join(place.dir, `backup-${req.backupId}.tar.gz`);
      try {
        postgres = cold
          ? await takeColdCopy(place.dir, tmp)
          : await takeBaseBackup(
              { dir: place.dir, port: place.port, major: place.kind.major },
              `landform ${req.backupId}`,
              tmp,
            );
        const body = fs.readFileSync(tmp);
        await blobs.put(partKey(loc, req.teamId, req.msId, req.backupId, "base.tar.gz"), body);
        parts.push({ name: "base.tar.gz", bytes: body.length });
      } finally {
        fs.rmSync(tmp, { force: true });
      }
      // The WAL up to the copy's end must be in the store before the backup counts as taken.
      await this.shipper.flush(place.dir);
    } else {
      // Redis writes a snapshot when it shuts down (save points are set): a paused server's is current.
      const body = cold ? readDump(place.dir) : await takeSnapshot(place.dir, place.port);
      await blobs.put(partKey(loc, req.teamId, req.msId, req.backupId, "dump.rdb"), body);
      parts.push({ name: "dump.rdb", bytes: body.length });
    }
    const status = this.o.engines.status(req.provider, req.msId);
    return {
      format: ENGINE_BACKUP_FORMAT,
      version: 1,
      engine: place.kind.engine,
      ...(place.kind.engine === "postgres" ? { major: place.kind.major } : {}),
      ...(status?.serverVersion ? { serverVersion: status.serverVersion } : {}),
      provider: req.provider,
      teamId: req.teamId,
      msId: req.msId,
      backupId: req.backupId,
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date(this.o.now()).toISOString(),
      parts,
      ...(postgres ? { postgres } : {}),
    };
  }

  status(req: BackupRequest): Promise<BackupAnswer> {
    return this.o.inner.status(req);
  }

  async remove(req: BackupRequest): Promise<BackupAnswer> {
    const answer = await this.o.inner.remove(req);
    if (answer.status !== 202) return answer;
    const settings = storeSettings(req.config, req.secrets);
    if ("problems" in settings) return answer;
    // The parts of an engine backup (none for a simulated one): a listing, so this needs no record.
    void this.o.tasks.run(async () => {
      const blobs = new BlobStore(settings);
      const folder = `${serviceFolder(settings.location, req.teamId, req.msId)}${req.backupId}/`;
      try {
        const parts = await blobs.list(folder);
        // No parts: a simulated data set's backup, which has no WAL either.
        if (parts.length === 0) return;
        for (const key of parts) await blobs.delete(key);
        const gone = !this.o.store.get(req.provider, req.msId);
        const pruned = await pruneWal(blobs, req.teamId, req.msId, req.backupId, gone);
        if (pruned > 0) {
          this.o.log({
            level: "info",
            msg: "archived WAL no backup needs was deleted",
            msId: req.msId,
            segments: pruned,
          });
        }
      } catch (err) {
        this.o.log({
          level: "warn",
          msg: "deleting a backup's parts failed",
          msId: req.msId,
          backupId: req.backupId,
          error: safe(err, req),
        });
      } finally {
        blobs.close();
      }
    });
    return answer;
  }

  checkRecovery(req: RecoveryRequest): BackupAnswer | undefined {
    return this.o.inner.checkRecovery(req);
  }

  async recover(req: RecoveryRequest): Promise<Record<string, unknown>> {
    if (!this.o.engines.backed(req.provider, req.serviceId)) return this.o.inner.recover(req);
    const settings = storeSettings(req.config, req.secrets);
    if ("problems" in settings) throw new RecoveryError(settings.problems.join("; "));
    const blobs = new BlobStore(settings);
    try {
      await restoreEngine(
        { store: this.o.store, engines: this.o.engines, shipper: this.shipper, log: this.o.log },
        blobs,
        req,
      );
      // The data is the server's; the simulated data set stays empty.
      return {};
    } catch (err) {
      if (err instanceof RecoveryError || err instanceof BackupStoreError)
        err.message = scrub(err.message, Object.values(req.secrets));
      throw err;
    } finally {
      blobs.close();
    }
  }

  private settle(req: BackupRequest, change: (r: BackupRecord) => BackupRecord): void {
    this.o.store.transaction(() => {
      const r = this.o.store.backup(req.provider, req.backupId);
      if (r) this.o.store.saveBackup(change(r), this.o.now());
    });
  }
}

/** A failure's message fit to answer and log: scrubbed of the request's secrets. */
function safe(err: unknown, req: { secrets: Record<string, unknown> }): string {
  const message = err instanceof Error ? err.message : "internal error while taking the backup";
  return scrub(message, Object.values(req.secrets));
}
