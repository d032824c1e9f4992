/**
 * The backup object the reference backends write, and how a data set is
 * rebuilt from backup objects for recovery (pure functions, no I/O).
 *
 * One object per backup, JSON, at `prefix/TEAM/MS/BACKUP_ID.json`:
 *
 *   {
 *     "format": "landform-reference-backup", "version": 1,
 *     "provider": "postgres", "teamId": 7, "msId": "...", "backupId": "...",
 *     "takenAt": "2026-01-02T03:04:05.678Z",       // the backend's clock
 *     "serviceCreatedAt": "2026-01-01T00:00:00.000Z",
 *     "seq": 42,           // the last change-log entry `data` includes (0: none)
 *     "changeCount": 9,    // how many entries the service's log has up to `seq`
 *     "retentionDays": 7,  // when the control plane sent it
 *     "data": {"k": 1},    // the full data set at `seq`
 *     "changes": [         // the archived log: entries after the previous backup, up to `seq`
 *       {"seq": 40, "at": "...", "key": "k", "value": 1},
 *       {"seq": 41, "at": "...", "key": "j", "deleted": true}
 *     ]
 *   }
 *
 * `changes` is contiguous: it holds every entry of the service's log after the
 * position the previous successful backup covered, so `changeCount -
 * changes.length` entries came before it. Consecutive backups may overlap;
 * they never leave a gap, unless a backup in the middle is deleted, which the
 * counts reveal. The same numbers ride along as object metadata (`x-amz-meta-
 * landform-*`) so recovery can pick backups with HEAD before it reads any.
 *
 * Point in time T: start from the newest backup taken at or before T (or,
 * when the oldest backup's archived log reaches back to the service's first
 * change, from the empty data set at the service's creation), then apply the
 * archived entries of the later backups, then the live log, in log order, up
 * to the first entry after T. Entry times are the backend's clock (ms).
 */
import type { DataChange } from "./store";

export const BACKUP_FORMAT = "landform-reference-backup";
export const BACKUP_FORMAT_VERSION = 1;

export interface ArchivedChange {
  seq: number;
  /** ISO 8601, ms precision. */
  at: string;
  key: string;
  value?: unknown;
  deleted?: true;
}

export interface BackupObject {
  format: typeof BACKUP_FORMAT;
  version: typeof BACKUP_FORMAT_VERSION;
  provider: string;
  teamId: number;
  msId: string;
  backupId: string;
  takenAt: string;
  serviceCreatedAt: string;
  seq: number;
  changeCount: number;
  retentionDays?: number;
  data: Record<string, unknown>;
  changes: ArchivedChange[];
}

/** What recovery needs to choose backups; read from object metadata or the object itself. */
export interface BackupSummary {
  backupId: string;
  takenAt: number;
  serviceCreatedAt: number;
  seq: number;
  changeCount: number;
  /** Entries of the log before the archived ones: `changeCount - changes.length`. */
  archivedFrom: number;
}

export interface BackupInput {
  provider: string;
  teamId: number;
  msId: string;
  backupId: string;
  takenAt: number;
  serviceCreatedAt: number;
  seq: number;
  changeCount: number;
  retentionDays?: number;
  data: Record<string, unknown>;
  changes: DataChange[];
}

export function backupObject(b: BackupInput): BackupObject {
  return {
    format: BACKUP_FORMAT,
    version: BACKUP_FORMAT_VERSION,
    provider: b.provider,
    teamId: b.teamId,
    msId: b.msId,
    backupId: b.backupId,
    takenAt: iso(b.takenAt),
    serviceCreatedAt: iso(b.serviceCreatedAt),
    seq: b.seq,
    changeCount: b.changeCount,
    ...(b.retentionDays === undefined ? {} : { retentionDays: b.retentionDays }),
    data: b.data,
    changes: b.changes.map((c) => ({
      seq: c.seq,
      at: iso(c.at),
      key: c.key,
      ...(c.deleted ? { deleted: true as const } : { value: c.value }),
    })),
  };
}

const META = {
  format: "landform-format",
  takenAt: "landform-taken-at",
  createdAt: "landform-service-created-at",
  seq: "landform-seq",
  changeCount: "landform-change-count",
  archivedFrom: "landform-archived-from",
} as const;

