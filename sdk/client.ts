/**
 * The typed client of the Codesphere public API for managed services. One
 * method per operation, grouped per resource, mirroring the endpoints one to
 * one: requests are checked against the contract before they leave, answers
 * are parsed with it before they arrive.
 *
 *   const client = new CodesphereClient(); // CS_API and CS_TOKEN from the environment
 *   const svc = await client.managedServices.create({ teamId: 1, name: "db", ... });
 *   await waitForState(client, svc.id, "synchronized");
 *   await client.close();
 */
import { Agent, type Dispatcher } from "undici";
import { z } from "zod";
import { ConfigurationError, formatIssues, RequestValidationError, ResponseValidationError } from "./errors";
import * as schemas from "./schemas";
import {
  DEFAULT_MAX_RETRIES,
  DEFAULT_RETRY_AFTER_MAX_MS,
  DEFAULT_RETRY_BASE_DELAY_MS,
  DEFAULT_RETRY_MAX_DELAY_MS,
  DEFAULT_TIMEOUT_MS,
  sleep as defaultSleep,
  dispatcherFetch,
  type FetchLike,
  type HttpRequest,
  type RequestOptions,
  type SleepFn,
  Transport,
} from "./transport";

export interface ClientOptions {
  /** API root, e.g. `https://codesphere.com/api`. Default: env `CS_API`. */
  baseUrl?: string;
  /** Bearer token. Default: env `CS_TOKEN`. */
  token?: string;
  /** Limit per attempt in ms (connect, headers, body). Default 60 000. */
  timeoutMs?: number;
  /** Retries after the first attempt, where a retry is safe. Default 3. */
  maxRetries?: number;
  /** An undici dispatcher to use instead of the client's own keep-alive Agent (not closed by `close()`). */
  dispatcher?: Dispatcher;
  /** A fetch implementation to use instead of undici's. Without `dispatcher`, it manages its own connections. */
  fetchImpl?: FetchLike;
  /** Extra headers on every request (`authorization` cannot be overridden). */
  headers?: Record<string, string>;
  /** First backoff ceiling in ms; doubles per retry. Default 100. */
  retryBaseDelayMs?: number;
  /** Backoff ceiling in ms. Default 8 000. */
  retryMaxDelayMs?: number;
  /** Longest `Retry-After` honoured, in ms. Default 60 000. */
  retryAfterMaxMs?: number;
  /** Injectable for tests: how to wait between retries. */
  sleep?: SleepFn;
  /** Injectable for tests: uniform random in [0, 1) for the jitter. */
  random?: () => number;
}

export type { RequestOptions } from "./transport";

/** Query of `GET /managed-services`. */
export interface ListManagedServicesParams {
  team: number;
  /** Default false. */
  includeDeleted?: boolean;
}

/** Query of `GET /managed-services/providers`. */
export interface ListProvidersParams {
  /** Only the providers this team can use (global ones and its own). */
  teamId?: number;
}

/** Query of `GET /managed-services/{id}/events` (EXTENSION). */
export interface ListEventsParams {
  /** `nextCursor` of the previous page. */
  cursor?: string;
  limit?: number;
}

const IdParam = z.strictObject({ id: schemas.Uuid });
const ProviderParams = z.strictObject({
  name: schemas.ProviderName,
  schemaVersion: schemas.ProviderSchemaVersion,
});

export class CodesphereClient {
  readonly baseUrl: string;
  /** The provider catalog: `/managed-services/providers`. */
  readonly providers: Providers;
  /** Managed services: `/managed-services`. */
  readonly managedServices: ManagedServices;
  readonly #agent: Agent | undefined;

  constructor(options: ClientOptions = {}) {
    const baseUrl = options.baseUrl || process.env.CS_API;
    if (!baseUrl) {
      throw new ConfigurationError(
        "No API base URL: pass { baseUrl } to new CodesphereClient() or set CS_API (e.g. https://codesphere.com/api)",
      );
    }
    const token = options.token || process.env.CS_TOKEN;
    if (!token) {
      throw new ConfigurationError("No API token: pass { token } to new CodesphereClient() or set CS_TOKEN");
    }
    this.baseUrl = normalizeBaseUrl(baseUrl);

    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new ConfigurationError(`timeoutMs must be > 0, got ${timeoutMs}`);
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) {
      throw new ConfigurationError(`maxRetries must be an integer >= 0, got ${maxRetries}`);
    }

    let dispatcher = options.dispatcher;
    if (!dispatcher && !options.fetchImpl) {
      // Owned keep-alive pool; connect failures surface before the call's own timeout.
      this.#agent = new Agent({ connect: { timeout: Math.min(timeoutMs, 10_000) } });
      dispatcher = this.#agent;
    }

