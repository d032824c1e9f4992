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
