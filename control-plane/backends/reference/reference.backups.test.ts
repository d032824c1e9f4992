/**
 * Backup calls and `recoverFrom` on the reference backends, against a store
 * they cannot reach (a real store is test/backups.backend.test.ts's), and
 * without backups at all (501).
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { backupsNotImplemented } from "./index";
import { ReferenceStore } from "./store";
import {
  advance,
  call,
  clock,
  createPostgres,
  dir,
  expectNoSecretSeen,
  observe,
  PG,
  postgresBody,
  REDIS_PASSWORD,
  STORE_SECRET,
  start,
  unreachableStore,
  until,
  useReferenceBackends,
} from "./test-backends";

useReferenceBackends();

describe("the reference backends' backups and recovery", () => {
  it("check backup calls before they reach a store", async () => {
    await start();
    const id = await createPostgres();
    const bid = randomUUID();
    const backup = (extra: Record<string, unknown> = {}) => ({
      msId: id,
      teamId: 7,
      ...unreachableStore(),
      ...extra,
    });
    expect(await call("PUT", `${PG}/backups/${bid}`, backup({ config: {}, secrets: {} }))).toEqual({
      status: 422,
      body: {
        error:
          "config.endpointUrl: is required; config.destinationPath: is required; " +
          "config.accessKeyId (or secrets.accessKey): is required; secrets.secretKey: is required",
      },
    });
    const badStore = {
      config: { endpointUrl: "ftp://x", destinationPath: "s3://A/b", accessKeyId: "ak" },
      secrets: { secretKey: STORE_SECRET },
    };
    expect((await call("PUT", `${PG}/backups/${bid}`, backup(badStore))).body).toEqual({
      error:
        "config.endpointUrl: must be an http:// or https:// URL; " +
        "config.destinationPath: must be s3://BUCKET or s3://BUCKET/PREFIX with a valid bucket name",
    });
    const withCredentials = {
      ...unreachableStore().config,
      endpointUrl: `http://ak:${STORE_SECRET}@127.0.0.1:9`,
    };
    expect((await call("PUT", `${PG}/backups/${bid}`, backup({ config: withCredentials }))).body).toEqual({
      error: "config.endpointUrl: must not carry credentials",
    });
    expect(await call("PUT", `${PG}/backups/${bid}`, backup({ msId: randomUUID() }))).toMatchObject({
      status: 404,
      body: { error: expect.stringMatching(/^service .* not found$/) },
    });
    expect((await call("PUT", `${PG}/backups/${bid}`, backup({ teamId: 8 }))).status).toBe(400);
    expect((await call("PUT", `${PG}/backups/${bid}`, backup({ msId: undefined }))).body).toEqual({
      error: "msId is required",
    });
    expect((await call("PUT", `${PG}/backups/a%20b`, backup())).body).toEqual({
      error: "the backup id must be letters, digits, '.', '_' or '-'",
    });
    expect(await call("PUT", `/api/v1/ferretdb/backups/${bid}`, backup())).toEqual({
      status: 501,
      body: { error: "provider ferretdb has no backups" },
    });
    expect((await call("POST", `/api/v1/s3/backups/${bid}/status`, backup())).status).toBe(501);
  });

  it("report a store they cannot reach in the backup's status, without a secret", async () => {
    await start();
    const id = await createPostgres();
    const bid = randomUUID();
    const body = { msId: id, teamId: 7, ...unreachableStore() };
    expect((await call("PUT", `${PG}/backups/${bid}`, body)).status).toBe(202);
    const answer = await until(async () => {
      const r = await call("POST", `${PG}/backups/${bid}/status`, body);
      return r.body.error ? r : undefined;
    });
    expect(answer).toEqual({
      status: 200,
      body: {
        exists: false,
        error: expect.stringMatching(
          new RegExp(
            `^the backup store at ${unreachableStore().config.endpointUrl} is unreachable \\(ECONNREFUSED\\)`,
          ),
        ),
      },
    });
    // Unknown to this backend and not in any store it can reach: the error, not a 404, says why.
    const other = await call("POST", `${PG}/backups/${randomUUID()}/status`, body);
    expect(other.body).toMatchObject({ exists: false, error: expect.stringContaining("is unreachable") });
    expect((await call("DELETE", `${PG}/backups/${bid}`, body)).status).toBe(202);
  });

  it("check recoverFrom at create, and make a failed recovery the service's error", async () => {
    await start();
    const create = (recoverFrom: unknown, base = PG) =>
      call("POST", base, { ...postgresBody(randomUUID()), recoverFrom });
    expect(
      (
        await call("POST", "/api/v1/ferretdb", {
          id: randomUUID(),
          teamId: 1,
          secrets: { password: REDIS_PASSWORD },
          recoverFrom: { id: "b1", ...unreachableStore() },
        })
      ).body,
    ).toEqual({
      error: "provider ferretdb has no backups to recover from",
    });
    expect((await create("b1")).body).toEqual({ error: "recoverFrom must be a JSON object" });
    expect((await create({ ...unreachableStore() })).body).toEqual({
      error: "recoverFrom needs id (a backup) or msId and time (a point in time)",
    });
    expect((await create({ msId: randomUUID(), time: "yesterday", ...unreachableStore() })).body).toEqual({
      error: "recoverFrom.time must be an ISO 8601 date-time or milliseconds since the epoch",
    });
    expect(await create({ id: "b1", config: {}, secrets: {} })).toEqual({
      status: 422,
      body: {
        error:
          "recoverFrom.config.endpointUrl: is required; recoverFrom.config.destinationPath: is required; " +
          "recoverFrom.config.accessKeyId (or secrets.accessKey): is required; recoverFrom.secrets.secretKey: is required",
      },
    });
    expect((await call("GET", PG)).body).toEqual([]);

    const id = await createPostgres({ recoverFrom: { id: "b1", msId: randomUUID(), ...unreachableStore() } });
    const failed = await until(async () => {
      const s = await observe(id);
      return s.error ? s : undefined;
    });
    expect(failed.error).toMatch(
      /^recovery failed: the backup store at http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)/,
    );
    expect(failed.details).toMatchObject({ ready: false, phase: "provisioning" });
    // Neither time nor an update makes it ready; it takes no writes; it can be deleted.
    expect(
      (await call("PATCH", `${PG}/${id}`, { id, teamId: 7, plan: { id: 0, parameters: { storage: 2048 } } }))
        .status,
    ).toBe(204);
    advance(1_000);
    expect((await observe(id)).details.ready).toBe(false);
    expect((await call("PUT", `${PG}/${id}/data/k`, { value: 1 })).status).toBe(409);
    expect((await call("DELETE", `${PG}/${id}`)).status).toBe(204);
  });

  it("mark uploads and recoveries cut short by a restart as failed", async () => {
    const store = new ReferenceStore(dir);
    const spec = { parameters: { storage: 1024 }, config: {}, pause: false };
    store.insert(
      {
        provider: "postgres",
        id: "restoring",
        teamId: 7,
        desired: spec,
        observed: null,
        phase: "provisioning",
        dueAt: Number.MAX_SAFE_INTEGER,
        secrets: {},
        createdAt: clock,
        recoveryToken: "token",
      },
      clock,
    );
    store.saveBackup(
      {
        provider: "postgres",
        id: "b1",
        serviceId: "restoring",
        teamId: 7,
        location: "s3://bucket/7/restoring/b1.json",
        seq: 0,
        changeCount: 0,
        takenAt: clock,
        state: "uploading",
        uploaded: false,
      },
      clock,
    );
    store.close();
    await start();
    expect((await observe("restoring")).error).toBe(
      "the recovery was interrupted by a restart of the backend; delete the service and create it again",
    );
    const status = await call("POST", `${PG}/backups/b1/status`, {
      msId: "restoring",
      teamId: 7,
      ...unreachableStore(),
    });
    expect(status.body).toEqual({
      exists: false,
      error: "the upload was interrupted by a restart of the backend; take the backup again",
    });
  });

  it("answer 501 for backups and recovery when built without them", async () => {
    await start({ backups: backupsNotImplemented });
    const body = { msId: randomUUID(), teamId: 7, config: {}, secrets: {} };
    const expected = { status: 501, body: { error: "backups not implemented" } };
    expect(await call("PUT", `${PG}/backups/${randomUUID()}`, body)).toEqual(expected);
    expect(await call("POST", `${PG}/backups/${randomUUID()}/status`, body)).toEqual(expected);
    expect(await call("DELETE", `${PG}/backups/${randomUUID()}`, body)).toEqual(expected);
    const recover = postgresBody(randomUUID(), {
      recoverFrom: { id: randomUUID(), config: {}, secrets: {} },
    });
    expect(await call("POST", PG, recover)).toEqual({
      status: 501,
      body: { error: "recovery from backups not implemented" },
    });
  });

  it("never put a secret in an answer or a log line", () => {
    expectNoSecretSeen(50);
  });
});
