import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import * as schemas from "../../sdk/schemas";
import {
  type Caller,
  type ControlPlaneStats,
  conflict,
  forbidden,
  type ManagedServicesService,
  notFound,
  type ProvidersService,
} from "../domain/types";
import { TokenTable } from "./auth";
import { createApiHandler, MAX_BODY_BYTES, route } from "./server";

// ---------------------------------------------------------------- fakes

const TOKEN = "token-team-7";
const SECRET = "hunter2-do-not-log";
const BOOM_ID = "0000b00b-0000-4000-8000-000000000000";

/** In-memory stand-in for the managed-services service layer. */
class FakeManagedServices implements ManagedServicesService {
  readonly json = new Map<string, string>();
  lastList?: { team: number; includeDeleted: boolean };
  lastEvents?: { cursor?: string; limit?: number };
  lastCreate?: schemas.CreateManagedServiceRequest;

  create(caller: Caller, body: schemas.CreateManagedServiceRequest): schemas.ManagedService {
    if (!caller.teams.has(body.teamId))
      throw forbidden(`teamId: the token may not act for team ${body.teamId}`);
    this.lastCreate = body;
    const service = fakeService(randomUUID(), body.name);
    this.json.set(service.id, JSON.stringify(service));
    return service;
  }
  list(_caller: Caller, team: number, includeDeleted: boolean): schemas.ManagedService[] {
    this.lastList = { team, includeDeleted };
    return [...this.json.values()].map((j) => JSON.parse(j));
  }
  getJson(_caller: Caller, id: string): string {
    const json = this.json.get(id);
    if (json === undefined) throw notFound(`managed service ${id} does not exist`);
    return json;
  }
  update(_caller: Caller, id: string, body: schemas.UpdateManagedServiceRequest): schemas.ManagedService {
    const service = { ...(JSON.parse(this.getJson(_caller, id)) as schemas.ManagedService) };
    if (body.name) service.name = body.name;
    this.json.set(id, JSON.stringify(service));
    return service;
  }
  delete(caller: Caller, id: string): void {
    this.getJson(caller, id);
    this.json.delete(id);
  }
  scheduleBackup(caller: Caller, id: string): schemas.BackupEntry {
    if (id === BOOM_ID) throw new Error("backend refused: connection reset by peer");
    this.getJson(caller, id);
    return { id: randomUUID(), scheduledAt: "2026-01-01T00:00:00.000Z" };
  }
  events(_caller: Caller, _id: string, page: { cursor?: string; limit?: number }): schemas.EventPage {
    this.lastEvents = page;
    return { events: [], nextCursor: "c2" };
  }
}

/** In-memory stand-in for the provider catalog. */
class FakeProviders implements ProvidersService {
  lastList?: number | undefined;
  lastUpdate?: { name: string; schemaVersion: string };
  list(_caller: Caller, teamId?: number): schemas.Provider[] {
    this.lastList = teamId;
    return [];
  }
  create(): schemas.Provider {
    throw conflict("name: provider postgresql v1 already exists");
  }
  upsert(): schemas.Provider {
    throw conflict("not used");
  }
  update(_caller: Caller, name: string, schemaVersion: string): schemas.Provider {
    this.lastUpdate = { name, schemaVersion };
    throw notFound(`provider ${name} ${schemaVersion} does not exist`);
  }
  delete(): void {}
}

function fakeService(id: string, name: string): schemas.ManagedService {
  return {
    id,
    provider: { name: "postgresql", version: "v15", schemaVersion: "v15" },
    name,
    backups: { enabled: false, entries: [] },
    pause: false,
    plan: { id: 1, parameters: { storage: 10 } },
    createdAt: "2026-01-01T00:00:00.000Z",
    config: {},
    status: { state: "creating" },
  };
}

const fakeStats: ControlPlaneStats = {
  servicesByState: () => ({ synchronized: 2, "invalid provider": 1 }),
  reconcileOutcomes: () => ({ success: 5, retry: 1 }),
};

// ---------------------------------------------------------------- server

