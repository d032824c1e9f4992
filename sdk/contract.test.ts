/**
 * Holds the zod schemas against the published OpenAPI document, operation by
 * operation: property names, required fields, types, enums, patterns, bounds
 * and formats must agree, except at the pointers `contractDeviations` lists
 * (and each listed deviation must still be a real difference). Then examples
 * built from the document itself must parse.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import * as schemas from "./schemas";

type Json = Record<string, unknown>;
const documentPath = join(__dirname, "..", "contract", "codesphere-public-api.managed-services.openapi.json");
const document = JSON.parse(readFileSync(documentPath, "utf8")) as {
  paths: Record<string, Record<string, Json>>;
};

interface Operation {
  id: string;
  request?: Json;
  response?: Json;
}

function operations(): Operation[] {
  const out: Operation[] = [];
  for (const methods of Object.values(document.paths)) {
    for (const op of Object.values(methods)) {
      const body = (op.requestBody as Json | undefined)?.content as Json | undefined;
      const ok = (op.responses as Json)["200"] as Json;
      out.push({
        id: String(op.operationId),
        request: ((body?.["application/json"] as Json | undefined)?.schema as Json) ?? undefined,
        response:
          (((ok.content as Json | undefined)?.["application/json"] as Json | undefined)?.schema as Json) ??
          undefined,
      });
    }
  }
  return out;
}

/** The zod schema this SDK uses for each operation's body and 200 answer. */
const mapping: Record<string, { request?: z.ZodType; response?: z.ZodType }> = {
  "managed-services-listProviders": { response: schemas.ProviderList },
  // The document's create/upsert/update answer is the landscape-backed entry;
  // API-backed providers (our extension) are answered in the list's api shape.
  "managed-services-createProvider": {
    request: schemas.CreateProviderRequest,
    response: schemas.LandscapeProvider,
  },
  "managed-services-upsertProvider": {
    request: schemas.UpsertProviderRequest,
    response: schemas.LandscapeProvider,
  },
  "managed-services-updateProvider": {
    request: schemas.UpdateProviderRequest,
    response: schemas.LandscapeProvider,
  },
  "managed-services-deleteProvider": {},
  "managed-services-create": {
    request: schemas.CreateManagedServiceRequest,
    response: schemas.ManagedService,
  },
  "managed-services-list": { response: schemas.ManagedServiceList },
  "managed-services-delete": {},
  "managed-services-getDetails": { response: schemas.ManagedService },
  "managed-services-update": {
    request: schemas.UpdateManagedServiceRequest,
    response: schemas.ManagedService,
  },
  "managed-services-scheduleBackup": { response: schemas.BackupEntry },
};

/** Pointers (beyond the listed deviations) where our side may carry an extra property. */
const extensionProperties: Record<string, string[]> = {
  "managed-services-create response": ["/details"],
  "managed-services-update response": ["/details"],
  "managed-services-list response": ["/[]/details"],
};

function toJsonSchema(schema: z.ZodType, io: "input" | "output"): Json {
  return z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Json;
}

