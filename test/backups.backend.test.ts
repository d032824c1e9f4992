/**
 * Backups and recovery of the reference backends against a real
 * S3-compatible server (versitygw, built from the Go module proxy and started
 * on a free port with its own data folder), driven over HTTP as a control
 * plane drives them. The backends run in-process on a clock the tests move.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ReferenceBackendOptions,
  type ReferenceBackends,
  startReferenceBackends,
} from "../control-plane/backends/reference/index";
import { type S3Server, startS3Server } from "./support/s3";

const KEY = "backend-key-Qx81-lantern";
const USER_PASSWORD = "user-pw-Hk27-orchard";
const SUPERUSER_PASSWORD = "super-pw-Lm64-quarry";
const PG = "/api/v1/postgres";
const TEAM = 7;
const PREFIX = "landform/backups";
const T0 = 1_800_000_000_000;

let s3: S3Server;
let s3Client: S3Client;
let bucket: string;
let backends: ReferenceBackends;
let clock = T0;
const dirs: string[] = [];
/** Every answer and log line, to check that no secret leaks. */
const seen: string[] = [];
const others: ReferenceBackends[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "landform-backups-"));
  dirs.push(dir);
  return dir;
}

async function startBackends(extra: Partial<ReferenceBackendOptions> = {}): Promise<ReferenceBackends> {
  return startReferenceBackends({
    // The simulated lifecycle and data set; the real servers are covered by test/engines.*.test.ts.
    engines: false,
    dataDir: tempDir(),
    key: KEY,
    operationDelayMs: 0,
    now: () => clock,
    log: (rec) => seen.push(JSON.stringify(rec)),
    ...extra,
  });
}

beforeAll(async () => {
  s3 = await startS3Server({ dataDir: tempDir() });
  s3Client = s3.client();
  bucket = await s3.bucket("landform-backups");
  backends = await startBackends();
});

afterAll(async () => {
  for (const b of others) await b.close();
  await backends?.close();
  await s3?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers are inspected freely
  body: any;
}

async function call(method: string, url: string, body?: unknown, on = backends): Promise<Reply> {
  const res = await fetch(`${on.url}${url}`, {
    method,
    headers: { "x-api-key": KEY, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  seen.push(text);
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

interface StoreBody {
  config: Record<string, unknown>;
  secrets: Record<string, unknown>;
}

/** The postgres backup store settings: config {endpointUrl, destinationPath, accessKeyId}, secrets {secretKey}. */
function store(overrides: Partial<StoreBody> = {}): StoreBody {
  return {
    config: {
      endpointUrl: s3.endpoint,
      destinationPath: `s3://${bucket}/${PREFIX}/`,
      accessKeyId: s3.accessKey,
      ...overrides.config,
    },
    secrets: { secretKey: s3.secretKey, ...overrides.secrets },
  };
}

function backupBody(msId: string, settings: StoreBody = store()) {
  return { msId, teamId: TEAM, ...settings, retentionDays: 7 };
}

function objectKey(msId: string, backupId: string): string {
  return `${PREFIX}/${TEAM}/${msId}/${backupId}.json`;
}

async function createPostgres(extra: Record<string, unknown> = {}, on = backends): Promise<string> {
  const id = randomUUID();
  const reply = await call(
    "POST",
    PG,
    {
      id,
      teamId: TEAM,
      plan: { id: 0, parameters: { storage: 1024 } },
      config: { userName: "shop", databaseName: "orders" },
      secrets: { userPassword: USER_PASSWORD, superuserPassword: SUPERUSER_PASSWORD },
      ...extra,
    },
    on,
  );
  expect(reply.status).toBe(201);
  return id;
}

async function observe(id: string, base = PG, on = backends) {
  const reply = await call("GET", `${base}?id=${id}`, undefined, on);
  expect(reply.status).toBe(200);
  return reply.body[id];
}

/** Polls until the service is ready or reports an error. */
async function settled(id: string, base = PG, on = backends) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = await observe(id, base, on);
    if (s.details.ready || s.error || Date.now() > deadline) return s;
    await sleep(25);
  }
}

async function write(id: string, key: string, value: unknown, at: number): Promise<void> {
  clock = at;
  expect((await call("PUT", `${PG}/${id}/data/${key}`, { value })).status).toBe(204);
}

async function erase(id: string, key: string, at: number): Promise<void> {
  clock = at;
  expect((await call("DELETE", `${PG}/${id}/data/${key}`)).status).toBe(204);
}

async function data(id: string, base = PG, on = backends) {
  const reply = await call("GET", `${base}/${id}/data`, undefined, on);
  expect(reply.status).toBe(200);
  return reply.body;
}

/** Polls the backup's status until it exists or reports an error. */
async function status(base: string, backupId: string, body: unknown, on = backends) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const reply = await call("POST", `${base}/backups/${backupId}/status`, body, on);
    expect(reply.status).toBe(200);
    if (reply.body.exists || reply.body.error || Date.now() > deadline) return reply.body;
    await sleep(25);
  }
}

async function backup(msId: string, at: number, base = PG, settings: StoreBody = store()): Promise<string> {
  clock = at;
  const backupId = randomUUID();
  expect((await call("PUT", `${base}/backups/${backupId}`, backupBody(msId, settings))).status).toBe(202);
  expect(await status(base, backupId, backupBody(msId, settings))).toEqual({ exists: true });
  return backupId;
}

/** Polls until the backup's object is gone. */
async function gone(base: string, backupId: string, body: unknown) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const reply = await call("POST", `${base}/backups/${backupId}/status`, body);
    if (!reply.body.exists || Date.now() > deadline) return reply.body;
    await sleep(25);
  }
}

