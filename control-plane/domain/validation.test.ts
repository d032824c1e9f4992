import { describe, expect, it } from "vitest";
import type * as schemas from "../../sdk/schemas";
import { bundledCatalog } from "../backends/catalog";
import {
  checkAgainstSchema,
  checkJsonSchema,
  checkPlanUpdate,
  checkProviderSchemas,
  checkUpdateConstraint,
  checkValuesUpdate,
  MAX_VALUES_BYTES,
  resolvePlan,
} from "./validation";

const catalog = bundledCatalog("http://127.0.0.1:1", "key");

/**
 * A provider shaped like the catalog's databases, kept here so these rules
 * are tested on schemas that do not move when the bundled catalog does.
 */
const postgres = {
  name: "postgres",
  schemaVersion: "v1",
  plans: [
    {
      id: 1,
      name: "Medium",
      description: "1 vCPU",
      parameters: {
        storage: {
          schema: { type: "integer", minimum: 512, default: 5120, "x-update-constraint": "increase-only" },
        },
        cpu: { schema: { type: "integer", readOnly: true, const: 10, default: 10 } },
      },
    },
  ],
  configSchema: {
    type: "object",
    properties: {
      version: { type: "string", pattern: "^[0-9]+\\.[0-9]+$", "x-update-constraint": "minor-upgrade-only" },
      userName: { type: "string", default: "app", "x-update-constraint": "immutable" },
      databaseName: { type: "string", default: "app", "x-update-constraint": "immutable" },
    },
    required: ["version"],
    additionalProperties: false,
  },
  secretsSchema: {
    type: "object",
    properties: { userPassword: { type: "string", minLength: 8, "x-update-constraint": "immutable" } },
    required: ["userPassword"],
  },
} as unknown as schemas.Provider;
const detail = (fn: () => void) => {
  try {
    fn();
  } catch (error) {
    return (error as { detail?: string }).detail;
  }
  return undefined;
};

describe("validation against the catalog", () => {
  it("names each failing field and the rule, and fills defaults", () => {
    const config: Record<string, unknown> = { version: "16.6" };
    checkAgainstSchema("config", postgres.configSchema, config);
    expect(config.userName).toBe("app");
    expect(detail(() => checkAgainstSchema("config", postgres.configSchema, { version: 16 }))).toMatch(
      /^config\.version: /,
    );
    expect(detail(() => checkAgainstSchema("config", postgres.configSchema, { colour: "red" }))).toMatch(
      /config\.colour: is not a known field/,
    );
    expect(detail(() => checkAgainstSchema("secrets", postgres.secretsSchema, {}))).toMatch(
      /secrets\.userPassword: is required/,
    );
  });

  it("never quotes a secret value in a message", () => {
    const secret = "tiny";
    const message = detail(() =>
      checkAgainstSchema("secrets", postgres.secretsSchema, { userPassword: secret }),
    );
    expect(message).toMatch(/secrets\.userPassword/);
    expect(message).not.toContain(secret);
    const immutable = detail(() =>
      checkUpdateConstraint("secrets.userPassword", "immutable", "old-secret", "new-secret", true),
    );
    expect(immutable).not.toContain("old-secret");
    expect(immutable).not.toContain("new-secret");
  });

  it("resolves a plan: unknown plans and parameters are refused, read-only ones take the plan's value", () => {
    const plan = resolvePlan(postgres, { id: 1, parameters: { storage: 2048 } });
    expect(plan.parameters.storage).toBe(2048);
    expect(typeof plan.parameters.cpu).toBe("number");
    expect(detail(() => resolvePlan(postgres, { id: 42, parameters: {} }))).toMatch(
      /^plan\.id: plan 42 does not exist/,
    );
    expect(detail(() => resolvePlan(postgres, { id: 1, parameters: { disks: 2 } }))).toMatch(
      /plan\.parameters\.disks/,
    );
    expect(detail(() => resolvePlan(postgres, { id: 1, parameters: { cpu: 1234 } }))).toMatch(
      /cpu: is read-only/,
    );
    expect(detail(() => resolvePlan(postgres, { id: 1, parameters: { storage: 1 } }))).toMatch(
      /plan\.parameters\.storage/,
    );
  });

  it("enforces x-update-constraint: immutable, increase-only, minor-upgrade-only", () => {
    const before = resolvePlan(postgres, { id: 1, parameters: { storage: 2048 } });
    expect(() =>
      checkPlanUpdate(postgres, before, resolvePlan(postgres, { id: 1, parameters: { storage: 4096 } })),
    ).not.toThrow();
    expect(
      detail(() =>
        checkPlanUpdate(postgres, before, resolvePlan(postgres, { id: 1, parameters: { storage: 1024 } })),
      ),
    ).toMatch(/storage: can only increase/);
    const config = { version: "16.6", userName: "app", databaseName: "shop" };
    expect(() =>
      checkValuesUpdate("config", postgres.configSchema, config, { ...config, version: "16.8" }),
    ).not.toThrow();
    expect(
      detail(() =>
        checkValuesUpdate("config", postgres.configSchema, config, { ...config, version: "17.2" }),
      ),
    ).toMatch(/config\.version: allows only minor upgrades/);
    expect(
      detail(() =>
        checkValuesUpdate("config", postgres.configSchema, config, { ...config, version: "16.4" }),
      ),
    ).toMatch(/minor upgrades/);
    expect(
      detail(() =>
        checkValuesUpdate("config", postgres.configSchema, config, { ...config, userName: "root" }),
      ),
    ).toMatch(/config\.userName: is immutable/);
  });
});