/** Compare two JSON Schemas; returns the pointers where they disagree. */
function differences(
  doc: Json,
  ours: Json,
  pointer: string,
  skip: (p: string) => boolean,
  extra: string[],
): string[] {
  if (skip(pointer)) return [];
  const out: string[] = [];
  const docType = doc.type;
  const ourType = ours.type;
  // The document writes `{type: "object", anyOf: [...]}`; zod writes a bare anyOf.
  if (Array.isArray(doc.anyOf) || Array.isArray(ours.anyOf) || Array.isArray(ours.oneOf)) {
    const a = (doc.anyOf as Json[] | undefined) ?? [doc];
    const b = (ours.anyOf as Json[] | undefined) ?? (ours.oneOf as Json[] | undefined) ?? [ours];
    if (a.length !== b.length)
      return [`${pointer}: anyOf has ${b.length} branches, document has ${a.length}`];
    a.forEach((branch, i) => {
      out.push(...differences(branch, b[i] as Json, `${pointer}/anyOf/${i}`, skip, extra));
    });
    return out;
  }
  if (docType !== undefined && docType !== ourType)
    out.push(`${pointer}: type ${String(ourType)} != ${String(docType)}`);
  const docEnum = (doc.enum as unknown[] | undefined) ?? (doc.const !== undefined ? [doc.const] : undefined);
  const ourEnum =
    (ours.enum as unknown[] | undefined) ?? (ours.const !== undefined ? [ours.const] : undefined);
  if (JSON.stringify(docEnum) !== JSON.stringify(ourEnum) && docEnum !== undefined) {
    out.push(`${pointer}: enum ${JSON.stringify(ourEnum)} != ${JSON.stringify(docEnum)}`);
  }
  for (const key of ["pattern", "minimum", "maximum", "format"] as const) {
    // zod states the safe-integer range of z.int() explicitly; the document leaves it implicit.
    if (Math.abs(Number(ours[key])) === Number.MAX_SAFE_INTEGER && doc[key] === undefined) continue;
    if (doc[key] !== ours[key]) {
      // zod adds a pattern to uuid and date-time formats; the format is what counts there.
      if (key === "pattern" && doc.pattern === undefined && ours.format !== undefined) continue;
      out.push(`${pointer}: ${key} ${JSON.stringify(ours[key])} != ${JSON.stringify(doc[key])}`);
    }
  }
  if (docType === "object" || doc.properties) {
    const dp = (doc.properties as Record<string, Json> | undefined) ?? {};
    const op = (ours.properties as Record<string, Json> | undefined) ?? {};
    for (const name of new Set([...Object.keys(dp), ...Object.keys(op)])) {
      const child = `${pointer}/${name}`;
      if (skip(child)) continue;
      if (!(name in op)) out.push(`${child}: missing in the SDK schema`);
      else if (!(name in dp)) {
        if (!extra.includes(child)) out.push(`${child}: not in the document`);
      } else out.push(...differences(dp[name] as Json, op[name] as Json, child, skip, extra));
    }
    const dr = [...((doc.required as string[] | undefined) ?? [])]
      .filter((r) => !skip(`${pointer}/${r}`))
      .sort();
    const or = [...((ours.required as string[] | undefined) ?? [])]
      .filter((r) => !skip(`${pointer}/${r}`))
      .sort();
    if (JSON.stringify(dr) !== JSON.stringify(or)) out.push(`${pointer}: required ${or} != ${dr}`);
    const dAdd = doc.additionalProperties;
    const oAdd = ours.additionalProperties;
    if (typeof dAdd === "object" && dAdd !== null && Object.keys(dAdd).some((k) => k !== "description")) {
      if (typeof oAdd !== "object" || oAdd === null) out.push(`${pointer}: additionalProperties missing`);
      else out.push(...differences(dAdd as Json, oAdd as Json, `${pointer}/*`, skip, extra));
    }
  }
  if (docType === "array") {
    out.push(...differences(doc.items as Json, ours.items as Json, `${pointer}/[]`, skip, extra));
  }
  return out;
}

function deviationsFor(label: string): string[] {
  return Object.keys(schemas.contractDeviations)
    .filter((k) => k === label || k.startsWith(`${label} `))
    .map((k) => k.slice(label.length).trim());
}

function compare(opId: string, side: "request" | "response", doc: Json, zodSchema: z.ZodType) {
  const label = `${opId} ${side}`;
  const skipped = deviationsFor(label);
  const ours = toJsonSchema(zodSchema, side === "request" ? "input" : "output");
  const found = differences(doc, ours, "", (p) => skipped.includes(p), extensionProperties[label] ?? []);
  // Every listed deviation must still be a difference, or the list lies.
  const stale = skipped.filter(
    (p) => p !== "" && differences(doc, ours, "", (q) => q !== p && skipped.includes(q), []).length === 0,
  );
  return { found, stale };
}

describe("the SDK schemas against the published OpenAPI document", () => {
  const ops = operations();

  it("cover every managed-services operation of the document", () => {
    expect(ops.map((o) => o.id).sort()).toEqual(Object.keys(mapping).sort());
  });

  it("notice a schema that drifts from the document", () => {
    const create = ops.find((o) => o.id === "managed-services-create")!;
    const drifted = schemas.CreateManagedServiceRequest.extend({
      teamId: z.int().min(1).optional(),
      plan: z.strictObject({ id: z.int().min(0), parameters: z.record(z.string(), z.string()) }),
    });
    const { found } = compare(create.id, "request", create.request!, drifted);
    expect(found).toEqual(
      expect.arrayContaining([
        "/plan/parameters/*: type string != integer",
        "/teamId: minimum 1 != 0",
        expect.stringContaining(": required "),
      ]),
    );
  });

  for (const op of ops) {
    const ours = mapping[op.id];
    it(`agree for ${op.id}`, () => {
      expect(ours, `no mapping for ${op.id}`).toBeDefined();
      if (op.request) {
        expect(ours?.request, `${op.id} has a request body`).toBeDefined();
        const { found, stale } = compare(op.id, "request", op.request, ours!.request!);
        expect(found, "request differences").toEqual([]);
        expect(stale, "listed deviations that no longer differ").toEqual([]);
      }
      if (op.response && (op.response.properties || op.response.anyOf || op.response.items)) {
        expect(ours?.response, `${op.id} has a typed answer`).toBeDefined();
        const { found, stale } = compare(op.id, "response", op.response, ours!.response!);
        expect(found, "response differences").toEqual([]);
        expect(stale, "listed deviations that no longer differ").toEqual([]);
      }
    });
  }
});

// ------------------------------------------------------------ document examples

