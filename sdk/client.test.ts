import { afterEach, describe, expect, it } from "vitest";
import { type ClientOptions, CodesphereClient } from "./client";
import {
  AbortError,
  APIError,
  AuthenticationError,
  BadRequestError,
  CodesphereError,
  ConfigurationError,
  ConflictError,
  ConnectionError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  RequestValidationError,
  ResponseValidationError,
  TimeoutError,
  UnprocessableEntityError,
} from "./errors";
import type { CreateManagedServiceRequest } from "./schemas";
import {
  freePort,
  type Handler,
  managedService,
  problem,
  provider,
  type Reply,
  SERVICE_ID,
  startServer,
  type TestServer,
} from "./test-server";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server with `script` and a client pointed at it; sleeps are recorded, not slept. */
async function setup(script: Handler | Reply[], options: ClientOptions = {}) {
  const server = await startServer(script);
  const delays: number[] = [];
  const client = new CodesphereClient({
    baseUrl: server.baseUrl,
    token: "t0ken",
    random: () => 0.5,
    sleep: async (ms) => {
      delays.push(ms);
    },
    ...options,
  });
  cleanups.push(
    () => client.close(),
    () => server.close(),
  );
  return { server, client, delays };
}

function createBody(overrides: Partial<CreateManagedServiceRequest> = {}): CreateManagedServiceRequest {
  return {
    teamId: 1,
    name: "orders-db",
    provider: { name: "postgresql", version: "15" },
    plan: { id: 0, parameters: { storage: 1024 } },
    config: {},
    secrets: { password: "hunter2" },
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

const ok = (body: unknown): Reply => ({ status: 200, body });

describe("configuration", () => {
  const saved = { api: process.env.CS_API, token: process.env.CS_TOKEN };
  afterEach(() => {
    restoreEnv("CS_API", saved.api);
    restoreEnv("CS_TOKEN", saved.token);
  });

  it("falls back to CS_API and CS_TOKEN from the environment", async () => {
    const server = await startServer([ok(managedService())]);
    cleanups.push(() => server.close());
    process.env.CS_API = `${server.baseUrl}/`;
    process.env.CS_TOKEN = "from-env";
    const client = new CodesphereClient();
    cleanups.push(() => client.close());

    await client.managedServices.get(SERVICE_ID);

    expect(client.baseUrl).toBe(server.baseUrl);
    expect(server.requests[0]?.path).toBe(`/api/managed-services/${SERVICE_ID}`);
    expect(server.requests[0]?.headers.authorization).toBe("Bearer from-env");
  });

  it("says what is missing when there is no base URL or no token", () => {
    delete process.env.CS_API;
    delete process.env.CS_TOKEN;
    expect(() => new CodesphereClient({ token: "x" })).toThrow(ConfigurationError);
    expect(() => new CodesphereClient({ token: "x" })).toThrow(/CS_API/);
    expect(() => new CodesphereClient({ baseUrl: "http://127.0.0.1/api" })).toThrow(/CS_TOKEN/);
    expect(() => new CodesphereClient({ baseUrl: "not a url", token: "x" })).toThrow(/Invalid API base URL/);
  });

  it("sends the token as a bearer header and bodies as JSON", async () => {
    const { server, client } = await setup([ok(managedService())]);

    await client.managedServices.create(createBody());

    const req = server.requests[0]!;
    expect(req.headers.authorization).toBe("Bearer t0ken");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.headers.accept).toBe("application/json");
    expect(JSON.parse(req.body)).toEqual(createBody());
  });

  it("reuses one keep-alive connection for consecutive calls", async () => {
    const { server, client } = await setup([
      ok(managedService()),
      ok(managedService()),
      ok(managedService()),
    ]);

    await client.managedServices.get(SERVICE_ID);
    await client.managedServices.get(SERVICE_ID);
    await client.managedServices.get(SERVICE_ID);

    expect(server.requests.map((r) => r.socket)).toEqual([1, 1, 1]);
  });
});

describe("operations", () => {
  it("mirror the endpoints one to one", async () => {
    const svc = managedService();
    const backup = { id: "2b1f5f3e-6a4b-4c1d-9e8f-0a1b2c3d4e5f", scheduledAt: "2025-01-02T03:04:05Z" };
    const { server, client } = await setup((req) => {
      if (req.method === "DELETE") return { status: 200 };
      if (req.path.endsWith("/events")) return ok({ events: [], nextCursor: "c2" });
      if (req.path.endsWith("/backups")) return ok(backup);
      if (req.path.startsWith("/api/managed-services/providers"))
        return ok(req.method === "GET" ? [provider()] : provider());
      return ok(req.method === "GET" && req.path === "/api/managed-services" ? [svc] : svc);
    });
    const definition = { gitUrl: "https://example.com/pg.git" };

    expect(await client.providers.list()).toEqual([provider()]);
    expect(await client.providers.list({ teamId: 7 })).toEqual([provider()]);
    expect(await client.providers.create(definition)).toEqual(provider());
    expect(await client.providers.upsert(definition)).toEqual(provider());
    expect(await client.providers.update("postgresql", "v15", { description: "new" })).toEqual(provider());
    expect(await client.providers.delete("postgresql", "v15")).toBeUndefined();
    expect(await client.managedServices.create(createBody())).toEqual(svc);
    expect(await client.managedServices.list({ team: 1 })).toEqual([svc]);
    expect(await client.managedServices.list({ team: 1, includeDeleted: true })).toEqual([svc]);
    expect(await client.managedServices.get(SERVICE_ID)).toEqual(svc);
    expect(await client.managedServices.update(SERVICE_ID, { pause: true })).toEqual(svc);
    expect(await client.managedServices.delete(SERVICE_ID)).toBeUndefined();
    expect(await client.managedServices.scheduleBackup(SERVICE_ID)).toEqual(backup);
    expect(await client.managedServices.events(SERVICE_ID, { cursor: "c1", limit: 50 })).toEqual({
      events: [],
      nextCursor: "c2",
    });

    expect(server.requests.map((r) => `${r.method} ${r.path}${r.query.size ? `?${r.query}` : ""}`)).toEqual([
      "GET /api/managed-services/providers",
      "GET /api/managed-services/providers?teamId=7",
      "POST /api/managed-services/providers",
      "PUT /api/managed-services/providers",
      "PATCH /api/managed-services/providers/postgresql/v15",
      "DELETE /api/managed-services/providers/postgresql/v15",
      "POST /api/managed-services",
      "GET /api/managed-services?team=1&includeDeleted=false",
      "GET /api/managed-services?team=1&includeDeleted=true",
      `GET /api/managed-services/${SERVICE_ID}`,
      `PATCH /api/managed-services/${SERVICE_ID}`,
      `DELETE /api/managed-services/${SERVICE_ID}`,
      `POST /api/managed-services/${SERVICE_ID}/backups`,
      `GET /api/managed-services/${SERVICE_ID}/events?cursor=c1&limit=50`,
    ]);
  });

  it("accept a delete answered 200 or 204, with or without a body", async () => {
    const { client } = await setup([{ status: 200 }, { status: 204 }, ok({ deleted: true }), ok("")]);
    for (let i = 0; i < 4; i++)
      await expect(client.managedServices.delete(SERVICE_ID)).resolves.toBeUndefined();
  });

  it("reject a malformed answer, naming the operation and the path", async () => {
    // A state this SDK does not know is read as itself (sdk/tolerant.test.ts); one of the wrong type is not.
    const { client } = await setup([ok(managedService({ status: { state: 42 } as never }))]);

    const error = await rejection(client.managedServices.get(SERVICE_ID));

    expect(error).toBeInstanceOf(ResponseValidationError);
    const e = error as ResponseValidationError;
    expect(e.operation).toBe("managed-services-getDetails");
    expect(e.issues.map((i) => i.path)).toEqual(["status.state"]);
    expect(e.message).toContain("managed-services-getDetails");
    expect(e.message).toMatch(/status\.state: must be one of "creating", .*"invalid provider" \(got 42\)/);
  });

  it("reject a success answer that is not JSON", async () => {
    const { client } = await setup([{ status: 200, body: "<html>maintenance</html>" }]);
    await expect(client.managedServices.get(SERVICE_ID)).rejects.toThrow(/\(body\): is not JSON: <html>/);
  });

  it("check a request before sending it, naming each field and the rule it breaks", async () => {
    const { server, client } = await setup([]);
    const bad = { ...createBody(), plan: { id: 0, parameters: { storage: "big" } }, pasue: true };

    const error = await rejection(client.managedServices.create(bad as never));

    expect(error).toBeInstanceOf(RequestValidationError);
    const e = error as RequestValidationError;
    expect(e.issues).toEqual([
      { path: "plan.parameters.storage", message: "expected number, received string" },
      { path: "pasue", message: "unknown field" },
    ]);
    expect(e.message).toMatch(/^Invalid request for managed-services-create: plan\.parameters\.storage: /);
    await expect(client.managedServices.update(SERVICE_ID, { backups: { intervalH: 0 } })).rejects.toThrow(
      "backups.intervalH: must be >= 1",
    );
    await expect(client.managedServices.get("not-a-uuid")).rejects.toThrow(/id: Invalid UUID/);
    await expect(client.providers.delete("PostgreSQL", "v15")).rejects.toThrow(/name: must be lowercase/);
    expect(server.requests).toHaveLength(0);
  });

  it("never echo request values in validation errors (they may be secrets)", async () => {
    const { client } = await setup([]);
    const error = await rejection(client.managedServices.create(createBody({ secrets: "hunter2" as never })));
    expect((error as Error).message).toContain("secrets: expected record, received string");
    expect((error as Error).message).not.toContain("hunter2");
  });
});

describe("errors", () => {
  it.each([
    [400, "Bad Request", BadRequestError],
    [401, "Unauthorized", AuthenticationError],
    [403, "Forbidden", PermissionDeniedError],
    [404, "Not Found", NotFoundError],
    [409, "Conflict", ConflictError],
    [422, "Unprocessable Entity", UnprocessableEntityError],
    [429, "Too Many Requests", RateLimitError],
    [500, "Internal Server Error", InternalServerError],
    [503, "Service Unavailable", InternalServerError],
  ])("map a %i Problem to its class with status, title, detail and traceId", async (status, title, Class) => {
    const { client } = await setup([problem(status, title, "plan.parameters.storage: must be >= 512")], {
      maxRetries: 0,
    });

    const error = await rejection(client.managedServices.get(SERVICE_ID));

    expect(error).toBeInstanceOf(Class);
    expect(error).toBeInstanceOf(APIError);
    expect(error).toBeInstanceOf(CodesphereError);
    expect(error).toMatchObject({
      status,
      title,
      detail: "plan.parameters.storage: must be >= 512",
      traceId: "abc123",
    });
    expect((error as Error).message).toBe(
      `${status} ${title}: plan.parameters.storage: must be >= 512 (trace abc123)`,
    );
  });

  it("keep a body that is not a Problem as the detail, trimmed", async () => {
    const { client } = await setup([{ status: 500, body: "  upstream exploded\n" }]);

    const error = await rejection(client.managedServices.get(SERVICE_ID));

    expect(error).toBeInstanceOf(InternalServerError);
    expect(error).toMatchObject({
      status: 500,
      title: "Internal Server Error",
      detail: "upstream exploded",
      traceId: undefined,
    });
    expect((error as Error).message).toBe("500 Internal Server Error: upstream exploded");
  });

  it("are still APIErrors for statuses without a class of their own", async () => {
    const { client } = await setup([{ status: 418 }]);
    const error = await rejection(client.managedServices.get(SERVICE_ID));
    expect(error).toBeInstanceOf(APIError);
    expect((error as Error).message).toBe("418 I'm a Teapot");
  });
});

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
    cleanups.push(
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
    cleanups.push(() => client.close());
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

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