async function keysUnder(prefix: string): Promise<string[]> {
  const out = await s3Client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

async function readObject(key: string) {
  const out = await s3Client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = await out.Body!.transformToString();
  seen.push(text);
  return { text, object: JSON.parse(text), etag: out.ETag, metadata: out.Metadata };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe("backups of the reference backends in a real S3-compatible store", () => {
  let msId: string;
  let first: string;

  it("write one object per backup: the data set, the change log since the last backup, its position", async () => {
    clock = T0;
    msId = await createPostgres();
    expect((await settled(msId)).details.ready).toBe(true);
    await write(msId, "a", 1, T0 + 1000);
    await write(msId, "b", { nested: [1, "two"] }, T0 + 2000);

    // With the store frozen the upload is in flight: the status says not yet, with no error.
    clock = T0 + 3000;
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
    clock = T0 + 7000;
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
    const fresh = await startBackends();
    others.push(fresh);
    clock = T0 + 7300;
    const restored = await createPostgres({ recoverFrom: { id: first, ...store() } }, fresh);
    expect((await settled(restored, PG, fresh)).details.ready).toBe(true);
    expect(await data(restored, PG, fresh)).toEqual({ a: 1, b: { nested: [1, "two"] } });
  });

  it("report a recovery from a backup the store does not hold as the service's error; never ready", async () => {
    clock = T0 + 7400;
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
      clock = T0 + 7500;
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
    clock = at;
    const id = await createPostgres({ recoverFrom: { msId: source(), time: iso(time), ...store() } });
    const s = await settled(id);
    return { id, error: s.error as string | undefined, ready: s.details.ready, data: await data(id) };
  }

  beforeAll(async () => {
    clock = T1;
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
    clock = T1 + 10_000;
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
    clock = T1 + 12_500;
    expect((await call("DELETE", `${PG}/${p}`)).status).toBe(204);
    expect((await recoverTo(T1 + 8500, T1 + 13_000)).data).toEqual({ b: 20, c: 3, d: 4 });
    expect((await recoverTo(T1 + 11_500, T1 + 13_000)).data).toEqual({ b: 20, c: 3, d: 4, e: 5, f: 6 });
    expect((await recoverTo(T1 + 20_000, T1 + 13_000)).data).toEqual({ b: 20, c: 3, d: 4, e: 5, f: 6 });
  });
});

describe("backup failures of the reference backends", () => {
  let msId: string;

  beforeAll(async () => {
    clock = T0 + 200_000;
    msId = await createPostgres();
    await settled(msId);
    await write(msId, "k", "v", T0 + 201_000);
  });

  it("report an unreachable store in the status, write nothing, and take the backup when asked again", async () => {
    const backupId = randomUUID();
    await s3.stop();
    try {
      clock = T0 + 202_000;
      expect((await call("PUT", `${PG}/backups/${backupId}`, backupBody(msId))).status).toBe(202);
      const failed = await status(PG, backupId, backupBody(msId));
      expect(failed.exists).toBe(false);
      expect(failed.error).toMatch(
        new RegExp(`^the backup store at ${s3.endpoint} is unreachable \\(ECONNREFUSED\\)`),
      );
    } finally {
      await s3.start();
    }
    // The store is back, the object was never written, and the status still says why.
    expect(await keysUnder(`${PREFIX}/${TEAM}/${msId}/`)).toEqual([]);
    const after = (await call("POST", `${PG}/backups/${backupId}/status`, backupBody(msId))).body;
    expect(after).toEqual({ exists: false, error: expect.stringContaining("is unreachable") });
    // A control plane retries with the same id: now the backup is taken.
    expect((await call("PUT", `${PG}/backups/${backupId}`, backupBody(msId))).status).toBe(202);
    expect(await status(PG, backupId, backupBody(msId))).toEqual({ exists: true });
    expect(await keysUnder(`${PREFIX}/${TEAM}/${msId}/`)).toEqual([objectKey(msId, backupId)]);
  });

  it("count a store that does not answer in time as unreachable", async () => {
    const impatient = await startBackends({ backupStoreTimeoutMs: 300 });
    others.push(impatient);
    clock = T0 + 203_000;
    const id = await createPostgres({}, impatient);
    await settled(id, PG, impatient);
    const backupId = randomUUID();
    s3.pause();
    try {
      expect((await call("PUT", `${PG}/backups/${backupId}`, backupBody(id), impatient)).status).toBe(202);
      const answer = await status(PG, backupId, backupBody(id), impatient);
      expect(answer).toEqual({
        exists: false,
        error: expect.stringMatching(
          new RegExp(`^the backup store at ${s3.endpoint} is unreachable \\(ETIMEDOUT\\) while writing`),
        ),
      });
    } finally {
      s3.resume();
    }
  });

  it.each([
    [
      "a wrong secret key",
      () => store({ secrets: { secretKey: "wrong-secret-Zt55-harbor" } }),
      /rejected the secret key: the request signature does not match \(SignatureDoesNotMatch\)/,
    ],
    [
      "an unknown access key id",
      () => store({ config: { accessKeyId: "nobody-Kp90" } }),
      /does not know the access key id/,
    ],
    [
      "a bucket that does not exist",
      () => store({ config: { destinationPath: "s3://no-such-bucket/x" } }),
      /the bucket no-such-bucket does not exist at http:\/\/127\.0\.0\.1:\d+ \(NoSuchBucket\)/,
    ],
  ])("say which setting the store refused: %s", async (_name, settings, message) => {
    const backupId = randomUUID();
    const body = backupBody(msId, settings());
    expect((await call("PUT", `${PG}/backups/${backupId}`, body)).status).toBe(202);
    const answer = await status(PG, backupId, body);
    expect(answer.exists).toBe(false);
    expect(answer.error).toMatch(message);
    expect(JSON.stringify(answer)).not.toContain("wrong-secret-Zt55-harbor");
  });

  it("refuse backups of services they do not hold, of providers without backups, and without a store", async () => {
    const bid = randomUUID();
    expect(await call("PUT", `${PG}/backups/${bid}`, backupBody(randomUUID()))).toMatchObject({
      status: 404,
      body: { error: expect.stringMatching(/^service .* not found$/) },
    });
    expect(await call("PUT", `/api/v1/ferretdb/backups/${bid}`, backupBody(msId))).toEqual({
      status: 501,
      body: { error: "provider ferretdb has no backups" },
    });
    expect(
      await call("PUT", `${PG}/backups/${bid}`, { msId, teamId: TEAM, config: {}, secrets: {} }),
    ).toEqual({
      status: 422,
      body: {
        error:
          "config.endpointUrl: is required; config.destinationPath: is required; " +
          "config.accessKeyId (or secrets.accessKey): is required; secrets.secretKey: is required",
      },
    });
  });

  it("back up the docs' postgresql provider with an access key pair in its secrets", async () => {
    const base = "/api/v1/postgresql";
    const id = randomUUID();
    clock = T0 + 300_000;
    expect(
      (
        await call("POST", base, {
          id,
          teamId: TEAM,
          plan: { id: 1, parameters: { storage: 10 } },
          config: { max_connections: "100" },
          secrets: { username: "admin", password: USER_PASSWORD },
        })
      ).status,
    ).toBe(201);
    await settled(id, base);
    clock = T0 + 301_000;
    expect((await call("PUT", `${base}/${id}/data/row`, { value: "one" })).status).toBe(204);
    const settings = {
      config: { endpointUrl: s3.endpoint, destinationPath: `s3://${bucket}` },
      secrets: { accessKey: s3.accessKey, secretKey: s3.secretKey },
    };
    const backupId = await backup(id, T0 + 302_000, base, settings);
    expect(await keysUnder(`${TEAM}/${id}/`)).toEqual([`${TEAM}/${id}/${backupId}.json`]);

    clock = T0 + 303_000;
    const copy = randomUUID();
    expect(
      (
        await call("POST", base, {
          id: copy,
          teamId: TEAM,
          plan: { id: 1, parameters: { storage: 10 } },
          secrets: { username: "admin", password: USER_PASSWORD },
          recoverFrom: { msId: id, time: iso(T0 + 301_500), ...settings },
        })
      ).status,
    ).toBe(201);
    expect((await settled(copy, base)).details.ready).toBe(true);
    expect(await data(copy, base)).toEqual({ row: "one" });
  });
});

describe("the secrets around backups", () => {
  it("never appear in an answer, a log line or a backup object", () => {
    expect(seen.length).toBeGreaterThan(200);
    const secrets = [
      s3.secretKey,
      s3.accessKey,
      USER_PASSWORD,
      SUPERUSER_PASSWORD,
      KEY,
      "wrong-secret-Zt55-harbor",
    ];
    for (const text of seen) {
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
    expect(s3.output()).not.toContain(s3.secretKey);
  });
});
