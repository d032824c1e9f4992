/**
 * The authorization model (docs/authorization.md) against `landform serve`:
 * a cross-team matrix over every route of the API, generated from the route
 * table so that a route without a case fails here, and every way team B could
 * point team A's services (and so their secrets) at a backend B controls.
 * Both teams' backends are real HTTP servers on loopback that speak the
 * provider backend contract from memory and keep every request they get.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { managedServicesRoutes } from "../control-plane/api/routes";
import {
  A,
  A_NEEDLES,
  A_PROVIDER_KEY,
  A_SECRETS,
  AB,
  ADMIN,
  B,
  B_PROVIDER_KEY,
  B_SECRETS,
  bundledPg,
  crossTeamCases,
  providerBody,
  service,
  TOKENS,
  type Who,
} from "./support/authz-cases";
import { RecordingBackend } from "./support/recording-backend";
import { ServedControlPlane } from "./support/serve";

let cp: ServedControlPlane;
/** Team A's backend (where A's providers point) and team B's (the capture server). */
let aBackend: RecordingBackend;
let capture: RecordingBackend;
/** A definition of postgresql v15 without backend, scope and version: the base of every provider here. */
let definition: Record<string, unknown>;
/** Team A's services, by the provider they use. */
const svc = { shared: "", team: "", ab: "" };

// ---------------------------------------------------------------- helpers

interface Answer {
  status: number;
  body: unknown;
  text: string;
}