function teamSevenTokens(): TokenTable {
  const table = new TokenTable();
  table.add(TOKEN, { teams: new Set([7]), admin: false });
  return table;
}

const managedServices = new FakeManagedServices();
const providers = new FakeProviders();
const logs: Record<string, unknown>[] = [];
let ready = true;
let server: Server;
let base: string;

beforeAll(async () => {
  const handler = createApiHandler({
    providers,
    managedServices,
    stats: fakeStats,
    tokens: teamSevenTokens(),
    log: (rec) => logs.push(rec),
    ready: () => ready,
    extraRoutes: [
      route({
        method: "GET",
        path: "/api/landform/slow-echo",
        operationId: "landform-slowEcho",
        extension: true,
        query: z.strictObject({ say: z.string() }),
        response: z.object({ said: z.string() }),
        handler: async ({ query }) => ({ said: query.say }),
      }),
    ],
  });
  server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  ready = true;
});

function call(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  return fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Every error answer is Problem JSON whose traceId is also the x-trace-id header. */
async function expectProblem(res: Response, status: number): Promise<schemas.Problem> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const problem = schemas.Problem.parse(await res.json());
  expect(problem.status).toBe(status);
  expect(problem.traceId).toMatch(/^[0-9a-f]{32}$/);
  expect(res.headers.get("x-trace-id")).toBe(problem.traceId);
  return problem;
}

const createBody = (overrides: Record<string, unknown> = {}) => ({
  teamId: 7,
  name: "my-postgres-db",
  provider: { name: "postgresql", version: "15" },
  plan: { id: 1, parameters: { storage: 10 } },
  config: { max_connections: "100" },
  secrets: { password: SECRET, username: "admin" },
  ...overrides,
});

async function createService(): Promise<schemas.ManagedService> {
  const res = await call("POST", "/api/managed-services", createBody());
  expect(res.status).toBe(200);
  return schemas.ManagedService.parse(await res.json());
}

// ---------------------------------------------------------------- tests

describe("authentication", () => {
  it("answers 401 Problem without a token, with an unknown one, or with another scheme", async () => {
    const missing = await expectProblem(
      await call("GET", "/api/managed-services?team=7", undefined, null),
      401,
    );
    expect(missing.detail).toContain("Bearer");
    await expectProblem(await call("GET", "/api/managed-services?team=7", undefined, "nope"), 401);
    const basic = await fetch(`${base}/api/managed-services?team=7`, {
      headers: { authorization: `Basic ${TOKEN}` },
    });
    await expectProblem(basic, 401);
  });

  it("serves health, readiness, metrics and the OpenAPI document without a token", async () => {
    for (const path of ["/health", "/healthz", "/ready", "/readyz"]) {
      const res = await call("GET", path, undefined, null);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "ok" });
    }
    expect((await call("GET", "/metrics", undefined, null)).status).toBe(200);
    expect((await call("GET", "/api/openapi.json", undefined, null)).status).toBe(200);
  });

  it("reports not ready as a 503 Problem", async () => {
    ready = false;
    const notReady = await call("GET", "/ready", undefined, null);
    expect(notReady.headers.get("retry-after")).toBe("1");
    await expectProblem(notReady, 503);
    await expectProblem(await call("GET", "/readyz", undefined, null), 503);
  });
});

