/**
 * Backups and recovery of the reference backends against a real
 * S3-compatible server (./support/backup-backends.ts): what a backup writes,
 * recovery from a backup id, and recovery to a point in time. What goes
 * wrong (unreachable or slow stores, bad settings) is
 * ./backups.backend-failures.test.ts's.
 */
import { randomUUID } from "node:crypto";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import {
  backup,
  backupBody,
  bucket,
  call,
  createPostgres,
  data,
  erase,
  expectNoSecretSeen,
  gone,
  iso,
  keysUnder,
  objectKey,
  PG,
  PREFIX,
  readObject,
  s3,
  s3Client,
  setClock,
  settled,
  sleep,
  startOtherBackends,
  status,
  store,
  T0,
  TEAM,
  useBackupBackends,
  write,
} from "./support/backup-backends";

useBackupBackends();

describe("backups of the reference backends in a real S3-compatible store", () => {
  let msId: string;
  let first: string;

  it("write one object per backup: the data set, the change log since the last backup, its position", async () => {
    setClock(T0);
    msId = await createPostgres();
    expect((await settled(msId)).details.ready).toBe(true);
    await write(msId, "a", 1, T0 + 1000);
    await write(msId, "b", { nested: [1, "two"] }, T0 + 2000);

    // With the store frozen the upload is in flight: the status says not yet, with no error.
    setClock(T0 + 3000);
    first = randomUUID();
    s3.pause();
    try {
      expect((await call("PUT", `${PG}/backups/${first}`, backupBody(msId))).status).toBe(202);
      expect((await call("POST", `${PG}/backups/${first}/status`, backupBody(msId))).body).toEqual({
        exists: false,
      });
    } finally {
      s3.resume();
    }
    expect(await status(PG, first, backupBody(msId))).toEqual({ exists: true });

    expect(await keysUnder(`${PREFIX}/`)).toEqual([objectKey(msId, first)]);
    const { object, metadata } = await readObject(objectKey(msId, first));
    expect(object).toEqual({
      format: "landform-reference-backup",
      version: 1,
      provider: "postgres",
      teamId: TEAM,
      msId,
      backupId: first,
      takenAt: iso(T0 + 3000),
      serviceCreatedAt: iso(T0),
      seq: expect.any(Number),
      changeCount: 2,
      retentionDays: 7,
      data: { a: 1, b: { nested: [1, "two"] } },
      changes: [
        { seq: expect.any(Number), at: iso(T0 + 1000), key: "a", value: 1 },
        { seq: object.seq, at: iso(T0 + 2000), key: "b", value: { nested: [1, "two"] } },
      ],
    });
    expect(metadata).toMatchObject({
      "landform-format": "landform-reference-backup/1",
      "landform-taken-at": iso(T0 + 3000),
      "landform-seq": String(object.seq),
      "landform-change-count": "2",
      "landform-archived-from": "0",
    });
  });

  it("archive in the next backup only the changes made since the previous one", async () => {
    await write(msId, "c", 3, T0 + 4000);
    await erase(msId, "a", T0 + 5000);
    const second = await backup(msId, T0 + 6000);
    const { object } = await readObject(objectKey(msId, second));
    expect(object.data).toEqual({ b: { nested: [1, "two"] }, c: 3 });
    expect(object.changeCount).toBe(4);
    expect(object.changes).toEqual([
      { seq: expect.any(Number), at: iso(T0 + 4000), key: "c", value: 3 },
      { seq: object.seq, at: iso(T0 + 5000), key: "a", deleted: true },
    ]);
    expect(await keysUnder(`${PREFIX}/${TEAM}/${msId}/`)).toEqual(
      [objectKey(msId, first), objectKey(msId, second)].sort(),
    );
  });

  it("write a backup once: a second PUT of the same id leaves the object as it was", async () => {
    const before = await s3Client.send(
      new HeadObjectCommand({ Bucket: bucket, Key: objectKey(msId, first) }),
    );
    await write(msId, "late", true, T0 + 6500);
    expect((await call("PUT", `${PG}/backups/${first}`, backupBody(msId))).status).toBe(202);
    expect(await status(PG, first, backupBody(msId))).toEqual({ exists: true });
    await sleep(100);
    const { object, etag } = await readObject(objectKey(msId, first));
    expect(etag).toBe(before.ETag);
    expect(object.takenAt).toBe(iso(T0 + 3000));
    expect(object.data).not.toHaveProperty("late");
  });

  it("delete a backup: 202, then the object is gone from the bucket", async () => {
    const doomed = await backup(msId, T0 + 6600);
    expect(await keysUnder(`${PREFIX}/${TEAM}/${msId}/`)).toContain(objectKey(msId, doomed));
    expect((await call("DELETE", `${PG}/backups/${doomed}`, backupBody(msId))).status).toBe(202);
    expect(await gone(PG, doomed, backupBody(msId))).toEqual({ exists: false });
    expect(await keysUnder(`${PREFIX}/${TEAM}/${msId}/`)).not.toContain(objectKey(msId, doomed));
    // Deleting again is no error.
    expect((await call("DELETE", `${PG}/backups/${doomed}`, backupBody(msId))).status).toBe(202);
  });

  it("recover a new service from a backup id with exactly the backup's data", async () => {
    setClock(T0 + 7000);
    const restored = await createPostgres({ recoverFrom: { id: first, ...store() } });
    const s = await settled(restored);
    expect(s.error).toBeUndefined();
    expect(s.details).toMatchObject({ ready: true, phase: "running" });
    expect(await data(restored)).toEqual({ a: 1, b: { nested: [1, "two"] } });
    // The recovered service is a service like any other: it takes writes and backups.
    await write(restored, "x", 9, T0 + 7100);
    const own = await backup(restored, T0 + 7200);
    const { object } = await readObject(objectKey(restored, own));
    expect(object.data).toEqual({ a: 1, b: { nested: [1, "two"] }, x: 9 });
  });

  it("find a backup it never took by looking in the team's folder of the store", async () => {
    const fresh = await startOtherBackends();
    setClock(T0 + 7300);
    const restored = await createPostgres({ recoverFrom: { id: first, ...store() } }, fresh);
    expect((await settled(restored, PG, fresh)).details.ready).toBe(true);
    expect(await data(restored, PG, fresh)).toEqual({ a: 1, b: { nested: [1, "two"] } });
  });

  it("report a recovery from a backup the store does not hold as the service's error; never ready", async () => {
    setClock(T0 + 7400);
    const missing = randomUUID();
    const id = await createPostgres({ recoverFrom: { id: missing, ...store() } });
    const s = await settled(id);
    expect(s.error).toBe(
      `recovery failed: backup ${missing} is not in the store (looked in s3://${bucket}/${PREFIX}/${TEAM}/)`,
    );
    expect(s.details).toMatchObject({ ready: false, phase: "provisioning" });
    expect((await call("PUT", `${PG}/${id}/data/k`, { value: 1 })).status).toBe(409);
    expect((await call("DELETE", `${PG}/${id}`)).status).toBe(204);
  });

  it("report a recovery from an unreachable store as the service's error", async () => {
    await s3.stop();
    try {
      setClock(T0 + 7500);
      const id = await createPostgres({ recoverFrom: { id: first, msId, ...store() } });
      const s = await settled(id);
      expect(s.error).toMatch(
        new RegExp(`^recovery failed: the backup store at ${s3.endpoint} is unreachable \\(ECONNREFUSED\\)`),
      );
      expect(s.details.ready).toBe(false);
    } finally {
      await s3.start();
    }
  });
});

