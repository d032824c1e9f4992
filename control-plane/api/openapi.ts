/**
 * The OpenAPI 3.1 document, derived from the route table and the sdk's zod
 * schemas (never written by hand), with the published operationIds, so the
 * document and the server cannot disagree.
 */
import { STATUS_CODES } from "node:http";
import { z } from "zod";
import { contractDeviations, Problem } from "../../sdk/schemas";
import { PROBLEM_CONTENT_TYPE } from "./problems";
import type { Route } from "./router";

type Json = Record<string, unknown>;

/** Paths in the document are relative to this server URL, as in the published document. */
export const API_BASE = "/api";

const PROBLEM_TEXT: Record<number, string> = {
  400: "The path, query or body does not match the schema; detail names the field and the rule.",
  401: "The bearer token is missing or unknown.",
  403: "The token's teams may not do this.",
  404: "Not found, or not visible to the token's teams.",
  409: "Conflicts with the current state.",
  413: "The body is larger than 1 MiB.",
  422: "Well-formed but refused by the provider's schemas or rules.",
  503: "Not ready.",
};

export function buildOpenApiDocument(routes: readonly Route[]): Json {
  const schemas: Json = { Problem: jsonSchema(Problem, "input", {}) };
  const responses: Json = {};
  const paths: Record<string, Json> = {};

  const problemRef = (status: number): Json => {
    const name = (STATUS_CODES[status] ?? `Status ${status}`).replace(/[^A-Za-z0-9]/g, "");
    responses[name] ??= {
      description: PROBLEM_TEXT[status] ?? STATUS_CODES[status] ?? "Error.",
      content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: "#/components/schemas/Problem" } } },
    };
    return { $ref: `#/components/responses/${name}` };
  };

  for (const r of routes) {
    if (r.hidden || !r.path.startsWith(`${API_BASE}/`)) continue;
    const op: Json = { operationId: r.operationId };
    if (r.summary) op.summary = r.summary;
    if (r.description) op.description = r.description;
    if (r.tags) op.tags = [...r.tags];

    const parameters = [
      ...parametersOf(r.params, "path", schemas),
      ...parametersOf(r.query, "query", schemas),
    ];
    if (parameters.length > 0) op.parameters = parameters;
    if (r.body) {
      op.requestBody = {
        required: true,
        content: { "application/json": { schema: jsonSchema(r.body, "input", schemas) } },
      };
    }

    const answers: Json = {
      200: r.response
        ? {
            description: "Success.",
            content: { "application/json": { schema: jsonSchema(r.response, "input", schemas) } },
          }
        : { description: "Success (empty body)." },
    };
    const statuses = new Set<number>(r.problems ?? []);
    if (r.params || r.query || r.body) statuses.add(400);
    if (!r.public) statuses.add(401);
    if (r.body) statuses.add(413);
    for (const status of [...statuses].sort((a, b) => a - b)) answers[status] = problemRef(status);
    answers.default = {
      description: "Any other error (500 and the like), as Problem JSON.",
      content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: "#/components/schemas/Problem" } } },
    };
    op.responses = answers;
    op.security = r.public ? [] : [{ bearerAuth: [] }];

    if (r.extension) op["x-landform-extension"] = true;
    const deviations = Object.entries(contractDeviations).filter(([key]) =>
      key.startsWith(`${r.operationId} `),
    );
    if (deviations.length > 0) op["x-landform-deviations"] = Object.fromEntries(deviations);

    const path = r.path.slice(API_BASE.length);
    paths[path] ??= {};
    (paths[path] as Json)[r.method.toLowerCase()] = op;
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "Codesphere Public API: managed services (Landform reference control plane)",
      version: "0.1.0",
      description:
        "Generated from the control plane's route table and the zod schemas of the Landform SDK. " +
        "Operations marked x-landform-extension are not part of the Codesphere API; " +
        "x-landform-deviations lists where a schema deliberately differs from the published document.",
    },
    servers: [{ url: API_BASE }],
    tags: [{ name: "managed-services", description: "Managed services and the provider catalog" }],
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } },
      schemas,
      responses,
    },
  };
}

function parametersOf(schema: z.ZodType | undefined, where: "path" | "query", schemas: Json): Json[] {
  if (!schema) return [];
  if (!(schema instanceof z.ZodObject))
    throw new Error(`${where} parameters must be declared as a zod object`);
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => {
    // A parameter is described by the value the handler sees (an integer, a
    // boolean), not by the string it travels as; that is how OpenAPI serializes.
    // Where the handler's value is unrepresentable (a transform's result), the wire form is described.
    const output = simplify(jsonSchema(field, "output", schemas));
    const described = Object.keys(output).length > 0 ? output : jsonSchema(field, "input", schemas);
    const required = where === "path" || !field.safeParse(undefined).success;
    const param: Json = { name, in: where, required, schema: described };
    if (typeof described.description === "string") param.description = described.description;
    return param;
  });
}

/** Drops the `{}` branch a transform leaves in an output-side union (a string "true" becoming a boolean). */
function simplify(schema: Json): Json {
  const anyOf = schema.anyOf as Json[] | undefined;
  if (!anyOf) return schema;
  const kept = anyOf.filter((s) => Object.keys(s).length > 0);
  const { anyOf: _, ...rest } = schema;
  if (kept.length === 1) return { ...rest, ...kept[0] };
  return { ...rest, anyOf: kept };
}

/**
 * `z.toJSONSchema` of one schema, made embeddable: no `$schema`, and any
 * `$defs` (named or recursive parts) moved to components.schemas.
 */
function jsonSchema(schema: z.ZodType, io: "input" | "output", schemas: Json): Json {
  const generated = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Json;
  const { $schema: _, $defs, ...rest } = generated;
  if (!$defs) return rest;
  for (const [name, def] of Object.entries($defs as Json)) schemas[name] = rewriteRefs(def);
  return rewriteRefs(rest) as Json;
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== "object") return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      k === "$ref" && typeof v === "string" && v.startsWith("#/$defs/")
        ? `#/components/schemas/${v.slice("#/$defs/".length)}`
        : rewriteRefs(v);
  }
  return out;
}
