import { afterEach, describe, expect, it } from "vitest";
import { AbortError, AuthenticationError } from "./errors";
import type { LogRecord, ManagedService, ServiceStatus } from "./schemas";
import { rejection, scriptedClients } from "./test-client";
import { type Handler, managedService, problem, type Reply, SERVICE_ID } from "./test-server";
import { type PollInfo, WaitError, WaitTimeoutError, waitForDeleted, waitForState } from "./waiters";

const clients = scriptedClients();
afterEach(clients.cleanup);

/** No retries: the waiters' own polling is under test, not the transport's. */
function setup(handler: Handler) {
  return clients.setup(handler, { maxRetries: 0 });
}

const creating: ServiceStatus = { state: "creating" };
const synchronized: ServiceStatus = { state: "synchronized", detailsRef: "details/1" };

function answer(status: ServiceStatus, extra: Partial<ManagedService> = {}): Reply {
  return { status: 200, body: managedService({ status, ...extra }) };
}

function event(eventName: string, body: string): LogRecord {
  const now = new Date().toISOString();
  return {
    eventName,
    body,
    timestamp: now,
    observedTimestamp: now,
    severityNumber: 17,
    resource: `managed-service/${SERVICE_ID}`,
    attributes: {},
  };
}

describe("waitForState", () => {
  it("returns the service on the poll that first sees the target state", async () => {
    const { server, client } = await setup((_req, i) => answer(i < 3 ? creating : synchronized));
    const polls: PollInfo[] = [];

    const svc = await waitForState(client, SERVICE_ID, "synchronized", { onPoll: (p) => polls.push(p) });

    expect(svc.status.state).toBe("synchronized");
    expect(server.requests).toHaveLength(4);
    expect(polls.map((p) => p.service?.status.state)).toEqual([
      "creating",
      "creating",
      "creating",
      "synchronized",
    ]);
  });

  it("notices a change within a short poll interval, not a fixed sleep", async () => {
    const started = Date.now();
    const flipAt = started + 150;
    const { client } = await setup(() => answer(Date.now() >= flipAt ? synchronized : creating));

    await waitForState(client, SERVICE_ID, ["synchronized", "paused"]);

    const lag = Date.now() - flipAt;
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(150);
  });

  it("backs off from tens of milliseconds towards the maximum delay", async () => {
    const { server, client } = await setup(() => answer(creating));

    await expect(
      waitForState(client, SERVICE_ID, "synchronized", { timeoutMs: 400, minDelayMs: 20, maxDelayMs: 80 }),
    ).rejects.toBeInstanceOf(WaitTimeoutError);

    // Pauses of 20, 30, 45, 67, 80, 80... ms: about 8 polls in 400 ms, where a fixed 20 ms would make 20.
    expect(server.requests.length).toBeGreaterThanOrEqual(3);
    expect(server.requests.length).toBeLessThanOrEqual(11);
  });

  it("accepts a predicate as the target", async () => {
    const { client } = await setup((_req, i) => answer(synchronized, { pause: i >= 2 }));
    const svc = await waitForState(client, SERVICE_ID, (s) => s.pause);
    expect(svc.pause).toBe(true);
  });

  it("stops at once on invalid provider, quoting the service's recent events", async () => {
    const events = [
      event("Accepted", "desired state recorded"),
      event("ProviderNotFound", 'provider "postgresql" v99 is not in the catalog'),
    ];
    const { server, client } = await setup(() =>
      answer({ state: "invalid provider" }, { recentEvents: events }),
    );

    const error = await rejection(waitForState(client, SERVICE_ID, "synchronized", { timeoutMs: 5000 }));

    expect(error).toBeInstanceOf(WaitError);
    expect(error).not.toBeInstanceOf(WaitTimeoutError);
    const e = error as WaitError;
    expect(server.requests).toHaveLength(1);
    expect(e.service?.status.state).toBe("invalid provider");
    expect(e.recentEvents).toEqual(events);
    expect(e.message).toContain('has state "invalid provider" while waiting for "synchronized"');
    expect(e.message).toContain('[ProviderNotFound] provider "postgresql" v99 is not in the catalog');
  });

  it("keeps only the last few events in the message", async () => {
    const events = Array.from({ length: 12 }, (_, i) => event(`Step${i}`, `step ${i}`));
    const { client } = await setup(() => answer({ state: "invalid provider" }, { recentEvents: events }));

    const error = (await rejection(waitForState(client, SERVICE_ID, "synchronized"))) as WaitError;

    expect(error.message).toContain("[Step11] step 11");
    expect(error.message).not.toContain("[Step0]");
  });

  it("stops when the service disappears (404) and deletion is not the target", async () => {
    const { client } = await setup((_req, i) =>
      i === 0 ? answer(creating) : problem(404, "Not Found", "no such managed service"),
    );

    const error = await rejection(waitForState(client, SERVICE_ID, "synchronized"));

    expect(error).toBeInstanceOf(WaitError);
    expect((error as WaitError).message).toMatch(/was not found \(404\) while waiting for "synchronized"/);
    expect((error as WaitError).service?.status.state).toBe("creating");
  });

  it("stops when the service is being deleted and deletion is not the target", async () => {
    const deletedAt = new Date().toISOString();
    const { client } = await setup(() => answer({ state: "deleting", deletedAt }));
    await expect(waitForState(client, SERVICE_ID, "synchronized")).rejects.toThrow(/is being deleted/);
  });

  it("gives up at the deadline with the last service and its events", async () => {
    const { client } = await setup(() =>
      answer(creating, { recentEvents: [event("BackendSlow", "backend has not answered for 30 s")] }),
    );
    const started = Date.now();

    const error = await rejection(waitForState(client, SERVICE_ID, "synchronized", { timeoutMs: 200 }));

    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1000);
    const e = error as WaitTimeoutError;
    expect(e.service?.status.state).toBe("creating");
    expect(e.message).toContain('did not reach "synchronized" within 200 ms (last state: creating)');
    expect(e.message).toContain("[BackendSlow] backend has not answered for 30 s");
  });

  it("gives up at the deadline even while a poll hangs", async () => {
    const { client } = await setup((_req, i) => (i === 0 ? answer(creating) : { hang: true }));
    const started = Date.now();

    await expect(waitForState(client, SERVICE_ID, "synchronized", { timeoutMs: 150 })).rejects.toBeInstanceOf(
      WaitTimeoutError,
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("polls through transient failures", async () => {
    const { client } = await setup((_req, i) =>
      i === 0 ? problem(503, "Service Unavailable") : answer(synchronized),
    );
    const polls: PollInfo[] = [];

    const svc = await waitForState(client, SERVICE_ID, "synchronized", { onPoll: (p) => polls.push(p) });

    expect(svc.status.state).toBe("synchronized");
    expect(polls[0]?.error).toBeDefined();
  });

  it("passes on errors no further poll can fix", async () => {
    const { client } = await setup(() => problem(401, "Unauthorized", "token expired"));
    await expect(waitForState(client, SERVICE_ID, "synchronized")).rejects.toBeInstanceOf(
      AuthenticationError,
    );
  });

  it("honours an AbortSignal at once, also between polls", async () => {
    const { client } = await setup(() => answer(creating));
    const started = Date.now();

    const error = await rejection(
      waitForState(client, SERVICE_ID, "synchronized", {
        minDelayMs: 10_000,
        signal: AbortSignal.timeout(50),
      }),
    );

    expect(error).toBeInstanceOf(AbortError);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("does not poll when the signal has already fired", async () => {
    const { server, client } = await setup(() => answer(synchronized));
    await expect(
      waitForState(client, SERVICE_ID, "synchronized", { signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(AbortError);
    expect(server.requests).toHaveLength(0);
  });
});

describe("waitForDeleted", () => {
  it("treats a 404 as success", async () => {
    const deletedAt = new Date().toISOString();
    const { server, client } = await setup((_req, i) =>
      i < 2 ? answer({ state: "deleting", deletedAt }) : problem(404, "Not Found"),
    );

    await expect(waitForDeleted(client, SERVICE_ID)).resolves.toBeUndefined();
    expect(server.requests).toHaveLength(3);
  });

  it("treats state deleted as success and returns that record", async () => {
    const deletedAt = new Date().toISOString();
    const { client } = await setup((_req, i) =>
      answer(i === 0 ? { state: "deleting", deletedAt } : { state: "deleted", deletedAt }),
    );

    const svc = await waitForDeleted(client, SERVICE_ID);

    expect(svc?.status).toEqual({ state: "deleted", deletedAt });
  });

  it("still stops on invalid provider", async () => {
    const { client } = await setup(() => answer({ state: "invalid provider" }));
    await expect(waitForDeleted(client, SERVICE_ID)).rejects.toBeInstanceOf(WaitError);
  });
});
