/**
 * A service in a state this SDK does not know (a newer platform's) does not
 * break refresh: Terraform's read and Pulumi's read both record the state as
 * reported and keep the resource.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CodesphereClient } from "../sdk/client";
import { managedService, SERVICE_ID, startServer, type TestServer } from "../sdk/test-server";
import { read as pulumiRead, type ServiceOutputs } from "./pulumi/implementation";
import { MANAGED_SERVICE_SCHEMA, managedServiceResource } from "./terraform/managed-service";
import type { ProviderContext, TfObject } from "./terraform/provider";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An API that reports the service as `hibernating`, with a field no SDK knows. */
async function newerApi(): Promise<TestServer> {
  const server = await startServer((req) =>
    req.method === "GET" && req.path === `/api/managed-services/${SERVICE_ID}`
      ? { status: 200, body: { ...managedService(), status: { state: "hibernating", wakesOn: "connect" } } }
      : { status: 404, body: { status: 404, title: "Not Found", traceId: "t" } },
  );
  cleanups.push(() => server.close());
  return server;
}

describe("refresh of a service in a state this SDK does not know", () => {
  it("terraform: keeps the resource and records the reported state", async () => {
    const server = await newerApi();
    const client = new CodesphereClient({ baseUrl: server.baseUrl, token: "t", maxRetries: 0 });
    cleanups.push(() => client.close());
    const ctx: ProviderContext = {
      client: () => Promise.resolve(client),
      teamId: 1,
      configKnown: true,
      fingerprintMaterial: () => "token",
      writeOnlyAllowed: true,
      signal: new AbortController().signal,
    };
    const prior: TfObject = Object.fromEntries(
      [...MANAGED_SERVICE_SCHEMA.block.attributes.map((a) => a.name), "timeouts"].map((n) => [n, null]),
    );
    Object.assign(prior, {
      id: SERVICE_ID,
      team_id: 1,
      name: "orders-db",
      provider_name: "postgresql",
      provider_version: "v15",
      plan_id: 0,
      plan_parameters: { storage: 1024 },
      config: {},
      pause: false,
      status: "synchronized",
    });

    const { newState } = await managedServiceResource().read(prior, undefined, ctx);

    expect(newState).not.toBeNull();
    expect(newState?.id).toBe(SERVICE_ID);
    expect(newState?.status).toBe("hibernating");
    expect(newState?.plan_parameters).toEqual({ storage: 1024 });
  });

  it("pulumi: keeps the resource and records the reported state", async () => {
    const server = await newerApi();
    const props: ServiceOutputs = {
      teamId: 1,
      name: "orders-db",
      provider: { name: "postgresql", version: "v15" },
      plan: { id: 0, parameters: { storage: 1024 } },
      config: {},
      pause: false,
      backups: { enabled: false },
      status: "synchronized",
      details: {},
      backupEntries: [],
      createdAt: "2025-01-01T00:00:00Z",
      secretFingerprints: {},
      fingerprintKey: "k".repeat(43),
      __connection: { apiUrl: server.baseUrl, token: "t" },
    };

    const result = await pulumiRead(SERVICE_ID, props);

    expect(result.id).toBe(SERVICE_ID);
    expect(result.props?.status).toBe("hibernating");
    expect(result.inputs).toBeUndefined();
  });
});
