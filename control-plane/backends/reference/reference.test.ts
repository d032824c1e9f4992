/**
 * The reference backends as a control plane sees them: services created, read,
 * updated, paused, restarted and deleted, on the simulated lifecycle and data set.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ReferenceStore } from "./store";
import {
  advance,
  backends,
  call,
  clock,
  createPostgres,
  dir,
  expectNoSecretSeen,
  KEY,
  observe,
  PG,
  postgresBody,
  REDIS_PASSWORD,
  SUPERUSER_PASSWORD,
  start,
  useReferenceBackends,
} from "./test-backends";

useReferenceBackends();

describe("the reference backends", () => {
  it("answer health and readiness without a key, and everything else only with it", async () => {
    await start();
    for (const p of ["/health", "/ready"]) {
      const res = await fetch(`${backends.url}${p}`);
      expect(res.status).toBe(200);
    }
    expect((await call("GET", PG, undefined, { "x-api-key": "" })).status).toBe(401);
    expect((await call("GET", PG, undefined, { "x-api-key": "wrong" })).body).toEqual({
      status: 401,
      title: "Unauthorized",
      detail: "missing or wrong API key: send it as X-API-Key or Authorization: Bearer",
      traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
      error: "missing or wrong API key",
    });
    expect((await call("GET", "/admin/faults", undefined, { "x-api-key": "nope" })).status).toBe(401);
    expect(
      (await call("GET", PG, undefined, { "x-api-key": "", authorization: `Bearer ${KEY}` })).status,
    ).toBe(200);
    expect((await call("GET", PG)).body).toEqual([]);
  });

  it("refuse to start without a key", async () => {
    for (const key of [undefined, "", "  "]) {
      await expect(start({ key: key as string })).rejects.toThrow(/need a key/);
    }
  });

  it("create a service that is not ready until the operation delay has passed", async () => {
    await start();
    const id = await createPostgres();
    expect((await call("GET", PG)).body).toEqual([id]);

    const provisioning = await observe(id);
    expect(provisioning.details).toMatchObject({ ready: false, phase: "provisioning" });
    expect(provisioning.pause).toBe(false);

    advance();
    const running = await observe(id);
    expect(running).toEqual({
      plan: { parameters: { storage: 1024 } },
      config: { userName: "shop", databaseName: "orders" },
      details: {
        hostname: `${id}.postgres.landform.internal`,
        port: 5432,
        dsn: `postgresql://shop@${id}.postgres.landform.internal:5432/orders`,
        ready: true,
        phase: "running",
        simulated: true,
        dataUrl: `${backends.url}/api/v1/postgres/${id}/data`,
      },
      pause: false,
    });
  });

  it("finish operations on the real clock too", async () => {
    // Long enough that the first look comes before the end on a loaded machine, short enough to wait for.
    await start({ now: undefined, operationDelayMs: 750 });
    const id = await createPostgres();
    expect((await observe(id)).details.ready).toBe(false);
    const deadline = Date.now() + 10_000;
    while (!(await observe(id)).details.ready) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 5));
    }
  });

  it("list ids and answer only for the ids they hold", async () => {
    await start();
    const a = await createPostgres();
    const b = await createPostgres();
    expect((await call("GET", PG)).body).toEqual([a, b]);
    const reply = await call("GET", `${PG}?id=${a}&id=${b}&id=${randomUUID()}`);
    expect(Object.keys(reply.body).sort()).toEqual([a, b].sort());
    expect((await call("GET", "/api/v1/redis")).body).toEqual([]);
  });

  it("accept the published guide's postgresql request and name no user in the dsn", async () => {
    await start();
    const id = randomUUID();
    const created = await call("POST", "/api/v1/postgresql", {
      id,
      teamId: 123,
      plan: { id: 1, parameters: { storage: 10 } },
      config: { max_connections: "100" },
      secrets: { password: "guide-pw-Ah55e", username: "admin" },
    });
    expect(created.status).toBe(201);
    advance();
    const s = await observe(id, "/api/v1/postgresql");
    expect(s).toMatchObject({ plan: { parameters: { storage: 10 } }, config: { max_connections: "100" } });
    expect(s.details.dsn).toBe(`postgresql://${id}.postgresql.landform.internal:5432/postgres`);
    expect(JSON.stringify(s)).not.toContain("admin");
  });

  it("update config through an updating phase, and treat a repeated request as no change", async () => {
    await start();
    const id = await createPostgres();
    advance();
    expect((await call("PATCH", `${PG}/${id}`, { id, teamId: 7, config: { userName: "shop" } })).status).toBe(
      204,
    );
    expect((await observe(id)).details.phase).toBe("running");

    expect(
      (await call("PATCH", `${PG}/${id}`, { id, teamId: 7, plan: { parameters: { storage: 2048 } } })).status,
    ).toBe(204);
    const updating = await observe(id);
    expect(updating.details).toMatchObject({ ready: false, phase: "updating" });
    expect(updating.plan.parameters.storage).toBe(1024);
    advance();
    const done = await observe(id);
    expect(done.details).toMatchObject({ ready: true, phase: "running" });
    expect(done.plan.parameters.storage).toBe(2048);
  });

  it("switch plans, taking the new plan's fixed cpu and memory", async () => {
    await start();
    const id = await createPostgres({ plan: { id: 0, parameters: { storage: 1024, cpu: 5, memory: 512 } } });
    advance();
    expect(
      (await call("PATCH", `${PG}/${id}`, { id, teamId: 7, plan: { id: 2, parameters: {} } })).status,
    ).toBe(204);
    advance();
    // Plan 2, Medium High-Mem: 1 vCPU, 2 GB.
    expect((await observe(id)).plan.parameters).toEqual({ storage: 1024, cpu: 10, memory: 2048 });
  });

  it("pause and resume, keeping the data set, and refuse writes while paused", async () => {
    await start();
    const id = await createPostgres();
    advance();
    const data = `${PG}/${id}/data`;
    expect((await call("PUT", `${data}/greeting`, { value: "hello" })).status).toBe(204);
    expect((await call("PUT", `${data}/count`, { value: { n: 3 } })).status).toBe(204);

    expect((await call("PATCH", `${PG}/${id}`, { id, teamId: 7, pause: true })).status).toBe(204);
    const pausing = await observe(id);
    expect(pausing.pause).toBe(false);
    expect(pausing.details).toMatchObject({ ready: false, phase: "pausing" });
    advance();
    const paused = await observe(id);
    expect(paused.pause).toBe(true);
    expect(paused.details).toMatchObject({ ready: false, phase: "paused" });

    expect(await call("PUT", `${data}/greeting`, { value: "bye" })).toEqual({
      status: 409,
      body: { error: `service ${id} is paused and does not accept writes` },
    });
    expect((await call("DELETE", `${data}/greeting`)).status).toBe(409);
    expect((await call("GET", data)).body).toEqual({ count: { n: 3 }, greeting: "hello" });

    expect((await call("PATCH", `${PG}/${id}`, { id, teamId: 7, pause: false })).status).toBe(204);
    expect((await observe(id)).details.phase).toBe("resuming");
    advance();
    const resumed = await observe(id);
    expect(resumed.pause).toBe(false);
    expect(resumed.details).toMatchObject({ ready: true, phase: "running" });
    expect((await call("GET", data)).body).toEqual({ count: { n: 3 }, greeting: "hello" });
    expect((await call("DELETE", `${data}/greeting`)).status).toBe(204);
    expect((await call("DELETE", `${data}/greeting`)).status).toBe(404);
    expect((await call("GET", data)).body).toEqual({ count: { n: 3 } });
  });

  it("create a service paused when asked to, and treat spelling out a default as no change", async () => {
    await start();
    const id = await createPostgres({ pause: true, config: {} });
    advance();
    expect(await observe(id)).toMatchObject({ pause: true, details: { phase: "paused", ready: false } });
    const patch = { id, teamId: 7, pause: false, config: { userName: "app", version: "17.9" } };
    expect((await call("PATCH", `${PG}/${id}`, patch)).status).toBe(204);
    advance();
    expect(await observe(id)).toMatchObject({
      pause: false,
      config: { userName: "app", version: "17.9" },
      details: { phase: "running", dsn: `postgresql://app@${id}.postgres.landform.internal:5432/app` },
    });
    const s3 = {
      id: randomUUID(),
      teamId: 1,
      pause: true,
      config: { accessKey: "AKIAIOSFODNN7EXAMPLE", initialBucketName: "paused-from-start" },
      secrets: { secretKey: "s".repeat(40) },
    };
    expect((await call("POST", "/api/v1/s3", s3)).status).toBe(201); // s3 can pause, so it may start paused
  });

  it("record every data change in the service's change log", async () => {
    await start();
    const id = await createPostgres();
    advance();
    await call("PUT", `${PG}/${id}/data/a`, { value: 1 });
    advance(5);
    await call("PUT", `${PG}/${id}/data/a`, { value: 2 });
    await call("DELETE", `${PG}/${id}/data/a`);
    await backends.close();
    const store = new ReferenceStore(dir);
    try {
      const changes = store
        .dataChanges("postgres", id)
        .map(({ at, key, value, deleted }) => ({ at, key, value, deleted }));
      expect(changes).toEqual([
        { at: clock - 5, key: "a", value: 1, deleted: false },
        { at: clock, key: "a", value: 2, deleted: false },
        { at: clock, key: "a", value: undefined, deleted: true },
      ]);
    } finally {
      store.close();
    }
  });

  it("keep services, their state and their data across a restart", async () => {
    await start();
    const id = await createPostgres();
    advance();
    await call("PUT", `${PG}/${id}/data/k`, { value: "kept" });
    await call("PATCH", `${PG}/${id}`, { id, teamId: 7, pause: true });
    await backends.close();

    await start();
    expect((await call("GET", PG)).body).toEqual([id]);
    advance();
    expect((await observe(id)).details.phase).toBe("paused");
    expect((await call("GET", `${PG}/${id}/data`)).body).toEqual({ k: "kept" });
    expect(fs.existsSync(path.join(dir, "reference-backends.sqlite"))).toBe(true);
  });

  it("delete a service with its data", async () => {
    await start();
    const id = await createPostgres();
    advance();
    await call("PUT", `${PG}/${id}/data/k`, { value: 1 });
    expect((await call("DELETE", `${PG}/${id}`)).status).toBe(204);
    expect((await call("GET", PG)).body).toEqual([]);
    expect((await call("GET", `${PG}/${id}/data`)).status).toBe(404);
    expect((await call("DELETE", `${PG}/${id}`)).status).toBe(404);
    expect((await call("POST", PG, postgresBody(id))).status).toBe(201);
  });

  it("serve redis and babelfish with their own details, and keep s3 data across a pause", async () => {
    await start();
    const r = randomUUID();
    const created = await call("POST", "/api/v1/redis", {
      id: r,
      teamId: 1,
      customSubdomain: "cache",
      plan: { id: 1, parameters: {} },
      config: {},
      secrets: { password: REDIS_PASSWORD },
    });
    expect(created.status).toBe(201);
    const b = randomUUID();
    await call("POST", "/api/v1/babelfish", {
      ...postgresBody(b),
      config: {},
      secrets: { superuserPassword: SUPERUSER_PASSWORD },
    });
    const s = randomUUID();
    await call("POST", "/api/v1/s3", {
      id: s,
      teamId: 1,
      plan: { id: 0, parameters: { maxObjects: 1 } },
      config: { accessKey: "AKIAIOSFODNN7EXAMPLE", initialBucketName: "kept-across-pause" },
      secrets: { secretKey: "s".repeat(40) },
    });
    advance();
    expect((await observe(r, "/api/v1/redis")).details).toMatchObject({
      hostname: "cache.redis.landform.internal",
      port: 6379,
      dsn: "redis://cache.redis.landform.internal:6379",
      ready: true,
    });
    expect((await observe(b, "/api/v1/babelfish")).details).toMatchObject({
      port: 1433,
      pgPort: 5432,
      dsn: `mssql://postgres@${b}.babelfish.landform.internal:1433/master`,
    });
    expect((await call("PUT", `/api/v1/s3/${s}/data/one`, { value: 1 })).status).toBe(204);
    expect((await call("PUT", `/api/v1/s3/${s}/data/two`, { value: 2 })).body).toEqual({
      error: "the plan allows at most 1 objects (maxObjects)",
    });
    expect((await call("PATCH", `/api/v1/s3/${s}`, { id: s, teamId: 1, pause: true })).status).toBe(204);
    advance();
    expect((await observe(s, "/api/v1/s3")).pause).toBe(true);
    expect((await call("GET", `/api/v1/s3/${s}/data`)).body).toEqual({ one: 1 });
    expect((await call("PATCH", `/api/v1/s3/${s}`, { id: s, teamId: 1, pause: false })).status).toBe(204);
    advance();
    expect((await observe(s, "/api/v1/s3")).pause).toBe(false);
    expect((await call("GET", `/api/v1/s3/${s}/data`)).body).toEqual({ one: 1 });
  });

  it("never put a secret in an answer or a log line", () => {
    expectNoSecretSeen(100);
  });
});