/** S3 user metadata (lower-case keys) repeating what recovery chooses backups by. */
export function backupMetadata(o: BackupObject): Record<string, string> {
  return {
    [META.format]: `${BACKUP_FORMAT}/${BACKUP_FORMAT_VERSION}`,
    [META.takenAt]: o.takenAt,
    [META.createdAt]: o.serviceCreatedAt,
    [META.seq]: String(o.seq),
    [META.changeCount]: String(o.changeCount),
    [META.archivedFrom]: String(o.changeCount - o.changes.length),
  };
}

/** The summary in an object's metadata; undefined if it lacks any of it. */
export function summaryFromMetadata(
  backupId: string,
  meta: Record<string, string>,
): BackupSummary | undefined {
  if (meta[META.format] !== `${BACKUP_FORMAT}/${BACKUP_FORMAT_VERSION}`) return undefined;
  const takenAt = Date.parse(meta[META.takenAt] ?? "");
  const serviceCreatedAt = Date.parse(meta[META.createdAt] ?? "");
  const seq = Number(meta[META.seq]);
  const changeCount = Number(meta[META.changeCount]);
  const archivedFrom = Number(meta[META.archivedFrom]);
  const ints = [seq, changeCount, archivedFrom].every((n) => Number.isSafeInteger(n) && n >= 0);
  if (!ints || !Number.isFinite(takenAt) || !Number.isFinite(serviceCreatedAt)) return undefined;
  return { backupId, takenAt, serviceCreatedAt, seq, changeCount, archivedFrom };
}

export function summaryOf(o: BackupObject): BackupSummary {
  return {
    backupId: o.backupId,
    takenAt: Date.parse(o.takenAt),
    serviceCreatedAt: Date.parse(o.serviceCreatedAt),
    seq: o.seq,
    changeCount: o.changeCount,
    archivedFrom: o.changeCount - o.changes.length,
  };
}

/** Parses and checks a backup object; a problem (naming what is wrong) when it is not one. */
export function parseBackupObject(text: string): BackupObject | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return "is not JSON";
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return "is not a JSON object";
  const o = v as Record<string, unknown>;
  if (o.format !== BACKUP_FORMAT) return `is not a ${BACKUP_FORMAT} object`;
  if (o.version !== BACKUP_FORMAT_VERSION)
    return `has format version ${String(o.version)}, not ${BACKUP_FORMAT_VERSION}`;
  for (const f of ["provider", "msId", "backupId"]) if (typeof o[f] !== "string") return `lacks ${f}`;
  for (const f of ["teamId", "seq", "changeCount"]) {
    if (!Number.isSafeInteger(o[f]) || (o[f] as number) < 0) return `lacks ${f}`;
  }
  for (const f of ["takenAt", "serviceCreatedAt"]) {
    if (typeof o[f] !== "string" || !Number.isFinite(Date.parse(o[f] as string))) return `lacks ${f}`;
  }
  if (o.data === null || typeof o.data !== "object" || Array.isArray(o.data)) return "lacks data";
  if (!Array.isArray(o.changes)) return "lacks changes";
  let last = -1;
  for (const c of o.changes as unknown[]) {
    const e = c as Record<string, unknown> | null;
    if (
      !e ||
      !Number.isSafeInteger(e.seq) ||
      typeof e.key !== "string" ||
      typeof e.at !== "string" ||
      !Number.isFinite(Date.parse(e.at)) ||
      (e.deleted !== true && !("value" in e))
    ) {
      return "has a malformed change-log entry";
    }
    if ((e.seq as number) <= last || (e.seq as number) > (o.seq as number))
      return "has change-log entries out of order";
    last = e.seq as number;
  }
  if ((o.changes as unknown[]).length > (o.changeCount as number))
    return "has more changes than its changeCount";
  return o as unknown as BackupObject;
}

// ---------------------------------------------------------------- recovery to a point in time

/** Where replay starts: a backup, or the empty data set at the service's creation. */
export type RestoreBase = { kind: "backup"; summary: BackupSummary } | { kind: "empty"; createdAt: number };

export interface RestorePlan {
  base: RestoreBase;
  /** The backups after the base whose archived logs are replayed, oldest first. */
  later: BackupSummary[];
  /** True when the archived logs reach past `time`, so the live log is not needed. */
  coveredByArchive: boolean;
}