describe("managed services", () => {
  it("creates from the published guide's request verbatim (version '15', backup accessKey/secretKey)", async () => {
    const guide = createBody({
      backups: {
        enabled: true,
        intervalH: 24,
        deleteRetentionDays: 7,
        config: { endpointUrl: "https://s3.eu-central-1.amazonaws.com", destinationPath: "s3://b/" },
        secrets: { accessKey: "A", secretKey: "S" },
      },
    });
    const res = await call("POST", "/api/managed-services", guide);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(managedServices.lastCreate?.provider.version).toBe("15");
  });

  it("answers GET of one service with exactly the service layer's JSON text", async () => {
    const id = randomUUID();
    const text = `{"id":"${id}",  "name":"kept as is" ,"z":1}`;
    managedServices.json.set(id, text);
    const res = await call("GET", `/api/managed-services/${id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.text()).toBe(text);
  });

  it("lists with includeDeleted false by default and true when asked", async () => {
    expect((await call("GET", "/api/managed-services?team=7")).status).toBe(200);
    expect(managedServices.lastList).toEqual({ team: 7, includeDeleted: false });
    expect((await call("GET", "/api/managed-services?team=7&includeDeleted=true")).status).toBe(200);
    expect(managedServices.lastList).toEqual({ team: 7, includeDeleted: true });
  });

  it("renames, schedules a backup, reads events and deletes with an empty 200", async () => {
    const service = await createService();
    const renamed = await call("PATCH", `/api/managed-services/${service.id}`, { name: "renamed" });
    expect(renamed.status).toBe(200);
    expect(schemas.ManagedService.parse(await renamed.json()).name).toBe("renamed");

    const backup = await call("POST", `/api/managed-services/${service.id}/backups`);
    expect(backup.status).toBe(200);
    schemas.BackupEntry.parse(await backup.json());

    const events = await call("GET", `/api/managed-services/${service.id}/events?cursor=c1&limit=5`);
    expect(await events.json()).toEqual({ events: [], nextCursor: "c2" });
    expect(managedServices.lastEvents).toEqual({ cursor: "c1", limit: 5 });
    await call("GET", `/api/managed-services/${service.id}/events?cursor=&limit=`);
    expect(managedServices.lastEvents).toEqual({});

    const deleted = await call("DELETE", `/api/managed-services/${service.id}`);
    expect(deleted.status).toBe(200);
    expect(await deleted.text()).toBe("");
    await expectProblem(await call("GET", `/api/managed-services/${service.id}`), 404);
  });

  it("answers an async route from extraRoutes", async () => {
    const res = await call("GET", "/api/landform/slow-echo?say=hi");
    expect(await res.json()).toEqual({ said: "hi" });
  });
});

describe("request validation", () => {
  it("refuses a body that is not JSON", async () => {
    const problem = await expectProblem(await call("POST", "/api/managed-services", "{not json"), 400);
    expect(problem.detail).toBe("body: not valid JSON");
  });

  it("names an unknown field and each broken rule with its path", async () => {
    const body = createBody({
      pasue: true,
      name: " leading space",
      plan: { id: 1, parameters: { storage: "10" } },
    });
    const problem = await expectProblem(await call("POST", "/api/managed-services", body), 400);
    expect(problem.detail).toContain("pasue: unknown field");
    expect(problem.detail).toContain("name: must be 1 to 127 letters");
    expect(problem.detail).toContain("plan.parameters.storage: expected number, received string");
    expect(problem.detail?.split("; ")).toHaveLength(3);
    expect(problem.detail).not.toContain(SECRET);
  });

  it("explains a union by the branch the caller meant", async () => {
    const body = createBody({ backups: { enabled: true, deleteRetentionDays: 7, config: {}, secrets: {} } });
    const problem = await expectProblem(await call("POST", "/api/managed-services", body), 400);
    expect(problem.detail).toBe("backups.intervalH: required (expected number)");
  });

  it("refuses an id that is not a UUID, naming id", async () => {
    const problem = await expectProblem(await call("GET", "/api/managed-services/not-a-uuid"), 400);
    expect(problem.detail).toBe("id: must be a UUID");
    await expectProblem(await call("GET", "/api/managed-services/%E0%A4%A"), 400);
  });

  it("refuses a bad, missing, repeated or unknown query parameter", async () => {
    const cases: [string, string][] = [
      ["/api/managed-services", "team: required"],
      ["/api/managed-services?team=abc", "team: must be a non-negative integer"],
      ["/api/managed-services?team=-1", "team: must be a non-negative integer"],
      ["/api/managed-services?team=7&includeDeleted=yes", 'includeDeleted: must be "true" or "false"'],
      ["/api/managed-services?team=7&team=8", "team: given more than once"],
      ["/api/managed-services?team=7&tema=8", "tema: unknown query parameter"],
      ["/api/managed-services/providers?teamId=x", "teamId: must be a non-negative integer"],
      [`/api/managed-services/${randomUUID()}/events?limit=0`, "limit: expected number to be >=1"],
      [`/api/managed-services/${randomUUID()}/events?limit=5.5`, "limit: must be an integer"],
    ];
    for (const [path, detail] of cases) {
      const problem = await expectProblem(await call("GET", path), 400);
      expect(problem.detail, path).toBe(detail);
    }
  });

  it("refuses a provider path with a malformed schema version", async () => {
    const problem = await expectProblem(await call("DELETE", "/api/managed-services/providers/pg/15"), 400);
    expect(problem.detail).toBe("schemaVersion: must look like v1, v15 or v2beta");
  });

  it("answers 413 for a body over 1 MiB", async () => {
    const big = JSON.stringify({ config: { blob: "x".repeat(MAX_BODY_BYTES) } });
    const { status, body } = await rawRequest("PATCH", `/api/managed-services/${randomUUID()}`, big);
    expect(status).toBe(413);
    expect(schemas.Problem.parse(JSON.parse(body)).status).toBe(413);
  });
});

describe("errors", () => {
  it("maps a DomainError to its status, title and detail", async () => {
    const notThere = await expectProblem(await call("GET", `/api/managed-services/${randomUUID()}`), 404);
    expect(notThere.title).toBe("Not Found");
    expect(notThere.detail).toMatch(/^managed service .* does not exist$/);
    const other = await expectProblem(
      await call("POST", "/api/managed-services", createBody({ teamId: 8 })),
      403,
    );
    expect(other.detail).toBe("teamId: the token may not act for team 8");
    await call("PATCH", "/api/managed-services/providers/postgresql/v15", { description: "x" });
    expect(providers.lastUpdate).toEqual({ name: "postgresql", schemaVersion: "v15" });
  });

  it("answers 404 for an unknown route and 405 for a wrong method", async () => {
    await expectProblem(await call("GET", "/api/nothing-here"), 404);
    await expectProblem(await call("GET", "/"), 404);
    const wrong = await call("DELETE", "/api/managed-services/providers");
    await expectProblem(wrong, 405);
    expect(wrong.headers.get("allow")).toBe("GET, POST, PUT");
  });

  it("answers a plain Error with a generic 500 that leaks nothing, and logs it with the traceId", async () => {
    const res = await call("POST", `/api/managed-services/${BOOM_ID}/backups`);
    const problem = await expectProblem(res, 500);
    expect(problem.detail).not.toContain("backend refused");
    const logged = logs.find((l) => l.msg === "unhandled error" && l.traceId === problem.traceId);
    expect(logged?.route).toBe("/api/managed-services/{id}/backups");
  });
});

describe("logs and metrics", () => {
  it("logs each request as method, route pattern, status, duration and traceId only", async () => {
    const res = await call("POST", "/api/managed-services", createBody());
    const traceId = res.headers.get("x-trace-id");
    const rec = logs.find((l) => l.msg === "request" && l.traceId === traceId);
    expect(Object.keys(rec ?? {}).sort()).toEqual([
      "durationMs",
      "level",
      "method",
      "msg",
      "route",
      "status",
      "traceId",
    ]);
    expect(rec).toMatchObject({ method: "POST", route: "/api/managed-services", status: 200 });
    expect(JSON.stringify(logs)).not.toContain(SECRET);
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
  });

  it("exposes request counters, durations and the service layer's numbers", async () => {
    const id = randomUUID();
    managedServices.json.set(id, "{}");
    await call("GET", `/api/managed-services/${id}`);
    await call("GET", "/api/no-such-route");
    const res = await call("GET", "/metrics", undefined, null);
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await res.text();
    expect(text).toMatch(
      /^landform_http_requests_total\{method="GET",route="\/api\/managed-services\/\{id\}",status="200"\} \d+$/m,
    );
    expect(text).toMatch(
      /^landform_http_requests_total\{method="GET",route="unmatched",status="404"\} \d+$/m,
    );
    expect(text).toMatch(
      /^landform_http_request_duration_seconds_bucket\{method="GET",route="\/api\/managed-services\/\{id\}",le="\+Inf"\} \d+$/m,
    );
    expect(text).toContain("# TYPE landform_http_request_duration_seconds histogram");
    expect(text).toContain('landform_managed_services{state="invalid provider"} 1');
    expect(text).toContain('landform_reconcile_total{outcome="success"} 5');
  });
});

describe("the OpenAPI document", () => {
  const published = JSON.parse(
    readFileSync(
      join(__dirname, "..", "..", "contract", "codesphere-public-api.managed-services.openapi.json"),
      "utf8",
    ),
  ) as { paths: Record<string, Record<string, { operationId: string }>> };

  it("has every published operation at the same path and method, with the same operationId", async () => {
    const doc = await openapi();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers).toEqual([{ url: "/api" }]);
    for (const [path, methods] of Object.entries(published.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        expect(doc.paths[path]?.[method]?.operationId, `${method} ${path}`).toBe(op.operationId);
        expect(doc.paths[path]?.[method]?.security).toEqual([{ bearerAuth: [] }]);
      }
    }
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: "http", scheme: "bearer" });
  });

  it("marks the extensions and documents Problem answers", async () => {
    const doc = await openapi();
    const op = (path: string, method: string) => doc.paths[path]?.[method] as Operation;
    const events = op("/managed-services/{id}/events", "get");
    expect(events["x-landform-extension"]).toBe(true);
    expect(events.parameters?.map((p) => p.name)).toEqual(["id", "cursor", "limit"]);
    expect(op("/managed-services/{id}", "get")["x-landform-extension"]).toBeUndefined();
    expect(op("/managed-services/{id}", "get").responses["404"]).toEqual({
      $ref: "#/components/responses/NotFound",
    });
    expect(doc.components.responses.BadRequest?.content["application/problem+json"]?.schema).toEqual({
      $ref: "#/components/schemas/Problem",
    });
    const list = op("/managed-services", "get").parameters;
    expect(list).toContainEqual(expect.objectContaining({ name: "team", required: true }));
    expect(list).toContainEqual(
      expect.objectContaining({
        name: "includeDeleted",
        required: false,
        schema: { type: "string", enum: ["true", "false"], default: "false" },
      }),
    );
    expect(doc.paths["/health"]).toBeUndefined();
  });

  it("holds only schemas that compile as JSON Schema 2020-12", async () => {
    const doc = await openapi();
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: "doc", components: doc.components });
    // Schemas refer to components of the document; resolve them against the schema registered as "doc".
    const compile = (schema: unknown) =>
      ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components', '"doc#/components')));
    const schemasInDoc: unknown[] = [];
    for (const methods of Object.values(doc.paths) as Record<string, Operation>[]) {
      for (const op of Object.values(methods)) {
        for (const p of op.parameters ?? []) schemasInDoc.push(p.schema);
        schemasInDoc.push(op.requestBody?.content["application/json"]?.schema);
        schemasInDoc.push(op.responses["200"]?.content?.["application/json"]?.schema);
      }
    }
    let count = 0;
    for (const schema of schemasInDoc) {
      if (schema === undefined) continue;
      compile(schema);
      count++;
    }
    expect(count).toBeGreaterThan(20);
    const validProblem = compile({ $ref: "#/components/schemas/Problem" });
    expect(validProblem({ status: 400, title: "Bad Request", traceId: "t" })).toBe(true);
  });
});

interface Operation {
  operationId: string;
  security: unknown;
  "x-landform-extension"?: boolean;
  parameters?: { name: string; required: boolean; schema: unknown }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }>;
}

interface OpenApiDocument {
  openapi: string;
  servers: unknown;
  paths: Record<string, Record<string, Operation>>;
  components: {
    securitySchemes: Record<string, unknown>;
    responses: Record<string, { content: Record<string, { schema: unknown }> }>;
  };
}

async function openapi(): Promise<OpenApiDocument> {
  const res = await call("GET", "/api/openapi.json", undefined, null);
  expect(res.headers.get("content-type")).toBe("application/json");
  return (await res.json()) as OpenApiDocument;
}

/** A raw node:http request, for a body the server refuses before reading it all. */
function rawRequest(method: string, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { method, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
