import { randomUUID } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  backupsNotImplemented,
  type ReferenceBackendOptions,
  type ReferenceBackends,
  startReferenceBackends,
} from "./index";
import { ReferenceStore } from "./store";

const KEY = "test-backend-key";
const USER_PASSWORD = "user-pw-Zq81x";
const SUPERUSER_PASSWORD = "super-pw-Kd02y";
const REDIS_PASSWORD = "redis-pw-Mm47u";
const STORE_SECRET = "store-secret-Vx03y";
const SECRETS = [
  USER_PASSWORD,
  SUPERUSER_PASSWORD,
  REDIS_PASSWORD,
  "guide-pw-Ah55e",
  "new-pw-Pp19r",
  STORE_SECRET,
];

const dirs: string[] = [];
/** Every answer and log line of every test, to check that no secret leaks. */
const seen: string[] = [];

let dir: string;
let backends: ReferenceBackends;
let clock: number;

async function start(extra: Partial<ReferenceBackendOptions> = {}): Promise<ReferenceBackends> {
  backends = await startReferenceBackends({
    dataDir: dir,
    // The simulated lifecycle and data set; the real servers are covered by test/engines.*.test.ts.
    engines: false,
    key: KEY,
    operationDelayMs: 20,
    now: () => clock,
    log: (rec) => seen.push(JSON.stringify(rec)),
    ...extra,
  });
  return backends;
}

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are inspected freely
  body: any;
}

