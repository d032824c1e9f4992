import { describe, expect, it } from "vitest";
import type * as schemas from "../../sdk/schemas";
import { bundledCatalog } from "../backends/catalog";
import {
  checkAgainstSchema,
  checkPlanUpdate,
  checkUpdateConstraint,
  checkValuesUpdate,
  resolvePlan,
} from "./validation";

const catalog = bundledCatalog("http://127.0.0.1:1", "key");
const postgres = catalog.find((p) => p.name === "postgres") as schemas.Provider;
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
