import Ajv2020 from "ajv/dist/2020";
import { describe, expect, it, vi } from "vitest";
import type * as schemas from "../../sdk/schemas";
import { canonicalVersion, checkSpec } from "./catalog-checks";
import type { ServiceSpec } from "./plan-changes";

const redis = {
  name: "redis",
  version: "v1",
  schemaVersion: "v1",
  author: "t",
  category: "Cache",
  description: "",
  displayName: "Redis",
  iconUrl: "",
  capabilities: { pause: false, backups: false },
  configSchema: {
    type: "object",
    properties: { policy: { type: "string", enum: ["noeviction", "allkeys-lru"], default: "noeviction" } },
    additionalProperties: false,
  },
  secretsSchema: {
    type: "object",
    properties: { password: { type: "string", minLength: 8, writeOnly: true } },
    required: ["password"],
    additionalProperties: false,
  },
  detailsSchema: {},
  plans: [
    {
      id: 0,
      name: "Small",
      description: "",
      parameters: {
        memory: { schema: { type: "integer", readOnly: true, const: 256 } },
        storage: { schema: { type: "integer", minimum: 1, default: 5 } },
      },
    },
  ],
  backend: { api: { endpoint: "http://x" } },
} as unknown as schemas.Provider;
const pg15 = { ...redis, name: "postgresql", version: "v15", schemaVersion: "v15" } as schemas.Provider;
const catalog = [redis, pg15];

function spec(overrides: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    teamId: 1,
    name: "cache",
    provider: { name: "redis", version: "v1" },
    plan: { id: 0, parameters: {} },
    config: {},
    secrets: { password: "long-enough" },
    pause: false,
    ...overrides,
  };
}

describe("checking inputs against the catalog", () => {
  it("compiles each schema once, however many resources are checked", () => {
    const compile = vi.spyOn(Ajv2020.prototype, "compile");
    try {
      const first = checkSpec(spec({ plan: { id: 0, parameters: { storage: 7 } } }), [redis]);
      expect(first.failures).toEqual([]);
      const once = compile.mock.calls.length;
      for (let i = 0; i < 20; i++) {
        const again = checkSpec(spec({ plan: { id: 0, parameters: { storage: 0 } } }), [redis]);
        expect(again.failures.map((f) => f.path)).toEqual(["plan.parameters.storage"]);
      }
      expect(compile.mock.calls.length).toBe(once);
    } finally {
      compile.mockRestore();
    }
  });

  it("fills in the catalog's defaults, as the API does", () => {
    const result = checkSpec(spec(), catalog);
    expect(result.failures).toEqual([]);
    expect(result.spec.config).toEqual({ policy: "noeviction" });
    expect(result.spec.plan).toEqual({ id: 0, parameters: { memory: 256, storage: 5 } });
  });

  it("reads 15 as the canonical v15", () => {
    expect(canonicalVersion("15")).toBe("v15");
    const result = checkSpec(spec({ provider: { name: "postgresql", version: "15" } }), catalog);
    expect(result.spec.provider).toEqual({ name: "postgresql", version: "v15" });
  });

  it("names the field and the rule for an unknown provider, version or plan", () => {
    expect(checkSpec(spec({ provider: { name: "mongo", version: "v1" } }), catalog).failures).toEqual([
      {
        path: "provider.name",
        reason: 'no provider named "mongo" in the catalog (available: postgresql, redis)',
      },
    ]);
    expect(checkSpec(spec({ provider: { name: "redis", version: "v9" } }), catalog).failures).toEqual([
      { path: "provider.version", reason: 'redis has no schema version "v9" (available: v1)' },
    ]);
    expect(checkSpec(spec({ plan: { id: 7, parameters: {} } }), catalog).failures[0]?.path).toBe("plan.id");
  });

  it("reports schema violations per field without quoting secrets", () => {
    const result = checkSpec(
      spec({
        config: { policy: "lru", extra: 1 },
        secrets: { password: "short" },
        plan: { id: 0, parameters: { memory: 512, disk: 1 } },
      }),
      catalog,
    );
    const text = JSON.stringify(result.failures);
    expect(result.failures.map((f) => f.path).sort()).toEqual(
      [
        "config.extra",
        "config.policy",
        "plan.parameters.disk",
        "plan.parameters.memory",
        "secrets.password",
      ].sort(),
    );
    expect(text).not.toContain('"short"');
  });

  it("refuses pause and backups where the provider lacks the capability", () => {
    const result = checkSpec(
      spec({
        pause: true,
        backups: { enabled: true, intervalH: 1, deleteRetentionDays: 1, config: {}, secrets: {} },
      }),
      catalog,
    );
    expect(result.failures.map((f) => f.path)).toEqual(["pause", "backups"]);
  });

  it("leaves values that are not known yet alone", () => {
    const U = "<unknown>";
    const result = checkSpec(spec({ config: { policy: U }, secrets: { password: U } }), catalog, {
      isUnknown: (v) => v === U,
    });
    expect(result.failures).toEqual([]);
    expect(result.spec.config).toEqual({ policy: U });
  });
});
