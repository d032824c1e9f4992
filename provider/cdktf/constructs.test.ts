import { App, TerraformStack, TerraformVariable, Testing, Token } from "cdktf";
import { describe, expect, it } from "vitest";
import {
  CodesphereProvider,
  Landscape,
  ManagedService,
  PROVIDER_SOURCE,
  validateManagedServiceProps,
} from "./index";

function stack() {
  const app = Testing.app();
  const s = new TerraformStack(app, "test");
  new CodesphereProvider(s, "codesphere", { apiUrl: "http://127.0.0.1:8080/api", teamId: 1 });
  return { app, s };
}

describe("the CDKTF constructs", () => {
  it("synthesize the resource's attributes in snake_case, and the provider from the local mirror", () => {
    const { s } = stack();
    new ManagedService(s, "db", {
      name: "orders",
      providerName: "postgresql",
      providerVersion: "15",
      planId: 1,
      planParameters: { storage: 10 },
      config: { max_connections: "100" },
      secrets: { password: "x" },
      backups: {
        enabled: true,
        intervalH: 12,
        config: { endpointUrl: "http://s3" },
        secrets: { secretKey: "k" },
      },
      timeouts: { create: "30m" },
    });
    const json = JSON.parse(Testing.synth(s));
    expect(json.terraform.required_providers.codesphere.source).toBe(PROVIDER_SOURCE);
    expect(json.provider.codesphere[0]).toEqual({ api_url: "http://127.0.0.1:8080/api", team_id: 1 });
    expect(json.resource.codesphere_managed_service.db).toMatchObject({
      name: "orders",
      provider_name: "postgresql",
      plan_parameters: { storage: 10 },
      backups: { enabled: true, interval_h: 12, config: { endpointUrl: "http://s3" } },
      timeouts: { create: "30m" },
    });
  });

  it("validate resolved values and report every problem with the construct's path", () => {
    const errors = validateManagedServiceProps({
      name: " spaced",
      providerName: "Postgres",
      planId: -1,
      backups: { enabled: true, intervalH: 1000 },
      recoverFrom: { serviceId: "x" },
      timeouts: { delete: "soon" },
    });
    expect(errors).toEqual([
      expect.stringContaining("name:"),
      expect.stringContaining("providerName:"),
      expect.stringContaining("planId:"),
      expect.stringContaining("backups.intervalH:"),
      expect.stringContaining("backups: config and secrets"),
      expect.stringContaining("recoverFrom: point-in-time recovery needs both"),
      expect.stringContaining("timeouts.delete:"),
    ]);
    const { app, s } = stack();
    new ManagedService(s, "bad", { name: "-", providerName: "x", planId: 1.5 });
    expect(() => app.synth()).toThrow(/test\/bad: planId/);
  });

  it("validate the inputs as set at synth time, including through setters and put*", () => {
    const { app, s } = stack();
    const svc = new ManagedService(s, "later", { name: "ok", providerName: "redis", planId: 0 });
    svc.planId = -2;
    svc.putTimeouts({ create: "whenever" });
    expect(() => app.synth()).toThrow(/test\/later: planId: must be an integer from 0, got -2/);
    expect(validateManagedServiceProps({ timeouts: svc.timeoutsInput })).toEqual([
      expect.stringContaining('timeouts.create: expected a duration like 30s, 20m or 1h, got "whenever"'),
    ]);
  });

  it("render nested attributes as object values and timeouts as a block in HCL", () => {
    const { s } = stack();
    new ManagedService(s, "db", {
      name: "orders",
      providerName: "postgres",
      planId: 0,
      backups: { enabled: true, config: { endpointUrl: "http://s3" }, secrets: { secretKey: "k" } },
      timeouts: { create: "30m" },
    });
    const hcl = Testing.synthHcl(s);
    expect(hcl).toMatch(/backups = \{/);
    expect(hcl).toMatch(/endpointUrl = "http:\/\/s3"/);
    expect(hcl).toMatch(/timeouts \{\s*create = "30m"/);
  });

  it("skip unresolved tokens", () => {
    const { s } = stack();
    const plan = new TerraformVariable(s, "plan", { type: "number" });
    const name = new TerraformVariable(s, "name", { type: "string" });
    expect(Token.isUnresolved(name.stringValue)).toBe(true);
    expect(
      validateManagedServiceProps({
        name: name.stringValue,
        providerName: "redis",
        planId: plan.numberValue,
      }),
    ).toEqual([]);
  });

  it("build a landscape of services with shared team, backups and pause", () => {
    const app = new App({ outdir: Testing.app().outdir });
    const s = new TerraformStack(app, "landscape");
    new CodesphereProvider(s, "codesphere");
    const l = new Landscape(s, "shop", {
      teamId: 7,
      namePrefix: "shop-",
      pause: true,
      backups: { enabled: true, config: { endpointUrl: "http://s3" }, secrets: { secretKey: "k" } },
      services: {
        db: { providerName: "postgres", planId: 0, backups: true },
        cache: { providerName: "redis", planId: 0, pause: false },
      },
    });
    const json = JSON.parse(Testing.synth(s));
    const resources = json.resource.codesphere_managed_service;
    const byName = Object.fromEntries(Object.values(resources).map((r) => [(r as { name: string }).name, r]));
    expect(Object.keys(byName).sort()).toEqual(["shop-cache", "shop-db"]);
    expect(byName["shop-db"]).toMatchObject({ team_id: 7, pause: true, backups: { enabled: true } });
    expect(byName["shop-cache"]).toMatchObject({ team_id: 7, pause: false });
    expect((byName["shop-cache"] as Record<string, unknown>).backups).toBeUndefined();
    expect(Object.keys(l.services)).toEqual(["db", "cache"]);
  });
});
