import * as cdktf from "cdktf";
import * as cdktn from "cdktn";
import { describe, expect, it } from "vitest";
import * as tfBuild from "../cdktf";
import * as tnBuild from "../cdktn";
import { generateBindings } from "./generate";
import type { ProviderSchemaJson } from "./schema-json";
import { bindings, toCdktn } from "./write";

const OPTIONS = {
  library: "cdktf" as const,
  providerName: "codesphere",
  source: "landform.local/landform/codesphere",
  versionConstraint: ">= 0.1.0",
};

const withAttribute = (name: string, attribute: object): ProviderSchemaJson => ({
  provider: { version: 0, block: { description_kind: "markdown" } },
  resource_schemas: {
    codesphere_thing: {
      version: 0,
      block: { attributes: { [name]: attribute }, description_kind: "markdown" },
    },
  },
  data_source_schemas: {},
});

describe("the binding generator", () => {
  it("names modules and classes as cdktf get does", () => {
    const modules = bindings("cdktf").map((m) => [m.module, m.namespace, m.className]);
    expect(modules).toEqual([
      ["managed-service", "managedService", "ManagedService"],
      ["data-codesphere-providers", "dataCodesphereProviders", "DataCodesphereProviders"],
      ["provider", "provider", "CodesphereProvider"],
    ]);
    const text = bindings("cdktn").find((m) => m.module === "managed-service")!.text;
    expect(text).toContain('import * as cdk from "cdktn";');
    expect(text).not.toContain('"cdktf"');
  });

  it("stops on a type it has no rule for, naming the attribute", () => {
    const schema = withAttribute("tags", { type: ["set", "string"], optional: true });
    expect(() => generateBindings(schema, OPTIONS)).toThrow(/Thing\.tags has type \["set","string"\]/);
  });

  it("stops on an attribute that would shadow a construct member", () => {
    const schema = withAttribute("depends_on", { type: "string", optional: true });
    expect(() => generateBindings(schema, OPTIONS)).toThrow(
      /depends_on clashes with the construct's own dependsOn/,
    );
  });

  it("turns the cdktf build's imports into cdktn ones, and refuses other mentions", () => {
    expect(toCdktn("a.ts", 'import { Token } from "cdktf";\nconst x = await import("cdktf");\n')).toContain(
      'import { Token } from "cdktn";\nconst x = await import("cdktn");',
    );
    expect(() => toCdktn("b.ts", 'const lib = "cdktf";\n')).toThrow(/b\.ts: names "cdktf"/);
  });
});

describe("the two builds", () => {
  // biome-ignore lint/suspicious/noExplicitAny: the same stack against either core library
  function synth(core: any, build: typeof tfBuild | typeof tnBuild): Record<string, unknown> {
    const stack = new core.TerraformStack(core.Testing.app(), "s");
    new build.CodesphereProvider(stack, "codesphere", { teamId: 2 });
    const l = new build.Landscape(stack, "shop", {
      namePrefix: "shop-",
      pause: true,
      services: { db: { providerName: "postgres", planId: 0, config: { a: "1" } } },
    });
    l.services.db!.putTimeouts({ update: "1h" });
    new core.TerraformOutput(stack, "db", { value: l.services.db!.details.lookup("dsn"), sensitive: true });
    return JSON.parse(core.Testing.synth(stack));
  }

  it("synthesize the same configuration with cdktf and with cdktn", () => {
    const tf = synth(cdktf, tfBuild);
    const resources = Object.values((tf.resource as Record<string, object>).codesphere_managed_service!);
    expect(resources).toEqual([
      expect.objectContaining({ name: "shop-db", pause: true, timeouts: { update: "1h" } }),
    ]);
    expect(synth(cdktn, tnBuild)).toEqual(tf);
  });

  it("are both needed: a cdktf construct in a cdktn app fails to synthesize, a cdktn one works", () => {
    for (const build of [tfBuild, tnBuild]) {
      const app = cdktn.Testing.app();
      const stack = new cdktn.TerraformStack(app, "s");
      new build.CodesphereProvider(stack, "codesphere");
      new build.ManagedService(stack, "db", { name: "x", providerName: "redis", planId: 0 });
      if (build === tfBuild) expect(() => app.synth()).toThrow();
      else app.synth();
    }
  });
});
