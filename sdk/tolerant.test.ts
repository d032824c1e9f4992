/**
 * Tolerant reading: a newer platform's states and enum values come through
 * responses as themselves, waiters wait through them, and requests stay strict.
 */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { CodesphereClient } from "./client";
import { RequestValidationError, ResponseValidationError } from "./errors";
import * as schemas from "./schemas";
import { managedService, provider, type Reply, SERVICE_ID, startServer } from "./test-server";
import { tolerantEnum } from "./tolerant";
import { WaitTimeoutError, waitForState } from "./waiters";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function clientFor(answer: (index: number) => Reply): Promise<CodesphereClient> {
  const server = await startServer((_req, i) => answer(i));
  const client = new CodesphereClient({ baseUrl: server.baseUrl, token: "t", maxRetries: 0 });
  cleanups.push(
    () => client.close(),
    () => server.close(),
  );
  return client;
}

/** A service as a newer platform might answer: raw JSON, so no SDK type stands in the way. */
function newerService(state: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...managedService(), status: { state, ...extra } };
}

describe("reading responses", () => {
  it("parses a service whose state this SDK does not know, keeping the state and its fields", () => {
    const parsed = schemas.ManagedService.parse(newerService("hibernating", { wakesAt: "soon" }));
    expect(parsed.status).toEqual({ state: "hibernating", wakesAt: "soon" });
    expect(schemas.isKnownState(parsed.status.state)).toBe(false);
  });

  it("parses a provider whose plan parameter is priced in a unit and scope this SDK does not know", () => {
    const entry = {
      ...provider(),
      scope: "organization",
      plans: [
        {
          id: 0,
          name: "small",
          description: "",
          parameters: { gpu: { pricedAs: "gpu-hours", schema: { type: "integer" } } },
        },
      ],
    };
    const [parsed] = schemas.ProviderList.parse([entry]);
    expect(parsed?.scope).toBe("organization");
    expect(parsed?.plans[0]?.parameters.gpu?.pricedAs).toBe("gpu-hours");
  });

  it("still refuses a known state without its fields, naming the field", () => {
    const result = schemas.ManagedService.safeParse(newerService("synchronized"));
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join("."))).toContain("status.detailsRef");
  });

  it("still refuses a state or enum value of the wrong type", () => {
    expect(schemas.ManagedService.safeParse(newerService(42 as unknown as string)).success).toBe(false);
    expect(schemas.ManagedService.safeParse({ ...managedService(), status: "hibernating" }).success).toBe(
      false,
    );
    const e = tolerantEnum(["a", "b"]).safeParse(7);
    expect(e.success).toBe(false);
    expect(e.error?.issues[0]?.code).toBe("invalid_value");
  });

  it("comes through the client's get and list", async () => {
    const client = await clientFor(() => ({ status: 200, body: [newerService("hibernating")] }));
    const [listed] = await client.managedServices.list({ team: 1 });
    expect(listed?.status.state).toBe("hibernating");
  });

  it("still fails the client's parse on a response that is wrong, not just newer", async () => {
    const client = await clientFor(() => ({ status: 200, body: newerService("synchronized") }));
    await expect(client.managedServices.get(SERVICE_ID)).rejects.toBeInstanceOf(ResponseValidationError);
  });

  it("describes only the known values in JSON Schema, so documents and the contract test see no change", () => {
    const json = JSON.stringify(
      z.toJSONSchema(schemas.ManagedService, { io: "input", unrepresentable: "any" }),
    );
    expect(json).toContain('"invalid provider"');
    expect(json).not.toContain("default");
    const priced = z.toJSONSchema(tolerantEnum(["a", "b"]), { io: "output", unrepresentable: "any" });
    expect(priced).toMatchObject({ type: "string", enum: ["a", "b"] });
  });
});

describe("requests stay strict", () => {
  it("refuses an unknown pricing unit in a provider definition", () => {
    const body = {
      name: "pg",
      author: "a",
      category: "databases",
      description: "d",
      displayName: "PG",
      iconUrl: "https://example.com/i.svg",
      configSchema: {},
      detailsSchema: {},
      secretsSchema: {},
      plans: [
        { id: 0, name: "s", description: "", parameters: { gpu: { pricedAs: "gpu-hours", schema: {} } } },
      ],
      backend: { api: { endpoint: "http://127.0.0.1:1" } },
    };
    const result = schemas.CreateProviderRequest.safeParse(body);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain("pricedAs");
  });

  it("refuses an unknown state as a wait target at compile time and a bad body before sending", async () => {
    const client = await clientFor(() => ({ status: 200, body: managedService() }));
    // @ts-expect-error: a wait target is a state this SDK knows
    const target: schemas.ServiceState = "hibernating";
    expect(target).toBe("hibernating");
    await expect(
      client.managedServices.update(SERVICE_ID, {
        pause: "yes",
      } as unknown as schemas.UpdateManagedServiceRequest),
    ).rejects.toBeInstanceOf(RequestValidationError);
  });
});

describe("waiting through an unknown state", () => {
  it("keeps polling through it and returns when the target holds", async () => {
    const client = await clientFor((i) => ({
      status: 200,
      body: i < 3 ? newerService("hibernating") : managedService(),
    }));
    const seen: string[] = [];
    const service = await waitForState(client, SERVICE_ID, "synchronized", {
      minDelayMs: 5,
      onPoll: (p) => seen.push(p.service?.status.state ?? "-"),
    });
    expect(service.status.state).toBe("synchronized");
    expect(seen).toEqual(["hibernating", "hibernating", "hibernating", "synchronized"]);
  });

  it("times out at the deadline saying the last state was one this SDK does not know", async () => {
    const client = await clientFor(() => ({ status: 200, body: newerService("hibernating") }));
    const error = await waitForState(client, SERVICE_ID, "synchronized", {
      timeoutMs: 200,
      minDelayMs: 10,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as Error).message).toMatch(/"hibernating", a state this SDK does not know, waited through/);
  });
});
