import type { ResourceValidationPolicy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { landformPolicyPackArgs, managedServicePolicies } from "./index";

describe("the pack's arguments", () => {
  it("serve every managed-service policy with its own level by default", () => {
    const { args, initialConfig } = landformPolicyPackArgs();
    expect(args.policies).toEqual(managedServicePolicies);
    expect(args.description).toMatch(/managed services/);
    expect(initialConfig).toBeUndefined();
  });

  it("set one enforcement level for all landform policies without touching the shared objects", () => {
    const { args } = landformPolicyPackArgs({ enforcementLevel: "mandatory" });
    expect(args.policies.map((p) => p.enforcementLevel)).toEqual([
      "mandatory",
      "mandatory",
      "mandatory",
      "mandatory",
    ]);
    expect(managedServicePolicies.map((p) => p.enforcementLevel)).toContain("advisory");
  });

  it("pass the initial config through and add more policies", () => {
    const extra: ResourceValidationPolicy = {
      name: "team-extra",
      description: "x",
      validateResource: () => {},
    };
    const config = {
      "codesphere-database-backups": { minDeleteRetentionDays: 14 },
      "codesphere-no-pause-in-production": "disabled" as const,
      "team-extra": "mandatory" as const,
      all: "advisory" as const,
    };
    const { args, initialConfig } = landformPolicyPackArgs({ config, policies: [extra] });
    expect(args.policies.at(-1)).toBe(extra);
    expect(initialConfig).toBe(config);
  });

  it("refuse config for a policy the pack does not have, and duplicate names", () => {
    expect(() => landformPolicyPackArgs({ config: { "codesphere-backups": "disabled" } })).toThrow(
      /config names the policy "codesphere-backups", which the pack does not have/,
    );
    expect(() => landformPolicyPackArgs({ policies: [managedServicePolicies[0]!] })).toThrow(
      /two policies are named codesphere-database-backups/,
    );
  });
});