/** Builds an instance of a document schema: each anyOf branch, with all optional fields or none. */
function example(schema: Json, full: boolean, branch: number): unknown {
  if (Array.isArray(schema.anyOf)) {
    const branches = schema.anyOf as Json[];
    return example(branches[branch % branches.length] as Json, full, branch);
  }
  if (schema.example !== undefined && typeof schema.example !== "object") return schema.example;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  switch (schema.type) {
    case "object": {
      const props = (schema.properties as Record<string, Json> | undefined) ?? {};
      const required = (schema.required as string[] | undefined) ?? [];
      const out: Json = {};
      for (const [name, child] of Object.entries(props)) {
        if (full || required.includes(name)) out[name] = example(child, full, branch);
      }
      if (!schema.properties && schema.additionalProperties) {
        const add = schema.additionalProperties as Json;
        out.sample = Object.keys(add).some((k) => k !== "description") ? example(add, full, branch) : "any";
      }
      return out;
    }
    case "array":
      return [example(schema.items as Json, full, branch)];
    case "integer":
      return typeof schema.minimum === "number" ? Math.max(schema.minimum, 1) : 1;
    case "boolean":
      return true;
    case "string":
      if (schema.format === "date-time") return "2026-11-29T10:00:00.000Z";
      if (schema.format === "uuid") return "8316ee2f-87f8-424e-b925-7382dc50d662";
      if (schema.title === "ProviderName") return "postgres";
      if (schema.title === "ProviderSchemaVersion") return "v1";
      if (typeof schema.pattern === "string") return "my-service";
      return "text";
    default:
      return {};
  }
}

describe("examples built from the document", () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);

  for (const op of operations()) {
    const ours = mapping[op.id];
    for (const [side, doc, zodSchema] of [
      ["request", op.request, ours?.request],
      ["response", op.response, ours?.response],
    ] as const) {
      if (!doc || !zodSchema) continue;
      // A side the document leaves untyped (listed as a deviation as a whole) has no examples to build.
      if (`${op.id} ${side}` in schemas.contractDeviations) continue;
      it(`parse with the SDK for the ${op.id} ${side}`, () => {
        for (const full of [false, true]) {
          for (let branch = 0; branch < 10; branch++) {
            const instance = example(doc, full, branch);
            expect(ajv.validate(doc, instance), JSON.stringify(ajv.errors)).toBe(true);
            const parsed = zodSchema.safeParse(instance);
            expect(parsed.success, `${JSON.stringify(instance)}\n${parsed.error?.message}`).toBe(true);
          }
        }
      });
    }
  }
});

describe("the published docs' requests", () => {
  it("parse the guide's create request verbatim", () => {
    const request = {
      teamId: 123,
      name: "my-postgres-db",
      provider: { name: "postgresql", version: "15" },
      plan: { id: 1, parameters: { storage: 10 } },
      config: { max_connections: "100" },
      secrets: { password: "secure-password", username: "admin" },
      backups: {
        enabled: true,
        intervalH: 24,
        deleteRetentionDays: 7,
        config: {
          endpointUrl: "https://s3.eu-central-1.amazonaws.com",
          destinationPath: "s3://my-codesphere-backups/",
        },
        secrets: { accessKey: "YOUR_S3_ACCESS_KEY", secretKey: "YOUR_S3_SECRET_KEY" },
      },
    };
    expect(schemas.CreateManagedServiceRequest.parse(request)).toEqual(request);
  });

  it("parse the guide's update, pause and resume requests verbatim", () => {
    const update = {
      config: { max_connections: "200" },
      plan: { id: 2, parameters: { storage: 20 } },
      secrets: { password: "new-secure-password" },
      backups: {
        enabled: true,
        intervalH: 12,
        deleteRetentionDays: 30,
        config: {
          endpointUrl: "https://s3.eu-central-1.amazonaws.com",
          destinationPath: "s3://my-codesphere-backups/",
        },
        secrets: { accessKey: "YOUR_S3_ACCESS_KEY", secretKey: "YOUR_S3_SECRET_KEY" },
      },
    };
    expect(schemas.UpdateManagedServiceRequest.parse(update)).toEqual(update);
    expect(schemas.UpdateManagedServiceRequest.parse({ pause: true })).toEqual({ pause: true });
    expect(schemas.UpdateManagedServiceRequest.parse({ pause: false })).toEqual({ pause: false });
  });

  it("reject a request with a misspelled field, naming it", () => {
    const result = schemas.UpdateManagedServiceRequest.safeParse({ pasue: true });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain("pasue");
  });

  it("reject a create request whose name breaks the document's pattern", () => {
    const result = schemas.CreateManagedServiceRequest.safeParse({
      teamId: 1,
      name: " leading-space",
      provider: { name: "postgres" },
      plan: { id: 0, parameters: {} },
      config: {},
      secrets: {},
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["name"]);
  });
});
