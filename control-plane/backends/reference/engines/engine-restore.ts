/**
 * Recovery of an engine-backed service from the backups of real engines
 * (./backup-layout.ts): the manifest is found (by backup id, or for a point
 * in time the newest backup of the source service finished before it), its
 * parts and the WAL it needs are read back, and the new service's folder is
 * filled before its server first starts (./pg-backup.ts, ./redis-backup.ts).
 */
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { isKeySegment, objectUrl, serviceFolder, teamFolder } from "../backup-store";
import { RecoveryError, type RecoveryRequest } from "../backups";
import type { ReferenceStore } from "../store";
import { type EngineManifest, manifestKey, parseManifest, partKey, walFolder } from "./backup-layout";
import type { BlobStore } from "./blob-store";
import { findPostgres } from "./finder";
import type { EngineManager } from "./index";
import { giveTo, makeReachable } from "./os-user";
import { switchWal } from "./pg-backup";
import { type RecoveryTarget, restoreCluster } from "./pg-restore";
import { placeSnapshot } from "./redis-backup";
import type { WalShipper } from "./wal-shipper";

const gunzip = promisify(zlib.gunzip);
const SEGMENT = /^[0-9A-F]{24}$/;
const HISTORY = /^[0-9A-F]{8}\.history$/;

export interface RestoreDeps {
  store: ReferenceStore;
  engines: EngineManager;
  shipper: WalShipper;
  log: (rec: Record<string, unknown>) => void;
}

