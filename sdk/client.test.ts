import { afterEach, describe, expect, it } from "vitest";
import { CodesphereClient } from "./client";
import {
  APIError,
  AuthenticationError,
  BadRequestError,
  CodesphereError,
  ConfigurationError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  RequestValidationError,
  ResponseValidationError,
  UnprocessableEntityError,
} from "./errors";
import { createBody, ok, rejection, scriptedClients } from "./test-client";
import { managedService, problem, provider, SERVICE_ID, startServer } from "./test-server";

const { setup, defer, cleanup } = scriptedClients();
afterEach(cleanup);

describe("configuration", () => {
  const saved = { api: process.env.CS_API, token: process.env.CS_TOKEN };
  afterEach(() => {
    restoreEnv("CS_API", saved.api);
    restoreEnv("CS_TOKEN", saved.token);
  });

  it("falls back to CS_API and CS_TOKEN from the environment", async () => {
    const server = await startServer([ok(managedService())]);
    defer(() => server.close());
    process.env.CS_API = `${server.baseUrl}/`;
    process.env.CS_TOKEN = "from-env";
    const client = new CodesphereClient();
    defer(() => client.close());

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

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
