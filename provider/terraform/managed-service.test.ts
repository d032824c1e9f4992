import { describe, expect, it } from "vitest";
import type * as schemas from "../../sdk/schemas";
import { MANAGED_SERVICE_SCHEMA, managedServiceResource, stateFromApi, updateBody } from "./managed-service";
import type { ProviderContext, TfObject } from "./provider";
import { UNKNOWN } from "./values";

const empty = (): TfObject =>
  Object.fromEntries(
    [...MANAGED_SERVICE_SCHEMA.block.attributes.map((a) => a.name), "timeouts"].map((n) => [n, null]),
  );

const config = (over: TfObject = {}): TfObject => ({
  ...empty(),
  name: "orders",
  provider_name: "postgresql",
  provider_version: "15",
  plan_id: 1,
  plan_parameters: { storage: 10 },
  config: { max_connections: "100" },
  secrets: { username: "u", password: "p-secret" },
  ...over,
});

function context(writeOnlyAllowed: boolean): ProviderContext {
  return {
    client: () => Promise.reject(new Error("no API in unit tests")),
    teamId: 1,
    configKnown: false,
    fingerprintMaterial: () => "token",
    writeOnlyAllowed,
    signal: new AbortController().signal,
  };
}

const service: schemas.ManagedService = {
  id: "9f1c3b8e-3f5e-4b7a-9a43-0c2d2f6c1a11",
  provider: { name: "postgresql", version: "v15", schemaVersion: "v15" },
  name: "orders",
  backups: { enabled: false, entries: [] },
  pause: false,
  plan: { id: 1, parameters: { storage: 10, cpu: 10, memory: 2048 } },
  createdAt: "2026-01-01T00:00:00.000Z",
  config: { max_connections: "100" },
  status: { state: "synchronized", detailsRef: "x" },
  details: { hostname: "h", port: 5432 },
};

describe("planning a managed service", () => {
  it("keeps secrets out of the plan where Terraform supports write-only attributes", async () => {
    const r = await managedServiceResource().plan(
      { prior: null, proposed: config(), config: config(), priorPrivate: undefined },
      context(true),
    );
    expect(r.planned?.secrets).toBeNull();
    expect(r.planned?.team_id).toBe(1);
    expect(r.planned?.pause).toBe(false);
    expect(r.planned?.id).toBe(UNKNOWN);
    expect(r.planned?.status).toBe("synchronized");
  });

  it("keeps them, marked sensitive by the schema, on older Terraform", async () => {
    const r = await managedServiceResource().plan(
      { prior: null, proposed: config(), config: config(), priorPrivate: undefined },
      context(false),
    );
    expect(r.planned?.secrets).toEqual({ username: "u", password: "p-secret" });
    const secrets = MANAGED_SERVICE_SCHEMA.block.attributes.find((a) => a.name === "secrets");
    expect(secrets).toMatchObject({ sensitive: true, writeOnly: true });
  });

  it("fails with a clear message when no team is set anywhere", async () => {
    const ctx = { ...context(true), teamId: undefined };
    await expect(
      managedServiceResource().plan(
        { prior: null, proposed: config(), config: config(), priorPrivate: undefined },
        ctx,
      ),
    ).rejects.toThrow(/No team/);
  });

  it("validates names, timeouts and recover_from without the API", () => {
    const diags = managedServiceResource().validate(
      config({
        name: " bad",
        timeouts: { create: "soon", update: null, delete: null },
        recover_from: { backup_id: null, service_id: null, time: null, config: null, secrets: null },
      }),
      context(true),
    );
    expect(diags.map((d) => d.summary)).toEqual([
      "Invalid name",
      "Invalid timeouts.create",
      "Invalid recover_from",
    ]);
  });
});

describe("reading a managed service", () => {
  it("records only the keys the configuration set, and the version as written", () => {
    const state = stateFromApi({ ...config(), id: service.id, team_id: 1 }, service);
    expect(state.plan_parameters).toEqual({ storage: 10 });
    expect(state.provider_version).toBe("15");
    expect(state.status).toBe("synchronized");
    expect(state.secrets).toEqual({ username: "u", password: "p-secret" });
  });

  it("takes everything but the plan's fixed parameters after an import", () => {
    const state = stateFromApi({ ...empty(), id: service.id }, service, new Set(["cpu", "memory"]));
    expect(state.plan_parameters).toEqual({ storage: 10 });
    expect(state.config).toEqual({ max_connections: "100" });
    expect(state.provider_version).toBe("v15");
  });
});

describe("update requests", () => {
  it("send only what changed, removed config keys as null", () => {
    const prior = {
      ...config({ config: { max_connections: "100", work_mem: "4MB" } }),
      secret_fingerprints: {},
    };
    const body = updateBody(prior, config({ pause: true }), "a".repeat(43));
    expect(body).toMatchObject({ pause: true, config: { max_connections: "100", work_mem: null } });
    expect(body.secrets).toEqual({ username: "u", password: "p-secret" }); // no fingerprints recorded yet
    expect(body.name).toBeUndefined();
  });
});