    const transport = new Transport({
      baseUrl: this.baseUrl,
      token,
      timeoutMs,
      maxRetries,
      // Without a fetch of the caller's, requests go straight to the dispatcher (see dispatcherFetch).
      fetch: options.fetchImpl ?? dispatcherFetch(dispatcher as Dispatcher),
      dispatcher: options.fetchImpl ? dispatcher : undefined,
      sleep: options.sleep ?? defaultSleep,
      random: options.random ?? Math.random,
      retryBaseDelayMs: options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS,
      retryMaxDelayMs: options.retryMaxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS,
      retryAfterMaxMs: options.retryAfterMaxMs ?? DEFAULT_RETRY_AFTER_MAX_MS,
      headers: { "user-agent": "landform-sdk", ...lowerCaseKeys(options.headers ?? {}) },
    });
    const core = new ApiCore(transport);
    this.providers = new Providers(core);
    this.managedServices = new ManagedServices(core);
  }

  /** Closes the client's own connection pool (a `dispatcher` passed in stays open). */
  async close(): Promise<void> {
    await this.#agent?.close();
  }
}

// ---------------------------------------------------------------- resources

export class Providers {
  readonly #core: ApiCore;
  constructor(core: ApiCore) {
    this.#core = core;
  }

  /** `GET /managed-services/providers` (managed-services-listProviders). */
  async list(params: ListProvidersParams = {}, options?: RequestOptions): Promise<schemas.Provider[]> {
    const operation = "managed-services-listProviders";
    const query = validate(operation, schemas.ListProvidersQuery, {
      teamId: params.teamId === undefined ? undefined : String(params.teamId),
    });
    return this.#core.json(
      { operation, method: "GET", path: "/managed-services/providers", query: { teamId: query.teamId } },
      schemas.ProviderList,
      options,
    );
  }

  /** `POST /managed-services/providers` (managed-services-createProvider). Not retried without `idempotencyKey`. */
  async create(body: schemas.CreateProviderRequest, options?: RequestOptions): Promise<schemas.Provider> {
    const operation = "managed-services-createProvider";
    return this.#core.json(
      {
        operation,
        method: "POST",
        path: "/managed-services/providers",
        body: validate(operation, schemas.CreateProviderRequest, body),
      },
      schemas.Provider,
      options,
    );
  }

  /** `PUT /managed-services/providers` (managed-services-upsertProvider). */
  async upsert(body: schemas.UpsertProviderRequest, options?: RequestOptions): Promise<schemas.Provider> {
    const operation = "managed-services-upsertProvider";
    return this.#core.json(
      {
        operation,
        method: "PUT",
        path: "/managed-services/providers",
        body: validate(operation, schemas.UpsertProviderRequest, body),
      },
      schemas.Provider,
      options,
    );
  }

  /** `PATCH /managed-services/providers/{name}/{schemaVersion}` (managed-services-updateProvider). */
  async update(
    name: string,
    schemaVersion: string,
    body: schemas.UpdateProviderRequest,
    options?: RequestOptions,
  ): Promise<schemas.Provider> {
    const operation = "managed-services-updateProvider";
    const p = validate(operation, ProviderParams, { name, schemaVersion });
    return this.#core.json(
      {
        operation,
        method: "PATCH",
        path: `/managed-services/providers/${enc(p.name)}/${enc(p.schemaVersion)}`,
        body: validate(operation, schemas.UpdateProviderRequest, body),
      },
      schemas.Provider,
      options,
    );
  }

  /** `DELETE /managed-services/providers/{name}/{schemaVersion}` (managed-services-deleteProvider). */
  async delete(name: string, schemaVersion: string, options?: RequestOptions): Promise<void> {
    const operation = "managed-services-deleteProvider";
    const p = validate(operation, ProviderParams, { name, schemaVersion });
    return this.#core.empty(
      {
        operation,
        method: "DELETE",
        path: `/managed-services/providers/${enc(p.name)}/${enc(p.schemaVersion)}`,
      },
      options,
    );
  }
}

export class ManagedServices {
  readonly #core: ApiCore;
  constructor(core: ApiCore) {
    this.#core = core;
  }