function bySeq(a: BackupSummary, b: BackupSummary): number {
  return a.seq - b.seq || a.takenAt - b.takenAt;
}

/**
 * Chooses the backups that rebuild the data set as of `time`. A problem when
 * `time` is before the oldest moment the backups can restore.
 */
export function planRestore(summaries: BackupSummary[], time: number): RestorePlan | { problem: string } {
  const sorted = [...summaries].sort(bySeq);
  let baseIndex = -1;
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i]!.takenAt <= time && (baseIndex < 0 || sorted[i]!.takenAt >= sorted[baseIndex]!.takenAt)) {
      baseIndex = i;
    }
  }
  let base: RestoreBase;
  let rest: BackupSummary[];
  if (baseIndex >= 0) {
    base = { kind: "backup", summary: sorted[baseIndex]! };
    rest = sorted.slice(baseIndex + 1);
  } else {
    const oldest = sorted[0];
    if (!oldest) return { problem: "the store holds no backups of it" };
    // The oldest backup's archived log starts at the service's first change: replay from empty.
    if (oldest.archivedFrom === 0 && oldest.serviceCreatedAt <= time) {
      base = { kind: "empty", createdAt: oldest.serviceCreatedAt };
      rest = sorted;
    } else {
      const earliest = oldest.archivedFrom === 0 ? oldest.serviceCreatedAt : oldest.takenAt;
      return { problem: `the oldest moment its backups can restore is ${iso(earliest)}` };
    }
  }
  // Archived entries up to `time` are in the backups up to the first one taken after it.
  const later: BackupSummary[] = [];
  let coveredByArchive = false;
  for (const s of rest) {
    later.push(s);
    if (s.takenAt > time) {
      coveredByArchive = true;
      break;
    }
  }
  return { base, later, coveredByArchive };
}

/**
 * Rebuilds the data set as of `time` from the chosen backup objects (base
 * first, if it is a backup, then the later ones) and, when given, the live
 * change log of the source service. A problem when the archived log has a
 * gap (a backup in the middle was deleted) that the moment lies beyond.
 */
export function replay(
  base: BackupObject | undefined,
  later: BackupObject[],
  live: DataChange[] | undefined,
  time: number,
): { data: Record<string, unknown> } | { problem: string } {
  const data: Record<string, unknown> = base ? structuredClone(base.data) : {};
  let seq = base?.seq ?? 0;
  let count = base?.changeCount ?? 0;
  // The data set is known exactly up to this moment: entries not yet applied came after it.
  let knownUntil = base ? Date.parse(base.takenAt) : Number.NEGATIVE_INFINITY;
  let lastBackup = base ? `backup ${base.backupId}` : "the service's creation";
  const apply = (e: {
    seq: number;
    atMs: number;
    key: string;
    value?: unknown;
    deleted: boolean;
  }): boolean => {
    if (e.seq <= seq) return true; // already in the data set (backups overlap)
    if (e.atMs > time) return false;
    if (e.deleted) delete data[e.key];
    else data[e.key] = structuredClone(e.value);
    seq = e.seq;
    count += 1;
    return true;
  };
  for (const b of later) {
    const archivedFrom = b.changeCount - b.changes.length;
    if (archivedFrom > count) {
      if (time <= knownUntil) return { data };
      return {
        problem:
          `the archived change log between ${lastBackup} and backup ${b.backupId} is incomplete ` +
          "(a backup in between was deleted)",
      };
    }
    // Entries before `count` are already applied; the rest continue the log.
    for (const c of b.changes.slice(Math.max(0, count - archivedFrom))) {
      const atMs = Date.parse(c.at);
      if (!apply({ seq: c.seq, atMs, key: c.key, value: c.value, deleted: c.deleted === true }))
        return { data };
    }
    const takenAt = Date.parse(b.takenAt);
    if (takenAt > time) return { data };
    seq = Math.max(seq, b.seq);
    knownUntil = takenAt;
    lastBackup = `backup ${b.backupId}`;
  }
  for (const c of live ?? []) {
    if (!apply({ seq: c.seq, atMs: c.at, key: c.key, value: c.value, deleted: c.deleted })) break;
  }
  return { data };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
