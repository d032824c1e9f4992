/**
 * The service layer's surface: what the HTTP API calls. It knows nothing about
 * HTTP; it throws DomainError, which the API turns into Problem JSON.
 */
import type * as schemas from "../../sdk/schemas";

/**
 * What a bearer token may do (docs/authorization.md): act for its teams, and,
 * for an admin token, also create, change and delete global providers.
 */
export interface Grant {
  readonly teams: ReadonlySet<number>;
  readonly admin: boolean;
}

/** Who is calling: the grant of the bearer token, and the request's trace id. */
export interface Caller extends Grant {
  readonly traceId: string;
}

export type DomainStatus = 400 | 401 | 403 | 404 | 409 | 413 | 422 | 503;

/** A refusal with an HTTP-meaningful status and a detail that names the field and the rule. */
export class DomainError extends Error {
  constructor(
    readonly status: DomainStatus,
    readonly title: string,
    readonly detail: string,
  ) {
    super(`${title}: ${detail}`);
    this.name = "DomainError";
  }
}

export const badRequest = (detail: string) => new DomainError(400, "Bad Request", detail);
export const forbidden = (detail: string) => new DomainError(403, "Forbidden", detail);
export const notFound = (detail: string) => new DomainError(404, "Not Found", detail);
export const conflict = (detail: string) => new DomainError(409, "Conflict", detail);

/** The service layer answers asynchronously (it reads the store); test doubles may answer at once. */
export type Awaitable<T> = T | Promise<T>;

export interface ProvidersService {
  list(caller: Caller, teamId?: number): Awaitable<schemas.Provider[]>;
  create(caller: Caller, body: schemas.CreateProviderRequest): Awaitable<schemas.Provider>;
  upsert(caller: Caller, body: schemas.UpsertProviderRequest): Awaitable<schemas.Provider>;
  update(
    caller: Caller,
    name: string,
    schemaVersion: string,
    body: schemas.UpdateProviderRequest,
  ): Awaitable<schemas.Provider>;
  delete(caller: Caller, name: string, schemaVersion: string): Awaitable<void>;
}

export interface ManagedServicesService {
  create(caller: Caller, body: schemas.CreateManagedServiceRequest): Awaitable<schemas.ManagedService>;
  list(caller: Caller, team: number, includeDeleted: boolean): Awaitable<schemas.ManagedService[]>;
  /** The service as serialized JSON (the store keeps it ready with each write, so reads do not re-serialize). */
  getJson(caller: Caller, id: string): Awaitable<string>;
  update(
    caller: Caller,
    id: string,
    body: schemas.UpdateManagedServiceRequest,
  ): Awaitable<schemas.ManagedService>;
  delete(caller: Caller, id: string): Awaitable<void>;
  scheduleBackup(caller: Caller, id: string): Awaitable<schemas.BackupEntry>;
  events(caller: Caller, id: string, page: { cursor?: string; limit?: number }): Awaitable<schemas.EventPage>;
}

/** Numbers for /metrics that only the service layer knows. */
export interface ControlPlaneStats {
  servicesByState(): Awaitable<Record<string, number>>;
  reconcileOutcomes(): Record<string, number>;
  /** More series in Prometheus text, e.g. the replica's leases (reconciler/leases.ts). */
  extraMetrics?(): string[];
}
