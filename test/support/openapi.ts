/**
 * Checks recorded HTTP exchanges against the published OpenAPI document in
 * contract/: each answer must match the schema the document gives for its
 * operation and status. Where the document is silent (statuses it does not
 * list, the documented extensions), the SDK's schemas are the reference.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { Agent, type Dispatcher } from "undici";
import type { z } from "zod";
import { schemas } from "../../sdk";
import { ROOT } from "./serve";

type Json = Record<string, unknown>;

export interface Exchange {
  method: string;
  path: string;
  status: number;
  body: string;
}

const document = JSON.parse(
  readFileSync(join(ROOT, "contract", "codesphere-public-api.managed-services.openapi.json"), "utf8"),
) as { paths: Record<string, Record<string, Json>>; components: { schemas: Record<string, Json> } };

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const problemSchema = (document.components.schemas._problem as { properties: { data: Json } }).properties
  .data;
const validateProblem = ajv.compile(problemSchema);

interface Route {
  template: string;
  regex: RegExp;
  params: number;
}
const routes: Route[] = Object.keys(document.paths)
  .map((template) => ({
    template,
    regex: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`),
    params: (template.match(/\{/g) ?? []).length,
  }))
  // Literal segments win over parameters: /managed-services/providers is not an {id}.
  .sort((a, b) => a.params - b.params);

/** Extensions the document does not describe, and the SDK schema their answers must match. */
const extensions: { regex: RegExp; method: string; schema: z.ZodType }[] = [
  { method: "GET", regex: /^\/managed-services\/[^/]+\/events$/, schema: schemas.EventPage },
];

const compiled = new Map<string, ValidateFunction>();
const listProviders = document.paths["/managed-services/providers"]!.get!.responses as Record<string, Json>;
const validateCatalogEntry = ajv.compile(
  (((listProviders["200"]!.content as Json)["application/json"] as Json).schema as Json).items as Json,
);

/** Returns what is wrong with one exchange, or undefined when it matches the contract. */
export function contractViolation(x: Exchange): string | undefined {
  const path = x.path.replace(/^\/api/, "").split("?")[0]!;
  const label = `${x.method} ${x.path} -> ${x.status}`;
  let body: unknown;
  try {
    body = x.body.length > 0 ? JSON.parse(x.body) : undefined;
  } catch {
    return `${label}: body is not JSON`;
  }
  if (x.status >= 400) {
    return validateProblem(body)
      ? undefined
      : `${label}: not a Problem: ${ajv.errorsText(validateProblem.errors)}`;
  }
  const extension = extensions.find((e) => e.method === x.method && e.regex.test(path));
  if (extension) {
    const r = extension.schema.safeParse(body);
    return r.success ? undefined : `${label}: ${r.error.message}`;
  }
  const route = routes.find((r) => r.regex.test(path));
  const operation = route && document.paths[route.template]?.[x.method.toLowerCase()];
  if (!route || !operation) return `${label}: no such operation in the published document`;
  const response = (operation.responses as Record<string, Json>)[String(x.status)];
  if (!response) return `${label}: status ${x.status} is not documented for ${String(operation.operationId)}`;
  const schema = ((response.content as Json | undefined)?.["application/json"] as Json | undefined)?.schema as
    | Json
    | undefined;
  if (!schema) return undefined; // documented without a body
  const key = `${route.template} ${x.method} ${x.status}`;
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(key, validate);
  }
  if (!validate(body)) {
    // EXTENSION (schemas.contractDeviations): a provider registered with an API
    // backend is answered in the shape the document's provider list uses for it.
    const apiBacked = (body as { backend?: { api?: unknown } } | undefined)?.backend?.api !== undefined;
    if (!(apiBacked && String(operation.operationId).endsWith("Provider") && validateCatalogEntry(body))) {
      return `${label}: ${ajv.errorsText(validate.errors)}`;
    }
  }
  // The document leaves getDetails untyped; the answer is a ManagedService.
  if (operation.operationId === "managed-services-getDetails") {
    const r = schemas.ManagedService.safeParse(body);
    if (!r.success) return `${label}: ${r.error.message}`;
  }
  return undefined;
}

/**
 * An undici dispatcher that records every exchange it carries (for the SDK
 * client's `dispatcher` option), so tests can check all of them afterwards.
 */
export function recordingDispatcher(exchanges: Exchange[]): Dispatcher {
  return new Agent().compose((dispatch) => (opts, handler) => {
    const chunks: Buffer[] = [];
    let status = 0;
    const h = handler as Dispatcher.DispatchHandler;
    return dispatch(opts, {
      ...h,
      onRequestStart: (controller, context) => h.onRequestStart?.(controller, context),
      onResponseStart: (controller, statusCode, headers, statusMessage) => {
        status = statusCode;
        h.onResponseStart?.(controller, statusCode, headers, statusMessage);
      },
      onResponseData: (controller, chunk) => {
        chunks.push(Buffer.from(chunk));
        h.onResponseData?.(controller, chunk);
      },
      onResponseEnd: (controller, trailers) => {
        exchanges.push({
          method: String(opts.method),
          path: String(opts.path),
          status,
          body: Buffer.concat(chunks).toString("utf8"),
        });
        h.onResponseEnd?.(controller, trailers);
      },
      onResponseError: (controller, error) => h.onResponseError?.(controller, error),
    });
  });
}
