/**
 * The control plane under crashes and failing backends, and with providers
 * that come and go: desired state is durable, work resumes after a restart,
 * failures are retried with backoff and explained in events.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type CodesphereClient, waitForState } from "../sdk";
import { clientFor, PG_PASSWORD, postgresRequest, SECRETS } from "./support/fixtures";
import { contractViolation, type Exchange } from "./support/openapi";
import { ServedControlPlane } from "./support/serve";

// This suite is about the control plane's retries against a faulty backend: the services are simulated.
// Real servers are covered by test/engines.*.test.ts (landform serve reads this from its environment).
process.env.LANDFORM_ENGINES = "simulated";

const running: { cp: ServedControlPlane; client: CodesphereClient }[] = [];
const exchanges: Exchange[] = [];

async function start(operationDelayMs: number, options: { testClock?: boolean } = {}) {
  const cp = await ServedControlPlane.start({ tokens: ["ops-token=1"], operationDelayMs, ...options });
  const client = clientFor(cp, "ops-token", exchanges);
  running.push({ cp, client });
  return { cp, client };
}

afterEach(async () => {
  for (const { cp, client } of running.splice(0)) {
    await client.close();
    // Whatever a test did, nothing it printed may hold a secret.
    for (const secret of SECRETS) expect(cp.output).not.toContain(secret);
    await cp.close();
  }
  expect(exchanges.map(contractViolation).filter(Boolean)).toEqual([]);
  for (const secret of SECRETS) expect(exchanges.map((x) => x.body).join("\n")).not.toContain(secret);
});

describe("a restart in the middle of a creation", () => {
  it("still reaches synchronized, with nothing lost and nothing created twice", async () => {
    const { cp, client } = await start(1500);
    const created = await client.managedServices.create(postgresRequest("restart-db"));
    // Let the reconciler reach the backend, then kill the process before the backend is done.
    await waitForState(
      client,
      created.id,
      (s) => (s.recentEvents ?? []).some((e) => e.eventName === "BackendCreateAccepted"),
      {
        timeoutMs: 10_000,
      },
    );
    await cp.restart("SIGKILL");
    const fresh = clientFor(cp, "ops-token", exchanges);
    running.push({ cp, client: fresh });

    const synced = await waitForState(fresh, created.id, "synchronized", { timeoutMs: 20_000 });
    expect(synced.name).toBe("restart-db");
    const all = await fresh.managedServices.list({ team: 1, includeDeleted: true });
    expect(all.filter((s) => s.name === "restart-db")).toHaveLength(1);
    const held = await cp.backend("GET", "/api/v1/postgresql");
    expect(held.body).toEqual([created.id]);
  });

  it("keeps a request accepted just before a crash", async () => {
    const { cp, client } = await start(50);
    const created = await client.managedServices.create(postgresRequest("crash-db"));
    await cp.restart("SIGKILL");
    const fresh = clientFor(cp, "ops-token", exchanges);
    running.push({ cp, client: fresh });
    await waitForState(fresh, created.id, "synchronized", { timeoutMs: 20_000 });
    expect((await cp.backend("GET", "/api/v1/postgresql")).body).toEqual([created.id]);
  });
});

describe("a backend that fails 30% of its calls", () => {
  it("still gets every service synchronized, and the events say what failed", async () => {
    const { cp, client } = await start(20, { testClock: true });
    expect((await cp.backend("POST", "/admin/faults", { failRate: 0.3 })).status).toBe(200);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++)
      ids.push((await client.managedServices.create(postgresRequest(`flaky-${i}`))).id);
    // A step makes two calls, so about half of all steps fail, and a run of
    // failures backs off for up to a minute a retry: the control plane's clock
    // moves 5 s every 250 ms so those waits pass (every retry is still made).
    const ticker = setInterval(() => void cp.advanceClock(5_000).catch(() => {}), 250);
    const services = await Promise.all(
      ids.map((id) => waitForState(client, id, "synchronized", { timeoutMs: 90_000 })),
    ).finally(() => clearInterval(ticker));
    expect(services.every((s) => s.status.state === "synchronized")).toBe(true);

    const events = (
      await Promise.all(ids.map((id) => client.managedServices.events(id, { limit: 1000 })))
    ).flatMap((p) => p.events);
    const failures = events.filter((e) => e.eventName === "BackendCallFailed");
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]?.body).toMatch(/injected fault.*retry \d+ in \d+ ms/);
    await cp.backend("DELETE", "/admin/faults");
  }, 120_000);

  it("retries failed calls during an update and converges", async () => {
    const { cp, client } = await start(20);
    const created = await client.managedServices.create(postgresRequest("lonely-db"));
    await waitForState(client, created.id, "synchronized", { timeoutMs: 20_000 });
    await cp.backend("POST", "/admin/faults", { failNext: 2, status: 503 });
    await client.managedServices.update(created.id, { config: { max_connections: "150" } });
    const synced = await waitForState(client, created.id, "synchronized", { timeoutMs: 30_000 });
    expect(synced.config.max_connections).toBe("150");
    const events = (await client.managedServices.events(created.id)).events.map((e) => e.eventName);
    expect(events).toContain("BackendCallFailed");
  });
});

describe("custom providers", () => {
  it("serve services through any backend URL and key, and turn them invalid when removed", async () => {
    const { cp, client } = await start(20);
    const catalog = await client.providers.list({ teamId: 1 });
    const template = catalog.find((p) => p.name === "postgresql" && p.schemaVersion === "v15")!;
    const {
      backend: _backend,
      scope: _scope,
      version: _version,
      schemaVersion: _schemaVersion,
      ...definition
    } = template;
    const registered = await client.providers.create({
      ...definition,
      name: "team-pg",
      version: "v1",
      capabilities: { pause: false, backups: false },
      scope: { type: "team", teamIds: [1] },
      backend: { api: { endpoint: `${cp.backendsUrl}/api/v1/postgresql`, secret: cp.backendKey } },
    } as Parameters<typeof client.providers.create>[0]);
    expect(registered).not.toHaveProperty("backend.api.secret");

    const created = await client.managedServices.create({
      ...postgresRequest("custom-db"),
      provider: { name: "team-pg", version: "v1" },
    });
    await waitForState(client, created.id, "synchronized", { timeoutMs: 20_000 });

    const pause = await client.managedServices.update(created.id, { pause: true }).catch((e: unknown) => e);
    expect((pause as { status?: number }).status).toBe(400);
    expect((pause as { detail?: string }).detail).toMatch(/^pause: team-pg v1 cannot pause/);

    await client.providers.delete("team-pg", "v1");
    const invalid = await waitForState(client, created.id, "invalid provider", { timeoutMs: 20_000 }).catch(
      (e: { service?: unknown }) => e.service,
    );
    expect((invalid as { status: { state: string } }).status.state).toBe("invalid provider");
    expect(JSON.stringify(await client.providers.list())).not.toContain(cp.backendKey);
  });

  it("show unknown while their backend cannot be reached, and recover once it can", async () => {
    const { cp, client } = await start(20);
    const template = (await client.providers.list()).find(
      (p) => p.name === "postgresql" && p.schemaVersion === "v15",
    )!;
    const { backend: _b, scope: _s, version: _v, schemaVersion: _sv, ...definition } = template;
    const deadPort = await closedPort();
    await client.providers.create({
      ...definition,
      name: "far-pg",
      version: "v1",
      // A team token registers team providers only; global ones need an admin token (docs/authorization.md).
      scope: { type: "team", teamIds: [1] },
      backend: { api: { endpoint: `http://127.0.0.1:${deadPort}/api/v1/postgresql`, secret: cp.backendKey } },
    } as Parameters<typeof client.providers.create>[0]);
    const created = await client.managedServices.create({
      ...postgresRequest("far-db"),
      provider: { name: "far-pg" },
    });
    const unknown = await waitForState(client, created.id, "unknown", { timeoutMs: 20_000 });
    expect(unknown.recentEvents?.at(-1)).toMatchObject({
      eventName: "BackendUnreachable",
      severityNumber: 17,
    });

    await client.providers.update("far-pg", "v1", {
      backend: { api: { endpoint: `${cp.backendsUrl}/api/v1/postgresql`, secret: cp.backendKey } },
    });
    const synced = await waitForState(client, created.id, "synchronized", { timeoutMs: 90_000 });
    expect(synced.recentEvents?.map((e) => e.eventName)).toContain("BackendReachable");
    void PG_PASSWORD;
  }, 120_000);
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