async function call(
  method: string,
  url: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<Reply> {
  const res = await fetch(`${backends.url}${url}`, {
    method,
    headers: { "x-api-key": KEY, "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  seen.push(text);
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const PG = "/api/v1/postgres";

function postgresBody(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    teamId: 7,
    plan: { id: 0, parameters: { storage: 1024 } },
    config: { userName: "shop", databaseName: "orders" },
    secrets: { userPassword: USER_PASSWORD, superuserPassword: SUPERUSER_PASSWORD },
    ...extra,
  };
}

async function createPostgres(extra: Record<string, unknown> = {}): Promise<string> {
  const id = randomUUID();
  expect((await call("POST", PG, postgresBody(id, extra))).status).toBe(201);
  return id;
}

async function observe(id: string, base = PG) {
  const reply = await call("GET", `${base}?id=${id}`);
  expect(reply.status).toBe(200);
  return reply.body[id];
}

function advance(ms = 20): void {
  clock += ms;
}

/** Polls `probe` (real time: background work does not follow the test clock) until it returns a value. */
async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A loopback port nothing listens on, found once: a backup store that refuses connections. */
let closedPort = 0;
function unreachableStore() {
  return {
    config: {
      endpointUrl: `http://127.0.0.1:${closedPort}`,
      destinationPath: "s3://landform-backups/prefix",
      accessKeyId: "access-id",
    },
    secrets: { secretKey: STORE_SECRET },
  };
}

beforeAll(async () => {
  closedPort = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "landform-reference-"));
  dirs.push(dir);
  clock = 1_700_000_000_000;
});

afterEach(async () => {
  await backends?.close();
});

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

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

  it("answer 404 for an unknown provider or path", async () => {
    await start();
    expect(await call("GET", "/api/v1/mysql")).toEqual({
      status: 404,
      body: { error: "unknown provider mysql" },
    });
    expect((await call("GET", "/api/v2/postgres")).status).toBe(404);
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

  it("reject bad requests with the contract's status codes", async () => {
    await start();
    const id = await createPostgres();
    expect(await call("POST", PG, postgresBody(id))).toEqual({
      status: 409,
      body: { error: `service ${id} already exists` },
    });
    const { id: _, ...noId } = postgresBody(randomUUID());
    expect(await call("POST", PG, noId)).toEqual({ status: 400, body: { error: "id is required" } });
    for (const teamId of [undefined, 0, -1, 1.5, "7"]) {
      expect((await call("POST", PG, postgresBody(randomUUID(), { teamId }))).status, String(teamId)).toBe(
        400,
      );
    }
    expect(await call("POST", PG, "{not json")).toEqual({
      status: 400,
      body: { error: "body is not valid JSON" },
    });
    expect((await call("POST", PG, [])).status).toBe(400);
    expect((await call("POST", PG, postgresBody(randomUUID(), { config: "x" }))).status).toBe(400);

    const other = randomUUID();
    expect(await call("PATCH", `${PG}/${id}`, { id: other, teamId: 7 })).toEqual({
      status: 400,
      body: { error: "id in the body must equal the id in the path" },
    });
    expect((await call("PATCH", `${PG}/${id}`, { id })).status).toBe(400);
    expect((await call("PATCH", `${PG}/${other}`, { id: other, teamId: 7 })).status).toBe(404);
    expect((await call("DELETE", `${PG}/${other}`)).status).toBe(404);
    expect((await call("PATCH", `${PG}/${id}`, { id, teamId: 7, pause: "yes" })).status).toBe(400);
    expect((await call("PUT", PG)).status).toBe(405);
  });

  it("reject with 422 what breaks the catalog's schemas or update constraints", async () => {
    await start();
    const bad = await call(
      "POST",
      PG,
      postgresBody(randomUUID(), {
        config: { version: "9.6", extra: 1 },
        secrets: { userPassword: 12345 },
      }),
    );
    expect(bad.status).toBe(422);
    expect(bad.body.error).toContain("config.version: must be one of 17.9");
    expect(bad.body.error).toContain("config.extra: is not a known field");
    expect(bad.body.error).toContain("secrets.userPassword: must be string");
    expect(
      (await call("POST", PG, postgresBody(randomUUID(), { plan: { parameters: { storage: 100 } } }))).status,
    ).toBe(422);
    expect(
      (await call("POST", PG, postgresBody(randomUUID(), { plan: { id: 0, parameters: { cpu: 40 } } }))).body,
    ).toEqual({ error: "plan.parameters.cpu: must be 5" });

    const id = await createPostgres({ config: { version: "16.10" } });
    advance();
    const patch = (body: Record<string, unknown>) => call("PATCH", `${PG}/${id}`, { id, teamId: 7, ...body });
    expect((await patch({ config: { userName: "other" } })).body).toEqual({
      error: "config.userName: cannot change after create (immutable)",
    });
    expect((await patch({ secrets: { userPassword: "new-pw-Pp19r" } })).body).toEqual({
      error: "secrets.userPassword: cannot change after create (immutable)",
    });
    expect((await patch({ plan: { parameters: { storage: 512 } } })).body).toEqual({
      error: "plan.parameters.storage: may only increase (increase-only)",
    });
    expect((await patch({ config: { version: "17.6" } })).status).toBe(422);
    expect((await patch({ config: { version: "16.13" } })).status).toBe(204);
    expect((await patch({ secrets: { superuserPassword: "new-pw-Pp19r" } })).status).toBe(204);
    expect((await observe(id)).details.phase).toBe("updating");
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

  it("inject the next failures of contract calls on demand", async () => {
    await start();
    expect(
      (await call("POST", "/admin/faults", { failNext: 2, status: 503, provider: "postgres" })).body,
    ).toEqual({
      failNext: 2,
      failRate: 0,
      latencyMs: 0,
      status: 503,
      provider: "postgres",
    });
    expect((await call("GET", "/api/v1/redis")).status).toBe(200);
    expect((await call("GET", `${PG}/${randomUUID()}/data`)).status).toBe(404);
    expect(await call("GET", PG)).toEqual({ status: 503, body: { error: "injected fault" } });
    expect((await call("GET", "/admin/faults")).body.failNext).toBe(1);
    expect((await call("POST", PG, postgresBody(randomUUID()))).status).toBe(503);
    expect((await call("GET", PG)).body).toEqual([]);
    expect((await fetch(`${backends.url}/health`)).status).toBe(200);

    expect((await call("POST", "/admin/faults", { failRate: 1.5 })).body).toEqual({
      error: "failRate: must be a number from 0 to 1",
    });
    expect((await call("POST", "/admin/faults", { provider: "mysql" })).status).toBe(400);
  });

  it("fail a share of contract calls at the given rate, reproducibly", async () => {
    const draws = [0.1, 0.9, 0.4, 0.6];
    let i = 0;
    await start({ random: () => draws[i++ % draws.length]! });
    await call("POST", "/admin/faults", { failRate: 0.5, latencyMs: 5 });
    const statuses = [];
    for (let n = 0; n < 4; n++) statuses.push((await call("GET", PG)).status);
    expect(statuses).toEqual([502, 200, 502, 200]);

    await call("POST", "/admin/faults", { failRate: 1 });
    expect((await call("GET", PG)).status).toBe(502);
    expect((await call("DELETE", "/admin/faults")).status).toBe(204);
    expect((await call("GET", "/admin/faults")).body).toEqual({
      failNext: 0,
      failRate: 0,
      latencyMs: 0,
      status: 502,
    });
    expect((await call("GET", PG)).status).toBe(200);
  });

  it("never put a secret in an answer or a log line", () => {
    expect(seen.length).toBeGreaterThan(100);
    for (const text of seen) {
      for (const secret of [...SECRETS, KEY]) expect(text).not.toContain(secret);
    }
  });
});
