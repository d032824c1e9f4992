import { describe, expect, it } from "vitest";
import type * as schemas from "../../sdk/schemas";
import { planChanges, replacesUnderConstraint, type ServiceSpec } from "./plan-changes";

/** A catalog entry shaped like the bundled postgres v1: constraints on config, secrets and storage. */
const postgres = {
  name: "postgres",
  version: "v1",
  schemaVersion: "v1",
  author: "t",
  category: "Database",
  description: "",
  displayName: "PostgreSQL",
  iconUrl: "",
  capabilities: { pause: true, backups: true },
  configSchema: {
    type: "object",
    properties: {
      version: { type: "string", "x-update-constraint": "minor-upgrade-only" },
      userName: { type: "string", "x-update-constraint": "immutable" },
      maxConnections: { type: "string" },
    },
  },
  secretsSchema: {
    type: "object",
    properties: {
      userPassword: { type: "string", "x-update-constraint": "immutable" },
      superuserPassword: { type: "string" },
    },
  },
  detailsSchema: {},
  plans: [0, 1].map((id) => ({
    id,
    name: `p${id}`,
    description: "",
    parameters: {
      storage: { schema: { type: "integer", "x-update-constraint": "increase-only" } },
      cpu: { schema: { type: "integer", readOnly: true, const: id * 10 } },
    },
  })),
  backend: { api: { endpoint: "http://x" } },
} as unknown as schemas.Provider;

function spec(overrides: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    teamId: 1,
    name: "db",
    provider: { name: "postgres", version: "v1" },
    plan: { id: 0, parameters: { storage: 1024, cpu: 0 } },
    config: { version: "16.5", userName: "app" },
    secrets: { userPassword: "fp-a", superuserPassword: "fp-b" },
    pause: false,
    ...overrides,
  };
}

describe("planChanges", () => {
  it("finds nothing when nothing changed, whatever the key order", () => {
    const a = spec();
    const b = spec({ config: { userName: "app", version: "16.5" } });
    expect(planChanges(a, b, postgres)).toEqual({ replaces: [], updates: [] });
  });

  it("updates plan, mutable config, secrets, name and pause in place", () => {
    const next = spec({
      name: "orders",
      pause: true,
      plan: { id: 1, parameters: { storage: 2048, cpu: 10 } },
      config: { version: "16.6", userName: "app", maxConnections: "200" },
      secrets: { userPassword: "fp-a", superuserPassword: "fp-c" },
    });
    expect(planChanges(spec(), next, postgres)).toEqual({
      replaces: [],
      updates: [
        "name",
        "pause",
        "plan.id",
        "plan.parameters.storage",
        "config.maxConnections",
        "config.version",
        "secrets.superuserPassword",
      ],
    });
  });

  it("replaces for the team and the provider's name and version", () => {
    const next = spec({ teamId: 2, provider: { name: "babelfish", version: "v2" } });
    expect(planChanges(spec(), next, postgres).replaces).toEqual([
      "teamId",
      "provider.name",
      "provider.version",
    ]);
  });

  it("replaces where the catalog says the change cannot happen in place", () => {
    const changes = planChanges(
      spec(),
      spec({
        plan: { id: 0, parameters: { storage: 512, cpu: 0 } },
        config: { version: "17.1", userName: "orders" },
        secrets: { userPassword: "fp-z", superuserPassword: "fp-b" },
      }),
      postgres,
    );
    expect(changes.replaces).toEqual([
      "plan.parameters.storage",
      "config.userName",
      "config.version",
      "secrets.userPassword",
    ]);
    expect(changes.updates).toEqual([]);
  });

  it("lets a key that was never set be set without replacing, even if immutable", () => {
    const old = spec({ config: { version: "16.5" } });
    expect(planChanges(old, spec(), postgres)).toEqual({ replaces: [], updates: ["config.userName"] });
  });

  it("replaces when recoverFrom is set or changed, not when it is removed", () => {
    const recover = { id: "b1", config: {}, secrets: {} };
    expect(planChanges(spec(), spec({ recoverFrom: recover }), postgres).replaces).toEqual(["recoverFrom"]);
    expect(planChanges(spec({ recoverFrom: recover }), spec(), postgres)).toEqual({
      replaces: [],
      updates: [],
    });
  });

  it("compares backups settings in place and ignores an undeclared block", () => {
    const backups = {
      enabled: true as const,
      intervalH: 24,
      deleteRetentionDays: 7,
      config: { a: "1" },
      secrets: { k: "fp" },
    };
    const old = spec({ backups });
    expect(planChanges(old, spec(), postgres)).toEqual({ replaces: [], updates: [] });
    expect(
      planChanges(old, spec({ backups: { ...backups, intervalH: 12, secrets: { k: "fp2" } } }), postgres),
    ).toEqual({
      replaces: [],
      updates: ["backups.intervalH", "backups.secrets.k"],
    });
    expect(planChanges(old, spec({ backups: { enabled: false } }), postgres).updates).toEqual([
      "backups.enabled",
    ]);
  });

  it("counts unknown values as changes: replacing for fixed rules, in place where the catalog decides later", () => {
    const U = "<unknown>";
    const isUnknown = (v: unknown) => v === U;
    const next = spec({ teamId: U as unknown as number, config: { version: U, userName: U } });
    expect(planChanges(spec(), next, postgres, { isUnknown })).toEqual({
      replaces: ["teamId", "config.userName"],
      updates: ["config.version"],
    });
  });

  it("records local settings (adopt, timeouts) as updates with nothing to replace", () => {
    const old = { ...spec(), timeouts: { create: "20m" } };
    const next = { ...spec(), timeouts: { create: "30m" }, adopt: true };
    expect(planChanges(old, next, postgres)).toEqual({ replaces: [], updates: ["adopt", "timeouts"] });
  });
});

describe("update constraints", () => {
  it("increase-only replaces on a decrease only", () => {
    expect(replacesUnderConstraint("increase-only", 10, 20)).toBe(false);
    expect(replacesUnderConstraint("increase-only", 20, 10)).toBe(true);
  });

  it("minor-upgrade-only replaces on another major or an older version", () => {
    expect(replacesUnderConstraint("minor-upgrade-only", "16.5", "16.6")).toBe(false);
    expect(replacesUnderConstraint("minor-upgrade-only", "16.6", "16.5")).toBe(true);
    expect(replacesUnderConstraint("minor-upgrade-only", "16.6", "17.0")).toBe(true);
  });
});
