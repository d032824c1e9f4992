import { describe, expect, it } from "vitest";
import type * as schemas from "../../sdk/schemas";
import type { ServiceSpec } from "./plan-changes";
import { createRequest, driftBetween, observedSpec, updateRequest } from "./requests";

const base: ServiceSpec = {
  teamId: 1,
  name: "db",
  provider: { name: "postgresql", version: "v15" },
  plan: { id: 1, parameters: { storage: 10 } },
  config: { max_connections: "100", keep: "x" },
  secrets: { username: "u", password: "p" },
  pause: false,
};

describe("request bodies", () => {
  it("create carries everything but pause", () => {
    expect(createRequest(base)).toEqual({
      teamId: 1,
      name: "db",
      provider: { name: "postgresql", version: "v15" },
      plan: { id: 1, parameters: { storage: 10 } },
      config: { max_connections: "100", keep: "x" },
      secrets: { username: "u", password: "p" },
    });
  });

  it("update sends only what changed, and null for removed keys", () => {
    const before = { ...base, secrets: { username: "fp1", password: "fp2", old: "fp3" } };
    const after = { ...base, config: { max_connections: "200" }, secrets: { username: "u", password: "p2" } };
    const body = updateRequest(before, after, {
      updates: ["config.max_connections", "config.keep", "secrets.password", "secrets.old"],
    });
    expect(body).toEqual({
      config: { max_connections: "200", keep: null },
      secrets: { password: "p2", old: null },
    });
  });

  it("update sends nothing for local settings only", () => {
    expect(updateRequest(base, base, { updates: ["timeouts"] })).toBeUndefined();
  });

  it("turning backups on sends all their settings and secrets", () => {
    const backups = {
      enabled: true as const,
      intervalH: 24,
      deleteRetentionDays: 7,
      config: { a: "1" },
      secrets: { k: "v" },
    };
    expect(updateRequest(base, { ...base, backups }, { updates: ["backups.enabled"] })).toEqual({
      backups: {
        enabled: true,
        intervalH: 24,
        deleteRetentionDays: 7,
        config: { a: "1" },
        secrets: { k: "v" },
      },
    });
  });
});

describe("drift", () => {
  const service = {
    id: "00000000-0000-4000-8000-000000000000",
    provider: { name: "postgresql", version: "v15", schemaVersion: "v15" },
    name: "db",
    backups: { enabled: false, entries: [] },
    pause: true,
    plan: { id: 1, parameters: { storage: 10 } },
    createdAt: "2026-01-01T00:00:00Z",
    config: { max_connections: "300", keep: "x" },
    status: { state: "paused" },
  } as schemas.ManagedService;

  it("lists each field the API reports differently from the record", () => {
    const observed = observedSpec(service, 1);
    expect(driftBetween(base, observed)).toEqual([
      { path: "pause", recorded: false, observed: true },
      { path: "config.max_connections", recorded: "100", observed: "300" },
    ]);
  });
});