/** Fills the new (engine-backed) service's folder from the backup or point in time `req` asks for. */
export async function restoreEngine(
  deps: RestoreDeps,
  blobs: BlobStore,
  req: RecoveryRequest,
): Promise<void> {
  const place = deps.engines.place(req.provider, req.serviceId);
  if (!place) throw new RecoveryError(`service ${req.serviceId} runs no engine`);
  const source = req.source;
  let manifest: EngineManifest;
  let target: RecoveryTarget;
  if (source.kind === "backup") {
    manifest = await byId(deps, blobs, req, source.backupId, source.msId);
    target = { kind: "immediate" };
  } else {
    const owner = deps.store.get(req.provider, source.msId);
    if (owner && owner.teamId !== req.teamId)
      throw new RecoveryError(`service ${source.msId} belongs to another team`);
    await archiveUpTo(deps, req.provider, source.msId);
    manifest = await newestBefore(blobs, req, source.msId, source.time);
    target = { kind: "time", time: source.time };
  }
  const engine = place.kind.engine;
  if (engine !== "postgres" && engine !== "redis") {
    throw new RecoveryError(`${engine} servers have no backups to recover from`);
  }
  if (manifest.engine !== engine) {
    throw new RecoveryError(`backup ${manifest.backupId} is of a ${manifest.engine} server, not ${engine}`);
  }
  const loc = blobs.location;
  const partOf = async (name: string) => {
    const key = partKey(loc, manifest.teamId, manifest.msId, manifest.backupId, name);
    const body = await blobs.get(key);
    if (!body)
      throw new RecoveryError(`${objectUrl(loc, key)} is missing: backup ${manifest.backupId} is incomplete`);
    return body;
  };
  // The engine user must reach the folder (created by the backend, mode 0700) for the first run.
  giveTo(place.runAs, place.dir);
  makeReachable(place.runAs, path.dirname(place.dir));

  if (place.kind.engine === "redis") {
    placeSnapshot(place.dir, place.runAs, await partOf("dump.rdb"));
  } else {
    if (manifest.major !== place.kind.major) {
      throw new RecoveryError(
        `backup ${manifest.backupId} is of PostgreSQL ${manifest.major}; it cannot start PostgreSQL ${place.kind.major}`,
      );
    }
    const bin = findPostgres(place.kind.major);
    if (bin.kind !== "postgres")
      throw new RecoveryError(`PostgreSQL ${place.kind.major} is not installed here`);
    const info = manifest.postgres!;
    // A cold copy is consistent as it is: restored by id, it replays only the WAL it carries.
    if (info.cold && target.kind === "immediate") target = { kind: "end" };
    const wal =
      info.cold && target.kind === "end" ? new Map<string, Buffer>() : await readWal(blobs, manifest, target);
    const reached = await restoreCluster({
      dir: place.dir,
      runAs: place.runAs,
      binDir: bin.binDir,
      base: await partOf("base.tar.gz"),
      info,
      wal,
      target,
    }).catch((err: unknown) => {
      throw new RecoveryError(
        `PostgreSQL recovery failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    });
    if (target.kind === "time" && reached.kind === "end") {
      deps.log({
        level: "warn",
        msg: "the archived WAL ends before the requested time; recovered to its end",
        provider: req.provider,
        id: req.serviceId,
        time: new Date(target.time).toISOString(),
      });
    }
  }
  deps.log({
    level: "info",
    msg: "engine restored from a backup",
    provider: req.provider,
    id: req.serviceId,
    backupId: manifest.backupId,
    from: manifest.msId,
    ...(target.kind === "time" ? { time: new Date(target.time).toISOString() } : {}),
  });
}

async function readManifest(blobs: BlobStore, key: string): Promise<EngineManifest | undefined> {
  const body = await blobs.get(key);
  if (!body) return undefined;
  const m = parseManifest(body.toString("utf8"));
  if (typeof m === "string") throw new RecoveryError(`${objectUrl(blobs.location, key)} ${m}`);
  return m;
}

async function byId(
  deps: RestoreDeps,
  blobs: BlobStore,
  req: RecoveryRequest,
  backupId: string,
  msId: string | undefined,
): Promise<EngineManifest> {
  const loc = blobs.location;
  let key: string | undefined;
  if (msId !== undefined) key = manifestKey(loc, req.teamId, msId, backupId);
  else {
    const record = deps.store.backup(req.provider, backupId);
    if (record && record.teamId === req.teamId)
      key = manifestKey(loc, req.teamId, record.serviceId, backupId);
    else {
      const folder = teamFolder(loc, req.teamId);
      const suffix = `/${backupId}.json`;
      key = (await blobs.list(folder)).find(
        (k) => k.endsWith(suffix) && !k.slice(folder.length, -suffix.length).includes("/"),
      );
    }
  }
  const manifest = key ? await readManifest(blobs, key) : undefined;
  if (!manifest || manifest.backupId !== backupId || manifest.teamId !== req.teamId) {
    throw new RecoveryError(
      `backup ${backupId} is not in the store (looked in ${objectUrl(loc, msId ? serviceFolder(loc, req.teamId, msId) : teamFolder(loc, req.teamId))})`,
    );
  }
  return manifest;
}

/** When the source still runs here: its WAL up to now is switched out, archived and shipped first. */
async function archiveUpTo(deps: RestoreDeps, provider: string, msId: string): Promise<void> {
  const source = deps.engines.place(provider, msId);
  if (source?.kind.engine !== "postgres") return;
  if (source.live) {
    await switchWal({ dir: source.dir, port: source.port, major: source.kind.major }).catch(
      (err: unknown) => {
        throw new RecoveryError(
          `could not archive the WAL of service ${msId}: ${err instanceof Error ? err.message : String(err)}`,
        );
      },
    );
  }
  await deps.shipper.flush(source.dir);
}

async function newestBefore(
  blobs: BlobStore,
  req: RecoveryRequest,
  msId: string,
  time: number,
): Promise<EngineManifest> {
  const loc = blobs.location;
  const folder = serviceFolder(loc, req.teamId, msId);
  const keys = (await blobs.list(folder)).filter(
    (k) => k.endsWith(".json") && !k.slice(folder.length).includes("/"),
  );
  let best: EngineManifest | undefined;
  for (const key of keys) {
    const id = key.slice(folder.length, -".json".length);
    if (!isKeySegment(id)) continue;
    const m = await readManifest(blobs, key).catch(() => undefined);
    if (!m || m.msId !== msId || m.teamId !== req.teamId) continue;
    const finished = Date.parse(m.finishedAt);
    if (finished <= time && (!best || finished > Date.parse(best.finishedAt))) best = m;
  }
  if (!best) {
    throw new RecoveryError(
      `cannot recover service ${msId} to ${new Date(time).toISOString()}: no backup of it finished before then (${objectUrl(loc, folder)})`,
    );
  }
  return best;
}

/** The archived WAL a restore needs: the backup's own range, or for a point in time everything after its start. */
async function readWal(
  blobs: BlobStore,
  m: EngineManifest,
  target: RecoveryTarget,
): Promise<Map<string, Buffer>> {
  const info = m.postgres!;
  const folder = walFolder(blobs.location, m.teamId, m.msId);
  const out = new Map<string, Buffer>();
  for (const key of await blobs.list(folder)) {
    const name = key.slice(folder.length).replace(/\.gz$/, "");
    const wanted =
      (SEGMENT.test(name) &&
        name >= info.startWal &&
        (target.kind !== "immediate" || name <= info.stopWal)) ||
      (HISTORY.test(name) && target.kind !== "immediate");
    if (!wanted) continue;
    const body = await blobs.get(key);
    if (body) out.set(name, await gunzip(body));
  }
  for (let seg = info.startWal; !info.cold && seg <= info.stopWal; seg = nextSegment(seg)) {
    if (!out.has(seg)) {
      throw new RecoveryError(
        `WAL segment ${seg} of backup ${m.backupId} is not in the store (${objectUrl(blobs.location, folder)})`,
      );
    }
  }
  return out;
}

/** The segment after `name` on the same timeline (16 MB segments: 256 per log id). */
export function nextSegment(name: string): string {
  const tli = name.slice(0, 8);
  let log = Number.parseInt(name.slice(8, 16), 16);
  let seg = Number.parseInt(name.slice(16, 24), 16) + 1;
  if (seg > 0xff) {
    seg = 0;
    log += 1;
  }
  return `${tli}${log.toString(16).toUpperCase().padStart(8, "0")}${seg.toString(16).toUpperCase().padStart(8, "0")}`;
}