describe("provider schemas from untrusted hands", () => {
  const status = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      return (error as { status?: number }).status;
    }
    return undefined;
  };
  const catastrophic = { type: "object", properties: { name: { type: "string", pattern: "^(a+)+$" } } };

  it("runs a catastrophic pattern in linear time", () => {
    checkJsonSchema("configSchema", catastrophic);
    const start = performance.now();
    const message = detail(() =>
      checkAgainstSchema("config", structuredClone(catastrophic), { name: `${"a".repeat(50_000)}!` }),
    );
    expect(performance.now() - start).toBeLessThan(1_000);
    expect(message).toMatch(/^config\.name: must match pattern "\^\(a\+\)\+\$"/);
    expect(() => checkAgainstSchema("config", catastrophic, { name: "aaaa" })).not.toThrow();
  });

  it("runs patternProperties on RE2 too, and translates \\u escapes", () => {
    const schema = {
      type: "object",
      patternProperties: { "^x-\\u00e9+$": { type: "integer" } },
      additionalProperties: false,
    };
    checkJsonSchema("configSchema", schema);
    expect(() => checkAgainstSchema("config", schema, { "x-éé": 1 })).not.toThrow();
    expect(detail(() => checkAgainstSchema("config", schema, { "x-éé": "one" }))).toMatch(
      /config\.x-éé: must be integer/,
    );
    expect(detail(() => checkAgainstSchema("config", schema, { y: 1 }))).toMatch(
      /config\.y: is not a known field/,
    );
  });

  it("refuses patterns RE2 cannot run, naming the field and the rule", () => {
    const backreference = { type: "string", pattern: "^(a)\\1$" };
    expect(status(() => checkJsonSchema("configSchema", { properties: { x: backreference } }))).toBe(422);
    expect(detail(() => checkJsonSchema("configSchema", { properties: { x: backreference } }))).toMatch(
      /^configSchema\.properties\.x\.pattern: .*cannot run in linear time/,
    );
    expect(detail(() => checkJsonSchema("secretsSchema", { patternProperties: { "(?=a)": {} } }))).toMatch(
      /^secretsSchema\.patternProperties: .*cannot run in linear time/,
    );
    expect(detail(() => checkJsonSchema("configSchema", { pattern: "[\\s\\S]{1000}".repeat(3) }))).toMatch(
      /^configSchema\.pattern: .*too complex: it compiles to \d+ RE2 instructions/,
    );
    expect(detail(() => checkJsonSchema("configSchema", { pattern: "a".repeat(1_001) }))).toMatch(
      /longer than 1000 characters/,
    );
    // A "pattern" key inside a default is data, not a pattern.
    expect(() => checkJsonSchema("configSchema", { default: { pattern: "(?=a)" } })).not.toThrow();
  });

  it("bounds what one validation may spend on patterns", () => {
    // [a-z]{0,1000} compiles to about 2,000 instructions: 20,000 characters exceed the budget.
    const schema = { type: "array", items: { type: "string", pattern: "^[a-z]{0,990}$" } };
    checkJsonSchema("configSchema", schema);
    const value = Array.from({ length: 20 }, () => "b".repeat(1_000));
    const start = performance.now();
    expect(status(() => checkAgainstSchema("config", schema, value))).toBe(400);
    expect(detail(() => checkAgainstSchema("config", schema, value))).toMatch(
      /too long to check against pattern/,
    );
    expect(performance.now() - start).toBeLessThan(2_000);
    // The budget is per validation: a small value afterwards is checked normally.
    expect(() => checkAgainstSchema("config", schema, ["abc"])).not.toThrow();
  });

  it("accepts $id, and compiles each stored copy on its own so reloads never collide", () => {
    const schema = {
      $id: "https://example.com/config.json",
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties: { size: { $ref: "#/$defs/size" }, inner: { $id: "inner.json", type: "string" } },
      $defs: { size: { type: "integer", minimum: 1 } },
    };
    checkJsonSchema("configSchema", schema);
    // Each catalog reload parses fresh objects from the store: same $id, new object, many times.
    for (let i = 0; i < 50; i++) {
      const reloaded = structuredClone(schema);
      expect(() => checkAgainstSchema("config", reloaded, { size: 2 })).not.toThrow();
      expect(detail(() => checkAgainstSchema("config", reloaded, { size: 0 }))).toMatch(
        /config\.size: must be >= 1/,
      );
    }
  });

  it("refuses other drafts, remote $refs and schemas that do not compile, with 422", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ $schema: "http://json-schema.org/draft-07/schema#" }, /^configSchema\.\$schema: must be .*2020-12/],
      [
        { $ref: "https://evil.example/schema.json" },
        /^configSchema: does not compile .*can't resolve reference/,
      ],
      [{ properties: { a: { $ref: "#/$defs/missing" } } }, /^configSchema: does not compile/],
      [{ type: "nope" }, /^configSchema: is not a valid JSON Schema 2020-12 .*type/],
      [{ properties: 3 }, /^configSchema: is not a valid JSON Schema 2020-12/],
    ];
    for (const [schema, expected] of cases) {
      expect(status(() => checkJsonSchema("configSchema", schema))).toBe(422);
      expect(detail(() => checkJsonSchema("configSchema", schema))).toMatch(expected);
    }
  });

  it("bounds a schema's size and depth", () => {
    let deep: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 40; i++) deep = { type: "object", properties: { a: deep } };
    expect(detail(() => checkJsonSchema("configSchema", deep))).toMatch(/nests deeper than 32 levels/);
    const wide = { type: "object", properties: {} as Record<string, unknown> };
    for (let i = 0; i < 5_000; i++) wide.properties[`field${i}`] = { type: "string" };
    expect(detail(() => checkJsonSchema("configSchema", wide))).toMatch(
      /^configSchema: is \d+ bytes; a schema may have at most 65536/,
    );
  });

  it("answers 422 instead of failing when a schema stored earlier no longer compiles", () => {
    expect(status(() => checkAgainstSchema("config", { $ref: "https://evil.example/x" }, {}))).toBe(422);
    expect(detail(() => checkAgainstSchema("config", { $ref: "https://evil.example/x" }, {}))).toMatch(
      /^config: the provider's schema for it cannot be used/,
    );
  });

  it("accepts every bundled provider's schemas", () => {
    for (const provider of catalog) expect(() => checkProviderSchemas(provider)).not.toThrow();
  });

  it("names at most 20 failing fields", () => {
    const schema = { type: "array", items: { type: "integer" } };
    const message = detail(() =>
      checkAgainstSchema(
        "config",
        schema,
        Array.from({ length: 100 }, () => "x"),
      ),
    );
    expect(message?.split("; ")).toHaveLength(21);
    expect(message).toMatch(/; and 80 more$/);
  });
});

describe("the size of what a service keeps", () => {
  it("refuses config or secrets over 64 KiB, naming the field and the limit", () => {
    const big = { blob: "b".repeat(MAX_VALUES_BYTES) };
    expect(detail(() => checkAgainstSchema("config", { type: "object" }, big))).toMatch(
      /^config: is \d+ bytes as JSON; at most 65536 are kept$/,
    );
    expect(detail(() => checkAgainstSchema("secrets", undefined, big))).toMatch(/^secrets: is \d+ bytes/);
    expect(() =>
      checkAgainstSchema("config", { type: "object" }, { blob: "b".repeat(60_000) }),
    ).not.toThrow();
  });
});
