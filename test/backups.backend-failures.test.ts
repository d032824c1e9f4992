/**
 * Backup failures of the reference backends against a real S3-compatible
 * server (./support/backup-backends.ts): a store that is down or too slow,
 * settings it refuses, services and providers without backups, and the docs'
 * postgresql provider with its key pair in the secrets.
 */
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  backup,
  backupBody,
  bucket,
  call,
  createPostgres,
  data,
  expectNoSecretSeen,
  iso,
  keysUnder,
  objectKey,
  PG,
  PREFIX,
  s3,
  setClock,
  settled,
  startOtherBackends,
  status,
  store,
  T0,
  TEAM,
  USER_PASSWORD,
  useBackupBackends,
  write,
} from "./support/backup-backends";

useBackupBackends();

describe("backup failures of the reference backends", () => {
  let msId: string;

  beforeAll(async () => {
    setClock(T0 + 200_000);
    msId = await createPostgres();
    await settled(msId);
    await write(msId, "k", "v", T0 + 201_000);
  });

  it("report an unreachable store in the status, write nothing, and take the backup when asked again", async () => {
    const backupId = randomUUID();
    await s3.stop();
    try {
      setClock(T0 + 202_000);
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
    const impatient = await startOtherBackends({ backupStoreTimeoutMs: 300 });
    setClock(T0 + 203_000);
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
    setClock(T0 + 300_000);
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
    setClock(T0 + 301_000);
    expect((await call("PUT", `${base}/${id}/data/row`, { value: "one" })).status).toBe(204);
    const settings = {
      config: { endpointUrl: s3.endpoint, destinationPath: `s3://${bucket}` },
      secrets: { accessKey: s3.accessKey, secretKey: s3.secretKey },
    };
    const backupId = await backup(id, T0 + 302_000, base, settings);
    expect(await keysUnder(`${TEAM}/${id}/`)).toEqual([`${TEAM}/${id}/${backupId}.json`]);

    setClock(T0 + 303_000);
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
    expectNoSecretSeen(100, ["wrong-secret-Zt55-harbor"]);
  });
});
