import { describe, expect, it } from "vitest";
import * as schemas from "../../sdk/schemas";
import { bundledCatalog, UPDATE_CONSTRAINTS } from "./catalog";
import { type JsonSchema, schemaCompiler } from "./reference/validation";

const catalog = bundledCatalog("http://127.0.0.1:8090/", "k3y");

function everySchema(entry: schemas.Provider): [string, JsonSchema][] {
  const out: [string, JsonSchema][] = [
    ["configSchema", entry.configSchema],
    ["secretsSchema", entry.secretsSchema],
    ["detailsSchema", entry.detailsSchema],
  ];
  if (entry.backups) {
    out.push(["backups.configSchema", entry.backups.configSchema]);
    out.push(["backups.secretsSchema", entry.backups.secretsSchema]);
  }
  for (const plan of entry.plans) {
    for (const [name, p] of Object.entries(plan.parameters))
      out.push([`plans[${plan.id}].${name}`, p.schema]);
  }
  return out;
}

function constraintsIn(schema: unknown): unknown[] {
  if (schema === null || typeof schema !== "object") return [];
  const own = (schema as Record<string, unknown>)["x-update-constraint"];
  return [...(own === undefined ? [] : [own]), ...Object.values(schema).flatMap(constraintsIn)];
}

describe("the bundled catalog", () => {
  it("offers the core catalog's five, postgresql v14 to v17 and redis", () => {
    expect(catalog.map((e) => `${e.name}@${e.version}`)).toEqual([
      "postgres@v1",
      "postgresql@v14",
      "postgresql@v15",
      "postgresql@v16",
      "postgresql@v17",
      "redis@v1",
      "s3@v1",
      "babelfish@v1",
      "ferretdb@v0",
      "virtual-k8s@v1",
    ]);
  });

  it.each(catalog.map((e) => [`${e.name}@${e.version}`, e] as const))(
    "%s is a valid ApiProvider",
    (_, entry) => {
      expect(() => schemas.ApiProvider.parse(entry)).not.toThrow();
      expect(schemas.Provider.parse(entry)).toEqual(entry);
      expect(entry.schemaVersion).toBe(entry.version);
      expect(entry.scope).toBe("global");
      expect(entry.author).toBe("Landform");
      expect(entry.iconUrl.startsWith("data:image/svg+xml,")).toBe(true);
      // postgresql has one endpoint per version: the version picks the PostgreSQL major.
      const suffix = entry.name === "postgresql" ? `/${entry.version}` : "";
      expect(entry.backend.api).toEqual({
        endpoint: `http://127.0.0.1:8090/api/v1/${entry.name}${suffix}`,
        secret: "k3y",
      });
    },
  );

  it.each(catalog.map((e) => [`${e.name}@${e.version}`, e] as const))(
    "%s has JSON Schemas that compile under draft 2020-12 in strict mode",
    (_, entry) => {
      const compile = schemaCompiler();
      for (const [where, schema] of everySchema(entry)) {
        expect(() => compile(schema), where).not.toThrow();
      }
      for (const c of constraintsIn(entry)) expect(UPDATE_CONSTRAINTS).toContain(c);
    },
  );

  it("leaves the secret out when no key is configured", () => {
    expect(bundledCatalog("http://h", "")[0]!.backend.api).toEqual({ endpoint: "http://h/api/v1/postgres" });
  });

  // The core catalog's five are held value for value against contract/core-catalog.md in catalog.core.test.ts.

  it("accepts the published guide's postgresql example", () => {
    const v15 = catalog.find((e) => e.name === "postgresql" && e.version === "v15")!;
    const compile = schemaCompiler();
    expect(compile(v15.configSchema)({ max_connections: "100" }, "config")).toEqual([]);
    expect(compile(v15.secretsSchema)({ password: "secure-password", username: "admin" }, "secrets")).toEqual(
      [],
    );
    const storage = v15.plans.find((p) => p.id === 1)!.parameters.storage!;
    expect(storage.pricedAs).toBeUndefined();
    expect(compile(storage.schema)(10, "storage")).toEqual([]);
    const backups = v15.backups!;
    expect(
      compile(backups.configSchema)(
        {
          endpointUrl: "https://s3.eu-central-1.amazonaws.com",
          destinationPath: "s3://my-codesphere-backups/",
        },
        "c",
      ),
    ).toEqual([]);
    expect(compile(backups.secretsSchema)({ accessKey: "a", secretKey: "s" }, "s")).toEqual([]);
  });

  it("lets s3 pause (its data stays) but not back up", () => {
    const s3 = catalog.find((e) => e.name === "s3")!;
    expect(s3.capabilities).toEqual({ pause: true, backups: false, pointInTimeRecovery: false });
    expect(Object.keys(s3.plans[0]!.parameters).sort()).toEqual([
      "maxBuckets",
      "maxObjects",
      "maxReadBytesPerS",
      "maxReadOpsPerS",
      "maxSizeKb",
      "maxWriteBytesPerS",
      "maxWriteOpsPerS",
    ]);
  });
});
