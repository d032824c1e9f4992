import { describe, expect, it } from "vitest";
import { FIELD_RULES, ruleFor } from "./fields";

describe("the field table", () => {
  it("answers per field in API, Pulumi and Terraform names, with the fixed rules", () => {
    expect(ruleFor("teamId")).toMatchObject({ pulumi: "teamId", terraform: "team_id", onChange: "replace" });
    expect(ruleFor("provider.name")).toMatchObject({ terraform: "provider_name", onChange: "replace" });
    expect(ruleFor("provider.version")).toMatchObject({ terraform: "provider_version", onChange: "replace" });
    expect(ruleFor("recoverFrom")).toMatchObject({
      onChange: "replace",
      createOnly: true,
      ignoreRemoval: true,
    });
    for (const path of ["plan", "config", "secrets", "backups", "name", "pause"]) {
      expect(ruleFor(path)?.onChange, path).toBe("update");
    }
    expect(ruleFor("secrets")).toMatchObject({ sensitive: true, writeOnly: true });
    expect(ruleFor("backups.secrets")).toMatchObject({ sensitive: true, writeOnly: true });
    expect(ruleFor("details.dsn")).toMatchObject({ sensitive: true, computed: true });
    expect(ruleFor("backups.intervalH")?.terraform).toBe("backups.interval_h");
  });

  it("falls back to the nearest parent for nested paths", () => {
    expect(ruleFor("config.version")?.path).toBe("config");
    expect(ruleFor("plan.parameters.storage")?.path).toBe("plan.parameters");
  });

  it("has one row per path and snake_case Terraform names", () => {
    const paths = FIELD_RULES.map((r) => r.path);
    expect(new Set(paths).size).toBe(paths.length);
    for (const r of FIELD_RULES) expect(r.terraform, r.path).toMatch(/^[a-z_.]+$/);
  });
});
