/**
 * The Problem body and the lists of where the SDK's schemas knowingly differ
 * from or add to the published document. Re-exported by ./schemas.
 */
import { z } from "zod";

// ---------------------------------------------------------------- errors

/** RFC 7807-style problem body every error response carries. */
export const Problem = z.object({
  status: z.int(),
  title: z.string(),
  detail: z.string().optional(),
  traceId: z.string(),
});
export type Problem = z.infer<typeof Problem>;

/**
 * Where these schemas differ from the published document on purpose. The
 * contract test skips exactly these JSON pointers (and fails if one is listed
 * that no longer differs), so every difference is explicit.
 */
export const contractDeviations = {
  "managed-services-create request /provider/version": "DOCS: accepts '15' as well as 'v15'",
  "managed-services-create request /provider/schemaVersion": "DOCS: accepts '15' as well as 'v15'",
  "managed-services-update request /name": "the create rule for names also applies to renames",
  "managed-services-getDetails response": "the document leaves it untyped; we return a ManagedService",
  "managed-services-createProvider request /anyOf/0/backend":
    "EXTENSION: backend.api registers a REST backend",
  "managed-services-upsertProvider request /anyOf/0/backend":
    "EXTENSION: backend.api registers a REST backend",
  "managed-services-updateProvider request /backend": "EXTENSION: backend.api registers a REST backend",
  // The bundled catalog against Codesphere's core catalog (contract/core-catalog.md);
  // control-plane/backends/catalog.core.test.ts holds these keys against the document.
  "core-catalog * /author":
    "the bundled entries are written by Landform and say so (the core's say Codesphere)",
  "core-catalog * /iconUrl":
    "the core's icons are paths inside Codesphere's IDE; Landform's entries carry their own (data: URIs)",
  "core-catalog * /*/$schema": "every schema names its draft (2020-12)",
  "core-catalog * /backups/*/$schema": "every schema names its draft (2020-12)",
  "core-catalog * /plans/*/parameters/cpu/schema/const":
    "const = the plan's value: JSON Schema does not enforce readOnly, and a plan fixes its cpu",
  "core-catalog * /plans/*/parameters/memory/schema/const":
    "const = the plan's value: JSON Schema does not enforce readOnly, and a plan fixes its memory",
  "core-catalog * /plans/*/parameters/storage/schema/x-update-constraint":
    "storage only grows on every plan; the core marks plan 0's storage only (plans 1-4 look like an oversight)",
  "core-catalog postgres@v1 /configSchema/properties/userName/pattern":
    "the core's `^(?!postgres$)` is a lookahead, which RE2 (the control plane's pattern engine) lacks; `not: {const: \"postgres\"}` says the same",
  "core-catalog postgres@v1 /configSchema/properties/userName/not": "see userName/pattern",
  "core-catalog s3@v1 /capabilities/pause":
    "s3 can pause: the platform guide says an Object Store keeps its data across a pause; a paused bucket refuses requests and keeps its objects (docs/decisions/004)",
  "core-catalog s3@v1 /configSchema/properties/initialBucketName/pattern":
    "the core's pattern uses lookaround, which RE2 lacks; a pattern plus `not` accepts exactly the same names",
  "core-catalog s3@v1 /configSchema/properties/initialBucketName/not": "see initialBucketName/pattern",
  "core-catalog s3@v1 /plans/0/parameters/*/pricedAs":
    'the core serialises a missing pricing unit as ""; Landform leaves it out (the API\'s pricedAs has no "")',
  "core-catalog postgresql@*":
    "Landform's own: the published guide's example provider (v14 to v17, one endpoint per version), so the guide's create request runs verbatim",
  "core-catalog redis@v1": "Landform's own: a Redis cache, which the core catalog does not have",
} as const;

/**
 * Additions the document has no place for (new fields or answers, not changed
 * ones); the control plane's tests check each against the SDK schema named.
 */
export const contractExtensions = {
  "ManagedService.details":
    "connection details the backend reports (hostname, port, dsn, ready), never secrets",
  "GET /managed-services/{id}/events": "the full event log, paged (EventPage)",
  "Idempotency-Key request header":
    "POST and PATCH replay the first answer to a key for 24 h (Idempotent-Replayed: true); another body under the key is a 422",
  "provider create/upsert/update answers":
    "a provider registered with backend.api is answered in the shape the provider list gives API-backed entries",
} as const;
