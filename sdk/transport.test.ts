/**
 * The client's transport as callers see it: which calls are repeated and
 * when (backoff, Retry-After, idempotency), timeouts and cancellation.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CodesphereClient } from "./client";
import { AbortError, ConflictError, ConnectionError, InternalServerError, TimeoutError } from "./errors";
import { createBody, ok, rejection, scriptedClients } from "./test-client";
import {
  freePort,
  type Handler,
  managedService,
  problem,
  type Reply,
  SERVICE_ID,
  startServer,
  type TestServer,
} from "./test-server";

const { setup, defer, cleanup } = scriptedClients();
afterEach(cleanup);

describe("retries", () => {
  const unavailable: Reply = problem(503, "Service Unavailable", "try later");

  it("repeat a GET on 503 with exponential backoff and full jitter", async () => {
    const { server, client, delays } = await setup([
      unavailable,
      unavailable,
      unavailable,
      ok(managedService()),
    ]);

    await client.managedServices.get(SERVICE_ID);

    expect(server.requests).toHaveLength(4);
    // random() = 0.5 of a ceiling of 100, 200, 400 ms
    expect(delays).toEqual([50, 100, 200]);
  });

  it("cap the backoff at 8 s", async () => {
    const badGateway = Array.from({ length: 11 }, (): Reply => ({ status: 502 }));
    const { client, delays } = await setup(badGateway, { maxRetries: 10, random: () => 0.9999 });

    await expect(client.managedServices.get(SERVICE_ID)).rejects.toBeInstanceOf(InternalServerError);

    expect(delays).toHaveLength(10);
    expect(delays.slice(0, 3)).toEqual([99, 199, 399]);
    expect(Math.max(...delays)).toBe(7999);
  });

  it("give up after maxRetries and throw the last answer's error", async () => {
    const { server, client } = await setup([unavailable, unavailable, unavailable], { maxRetries: 2 });

    const error = await rejection(client.managedServices.get(SERVICE_ID));

    expect(server.requests).toHaveLength(3);
    expect(error).toMatchObject({ status: 503, detail: "try later" });
  });

  it("honour Retry-After given in seconds", async () => {
    const { client, delays } = await setup([
      {
        status: 429,
        headers: { "retry-after": "2" },
        body: { status: 429, title: "Slow down", traceId: "t" },
      },
      ok(managedService()),
    ]);
    await client.managedServices.get(SERVICE_ID);
    expect(delays).toEqual([2000]);
  });

  it("honour Retry-After given as an HTTP date", async () => {
    const when = new Date(Date.now() + 3000).toUTCString();
    const { client, delays } = await setup([
      { status: 503, headers: { "retry-after": when } },
      ok(managedService()),
    ]);

    await client.managedServices.get(SERVICE_ID);

    expect(delays).toHaveLength(1);
    // HTTP dates have whole seconds, so "in 3 s" means somewhat over 2 s.
    expect(delays[0]).toBeGreaterThan(1000);
    expect(delays[0]).toBeLessThanOrEqual(3000);
  });

  it("cut a very long Retry-After to retryAfterMaxMs", async () => {
    const { client, delays } = await setup(
      [{ status: 503, headers: { "retry-after": "3600" } }, ok(managedService())],
      {
        retryAfterMaxMs: 30_000,
      },
    );
    await client.managedServices.get(SERVICE_ID);
    expect(delays).toEqual([30_000]);
  });

  it("do not repeat a POST answered 503 when there is no idempotency key", async () => {
    const { server, client } = await setup([unavailable, ok(managedService())]);

    await expect(client.managedServices.create(createBody())).rejects.toBeInstanceOf(InternalServerError);
    await expect(client.managedServices.scheduleBackup(SERVICE_ID)).rejects.toBeDefined();

    expect(server.requests.map((r) => r.method)).toEqual(["POST", "POST"]);
  });

  it("repeat a POST answered 503 when the caller gave an idempotency key, sending it each time", async () => {
    const { server, client } = await setup([unavailable, unavailable, ok(managedService())]);

    await client.managedServices.create(createBody(), { idempotencyKey: "create-orders-db-1" });

    expect(server.requests.map((r) => r.headers["idempotency-key"])).toEqual([
      "create-orders-db-1",
      "create-orders-db-1",
      "create-orders-db-1",
    ]);
  });

  it("repeat a PATCH of a managed service, which sets desired state", async () => {
    const { server, client } = await setup([{ status: 504 }, ok(managedService())]);
    await client.managedServices.update(SERVICE_ID, { pause: true });
    expect(server.requests).toHaveLength(2);
  });

  it("do not repeat a 500 or a 4xx", async () => {
    const { server, client } = await setup([problem(500, "Internal Server Error"), problem(409, "Conflict")]);
    await expect(client.managedServices.get(SERVICE_ID)).rejects.toBeInstanceOf(InternalServerError);
    await expect(client.managedServices.get(SERVICE_ID)).rejects.toBeInstanceOf(ConflictError);
    expect(server.requests).toHaveLength(2);
  });

  it("repeat a POST refused at connect (ECONNREFUSED): it never reached the server", async () => {
    const port = await freePort();
    let server: TestServer | undefined;
    const delays: number[] = [];
    const client = new CodesphereClient({
      baseUrl: `http://127.0.0.1:${port}/api`,
      token: "t",
      sleep: async (ms) => {
        delays.push(ms);
        // The server comes up while the client waits to retry.
        server ??= await startServer([ok(managedService())], { port });
      },
    });
    defer(
      () => client.close(),
      async () => server?.close(),
    );

    await client.managedServices.create(createBody());

    expect(delays).toHaveLength(1);
    expect(server?.requests.map((r) => r.method)).toEqual(["POST"]);
  });

  it("report a connection that stays refused as a ConnectionError", async () => {
    const port = await freePort();
    const client = new CodesphereClient({
      baseUrl: `http://127.0.0.1:${port}/api`,
      token: "t",
      sleep: async () => {},
    });
    defer(() => client.close());
    const error = await rejection(client.managedServices.create(createBody()));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ code: "ECONNREFUSED" });
  });

  it("do not repeat a POST whose connection broke after sending, but do repeat a GET", async () => {
    const { server, client } = await setup(() => ({ destroy: true }));

    await expect(client.managedServices.create(createBody())).rejects.toBeInstanceOf(ConnectionError);
    expect(server.requests).toHaveLength(1);

    await expect(client.managedServices.get(SERVICE_ID)).rejects.toBeInstanceOf(ConnectionError);
    expect(server.requests).toHaveLength(1 + 4);
  });
});

describe("timeouts and cancellation", () => {
  const hang: Handler = () => ({ hang: true });

  it("time out a call to a server that never answers", async () => {
    const { client } = await setup(hang, { timeoutMs: 100, maxRetries: 0 });
    const started = Date.now();

    const error = await rejection(client.managedServices.get(SERVICE_ID));

    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(/no answer within 100 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("repeat a timed-out GET but not a timed-out POST", async () => {
    const { server, client } = await setup(hang, { maxRetries: 1 });

    await expect(client.managedServices.get(SERVICE_ID, { timeoutMs: 50 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    expect(server.requests).toHaveLength(2);

    await expect(client.managedServices.create(createBody(), { timeoutMs: 50 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    expect(server.requests).toHaveLength(3);
  });

  it("cancel a call when its AbortSignal fires", async () => {
    const { client } = await setup(hang);
    const started = Date.now();

    const error = await rejection(
      client.managedServices.get(SERVICE_ID, { signal: AbortSignal.timeout(50) }),
    );

    expect(error).toBeInstanceOf(AbortError);
    expect((error as Error).name).toBe("AbortError");
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("cancel at once while waiting to retry", async () => {
    const { client } = await setup([{ status: 503 }], {
      sleep: undefined,
      random: () => 0.99,
      retryBaseDelayMs: 30_000,
    });
    const started = Date.now();

    const error = await rejection(
      client.managedServices.get(SERVICE_ID, { signal: AbortSignal.timeout(50) }),
    );

    expect(error).toBeInstanceOf(AbortError);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("send nothing when the signal has already fired", async () => {
    const { server, client } = await setup([ok(managedService())]);
    await expect(
      client.managedServices.get(SERVICE_ID, { signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(AbortError);
    expect(server.requests).toHaveLength(0);
  });
});