async function call(who: Who | undefined, method: string, path: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (who) headers.authorization = `Bearer ${who}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${cp.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed, text };
}

// biome-ignore lint/suspicious/noExplicitAny: answers are checked by the assertions that read them
type Json = any;

async function ok(who: Who, method: string, path: string, body?: unknown): Promise<Json> {
  const answer = await call(who, method, path, body);
  if (answer.status !== 200) throw new Error(`${who} ${method} ${path}: ${answer.status} ${answer.text}`);
  return answer.body;
}

const provider = (name: string, endpoint: string, key: string, scope?: unknown) =>
  providerBody(definition, name, endpoint, key, scope);

async function waitForState(id: string, state: string, timeoutMs = 20_000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await ok(A, "GET", `/api/managed-services/${id}`);
    if (s.status.state === state) return s;
    if (Date.now() > deadline) throw new Error(`service ${id} never reached ${state}: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------- fixtures

beforeAll(async () => {
  aBackend = await RecordingBackend.start();
  capture = await RecordingBackend.start();
  cp = await ServedControlPlane.start({
    tokens: TOKENS,
    operationDelayMs: 20,
  });
  const catalog = (await ok(A, "GET", "/api/managed-services/providers")) as Array<Record<string, unknown>>;
  const pg = catalog.find((p) => p.name === "postgresql" && p.schemaVersion === "v15")!;
  const { backend: _b, scope: _s, version: _v, schemaVersion: _sv, ...rest } = pg;
  definition = rest;

  // A global provider (admin), team A's own, and one shared by teams 1 and 2; all on team A's backend.
  const at = (name: string, scope?: unknown) => provider(name, aBackend.url, A_PROVIDER_KEY, scope);
  await ok(ADMIN, "POST", "/api/managed-services/providers", at("shared-pg"));
  await ok(A, "POST", "/api/managed-services/providers", at("a-pg", { type: "team", teamIds: [1] }));
  await ok(AB, "POST", "/api/managed-services/providers", at("ab-pg", { type: "team", teamIds: [1, 2] }));
  // Team B's own provider: the capture server.
  const teamB = { type: "team", teamIds: [2] };
  await ok(
    B,
    "POST",
    "/api/managed-services/providers",
    provider("b-pg", capture.url, B_PROVIDER_KEY, teamB),
  );

  const create = async (name: string, providerName: string) =>
    (await ok(A, "POST", "/api/managed-services", service(1, name, providerName, A_SECRETS))).id as string;
  svc.shared = await create("a-shared", "shared-pg");
  svc.team = await create("a-team", "a-pg");
  svc.ab = await create("a-ab", "ab-pg");
  for (const id of Object.values(svc)) await waitForState(id, "synchronized");

  // Positive control: what team B's own service sends does reach the capture server.
  await ok(B, "POST", "/api/managed-services", service(2, "b-own", "b-pg", B_SECRETS));
  const deadline = Date.now() + 20_000;
  while (!capture.text().includes(B_SECRETS.password)) {
    if (Date.now() > deadline) throw new Error("the capture server never saw team B's own secrets");
    await new Promise((r) => setTimeout(r, 50));
  }
}, 120_000);

afterAll(async () => {
  await cp?.close();
  await capture?.close();
  await aBackend?.close();
});

// ---------------------------------------------------------------- the matrix

const cases = crossTeamCases({
  get definition() {
    return definition;
  },
  get captureUrl() {
    return capture.url;
  },
  get services() {
    return Object.values(svc);
  },
});

/** The route table as the server builds it (the handlers are never called here). */
const table = managedServicesRoutes({ providers: {} as never, managedServices: {} as never });

function pathOf(template: string, params: Record<string, string> = {}): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${template}: no value for {${name}}`);
    return encodeURIComponent(value);
  });
}

describe("the authorization matrix", () => {
  it("has a case for every operation of the route table and of the served document", async () => {
    const fromTable = table.map((r) => r.operationId).sort();
    expect(Object.keys(cases).sort()).toEqual(fromTable);
    const doc = (await call(undefined, "GET", "/api/openapi.json")).body as {
      paths: Record<string, Record<string, { operationId: string; security: unknown[] }>>;
    };
    const served = Object.values(doc.paths).flatMap((ops) => Object.values(ops));
    expect(served.map((op) => op.operationId).sort()).toEqual(fromTable);
    for (const op of served) expect(op.security, op.operationId).toEqual([{ bearerAuth: [] }]);
  });

  it("refuses every route without a token, or with an unknown one, with 401", async () => {
    for (const r of table) {
      const path = pathOf(r.path, { id: svc.team, ...bundledPg });
      for (const auth of [undefined, "not-a-token"]) {
        const res = await fetch(`${cp.url}${path}`, {
          method: r.method,
          headers: {
            ...(auth ? { authorization: `Bearer ${auth}` } : {}),
            "content-type": "application/json",
          },
          ...(r.method === "GET" || r.method === "DELETE" ? {} : { body: "{}" }),
        });
        expect(res.status, `${r.method} ${r.path} with ${auth ?? "no token"}`).toBe(401);
        await res.text();
      }
    }
  });

  for (const r of table) {
    it(`${r.operationId} (${r.method} ${r.path}): cross-team attempts are refused and change nothing`, async () => {
      const attempts = cases[r.operationId as string]?.() ?? [];
      expect(attempts.length).toBeGreaterThan(0);
      const before = await snapshot();
      for (const a of attempts) {
        const path = pathOf(r.path, a.params) + (a.query ? `?${a.query}` : "");
        const answer = await call(a.who, r.method, path, a.body);
        const label = `${a.why}: ${a.who} ${r.method} ${path} -> ${answer.status} ${answer.text.slice(0, 300)}`;
        expect(answer.status, label).toBe(a.status);
        if (a.detail) expect((answer.body as { detail?: string }).detail, label).toMatch(a.detail);
        expect(answer.body, label).toMatchObject({
          status: a.status,
          title: expect.any(String),
          detail: expect.any(String),
          traceId: expect.any(String),
        });
        // No refusal tells team B anything of team A's secrets.
        for (const secret of A_NEEDLES) expect(answer.text).not.toContain(secret);
      }
      expect(await snapshot()).toEqual(before);
    });
  }
});

/** Team A's services and the whole catalog as the admin and team A see them. */
async function snapshot(): Promise<unknown> {
  const services = (await ok(A, "GET", "/api/managed-services?team=1")) as Array<Record<string, unknown>>;
  return {
    services: services.map(({ recentEvents: _e, ...s }) => s),
    catalogA: await ok(A, "GET", "/api/managed-services/providers"),
    catalogB: await ok(B, "GET", "/api/managed-services/providers"),
  };
}

describe("what the admin token may do", () => {
  it("creates, changes and deletes global providers, which every team then sees", async () => {
    const adminPg = provider("admin-pg", aBackend.url, A_PROVIDER_KEY);
    const created = await ok(ADMIN, "POST", "/api/managed-services/providers", adminPg);
    expect(created).toMatchObject({ name: "admin-pg", scope: "global" });
    expect(JSON.stringify(created)).not.toContain(A_PROVIDER_KEY);
    const names = async (who: Who) =>
      ((await ok(who, "GET", "/api/managed-services/providers")) as Array<{ name: string }>).map(
        (p) => p.name,
      );
    expect(await names(B)).toContain("admin-pg");
    const changed = await ok(ADMIN, "PATCH", "/api/managed-services/providers/admin-pg/v1", {
      displayName: "Admin PG",
    });
    expect(changed.displayName).toBe("Admin PG");
    await ok(ADMIN, "PUT", "/api/managed-services/providers", adminPg);
    await ok(ADMIN, "DELETE", "/api/managed-services/providers/admin-pg/v1");
    expect(await names(A)).not.toContain("admin-pg");
  });

  it("sees global providers only, not the teams' own", async () => {
    const names = (
      (await ok(ADMIN, "GET", "/api/managed-services/providers")) as Array<{ name: string }>
    ).map((p) => p.name);
    expect(names).toContain("shared-pg");
    expect(names).not.toContain("a-pg");
    expect(names).not.toContain("b-pg");
  });
});

describe("team A's secrets", () => {
  it("are not sent to a backend once their provider's scope no longer includes team A", async () => {
    // A token of both teams may narrow the shared provider and repoint it; team A's service must not follow.
    await ok(AB, "PATCH", "/api/managed-services/providers/ab-pg/v1", {
      scope: { type: "team", teamIds: [2] },
      backend: { api: { endpoint: capture.url, secret: B_PROVIDER_KEY } },
    });
    const invalid = await waitForState(svc.ab, "invalid provider");
    expect(invalid.recentEvents.at(-1)).toMatchObject({ eventName: "ProviderInvalid" });
    const update = await call(A, "PATCH", `/api/managed-services/${svc.ab}`, { secrets: { password: "x" } });
    expect(update.status).toBe(409);
    // A new team-1 service cannot name it either.
    const again = await call(AB, "POST", "/api/managed-services", service(1, "a-ab-2", "ab-pg", A_SECRETS));
    expect(again.status).toBe(400);
  });

  it("never reached the backend team B set, by any of the paths tried above", async () => {
    // Team A's other services are untouched and still served where they were.
    for (const id of [svc.shared, svc.team]) await waitForState(id, "synchronized");
    // Positive controls: each backend records what it is sent.
    expect(capture.text()).toContain(B_SECRETS.password);
    for (const secret of A_NEEDLES) expect(aBackend.text()).toContain(secret);
    const seen = capture.text();
    for (const secret of A_NEEDLES) expect(seen).not.toContain(secret);
    for (const id of Object.values(svc)) expect(seen).not.toContain(id);
  });
});
