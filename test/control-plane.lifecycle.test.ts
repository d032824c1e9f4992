/**
 * The reference control plane, started as a user starts it (`landform serve`
 * on a free port with its own data dir), driven through the SDK client.
 * (Deletion with backups, which needs an S3 store, is in backups.control-plane.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CodesphereClient,
  ConflictError,
  NotFoundError,
  type schemas,
  waitForDeleted,
  waitForState,
} from "../sdk";
import { clientFor, PG_PASSWORD, postgresRequest, SECRETS } from "./support/fixtures";
import { contractViolation, type Exchange } from "./support/openapi";
import { ServedControlPlane } from "./support/serve";

let cp: ServedControlPlane;
let alpha: CodesphereClient;
let beta: CodesphereClient;
const exchanges: Exchange[] = [];

beforeAll(async () => {
  cp = await ServedControlPlane.start({
    tokens: ["alpha-token=1,123", "beta-token=2"],
    operationDelayMs: 30,
  });
  alpha = clientFor(cp, "alpha-token", exchanges);
  beta = clientFor(cp, "beta-token", exchanges);
});

afterAll(async () => {
  await alpha?.close();
  await beta?.close();
  await cp?.close();
});

describe("a managed service's lifecycle", () => {
  let id: string;

  it("is created at once in state creating, then reaches synchronized with details", async () => {
    const created = await alpha.managedServices.create(postgresRequest("orders-db"));
    expect(created.status.state).toBe("creating");
    id = created.id;
    const synced = await waitForState(alpha, id, "synchronized", { timeoutMs: 20_000 });
    expect(synced.status).toEqual({ state: "synchronized", detailsRef: expect.any(String) });
    expect(synced.details).toMatchObject({
      hostname: expect.any(String),
      port: expect.any(Number),
      ready: true,
    });
    expect(synced.recentEvents?.map((e) => e.eventName)).toEqual(
      expect.arrayContaining(["ServiceCreationRequested", "BackendCreateAccepted", "ServiceSynchronized"]),
    );
  });

  it("updates config and plan in place: updating, then synchronized with the new values", async () => {
    const updated = await alpha.managedServices.update(id, {
      config: { max_connections: "200" },
      plan: { id: 2, parameters: { storage: 20 } },
    });
    expect(updated.status.state).toBe("updating");
    const synced = await waitForState(alpha, id, "synchronized", { timeoutMs: 20_000 });
    expect(synced.config).toMatchObject({ max_connections: "200" });
    expect(synced.plan).toMatchObject({ id: 2, parameters: { storage: 20 } });
  });

  it("pauses (pausing, then paused) and resumes (unpausing, then synchronized)", async () => {
    const pausing = await alpha.managedServices.update(id, { pause: true });
    expect(pausing.status.state).toBe("pausing");
    const paused = await waitForState(alpha, id, "paused", { timeoutMs: 20_000 });
    expect(paused.pause).toBe(true);
    const resuming = await alpha.managedServices.update(id, { pause: false });
    expect(resuming.status.state).toBe("unpausing");
    const synced = await waitForState(alpha, id, "synchronized", { timeoutMs: 20_000 });
    expect(synced.pause).toBe(false);
  });

  it("answers an unchanged update without starting any work", async () => {
    const same = await alpha.managedServices.update(id, { config: { max_connections: "200" } });
    expect(same.status.state).toBe("synchronized");
  });

  it("deletes a service without backups at once: secrets purged, the record gone", async () => {
    await alpha.managedServices.delete(id);
    expect(await waitForDeleted(alpha, id, { timeoutMs: 20_000 })).toBeUndefined();
    await expect(alpha.managedServices.get(id)).rejects.toBeInstanceOf(NotFoundError);
    const all = await alpha.managedServices.list({ team: 1, includeDeleted: true });
    expect(all.map((s) => s.id)).not.toContain(id);
  });
});

describe("errors", () => {
  it("refuses a second live service with the same name in a team with 409", async () => {
    const first = await alpha.managedServices.create(postgresRequest("unique-db"));
    const error = await alpha.managedServices.create(postgresRequest("unique-db")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).detail).toContain("unique-db");
    await alpha.managedServices.delete(first.id);
  });

  it("hides another team's service: get, update and delete answer 404", async () => {
    const mine = await alpha.managedServices.create(postgresRequest("private-db"));
    for (const attempt of [
      () => beta.managedServices.get(mine.id),
      () => beta.managedServices.update(mine.id, { pause: true }),
      () => beta.managedServices.delete(mine.id),
    ]) {
      await expect(attempt()).rejects.toBeInstanceOf(NotFoundError);
    }
    expect((await alpha.managedServices.get(mine.id)).name).toBe("private-db");
    await alpha.managedServices.delete(mine.id);
  });

  it("answers 401 with a Problem when the token is missing or unknown", async () => {
    const headerSets: Record<string, string>[] = [{}, { authorization: "Bearer nope" }];
    for (const headers of headerSets) {
      const res = await fetch(`${cp.apiUrl}/managed-services?team=1&includeDeleted=false`, { headers });
      const body = await res.text();
      exchanges.push({ method: "GET", path: "/api/managed-services?team=1", status: res.status, body });
      expect(res.status).toBe(401);
      expect(JSON.parse(body)).toMatchObject({
        status: 401,
        title: expect.any(String),
        traceId: expect.any(String),
      });
    }
  });

  it("rejects bad input with a 400 naming the field and the rule, and stores nothing", async () => {
    const before = await alpha.managedServices.list({ team: 1, includeDeleted: true });
    const cases: [unknown, RegExp][] = [
      [{ ...postgresRequest("bad-1"), plan: { id: 9, parameters: {} } }, /plan\.id: plan 9 does not exist/],
      [{ ...postgresRequest("bad-2"), config: { max_connections: "many" } }, /config\.max_connections/],
      [{ ...postgresRequest("bad-3"), provider: { name: "postgresql", version: "99" } }, /provider\.version/],
      [{ ...postgresRequest("bad-4"), secrets: { username: "admin" } }, /secrets\.password: is required/],
      [{ ...postgresRequest("bad-5"), pasue: true }, /pasue/],
    ];
    for (const [body, detail] of cases) {
      const res = await fetch(`${cp.apiUrl}/managed-services`, {
        method: "POST",
        headers: { authorization: "Bearer alpha-token", "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      exchanges.push({ method: "POST", path: "/api/managed-services", status: res.status, body: text });
      expect(res.status, text).toBe(400);
      expect(JSON.parse(text).detail).toMatch(detail);
    }
    // Nothing new: a service an earlier test deleted may be purged meanwhile, so the list can only shrink.
    const known = new Set(before.map((s) => s.id));
    const after = await alpha.managedServices.list({ team: 1, includeDeleted: true });
    expect(after.filter((s) => !known.has(s.id))).toEqual([]);
  });

  it("enforces update constraints of the catalog, naming the field and why", async () => {
    const created = await alpha.managedServices.create({
      teamId: 1,
      name: "constrained-db",
      provider: { name: "postgres", version: "v1" },
      plan: { id: 1, parameters: { storage: 2048 } },
      config: { version: "16.13", databaseName: "shop" },
      secrets: { userPassword: PG_PASSWORD, superuserPassword: `${PG_PASSWORD}-su` },
    });
    await waitForState(alpha, created.id, "synchronized", { timeoutMs: 20_000 });
    const refused: [schemas.UpdateManagedServiceRequest, RegExp][] = [
      [{ config: { databaseName: "other" } }, /config\.databaseName: is immutable/],
      [{ config: { version: "17.9" } }, /config\.version: allows only minor upgrades/],
      [{ plan: { id: 1, parameters: { storage: 1024 } } }, /plan\.parameters\.storage: can only increase/],
      [{ plan: { id: 1, parameters: { storage: 4096, cpu: 99 } } }, /plan\.parameters\.cpu: is read-only/],
    ];
    for (const [body, detail] of refused) {
      const error = await alpha.managedServices.update(created.id, body).catch((e: unknown) => e);
      expect((error as { status?: number }).status).toBe(400);
      expect((error as { detail?: string }).detail).toMatch(detail);
    }
    const after = await alpha.managedServices.get(created.id);
    expect(after.config).toMatchObject({ version: "16.13", databaseName: "shop" });
    expect(after.plan.parameters.storage).toBe(2048);
    await alpha.managedServices.delete(created.id);
  });
});

describe("the whole run", () => {
  it("answered every request as the published OpenAPI document says", () => {
    expect(exchanges.length).toBeGreaterThan(20);
    expect(exchanges.map(contractViolation).filter(Boolean)).toEqual([]);
  });

  it("never showed a secret in a response, an event or a log line", async () => {
    const events = await Promise.all(
      (await alpha.managedServices.list({ team: 1, includeDeleted: true })).map((s) =>
        alpha.managedServices.events(s.id, { limit: 1000 }),
      ),
    );
    const haystack = [cp.output, ...exchanges.map((x) => x.body), JSON.stringify(events)].join("\n");
    for (const secret of SECRETS) expect(haystack).not.toContain(secret);
  });
});