describe("point-in-time recovery of the reference backends", () => {
  // Timeline of service P (times relative to T1):
  //   0 created; 1000 a=1; [1500]; 2000 b=2; 3000 backup B1; 4000 c=3; [4500];
  //   5000 delete a; 6000 b=20; 7000 backup B2; 8000 d=4; [8500]; 9000 e=5
  const T1 = T0 + 100_000;
  let p: string;
  let b1: string;

  async function recoverTo(time: number, at: number, source = () => p) {
    setClock(at);
    const id = await createPostgres({ recoverFrom: { msId: source(), time: iso(time), ...store() } });
    const s = await settled(id);
    return { id, error: s.error as string | undefined, ready: s.details.ready, data: await data(id) };
  }

  beforeAll(async () => {
    setClock(T1);
    p = await createPostgres();
    await settled(p);
    await write(p, "a", 1, T1 + 1000);
    await write(p, "b", 2, T1 + 2000);
    b1 = await backup(p, T1 + 3000);
    await write(p, "c", 3, T1 + 4000);
    await erase(p, "a", T1 + 5000);
    await write(p, "b", 20, T1 + 6000);
    await backup(p, T1 + 7000);
    await write(p, "d", 4, T1 + 8000);
    await write(p, "e", 5, T1 + 9000);
  });

  it.each([
    ["between the first two writes, before any backup", 1500, { a: 1 }],
    ["exactly at the first write", 1000, { a: 1 }],
    ["the moment of the first backup", 3000, { a: 1, b: 2 }],
    ["between the backups, from the archived log", 4500, { a: 1, b: 2, c: 3 }],
    ["after a deletion in the archived log", 5500, { b: 2, c: 3 }],
    ["the moment of the second backup", 7000, { b: 20, c: 3 }],
    ["after the last backup, from the live log", 8500, { b: 20, c: 3, d: 4 }],
    ["after every write", 9500, { b: 20, c: 3, d: 4, e: 5 }],
    ["the service's creation", 0, {}],
  ])("restore exactly the data set as it was %s", async (_name, offset, expected) => {
    const r = await recoverTo(T1 + offset, T1 + 10_000);
    expect(r.error).toBeUndefined();
    expect(r.ready).toBe(true);
    expect(r.data).toEqual(expected);
  });

  it("refuse a moment before the service existed, saying from when it can", async () => {
    const r = await recoverTo(T1 - 1, T1 + 10_000);
    expect(r.ready).toBe(false);
    expect(r.error).toBe(
      `recovery failed: cannot recover service ${p} to ${iso(T1 - 1)}: the oldest moment its backups can ` +
        `restore is ${iso(T1)} (s3://${bucket}/${PREFIX}/${TEAM}/${p}/)`,
    );
    expect(r.data).toEqual({});
  });

  it("lose the moments before the oldest retained backup once older ones are deleted", async () => {
    setClock(T1 + 10_000);
    expect((await call("DELETE", `${PG}/backups/${b1}`, backupBody(p))).status).toBe(202);
    await gone(PG, b1, backupBody(p));
    const early = await recoverTo(T1 + 4500, T1 + 10_100);
    expect(early.error).toBe(
      `recovery failed: cannot recover service ${p} to ${iso(T1 + 4500)}: the oldest moment its backups can ` +
        `restore is ${iso(T1 + 7000)} (s3://${bucket}/${PREFIX}/${TEAM}/${p}/)`,
    );
    const later = await recoverTo(T1 + 8500, T1 + 10_100);
    expect(later.data).toEqual({ b: 20, c: 3, d: 4 });
  });

  it("recover a deleted service from its backups alone, up to its final backup", async () => {
    await write(p, "f", 6, T1 + 11_000);
    await backup(p, T1 + 12_000); // the final backup before delete
    setClock(T1 + 12_500);
    expect((await call("DELETE", `${PG}/${p}`)).status).toBe(204);
    expect((await recoverTo(T1 + 8500, T1 + 13_000)).data).toEqual({ b: 20, c: 3, d: 4 });
    expect((await recoverTo(T1 + 11_500, T1 + 13_000)).data).toEqual({ b: 20, c: 3, d: 4, e: 5, f: 6 });
    expect((await recoverTo(T1 + 20_000, T1 + 13_000)).data).toEqual({ b: 20, c: 3, d: 4, e: 5, f: 6 });
  });
});

describe("the secrets around backups", () => {
  it("never appear in an answer, a log line or a backup object", () => {
    expectNoSecretSeen(100);
  });
});
