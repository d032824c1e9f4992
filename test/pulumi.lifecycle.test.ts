/**
 * ManagedService through the real Pulumi CLI, end to end: one stack taken
 * through its life in ordered steps (each `pulumi up` costs seconds), against
 * `landform serve` on a free port and a real S3-compatible store for backups.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodesphereClient, type schemas, waitForState } from "../sdk";
import { PulumiProgram, stepsFor } from "./support/pulumi";
import { type S3Server, startS3Server } from "./support/s3";
import { ServedControlPlane } from "./support/serve";

const TOKEN = "tok-Pq93-lighthouse-mirror";
const USER_PASSWORD = "upw-Hx52-saffron-quarry";
const SUPERUSER_PASSWORD = "supw-Lm07-cobalt-meadow";
const NEW_SUPERUSER_PASSWORD = "supw-Rt66-amber-harbor";
const REDIS_PASSWORD = "rpw-Ka19-juniper-tide";

let cp: ServedControlPlane;
let s3: S3Server;
let api: CodesphereClient;
let pulumi: PulumiProgram;

function postgres(overrides: { plan?: object; config?: object; superuserPassword?: string } = {}) {
  return {
    name: "orders-db",
    provider: { name: "postgres", version: "v1" },
    plan: overrides.plan ?? { id: 0, parameters: { storage: 1024 } },
    config: overrides.config ?? { version: "16.13", userName: "orders" },
    secrets: {
      userPassword: USER_PASSWORD,
      superuserPassword: overrides.superuserPassword ?? SUPERUSER_PASSWORD,
    },
    backups: {
      intervalH: 24,
      deleteRetentionDays: 7,
      config: {
        endpointUrl: s3.endpoint,
        destinationPath: "s3://landform-backups/pulumi",
        accessKeyId: s3.accessKey,
      },
      secrets: { secretKey: s3.secretKey },
    },
  };
}

function redis(overrides: { config?: object; pause?: boolean } = {}) {
  return {
    name: "orders-cache",
    provider: { name: "redis", version: "v1" },
    plan: { id: 0 },
    config: overrides.config ?? { maxmemoryPolicy: "noeviction" },
    secrets: { password: REDIS_PASSWORD },
    ...(overrides.pause !== undefined ? { pause: overrides.pause } : {}),
  };
}

async function serviceNamed(
  name: string,
  includeDeleted = false,
): Promise<schemas.ManagedService | undefined> {
  const all = await api.managedServices.list({ team: 1, includeDeleted });
  return all.find((s) => s.name === name);
}

async function ids(): Promise<Record<string, string | undefined>> {
  const recorded = await pulumi.managedServices();
  return Object.fromEntries(Object.entries(recorded).map(([k, r]) => [k, r.id]));
}

beforeAll(async () => {
  [cp, s3] = await Promise.all([
    ServedControlPlane.start({ tokens: [`${TOKEN}=1`], operationDelayMs: 150 }),
    startS3Server(),
  ]);
  await s3.bucket("landform-backups");
  api = new CodesphereClient({ baseUrl: cp.apiUrl, token: TOKEN });
  pulumi = await PulumiProgram.create({ apiUrl: cp.apiUrl, token: TOKEN });
});

afterAll(async () => {
  pulumi?.remove();
  await api?.close();
  await Promise.all([cp?.close(), s3?.close()]);
});

describe("a stack of managed services, driven by the pulumi CLI", () => {
  it("up creates the services and the control plane shows them synchronized", async () => {
    pulumi.declare({ services: { db: postgres(), cache: redis() } });
    await pulumi.up();

    const db = await serviceNamed("orders-db");
    const cache = await serviceNamed("orders-cache");
    expect(db?.status.state).toBe("synchronized");
    expect(cache?.status.state).toBe("synchronized");
    expect(db?.backups).toMatchObject({ enabled: true, intervalH: 24, deleteRetentionDays: 7 });
    expect(await ids()).toEqual({ db: db?.id, cache: cache?.id });

    const outputs = await pulumi.outputs(true);
    expect(outputs.db).toMatchObject({ id: db?.id, status: "synchronized", hostname: db?.details?.hostname });
    expect(outputs.dbDsn).toBe(db?.details?.dsn);
  });

  it("a second preview shows no changes", async () => {
    await pulumi.run(["preview", "--expect-no-changes"]);
  });

  it("changing plan or config updates in place", async () => {
    const before = await ids();
    pulumi.declare({
      services: {
        db: postgres({ plan: { id: 1, parameters: { storage: 6144 } } }),
        cache: redis({ config: { maxmemoryPolicy: "allkeys-lru" } }),
      },
    });
    const plan = await pulumi.preview();
    expect(stepsFor(plan, "db")).toEqual(["update"]);
    expect(stepsFor(plan, "cache")).toEqual(["update"]);

    await pulumi.up();
    expect(await ids()).toEqual(before);
    const db = await serviceNamed("orders-db");
    expect(db?.plan).toMatchObject({ id: 1, parameters: { storage: 6144 } });
    expect(db?.status.state).toBe("synchronized");
    expect((await serviceNamed("orders-cache"))?.config).toMatchObject({ maxmemoryPolicy: "allkeys-lru" });
    await pulumi.run(["preview", "--expect-no-changes"]);
  });

  it("changing a secret updates in place, detected by its fingerprint", async () => {
    const before = await ids();
    pulumi.declare({
      services: {
        db: postgres({
          plan: { id: 1, parameters: { storage: 6144 } },
          superuserPassword: NEW_SUPERUSER_PASSWORD,
        }),
        cache: redis({ config: { maxmemoryPolicy: "allkeys-lru" } }),
      },
    });
    const plan = await pulumi.preview();
    expect(stepsFor(plan, "db")).toEqual(["update"]);
    expect(stepsFor(plan, "cache")).toEqual([]); // unchanged: no step
    await pulumi.up();
    expect(await ids()).toEqual(before);
    await pulumi.run(["preview", "--expect-no-changes"]);
  });

  const current = () => ({
    db: postgres({
      plan: { id: 1, parameters: { storage: 6144 } },
      superuserPassword: NEW_SUPERUSER_PASSWORD,
    }),
  });

  it("toggling pause pauses and resumes with no replacement", async () => {
    const before = await ids();
    pulumi.declare({
      services: { ...current(), cache: redis({ config: { maxmemoryPolicy: "allkeys-lru" }, pause: true }) },
    });
    await pulumi.up();
    let cache = await serviceNamed("orders-cache");
    expect(cache).toMatchObject({ pause: true, status: { state: "paused" } });
    expect(await ids()).toEqual(before);

    pulumi.declare({
      services: { ...current(), cache: redis({ config: { maxmemoryPolicy: "allkeys-lru" }, pause: false }) },
    });
    await pulumi.up();
    cache = await serviceNamed("orders-cache");
    expect(cache).toMatchObject({ pause: false, status: { state: "synchronized" } });
    expect(await ids()).toEqual(before);
  });

  it("changing an immutable field replaces the service", async () => {
    const before = await ids();
    pulumi.declare({
      services: {
        db: postgres({
          plan: { id: 1, parameters: { storage: 6144 } },
          config: { version: "16.13", userName: "billing" },
          superuserPassword: NEW_SUPERUSER_PASSWORD,
        }),
        cache: redis({ config: { maxmemoryPolicy: "allkeys-lru" }, pause: false }),
      },
    });
    const plan = await pulumi.preview();
    expect(stepsFor(plan, "db")).toEqual(["replace"]);
    expect(stepsFor(plan, "cache")).toEqual([]); // unchanged: no step

    await pulumi.up();
    const after = await ids();
    expect(after.cache).toBe(before.cache);
    expect(after.db).not.toBe(before.db);
    const db = await serviceNamed("orders-db");
    expect(db).toMatchObject({
      id: after.db,
      config: { userName: "billing" },
      status: { state: "synchronized" },
    });
    // The replaced one had backups: soft-deleted, kept for its retention.
    const old = (await api.managedServices.list({ team: 1, includeDeleted: true })).find(
      (s) => s.id === before.db,
    );
    expect(old?.status.state).toBe("deleted");
  });

  const settled = () => ({
    db: postgres({
      plan: { id: 1, parameters: { storage: 6144 } },
      config: { version: "16.13", userName: "billing" },
      superuserPassword: NEW_SUPERUSER_PASSWORD,
    }),
    cache: redis({ config: { maxmemoryPolicy: "allkeys-lru" }, pause: false }),
  });

  it("refresh after an out-of-band change reports and records the drift; up restores the code's values", async () => {
    pulumi.declare({ services: settled() });
    await pulumi.run(["refresh", "--yes"]);
    await pulumi.run(["preview", "--expect-no-changes"]);

    const cacheId = (await ids()).cache!;
    await api.managedServices.update(cacheId, { config: { maxmemoryPolicy: "volatile-ttl" } });
    await waitForState(api, cacheId, "synchronized", { timeoutMs: 20_000 });

    const refresh = await pulumi.run(["refresh", "--yes", "--diff"]);
    expect(refresh.stdout).toMatch(/maxmemoryPolicy.*allkeys-lru.*=>.*volatile-ttl/);
    const recorded = (await pulumi.managedServices()).cache!;
    expect(recorded.outputs?.config).toEqual({ maxmemoryPolicy: "volatile-ttl" });

    const plan = await pulumi.preview();
    expect(stepsFor(plan, "cache")).toEqual(["update"]);
    await pulumi.up();
    expect((await serviceNamed("orders-cache"))?.config).toEqual({ maxmemoryPolicy: "allkeys-lru" });
    await pulumi.run(["preview", "--expect-no-changes"]);
  });

  it("refresh after an out-of-band delete drops the service; up creates it again", async () => {
    const cacheId = (await ids()).cache!;
    await api.managedServices.delete(cacheId);
    await pulumi.run(["refresh", "--yes"]);
    expect((await ids()).cache).toBeUndefined();
    await pulumi.up();
    const cache = await serviceNamed("orders-cache");
    expect(cache?.status.state).toBe("synchronized");
    expect((await ids()).cache).toBe(cache?.id);
  });

  it("the exported stack state holds no secret value in plain text", async () => {
    const exported = await pulumi.exportText();
    const cache = await serviceNamed("orders-cache");
    const db = await serviceNamed("orders-db");
    // Both running, so both have a DSN (String(undefined) would be searched for instead).
    expect(typeof cache?.details?.dsn, "cache DSN").toBe("string");
    expect(typeof db?.details?.dsn, "db DSN").toBe("string");
    const secrets = {
      TOKEN,
      USER_PASSWORD,
      SUPERUSER_PASSWORD,
      NEW_SUPERUSER_PASSWORD,
      REDIS_PASSWORD,
      s3SecretKey: s3.secretKey,
      dbDsn: String(db?.details?.dsn),
      cacheDsn: String(cache?.details?.dsn),
    };
    for (const [name, value] of Object.entries(secrets)) {
      expect(value.length, name).toBeGreaterThan(8);
      expect(exported.includes(value), `${name} appears in plain text`).toBe(false);
    }
    // The encrypted values are all there: the passphrase opens them.
    const shown = (await pulumi.run(["stack", "export", "--show-secrets"])).stdout;
    for (const value of [TOKEN, USER_PASSWORD, NEW_SUPERUSER_PASSWORD, REDIS_PASSWORD]) {
      expect(shown).toContain(value);
    }
  });

  it("destroy deletes the services (a soft delete for the one with backups)", async () => {
    const { db, cache } = await ids();
    await pulumi.run(["destroy", "--yes", "--skip-preview"]);
    expect(await pulumi.managedServices()).toEqual({});
    const all = await api.managedServices.list({ team: 1, includeDeleted: true });
    expect(all.find((s) => s.id === db)?.status.state).toBe("deleted");
    expect(all.find((s) => s.id === cache)).toBeUndefined();
    expect(await api.managedServices.list({ team: 1 })).toEqual([]);
  });
});
