import { describe, expect, it } from "vitest";
import {
  type BackupObject,
  backupMetadata,
  backupObject,
  parseBackupObject,
  planRestore,
  replay,
  summaryFromMetadata,
  summaryOf,
} from "./backup-format";
import type { DataChange } from "./store";

const CREATED = 1_000;

/** A log of one service: seq 10, 20, 30, ... at times 1100, 1200, ... */
function log(...entries: [string, unknown][]): DataChange[] {
  return entries.map(([key, value], i) => ({
    seq: (i + 1) * 10,
    at: CREATED + (i + 1) * 100,
    key,
    deleted: value === undefined,
    ...(value === undefined ? {} : { value }),
  }));
}

/** The backup taken at `takenAt` after `upTo` entries of `entries`, archiving those after `from`. */
function backupOf(
  id: string,
  entries: DataChange[],
  from: number,
  upTo: number,
  takenAt: number,
): BackupObject {
  const data: Record<string, unknown> = {};
  for (const e of entries.slice(0, upTo)) {
    if (e.deleted) delete data[e.key];
    else data[e.key] = e.value;
  }
  return backupObject({
    provider: "postgres",
    teamId: 7,
    msId: "ms",
    backupId: id,
    takenAt,
    serviceCreatedAt: CREATED,
    seq: upTo === 0 ? 0 : entries[upTo - 1]!.seq,
    changeCount: upTo,
    data,
    changes: entries.slice(from, upTo),
  });
}

// a=1 @1100, b=2 @1200, [B1 @1250], c=3 @1300, a deleted @1400, [B2 @1450], b=20 @1500, [B3 @1550], d=4 @1600
const entries = log(["a", 1], ["b", 2], ["c", 3], ["a", undefined], ["b", 20], ["d", 4]);
const b1 = backupOf("b1", entries, 0, 2, 1250);
const b2 = backupOf("b2", entries, 2, 4, 1450);
const b3 = backupOf("b3", entries, 4, 5, 1550);

function restore(backups: BackupObject[], time: number, live?: DataChange[]) {
  const plan = planRestore(backups.map(summaryOf), time);
  if ("problem" in plan) return plan;
  const byId = new Map(backups.map((b) => [b.backupId, b]));
  const base = plan.base.kind === "backup" ? byId.get(plan.base.summary.backupId) : undefined;
  return replay(
    base,
    plan.later.map((s) => byId.get(s.backupId)!),
    plan.coveredByArchive ? undefined : live,
    time,
  );
}

describe("the backup object", () => {
  it("round-trips through JSON and its metadata names what recovery chooses by", () => {
    const parsed = parseBackupObject(JSON.stringify(b2));
    expect(parsed).toEqual(b2);
    expect(b2.changes).toEqual([
      { seq: 30, at: "1970-01-01T00:00:01.300Z", key: "c", value: 3 },
      { seq: 40, at: "1970-01-01T00:00:01.400Z", key: "a", deleted: true },
    ]);
    expect(summaryFromMetadata("b2", backupMetadata(b2))).toEqual(summaryOf(b2));
    expect(summaryOf(b2)).toEqual({
      backupId: "b2",
      takenAt: 1450,
      serviceCreatedAt: CREATED,
      seq: 40,
      changeCount: 4,
      archivedFrom: 2,
    });
  });

  it("is refused when it is not one, naming what is wrong", () => {
    expect(parseBackupObject("{")).toBe("is not JSON");
    expect(parseBackupObject("[]")).toBe("is not a JSON object");
    expect(parseBackupObject(JSON.stringify({ ...b1, format: "other" }))).toBe(
      "is not a landform-reference-backup object",
    );
    expect(parseBackupObject(JSON.stringify({ ...b1, version: 2 }))).toBe("has format version 2, not 1");
    expect(parseBackupObject(JSON.stringify({ ...b1, changes: [...b1.changes].reverse() }))).toBe(
      "has change-log entries out of order",
    );
    expect(parseBackupObject(JSON.stringify({ ...b1, changeCount: 1 }))).toBe(
      "has more changes than its changeCount",
    );
    expect(summaryFromMetadata("x", {})).toBeUndefined();
  });
});

describe("recovery to a point in time", () => {
  it.each([
    [1050, {}],
    [1100, { a: 1 }],
    [1199, { a: 1 }],
    [1250, { a: 1, b: 2 }],
    [1300, { a: 1, b: 2, c: 3 }],
    [1400, { b: 2, c: 3 }],
    [1450, { b: 2, c: 3 }],
    [1500, { b: 20, c: 3 }],
    [1550, { b: 20, c: 3 }],
  ])("rebuilds the data set as of %i from backups and archived logs", (time, expected) => {
    expect(restore([b1, b2, b3], time)).toEqual({ data: expected });
  });

  it("continues past the newest backup with the live log, up to the moment", () => {
    expect(restore([b1, b2, b3], 1599, entries)).toEqual({ data: { b: 20, c: 3 } });
    expect(restore([b1, b2, b3], 1600, entries)).toEqual({ data: { b: 20, c: 3, d: 4 } });
    // Without the live log (the source is gone) the newest backup is as far as it goes.
    expect(restore([b1, b2, b3], 1600)).toEqual({ data: { b: 20, c: 3 } });
  });

  it("applies overlapping archives once", () => {
    // b2' archived from the start, as after a failed upload in between.
    const wide = backupOf("b2w", entries, 0, 4, 1450);
    expect(restore([b1, wide], 1300)).toEqual({ data: { a: 1, b: 2, c: 3 } });
    expect(restore([b1, wide, b3], 1500)).toEqual({ data: { b: 20, c: 3 } });
  });

  it("names the oldest restorable moment when the moment is before it", () => {
    expect(restore([b1, b2], 999)).toEqual({
      problem: "the oldest moment its backups can restore is 1970-01-01T00:00:01.000Z",
    });
    expect(restore([b2, b3], 1300)).toEqual({
      problem: "the oldest moment its backups can restore is 1970-01-01T00:00:01.450Z",
    });
    expect(restore([], 1300)).toEqual({ problem: "the store holds no backups of it" });
  });

  it("refuses to bridge a gap left by a deleted backup in the middle", () => {
    expect(restore([b1, b3], 1500)).toEqual({
      problem:
        "the archived change log between backup b1 and backup b3 is incomplete (a backup in between was deleted)",
    });
    // Moments the remaining backups cover on their own still restore.
    expect(restore([b1, b3], 1250)).toEqual({ data: { a: 1, b: 2 } });
    expect(restore([b1, b3], 1550)).toEqual({ data: { b: 20, c: 3 } });
  });
});