  /** `POST /managed-services` (managed-services-create). Not retried without `idempotencyKey`. */
  async create(
    body: schemas.CreateManagedServiceRequest,
    options?: RequestOptions,
  ): Promise<schemas.ManagedService> {
    const operation = "managed-services-create";
    return this.#core.json(
      {
        operation,
        method: "POST",
        path: "/managed-services",
        body: validate(operation, schemas.CreateManagedServiceRequest, body),
      },
      schemas.ManagedService,
      options,
    );
  }

  /** `GET /managed-services?team=&includeDeleted=` (managed-services-list). */
  async list(params: ListManagedServicesParams, options?: RequestOptions): Promise<schemas.ManagedService[]> {
    const operation = "managed-services-list";
    const query = validate(operation, schemas.ListManagedServicesQuery, {
      team: params?.team === undefined ? undefined : String(params.team),
      includeDeleted: String(params?.includeDeleted ?? false),
    });
    return this.#core.json(
      { operation, method: "GET", path: "/managed-services", query },
      schemas.ManagedServiceList,
      options,
    );
  }

  /** `GET /managed-services/{id}` (managed-services-getDetails). */
  async get(id: string, options?: RequestOptions): Promise<schemas.ManagedService> {
    const operation = "managed-services-getDetails";
    const p = validate(operation, IdParam, { id });
    return this.#core.json(
      { operation, method: "GET", path: `/managed-services/${enc(p.id)}` },
      schemas.ManagedService,
      options,
    );
  }

  /** `PATCH /managed-services/{id}` (managed-services-update): sets desired state, so it is retried. */
  async update(
    id: string,
    body: schemas.UpdateManagedServiceRequest,
    options?: RequestOptions,
  ): Promise<schemas.ManagedService> {
    const operation = "managed-services-update";
    const p = validate(operation, IdParam, { id });
    return this.#core.json(
      {
        operation,
        method: "PATCH",
        path: `/managed-services/${enc(p.id)}`,
        body: validate(operation, schemas.UpdateManagedServiceRequest, body),
      },
      schemas.ManagedService,
      options,
    );
  }

  /** `DELETE /managed-services/{id}` (managed-services-delete). */
  async delete(id: string, options?: RequestOptions): Promise<void> {
    const operation = "managed-services-delete";
    const p = validate(operation, IdParam, { id });
    return this.#core.empty({ operation, method: "DELETE", path: `/managed-services/${enc(p.id)}` }, options);
  }

  /** `POST /managed-services/{id}/backups` (managed-services-scheduleBackup). Not retried without `idempotencyKey`. */
  async scheduleBackup(id: string, options?: RequestOptions): Promise<schemas.BackupEntry> {
    const operation = "managed-services-scheduleBackup";
    const p = validate(operation, IdParam, { id });
    return this.#core.json(
      { operation, method: "POST", path: `/managed-services/${enc(p.id)}/backups` },
      schemas.BackupEntry,
      options,
    );
  }

  /** EXTENSION `GET /managed-services/{id}/events`: the full event log, oldest first, paged. */
  async events(
    id: string,
    params: ListEventsParams = {},
    options?: RequestOptions,
  ): Promise<schemas.EventPage> {
    const operation = "managed-services-listEvents";
    const p = validate(operation, IdParam, { id });
    const query = validate(operation, schemas.ListEventsQuery, {
      cursor: params.cursor,
      limit: params.limit === undefined ? undefined : String(params.limit),
    });
    return this.#core.json(
      { operation, method: "GET", path: `/managed-services/${enc(p.id)}/events`, query },
      schemas.EventPage,
      options,
    );
  }
}

// ---------------------------------------------------------------- shared

/** Sends through the transport and parses answers with the contract. */
class ApiCore {
  readonly #transport: Transport;
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  async json<S extends z.ZodType>(
    req: HttpRequest,
    schema: S,
    options?: RequestOptions,
  ): Promise<z.output<S>> {
    const res = await this.#transport.request(req, options);
    let data: unknown;
    try {
      data = JSON.parse(res.text);
    } catch {
      const snippet = res.text.trim().slice(0, 120);
      throw new ResponseValidationError(
        req.operation,
        [{ path: "(body)", message: snippet === "" ? "is empty, expected JSON" : `is not JSON: ${snippet}` }],
        res.status,
        res.text,
      );
    }
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      throw new ResponseValidationError(
        req.operation,
        formatIssues(parsed.error.issues, data),
        res.status,
        res.text,
      );
    }
    return parsed.data;
  }

  /** For operations answered with 200 or 204 and no meaningful body. */
  async empty(req: HttpRequest, options?: RequestOptions): Promise<void> {
    await this.#transport.request(req, options);
  }
}

/** Parses `value` with `schema` or throws a `RequestValidationError`. Never echoes values (they may be secrets). */
function validate<S extends z.ZodType>(operation: string, schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new RequestValidationError(operation, formatIssues(parsed.error.issues));
  return parsed.data;
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(
      `Invalid API base URL ${JSON.stringify(raw)}: expected e.g. https://codesphere.com/api`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigurationError(`Invalid API base URL ${JSON.stringify(raw)}: must be http or https`);
  }
  if (url.search || url.hash) {
    throw new ConfigurationError(
      `Invalid API base URL ${JSON.stringify(raw)}: must not carry a query or fragment`,
    );
  }
  return url.href.replace(/\/+$/, "");
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}
